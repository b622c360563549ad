// The runner's watchdog: a thread that ends the runner within seconds of its parent's death, in
// every phase. The main thread can be busy for minutes in synchronous work (building a big
// model, loading data, one long step) and then sees neither IPC's disconnect nor a stop request;
// this thread polls the parent's pid instead. Once the parent is gone it gives the main thread
// GRACE_MS to end the run itself (a clean stop between steps), then writes the run's end to the
// log (unless the main thread has written one: they agree through a shared flag, so that the log
// gets one run_finished) and kills the process. A warm runner (one process for a sweep job's
// points) points it at each run's log in turn (begin), and between runs (idle) it has nothing
// to write: it only ends the process.
import { Worker } from 'node:worker_threads';
import { type NewEvent, type RunFinished, stamp, toJsonLine } from '../runlog/events';

/** How often the parent is looked for. */
export const POLL_MS = 250;
/** How long the main thread has to end the run itself once the parent is gone. */
export const GRACE_MS = 2000;

/** The flag's values: nobody has written run_finished; the main thread has (or will); the watchdog has. */
const OPEN = 0;
const MAIN = 1;
const WATCHDOG = 2;

// Plain JavaScript run in the thread (no imports of ours: the runner may be a bundle).
const SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { parentPid, pollMs, graceMs, flag } = workerData;
const claim = new Int32Array(flag);
let { logFile, t0 } = workerData;
let end;
parentPort.on('message', (m) => {
  if (m.kind === 'run') ({ logFile, t0 } = m);
  end = m.end;
});
let polls = 0;
const timer = setInterval(() => {
  if (process.ppid === parentPid) {
    polls++;
    return;
  }
  clearInterval(timer);
  // Gone as the run started (no training to end cleanly): no grace.
  setTimeout(() => {
    if (end && logFile && Atomics.compareExchange(claim, 0, ${OPEN}, ${WATCHDOG}) === ${OPEN}) {
      try {
        const now = Date.now();
        fs.appendFileSync(logFile, JSON.stringify({ ...end, time: now, seconds: (now - t0) / 1000 }) + '\\n');
      } catch {}
    }
    process.kill(process.pid, 'SIGKILL');
  }, polls > 0 ? graceMs : 0);
}, pollMs);
`;

export interface Watchdog {
  /** The run_finished to write should the parent go away now (where the run got to). */
  update(end: Omit<RunFinished, 'v' | 'time'>): void;
  /** Called by the main thread before it writes run_finished: false when the watchdog has written one. */
  claimEnd(): boolean;
  /** The next run of a warm runner: its log, its start; nothing to write until update(). */
  begin(logFile: string, t0: number): void;
  /** Between runs: nothing to write should the parent go away (the process is only ended). */
  idle(): void;
}

/** Starts the watchdog of this process, whose parent is `parentPid` and whose run log is `logFile` (none yet: begin()). */
export function watchParent(
  parentPid: number,
  logFile: string | undefined,
  opts: { pollMs?: number; graceMs?: number; t0?: number } = {},
): Watchdog {
  const flag = new SharedArrayBuffer(4);
  const claim = new Int32Array(flag);
  const line = (end: Omit<RunFinished, 'v' | 'time'>) => JSON.parse(toJsonLine(stamp(end as NewEvent)));
  const worker = new Worker(SOURCE, {
    eval: true,
    workerData: {
      parentPid,
      logFile,
      pollMs: opts.pollMs ?? POLL_MS,
      graceMs: opts.graceMs ?? GRACE_MS,
      flag,
      t0: opts.t0 ?? Date.now(),
    },
    // No stdio of its own to wait for, nor a say in when the process exits.
    stdout: false,
    stderr: false,
  });
  worker.unref();
  return {
    update(end) {
      worker.postMessage({ kind: 'end', end: line(end) });
    },
    begin(logFile, t0) {
      Atomics.store(claim, 0, OPEN);
      worker.postMessage({ kind: 'run', logFile, t0 });
    },
    idle() {
      worker.postMessage({ kind: 'end', end: undefined });
    },
    claimEnd() {
      return Atomics.compareExchange(claim, 0, OPEN, MAIN) !== WATCHDOG;
    },
  };
}

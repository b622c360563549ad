// Starts the training runner as a child process with an IPC channel, relays its events, asks it
// to stop (and terminates it if it does not), and makes sure that every run ends with a
// run_finished line in its log, even when the runner crashed or was killed.
import { ChildProcess, fork } from 'child_process';
import * as path from 'path';
import { emptyRunLog, lagBelowTarget, readRunLog, RunLog } from './analysis';
import { EventLogWriter, RunEvent, RunFinished, RunStarted, stamp } from './events';
import { EVENTS_FILE, createRunDir, makeSummary, writeSummary } from './run';

export interface StartOptions {
  configFile: string;
  /** Folder that receives the run's folder. */
  runsDir: string;
  /** Name of the run (the config's name). */
  name: string;
  /** The runner script (runner.js) to fork. */
  runnerScript: string;
  epochs?: number;
  maxSteps?: number;
  backend?: 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
  /** Overrides the config's monitoring.recordsPerEpoch. */
  recordsPerEpoch?: number;
  wasmPath?: string;
  /** Every event the runner emits, as it comes. */
  onEvent?: (e: RunEvent) => void;
  /** The runner's stderr, as text chunks (warnings, stack traces). */
  onOutput?: (text: string) => void;
  /** Node executable and its flags for the child (defaults: this process's). */
  execPath?: string;
  execArgv?: string[];
}

export interface RunHandle {
  runId: string;
  runDir: string;
  pid: number | undefined;
  /** Resolves with the run's last event once the runner has exited. */
  done: Promise<RunFinished>;
  /** Asks the runner to stop after its current step; terminates it after `graceMs`. */
  stop(graceMs?: number): Promise<RunFinished>;
  /** Terminates the runner at once (SIGKILL). */
  kill(): void;
}

const STDERR_TAIL = 4000;

/** Why a process exited, for people: "exit code 3", "killed by SIGKILL (out of memory?)". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null, stderrTail: string): string {
  if (/heap out of memory|Allocation failed|out of memory/i.test(stderrTail)) return 'the runner ran out of memory (JavaScript heap); try a smaller batchSize or model';
  if (signal) return `the runner was killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : ''}`;
  const lastLine = stderrTail.trim().split('\n').filter(Boolean).pop();
  return `the runner exited with code ${code}${lastLine ? `: ${lastLine}` : ''}`;
}

export function startRun(opts: StartOptions): RunHandle {
  const { runId, runDir } = createRunDir(opts.runsDir, opts.name, opts.configFile);
  const args = {
    configFile: path.resolve(opts.configFile),
    runDir,
    runId,
    epochs: opts.epochs,
    maxSteps: opts.maxSteps,
    backend: opts.backend,
    recordsPerEpoch: opts.recordsPerEpoch,
    wasmPath: opts.wasmPath,
  };
  const child: ChildProcess = fork(opts.runnerScript, [JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execPath: opts.execPath,
    execArgv: opts.execArgv ?? [],
    // Its own process group, so that a terminal's Ctrl-C reaches only the parent, which then asks for a clean stop.
    detached: true,
  });
  let started: RunStarted | undefined;
  let finished: RunFinished | undefined;
  let stderrTail = '';

  child.on('message', (e: RunEvent) => {
    if (e.type === 'run_started') started = e;
    if (e.type === 'run_finished') finished = e;
    opts.onEvent?.(e);
  });
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString();
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
    opts.onOutput?.(text);
  };
  child.stderr?.on('data', onOutput);
  child.stdout?.on('data', onOutput);

  const done = new Promise<RunFinished>((resolve) => {
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      // The log on disk is the record: what IPC did not deliver before the exit is there.
      const log = logOf(runDir);
      finished ??= log.finished;
      if (!finished) {
        // The runner died before it could say how the run ended: say it for it.
        const lastRecord = log.rotations[log.rotations.length - 1];
        const last = lastRecord ? { step: lastRecord.step, epoch: lastRecord.epoch, distances: lastRecord.distances } : { step: 0, epoch: 0, distances: [] };
        const startedEvent = started ?? log.started;
        const lagging = startedEvent && last.distances.length ? lagBelowTarget(startedEvent.layers.map((l) => l.name), last.distances, startedEvent.target, startedEvent.lagMargin) : [];
        const e = stamp({
          type: 'run_finished',
          status: 'failed',
          reason: describeExit(code, signal, stderrTail),
          step: last.step,
          epoch: last.epoch,
          finalDistances: last.distances,
          testLoss: null,
          testAccuracy: null,
          lagging,
          seconds: started ? (Date.now() - started.time) / 1000 : 0,
        }) as RunFinished;
        const writer = new EventLogWriter(path.join(runDir, EVENTS_FILE));
        writer.write(e);
        writer.close();
        writeSummary(runDir, makeSummary(runId, startedEvent, e));
        finished = e;
        opts.onEvent?.(e);
      }
      resolve(finished);
    };
    child.on('exit', (code, signal) => {
      // Wait for IPC messages still in flight and for stderr to end.
      setImmediate(() => settle(code, signal));
    });
    child.on('error', (err) => {
      stderrTail += `\n${err.message}`;
    });
  });

  let exited = false;
  void done.then(() => (exited = true));

  return {
    runId,
    runDir,
    pid: child.pid,
    done,
    async stop(graceMs = 5000) {
      if (!exited && child.connected) child.send({ type: 'stop' });
      else if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, graceMs);
      const result = await done;
      clearTimeout(timer);
      return result;
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
  };
}

function logOf(runDir: string): RunLog {
  try {
    return readRunLog(path.join(runDir, EVENTS_FILE));
  } catch {
    return emptyRunLog();
  }
}

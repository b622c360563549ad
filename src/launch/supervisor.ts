// Starts a training run as a child process, relays its events, asks it to stop (and terminates
// it if it does not), and makes sure that every run ends with a run_finished line in its log,
// even when the runner crashed or was killed. Each engine has its launcher (tfjs.ts: our runner
// with IPC; pytorch.ts: the Python engine, its log tailed), chosen once per run.
import * as path from 'node:path';
import { emptyRunLog, readRunLog, type RunLog } from '../runlog/read';
import { type RunEvent, type RunFinished, type RunStarted, stamp } from '../runlog/events';
import { EventLogWriter, LogWriteError } from '../runlog/writer';
import { describeFsError } from '../runlog/fsError';
import { EVENTS_FILE, createRunDir, endedEarly, makeSummary, writeSummary } from '../runlog/runfolder';
import { killGroup, type Launcher } from './launcher';
import { PytorchLauncher } from './pytorch';
import type { RunRequest } from './request';
import { TfjsLauncher } from './tfjs';

/** A run request, and who wants to hear from the run. */
export type StartOptions = RunRequest & {
  /** Every event the run emits, normalized, as it comes. */
  onEvent?: (e: RunEvent) => void;
  /** The engine's stderr and stdout, as text chunks (warnings, stack traces), and skipped lines of its log. */
  onOutput?: (text: string) => void;
};

/** The launcher of the request's engine: the one place that tells the engines apart. */
function launcherFor(req: RunRequest): Launcher {
  switch (req.engine) {
    case 'tfjs':
      return new TfjsLauncher(req);
    case 'pytorch':
      return new PytorchLauncher(req);
  }
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
export function describeExit(
  code: number | null,
  signal: NodeJS.Signals | null,
  stderrTail: string,
  who = 'the runner',
): string {
  if (/heap out of memory|Allocation failed/i.test(stderrTail))
    return `${who} ran out of memory (JavaScript heap); try a smaller batchSize or model`;
  if (/out of memory/i.test(stderrTail)) return `${who} ran out of memory; try a smaller batchSize or model`;
  if (signal)
    return `${who} was killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : ''}`;
  if (code === null) return `${who} could not start${lastLine(stderrTail)}`;
  return `${who} exited with code ${code}${lastLine(stderrTail)}`;
}

/** The last line of a process's output, as ": line" (or nothing). */
function lastLine(output: string): string {
  const line = output.trim().split('\n').filter(Boolean).pop();
  return line ? `: ${line}` : '';
}

export function startRun(opts: StartOptions): RunHandle {
  const { runId, runDir } = createRunDir(opts.runsDir, opts.name, opts.configFile);
  const launcher = launcherFor(opts);
  const child = launcher.start(runId, runDir);
  let started: RunStarted | undefined;
  let finished: RunFinished | undefined;
  let stderrTail = '';

  const relay = (e: RunEvent) => {
    if (e.type === 'run_started') started = e;
    if (e.type === 'run_finished') finished = e;
    opts.onEvent?.(e);
  };
  const follower = launcher.follow(child, runDir, { event: relay, skipped: (text) => opts.onOutput?.(`${text}\n`) });
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString();
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
    opts.onOutput?.(text);
  };
  child.stderr?.on('data', onOutput);
  child.stdout?.on('data', onOutput);

  const done = new Promise<RunFinished>((resolve) => {
    let settled = false;
    /** The run is over: its process exited (`why` it did), or (a warm runner) it said so and lives on. */
    const settle = (why: () => string) => {
      if (settled) return;
      settled = true;
      // A warm runner's process goes on to other runs: this run hears no more of it.
      child.off('exit', onExit);
      child.off('error', onError);
      child.stderr?.off('data', onOutput);
      child.stdout?.off('data', onOutput);
      stopListening();
      // Whatever goes wrong below (a callback that throws), the run's end is delivered: Stop never hangs.
      try {
        try {
          follower.close(); // delivers what the engine sent or wrote last
        } catch (err) {
          opts.onOutput?.(`cannot read the run's log: ${describeFsError(err)}\n`);
        }
        // The log on disk is the record: what IPC did not deliver before the exit is there.
        const log = logOf(runDir);
        finished ??= log.finished;
        if (!finished) {
          // The runner died before it could say how the run ended: say it for it.
          const e = stamp(
            endedEarly('failed', why(), {
              started: started ?? log.started,
              lastRotation: log.rotations[log.rotations.length - 1],
              lastEpochEnd: log.epochs[log.epochs.length - 1],
              seconds: started?.time ? (Date.now() - started.time) / 1000 : 0,
            }),
          ) as RunFinished;
          finished = e;
          opts.onEvent?.(e);
        }
        if (!log.finished) {
          // Not in the log (the engine died, or could not write it): write it there, where still possible.
          const written = appendFinished(runDir, runId, started ?? log.started, finished);
          if (written) opts.onOutput?.(`${written}\n`);
        }
      } finally {
        finished ??= stamp(endedEarly('failed', why(), { seconds: 0 })) as RunFinished;
        resolve(finished);
      }
    };
    const exitWhy = (code: number | null, signal: NodeJS.Signals | null) => () =>
      describeExit(code, signal, stderrTail, launcher.who);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      // Wait for IPC messages still in flight and for stderr to end.
      setImmediate(() => settle(exitWhy(code, signal)));
    };
    const onError = (err: Error) => {
      stderrTail += `\n${err.message}`;
      // The process could not even start (e.g. no such interpreter): there will be no exit event.
      if (child.pid === undefined) setImmediate(() => settle(exitWhy(null, null)));
    };
    child.on('exit', onExit);
    child.on('error', onError);
    const stopListening =
      launcher.ended?.(child, runId, () =>
        settle(() => `${launcher.who} ended the run without saying how${lastLine(stderrTail)}`),
      ) ?? (() => {});
  });

  let exited = false;
  void done.then(() => (exited = true));

  return {
    runId,
    runDir,
    pid: child.pid,
    done,
    async stop(graceMs = 5000) {
      if (!exited) launcher.askToStop(child, runDir);
      const timer = setTimeout(() => {
        if (!exited) killGroup(child, 'SIGKILL');
      }, graceMs);
      const result = await done;
      clearTimeout(timer);
      return result;
    },
    kill() {
      if (!exited) killGroup(child, 'SIGKILL');
    },
  };
}

/** Appends run_finished to the run's log and writes its summary; what could not be written, for people (undefined: all was). */
function appendFinished(
  runDir: string,
  runId: string,
  started: RunStarted | undefined,
  finished: RunFinished,
): string | undefined {
  try {
    const writer = new EventLogWriter(path.join(runDir, EVENTS_FILE));
    try {
      writer.write(finished);
    } finally {
      writer.close();
    }
    writeSummary(runDir, makeSummary(runId, started, finished));
    return undefined;
  } catch (err) {
    return err instanceof LogWriteError
      ? `the run's end is not in its log: ${err.message}`
      : `cannot write the run's summary in ${runDir}: ${describeFsError(err)}`;
  }
}

function logOf(runDir: string): RunLog {
  try {
    return readRunLog(path.join(runDir, EVENTS_FILE));
  } catch {
    return emptyRunLog();
  }
}

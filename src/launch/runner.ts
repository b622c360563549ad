// The training runner: a child process (forked with an IPC channel by the CLI or the editor)
// that trains one config into one run folder. It appends every event to events.jsonl and
// sends it over IPC; a {type: 'stop'} message, SIGINT or SIGTERM ends the run cleanly after
// the current step. Its argument is a JSON RunnerArgs.
import * as path from 'node:path';
import type { ConfigError } from '../engine/config/types';
import { formatError, loadConfigFile, sweepNotTrainable } from '../engine/config/validate';
import { type NewEvent, type RunEvent, type RunFinished, type RunStarted, stamp } from '../runlog/events';
import { EventLogWriter, LogWriteError } from '../runlog/writer';
import { EVENTS_FILE, endedEarly, makeSummary, type RunProgress, writeSummary } from '../runlog/runfolder';
import { describeFsError } from '../runlog/fsError';
import { watchParent } from './watchdog';
import { describeFailure, train } from '../engine/trainer';
import type { RunOverrides, TfjsRequest } from './request';

/** The runner's argument: the tfjs request's settings for the training loop, and the run it trains. */
export type RunnerArgs = Pick<TfjsRequest, 'configFile' | 'backend' | 'wasmPath' | 'notes' | keyof RunOverrides> & {
  runDir: string;
  runId: string;
  /** The process that started the run: when it is gone, the run ends within seconds, whatever it is doing. */
  parentPid?: number;
};

const PARENT_GONE = 'the process that started the run went away';

/** Messages the parent may send. */
export type RunnerMessage = { type: 'stop' };

async function main(): Promise<number> {
  const args = JSON.parse(process.argv[2] ?? '{}') as RunnerArgs;
  const t0 = Date.now();
  const progress: RunProgress = { seconds: 0 };
  // Ends this process if its parent goes away while this thread is busy (a long model build).
  const watchdog = args.parentPid
    ? watchParent(args.parentPid, path.join(args.runDir, EVENTS_FILE), { t0 })
    : undefined;
  const orphaned = () =>
    endedEarly('stopped', `stopped: ${PARENT_GONE} (the runner was busy; ended by its watchdog)`, {
      ...progress,
      seconds: (Date.now() - t0) / 1000,
    });
  watchdog?.update(orphaned());
  let writer: EventLogWriter | undefined;
  let writeFailure: LogWriteError | undefined;
  try {
    writer = new EventLogWriter(path.join(args.runDir, EVENTS_FILE));
  } catch (err) {
    if (!(err instanceof LogWriteError)) throw err;
    writeFailure = err;
  }
  let started: RunStarted | undefined;
  let finished: RunFinished | undefined;
  const pending: Promise<void>[] = [];

  const emit = (e: NewEvent) => {
    const event: RunEvent = stamp(e);
    if (event.type === 'run_started') started = progress.started = event;
    if (event.type === 'rotation') progress.lastRotation = event;
    if (event.type === 'epoch_end') progress.lastEpochEnd = event;
    if (event.type === 'run_finished') {
      finished = event;
      // Only one run_finished: none if the watchdog has written its own (the parent is gone).
      if (watchdog && !watchdog.claimEnd()) return;
    } else if (watchdog && event.type !== 'batch' && event.type !== 'log') watchdog.update(orphaned());
    // A failed write ends the run (the trainer fails it with the reason); its end still goes over IPC.
    // (thrown once, so that the run's end and what comes with it still go over IPC).
    if (!writeFailure) {
      try {
        writer?.write(event);
      } catch (err) {
        writeFailure = err as LogWriteError;
        if (event.type !== 'run_finished') throw err;
      }
    }
    if (process.send && process.connected) {
      pending.push(new Promise((resolve) => process.send!(event, () => resolve())));
    }
    if (event.type === 'run_started')
      for (const message of args.notes ?? []) emit({ type: 'log', level: 'info', message });
  };
  const fail = (reason: string) => {
    if (!finished) emit(endedEarly('failed', reason, { seconds: (Date.now() - t0) / 1000 }));
  };
  if (writeFailure) fail(writeFailure.message);

  let stopRequested = false;
  let stopReason: string | undefined;
  process.on('message', (m: RunnerMessage) => {
    if (m && m.type === 'stop') stopRequested = true;
  });
  // The parent (the CLI, or the editor) went away: end the run cleanly rather than train on as an orphan.
  process.on('disconnect', () => {
    if (finished) return;
    stopRequested = true;
    stopReason = PARENT_GONE;
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopRequested) process.exit(130); // a second signal: give up at once
      stopRequested = true;
    });
  }
  process.on('uncaughtException', (err) => {
    fail(describeFailure(err));
    writer?.close();
    process.exit(1);
  });

  const checked = writeFailure ? undefined : loadConfigFile(args.configFile);
  if (!checked) {
    // the log cannot be written: the run has failed, saying so over IPC
  } else if (!checked.ok) {
    fail(
      `invalid config:\n${checked.errors
        .filter((e: ConfigError) => e.severity === 'error')
        .map(formatError)
        .join('\n')}`,
    );
  } else if (checked.config.sweep) {
    fail(sweepNotTrainable(args.configFile));
  } else {
    await train({
      warnings: checked.errors.map(formatError),
      config: checked.config,
      configFile: path.resolve(args.configFile),
      runId: args.runId,
      epochs: args.epochs,
      maxSteps: args.maxSteps,
      backend: args.backend,
      recordsPerEpoch: args.recordsPerEpoch,
      wasmPath: args.wasmPath,
      emit,
      shouldStop: () => (stopRequested ? (stopReason ?? true) : false),
    });
  }
  if (finished && !writeFailure) {
    try {
      writeSummary(args.runDir, makeSummary(args.runId, started, finished));
    } catch (err) {
      process.stderr.write(`layer-rotation runner: cannot write the run's summary: ${describeFsError(err)}\n`);
    }
  }
  writer?.close();
  await Promise.all(pending);
  return finished?.status === 'failed' ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    if (process.connected) process.disconnect();
  },
  (err) => {
    process.stderr.write(`layer-rotation runner: ${describeFailure(err)}\n`);
    process.exit(1);
  },
);

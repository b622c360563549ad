// The training runner: a child process (forked with an IPC channel by the CLI or the editor)
// that trains a config into a run folder. It appends every event to events.jsonl and sends it
// over IPC; a {type: 'stop'} message, SIGINT or SIGTERM ends the run cleanly after the current
// step. Its argument is a JSON RunnerArgs (one run, then it exits), or a WarmArgs: a warm runner,
// kept by a sweep's job across its points (WarmRunner in ./tfjs.ts), which trains each {type: 'run'} message's
// run in turn, each as a run of its own (fresh model, optimizer, data order, log), and after
// each sends a RunnerIdle; it exits when its parent disconnects, or on a signal after its run. It
// keeps the data a run read for the next (a DatasetCache): a sweep's points mostly share it.
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { ConfigError } from '../engine/config/types';
import { formatError, loadConfigFile, sweepNotTrainable } from '../engine/config/validate';
import { type NewEvent, type RunEvent, type RunFinished, type RunStarted, stamp } from '../runlog/events';
import { EventLogWriter, LogWriteError } from '../runlog/writer';
import { EVENTS_FILE, endedEarly, makeSummary, type RunProgress, writeSummary } from '../runlog/runfolder';
import { describeFsError } from '../runlog/fsError';
import { type Watchdog, watchParent } from './watchdog';
import { describeFailure, train } from '../engine/trainer';
import { DatasetCache } from '../engine/data/load';
import type { RunnerArgs, RunnerIdle, RunnerMessage, WarmArgs } from './runnerMessages';

const PARENT_GONE = 'the process that started the run went away';

/** The run being trained, as the process's handlers (stop, disconnect, a crash) see it. */
interface Current {
  stopRequested: boolean;
  stopReason?: string;
  finished?: RunFinished;
  fail(reason: string): void;
  writer?: EventLogWriter;
}
let current: Current | undefined;
let watchdog: Watchdog | undefined;

/** Trains one run into its folder; its status once ended. `datasets`: a warm runner's, kept across its runs. */
async function runOne(args: RunnerArgs, datasets?: DatasetCache): Promise<RunFinished['status'] | undefined> {
  const t0 = Date.now();
  const progress: RunProgress = { seconds: 0 };
  // Ends this process if its parent goes away while this thread is busy (a long model build).
  if (args.parentPid) {
    watchdog ??= watchParent(args.parentPid, undefined);
    watchdog.begin(path.join(args.runDir, EVENTS_FILE), t0);
  }
  const orphaned = () =>
    endedEarly('stopped', `stopped: ${PARENT_GONE} (the runner was busy; ended by its watchdog)`, {
      ...progress,
      seconds: (Date.now() - t0) / 1000,
    });
  watchdog?.update(orphaned());
  let writeFailure: LogWriteError | undefined;
  let started: RunStarted | undefined;
  const pending: Promise<void>[] = [];
  const run: Current = {
    stopRequested: false,
    fail: (reason) => {
      if (!run.finished) emit(endedEarly('failed', reason, { seconds: (Date.now() - t0) / 1000 }));
    },
  };
  try {
    run.writer = new EventLogWriter(path.join(args.runDir, EVENTS_FILE));
  } catch (err) {
    if (!(err instanceof LogWriteError)) throw err;
    writeFailure = err;
  }

  const emit = (e: NewEvent) => {
    const event: RunEvent = stamp(e);
    if (event.type === 'run_started') started = progress.started = event;
    if (event.type === 'rotation') progress.lastRotation = event;
    if (event.type === 'epoch_end') progress.lastEpochEnd = event;
    if (event.type === 'run_finished') {
      run.finished = event;
      // Only one run_finished: none if the watchdog has written its own (the parent is gone).
      if (watchdog && !watchdog.claimEnd()) return;
    } else if (watchdog && event.type !== 'batch' && event.type !== 'log') watchdog.update(orphaned());
    // A failed write ends the run (the trainer fails it with the reason); its end still goes over IPC.
    // (thrown once, so that the run's end and what comes with it still go over IPC).
    if (!writeFailure) {
      try {
        run.writer?.write(event);
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
  current = run;
  if (writeFailure) run.fail(writeFailure.message);
  if (!process.connected && process.send) {
    // The parent went away before this run began.
    run.stopRequested = true;
    run.stopReason = PARENT_GONE;
  }

  const checked = writeFailure ? undefined : loadConfigFile(args.configFile);
  if (!checked) {
    // the log cannot be written: the run has failed, saying so over IPC
  } else if (!checked.ok) {
    run.fail(
      `invalid config:\n${checked.errors
        .filter((e: ConfigError) => e.severity === 'error')
        .map(formatError)
        .join('\n')}`,
    );
  } else if (checked.config.sweep) {
    run.fail(sweepNotTrainable(args.configFile));
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
      datasets,
      emit,
      shouldStop: () => (run.stopRequested ? (run.stopReason ?? true) : false),
    });
  }
  if (run.finished && !writeFailure) {
    try {
      writeSummary(args.runDir, makeSummary(args.runId, started, run.finished));
    } catch (err) {
      process.stderr.write(`layer-rotation runner: cannot write the run's summary: ${describeFsError(err)}\n`);
    }
  }
  run.writer?.close();
  await Promise.all(pending);
  current = undefined;
  watchdog?.idle();
  return run.finished?.status;
}

/** The parent's messages, the signals and a crash, for the run in hand; `warm`: more runs may come. */
function listen(warm: { next(args: RunnerArgs): void; exitSoon(): void } | undefined): void {
  const stop = (reason?: string) => {
    if (current && !current.finished) {
      current.stopRequested = true;
      current.stopReason ??= reason;
    }
  };
  process.on('message', (m: RunnerMessage) => {
    if (m?.type === 'stop') stop();
    else if (m?.type === 'run' && warm) warm.next(m.args);
  });
  // The parent (the CLI, or the editor) went away: end the run cleanly rather than train on as an orphan.
  process.on('disconnect', () => {
    stop(PARENT_GONE);
    warm?.exitSoon();
  });
  let signalled = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (signalled && (current || !warm)) process.exit(130); // a second signal: give up at once
      signalled = true;
      stop();
      warm?.exitSoon();
    });
  }
  process.on('uncaughtException', (err) => {
    current?.fail(describeFailure(err));
    current?.writer?.close();
    process.exit(1);
  });
}

/** A warm runner: runs each {type: 'run'} message's run in turn, a RunnerIdle after each. */
function serve(parentPid: number | undefined): void {
  const queue: RunnerArgs[] = [];
  // The data read (and the last dataset built) by one run, for the next: points of a sweep share them.
  const datasets = new DatasetCache();
  let busy = false;
  let exiting = false;
  const exit = () => {
    if (process.connected) process.disconnect();
    process.exit(0);
  };
  const drain = async () => {
    if (busy) return;
    busy = true;
    for (let args = queue.shift(); args && !exiting; args = queue.shift()) {
      try {
        await runOne({ ...args, parentPid: args.parentPid ?? parentPid }, datasets);
      } catch (err) {
        // As a one-run runner would: the parent marks the run failed with this line.
        process.stderr.write(`layer-rotation runner: ${describeFailure(err)}\n`);
        process.exit(1);
      }
      const idle: RunnerIdle = {
        type: 'runner_idle',
        runId: args.runId,
        pid: process.pid,
        tensors: tf.memory().numTensors,
        rss: process.memoryUsage().rss,
        datasetReads: datasets.reads,
        datasetBuilds: datasets.builds,
      };
      if (process.connected) await new Promise<void>((resolve) => process.send!(idle, () => resolve()));
    }
    busy = false;
    if (exiting) exit();
  };
  listen({
    next(args) {
      queue.push(args);
      void drain();
    },
    exitSoon() {
      exiting = true;
      if (!busy) exit();
    },
  });
  // Its watchdog from the start: ended within seconds of its parent, between runs too.
  if (parentPid) watchdog = watchParent(parentPid, undefined);
}

const arg = JSON.parse(process.argv[2] ?? '{}') as RunnerArgs | WarmArgs;
if ('warm' in arg && arg.warm) serve(arg.parentPid);
else {
  listen(undefined);
  runOne(arg as RunnerArgs).then(
    (status) => {
      process.exitCode = status === 'failed' ? 1 : 0;
      if (process.connected) process.disconnect();
    },
    (err) => {
      process.stderr.write(`layer-rotation runner: ${describeFailure(err)}\n`);
      process.exit(1);
    },
  );
}

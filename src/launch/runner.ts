// The training runner: a child process (forked with an IPC channel by the CLI or the editor)
// that trains one config into one run folder. It appends every event to events.jsonl and
// sends it over IPC; a {type: 'stop'} message, SIGINT or SIGTERM ends the run cleanly after
// the current step. Its argument is a JSON RunnerArgs.
import * as path from 'node:path';
import type { ConfigError } from '../engine/config/types';
import { formatError, loadConfigFile, sweepNotTrainable } from '../engine/config/validate';
import { type NewEvent, type RunEvent, type RunFinished, type RunStarted, stamp } from '../runlog/events';
import { EventLogWriter } from '../runlog/writer';
import { EVENTS_FILE, makeSummary, writeSummary } from '../runlog/runfolder';
import { describeFailure, train } from '../engine/trainer';
import type { RunOverrides, TfjsRequest } from './request';

/** The runner's argument: the tfjs request's settings for the training loop, and the run it trains. */
export type RunnerArgs = Pick<TfjsRequest, 'configFile' | 'backend' | 'wasmPath' | keyof RunOverrides> & {
  runDir: string;
  runId: string;
};

/** Messages the parent may send. */
export type RunnerMessage = { type: 'stop' };

async function main(): Promise<number> {
  const args = JSON.parse(process.argv[2] ?? '{}') as RunnerArgs;
  const writer = new EventLogWriter(path.join(args.runDir, EVENTS_FILE));
  let started: RunStarted | undefined;
  let finished: RunFinished | undefined;
  const pending: Promise<void>[] = [];

  const emit = (e: NewEvent) => {
    const event: RunEvent = stamp(e);
    if (event.type === 'run_started') started = event;
    if (event.type === 'run_finished') finished = event;
    writer.write(event);
    if (process.send && process.connected) {
      pending.push(new Promise((resolve) => process.send!(event, () => resolve())));
    }
  };
  const fail = (reason: string) => {
    if (!finished) {
      emit({
        type: 'run_finished',
        status: 'failed',
        reason,
        step: 0,
        epoch: 0,
        finalDistances: [],
        testLoss: null,
        testAccuracy: null,
        lagging: [],
        seconds: 0,
      });
    }
  };

  let stopRequested = false;
  let stopReason: string | undefined;
  process.on('message', (m: RunnerMessage) => {
    if (m && m.type === 'stop') stopRequested = true;
  });
  // The parent (the CLI, or the editor) went away: end the run cleanly rather than train on as an orphan.
  process.on('disconnect', () => {
    if (finished) return;
    stopRequested = true;
    stopReason = 'the process that started the run went away';
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopRequested) process.exit(130); // a second signal: give up at once
      stopRequested = true;
    });
  }
  process.on('uncaughtException', (err) => {
    fail(describeFailure(err));
    writer.close();
    process.exit(1);
  });

  const checked = loadConfigFile(args.configFile);
  if (!checked.ok) {
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
  if (finished) writeSummary(args.runDir, makeSummary(args.runId, started, finished));
  writer.close();
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

// What the runner (runner.ts) and its parent (tfjs.ts) say to each other, apart from the run's
// events: its argument, the parent's messages, and a warm runner's word that a run is over. A
// module of its own: importing runner.ts would start a runner.
import type { RunOverrides, TfjsRequest } from './request';

/** The runner's argument: the tfjs request's settings for the training loop, and the run it trains. */
export type RunnerArgs = Pick<TfjsRequest, 'configFile' | 'backend' | 'wasmPath' | 'notes' | keyof RunOverrides> & {
  runDir: string;
  runId: string;
  /** The process that started the run: when it is gone, the run ends within seconds, whatever it is doing. */
  parentPid?: number;
};

/** A warm runner's argument: no run yet; they come as {type: 'run'} messages. */
export interface WarmArgs {
  warm: true;
  parentPid?: number;
  /** The sweep folder whose points it trains: in its command line, for a process list to show. */
  sweepDir?: string;
}

/** Messages the parent may send: stop the current run; (a warm runner) train this run next. */
export type RunnerMessage = { type: 'stop' } | { type: 'run'; args: RunnerArgs };

/** What a warm runner sends once a run has ended (its log closed, every event sent): ready for the next. */
export interface RunnerIdle {
  type: 'runner_idle';
  runId: string;
  /** The runner process (the same from point to point, until one crashes it). */
  pid: number;
  /** tfjs tensors alive and the process's memory after the run: flat from point to point. */
  tensors: number;
  rss: number;
  /** Data read (files decoded, or generated) and datasets built by the runner so far: see DatasetCache. */
  datasetReads: number;
  datasetBuilds: number;
}

export function isRunnerIdle(m: unknown): m is RunnerIdle {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'runner_idle';
}

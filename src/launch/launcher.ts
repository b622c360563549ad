// What the supervisor needs of an engine: start its process, deliver its events, ask it to stop.
// One launcher per engine (tfjs.ts, pytorch.ts); the supervisor picks one per run request.
import type { ChildProcess } from 'node:child_process';
import type { RunEvent } from '../runlog/events';

export interface Launcher {
  /** Who trains, for people: "the runner", "the PyTorch engine (/usr/bin/python3)". */
  readonly who: string;
  /** Starts the training process for a run whose folder exists. */
  start(runId: string, runDir: string): ChildProcess;
  /** Delivers the run's events, normalized, as they come; close() delivers the last ones. */
  follow(
    child: ChildProcess,
    runDir: string,
    on: { event: (e: RunEvent) => void; skipped: (text: string) => void },
  ): { close(): void };
  /** Asks the run to stop after its current step. */
  askToStop(child: ChildProcess, runDir: string): void;
}

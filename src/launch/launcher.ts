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
  /**
   * For a process that outlives its run (a warm runner): calls `then` once the run is over while
   * the process lives on; returns what stops listening. Otherwise the run ends with its process.
   */
  ended?(child: ChildProcess, runId: string, then: () => void): () => void;
  /** Asks the run to stop after its current step. */
  askToStop(child: ChildProcess, runDir: string): void;
}

/** Kills a process that has not exited and everything it started (torchrun's workers share its process group). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    child.kill(signal);
  }
}

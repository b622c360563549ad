// The sweeps this window runs: a SweepRun each (src/experiments/sweepRun.ts, the CLI's code:
// sweep.json, status files, resume) whose points start through the run manager, so that every
// point is a live run of the runs tree and the monitor. Stopping a sweep stops its running points
// after their step and starts no more; none outlives the window.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type SweepOptions, type SweepOutcome, SweepRun } from '../experiments/sweepRun';
import { type RunManager, STOP_GRACE_MS } from './runs';

export interface ActiveSweep {
  name: string;
  sweepDir: string;
  sweep: SweepRun;
  /** Resolves once every point of the sweep has ended (or been left alone). */
  done: Promise<SweepOutcome>;
  /** The runs its points started. */
  runIds: Set<string>;
}

export class SweepManager implements vscode.Disposable {
  private readonly active = new Map<string, ActiveSweep>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** A sweep started or ended, or one of its points changed status. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly runs: RunManager,
    private readonly output: vscode.OutputChannel,
  ) {}

  get running(): ActiveSweep[] {
    return [...this.active.values()];
  }

  get(sweepDir: string): ActiveSweep | undefined {
    return this.active.get(path.resolve(sweepDir));
  }

  /** Whether a run was started by a sweep of this window (running now). */
  owns(runId: string): boolean {
    return this.running.some((a) => a.runIds.has(runId));
  }

  /** Runs a sweep's points (the caller checks that it is not running already); `progress` hears each line of its log. */
  start(
    opts: Omit<SweepOptions, 'startRun' | 'log'>,
    raw: Record<string, unknown>,
    name: string,
    progress?: (line: string) => void,
  ): ActiveSweep {
    const sweepDir = path.resolve(opts.sweepDir);
    if (this.active.has(sweepDir)) throw new Error(`the sweep in ${sweepDir} is already running`);
    const runIds = new Set<string>();
    const sweep = new SweepRun(
      {
        ...opts,
        sweepDir,
        startRun: (o) => {
          const run = this.runs.start(o);
          runIds.add(run.runId);
          return run.handle!;
        },
        log: (line) => {
          this.output.appendLine(`[sweep ${name}] ${line}`);
          progress?.(line);
          this.changed.fire();
        },
      },
      raw,
      name,
    );
    const done = sweep.start().finally(() => {
      this.active.delete(sweepDir);
      this.changed.fire();
    });
    const active: ActiveSweep = { name, sweepDir, sweep, done, runIds };
    this.active.set(sweepDir, active);
    this.changed.fire();
    return active;
  }

  /** Stops a sweep: its running points after their step (terminated after `graceMs`), no more started; resolves once it has ended. */
  async stop(sweepDir: string, graceMs = STOP_GRACE_MS): Promise<void> {
    const a = this.get(sweepDir);
    if (!a) return;
    this.output.appendLine(`[sweep ${a.name}] stop requested`);
    await a.sweep.stop(graceMs);
    // The stopped points' status is written once their runs have ended; a point still waiting
    // for its request (a Python check) ends on its own.
    await Promise.race([a.done, new Promise((resolve) => setTimeout(resolve, graceMs + 1000))]);
  }

  /** Stops every sweep (deactivate): asks first, terminates after a short grace. */
  async stopAll(graceMs = 2000): Promise<void> {
    await Promise.all(this.running.map((a) => this.stop(a.sweepDir, graceMs)));
  }

  dispose(): void {
    for (const a of this.active.values()) a.sweep.kill();
    this.changed.dispose();
  }
}

// The tfjs engine's launcher: our runner (runner.js) forked with an IPC channel; its events come
// over IPC (normalized here, as they are read); a {type: 'stop'} message asks it to stop.
// A request with a WarmRunner (a sweep's job) sends its run to that runner's kept process
// instead of forking one: tfjs, wasm and V8's compiled code are loaded once a job, not once a point.
import { type ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import { normalizeEvent } from '../runlog/normalize';
import { killGroup, type Launcher } from './launcher';
import type { TfjsRequest } from './request';
import { isRunnerIdle, type RunnerArgs, type RunnerIdle, type RunnerMessage, type WarmArgs } from './runnerMessages';

/** Forks the runner script of `req` with `arg` (a run, or a warm runner's start). */
function forkRunner(req: TfjsRequest, arg: RunnerArgs | WarmArgs): ChildProcess {
  return fork(req.runnerScript, [JSON.stringify(arg)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execPath: req.execPath,
    execArgv: req.execArgv ?? [],
    // Its own process group, so that a terminal's Ctrl-C reaches only the parent, which then asks for a clean stop.
    detached: true,
  });
}

/**
 * A runner process kept across runs, one run at a time (a sweep's job: its points one after the
 * other). A run that crashes it (or is killed) ends with it; the next run gets a fresh process.
 * close() ends it once its run (if any) is over; kill() at once.
 */
export class WarmRunner {
  private child: ChildProcess | undefined;
  private key = '';
  /** Processes started so far (1 for a whole sweep job whose points all ended normally). */
  started = 0;

  /**
   * `onIdle` hears the runner after each run: its live tensors and memory; `sweepDir` (the sweep
   * folder its runs are in) goes into its command line.
   */
  constructor(
    private readonly onIdle?: (m: RunnerIdle) => void,
    private readonly sweepDir?: string,
  ) {}

  /** The process for the next run of `req`: the kept one, or a fresh one (none yet, it has exited, or another runner or Node). */
  take(req: TfjsRequest): ChildProcess {
    const key = JSON.stringify([req.runnerScript, req.execPath, req.execArgv, req.wasmPath]);
    const kept = this.child;
    if (kept && key === this.key && kept.connected && kept.exitCode === null && kept.signalCode === null) return kept;
    this.close();
    const start: WarmArgs = { warm: true, parentPid: process.pid, sweepDir: this.sweepDir };
    const child = forkRunner(req, start);
    this.child = child;
    this.key = key;
    this.started++;
    child.on('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    child.on('error', () => {}); // a send to a process that has just died: its exit ends the run
    child.on('message', (m) => {
      if (isRunnerIdle(m)) this.onIdle?.(m);
    });
    // Between runs nobody reads its output (each run's supervisor does during the run): drained, not left to fill the pipe.
    child.stdout?.resume();
    child.stderr?.resume();
    return child;
  }

  /**
   * Lets the kept process go: it exits once its run, if any, has ended; resolves once it has
   * exited (killed if it has not within `graceMs`: it has no run to end).
   */
  close(graceMs = 5000): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => killGroup(child), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (child.connected) child.disconnect();
    });
  }

  /** Kills the kept process (and its run) at once. */
  kill(): void {
    const child = this.child;
    this.child = undefined;
    if (child) killGroup(child);
  }
}

export class TfjsLauncher implements Launcher {
  readonly who = 'the runner';

  constructor(private readonly req: TfjsRequest) {}

  start(runId: string, runDir: string): ChildProcess {
    const r = this.req;
    const args: RunnerArgs = {
      configFile: path.resolve(r.configFile),
      runDir,
      runId,
      epochs: r.epochs,
      maxSteps: r.maxSteps,
      backend: r.backend,
      recordsPerEpoch: r.recordsPerEpoch,
      wasmPath: r.wasmPath,
      parentPid: process.pid,
      notes: r.notes,
    };
    if (!r.warm) return forkRunner(r, args);
    const child = r.warm.take(r);
    const run: RunnerMessage = { type: 'run', args };
    child.send(run);
    return child;
  }

  follow(child: ChildProcess, _runDir: string, on: Parameters<Launcher['follow']>[2]): { close(): void } {
    const listener = (m: unknown) => {
      if (isRunnerIdle(m)) return; // the warm runner's, not the run's (see ended)
      const read = normalizeEvent(m);
      if (read.ok) on.event(read.event);
      else on.skipped(`runner message skipped: ${read.problem}`);
    };
    child.on('message', listener);
    return { close: () => child.off('message', listener) };
  }

  ended(child: ChildProcess, runId: string, then: () => void): () => void {
    if (!this.req.warm) return () => {};
    const listener = (m: unknown) => {
      if (isRunnerIdle(m) && m.runId === runId) then();
    };
    child.on('message', listener);
    return () => child.off('message', listener);
  }

  askToStop(child: ChildProcess): void {
    const stop: RunnerMessage = { type: 'stop' };
    if (child.connected) child.send(stop);
    else child.kill('SIGTERM');
  }
}

// The tfjs engine's launcher: our runner (runner.js) forked with an IPC channel; its events come
// over IPC (normalized here, as they are read); a {type: 'stop'} message asks it to stop.
import { type ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import { normalizeEvent } from '../runlog/normalize';
import type { Launcher } from './launcher';
import type { TfjsRequest } from './request';
import type { RunnerArgs, RunnerMessage } from './runner';

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
    return fork(r.runnerScript, [JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execPath: r.execPath,
      execArgv: r.execArgv ?? [],
      // Its own process group, so that a terminal's Ctrl-C reaches only the parent, which then asks for a clean stop.
      detached: true,
    });
  }

  follow(child: ChildProcess, _runDir: string, on: Parameters<Launcher['follow']>[2]): { close(): void } {
    child.on('message', (m: unknown) => {
      const read = normalizeEvent(m);
      if (read.ok) on.event(read.event);
      else on.skipped(`runner message skipped: ${read.problem}`);
    });
    return { close() {} };
  }

  askToStop(child: ChildProcess): void {
    const stop: RunnerMessage = { type: 'stop' };
    if (child.connected) child.send(stop);
    else child.kill('SIGTERM');
  }
}

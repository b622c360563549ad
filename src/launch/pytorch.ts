// The pytorch engine's launcher: `python -m layer_rotation train` (or torchrun with several
// processes); it has no IPC channel, so its events are read by tailing the run's events.jsonl as
// rank 0 appends to it; a STOP file in the run folder asks every rank to stop.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TrainingConfig } from '../engine/config/types';
import { defaultMnistFolder } from '../engine/data/mnist';
import { EVENTS_FILE } from '../runlog/runfolder';
import { LogTail } from '../runlog/tail';
import type { Launcher } from './launcher';
import type { CommonRequest, PytorchRequest, RunRequest } from './request';

/** In a run folder: a file whose presence asks the pytorch engine to stop (people can touch it too). */
export const STOP_FILE = 'STOP';
/** In a run folder: the validated config, with defaults, that the pytorch engine trains. */
export const RESOLVED_CONFIG_FILE = 'resolved-config.json';

/**
 * The request to train a validated config with the pytorch engine: in `python`, with the package
 * from `packageDir`, `processes` (default: the config's) and MNIST's files as shipped with this code.
 */
export function pytorchRequest(
  common: CommonRequest,
  config: TrainingConfig,
  python: string,
  packageDir: string | undefined,
  processes?: number,
): PytorchRequest {
  let mnistDir: string | undefined;
  try {
    mnistDir = defaultMnistFolder();
  } catch {
    mnistDir = undefined; // the engine looks for the files itself, and says what to do
  }
  return {
    ...common,
    engine: 'pytorch',
    python,
    packageDir,
    processes: processes ?? config.pytorch.processes,
    device: config.pytorch.device,
    mnistDir,
    config: { ...config, engine: 'pytorch' },
  };
}

/** The command line of the pytorch engine: one process, or torchrun with several. */
export function pytorchCommand(req: PytorchRequest, runId: string, runDir: string): string[] {
  const engine = [
    '-m',
    'layer_rotation',
    'train',
    path.resolve(req.configFile),
    '--run-dir',
    runDir,
    '--run-id',
    runId,
    '--resolved-config',
    path.join(runDir, RESOLVED_CONFIG_FILE),
    '--device',
    req.device,
    '--parent-pid',
    String(process.pid),
    '--stop-file',
    path.join(runDir, STOP_FILE),
    // No progress or final table from the engine: whoever started the run reads its log and says
    // it (the CLI's own progress and table, the editor's output channel); warnings, errors and
    // tracebacks still come on stderr.
    '--quiet',
  ];
  if (req.mnistDir) engine.push('--mnist-dir', req.mnistDir);
  if (req.epochs !== undefined) engine.push('--epochs', String(req.epochs));
  if (req.maxSteps !== undefined) engine.push('--max-steps', String(req.maxSteps));
  if (req.recordsPerEpoch !== undefined) engine.push('--records-per-epoch', String(req.recordsPerEpoch));
  for (const note of req.notes ?? []) engine.push('--note', note);
  if (req.threads !== undefined) engine.push('--threads', String(req.threads));
  if (req.processes <= 1) return engine;
  // torchrun as a module of the same interpreter (its `torchrun` script may not be on PATH).
  // --redirects 1 --tee 1 (workers' stdout to a file and the console): torch 1.13's torchrun
  // cannot parse its own default for them on Python 3.11.
  return [
    '-m',
    'torch.distributed.run',
    '--standalone',
    '--nproc_per_node',
    String(req.processes),
    '--redirects',
    '1',
    '--tee',
    '1',
    ...engine,
  ];
}

/**
 * The environment that sizes the BLAS and OpenMP thread pools of a process with `threads` threads
 * (read as torch loads, before the engine's torch.set_num_threads): OpenMP's (torch's own, MKL's,
 * OpenBLAS's OpenMP build) and OpenBLAS's pthread build. Empty when `threads` is unset.
 */
export function threadEnv(threads: number | undefined): Record<string, string> {
  if (threads === undefined) return {};
  const n = String(threads);
  return { OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n };
}

/**
 * How a PyTorch run sizes its threads with `concurrent` trainings at once (a sweep's points, or a
 * run started beside others), each of `processes` processes: the machine's cores divided among
 * them, at least 1 a process, so that they do not oversubscribe the cores. torch alone takes every
 * core in each run, and its OpenMP threads spin while they wait: measured here, two runs of 2
 * threads each on 2 cores took 4.5x as long as two of 1 thread. A user's OMP_NUM_THREADS in the
 * environment wins: the threads are then left to it.
 */
export function shareOfCores(
  concurrent: number,
  processes: number,
  cores = os.availableParallelism(),
  env: NodeJS.ProcessEnv = process.env,
): { threads: number | undefined; why: string } {
  const given = env.OMP_NUM_THREADS?.trim();
  if (given) return { threads: undefined, why: `OMP_NUM_THREADS=${given} from the environment (not divided)` };
  const runs = Math.max(1, concurrent) * Math.max(1, processes);
  const threads = Math.max(1, Math.floor(cores / runs));
  const each = processes > 1 ? ` x ${processes} processes` : '';
  return {
    threads,
    why: `${threads} thread${threads === 1 ? '' : 's'} a process (${cores} cores / ${concurrent} at a time${each})`,
  };
}

/**
 * A request started while `running` other trainings of this window train: a PyTorch one with its
 * share of the cores (shareOfCores among them all) and a note saying why; else (none running,
 * another engine, a thread count set already, OMP_NUM_THREADS from the environment) the request
 * as it is.
 */
export function threadsBeside<R extends RunRequest>(
  req: R,
  running: number,
  cores = os.availableParallelism(),
  env: NodeJS.ProcessEnv = process.env,
): R {
  if (req.engine !== 'pytorch' || req.threads !== undefined || running <= 0) return req;
  const { threads, why } = shareOfCores(running + 1, req.processes, cores, env);
  if (threads === undefined) return req;
  const others = `${running} other training${running === 1 ? ' is' : 's are'} running in this window`;
  const note = `${others}: ${why}, so that they do not oversubscribe the cores`;
  return { ...req, threads, notes: [...(req.notes ?? []), note] };
}

export class PytorchLauncher implements Launcher {
  readonly who: string;

  constructor(private readonly req: PytorchRequest) {
    this.who = `the PyTorch engine (${req.python})`;
  }

  start(runId: string, runDir: string): ChildProcess {
    const r = this.req;
    fs.writeFileSync(path.join(runDir, RESOLVED_CONFIG_FILE), `${JSON.stringify(r.config, null, 2)}\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1' };
    if (r.packageDir) env.PYTHONPATH = [r.packageDir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
    Object.assign(env, threadEnv(r.threads));
    return spawn(r.python, pytorchCommand(r, runId, runDir), {
      cwd: path.dirname(path.resolve(r.configFile)),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      windowsHide: true,
    });
  }

  follow(_child: ChildProcess, runDir: string, on: Parameters<Launcher['follow']>[2]): { close(): void } {
    const file = path.join(runDir, EVENTS_FILE);
    return followLog(file, on.event, (line, reason) => on.skipped(`${file}:${line}: skipped: ${reason}`));
  }

  askToStop(child: ChildProcess, runDir: string): void {
    // Every rank sees the stop file (torchrun would answer a signal by killing its workers).
    try {
      fs.writeFileSync(path.join(runDir, STOP_FILE), `stop requested by process ${process.pid}\n`);
    } catch {
      // the folder is gone: the signal below still reaches a single process
    }
    if (this.req.processes <= 1) child.kill('SIGINT');
  }
}

/**
 * Follows a log that another process appends to: reads the new complete lines when the folder
 * changes, and at least every `pollMs` (fs.watch can miss events on network filesystems).
 */
function followLog(
  file: string,
  onEvent: Parameters<Launcher['follow']>[2]['event'],
  onSkipped: (line: number, reason: string) => void,
  pollMs = 250,
): { close(): void } {
  const tail = new LogTail(file);
  const read = () => {
    const chunk = tail.readAll();
    for (const e of chunk.events) onEvent(e);
    for (const s of chunk.skipped) onSkipped(s.line, s.reason);
  };
  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(path.dirname(file), { persistent: false }, () => read());
  } catch {
    // polling alone
  }
  const timer = setInterval(read, pollMs);
  timer.unref();
  return {
    close() {
      watcher?.close();
      clearInterval(timer);
      read();
    },
  };
}

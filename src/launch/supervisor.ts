// Starts a training run as a child process, relays its events, asks it to stop (and terminates
// it if it does not), and makes sure that every run ends with a run_finished line in its log,
// even when the runner crashed or was killed. Two engines:
// - tfjs: our runner (runner.js) forked with an IPC channel; events come over IPC.
// - pytorch: `python -m layer_rotation train` (or torchrun with several processes); events are
//   read by tailing the run's events.jsonl as rank 0 appends to it.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { emptyRunLog, lagBelowTarget, readRunLog, type RunLog } from '../runlog/read';
import type { TrainingConfig } from '../engine/config/types';
import { defaultMnistFolder } from '../engine/data/mnist';
import { type RunEvent, type RunFinished, type RunStarted, stamp } from '../runlog/events';
import { EventLogWriter } from '../runlog/writer';
import { EVENTS_FILE, createRunDir, makeSummary, writeSummary } from '../runlog/runfolder';
import { LogTail } from '../runlog/tail';

/** How the pytorch engine is started. */
export interface PytorchOptions {
  /** The Python interpreter (with torch). */
  python: string;
  /** Folder with the `layer_rotation` package, put first on PYTHONPATH (unset: it is installed). */
  packageDir?: string;
  /** Data-parallel processes: more than 1 launches torchrun (torch.distributed.run). */
  processes: number;
  device: 'auto' | 'cpu' | 'cuda';
  /** MNIST's IDX files, when the config gives no dataset.path. */
  mnistDir?: string;
  /** The validated config with its defaults, handed to the engine as JSON. */
  config: TrainingConfig;
}

/**
 * How to start the pytorch engine for a validated config: in `python`, with the package from
 * `packageDir`, `processes` (default: the config's) and MNIST's files as shipped with this code.
 */
export function pytorchOptions(
  config: TrainingConfig,
  python: string,
  packageDir: string | undefined,
  processes?: number,
): PytorchOptions {
  let mnistDir: string | undefined;
  try {
    mnistDir = defaultMnistFolder();
  } catch {
    mnistDir = undefined; // the engine looks for the files itself, and says what to do
  }
  return {
    python,
    packageDir,
    processes: processes ?? config.pytorch.processes,
    device: config.pytorch.device,
    mnistDir,
    config: { ...config, engine: 'pytorch' },
  };
}

/** In a run folder: a file whose presence asks the pytorch engine to stop (people can touch it too). */
export const STOP_FILE = 'STOP';
/** In a run folder: the validated config, with defaults, that the pytorch engine trains. */
export const RESOLVED_CONFIG_FILE = 'resolved-config.json';

export interface StartOptions {
  configFile: string;
  /** Folder that receives the run's folder. */
  runsDir: string;
  /** Name of the run (the config's name). */
  name: string;
  /** The runner script (runner.js) to fork. */
  runnerScript: string;
  epochs?: number;
  maxSteps?: number;
  backend?: 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
  /** Overrides the config's monitoring.recordsPerEpoch. */
  recordsPerEpoch?: number;
  wasmPath?: string;
  /** Every event the runner emits, as it comes. */
  onEvent?: (e: RunEvent) => void;
  /** The runner's stderr, as text chunks (warnings, stack traces). */
  onOutput?: (text: string) => void;
  /** Node executable and its flags for the child (defaults: this process's). */
  execPath?: string;
  execArgv?: string[];
  /** Train with the pytorch engine instead of the tfjs runner. */
  pytorch?: PytorchOptions;
}

export interface RunHandle {
  runId: string;
  runDir: string;
  pid: number | undefined;
  /** Resolves with the run's last event once the runner has exited. */
  done: Promise<RunFinished>;
  /** Asks the runner to stop after its current step; terminates it after `graceMs`. */
  stop(graceMs?: number): Promise<RunFinished>;
  /** Terminates the runner at once (SIGKILL). */
  kill(): void;
}

const STDERR_TAIL = 4000;

/** Why a process exited, for people: "exit code 3", "killed by SIGKILL (out of memory?)". */
export function describeExit(
  code: number | null,
  signal: NodeJS.Signals | null,
  stderrTail: string,
  who = 'the runner',
): string {
  if (/heap out of memory|Allocation failed/i.test(stderrTail))
    return `${who} ran out of memory (JavaScript heap); try a smaller batchSize or model`;
  if (/out of memory/i.test(stderrTail)) return `${who} ran out of memory; try a smaller batchSize or model`;
  if (signal)
    return `${who} was killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : ''}`;
  const lastLine = stderrTail.trim().split('\n').filter(Boolean).pop();
  if (code === null) return `${who} could not start${lastLine ? `: ${lastLine}` : ''}`;
  return `${who} exited with code ${code}${lastLine ? `: ${lastLine}` : ''}`;
}

export function startRun(opts: StartOptions): RunHandle {
  const { runId, runDir } = createRunDir(opts.runsDir, opts.name, opts.configFile);
  const child = opts.pytorch ? spawnPytorch(opts, opts.pytorch, runId, runDir) : forkRunner(opts, runId, runDir);
  let started: RunStarted | undefined;
  let finished: RunFinished | undefined;
  let stderrTail = '';

  const relay = (e: RunEvent) => {
    if (e.type === 'run_started') started = e;
    if (e.type === 'run_finished') finished = e;
    opts.onEvent?.(e);
  };
  child.on('message', relay);
  // The pytorch engine has no IPC channel: its log on disk is read as it grows.
  const follower = opts.pytorch
    ? followLog(path.join(runDir, EVENTS_FILE), relay, (line, reason) =>
        opts.onOutput?.(`${path.join(runDir, EVENTS_FILE)}:${line}: skipped: ${reason}\n`),
      )
    : undefined;
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString();
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
    opts.onOutput?.(text);
  };
  child.stderr?.on('data', onOutput);
  child.stdout?.on('data', onOutput);

  const done = new Promise<RunFinished>((resolve) => {
    let settled = false;
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      follower?.close(); // reads what the engine wrote last
      // The log on disk is the record: what IPC did not deliver before the exit is there.
      const log = logOf(runDir);
      finished ??= log.finished;
      if (!finished) {
        // The runner died before it could say how the run ended: say it for it.
        const lastRecord = log.rotations[log.rotations.length - 1];
        const last = lastRecord
          ? { step: lastRecord.step, epoch: lastRecord.epoch, distances: lastRecord.distances }
          : { step: 0, epoch: 0, distances: [] };
        const startedEvent = started ?? log.started;
        const lagging =
          startedEvent && last.distances.length
            ? lagBelowTarget(
                startedEvent.layers.map((l) => l.name),
                last.distances,
                startedEvent.target,
                startedEvent.lagMargin,
              )
            : [];
        const e = stamp({
          type: 'run_finished',
          status: 'failed',
          reason: describeExit(
            code,
            signal,
            stderrTail,
            opts.pytorch ? `the PyTorch engine (${opts.pytorch.python})` : 'the runner',
          ),
          step: last.step,
          epoch: last.epoch,
          finalDistances: last.distances,
          testLoss: null,
          testAccuracy: null,
          lagging,
          seconds: started?.time ? (Date.now() - started.time) / 1000 : 0,
        }) as RunFinished;
        const writer = new EventLogWriter(path.join(runDir, EVENTS_FILE));
        writer.write(e);
        writer.close();
        writeSummary(runDir, makeSummary(runId, startedEvent, e));
        finished = e;
        opts.onEvent?.(e);
      }
      resolve(finished);
    };
    child.on('exit', (code, signal) => {
      // Wait for IPC messages still in flight and for stderr to end.
      setImmediate(() => settle(code, signal));
    });
    child.on('error', (err) => {
      stderrTail += `\n${err.message}`;
      // The process could not even start (e.g. no such interpreter): there will be no exit event.
      if (child.pid === undefined) setImmediate(() => settle(null, null));
    });
  });

  let exited = false;
  void done.then(() => (exited = true));

  return {
    runId,
    runDir,
    pid: child.pid,
    done,
    async stop(graceMs = 5000) {
      if (!exited) askToStop(child, runDir, opts.pytorch);
      const timer = setTimeout(() => {
        if (!exited) killGroup(child, 'SIGKILL');
      }, graceMs);
      const result = await done;
      clearTimeout(timer);
      return result;
    },
    kill() {
      if (!exited) killGroup(child, 'SIGKILL');
    },
  };
}

function forkRunner(opts: StartOptions, runId: string, runDir: string): ChildProcess {
  const args = {
    configFile: path.resolve(opts.configFile),
    runDir,
    runId,
    epochs: opts.epochs,
    maxSteps: opts.maxSteps,
    backend: opts.backend,
    recordsPerEpoch: opts.recordsPerEpoch,
    wasmPath: opts.wasmPath,
  };
  return fork(opts.runnerScript, [JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execPath: opts.execPath,
    execArgv: opts.execArgv ?? [],
    // Its own process group, so that a terminal's Ctrl-C reaches only the parent, which then asks for a clean stop.
    detached: true,
  });
}

/** The command line of the pytorch engine: one process, or torchrun with several. */
export function pytorchCommand(opts: StartOptions, py: PytorchOptions, runId: string, runDir: string): string[] {
  const engine = [
    '-m',
    'layer_rotation',
    'train',
    path.resolve(opts.configFile),
    '--run-dir',
    runDir,
    '--run-id',
    runId,
  ];
  engine.push(
    '--resolved-config',
    path.join(runDir, RESOLVED_CONFIG_FILE),
    '--device',
    py.device,
    '--parent-pid',
    String(process.pid),
    '--stop-file',
    path.join(runDir, STOP_FILE),
  );
  if (py.mnistDir) engine.push('--mnist-dir', py.mnistDir);
  if (opts.epochs !== undefined) engine.push('--epochs', String(opts.epochs));
  if (opts.maxSteps !== undefined) engine.push('--max-steps', String(opts.maxSteps));
  if (opts.recordsPerEpoch !== undefined) engine.push('--records-per-epoch', String(opts.recordsPerEpoch));
  if (py.processes <= 1) return engine;
  // torchrun as a module of the same interpreter (its `torchrun` script may not be on PATH).
  // --redirects 1 --tee 1 (workers' stdout to a file and the console): torch 1.13's torchrun
  // cannot parse its own default for them on Python 3.11.
  return [
    '-m',
    'torch.distributed.run',
    '--standalone',
    '--nproc_per_node',
    String(py.processes),
    '--redirects',
    '1',
    '--tee',
    '1',
    ...engine,
  ];
}

function spawnPytorch(opts: StartOptions, py: PytorchOptions, runId: string, runDir: string): ChildProcess {
  fs.writeFileSync(path.join(runDir, RESOLVED_CONFIG_FILE), `${JSON.stringify(py.config, null, 2)}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1' };
  if (py.packageDir) env.PYTHONPATH = [py.packageDir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  return spawn(py.python, pytorchCommand(opts, py, runId, runDir), {
    cwd: path.dirname(path.resolve(opts.configFile)),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    windowsHide: true,
  });
}

/** Asks a run to stop after its current step. */
function askToStop(child: ChildProcess, runDir: string, py: PytorchOptions | undefined): void {
  if (!py) {
    if (child.connected) child.send({ type: 'stop' });
    else child.kill('SIGTERM');
    return;
  }
  // Every rank sees the stop file (torchrun would answer a signal by killing its workers).
  try {
    fs.writeFileSync(path.join(runDir, STOP_FILE), `stop requested by process ${process.pid}\n`);
  } catch {
    // the folder is gone: the signal below still reaches a single process
  }
  if (py.processes <= 1) child.kill('SIGINT');
}

/** Kills the child and everything it started (torchrun's workers share its process group). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    child.kill(signal);
  }
}

/**
 * Follows a log that another process appends to: reads the new complete lines when the folder
 * changes, and at least every `pollMs` (fs.watch can miss events on network filesystems).
 */
function followLog(
  file: string,
  onEvent: (e: RunEvent) => void,
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

function logOf(runDir: string): RunLog {
  try {
    return readRunLog(path.join(runDir, EVENTS_FILE));
  } catch {
    return emptyRunLog();
  }
}

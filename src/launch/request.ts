// The one description of a training run to start, from the CLI or the editor to the supervisor,
// discriminated on the engine. The runner's arguments (runner.ts) and the training loop's options
// (engine/trainer.ts) are picked from it.
import type { BackendName, EngineName, RunOverrides, TrainingConfig } from '../engine/config/types';
import type { WarmRunner } from './tfjs';

export type { RunOverrides };

interface RequestBase extends RunOverrides {
  engine: EngineName;
  configFile: string;
  /** Folder that receives the run's folder. */
  runsDir: string;
  /** Name of the run (the config's name). */
  name: string;
  /** Lines for the run's log, written as `log` events (info) right after run_started: e.g. why this engine. */
  notes?: string[];
}

/** Our runner (runner.js), forked with an IPC channel. */
export interface TfjsRequest extends RequestBase {
  engine: 'tfjs';
  /** The runner script to fork. */
  runnerScript: string;
  /** Overrides the config's backend. */
  backend?: BackendName;
  /** Folder of the wasm backend's .wasm files, when bundled. */
  wasmPath?: string;
  /** Node executable and its flags for the child (defaults: this process's). */
  execPath?: string;
  execArgv?: string[];
  /** A runner process kept across runs (a sweep's job) that trains this run instead of a fresh one. */
  warm?: WarmRunner;
}

/** `python -m layer_rotation train`, or torchrun with several processes. */
export interface PytorchRequest extends RequestBase {
  engine: 'pytorch';
  /** The Python interpreter (with torch). */
  python: string;
  /** Folder with the `layer_rotation` package, put first on PYTHONPATH (unset: it is installed). */
  packageDir?: string;
  /** Data-parallel processes: more than 1 launches torchrun (torch.distributed.run). */
  processes: number;
  device: TrainingConfig['pytorch']['device'];
  /** MNIST's IDX files, when the config gives no dataset.path. */
  mnistDir?: string;
  /** The validated config with its defaults, handed to the engine as JSON. */
  config: TrainingConfig;
  /**
   * Threads of each process on the CPU: torch.set_num_threads (the engine's --threads) and the
   * child's OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS, so that the BLAS pools agree.
   * Unset: the engine takes its process's share of the cores (or OMP_NUM_THREADS when set).
   */
  threads?: number;
}

export type RunRequest = TfjsRequest | PytorchRequest;

/** What both engines' requests share: the config, where the run goes, the overrides. */
export type CommonRequest = Omit<RequestBase, 'engine'>;

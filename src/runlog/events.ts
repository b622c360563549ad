// The run-log format: the events a run emits, one JSON object per line of `events.jsonl`,
// and the same objects over Node IPC. docs/run-log-format.md documents it for other writers.
// Types and pure helpers only (the webview bundles them); runlog/writer.ts appends to a file.

/** Bumped when a change would mislead an older reader; readers accept any v they know. */
export const FORMAT_VERSION = 1;

export interface LayerInfo {
  name: string;
  kind: 'dense' | 'conv2d';
  shape: number[];
  params: number;
  /** JSON path, in the config, of the node that defines the layer (optional for outside writers). */
  configPath?: (string | number)[];
}

interface EventBase {
  /** Format version. */
  v: number;
  /** Milliseconds since the Unix epoch when the event was made. */
  time: number;
}

export interface RunStarted extends EventBase {
  type: 'run_started';
  runId: string;
  name: string;
  /** Absolute path of the config that started the run, if any. */
  configFile?: string;
  engine: string;
  backend: string;
  backendDescription?: string;
  dataset: { name: string; train: number; validation: number; test: number; inputShape: number[]; classes: number };
  model?: string;
  optimizer?: string;
  layers: LayerInfo[];
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  /** Total steps planned (epochs x stepsPerEpoch, or less with --max-steps). */
  totalSteps: number;
  target: number;
  lagMargin: number;
  seed?: number;
  /** The learning-rate schedule, so that readers can project where layers are heading. */
  schedule?: {
    learningRate: number;
    decay?: { factor: number; epochs: number[] };
    warmupEpochs: number;
    layca: boolean;
    multipliers: number[];
  };
}

export interface RotationEvent extends EventBase {
  type: 'rotation';
  step: number;
  /** Fractional epoch: step / stepsPerEpoch. */
  epoch: number;
  /** Cosine distance of each layer to its initial kernel, in layer order. */
  distances: number[];
  /** tan of the angle each layer turned since the previous rotation record. */
  rotation: number[];
  /** Steps since the previous rotation record (0 for the first). */
  steps: number;
}

export interface BatchEvent extends EventBase {
  type: 'batch';
  step: number;
  epoch: number;
  /** Mean training loss and accuracy over the steps since the previous batch event. */
  loss: number;
  accuracy: number;
  learningRate: number;
}

export interface EpochEnd extends EventBase {
  type: 'epoch_end';
  /** 1-based number of the epoch that ended. */
  epoch: number;
  step: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  seconds: number;
  samplesPerSecond: number;
}

export type RunStatus = 'completed' | 'stopped' | 'failed';

export interface LaggingLayer {
  name: string;
  distance: number;
}

export interface RunFinished extends EventBase {
  type: 'run_finished';
  status: RunStatus;
  reason: string;
  step: number;
  epoch: number;
  finalDistances: number[];
  testLoss: number | null;
  testAccuracy: number | null;
  lagging: LaggingLayer[];
  seconds: number;
}

/** A message for people, e.g. a dataset warning. */
export interface LogEvent extends EventBase {
  type: 'log';
  level: 'info' | 'warning' | 'error';
  message: string;
}

export type RunEvent = RunStarted | RotationEvent | BatchEvent | EpochEnd | RunFinished | LogEvent;
export type RunEventType = RunEvent['type'];

/** Distributes an Omit over a union, so that each event keeps its own fields. */
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type NewEvent = DistributiveOmit<RunEvent, 'v' | 'time'>;

export function stamp(e: NewEvent): RunEvent {
  return { v: FORMAT_VERSION, time: Date.now(), ...e } as RunEvent;
}

/** JSON with non-finite numbers written as null (JSON has no NaN), so every line parses. */
export function toJsonLine(e: RunEvent): string {
  return `${JSON.stringify(e, (_k, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value))}\n`;
}

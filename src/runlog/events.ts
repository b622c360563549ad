// The run-log format: the events a run emits, one JSON object per line of `events.jsonl`,
// and the same objects over Node IPC. docs/run-log-format.md documents it for other writers.
// Types and pure helpers only (the webview bundles them); runlog/writer.ts appends to a file.

/** Bumped when a change would mislead an older reader; readers accept any v they know. */
export const FORMAT_VERSION = 1;

// The interfaces below are the normalized events (src/runlog/normalize.ts): what readers get
// after normalizeEvent, with null for absent or non-finite numbers and readers' defaults filled in.

export interface LayerInfo {
  name: string;
  /** dense or conv2d from this extension's engines; other writers may use their own words. */
  kind: 'dense' | 'conv2d' | (string & {});
  shape: number[];
  /** Parameters of the kernel and bias (null: not given). */
  params: number | null;
  /** JSON path, in the config, of the node that defines the layer (optional for outside writers). */
  configPath?: (string | number)[];
}

interface EventBase {
  /** Format version. */
  v: number;
  /** Milliseconds since the Unix epoch when the event was made (null: not given). */
  time: number | null;
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
  /** Sample counts of each split (null: not given). */
  dataset: {
    name: string;
    train: number | null;
    validation: number | null;
    test: number | null;
    inputShape: number[];
    classes: number | null;
  };
  model?: string;
  optimizer?: string;
  layers: LayerInfo[];
  /** Readers' default: 1. */
  epochs: number;
  /** Readers' default: 1. */
  stepsPerEpoch: number;
  batchSize: number | null;
  /** Total steps planned (epochs x stepsPerEpoch, or less with --max-steps; the product by default). */
  totalSteps: number;
  /** Readers' default: 1. */
  target: number;
  /** Readers' default: 0.2. */
  lagMargin: number;
  /** A finished run has fit its training data at this final training accuracy or above. Readers' default: 0.99. */
  fitAccuracy: number;
  /** The run's stopping criteria that bear on the verdict (the config's stopping.lossBelow and .chance). */
  stopping?: StoppingInfo;
  seed?: number;
  /** The learning-rate schedule, so that readers can project where layers are heading. */
  schedule?: Schedule;
}

export interface Schedule {
  learningRate: number;
  decay?: { factor: number; epochs: number[] };
  warmupEpochs: number;
  layca: boolean;
  multipliers: number[];
}

export interface StoppingInfo {
  lossBelow?: number;
  chance?: { epochs: number; margin: number };
}

export interface RotationEvent extends EventBase {
  type: 'rotation';
  step: number;
  /** Fractional epoch: step / stepsPerEpoch. */
  epoch: number;
  /** Cosine distance of each layer to its initial kernel, in layer order (null: not finite). */
  distances: (number | null)[];
  /** tan of the angle each layer turned since the previous rotation record. */
  rotation: (number | null)[];
  /** Steps since the previous rotation record (0 for the first). */
  steps: number;
}

export interface BatchEvent extends EventBase {
  type: 'batch';
  step: number;
  epoch: number;
  /** Mean training loss and accuracy over the steps since the previous batch event. */
  loss: number | null;
  accuracy: number | null;
  learningRate: number | null;
}

export interface EpochEnd extends EventBase {
  type: 'epoch_end';
  /** 1-based number of the epoch that ended. */
  epoch: number;
  step: number | null;
  loss: number | null;
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  seconds: number | null;
  samplesPerSecond: number | null;
}

/** How a run ended (a status readers do not know is read as failed). */
export const RUN_STATUSES = ['completed', 'stopped', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface LaggingLayer {
  name: string;
  distance: number | null;
}

export interface RunFinished extends EventBase {
  type: 'run_finished';
  status: RunStatus;
  reason: string;
  step: number | null;
  epoch: number | null;
  finalDistances: (number | null)[];
  testLoss: number | null;
  testAccuracy: number | null;
  /** The last epoch's training loss and accuracy (its epoch_end's; null: no epoch ended, or not given; readers fall back to the last epoch_end). */
  trainLoss?: number | null;
  trainAccuracy?: number | null;
  /** The lagging layers: none unless the run fit its training data (src/runlog/verdict.ts). */
  lagging: LaggingLayer[];
  seconds: number | null;
}

/** A message for people, e.g. a dataset warning. */
export interface LogEvent extends EventBase {
  type: 'log';
  level: 'info' | 'warning' | 'error';
  message: string;
}

/**
 * A snapshot of the first kernel layer's units as images (the paper's section 6: with more
 * rotation the first layer's features look more learned), written at step 0, at epoch ends and
 * at the run's end (src/runlog/features.ts; docs/run-log-format.md). Only when that layer's
 * input is an image: a dense layer on image inputs (each unit's input weights as an image), or a
 * convolution on 1 or 3 channels (each filter as a patch).
 */
export interface FeaturesEvent extends EventBase {
  type: 'features';
  step: number;
  /** Fractional epoch: step / stepsPerEpoch. */
  epoch: number;
  /** The first kernel layer's name (run_started.layers[0].name). */
  layer: string;
  /** Its kind: dense or conv2d ("" when not given). */
  kind: string;
  /** Each unit's image: [height, width, channels], channels 1 (grey) or 3 (RGB). */
  image: [number, number, number];
  /** Units in this snapshot: the layer's first `units` (at most 64, and at most 65,536 values in all). */
  units: number;
  /** Units of the layer (readers' default: units). */
  totalUnits: number;
  /** How `data` and `scales` hold the weights: "int8" (the only encoding of this version). */
  encoding: 'int8';
  /** Per unit: its weights are the int8 values of `data` times this (max |w| / 127). */
  scales: number[];
  /** base64 of units x height x width x channels int8 values (two's complement), unit by unit, each unit's row by row, channels last. */
  data: string;
}

export type RunEvent = RunStarted | RotationEvent | BatchEvent | EpochEnd | RunFinished | LogEvent | FeaturesEvent;
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

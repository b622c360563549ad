// In-memory datasets, as plain typed arrays (the trainer turns batches into tensors).

export interface Split {
  /** n samples, each of prod(inputShape) float32 values, sample-major (NHWC for images). */
  x: Float32Array;
  /** n class labels in [0, classes). */
  y: Uint8Array;
  n: number;
}

export interface Dataset {
  /** 'mnist', 'cifar10' or 'synthetic'. */
  name: string;
  /** Shape of one sample: [784] flattened for MNIST when the model is an MLP, [28, 28, 1] / [32, 32, 3] for CNNs. */
  inputShape: number[];
  /** Shape of one sample before any flattening: [h, w, c] for images ([28, 28, 1] for MNIST, also for an MLP). */
  sampleShape?: number[];
  classes: number;
  train: Split;
  validation: Split;
  test: Split;
  /** Per-channel mean and std of the training split used to normalize every split (when normalized). */
  normalization?: { mean: number[]; std: number[] };
  /** Where the data came from (a folder, or 'generated'). */
  source: string;
  /** Things the user should know that did not stop the load (e.g. missing CIFAR-10 training batches). */
  warnings?: string[];
}

/** An error in the data: a missing folder, a malformed file. The message says what and where. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'DataError';
  }
}

/** Image files as read from disk: bytes, sample-major, NHWC. */
export interface RawImages {
  /** nTrain images of height x width x channels bytes. */
  trainX: Uint8Array;
  trainY: Uint8Array;
  testX: Uint8Array;
  testY: Uint8Array;
  nTrain: number;
  nTest: number;
  height: number;
  width: number;
  channels: number;
  classes: number;
  /** The folder the files were read from. */
  folder: string;
}

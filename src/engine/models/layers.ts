// Building blocks of the models: kernel layers (dense, conv2d) and batch normalization, each
// owning its variables. Forward passes use tfjs's fused ops (matmul/conv + bias + activation
// in one kernel) where they apply.
import * as tf from '@tensorflow/tfjs-core';
import type { Activation, Initializer } from '../config/types';
import type { Rng } from '../rng';

export type KernelKind = 'dense' | 'conv2d';

/** A layer with a kernel: what the rotation monitor watches and Layca turns. */
export interface KernelLayerInfo {
  name: string;
  kind: KernelKind;
  /** Kernel shape: [in, out] for dense, [kh, kw, cin, cout] for conv2d. */
  shape: number[];
  /** Trainable parameters of the layer: kernel plus bias. */
  params: number;
  /** JSON path of the config node that defines this layer (for editor diagnostics). */
  configPath: (string | number)[];
}

export type ParamRole = 'kernel' | 'bias' | 'gamma' | 'beta';

export interface Param {
  /** Unique name, e.g. `dense1/kernel`. */
  name: string;
  variable: tf.Variable;
  role: ParamRole;
  /** Index of the kernel layer this parameter belongs to (-1 for batch-norm parameters). */
  layer: number;
}

/** Collects a model's parameters and kernel layers as it is built, in forward order. */
/**
 * A variable holding `init()`'s values, and nothing else left behind: the initial tensor is
 * disposed (tf.variable keeps its own reference), so that a model's dispose() frees all it made
 * (a warm runner trains many models in one process).
 */
function owned(init: () => tf.Tensor, trainable: boolean, name: string): tf.Variable {
  return tf.tidy(() => tf.variable(init(), trainable, name));
}

export class ParamRegistry {
  readonly params: Param[] = [];
  readonly layers: KernelLayerInfo[] = [];
  readonly kernels: tf.Variable[] = [];
  /** Non-trainable state (batch-norm moving statistics). */
  readonly state: tf.Variable[] = [];

  constructor(
    readonly rng: Rng,
    readonly initializer: Initializer,
    readonly useBias: boolean,
  ) {}

  addKernel(
    name: string,
    kind: KernelKind,
    shape: number[],
    configPath: (string | number)[],
  ): { kernel: tf.Variable; bias?: tf.Variable } {
    const layer = this.layers.length;
    const kernel = owned(() => initKernel(this.initializer, shape, this.rng), true, `${name}/kernel`);
    this.params.push({ name: `${name}/kernel`, variable: kernel, role: 'kernel', layer });
    this.kernels.push(kernel);
    const units = shape[shape.length - 1];
    let bias: tf.Variable | undefined;
    if (this.useBias) {
      bias = owned(() => tf.zeros([units]), true, `${name}/bias`);
      this.params.push({ name: `${name}/bias`, variable: bias, role: 'bias', layer });
    }
    const size = shape.reduce((a, b) => a * b, 1);
    this.layers.push({ name, kind, shape, params: size + (bias ? units : 0), configPath });
    return { kernel, bias };
  }

  addBatchNorm(name: string, channels: number): BatchNorm {
    const gamma = owned(() => tf.ones([channels]), true, `${name}/gamma`);
    const beta = owned(() => tf.zeros([channels]), true, `${name}/beta`);
    const movingMean = owned(() => tf.zeros([channels]), false, `${name}/moving_mean`);
    const movingVar = owned(() => tf.ones([channels]), false, `${name}/moving_variance`);
    this.params.push({ name: `${name}/gamma`, variable: gamma, role: 'gamma', layer: -1 });
    this.params.push({ name: `${name}/beta`, variable: beta, role: 'beta', layer: -1 });
    this.state.push(movingMean, movingVar);
    return new BatchNorm(gamma, beta, movingMean, movingVar);
  }
}

/** Fan-in and fan-out as Keras computes them (receptive field times channels for convs). */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: receptive * shape[shape.length - 2], fanOut: receptive * shape[shape.length - 1] };
}

/** Initial kernel values, drawn from the seeded generator so that every backend starts alike. */
export function initKernel(kind: Initializer, shape: number[], rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const { fanIn, fanOut } = fans(shape);
  const values = new Float32Array(n);
  if (kind === 'he_normal') {
    // Keras: truncated normal (re-drawn beyond 2 std) with std sqrt(2 / fanIn) / 0.8796...
    const std = Math.sqrt(2 / fanIn) / 0.87962566103423978;
    for (let i = 0; i < n; i++) {
      let z = rng.normal();
      while (Math.abs(z) > 2) z = rng.normal();
      values[i] = z * std;
    }
  } else {
    const limit = kind === 'he_uniform' ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
    for (let i = 0; i < n; i++) values[i] = rng.uniform(-limit, limit);
  }
  return tf.tensor(values, shape);
}

export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'linear':
      return x;
  }
}

/** The fused ops take relu and linear directly; other activations are applied after. */
function fusedActivation(activation: Activation): 'relu' | 'linear' {
  return activation === 'relu' ? 'relu' : 'linear';
}

export function dense(
  x: tf.Tensor2D,
  p: { kernel: tf.Variable; bias?: tf.Variable },
  activation: Activation,
): tf.Tensor2D {
  const y = tf.fused.matMul({
    a: x,
    b: p.kernel as tf.Tensor2D,
    bias: p.bias,
    activation: fusedActivation(activation),
  }) as tf.Tensor2D;
  return activation === 'relu' || activation === 'linear' ? y : (activate(y, activation) as tf.Tensor2D);
}

export function conv2d(
  x: tf.Tensor4D,
  p: { kernel: tf.Variable; bias?: tf.Variable },
  strides: number,
  activation: 'relu' | 'linear',
): tf.Tensor4D {
  return tf.fused.conv2d({ x, filter: p.kernel as tf.Tensor4D, strides, pad: 'same', bias: p.bias, activation });
}

/** Batch normalization over the batch and spatial axes, with Keras's momentum 0.99. */
export class BatchNorm {
  static readonly momentum = 0.99;
  static readonly epsilon = 1e-3;

  constructor(
    readonly gamma: tf.Variable,
    readonly beta: tf.Variable,
    readonly movingMean: tf.Variable,
    readonly movingVar: tf.Variable,
  ) {}

  apply<T extends tf.Tensor>(x: T, training: boolean): T {
    if (!training) {
      return tf.batchNorm(x, this.movingMean, this.movingVar, this.beta, this.gamma, BatchNorm.epsilon) as T;
    }
    const axes = x.rank === 4 ? [0, 1, 2] : [0];
    const { mean, variance } = tf.moments(x, axes);
    // Moving statistics are state: they are not used in the training forward pass, so no
    // gradient flows through these assignments.
    const m = BatchNorm.momentum;
    this.movingMean.assign(tf.add(tf.mul(this.movingMean, m), tf.mul(mean, 1 - m)));
    this.movingVar.assign(tf.add(tf.mul(this.movingVar, m), tf.mul(variance, 1 - m)));
    return tf.batchNorm(x, mean, variance, this.beta, this.gamma, BatchNorm.epsilon) as T;
  }
}

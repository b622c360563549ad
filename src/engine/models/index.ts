// Models built from the config: MLPs, VGG-style CNNs and ResNet v1 (6n+2), with their kernel
// layers named and listed in forward order. Names agree with kernelLayerNames() in
// config/validate.ts, which the validator uses before any model exists.
import * as tf from '@tensorflow/tfjs-core';
import type { MlpSpec, ModelSpec, ResnetSpec, VggSpec } from '../config/types';
import { Rng } from '../rng';
import { type BatchNorm, conv2d, dense, type KernelLayerInfo, type Param, ParamRegistry } from './layers';

export type { KernelLayerInfo, Param } from './layers';

export interface Model {
  /** Kernel layers in forward order. */
  layers: KernelLayerInfo[];
  /** Their kernels, same order. */
  kernels: tf.Variable[];
  /** Every trainable parameter. */
  params: Param[];
  /** Logits [batch, classes] for a batch of inputs [batch, ...inputShape]. */
  forward(x: tf.Tensor, training: boolean): tf.Tensor2D;
  dispose(): void;
}

export function buildModel(spec: ModelSpec, inputShape: number[], classes: number, seed: number): Model {
  const reg = new ParamRegistry(new Rng(seed), spec.kernelInitializer, spec.useBias);
  let forward: Model['forward'];
  switch (spec.type) {
    case 'mlp':
      forward = buildMlp(spec, reg, inputShape, classes);
      break;
    case 'vgg':
      forward = buildVgg(spec, reg, inputShape, classes);
      break;
    case 'resnet':
      forward = buildResnet(spec, reg, inputShape, classes);
      break;
  }
  return {
    layers: reg.layers,
    kernels: reg.kernels,
    params: reg.params,
    forward,
    dispose() {
      for (const p of reg.params) p.variable.dispose();
      for (const v of reg.state) v.dispose();
    },
  };
}

function buildMlp(spec: MlpSpec, reg: ParamRegistry, inputShape: number[], classes: number): Model['forward'] {
  const inputs = inputShape.reduce((a, b) => a * b, 1);
  const widths = [inputs, ...spec.hidden];
  const hidden = spec.hidden.map((w, i) =>
    reg.addKernel(`dense${i + 1}`, 'dense', [widths[i], w], ['model', 'hidden', i]),
  );
  const out = reg.addKernel('output', 'dense', [widths[widths.length - 1], classes], ['model']);
  return (x) => {
    let h = tf.reshape(x, [x.shape[0], inputs]) as tf.Tensor2D;
    for (const layer of hidden) h = dense(h, layer, spec.activation);
    return dense(h, out, 'linear');
  };
}

function convsPerStage(spec: VggSpec): number[] {
  const c = spec.convsPerStage;
  return Array.isArray(c) ? c : spec.filters.map(() => c);
}

function buildVgg(spec: VggSpec, reg: ParamRegistry, inputShape: number[], classes: number): Model['forward'] {
  if (inputShape.length !== 3) throw new Error(`a VGG model needs image inputs [h, w, c], got [${inputShape}]`);
  const k = spec.kernelSize;
  const counts = convsPerStage(spec);
  let channels = inputShape[2];
  const stages = spec.filters.map((filters, s) =>
    Array.from({ length: counts[s] }, (_, i) => {
      const conv = reg.addKernel(`conv${s + 1}_${i + 1}`, 'conv2d', [k, k, channels, filters], ['model', 'filters', s]);
      channels = filters;
      const bn = spec.batchNorm ? reg.addBatchNorm(`conv${s + 1}_${i + 1}_bn`, filters) : undefined;
      return { conv, bn };
    }),
  );
  let width = channels;
  const fcs = spec.dense.map((units, i) => {
    const layer = reg.addKernel(`fc${i + 1}`, 'dense', [width, units], ['model', 'dense', i]);
    width = units;
    return layer;
  });
  const out = reg.addKernel('output', 'dense', [width, classes], ['model']);
  return (x, training) => {
    let h = x as tf.Tensor4D;
    stages.forEach((stage, s) => {
      for (const { conv, bn } of stage) h = convBnRelu(h, conv, bn, 1, training);
      // Max pooling between stages (not after the last: global average pooling follows).
      if (s < stages.length - 1 && h.shape[1] >= 2 && h.shape[2] >= 2) h = tf.maxPool(h, 2, 2, 'valid');
    });
    let f = tf.mean(h, [1, 2]) as tf.Tensor2D;
    for (const fc of fcs) f = dense(f, fc, 'relu');
    return dense(f, out, 'linear');
  };
}

function convBnRelu(
  x: tf.Tensor4D,
  conv: { kernel: tf.Variable; bias?: tf.Variable },
  bn: BatchNorm | undefined,
  strides: number,
  training: boolean,
  relu = true,
): tf.Tensor4D {
  if (!bn) return conv2d(x, conv, strides, relu ? 'relu' : 'linear');
  const y = bn.apply(conv2d(x, conv, strides, 'linear'), training);
  return relu ? tf.relu(y) : y;
}

function buildResnet(spec: ResnetSpec, reg: ParamRegistry, inputShape: number[], classes: number): Model['forward'] {
  if (inputShape.length !== 3) throw new Error(`a ResNet needs image inputs [h, w, c], got [${inputShape}]`);
  if ((spec.depth - 2) % 6 !== 0 || spec.depth < 8) throw new Error(`ResNet depth must be 6n+2, got ${spec.depth}`);
  const n = (spec.depth - 2) / 6;
  const path = ['model', 'depth'];
  const bn = (name: string, c: number) => (spec.batchNorm ? reg.addBatchNorm(name, c) : undefined);
  const stem = {
    conv: reg.addKernel('conv1', 'conv2d', [3, 3, inputShape[2], spec.filters[0]], path),
    bn: bn('conv1_bn', spec.filters[0]),
  };
  let channels = spec.filters[0];
  const blocks: ResBlock[] = [];
  spec.filters.forEach((filters, s) => {
    for (let b = 0; b < n; b++) {
      const name = `s${s + 1}b${b + 1}`;
      const strides = s > 0 && b === 0 ? 2 : 1;
      const conv1 = reg.addKernel(`${name}_conv1`, 'conv2d', [3, 3, channels, filters], path);
      const bn1 = bn(`${name}_bn1`, filters);
      const conv2 = reg.addKernel(`${name}_conv2`, 'conv2d', [3, 3, filters, filters], path);
      const bn2 = bn(`${name}_bn2`, filters);
      const shortcut =
        strides !== 1 || channels !== filters
          ? {
              conv: reg.addKernel(`${name}_shortcut`, 'conv2d', [1, 1, channels, filters], path),
              bn: bn(`${name}_shortcut_bn`, filters),
            }
          : undefined;
      blocks.push({ strides, conv1, bn1, conv2, bn2, shortcut });
      channels = filters;
    }
  });
  const out = reg.addKernel('output', 'dense', [channels, classes], ['model']);
  return (x, training) => {
    let h = convBnRelu(x as tf.Tensor4D, stem.conv, stem.bn, 1, training);
    for (const blk of blocks) {
      const y = convBnRelu(
        convBnRelu(h, blk.conv1, blk.bn1, blk.strides, training),
        blk.conv2,
        blk.bn2,
        1,
        training,
        false,
      );
      const skip = blk.shortcut ? convBnRelu(h, blk.shortcut.conv, blk.shortcut.bn, blk.strides, training, false) : h;
      h = tf.relu(tf.add(y, skip)) as tf.Tensor4D;
    }
    return dense(tf.mean(h, [1, 2]) as tf.Tensor2D, out, 'linear');
  };
}

interface ResBlock {
  strides: number;
  conv1: { kernel: tf.Variable; bias?: tf.Variable };
  bn1?: BatchNorm;
  conv2: { kernel: tf.Variable; bias?: tf.Variable };
  bn2?: BatchNorm;
  shortcut?: { conv: { kernel: tf.Variable; bias?: tf.Variable }; bn?: BatchNorm };
}

// Models built from the config: MLPs, VGG-style CNNs and ResNet v1 (6n+2), with their kernel
// layers listed in forward order. Their names and config paths come from the layouts of
// config/layers.ts, the list the validator uses before any model exists.
import * as tf from '@tensorflow/tfjs-core';
import { type KernelLayer, mlpLayout, resnetLayout, vggLayout } from '../config/layers';
import type { MlpSpec, ModelSpec, ResnetSpec, VggSpec } from '../config/types';
import { Rng } from '../rng';
import {
  type BatchNorm,
  conv2d,
  dense,
  type KernelKind,
  type KernelLayerInfo,
  type Param,
  ParamRegistry,
} from './layers';

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

/** Adds the kernel (and bias) of a layer of the config's layout. */
function addKernel(reg: ParamRegistry, layer: KernelLayer, kind: KernelKind, shape: number[]) {
  return reg.addKernel(layer.name, kind, shape, layer.source);
}

function buildMlp(spec: MlpSpec, reg: ParamRegistry, inputShape: number[], classes: number): Model['forward'] {
  const layout = mlpLayout(spec);
  const inputs = inputShape.reduce((a, b) => a * b, 1);
  const widths = [inputs, ...spec.hidden];
  const hidden = layout.hidden.map((layer, i) => addKernel(reg, layer, 'dense', [widths[i], widths[i + 1]]));
  const out = addKernel(reg, layout.output, 'dense', [widths[widths.length - 1], classes]);
  return (x) => {
    let h = tf.reshape(x, [x.shape[0], inputs]) as tf.Tensor2D;
    for (const layer of hidden) h = dense(h, layer, spec.activation);
    return dense(h, out, 'linear');
  };
}

function buildVgg(spec: VggSpec, reg: ParamRegistry, inputShape: number[], classes: number): Model['forward'] {
  if (inputShape.length !== 3) throw new Error(`a VGG model needs image inputs [h, w, c], got [${inputShape}]`);
  const layout = vggLayout(spec);
  const k = spec.kernelSize;
  let channels = inputShape[2];
  const stages = layout.stages.map((convs, s) =>
    convs.map((layer) => {
      const filters = spec.filters[s];
      const conv = addKernel(reg, layer, 'conv2d', [k, k, channels, filters]);
      channels = filters;
      const bn = spec.batchNorm ? reg.addBatchNorm(`${layer.name}_bn`, filters) : undefined;
      return { conv, bn };
    }),
  );
  let width = channels;
  const fcs = layout.dense.map((layer, i) => {
    const units = spec.dense[i];
    const fc = addKernel(reg, layer, 'dense', [width, units]);
    width = units;
    return fc;
  });
  const out = addKernel(reg, layout.output, 'dense', [width, classes]);
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
  const layout = resnetLayout(spec);
  // Every batch norm is named after its convolution (`<conv>_bn`), as in the PyTorch engine.
  const bn = (name: string, c: number) => (spec.batchNorm ? reg.addBatchNorm(name, c) : undefined);
  const stem = {
    conv: addKernel(reg, layout.stem, 'conv2d', [3, 3, inputShape[2], spec.filters[0]]),
    bn: bn(`${layout.stem.name}_bn`, spec.filters[0]),
  };
  let channels = spec.filters[0];
  const blocks: ResBlock[] = [];
  layout.stages.forEach((stage, s) => {
    const filters = spec.filters[s];
    stage.forEach((block, b) => {
      // The first block of stages 2 and 3 halves the resolution; its shortcut projects.
      const strides = s > 0 && b === 0 ? 2 : 1;
      const conv1 = addKernel(reg, block.conv1, 'conv2d', [3, 3, channels, filters]);
      const bn1 = bn(`${block.conv1.name}_bn`, filters);
      const conv2 = addKernel(reg, block.conv2, 'conv2d', [3, 3, filters, filters]);
      const bn2 = bn(`${block.conv2.name}_bn`, filters);
      const shortcut = block.shortcut && {
        conv: addKernel(reg, block.shortcut, 'conv2d', [1, 1, channels, filters]),
        bn: bn(`${block.shortcut.name}_bn`, filters),
      };
      blocks.push({ strides, conv1, bn1, conv2, bn2, shortcut });
      channels = filters;
    });
  });
  const out = addKernel(reg, layout.output, 'dense', [channels, classes]);
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

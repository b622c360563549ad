// What a config asks of memory before anything is built: the model's parameters and a synthetic
// dataset's values, estimated from the config alone (no layer listed, no tensor made) and held
// to stated limits, so that a small file cannot make `check`, the editor or a runner allocate
// without bound. The schema's maxima bound each number; these bound their products.
import { withModelDefaults } from './defaults';
import { isObject, type Json } from './json';
import type { ModelSpec } from './types';

/** At most this many parameters (about 4 GB of float32 weights, before the optimizer's state). */
export const MAX_PARAMETERS = 1e9;
/** A synthetic dataset holds at most this many values ((samples + testSamples) x features; about 4 GB as float32). */
export const MAX_DATA_VALUES = 1e9;

/** The shape of one input sample, or undefined when the dataset does not say. */
export function inputShapeOf(dataset: Json): number[] | undefined {
  if (dataset.name === 'mnist') return [28, 28, 1];
  if (dataset.name === 'cifar10') return [32, 32, 3];
  const shape = dataset.inputShape;
  return Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 1) ? (shape as number[]) : undefined;
}

export function classesOf(dataset: Json): number | undefined {
  if (dataset.name === 'mnist' || dataset.name === 'cifar10') return 10;
  return Number.isInteger(dataset.classes) ? (dataset.classes as number) : undefined;
}

const product = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/** Dense layers from `widths[0]` through each next width: weights, and biases when `bias`. */
function denseChain(widths: number[], bias: boolean): number {
  let n = 0;
  for (let i = 0; i + 1 < widths.length; i++) n += widths[i] * widths[i + 1] + (bias ? widths[i + 1] : 0);
  return n;
}

/** The model's trainable parameters (kernels, biases, batch-norm scales and shifts), as the engines build it. */
export function estimateParameters(model: ModelSpec, inputShape: number[], classes: number): number {
  const bias = model.useBias ? 1 : 0;
  switch (model.type) {
    case 'mlp':
      return denseChain([product(inputShape), ...model.hidden, classes], model.useBias);
    case 'vgg': {
      const k = model.kernelSize;
      const perFilter = bias + (model.batchNorm ? 2 : 0);
      let cin = inputShape[2] ?? 1;
      let n = 0;
      model.filters.forEach((f, s) => {
        const convs = typeof model.convsPerStage === 'number' ? model.convsPerStage : (model.convsPerStage[s] ?? 0);
        for (let i = 0; i < convs; i++) {
          n += k * k * cin * f + perFilter * f;
          cin = f;
        }
      });
      return n + denseChain([cin, ...model.dense, classes], model.useBias);
    }
    case 'resnet': {
      const blocks = Math.max(0, Math.floor((model.depth - 2) / 6));
      const perFilter = bias + (model.batchNorm ? 2 : 0);
      const [f0, f1, f2] = model.filters;
      let n = 9 * (inputShape[2] ?? 1) * f0 + perFilter * f0;
      let cin = f0;
      [f0, f1, f2].forEach((f, stage) => {
        for (let b = 0; b < blocks; b++) {
          n += 9 * cin * f + 9 * f * f + 2 * perFilter * f;
          // The 1x1 projection of the first block of stages 2 and 3 (layers.ts resnetLayout).
          if (stage > 0 && b === 0) n += cin * f + perFilter * f;
          cin = f;
        }
      });
      return n + denseChain([f2, classes], model.useBias);
    }
  }
}

export interface SizeProblem {
  path: (string | number)[];
  message: string;
}

const amount = (n: number) => (n >= 1e6 ? n.toExponential(2).replace('e+', 'e') : n.toLocaleString('en-US'));
const gigabytes = (values: number) => `${((4 * values) / 2 ** 30).toFixed(1)} GB as float32`;

/** The estimates over the limits, for a model and dataset without schema errors. */
export function sizeProblems(model: Json, dataset: Json): SizeProblem[] {
  const problems: SizeProblem[] = [];
  const shape = inputShapeOf(dataset);
  const classes = classesOf(dataset);
  if (shape && classes !== undefined && isObject(model)) {
    const params = estimateParameters(withModelDefaults(model as Pick<ModelSpec, 'type'>), shape, classes);
    if (params > MAX_PARAMETERS)
      problems.push({
        path: ['model'],
        message: `the model would have about ${amount(params)} parameters (${gigabytes(params)}, before the optimizer's state); at most ${amount(MAX_PARAMETERS)}: make it narrower or shallower`,
      });
  }
  if (
    dataset.name === 'synthetic' &&
    shape &&
    Number.isInteger(dataset.samples) &&
    Number.isInteger(dataset.testSamples)
  ) {
    const values = ((dataset.samples as number) + (dataset.testSamples as number)) * product(shape);
    if (values > MAX_DATA_VALUES)
      problems.push({
        path: ['dataset', 'samples'],
        message: `the synthetic dataset would hold ${amount(values)} values ((samples + testSamples) x ${amount(product(shape))} per sample, ${gigabytes(values)}); at most ${amount(MAX_DATA_VALUES)}: fewer samples or a smaller inputShape`,
      });
  }
  return problems;
}

// Training-step time of a small MNIST CNN on tfjs's wasm backend with the gradient kernels of
// src/engine/backend/wasm-kernels.ts, against wasm's own Conv2DBackpropInput and MaxPoolGrad kernels.
//
//   npm run compile && node out/bench/conv-kernels.js [--steps 30] [--rounds 3] [--batch 64] [--profile]
//
// Model: 28x28x1 -> conv 32 3x3 relu -> maxpool 2 -> conv 64 3x3 relu -> maxpool 2 -> dense 10,
// softmax cross-entropy, plain SGD, loss read back every step; random inputs (throughput only).
// Variants alternate in rounds; each figure is the median step time over all its steps.

import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/engine/backend/select';
import { registerGradients } from '../src/engine/gradients';
import { Rng } from '../src/engine/rng';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../src/engine/backend/wasm-kernels';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const STEPS = flag('steps', 30);
const ROUNDS = flag('rounds', 3);
const BATCH = flag('batch', 64);
const WARMUP = 3;
const PROFILE = process.argv.includes('--profile');

class MnistCnn {
  readonly vars: tf.Variable[];

  constructor(rng: Rng) {
    const he = (shape: number[], fanIn: number) => {
      const limit = Math.sqrt(6 / fanIn);
      const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-limit, limit));
      return tf.tidy(() => tf.variable(tf.tensor(values, shape)));
    };
    const zeros = (n: number) => tf.tidy(() => tf.variable(tf.zeros([n])));
    this.vars = [
      he([3, 3, 1, 32], 9),
      zeros(32),
      he([3, 3, 32, 64], 9 * 32),
      zeros(64),
      he([1600, 10], 1600),
      zeros(10),
    ];
  }

  loss(x: tf.Tensor4D, labels: tf.Tensor2D): tf.Scalar {
    const [c1, b1, c2, b2, d, db] = this.vars;
    let h = tf.fused.conv2d({ x, filter: c1 as tf.Tensor4D, strides: 1, pad: 'valid', bias: b1, activation: 'relu' });
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.fused.conv2d({ x: h, filter: c2 as tf.Tensor4D, strides: 1, pad: 'valid', bias: b2, activation: 'relu' });
    h = tf.maxPool(h, 2, 2, 'valid');
    const logits = tf.fused.matMul({ a: tf.reshape(h, [x.shape[0], 1600]), b: d as tf.Tensor2D, bias: db });
    return tf.mean(tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  }

  step(x: tf.Tensor4D, labels: tf.Tensor2D, lr: number): number {
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => this.loss(x, labels), this.vars);
      for (const v of this.vars) v.assign(tf.sub(v, tf.mul(grads[v.name], lr)));
      return value.dataSync()[0];
    });
  }
}

interface Variant {
  name: string;
  setup: () => void;
  times: number[];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function profileStep(model: MnistCnn, x: tf.Tensor4D, labels: tf.Tensor2D): Promise<string> {
  const info = await tf.profile(() => {
    model.step(x, labels, 0.01);
  });
  const byKernel = new Map<string, number>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + ms);
  }
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  return [...byKernel.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(
      ([name, ms]) =>
        `    ${name.padEnd(22)} ${ms.toFixed(1).padStart(7)} ms  ${((100 * ms) / total).toFixed(0).padStart(3)}%`,
    )
    .join('\n');
}

async function main(): Promise<void> {
  registerGradients();
  const backend = await selectBackend('wasm');
  const rng = new Rng(1);
  const x = tf.tensor4d(
    Float32Array.from({ length: BATCH * 784 }, () => rng.next()),
    [BATCH, 28, 28, 1],
  );
  const labels = tf.tidy(() =>
    tf.cast(
      tf.oneHot(
        tf.tensor1d(
          Array.from({ length: BATCH }, () => rng.int(10)),
          'int32',
        ),
        10,
      ),
      'float32',
    ),
  ) as tf.Tensor2D;
  const model = new MnistCnn(rng);

  const variants: Variant[] = [
    { name: 'filter + input + MaxPoolGrad kernels (default)', setup: () => registerWasmTrainingKernels(), times: [] },
    {
      name: "filter + input kernels, wasm's MaxPoolGrad",
      setup: () => registerWasmTrainingKernels({ maxPoolGradient: false }),
      times: [],
    },
    {
      name: "filter kernel only, wasm's input gradient and MaxPoolGrad",
      setup: () => registerWasmTrainingKernels({ inputGradient: false, maxPoolGradient: false }),
      times: [],
    },
  ];
  console.log(
    `${backend.description}; batch ${BATCH}; ${ROUNDS} rounds x ${STEPS} steps per variant; ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`,
  );
  const tensorsBefore = tf.memory().numTensors;
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      unregisterWasmTrainingKernels();
      v.setup();
      for (let i = 0; i < WARMUP; i++) model.step(x, labels, 0.01);
      for (let i = 0; i < STEPS; i++) {
        const t0 = performance.now();
        model.step(x, labels, 0.01);
        v.times.push(performance.now() - t0);
      }
    }
  }
  for (const v of variants) {
    const ms = median(v.times);
    console.log(`${v.name}: ${ms.toFixed(1)} ms/step, ${((BATCH * 1000) / ms).toFixed(0)} samples/s`);
    if (PROFILE) {
      unregisterWasmTrainingKernels();
      v.setup();
      console.log(`  kernel times of one step:\n${await profileStep(model, x, labels)}`);
    }
  }
  console.log(
    `tensors: ${tensorsBefore} before, ${tf.memory().numTensors} after; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
  );
  unregisterWasmTrainingKernels();
  registerWasmTrainingKernels();
  tf.dispose([x, labels, ...model.vars]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

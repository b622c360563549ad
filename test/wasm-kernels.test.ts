// The wasm gradient kernels (convolution filter and input, max pooling) agree with the cpu
// backend, free what they allocate, and let a small CNN train on wasm.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerGradients } from '../src/engine/gradients';
import { Rng } from '../src/engine/rng';
import {
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  wasmKernelStats,
} from '../src/engine/backend/wasm-kernels';

type Pad = 'same' | 'valid';

before(async () => {
  registerGradients();
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  assert.equal(tf.getBackend(), 'wasm');
});

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

/** |actual - expected| within rtol of the largest |expected| (plus a hair for all-zero results). */
function assertClose(actual: Float32Array, expected: Float32Array, what: string, rtol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  assert.ok(worst <= rtol * scale + 1e-7, `${what}: max |diff| ${worst} vs max |value| ${scale}`);
}

// The public ops for the two kernels are not exported by tfjs-core: call the kernels directly.
function conv2DBackpropInput(
  inputShape: number[],
  dy: tf.Tensor,
  filter: tf.Tensor,
  strides: number,
  pad: Pad,
  dataFormat = 'NHWC',
): tf.Tensor {
  return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { inputShape, strides, pad, dataFormat });
}

function conv2DBackpropFilter(
  x: tf.Tensor,
  dy: tf.Tensor,
  filterShape: number[],
  strides: number,
  pad: Pad,
): tf.Tensor {
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { filterShape, strides, pad, dataFormat: 'NHWC' });
}

interface ConvCase {
  x: Float32Array;
  xShape: [number, number, number, number];
  filter: Float32Array;
  filterShape: [number, number, number, number];
  stride: number;
  pad: Pad;
  /** Random weights of the loss sum(conv(x) * r). */
  r: Float32Array;
  bias?: Float32Array;
}

/** dL/dx and dL/dfilter of L = sum(conv2d(x, filter) * r), computed on `backend`. */
async function convGrads(backend: string, c: ConvCase, fused: boolean): Promise<[Float32Array, Float32Array]> {
  await tf.setBackend(backend);
  assert.equal(tf.getBackend(), backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(c.x, c.xShape);
    const filter = tf.tensor4d(c.filter, c.filterShape);
    const loss = (xv: tf.Tensor, fv: tf.Tensor) => {
      const x4 = xv as tf.Tensor4D;
      const f4 = fv as tf.Tensor4D;
      const y = fused
        ? tf.fused.conv2d({
            x: x4,
            filter: f4,
            strides: c.stride,
            pad: c.pad,
            bias: tf.tensor1d(c.bias!),
            activation: 'relu',
          })
        : tf.conv2d(x4, f4, c.stride, c.pad);
      return tf.sum(tf.mul(y, tf.tensor(c.r.subarray(0, y.size), y.shape)));
    };
    const [dx, df] = tf.grads(loss)([x, filter]);
    return [dx.dataSync() as Float32Array, df.dataSync() as Float32Array] as [Float32Array, Float32Array];
  });
}

function makeCase(
  rng: Rng,
  n: number,
  h: number,
  w: number,
  cin: number,
  cout: number,
  k: number,
  stride: number,
  pad: Pad,
): ConvCase {
  const ho = pad === 'same' ? Math.ceil(h / stride) : Math.ceil((h - k + 1) / stride);
  const wo = pad === 'same' ? Math.ceil(w / stride) : Math.ceil((w - k + 1) / stride);
  return {
    x: randomArray(rng, n * h * w * cin),
    xShape: [n, h, w, cin],
    filter: randomArray(rng, k * k * cin * cout),
    filterShape: [k, k, cin, cout],
    stride,
    pad,
    r: randomArray(rng, n * ho * wo * cout),
    bias: randomArray(rng, cout),
  };
}

/** The grid: every kernel size x stride x padding, over sizes 5..9 (odd ones with stride 2), batch 2-4, channels 1-8. */
function* grid(seed: number): Generator<{ name: string; c: ConvCase }> {
  const rng = new Rng(seed);
  const channels = [1, 2, 3, 5, 8];
  let i = 0;
  for (const k of [1, 3]) {
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as Pad[]) {
        for (let h = 5; h <= 9; h++) {
          const w = 14 - h; // 9..5: non-square, mixes odd and even sizes
          const n = 2 + (i % 3);
          const cin = channels[i % channels.length];
          const cout = channels[(i + 2) % channels.length];
          i++;
          yield {
            name: `x[${n},${h},${w},${cin}] k${k} s${stride} ${pad} cout ${cout}`,
            c: makeCase(rng, n, h, w, cin, cout, k, stride, pad),
          };
        }
      }
    }
  }
}

for (const fused of [false, true]) {
  test(`wasm conv2d gradients equal cpu's${fused ? ' (fused conv2d with bias and relu)' : ''}`, async () => {
    const before = wasmKernelStats();
    let cases = 0;
    for (const { name, c } of grid(fused ? 2 : 1)) {
      const [dxCpu, dfCpu] = await convGrads('cpu', c, fused);
      const [dxWasm, dfWasm] = await convGrads('wasm', c, fused);
      assertClose(dxWasm, dxCpu, `dx ${name}`);
      assertClose(dfWasm, dfCpu, `dfilter ${name}`);
      cases++;
    }
    const after = wasmKernelStats();
    // Every case went through the Conv2D-based kernels, none through wasm's original loop.
    assert.equal(after.filter - before.filter, cases);
    assert.equal(after.input - before.input, cases);
    assert.equal(after.inputFallback, before.inputFallback);
  });
}

test('the ResNet shapes: 3x3 and 1x1 stride-2 same convs on even and odd sizes', async () => {
  const rng = new Rng(3);
  for (const [h, cin, cout, k] of [
    [8, 4, 8, 3],
    [8, 4, 8, 1],
    [7, 3, 6, 1],
    [9, 8, 16, 3],
  ]) {
    const c = makeCase(rng, 3, h, h, cin, cout, k, 2, 'same');
    for (const fused of [false, true]) {
      const [dxCpu, dfCpu] = await convGrads('cpu', c, fused);
      const [dxWasm, dfWasm] = await convGrads('wasm', c, fused);
      assertClose(dxWasm, dxCpu, `dx h${h} k${k}`);
      assertClose(dfWasm, dfCpu, `dfilter h${h} k${k}`);
    }
  }
});

test("unsupported layouts: NCHW input gradients fall back to wasm's own kernel", async () => {
  const rng = new Rng(4);
  const dy = randomArray(rng, 2 * 3 * 4 * 4);
  const filter = randomArray(rng, 3 * 3 * 2 * 3);
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(
      () =>
        conv2DBackpropInput(
          [2, 2, 6, 6],
          tf.tensor4d(dy, [2, 3, 4, 4]),
          tf.tensor4d(filter, [3, 3, 2, 3]),
          1,
          'valid',
          'NCHW',
        ).dataSync() as Float32Array,
    );
  };
  const before = wasmKernelStats().inputFallback;
  assertClose(await run('wasm'), await run('cpu'), 'NCHW dx');
  assert.equal(wasmKernelStats().inputFallback, before + 1);
});

test('the kernels free every intermediate buffer', async () => {
  await tf.setBackend('wasm');
  const rng = new Rng(5);
  const x = tf.tensor4d(randomArray(rng, 4 * 9 * 9 * 3), [4, 9, 9, 3]);
  const filter = tf.tensor4d(randomArray(rng, 3 * 3 * 3 * 5), [3, 3, 3, 5]);
  const dy = tf.tensor4d(randomArray(rng, 4 * 5 * 5 * 5), [4, 5, 5, 5]);
  const pooled = tf.maxPool(x, 2, 2, 'same');
  const backend = tf.engine().backend;
  const callAll = () => {
    tf.dispose(
      tf
        .engine()
        .runKernel(
          tf.MaxPoolGrad,
          { dy: pooled, input: x, output: pooled },
          { filterSize: 2, strides: 2, pad: 'same' },
        ),
    );
    for (const pad of ['same', 'valid'] as Pad[]) {
      const dyPad = pad === 'same' ? dy : tf.slice(dy, [0, 0, 0, 0], [4, 4, 4, 5]);
      conv2DBackpropFilter(x, dyPad, [3, 3, 3, 5], 2, pad).dispose();
      conv2DBackpropInput([4, 9, 9, 3], dyPad, filter, 2, pad).dispose();
      if (dyPad !== dy) dyPad.dispose();
    }
  };
  callAll(); // warm-up
  const tensors = tf.memory().numTensors;
  const buffers = backend.numDataIds();
  for (let i = 0; i < 50; i++) callAll();
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(backend.numDataIds(), buffers);
  tf.dispose([x, filter, dy, pooled]);
});

test('registering is idempotent and can be undone', async () => {
  registerWasmTrainingKernels();
  registerWasmTrainingKernels();
  const ours = tf.getKernel(tf.Conv2DBackpropInput, 'wasm').kernelFunc;
  const ourPool = tf.getKernel(tf.MaxPoolGrad, 'wasm').kernelFunc;
  unregisterWasmTrainingKernels();
  assert.equal(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm'), undefined);
  assert.notEqual(tf.getKernel(tf.Conv2DBackpropInput, 'wasm').kernelFunc, ours);
  assert.notEqual(tf.getKernel(tf.MaxPoolGrad, 'wasm').kernelFunc, ourPool);
  registerWasmTrainingKernels();
  assert.equal(tf.getKernel(tf.Conv2DBackpropInput, 'wasm').kernelFunc, ours);
  assert.equal(tf.getKernel(tf.MaxPoolGrad, 'wasm').kernelFunc, ourPool);
  assert.notEqual(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm'), undefined);
  // Still computing right after the round trip (the original kernel's setup is kept).
  await tf.setBackend('wasm');
  const c = makeCase(new Rng(6), 2, 6, 6, 2, 3, 3, 1, 'same');
  const [dxCpu] = await convGrads('cpu', c, false);
  const [dxWasm] = await convGrads('wasm', c, false);
  assertClose(dxWasm, dxCpu, 'dx after re-registering');
});

/** dL/dx of L = sum(maxPool(x) * r) on `backend`. */
async function maxPoolGrad(
  backend: string,
  x: Float32Array,
  shape: number[],
  size: number,
  stride: number,
  pad: Pad,
  r: Float32Array,
): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const loss = (xv: tf.Tensor) => {
      const y = tf.maxPool(xv as tf.Tensor4D, size, stride, pad);
      return tf.sum(tf.mul(y, tf.tensor(r.subarray(0, y.size), y.shape)));
    };
    return tf.grad(loss)(tf.tensor(x, shape)).dataSync() as Float32Array;
  });
}

test("wasm max-pool gradients equal cpu's, ties included", async () => {
  const rng = new Rng(8);
  const before = wasmKernelStats();
  let cases = 0;
  for (const [size, stride, pad] of [
    [2, 2, 'valid'],
    [2, 2, 'same'],
    [3, 2, 'same'],
    [3, 2, 'valid'],
    [3, 1, 'same'],
    [2, 1, 'valid'],
  ] as [number, number, Pad][]) {
    for (const [h, w, ch] of [
      [6, 6, 3],
      [7, 5, 8],
      [9, 9, 1],
    ]) {
      const shape = [2, h, w, ch];
      const size4 = 2 * h * w * ch;
      const r = randomArray(rng, size4);
      const continuous = randomArray(rng, size4);
      // Small integers: many windows hold their maximum twice or more.
      const tied = continuous.map((v) => Math.round(v * 2));
      for (const [what, x] of [
        ['continuous', continuous],
        ['ties', tied],
      ] as const) {
        const name = `${what} x[${shape}] pool ${size} s${stride} ${pad}`;
        assertClose(
          await maxPoolGrad('wasm', x, shape, size, stride, pad, r),
          await maxPoolGrad('cpu', x, shape, size, stride, pad, r),
          name,
          1e-6,
        );
        cases++;
      }
    }
  }
  assert.equal(wasmKernelStats().maxPoolGrad - before.maxPoolGrad, cases);
});

/** conv-relu-maxpool-conv-globalavg-dense, trained with plain SGD. */
class TinyCnn {
  readonly vars: tf.Variable[];
  constructor(rng: Rng) {
    const v = (shape: number[], scale: number) =>
      tf.tidy(() =>
        tf.variable(
          tf.tensor(
            randomArray(
              rng,
              shape.reduce((a, b) => a * b, 1),
            ).map((x) => x * scale),
            shape,
          ),
        ),
      );
    this.vars = [v([3, 3, 1, 6], 0.5), v([6], 0.1), v([3, 3, 6, 8], 0.3), v([8], 0.1), v([8, 3], 0.5), v([3], 0.1)];
  }

  loss(x: tf.Tensor4D, labels: tf.Tensor2D): tf.Scalar {
    const [c1, b1, c2, b2, d, db] = this.vars;
    let h = tf.fused.conv2d({ x, filter: c1 as tf.Tensor4D, strides: 1, pad: 'same', bias: b1, activation: 'relu' });
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.fused.conv2d({ x: h, filter: c2 as tf.Tensor4D, strides: 1, pad: 'same', bias: b2, activation: 'relu' });
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(pooled, d as tf.Tensor2D), db);
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

/** 10x10 images of noise plus a bright 4x4 patch whose corner (top-left, center, bottom-right) is the class. */
function tinyData(rng: Rng, n: number): { x: tf.Tensor4D; labels: tf.Tensor2D } {
  const pixels = randomArray(rng, n * 100).map((v) => 0.3 * v);
  const classes = Array.from({ length: n }, (_, i) => i % 3);
  classes.forEach((cls, s) => {
    const corner = [0, 3, 6][cls];
    for (let i = corner; i < corner + 4; i++)
      for (let j = corner; j < corner + 4; j++) pixels[s * 100 + i * 10 + j] += 1;
  });
  return tf.tidy(() => ({
    x: tf.tensor4d(pixels, [n, 10, 10, 1]),
    labels: tf.cast(tf.oneHot(tf.tensor1d(classes, 'int32'), 3), 'float32') as tf.Tensor2D,
  }));
}

async function trainTiny(backend: string, steps: number): Promise<{ losses: number[]; leaks: number[] }> {
  await tf.setBackend(backend);
  const rng = new Rng(7);
  const { x, labels } = tinyData(rng, 12);
  const model = new TinyCnn(rng);
  const losses: number[] = [];
  const leaks: number[] = [];
  for (let i = 0; i < steps; i++) {
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    losses.push(model.step(x, labels, 1));
    leaks.push(tf.memory().numTensors - tensors + tf.engine().backend.numDataIds() - buffers);
  }
  tf.dispose([x, labels, ...model.vars]);
  return { losses, leaks };
}

test('a small CNN trains on wasm like on cpu, without leaking tensors', async () => {
  const steps = 10;
  const wasm = await trainTiny('wasm', steps);
  const cpu = await trainTiny('cpu', steps);
  assert.ok(wasm.losses[steps - 1] < wasm.losses[0] * 0.8, `loss went ${wasm.losses.join(' -> ')}`);
  assert.deepEqual(wasm.leaks, new Array(steps).fill(0));
  for (let i = 0; i < steps; i++) {
    assert.ok(
      Math.abs(wasm.losses[i] - cpu.losses[i]) < 1e-4,
      `step ${i}: wasm ${wasm.losses[i]} vs cpu ${cpu.losses[i]}`,
    );
  }
});

test("wasm matrix products with transposed operands equal cpu's, and go through the explicit transpose", async () => {
  const rng = new Rng(21);
  const cases: [number[], number[], boolean, boolean][] = [
    [[64, 30], [64, 20], true, false], // x^T dy: a dense layer's kernel gradient
    [[64, 20], [30, 20], false, true], // dy W^T: its input gradient
    [[7, 5], [9, 7], true, true],
    [[3, 6, 4], [3, 6, 5], true, false], // batched
  ];
  for (const [sa, sb, ta, tb] of cases) {
    const a = randomArray(
      rng,
      sa.reduce((x, y) => x * y, 1),
    );
    const b = randomArray(
      rng,
      sb.reduce((x, y) => x * y, 1),
    );
    const product = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb).dataSync() as Float32Array);
    };
    const before = wasmKernelStats().matMulTransposed;
    const onWasm = await product('wasm');
    assert.equal(wasmKernelStats().matMulTransposed, before + 1);
    assertClose(onWasm, await product('cpu'), `matMul ${sa} x ${sb} (${ta}, ${tb})`);
  }
});

// Layca, the four optimizers, schedules, multipliers and the rotation math, on real tfjs
// backends (cpu and wasm), against float64 references computed here.
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectBackend } from '../src/engine/backend/select';
import type { OptimizerSpec, OptimizerType } from '../src/engine/config/types';
import { createOptimizer } from '../src/engine/optim/optimizers';
import { alphaMultipliers, layerMultipliers } from '../src/engine/optim/schedule';
import { learningRateAt } from '../src/runlog/schedule';
import { Rng } from '../src/engine/rng';
import { cosineDistance, RotationMonitor, tanFromCosineDistance } from '../src/engine/rotation';

const BACKENDS = ['cpu', 'wasm'] as const;

function spec(type: OptimizerType, extra: Partial<OptimizerSpec> = {}): OptimizerSpec {
  return {
    type,
    layca: false,
    learningRate: 0.01,
    momentum: 0.9,
    nesterov: false,
    beta1: 0.9,
    beta2: 0.999,
    rho: 0.9,
    initialAccumulatorValue: 0.1,
    epsilon: 1e-7,
    weightDecay: 0,
    alpha: 0,
    ...extra,
  };
}

function randomArray(rng: Rng, n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The angle between two vectors, in float64, robust for small angles: 2 atan(|a^ - b^| / |a^ + b^|). */
function angle(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = Math.sqrt(dot(a, a));
  const nb = Math.sqrt(dot(b, b));
  let diff = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] / na;
    const y = b[i] / nb;
    diff += (x - y) ** 2;
    sum += (x + y) ** 2;
  }
  return 2 * Math.atan2(Math.sqrt(diff), Math.sqrt(sum));
}

for (const backend of BACKENDS) {
  describe(`on ${backend}`, () => {
    it('selects the backend', async () => {
      const info = await selectBackend(backend);
      assert.equal(tf.getBackend(), backend);
      assert.equal(info.name, backend);
    });

    for (const type of ['sgd', 'adam', 'rmsprop', 'adagrad'] as const) {
      it(`${type}-layca keeps every kernel's norm and turns it by atan(lr x multiplier) each step`, async () => {
        await selectBackend(backend);
        const rng = new Rng(7);
        const shapes = [
          [20, 12],
          [3, 3, 4, 6],
          [12, 10],
        ];
        const vars = shapes.map((s, i) =>
          tf.variable(
            tf.tensor(
              Float32Array.from(
                randomArray(
                  rng,
                  s.reduce((a, b) => a * b),
                  0.3,
                ),
              ),
              s,
            ),
            true,
            `w${i}_${type}_${backend}`,
          ),
        );
        const multipliers = [0.25, 1, 3];
        const lr = 0.02;
        const opt = createOptimizer(
          spec(type, { layca: true, weightDecay: 1e-3 }),
          vars.map((v, i) => ({ params: [v], lrMultiplier: multipliers[i], weightDecay: 1e-3, layca: true })),
        );
        const before = tf.memory().numTensors;
        for (let step = 0; step < 5; step++) {
          const prev = vars.map((v) => Float64Array.from(v.dataSync()));
          const grads: Record<string, tf.Tensor> = {};
          vars.forEach((v) => (grads[v.name] = tf.tensor(Float32Array.from(randomArray(rng, v.size)), v.shape)));
          opt.step(grads, lr);
          Object.values(grads).forEach((g) => g.dispose());
          vars.forEach((v, i) => {
            const now = v.dataSync();
            const n0 = Math.sqrt(dot(prev[i], prev[i]));
            const n1 = Math.sqrt(dot(now, now));
            assert.ok(Math.abs(n1 / n0 - 1) < 2e-6, `${type} step ${step} layer ${i}: norm ${n0} -> ${n1}`);
            const expected = Math.atan(lr * multipliers[i]);
            const got = angle(prev[i], now);
            assert.ok(
              Math.abs(got / expected - 1) < 2e-3,
              `${type} step ${step} layer ${i}: turned ${got} rad, expected ${expected}`,
            );
          });
        }
        // Optimizer state is allocated once; no tensor leaks per step.
        const grads: Record<string, tf.Tensor> = {};
        vars.forEach((v) => (grads[v.name] = tf.zerosLike(v)));
        const mid = tf.memory().numTensors;
        opt.step(grads, lr);
        assert.equal(tf.memory().numTensors, mid);
        Object.values(grads).forEach((g) => g.dispose());
        assert.ok(before > 0);
        opt.dispose();
        vars.forEach((v) => v.dispose());
      });
    }

    it('plain SGD with momentum matches the float64 reference (torch.optim.SGD form)', async () => {
      await selectBackend(backend);
      const rng = new Rng(3);
      const w0 = randomArray(rng, 30);
      const v = tf.variable(tf.tensor(Float32Array.from(w0), [5, 6]), true, `sgdref_${backend}`);
      const opt = createOptimizer(spec('sgd', { momentum: 0.9, nesterov: true, weightDecay: 0.01 }), [
        { params: [v], lrMultiplier: 2, weightDecay: 0.01, layca: false },
      ]);
      const w = Float64Array.from(w0);
      const buf = new Float64Array(30);
      for (let step = 0; step < 3; step++) {
        const g = randomArray(rng, 30);
        const gt = tf.tensor(Float32Array.from(g), [5, 6]);
        opt.step({ [v.name]: gt }, 0.05);
        gt.dispose();
        for (let i = 0; i < 30; i++) {
          const gi = Math.fround(g[i]) + 0.01 * w[i];
          buf[i] = 0.9 * buf[i] + gi;
          w[i] -= 0.1 * (gi + 0.9 * buf[i]);
        }
      }
      const got = v.dataSync();
      for (let i = 0; i < 30; i++) assert.ok(Math.abs(got[i] - w[i]) < 1e-5, `w[${i}] ${got[i]} vs ${w[i]}`);
      opt.dispose();
      v.dispose();
    });

    it('Adam matches the float64 reference', async () => {
      await selectBackend(backend);
      const rng = new Rng(5);
      const w0 = randomArray(rng, 12);
      const v = tf.variable(tf.tensor(Float32Array.from(w0), [3, 4]), true, `adamref_${backend}`);
      const opt = createOptimizer(spec('adam', { epsilon: 1e-8 }), [
        { params: [v], lrMultiplier: 1, weightDecay: 0, layca: false },
      ]);
      const w = Float64Array.from(w0);
      const m = new Float64Array(12);
      const s = new Float64Array(12);
      for (let t = 1; t <= 4; t++) {
        const g = randomArray(rng, 12);
        const gt = tf.tensor(Float32Array.from(g), [3, 4]);
        opt.step({ [v.name]: gt }, 0.01);
        gt.dispose();
        for (let i = 0; i < 12; i++) {
          const gi = Math.fround(g[i]);
          m[i] = 0.9 * m[i] + 0.1 * gi;
          s[i] = 0.999 * s[i] + 0.001 * gi * gi;
          w[i] -= (0.01 * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(s[i] / (1 - 0.999 ** t)) + 1e-8);
        }
      }
      const got = v.dataSync();
      for (let i = 0; i < 12; i++) assert.ok(Math.abs(got[i] - w[i]) < 1e-5, `w[${i}] ${got[i]} vs ${w[i]}`);
      opt.dispose();
      v.dispose();
    });

    it('rotation records equal the float64 cosine distances, in one read-back', async () => {
      await selectBackend(backend);
      const rng = new Rng(11);
      const sizes = [64, 300, 5];
      const init = sizes.map((n) => randomArray(rng, n));
      const vars = init.map((a, i) => tf.variable(tf.tensor(Float32Array.from(a)), true, `rot${i}_${backend}`));
      const monitor = new RotationMonitor(vars);
      const first = monitor.record();
      assert.deepEqual(first.distances, [0, 0, 0]);
      assert.deepEqual(first.rotation, [0, 0, 0]);
      // Move each kernel: a large change, a small one, and a sign flip (distance 2).
      const next = [
        init[0].map((x) => x + rng.normal()),
        init[1].map((x) => x + 0.001 * rng.normal()),
        init[2].map((x) => -x),
      ];
      vars.forEach((v, i) => v.assign(tf.tensor(Float32Array.from(next[i]))));
      const rec = monitor.record();
      next.forEach((b, i) => {
        const a32 = Float64Array.from(Float32Array.from(init[i]));
        const b32 = Float64Array.from(Float32Array.from(b));
        const ref = 1 - dot(a32, b32) / Math.sqrt(dot(a32, a32) * dot(b32, b32));
        assert.ok(
          Math.abs(rec.distances[i] - ref) < 1e-5 * Math.max(1, ref) + 1e-9,
          `layer ${i}: ${rec.distances[i]} vs ${ref}`,
        );
        assert.ok(
          Math.abs(rec.rotation[i] - Math.tan(angle(a32, b32))) <= 2e-3 * Math.tan(angle(a32, b32)) || i === 2,
          `layer ${i} stepwise`,
        );
      });
      assert.equal(rec.rotation[2], Infinity); // turned by 180 degrees: tan is unbounded
      monitor.dispose();
      vars.forEach((v) => v.dispose());
    });

    it('measures a small known rotation precisely', async () => {
      await selectBackend(backend);
      const rng = new Rng(2);
      const n = 1000;
      const a = randomArray(rng, n);
      // u: a unit vector orthogonal to a, scaled to |a|.
      const r = randomArray(rng, n);
      const proj = dot(r, a) / dot(a, a);
      const u = r.map((x, i) => x - proj * a[i]);
      const scale = Math.sqrt(dot(a, a) / dot(u, u));
      const theta = 0.003;
      const b = a.map((x, i) => Math.cos(theta) * x + Math.sin(theta) * u[i] * scale);
      const v = tf.variable(tf.tensor(Float32Array.from(a)), true, `small_${backend}`);
      const monitor = new RotationMonitor([v]);
      v.assign(tf.tensor(Float32Array.from(b)));
      const rec = monitor.record();
      assert.ok(Math.abs(rec.rotation[0] / Math.tan(theta) - 1) < 0.02, `tan ${rec.rotation[0]} vs ${Math.tan(theta)}`);
      assert.ok(
        Math.abs(rec.distances[0] / (1 - Math.cos(theta)) - 1) < 0.05,
        `distance ${rec.distances[0]} vs ${1 - Math.cos(theta)}`,
      );
      monitor.dispose();
      v.dispose();
    });
  });
}

describe('rotation helpers', () => {
  it('cosineDistance and tanFromCosineDistance agree with trigonometry', () => {
    for (const theta of [0.01, 0.5, 1, Math.PI / 2, 2.5]) {
      // a = (1, 0), b = (cos, sin) * 2
      const b = [2 * Math.cos(theta), 2 * Math.sin(theta)];
      const diffSq = (1 - b[0]) ** 2 + b[1] ** 2;
      const c = cosineDistance(diffSq, 1, 4);
      assert.ok(Math.abs(c - (1 - Math.cos(theta))) < 1e-12);
      if (theta < Math.PI / 2 - 1e-9) assert.ok(Math.abs(tanFromCosineDistance(c) / Math.tan(theta) - 1) < 1e-9);
    }
    assert.equal(cosineDistance(0, 0, 1), 0);
  });
});

describe('schedules and multipliers', () => {
  it("alpha multipliers follow the paper's formula", () => {
    const L = 5;
    const pos = alphaMultipliers(0.5, L);
    assert.equal(pos[L - 1], 1);
    assert.ok(Math.abs(pos[0] - 0.5 ** 5) < 1e-12);
    for (let l = 1; l < L; l++) assert.ok(Math.abs(pos[l - 1] / pos[l] - 0.5 ** (5 / (L - 1))) < 1e-12);
    const neg = alphaMultipliers(-0.3, L);
    assert.equal(neg[0], 1);
    assert.ok(Math.abs(neg[L - 1] - 0.7 ** 5) < 1e-12);
    for (let l = 1; l < L; l++) assert.ok(Math.abs(neg[l] / neg[l - 1] - 0.7 ** (5 / (L - 1))) < 1e-12);
    assert.deepEqual(alphaMultipliers(0, 3), [1, 1, 1]);
  });

  it('explicit multipliers apply on top of alpha, by position or by name', () => {
    const names = ['dense1', 'dense2', 'output'];
    assert.deepEqual(layerMultipliers({ alpha: 0, layerMultipliers: [1, 2, 3] }, names), [1, 2, 3]);
    assert.deepEqual(layerMultipliers({ alpha: 0, layerMultipliers: { dense2: 4 } }, names), [1, 4, 1]);
    const withAlpha = layerMultipliers({ alpha: 0.5, layerMultipliers: { output: 2 } }, names);
    assert.equal(withAlpha[2], 2);
    assert.throws(
      () => layerMultipliers({ alpha: 0, layerMultipliers: [1] }, names),
      /has 1 values but the model has 3/,
    );
    assert.throws(() => layerMultipliers({ alpha: 0, layerMultipliers: { dense9: 1 } }, names), /dense9/);
  });

  it('warmup ramps linearly and step decay multiplies at the given epochs', () => {
    const s = { warmupEpochs: 2, decay: { factor: 0.2, epochs: [5, 8] } };
    assert.equal(learningRateAt(0.1, s, 0), 0);
    assert.ok(Math.abs(learningRateAt(0.1, s, 1) - 0.05) < 1e-12);
    assert.equal(learningRateAt(0.1, s, 3), 0.1);
    assert.ok(Math.abs(learningRateAt(0.1, s, 5) - 0.02) < 1e-12);
    assert.ok(Math.abs(learningRateAt(0.1, s, 9.5) - 0.004) < 1e-12);
    assert.equal(learningRateAt(0.1, { warmupEpochs: 0 }, 100), 0.1);
  });
});

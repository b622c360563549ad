// First-layer features (the `features` event, src/runlog/features.ts): encoding and decoding,
// the bounds, what readers skip (and why), and real tfjs runs whose snapshots are the model's
// first kernel at step 0, at epoch ends and at the end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { parseConfigText } from '../src/engine/config/validate';
import type { TrainingConfig } from '../src/engine/config/types';
import { train } from '../src/engine/trainer';
import { type FeaturesEvent, type NewEvent, stamp, toJsonLine } from '../src/runlog/events';
import {
  base64Decode,
  base64Encode,
  decodeFeatures,
  featureImage,
  featureUnits,
  featuresDue,
  featuresEvent,
  MAX_FEATURE_VALUES,
  unitsFromKernel,
} from '../src/runlog/features';
import { isRunEvent, normalizeEvent } from '../src/runlog/normalize';
import { parseRunLog } from '../src/runlog/read';
import { Rng } from '../src/engine/rng';
import { syntheticConfig } from './helpers/runs';

type Features = Omit<FeaturesEvent, 'v' | 'time'>;

/** A snapshot of `units` units of random values, as a writer makes it. */
function sample(units: number, image: [number, number, number], seed = 1, totalUnits = units): Features {
  const rng = new Rng(seed);
  const size = image[0] * image[1] * image[2];
  const values = Float32Array.from({ length: units * size }, () => rng.normal() * 0.05);
  const e = featuresEvent({ step: 0, epoch: 0, layer: 'dense1', kind: 'dense', image, totalUnits, values, units });
  assert.ok(e);
  return e;
}

/** A line of the log read back: normalized, or the reason it was skipped. */
function readLine(value: unknown): { event?: FeaturesEvent; problem?: string } {
  const log = parseRunLog(`${JSON.stringify(value)}\n`);
  if (log.skipped.length) return { problem: log.skipped[0].reason };
  assert.ok(log.features, 'no features kept');
  return { event: log.features.last };
}

function assertWithinQuantization(decoded: Float32Array, values: ArrayLike<number>, scales: number[], size: number) {
  assert.equal(decoded.length, values.length);
  for (let i = 0; i < values.length; i++) {
    const s = scales[Math.floor(i / size)];
    assert.ok(
      Math.abs(decoded[i] - values[i]) <= 0.501 * s + 1e-12,
      `value ${i}: ${decoded[i]} vs ${values[i]} (scale ${s})`,
    );
  }
}

describe('the features event', () => {
  it('base64 is RFC 4648, as Node encodes it, for every length mod 3', () => {
    const rng = new Rng(5);
    for (const n of [0, 1, 2, 3, 4, 5, 100, 50176, 65536]) {
      const bytes = Uint8Array.from({ length: n }, () => rng.int(256));
      const text = base64Encode(bytes);
      assert.equal(text, Buffer.from(bytes).toString('base64'), `length ${n}`);
      assert.deepEqual(base64Decode(text), bytes);
    }
    assert.throws(() => base64Decode('AB*D'), /not base64/);
  });

  it('round-trips through a JSON line: decoded weights within half a scale, fields as written', () => {
    const rng = new Rng(7);
    const image: [number, number, number] = [28, 28, 1];
    const size = 784;
    const values = Float32Array.from({ length: 64 * size }, () => rng.normal() * 0.05);
    values.fill(0, 3 * size, 4 * size); // a unit of zeros: scale 0
    values[5 * size + 17] = -0.9; // a unit whose extreme is negative
    const e = featuresEvent({
      step: 422,
      epoch: 1,
      layer: 'dense1',
      kind: 'dense',
      image,
      totalUnits: 256,
      values,
      units: 64,
    });
    assert.ok(e);
    const line = toJsonLine(stamp(e));
    // The size the docs promise: about 68 KB for the MNIST MLP's 64 units of 784.
    assert.ok(line.length > 66_904 && line.length < 70_000, `${line.length} bytes`);
    const { event, problem } = readLine(JSON.parse(line));
    assert.equal(problem, undefined);
    assert.ok(event && isRunEvent(event));
    assert.deepEqual(
      { ...event, v: undefined, time: undefined, data: undefined },
      { ...e, v: undefined, time: undefined, data: undefined },
    );
    assert.equal(event.scales[3], 0);
    assert.equal(event.scales[5], Number((0.9 / 127).toPrecision(6)));
    const decoded = decodeFeatures(event);
    assertWithinQuantization(decoded, values, event.scales, size);
    assert.equal(decoded[5 * size + 17], Math.fround(-127 * event.scales[5]));
    // int8 per value, symmetric: the extremes are +-127 exactly, never -128.
    const q = new Int8Array(base64Decode(event.data).buffer);
    assert.ok(q.every((v) => v >= -127 && v <= 127));
  });

  it('rounds half away from zero and never writes a non-finite kernel', () => {
    const e = featuresEvent({
      step: 0,
      epoch: 0,
      layer: 'l',
      kind: 'dense',
      image: [1, 4, 1],
      totalUnits: 1,
      values: [127, -0.5, 0.5, 1.5],
      units: 1,
    });
    assert.ok(e);
    assert.deepEqual(e.scales, [1]);
    assert.deepEqual(Array.from(new Int8Array(base64Decode(e.data).buffer)), [127, -1, 1, 2]);
    const bad = featuresEvent({
      step: 0,
      epoch: 0,
      layer: 'l',
      kind: 'dense',
      image: [1, 2, 1],
      totalUnits: 1,
      values: [1, Number.NaN],
      units: 1,
    });
    assert.equal(bad, null);
  });

  it('takes units from the tfjs layouts: the last axis is the units, the rest is the image in order', () => {
    // dense [in = 2 x 3 x 1, out = 4]: unit j's input p at kernel[p * 4 + j].
    const dense = Float32Array.from({ length: 6 * 4 }, (_, i) => i);
    assert.deepEqual(Array.from(unitsFromKernel(dense, 4, 2)), [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21]);
    // conv2d [kh 2, kw 1, cin 3, cout 2]: filter j's (y, x, c) at ((y * kw + x) * cin + c) * cout + j.
    const conv = Float32Array.from({ length: 2 * 1 * 3 * 2 }, (_, i) => i);
    const units = unitsFromKernel(conv, 2, 2);
    const expect: number[] = [];
    for (let j = 0; j < 2; j++)
      for (let y = 0; y < 2; y++) for (let c = 0; c < 3; c++) expect.push((y * 3 + c) * 2 + j);
    assert.deepEqual(Array.from(units), expect);
  });

  it('is written for image inputs only, with at most 64 units and 65,536 values', () => {
    assert.deepEqual(featureImage('dense', [784, 256], [28, 28, 1]), [28, 28, 1]);
    assert.deepEqual(featureImage('dense', [3072, 100], [32, 32, 3]), [32, 32, 3]);
    assert.equal(featureImage('dense', [32, 16], [32]), null); // not an image
    assert.equal(featureImage('dense', [128, 16], [8, 8, 2]), null); // 2 channels
    assert.equal(featureImage('dense', [784, 16], undefined), null);
    assert.deepEqual(featureImage('conv2d', [3, 3, 3, 64], [32, 32, 3]), [3, 3, 3]);
    assert.deepEqual(featureImage('conv2d', [5, 5, 1, 8], [28, 28, 1]), [5, 5, 1]);
    assert.equal(featureImage('conv2d', [3, 3, 16, 16], [8, 8, 16]), null);
    assert.equal(featureUnits([28, 28, 1], 256), 64);
    assert.equal(featureUnits([28, 28, 1], 10), 10);
    assert.equal(featureUnits([32, 32, 3], 512), 21);
    assert.equal(featureUnits([3, 3, 3], 64), 64);
    assert.equal(featureUnits([256, 256, 3], 64), 0);
    assert.ok(21 * 3072 <= MAX_FEATURE_VALUES && 22 * 3072 > MAX_FEATURE_VALUES);
    // A snapshot at the largest is under the ~100 KB the format promises.
    const biggest = toJsonLine(stamp(sample(21, [32, 32, 3], 3, 512)));
    assert.ok(biggest.length < 90_000, `${biggest.length} bytes`);
  });

  it('is due at the end of epochs 1..8, then 4 per doubling', () => {
    const due = Array.from({ length: 70 }, (_, i) => i + 1).filter(featuresDue);
    assert.deepEqual(due, [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64]);
    const within = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter(featuresDue).length;
    assert.equal(within(100), 22);
    assert.equal(within(1000), 35);
    assert.equal(featuresDue(0), false);
    assert.equal(featuresDue(1.5), false);
  });

  it('skips a malformed snapshot with the reason, and keeps the rest of the log', () => {
    const good = { v: 1, ...sample(4, [5, 5, 1]) };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ step: 'x' }, /numeric "step" and "epoch"/],
      [{ epoch: -1 }, /numeric "step" and "epoch"/],
      [{ layer: 3 }, /"layer"/],
      [{ encoding: 'float16' }, /unknown features encoding "float16"/],
      [{ encoding: undefined }, /unknown features encoding undefined/],
      [{ image: [5, 5] }, /"image"/],
      [{ image: [5, 5, 2] }, /channels must be 1 or 3/],
      [{ image: [5, 5.5, 1] }, /"image"/],
      [{ units: 0 }, /"units"/],
      [{ units: 65 }, /"units"/],
      [{ image: [256, 256, 1], units: 2 }, /more than 65536/],
      [{ totalUnits: 2 }, /"totalUnits"/],
      [{ scales: [1, 1, 1] }, /"scales"/],
      [{ scales: [1, 1, 1, -1] }, /"scales"/],
      [{ scales: [1, 1, 1, null] }, /"scales"/],
      [{ data: good.data.slice(4) }, /base64 of 100 int8/],
      [{ data: `*${good.data.slice(1)}` }, /base64 of 100 int8/],
      [{ data: `${good.data.slice(0, -4)}AAAA` }, /base64 of 100 int8/], // 102 bytes, no padding
      [{ data: 5 }, /"data"/],
    ];
    for (const [change, reason] of cases) {
      const { problem } = readLine({ ...good, ...change });
      assert.match(problem ?? 'accepted', reason, JSON.stringify(Object.keys(change)));
    }
    // Defaults: totalUnits is units, kind "", unknown fields dropped.
    const { event } = readLine({ ...good, totalUnits: undefined, kind: undefined, extra: 1 });
    assert.ok(event);
    assert.equal(event.totalUnits, 4);
    assert.equal(event.kind, '');
    assert.equal('extra' in event, false);
    assert.ok(isRunEvent(event));
    assert.equal(isRunEvent({ ...event, units: 65 }), false);
    assert.equal(isRunEvent({ ...event, data: 'AAAA' }), false);

    // In a log: the bad lines are skipped, numbered, and the others read; the first and latest snapshots are kept.
    const lines = [
      { v: 1, type: 'run_started', runId: 'r', layers: [{ name: 'dense1', kind: 'dense' }] },
      { ...good, step: 0 },
      { ...good, step: 10, epoch: 1, image: [5, 5, 2] },
      { ...good, step: 20, epoch: 2 },
      { ...good, step: 30, epoch: 3 },
      { v: 1, type: 'features_v2', step: 1 }, // a future event: skipped as unknown, as older readers skip `features`
      { v: 1, type: 'run_finished', status: 'completed' },
    ];
    const log = parseRunLog(`${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    assert.deepEqual(log.skipped, [
      { line: 3, reason: 'features image channels must be 1 or 3, not 2' },
      { line: 6, reason: 'unknown event type "features_v2"' },
    ]);
    assert.equal(log.features?.first.step, 0);
    assert.equal(log.features?.last.step, 30);
    assert.equal(log.started?.runId, 'r');
    assert.equal(log.finished?.status, 'completed');
  });

  it('an encoded snapshot of the maximum size is checked in well under a millisecond', () => {
    const e = { v: 1, ...sample(64, [32, 32, 1]) };
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) assert.ok(normalizeEvent(e).ok);
    const ms = (performance.now() - t0) / 100;
    assert.ok(ms < 5, `${ms} ms a check`);
  });
});

function configOf(obj: object): TrainingConfig {
  const checked = parseConfigText(JSON.stringify(obj), 'features.layerrot.json');
  if (!checked.ok) throw new Error(checked.errors.map((e) => e.message).join('\n'));
  return checked.config;
}

/**
 * Trains in this process; at every features event, reads the model's first kernel (the tfjs
 * variable `<layer>/kernel`) as it is then, in its tfjs layout.
 */
async function trainCapturing(config: TrainingConfig, overrides: { maxSteps?: number } = {}) {
  const events: NewEvent[] = [];
  const kernels: { step: number; kernel: Float32Array; shape: number[] }[] = [];
  const fin = await train({
    config,
    runId: 'features',
    backend: 'cpu',
    ...overrides,
    emit: (e) => {
      events.push(e);
      if (e.type === 'features') {
        const v = tf.engine().state.registeredVariables[`${e.layer}/kernel`];
        assert.ok(v, `no variable ${e.layer}/kernel`);
        kernels.push({ step: e.step, kernel: v.dataSync() as Float32Array, shape: v.shape });
      }
    },
  });
  // The events as a reader gets them, through JSON lines.
  const log = parseRunLog(events.map((e) => toJsonLine(stamp(e))).join(''));
  assert.deepEqual(log.skipped, []);
  const features = events.filter((e): e is Features => e.type === 'features');
  return { fin, events, features, kernels };
}

/** Checks each snapshot against the kernel read at its time: the first units, in the image's order. */
function assertSnapshotsAreKernels(features: Features[], kernels: { kernel: Float32Array; shape: number[] }[]) {
  assert.equal(features.length, kernels.length);
  features.forEach((f, k) => {
    const { kernel, shape } = kernels[k];
    const out = shape[shape.length - 1];
    const size = f.image[0] * f.image[1] * f.image[2];
    assert.equal(kernel.length, size * out);
    const expected = unitsFromKernel(kernel, out, f.units);
    const normalized = normalizeEvent(JSON.parse(toJsonLine(stamp(f))));
    assert.ok(normalized.ok);
    assertWithinQuantization(decodeFeatures(normalized.event as FeaturesEvent), expected, f.scales, size);
    // Every unit uses the full int8 range: its largest |w| maps to 127.
    const q = new Int8Array(base64Decode(f.data).buffer);
    for (let u = 0; u < f.units; u++) {
      let max = 0;
      for (let p = u * size; p < (u + 1) * size; p++) max = Math.max(max, Math.abs(q[p]));
      assert.equal(max, 127, `unit ${u} of the snapshot at step ${f.step}`);
    }
  });
}

describe('tfjs runs write first-layer features', () => {
  it('an MLP on MNIST-shaped inputs: at step 0 and each epoch end, the first 64 of 80 units, equal to the kernel', async () => {
    const config = configOf(
      syntheticConfig({
        dataset: { name: 'synthetic', samples: 400, testSamples: 100, inputShape: [28, 28, 1], classes: 4 },
        model: { type: 'mlp', hidden: [80, 16] },
        schedule: { epochs: 3, batchSize: 50 },
      }),
    );
    const { fin, events, features, kernels } = await trainCapturing(config);
    assert.equal(fin.status, 'completed', fin.reason);
    assert.deepEqual(
      features.map((f) => [f.step, f.epoch]),
      [
        [0, 0],
        [8, 1],
        [16, 2],
        [24, 3],
      ],
    );
    for (const f of features) {
      assert.equal(f.layer, 'dense1');
      assert.equal(f.kind, 'dense');
      assert.deepEqual(f.image, [28, 28, 1]);
      assert.equal(f.units, 64);
      assert.equal(f.totalUnits, 80);
      assert.equal(f.encoding, 'int8');
    }
    // Where they come: after the first rotation record, after each epoch_end, before run_finished.
    const types = events.map((e) => e.type);
    assert.equal(types[types.indexOf('features') - 1], 'rotation');
    for (let i = 1; i < types.length; i++) if (types[i - 1] === 'epoch_end') assert.equal(types[i], 'features');
    assert.equal(types[types.length - 1], 'run_finished');
    assertSnapshotsAreKernels(features, kernels);
    // The kernel moved: the last snapshot is not the first.
    assert.notEqual(features[0].data, features[3].data);
  });

  it('a run ended by the step limit mid-epoch gets a snapshot at its end', async () => {
    const config = configOf(
      syntheticConfig({
        dataset: { name: 'synthetic', samples: 400, testSamples: 100, inputShape: [28, 28, 1], classes: 4 },
        model: { type: 'mlp', hidden: [16] },
        schedule: { epochs: 3, batchSize: 50 },
      }),
    );
    const { fin, features, kernels } = await trainCapturing(config, { maxSteps: 12 });
    assert.equal(fin.step, 12);
    assert.deepEqual(
      features.map((f) => [f.step, f.epoch, f.units, f.totalUnits]),
      [
        [0, 0, 16, 16],
        [8, 1, 16, 16],
        [12, 1.5, 16, 16],
      ],
    );
    assertSnapshotsAreKernels(features, kernels);
  });

  it('a CNN on RGB inputs: each filter a 3 x 3 x 3 patch, in the image order', async () => {
    const config = configOf(
      syntheticConfig({
        dataset: { name: 'synthetic', samples: 64, testSamples: 16, inputShape: [8, 8, 3], classes: 4 },
        model: { type: 'vgg', filters: [6, 8], convsPerStage: [1, 1], dense: [], batchNorm: false },
        schedule: { epochs: 2, batchSize: 16 },
      }),
    );
    const { fin, features, kernels } = await trainCapturing(config);
    assert.equal(fin.status, 'completed', fin.reason);
    assert.deepEqual(
      features.map((f) => [f.step, f.layer, f.kind, f.image, f.units, f.totalUnits]),
      [
        [0, 'conv1_1', 'conv2d', [3, 3, 3], 6, 6],
        [4, 'conv1_1', 'conv2d', [3, 3, 3], 6, 6],
        [8, 'conv1_1', 'conv2d', [3, 3, 3], 6, 6],
      ],
    );
    assertSnapshotsAreKernels(features, kernels);
  });

  it('inputs that are not images get none', async () => {
    const { fin, features } = await trainCapturing(
      configOf(syntheticConfig({ schedule: { epochs: 1, batchSize: 64 } })),
    );
    assert.equal(fin.status, 'completed', fin.reason);
    assert.deepEqual(features, []);
  });
});

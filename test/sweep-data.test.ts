// A warm runner's DatasetCache (src/engine/data/load.ts), in process, on real files: a load on the
// same data reads nothing, on the same data and split builds nothing, on other data (or data
// whose files changed) reads its own; and every dataset it gives equals a fresh load's, whatever
// arrays it reused from the one before (other split sizes, other subsets, images, synthetic data).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { DatasetSpec } from '../src/engine/config/types';
import { DatasetCache, type LoadOptions, loadDataset } from '../src/engine/data/load';
import type { Dataset } from '../src/engine/data/types';
import { writeCifarFolder, writeMnistFolder } from './helpers/datafiles';
import { tempDir } from './helpers/runs';

/** A dataset as plain values (typed arrays as arrays), for deepEqual against a fresh load's. */
function plain(d: Dataset): unknown {
  const split = (s: Dataset['train']) => ({ n: s.n, x: Array.from(s.x), y: Array.from(s.y) });
  return { ...d, train: split(d.train), validation: split(d.validation), test: split(d.test) };
}

function mnist(folder: string, extra: Partial<DatasetSpec> = {}): DatasetSpec {
  return { name: 'mnist', path: folder, validationSplit: 0.2, normalize: true, ...extra } as DatasetSpec;
}

describe("a warm runner's dataset cache", () => {
  it('reads data once, builds a split once, and gives what a fresh load gives', () => {
    const dir = tempDir('data-cache');
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    writeMnistFolder(a, { nTrain: 120, nTest: 30, side: 6 });
    writeMnistFolder(b, { nTrain: 90, nTest: 20, side: 6, gzip: true });
    const cache = new DatasetCache();
    const opts = (seed: number, flatten = true): LoadOptions => ({ seed, flatten, configDir: dir });
    const steps: { spec: DatasetSpec; opts: LoadOptions; reads: number; builds: number; same?: boolean }[] = [
      { spec: mnist(a), opts: opts(1), reads: 1, builds: 1 },
      { spec: mnist(a), opts: opts(1), reads: 1, builds: 1, same: true }, // the same point again
      { spec: mnist('a'), opts: opts(1), reads: 1, builds: 2 }, // a relative path to the same folder
      { spec: mnist(a), opts: opts(2), reads: 1, builds: 3 }, // another seed: another split
      { spec: mnist(a, { validationSplit: 0.5 }), opts: opts(2), reads: 1, builds: 4 }, // other sizes
      { spec: mnist(a, { trainSubset: 50, testSubset: 10 }), opts: opts(2, false), reads: 1, builds: 5 },
      { spec: mnist(b), opts: opts(1), reads: 2, builds: 6 }, // other data
      { spec: mnist(a), opts: opts(1), reads: 3, builds: 7 }, // back: only the last data is kept
    ];
    let previous: Dataset | undefined;
    for (const [i, step] of steps.entries()) {
      const got = cache.load(step.spec, step.opts);
      assert.deepEqual(plain(got), plain(loadDataset(step.spec, step.opts)), `load ${i}`);
      assert.deepEqual([cache.reads, cache.builds], [step.reads, step.builds], `load ${i}: reads, builds`);
      if (step.same) assert.equal(got, previous, `load ${i}: the same dataset`);
      previous = got;
    }
  });

  it('reads the files again when they have changed, and equals a fresh load of them', () => {
    const dir = tempDir('data-cache-changed');
    writeMnistFolder(dir, { nTrain: 100, nTest: 20, side: 5 });
    const cache = new DatasetCache();
    const opts: LoadOptions = { seed: 3, flatten: true };
    assert.equal(cache.load(mnist(dir), opts).test.n, 20);
    writeMnistFolder(dir, { nTrain: 100, nTest: 25, side: 5 });
    const again = cache.load(mnist(dir), opts);
    assert.equal(again.test.n, 25);
    assert.equal(cache.reads, 2);
    assert.deepEqual(plain(again), plain(loadDataset(mnist(dir), opts)));
  });

  it('CIFAR-10 (one folder down) and synthetic data: the same rules', () => {
    const dir = tempDir('data-cache-cifar');
    writeCifarFolder(path.join(dir, 'cifar-10-batches-bin'), { batches: [1, 2], records: 12 });
    const cache = new DatasetCache();
    const cifar = { name: 'cifar10', path: dir, validationSplit: 0.25, normalize: true } as DatasetSpec;
    const synthetic = (samples: number) =>
      ({
        name: 'synthetic',
        samples,
        testSamples: 20,
        inputShape: [4, 4, 3],
        classes: 3,
        validationSplit: 0.1,
        normalize: true,
      }) as DatasetSpec;
    const steps: [DatasetSpec, number, number, number][] = [
      [cifar, 1, 1, 1],
      [cifar, 2, 1, 2],
      [synthetic(60), 1, 2, 3],
      [synthetic(60), 2, 3, 4], // the generator is seeded: another seed, other data
      [synthetic(80), 2, 4, 5],
      [synthetic(80), 2, 4, 5],
    ];
    for (const [i, [spec, seed, reads, builds]] of steps.entries()) {
      const opts: LoadOptions = { seed, flatten: false };
      assert.deepEqual(plain(cache.load(spec, opts)), plain(loadDataset(spec, opts)), `load ${i}`);
      assert.deepEqual([cache.reads, cache.builds], [reads, builds], `load ${i}: reads, builds`);
    }
    // A file changed one folder down is seen too.
    const test = path.join(dir, 'cifar-10-batches-bin', 'test_batch.bin');
    fs.writeFileSync(test, fs.readFileSync(test).subarray(0, 5 * 3073));
    const opts: LoadOptions = { seed: 1, flatten: false };
    assert.equal(cache.load(cifar, opts).test.n, 5);
    assert.equal(cache.reads, 5);
  });

  it("normalizes each seed's split with its own training statistics, value for value (one and three channels)", () => {
    // The reference: the split's bytes (from a load without normalization: byte / 255 as float32,
    // one to one), the per-channel mean and std of the training split's bytes summed here, and
    // every value as float32(byte * a + b). The cache's statistics come from per-sample sums kept
    // across its loads; a seed after another sums only the samples new to it.
    const dir = tempDir('data-cache-stats');
    const mnistDir = path.join(dir, 'mnist');
    writeMnistFolder(mnistDir, { nTrain: 150, nTest: 20, side: 7 });
    writeCifarFolder(path.join(dir, 'cifar', 'cifar-10-batches-bin'), { batches: [1, 2], records: 40 });
    const specs: [DatasetSpec, number][] = [
      [mnist(mnistDir, { trainSubset: 90, validationSplit: 0.25 }), 1],
      [{ name: 'cifar10', path: path.join(dir, 'cifar'), trainSubset: 50, validationSplit: 0.2 } as DatasetSpec, 3],
    ];
    for (const [spec, channels] of specs) {
      const cache = new DatasetCache();
      for (const seed of [1, 2, 3, 2]) {
        const opts: LoadOptions = { seed, flatten: false };
        const bytes = (x: Float32Array) => Uint8Array.from(x, (v) => Math.round(v * 255));
        const raw = loadDataset({ ...spec, normalize: false }, opts);
        const got = cache.load({ ...spec, normalize: true }, opts);
        const trainBytes = bytes(raw.train.x);
        assert.deepEqual(
          Array.from(trainBytes, (b) => Math.fround(b / 255)),
          Array.from(raw.train.x),
          'bytes recovered',
        );
        const a: number[] = [];
        const b: number[] = [];
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          let sumSq = 0;
          for (let i = c; i < trainBytes.length; i += channels) {
            sum += trainBytes[i];
            sumSq += trainBytes[i] * trainBytes[i];
          }
          const count = trainBytes.length / channels;
          const mean = sum / count;
          const std = Math.sqrt(sumSq / count - mean * mean);
          const scale = 1 / 255; // bytes to [0, 1]
          assert.equal(got.normalization?.mean[c], mean * scale, `seed ${seed} channel ${c}: mean`);
          assert.equal(got.normalization?.std[c], std * scale, `seed ${seed} channel ${c}: std`);
          a.push(scale / (std * scale));
          b.push(-(mean * scale) / (std * scale));
        }
        for (const split of ['train', 'validation', 'test'] as const) {
          const expected = Array.from(bytes(raw[split].x), (v, i) =>
            Math.fround(v * a[i % channels] + b[i % channels]),
          );
          assert.deepEqual(Array.from(got[split].x), expected, `seed ${seed}: ${split} values`);
          assert.deepEqual(got[split].y, raw[split].y, `seed ${seed}: ${split} labels`);
        }
      }
    }
  });

  it('a folder that is not there: the read says so, and nothing is kept', () => {
    const cache = new DatasetCache();
    const missing = path.join(tempDir('data-cache-missing'), 'nowhere');
    assert.throws(() => cache.load(mnist(missing), { seed: 1, flatten: true }), /MNIST file not found: .*nowhere/);
    assert.deepEqual([cache.reads, cache.builds], [0, 0]);
  });
});

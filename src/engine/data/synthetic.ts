// A small learnable classification dataset for fast tests and demos, deterministic in the seed.
// Each class has a few prototypes (gaussian patterns, spatially smooth for image shapes); a sample
// is one of its class's prototypes plus gaussian noise. The prototypes are far enough apart for an
// MLP or a small CNN to learn well above chance in a few hundred steps, close enough that the noise
// makes some samples ambiguous (no model gets 100%), and several per class so that the classes are
// not simply linearly separable.

import { Rng } from '../rng';
import { DataError } from './types';

export interface SyntheticOptions {
  /** Training samples. */
  samples: number;
  testSamples: number;
  /** [features], or [h, w, c] for images. */
  inputShape: number[];
  classes: number;
  seed: number;
}

export interface SyntheticData {
  /** nTrain samples of prod(inputShape) floats, sample-major (NHWC for images). */
  trainX: Float32Array;
  trainY: Uint8Array;
  testX: Float32Array;
  testY: Uint8Array;
  nTrain: number;
  nTest: number;
  inputShape: number[];
  classes: number;
}

/** Prototypes per class. */
export const SYNTHETIC_MODES = 2;
/**
 * Euclidean norm of every prototype of `size` values; the noise has std 1 per value. It grows
 * slowly with the size, so that the prototypes of large inputs can be learned from few samples.
 */
export function syntheticSignal(size: number): number {
  return Math.max(1.5, 1.2 * size ** 0.25);
}
const MAX_CLASSES = 256;

export function generateSynthetic(opts: SyntheticOptions): SyntheticData {
  checkOptions(opts);
  const rng = new Rng(opts.seed);
  // Separate streams, so that the prototypes do not depend on the sample counts.
  const prototypes = makePrototypes(opts.inputShape, opts.classes, rng.fork());
  const train = drawSamples(prototypes, opts.samples, opts.classes, rng.fork());
  const test = drawSamples(prototypes, opts.testSamples, opts.classes, rng.fork());
  return {
    trainX: train.x,
    trainY: train.y,
    testX: test.x,
    testY: test.y,
    nTrain: opts.samples,
    nTest: opts.testSamples,
    inputShape: [...opts.inputShape],
    classes: opts.classes,
  };
}

function checkOptions(o: SyntheticOptions): void {
  const count = (v: number) => Number.isInteger(v) && v >= 0;
  if (!count(o.samples) || !count(o.testSamples)) {
    throw new DataError(
      `synthetic: samples and testSamples must be whole numbers >= 0 (got ${o.samples}, ${o.testSamples})`,
    );
  }
  if (o.inputShape.length === 0 || !o.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new DataError(`synthetic: inputShape must be positive whole numbers (got [${o.inputShape.join(', ')}])`);
  }
  if (!Number.isInteger(o.classes) || o.classes < 2 || o.classes > MAX_CLASSES) {
    throw new DataError(`synthetic: classes must be a whole number in 2..${MAX_CLASSES} (got ${o.classes})`);
  }
}

interface Prototypes {
  /** classes * SYNTHETIC_MODES patterns of `size` values; pattern k belongs to class floor(k / modes). */
  data: Float32Array;
  size: number;
}

function makePrototypes(shape: number[], classes: number, rng: Rng): Prototypes {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(classes * SYNTHETIC_MODES * size);
  for (let k = 0; k < classes * SYNTHETIC_MODES; k++) {
    const pattern = data.subarray(k * size, (k + 1) * size);
    fillNormal(pattern, rng);
    if (shape.length === 3) smoothImage(pattern, shape[0], shape[1], shape[2]);
    scaleToNorm(pattern, syntheticSignal(size));
  }
  return { data, size };
}

function drawSamples(p: Prototypes, n: number, classes: number, rng: Rng): { x: Float32Array; y: Uint8Array } {
  const x = new Float32Array(n * p.size);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) y[i] = i % classes; // balanced classes, in random order
  rng.shuffle(y);
  fillNormal(x, rng);
  for (let i = 0; i < n; i++) {
    const k = y[i] * SYNTHETIC_MODES + rng.int(SYNTHETIC_MODES);
    const src = k * p.size;
    const dst = i * p.size;
    for (let j = 0; j < p.size; j++) x[dst + j] += p.data[src + j];
  }
  return { x, y };
}

/** Standard normal values (Box-Muller, both outputs used). */
function fillNormal(out: Float32Array, rng: Rng): void {
  for (let i = 0; i < out.length; i += 2) {
    let u = rng.next();
    while (u === 0) u = rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * rng.next();
    out[i] = r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(theta);
  }
}

/** Blur each channel of an HWC image with a box filter, twice (close to a gaussian blur). */
function smoothImage(img: Float32Array, h: number, w: number, c: number): void {
  if (h * w === 1) return;
  const radius = Math.max(1, Math.floor(Math.min(h, w) / 8));
  for (let pass = 0; pass < 2; pass++) {
    boxBlur(img, h, w, c, radius, 0, 1); // along rows
    boxBlur(img, h, w, c, radius, 1, 0); // along columns
  }
}

/** A box blur along one spatial axis (dy, dx) = (0, 1) or (1, 0), averaging the in-bounds neighbors. */
function boxBlur(img: Float32Array, h: number, w: number, c: number, radius: number, dy: number, dx: number): void {
  const src = img.slice();
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        let count = 0;
        for (let d = -radius; d <= radius; d++) {
          const r = row + d * dy;
          const q = col + d * dx;
          if (r < 0 || r >= h || q < 0 || q >= w) continue;
          sum += src[(r * w + q) * c + ch];
          count++;
        }
        img[(row * w + col) * c + ch] = sum / count;
      }
    }
  }
}

function scaleToNorm(v: Float32Array, norm: number): void {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
  const f = sq > 0 ? norm / Math.sqrt(sq) : 0;
  for (let i = 0; i < v.length; i++) v[i] *= f;
}

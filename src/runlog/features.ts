// First-layer features (the paper's section 6): the `features` event of the run log
// (docs/run-log-format.md), a bounded snapshot of the first kernel layer's units as small images.
// Encoding (writers), checking (readers, src/runlog/normalize.ts) and decoding (the webview's
// drawing, webview/src/features.ts). Pure: no Node, no tfjs (the webview bundles it); the tfjs
// engine reads its kernel in src/engine/features.ts, the PyTorch engine and RotationLogger in
// python/layer_rotation/features.py, which follows this file.
import type { FeaturesEvent } from './events';
import { shownValue } from './sanitize';

/** The one encoding of this version: int8 per value, a scale per unit. */
export const FEATURES_ENCODING = 'int8';
/** A snapshot holds the layer's first units, at most this many. */
export const MAX_FEATURE_UNITS = 64;
/** ... and at most this many values in all (64 KiB of int8, about 87 KiB of base64). */
export const MAX_FEATURE_VALUES = 65536;
/** Snapshots at the end of every epoch up to this one; then 4 per doubling of the epoch (featuresDue). */
export const FEATURES_EVERY_EPOCH_UNTIL = 8;

export type FeatureImage = [number, number, number];

/**
 * The image each unit of the first kernel layer is, or null when its input is not an image:
 * a dense layer whose inputs are the flattened samples of shape [h, w, c] (flattened as stored,
 * channels last); a conv2d kernel [kh, kw, cin, cout]: each filter a kh x kw patch. Channels must
 * be 1 (grey) or 3 (RGB).
 */
export function featureImage(
  kind: string,
  kernelShape: number[],
  sampleShape: number[] | undefined,
): FeatureImage | null {
  const ok = (c: number) => c === 1 || c === 3;
  if (kind === 'dense' && kernelShape.length === 2 && sampleShape?.length === 3) {
    const [h, w, c] = sampleShape;
    if (ok(c) && h >= 1 && w >= 1 && h * w * c === kernelShape[0]) return [h, w, c];
  }
  if (kind === 'conv2d' && kernelShape.length === 4 && ok(kernelShape[2])) {
    return [kernelShape[0], kernelShape[1], kernelShape[2]];
  }
  return null;
}

/** Units a snapshot of a layer of `totalUnits` units of this image holds (0: none fit). */
export function featureUnits(image: FeatureImage, totalUnits: number): number {
  const size = image[0] * image[1] * image[2];
  return Math.max(0, Math.min(MAX_FEATURE_UNITS, totalUnits, Math.floor(MAX_FEATURE_VALUES / size)));
}

/**
 * Whether the end of (1-based) epoch `epoch` gets a snapshot: every epoch up to 8, then every 2nd
 * up to 16, every 4th up to 32, ...: 4 per doubling, so that a 1,000-epoch run writes 36, not
 * 1,000 (the run's start and end get one anyway).
 */
export function featuresDue(epoch: number): boolean {
  if (!Number.isInteger(epoch) || epoch < 1) return false;
  let stride = 1;
  while (FEATURES_EVERY_EPOCH_UNTIL * stride < epoch) stride *= 2;
  return epoch % stride === 0;
}

/** x with 6 significant digits (as Python's "%.6g"): scales are written short. */
function round6(x: number): number {
  return Number(x.toPrecision(6));
}

/**
 * Quantizes `units` units of `size` values each (unit-major in `values`): per unit, scale =
 * max |w| / 127 (6 significant digits) and q = w / scale rounded half away from zero, in
 * [-127, 127]. Null when a value is not finite (a diverged run writes no snapshot).
 */
export function quantizeUnits(
  values: ArrayLike<number>,
  units: number,
  size: number,
): { scales: number[]; data: Int8Array } | null {
  const scales: number[] = [];
  const data = new Int8Array(units * size);
  for (let u = 0; u < units; u++) {
    let max = 0;
    for (let p = u * size; p < (u + 1) * size; p++) {
      const a = Math.abs(values[p]);
      if (!Number.isFinite(a)) return null;
      if (a > max) max = a;
    }
    let scale = round6(max / 127);
    if (scale === 0 && max > 0) scale = max / 127;
    scales.push(scale);
    if (scale === 0) continue;
    for (let p = u * size; p < (u + 1) * size; p++) {
      const v = values[p];
      const q = Math.sign(v) * Math.floor(Math.abs(v) / scale + 0.5);
      data[p] = Math.max(-127, Math.min(127, q));
    }
  }
  return { scales, data };
}

/**
 * The first `units` units of a kernel in the tfjs layout, unit-major: the layout's last axis is
 * the units (dense [in, out], conv2d [kh, kw, cin, cout]), so unit j's values are
 * kernel[p * stride + j] for p over the rest, which is the image's order (row by row, channels
 * last). `stride` is the kernel's last dimension (its units, or fewer when sliced).
 */
export function unitsFromKernel(kernel: ArrayLike<number>, stride: number, units: number): Float32Array {
  const size = Math.floor(kernel.length / stride);
  const out = new Float32Array(units * size);
  for (let j = 0; j < units; j++) for (let p = 0; p < size; p++) out[j * size + p] = kernel[p * stride + j];
  return out;
}

/** What a writer knows of a snapshot. */
export interface FeaturesInput {
  step: number;
  epoch: number;
  layer: string;
  kind: string;
  image: FeatureImage;
  totalUnits: number;
  /** units x (h w c) values, unit-major (unitsFromKernel). */
  values: ArrayLike<number>;
  units: number;
}

/** The features event (without v and time), or null when a value is not finite. */
export function featuresEvent(f: FeaturesInput): Omit<FeaturesEvent, 'v' | 'time'> | null {
  const size = f.image[0] * f.image[1] * f.image[2];
  const q = quantizeUnits(f.values, f.units, size);
  if (!q) return null;
  return {
    type: 'features',
    step: f.step,
    epoch: f.epoch,
    layer: f.layer,
    kind: f.kind,
    image: [...f.image],
    units: f.units,
    totalUnits: f.totalUnits,
    encoding: FEATURES_ENCODING,
    scales: q.scales,
    data: base64Encode(new Uint8Array(q.data.buffer, q.data.byteOffset, q.data.length)),
  };
}

/** The int8 values of a (checked) snapshot: units x h x w x c, unit-major. */
export function featureBytes(e: Pick<FeaturesEvent, 'data'>): Int8Array {
  const bytes = base64Decode(e.data);
  return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The weights of a (checked) snapshot, dequantized: units x h x w x c floats, unit-major. */
export function decodeFeatures(e: Pick<FeaturesEvent, 'data' | 'scales' | 'units'>): Float32Array {
  const q = featureBytes(e);
  const out = new Float32Array(q.length);
  const size = e.units > 0 ? q.length / e.units : 0;
  for (let u = 0; u < e.units; u++) {
    const s = e.scales[u];
    for (let p = u * size; p < (u + 1) * size; p++) out[p] = q[p] * s;
  }
  return out;
}

// ------------------------------------------------------------------------------------ checking

type Obj = Record<string, unknown>;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const count = (v: unknown): v is number => finite(v) && Number.isInteger(v) && v >= 1;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Why a parsed features event cannot be used (undefined: it can). Bounded: a snapshot above
 * MAX_FEATURE_UNITS units or MAX_FEATURE_VALUES values is refused, before anything is decoded.
 */
export function featuresProblem(e: Obj): string | undefined {
  if (!finite(e.step) || !finite(e.epoch) || e.step < 0 || e.epoch < 0)
    return 'features event needs numeric "step" and "epoch"';
  if (typeof e.layer !== 'string') return 'features event needs a "layer" name';
  if (e.encoding !== FEATURES_ENCODING) return `unknown features encoding ${shownValue(e.encoding)}`;
  const image = e.image;
  if (!Array.isArray(image) || image.length !== 3 || !image.every(count))
    return 'features "image" must be [height, width, channels] of whole numbers >= 1';
  if (image[2] !== 1 && image[2] !== 3) return `features image channels must be 1 or 3, not ${image[2]}`;
  if (!count(e.units) || e.units > MAX_FEATURE_UNITS)
    return `features "units" must be a whole number in 1..${MAX_FEATURE_UNITS}`;
  const values = e.units * image[0] * image[1] * image[2];
  if (values > MAX_FEATURE_VALUES) return `features snapshot of ${values} values, more than ${MAX_FEATURE_VALUES}`;
  if (e.totalUnits !== undefined && e.totalUnits !== null && !(count(e.totalUnits) && e.totalUnits >= e.units))
    return 'features "totalUnits" must be a whole number >= units';
  if (!Array.isArray(e.scales) || e.scales.length !== e.units || !e.scales.every((s) => finite(s) && s >= 0))
    return 'features "scales" must hold a number >= 0 per unit';
  if (typeof e.data !== 'string' || !BASE64.test(e.data) || e.data.length !== 4 * Math.ceil(values / 3))
    return `features "data" must be the base64 of ${values} int8 values`;
  // The padding says how many bytes the last group holds: exactly `values` in all.
  const pad = e.data.endsWith('==') ? 2 : e.data.endsWith('=') ? 1 : 0;
  if ((3 - (values % 3)) % 3 !== pad) return `features "data" must be the base64 of ${values} int8 values`;
  return undefined;
}

/** A checked features event, normalized: totalUnits defaults to units, kind to "", unknown fields dropped. */
export function normalizeFeatures(e: Obj, base: { v: number; time: number | null }): FeaturesEvent {
  const image = e.image as number[];
  return {
    v: base.v,
    time: base.time,
    type: 'features',
    step: e.step as number,
    epoch: e.epoch as number,
    layer: e.layer as string,
    kind: typeof e.kind === 'string' ? e.kind : '',
    image: [image[0], image[1], image[2]],
    units: e.units as number,
    totalUnits: count(e.totalUnits) ? e.totalUnits : (e.units as number),
    encoding: FEATURES_ENCODING,
    scales: e.scales as number[],
    data: e.data as string,
  };
}

// -------------------------------------------------------------------------------------- base64

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) INDEX[ALPHABET.charCodeAt(i)] = i;

/** Standard base64 with padding (RFC 4648), in plain code: the same in Node and in the webview. */
export function base64Encode(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i];
    const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    const n = (a << 16) | (b << 8) | c;
    chunk +=
      ALPHABET[(n >> 18) & 63] +
      ALPHABET[(n >> 12) & 63] +
      (i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : '=') +
      (i + 2 < bytes.length ? ALPHABET[n & 63] : '=');
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return parts.join('');
}

/** The bytes of standard base64 text (padding optional; characters outside the alphabet are an error). */
export function base64Decode(text: string): Uint8Array {
  const s = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    const k = Math.min(4, s.length - i);
    for (let j = 0; j < 4; j++) {
      const code = j < k ? s.charCodeAt(i + j) : 65; // 'A' = 0 for the missing ones
      const v = code < 128 ? INDEX[code] : -1;
      if (v < 0) throw new Error(`not base64: ${JSON.stringify(s[i + j])} at ${i + j}`);
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (k > 2 && o < out.length) out[o++] = (n >> 8) & 255;
    if (k > 3 && o < out.length) out[o++] = n & 255;
  }
  return out;
}

// Gradient kernels that let CNNs train, and train fast, on tfjs's wasm backend.
//
// tfjs-backend-wasm 4.22 ships no `Conv2DBackpropFilter` kernel (training a conv layer fails),
// and its `Conv2DBackpropInput` is a scalar loop that dominates a CNN's training step. Both
// gradients are convolutions themselves, so both are computed here with the wasm backend's own
// XNNPACK `Conv2D` kernel plus cheap data movement (transposes, slices, JS copies):
//
// Forward (NHWC, stride s, pads top/left from the forward conv):
//   y[n,i,j,co] = sum_{a,b,ci} x[n, i*s+a-top, j*s+b-left, ci] * f[a,b,ci,co]
//
// Filter gradient: dF[a,b,ci,co] = sum_{n,i,j} x[n, a-top+i*s, ...] * dy[n,i,j,co], which is a
//   Conv2D of x^T ([Cin,H,W,N]: batch Cin, channels N) with dy^T ([Ho,Wo,N,Cout] as the
//   filter), stride 1, dilation s, padding top/left as forward and bottom/right chosen so the
//   output is exactly kh x kw. That bottom padding is negative when the forward conv never read
//   the last rows of x (valid padding, or same padding clipped at 0, with a stride that does not
//   divide the size): those rows are cropped instead. Result [Cin,kh,kw,Cout] -> [kh,kw,Cin,Cout].
//
// Input gradient: dx[n,h,w,ci] = sum dy[n,i,j,co] * f[a,b,ci,co] over h = i*s+a-top. With stride
//   1 it is a Conv2D of dy with the spatially flipped, channel-swapped filter ([kh,kw,Cout,Cin])
//   and "full" padding (top = kh-1-top_forward; bottom chosen so the output has the input's size,
//   cropped if negative). With stride s, the rows h = ph, ph+s, ... (one "phase") receive dy only
//   through the taps a = (ph+top) mod s, + s, ...: each of the s*s phases is such a stride-1
//   Conv2D with those taps, written into every s-th row and column of dx. (Dilating dy with
//   zeros instead would do s*s times the multiplications.) A phase with no taps stays 0.
//
// BatchMatMul with transposeA or transposeB (every dense layer's backward pass: dW = x^T dy,
//   dx = dy W^T): wasm's own kernel is 10 to 30 times slower with a transposed operand than
//   without; transposing the operand first (a cheap copy) and multiplying plainly is not.
//
// MaxPoolGrad: wasm's own kernel rescans every window around every input pixel; the one here
//   makes one pass over the windows (see maxPoolGrad below).
//
// Kernels call other wasm kernels directly at the backend level (TensorInfo in, TensorInfo out,
// as tfjs's own kernels do), so nothing is recorded on the engine's tape; every intermediate is
// released with backend.disposeData before returning.

import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
// Loaded first, so that wasm's own kernels are registered before ours replace some of them.
import '@tensorflow/tfjs-backend-wasm';

type Pads = { top: number; bottom: number; left: number; right: number };
type Shape4 = [number, number, number, number];

const WASM = 'wasm';

/** How often each path ran since the process started (for tests and diagnostics). */
export interface WasmKernelStats {
  /** Conv2DBackpropFilter computed by the Conv2D-based kernel. */
  filter: number;
  /** Conv2DBackpropInput computed by the Conv2D-based kernel. */
  input: number;
  /** Conv2DBackpropInput calls handed to wasm's own kernel (NCHW, non-float32). */
  inputFallback: number;
  /** MaxPoolGrad computed by the single-pass kernel. */
  maxPoolGrad: number;
  /** MaxPoolGrad calls handed to wasm's own kernel (non-float32). */
  maxPoolGradFallback: number;
  /** BatchMatMul calls whose transposed operands were transposed explicitly first. */
  matMulTransposed: number;
}

export interface WasmTrainingKernelOptions {
  /** Replace wasm's scalar-loop Conv2DBackpropInput (default true). */
  inputGradient?: boolean;
  /** Replace wasm's MaxPoolGrad (default true). */
  maxPoolGradient?: boolean;
  /** Transpose BatchMatMul's transposed operands explicitly (default true). */
  matMulTranspose?: boolean;
}

const stats: WasmKernelStats = {
  filter: 0,
  input: 0,
  inputFallback: 0,
  maxPoolGrad: 0,
  maxPoolGradFallback: 0,
  matMulTransposed: 0,
};

// The kernels below take the wasm backend's own types; the registry takes the generic ones.
const filterKernelFunc = conv2DBackpropFilter as unknown as tf.KernelFunc;
const inputKernelFunc = conv2DBackpropInput as unknown as tf.KernelFunc;
const maxPoolGradKernelFunc = maxPoolGrad as unknown as tf.KernelFunc;
const batchMatMulKernelFunc = batchMatMul as unknown as tf.KernelFunc;

/** wasm's own kernels that ours replaced, by kernel name: the fallbacks, and what unregistering restores. */
const originals = new Map<string, tf.KernelConfig>();
let registered = false;

export function wasmKernelStats(): WasmKernelStats {
  return { ...stats };
}

/**
 * Registers, for the 'wasm' backend, the Conv2D-based `Conv2DBackpropFilter` (wasm has none) and
 * `Conv2DBackpropInput` kernels and a single-pass `MaxPoolGrad`; the last two replace wasm's own,
 * which stay the fallbacks for cases they do not handle. Safe to call any number of times,
 * before or after the wasm backend is initialized. The options keep wasm's own kernels (for
 * benchmarks); they apply to the first call after loading or after unregistering.
 */
export function registerWasmTrainingKernels(opts: WasmTrainingKernelOptions = {}): void {
  if (registered) return;
  if (tf.getKernel(tf.Conv2DBackpropFilter, WASM) === undefined) {
    tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: WASM, kernelFunc: filterKernelFunc });
  }
  if (opts.inputGradient ?? true) replaceKernel(tf.Conv2DBackpropInput, inputKernelFunc);
  if (opts.maxPoolGradient ?? true) replaceKernel(tf.MaxPoolGrad, maxPoolGradKernelFunc);
  if (opts.matMulTranspose ?? true) replaceKernel(tf.BatchMatMul, batchMatMulKernelFunc);
  registered = true;
}

/** Undoes `registerWasmTrainingKernels`: wasm as shipped (which cannot train conv layers). */
export function unregisterWasmTrainingKernels(): void {
  if (!registered) return;
  if (tf.getKernel(tf.Conv2DBackpropFilter, WASM)?.kernelFunc === filterKernelFunc) {
    tf.unregisterKernel(tf.Conv2DBackpropFilter, WASM);
  }
  restoreKernel(tf.Conv2DBackpropInput, inputKernelFunc);
  restoreKernel(tf.MaxPoolGrad, maxPoolGradKernelFunc);
  restoreKernel(tf.BatchMatMul, batchMatMulKernelFunc);
  registered = false;
}

function replaceKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  const current = tf.getKernel(kernelName, WASM);
  if (current?.kernelFunc === kernelFunc) return;
  if (current !== undefined) {
    originals.set(kernelName, current);
    tf.unregisterKernel(kernelName, WASM);
  }
  tf.registerKernel({
    kernelName,
    backendName: WASM,
    kernelFunc,
    // wasm's kernels bind their C functions in their setup; the original is no longer in the
    // registry, so run its setup whenever the engine sets up the wasm backend's kernels.
    setupFunc: (backend) => originals.get(kernelName)?.setupFunc?.(backend),
  });
}

function restoreKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, WASM)?.kernelFunc !== kernelFunc) return;
  tf.unregisterKernel(kernelName, WASM);
  const original = originals.get(kernelName);
  if (original) tf.registerKernel(original);
}

function runOriginal(kernelName: string, args: KernelArgs<unknown, unknown>): tf.TensorInfo {
  const original = originals.get(kernelName);
  if (!original) throw new Error(`wasm's own ${kernelName} kernel is not available.`);
  return original.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

interface KernelArgs<I, A> {
  inputs: I;
  backend: BackendWasm;
  attrs: A;
}

/** BatchMatMul with any transposed operand made explicit, then wasm's own kernel without transposes. */
function batchMatMul(args: KernelArgs<{ a: tf.TensorInfo; b: tf.TensorInfo }, tf.BatchMatMulAttrs>): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  if (!attrs.transposeA && !attrs.transposeB) return runOriginal(tf.BatchMatMul, args);
  const temps = new Temps(backend);
  try {
    const swapLast = (t: tf.TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      return temps.add(runKernel(backend, tf.Transpose, { x: t }, { perm }));
    };
    const a = attrs.transposeA ? swapLast(inputs.a) : inputs.a;
    const b = attrs.transposeB ? swapLast(inputs.b) : inputs.b;
    stats.matMulTransposed++;
    return runOriginal(tf.BatchMatMul, {
      inputs: { a, b },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
  } finally {
    temps.dispose();
  }
}

function conv2DBackpropFilter(
  args: KernelArgs<{ x: tf.TensorInfo; dy: tf.TensorInfo }, tf.Conv2DBackpropFilterAttrs>,
): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat === 'NCHW') {
    throw new Error("Conv2DBackpropFilter on wasm supports NHWC only (as does wasm's Conv2D).");
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  checkShape('dy', dy.shape, info.outShape);
  const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;

  const temps = new Temps(backend);
  try {
    const xT = temps.add(runKernel(backend, tf.Transpose, { x }, { perm: [3, 1, 2, 0] })); // [Cin,H,W,N]
    const dyT = temps.add(runKernel(backend, tf.Transpose, { x: dy }, { perm: [1, 2, 0, 3] })); // [Ho,Wo,N,Cout]
    const pads: Pads = {
      top: padInfo.top,
      bottom: kh + (ho - 1) * sh - h - padInfo.top,
      left: padInfo.left,
      right: kw + (wo - 1) * sw - w - padInfo.left,
    };
    const grad = temps.add(conv2dSignedPads(backend, temps, xT, dyT, pads, [sh, sw])); // [Cin,kh,kw,Cout]
    const out = runKernel(backend, tf.Transpose, { x: grad }, { perm: [1, 2, 0, 3] });
    stats.filter++;
    return out;
  } finally {
    temps.dispose();
  }
}

function conv2DBackpropInput(
  args: KernelArgs<{ dy: tf.TensorInfo; filter: tf.TensorInfo }, tf.Conv2DBackpropInputAttrs>,
): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  if (dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    stats.inputFallback++;
    return runOriginal(tf.Conv2DBackpropInput, args);
  }
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as Shape4,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  checkShape('dy', dy.shape, info.outShape);
  const { inHeight: h, inWidth: w, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;

  const temps = new Temps(backend);
  try {
    let dx: tf.TensorInfo;
    if (sh === 1 && sw === 1) {
      // A single phase: all of dx, with every tap.
      const rows = phaseAxis(h, ho, kh, 1, padInfo.top, 0)!;
      const cols = phaseAxis(w, wo, kw, 1, padInfo.left, 0)!;
      dx = inputPhase(backend, temps, dy, filter, rows, cols);
    } else {
      dx = temps.add(backend.makeOutput(inputShape, 'float32'));
      (backend.typedArrayFromHeap(dx) as Float32Array).fill(0); // phases without filter taps stay 0
      for (let ph = 0; ph < sh; ph++) {
        for (let pw = 0; pw < sw; pw++) {
          const rows = phaseAxis(h, ho, kh, sh, padInfo.top, ph);
          const cols = phaseAxis(w, wo, kw, sw, padInfo.left, pw);
          if (rows === undefined || cols === undefined) continue;
          const part = temps.add(inputPhase(backend, temps, dy, filter, rows, cols));
          scatterPhase(backend, part, dx, ph, pw, sh, sw);
          temps.free(part);
        }
      }
      temps.keep(dx);
    }
    stats.input++;
    return dx;
  } finally {
    temps.dispose();
  }
}

/**
 * One spatial axis of a phase of the input gradient: its outputs phase, phase + s, ... receive
 * dy through the filter taps firstTap, firstTap + s, ... (`taps` of them, `step` = s) only.
 */
interface PhaseAxis {
  firstTap: number;
  taps: number;
  step: number;
  /** Padding of dy for the stride-1 conv (negative: crop), before and after. */
  padBefore: number;
  padAfter: number;
}

/**
 * For input size n, dy size nOut, kernel size k, stride s and forward padding `pad` before the
 * axis; undefined when the phase has no outputs or no taps.
 */
function phaseAxis(n: number, nOut: number, k: number, s: number, pad: number, phase: number): PhaseAxis | undefined {
  const size = Math.ceil((n - phase) / s);
  const firstTap = (phase + pad) % s;
  const taps = firstTap < k ? Math.ceil((k - firstTap) / s) : 0;
  if (size <= 0 || taps === 0) return undefined;
  // Output q of this phase reads dy[q + shift - m] through tap firstTap + m*s.
  const shift = (phase + pad - firstTap) / s;
  const padBefore = taps - 1 - shift;
  return { firstTap, taps, step: s, padBefore, padAfter: size - nOut - padBefore + taps - 1 };
}

/** One phase of the input gradient: a stride-1 Conv2D of dy with the flipped taps that reach it. */
function inputPhase(
  backend: BackendWasm,
  temps: Temps,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  rows: PhaseAxis,
  cols: PhaseAxis,
): tf.TensorInfo {
  const taps = temps.add(flippedTaps(backend, filter, rows, cols));
  const pads: Pads = { top: rows.padBefore, bottom: rows.padAfter, left: cols.padBefore, right: cols.padAfter };
  return conv2dSignedPads(backend, temps, dy, taps, pads, [1, 1]);
}

/**
 * The filter taps of one phase, spatially flipped, with in and out channels swapped:
 * [taps_h, taps_w, Cout, Cin] from [kh, kw, Cin, Cout].
 */
function flippedTaps(backend: BackendWasm, filter: tf.TensorInfo, rows: PhaseAxis, cols: PhaseAxis): tf.TensorInfo {
  const [, kw, cin, cout] = filter.shape;
  const out = backend.makeOutput([rows.taps, cols.taps, cout, cin], 'float32');
  // Views taken after the allocation: growing the wasm heap detaches older views.
  const f = backend.typedArrayFromHeap(filter) as Float32Array;
  const g = backend.typedArrayFromHeap(out) as Float32Array;
  let o = 0;
  for (let m = 0; m < rows.taps; m++) {
    const a = rows.firstTap + (rows.taps - 1 - m) * rows.step;
    for (let m2 = 0; m2 < cols.taps; m2++) {
      const b = cols.firstTap + (cols.taps - 1 - m2) * cols.step;
      const tap = (a * kw + b) * cin * cout;
      for (let co = 0; co < cout; co++) {
        for (let ci = 0; ci < cin; ci++) g[o++] = f[tap + ci * cout + co];
      }
    }
  }
  return out;
}

/** Writes a phase [N,Q,R,C] into dx [N,H,W,C] at rows ph + i*sh and columns pw + j*sw. */
function scatterPhase(
  backend: BackendWasm,
  part: tf.TensorInfo,
  dx: tf.TensorInfo,
  ph: number,
  pw: number,
  sh: number,
  sw: number,
): void {
  const [n, q, r, c] = part.shape;
  const [, h, w] = dx.shape;
  const src = backend.typedArrayFromHeap(part) as Float32Array;
  const dst = backend.typedArrayFromHeap(dx) as Float32Array;
  let s = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < q; i++) {
      let d = ((b * h + ph + i * sh) * w + pw) * c;
      for (let j = 0; j < r; j++, d += sw * c) {
        for (let k = 0; k < c; k++) dst[d + k] = src[s++];
      }
    }
  }
}

/**
 * The gradient of max pooling in one pass over the windows: each window's dy goes to the first
 * position (row-major) holding the window's maximum, as on the cpu backend (wasm's own kernel
 * rescans every window around every input pixel, and breaks ties differently). Where windows
 * overlap, a pixel's contributions add up in window order, as on cpu.
 */
function maxPoolGrad(
  args: KernelArgs<{ dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo }, tf.MaxPoolGradAttrs>,
): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, input } = inputs;
  if (input.dtype !== 'float32' || dy.dtype !== 'float32') {
    stats.maxPoolGradFallback++;
    return runOriginal(tf.MaxPoolGrad, args);
  }
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = tf.backend_util.computePool2DInfo(input.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
  checkShape('dy', dy.shape, info.outShape);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw, padInfo } = info;

  const dx = backend.makeOutput(input.shape, 'float32');
  // Views taken after the allocation: growing the wasm heap detaches older views.
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const out = backend.typedArrayFromHeap(dx) as Float32Array;
  out.fill(0);
  const rowStride = w * c;
  let gi = 0;
  for (let b = 0; b < n; b++) {
    for (let yR = 0; yR < ho; yR++) {
      const r0 = yR * sh - padInfo.top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(h, r0 + fh);
      for (let yC = 0; yC < wo; yC++, gi += c) {
        const c0 = yC * sw - padInfo.left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(w, c0 + fw);
        const corner = ((b * h + rMin) * w + cMin) * c;
        for (let d = 0; d < c; d++) {
          // Strictly greater, starting below everything: the first maximum wins, and a window
          // of -Infinity/NaN only passes no gradient (as on cpu).
          let best = -Infinity;
          let where = -1;
          for (let r = rMin, row = corner + d; r < rMax; r++, row += rowStride) {
            for (let col = cMin, at = row; col < cMax; col++, at += c) {
              const v = x[at];
              if (v > best) {
                best = v;
                where = at;
              }
            }
          }
          if (where >= 0) out[where] += g[gi + d];
        }
      }
    }
  }
  stats.maxPoolGrad++;
  return dx;
}

/**
 * A stride-1 NHWC Conv2D whose paddings may be negative: a negative padding crops that many
 * rows/columns of `x` on that side, a positive one pads with zeros (inside XNNPACK).
 */
function conv2dSignedPads(
  backend: BackendWasm,
  temps: Temps,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  pads: Pads,
  dilations: [number, number],
): tf.TensorInfo {
  const crop = (p: number) => Math.max(0, -p);
  let input = x;
  if (pads.top < 0 || pads.bottom < 0 || pads.left < 0 || pads.right < 0) {
    const [n, h, w, c] = x.shape;
    input = temps.add(
      runKernel(
        backend,
        tf.Slice,
        { x },
        {
          begin: [0, crop(pads.top), crop(pads.left), 0],
          size: [n, h - crop(pads.top) - crop(pads.bottom), w - crop(pads.left) - crop(pads.right), c],
        },
      ),
    );
  }
  const explicit: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [Math.max(0, pads.top), Math.max(0, pads.bottom)],
    [Math.max(0, pads.left), Math.max(0, pads.right)],
    [0, 0],
  ];
  return runKernel(
    backend,
    tf.Conv2D,
    { x: input, filter },
    {
      strides: [1, 1],
      pad: explicit,
      dataFormat: 'NHWC',
      dilations,
    },
  );
}

function runKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, WASM);
  if (kernel === undefined) throw new Error(`The wasm backend has no ${kernelName} kernel.`);
  return kernel.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

function checkShape(what: string, actual: number[], expected: number[]): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`Conv2D gradient on wasm: ${what} has shape [${actual}], expected [${expected}].`);
  }
}

/** Intermediate results of a kernel, released together. */
class Temps {
  private readonly infos: tf.TensorInfo[] = [];
  constructor(private readonly backend: BackendWasm) {}

  add(info: tf.TensorInfo): tf.TensorInfo {
    this.infos.push(info);
    return info;
  }

  /** Takes `info` back out: it outlives the kernel (its result). */
  keep(info: tf.TensorInfo): void {
    const i = this.infos.indexOf(info);
    if (i >= 0) this.infos.splice(i, 1);
  }

  /** Releases `info` now rather than at the end. */
  free(info: tf.TensorInfo): void {
    this.keep(info);
    this.backend.disposeData(info.dataId);
  }

  dispose(): void {
    for (const info of this.infos) this.backend.disposeData(info.dataId);
    this.infos.length = 0;
  }
}

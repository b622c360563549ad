// Layer rotation: the cosine distance of each kernel to its initial value, and the stepwise
// rotation since the previous record: three sums per layer, accumulated in float64 (on wasm by a
// SIMD kernel on the module's heap, on cpu by a JS loop over the backend's arrays; elsewhere tf ops
// on the device, with a single read-back).
//
// The cosine distance is computed from squared norms of differences,
//   1 - cos(a, b) = (|a - b|^2 - (|a| - |b|)^2) / (2 |a| |b|),
// which keeps float32's relative precision for small angles, where 1 - <a,b>/(|a||b|) would
// cancel to noise (about 1e-7, a tan of 4e-4 for a step that turned nothing).
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmRotationReducer } from './backend/wasm-reduce';

export interface RotationRecord {
  /** Per layer, in forward order: 1 - cos(w(t), w(0)). */
  distances: number[];
  /** Per layer: tan of the angle turned since the previous record (0 at the first). */
  rotation: number[];
}

/** Cosine distance from |a - b|^2, |a|^2 and |b|^2 (0 when a norm is 0). */
export function cosineDistance(diffSq: number, aa: number, bb: number): number {
  const a = Math.sqrt(aa);
  const b = Math.sqrt(bb);
  if (a === 0 || b === 0) return 0;
  const d = (diffSq - (a - b) * (a - b)) / (2 * a * b);
  return Math.min(2, Math.max(0, d));
}

/** tan of the angle whose cosine distance is c, as the paper's companion code derives it. */
export function tanFromCosineDistance(c: number): number {
  const cos = 1 - c;
  if (cos <= 0) return Infinity;
  return Math.sqrt(Math.max(0, 1 / (cos * cos) - 1));
}

/** A tensor's values on the cpu backend, without a copy. */
function cpuValues(t: tf.Tensor): ArrayLike<number> {
  return tf.backend().readSync(t.dataId) as Float32Array;
}

export class RotationMonitor {
  private readonly initial: tf.Tensor[];
  private readonly initialSq: number[];
  private previous: tf.Tensor[];
  private previousSq: number[];

  constructor(private readonly kernels: tf.Variable[]) {
    this.initial = kernels.map((k) => tf.keep(k.clone()));
    this.previous = kernels.map((k) => tf.keep(k.clone()));
    // On wasm, the same float64-accumulating pass as the records (a tfjs Sum adds in float32).
    const sq =
      tf.getBackend() === 'wasm'
        ? this.reductionsOnWasmHeap(false).values.filter((_, j) => j % 3 === 1)
        : tf.getBackend() === 'cpu'
          ? this.reductionsInJs(cpuValues).filter((_, j) => j % 3 === 1)
          : tf.tidy(() => tf.stack(kernels.map((k) => tf.sum(tf.mul(k, k)))).dataSync());
    this.initialSq = Array.from(sq);
    this.previousSq = Array.from(sq);
  }

  /**
   * Per layer: |w - w0|^2, |w|^2, |w - w_previous|^2, in one array; and whether the previous
   * copies were updated to the current kernels in the same pass (wasm only).
   */
  private reductions(): { values: ArrayLike<number>; previousUpdated: boolean } {
    if (tf.getBackend() === 'wasm') return this.reductionsOnWasmHeap(true);
    // On cpu the values are JS arrays already: read them in place (readSync gives the backend's own array).
    if (tf.getBackend() === 'cpu') return { values: this.reductionsInJs(cpuValues), previousUpdated: false };
    const values = tf.tidy(() => {
      const scalars: tf.Scalar[] = [];
      this.kernels.forEach((w, i) => {
        scalars.push(
          tf.sum(tf.squaredDifference(w, this.initial[i])),
          tf.sum(tf.square(w)),
          tf.sum(tf.squaredDifference(w, this.previous[i])),
        );
      });
      return tf.stack(scalars).dataSync();
    });
    return { values, previousUpdated: false };
  }

  /**
   * On wasm the tensors live in the module's heap: one pass over each kernel and its two
   * references, read in place (no copy, no intermediate tensors). A chain of tfjs ops would
   * make about 18 passes and cost 10% of a small MLP's step. The pass is the SIMD kernel of
   * ./wasm-reduce, run on the heap itself (float32 lanes over chunks of 256, totals in
   * float64), or, where the engine cannot run it, a JS loop accumulating in float64.
   * With `updatePrevious`, the kernel also copies each w over its previous copy as it reads
   * them, when those copies own their buffers (wasm's clone copies): the next record's
   * reference costs no clone (a read, a write and an allocation per kernel).
   * Byte offsets and views are taken afresh at every call: the heap may have grown since.
   */
  private reductionsOnWasmHeap(updatePrevious: boolean): { values: Float64Array; previousUpdated: boolean } {
    const backend = tf.backend() as unknown as BackendWasm;
    const out = new Float64Array(3 * this.kernels.length);
    const reduce = wasmRotationReducer(backend);
    if (reduce) {
      const copy = updatePrevious && this.previous.every((p) => backend.refCount(p.dataId) === 1);
      const offset = (t: tf.Tensor) => backend.getMemoryOffset(t.dataId);
      this.kernels.forEach((k, i) => {
        const sums = reduce(offset(k), offset(this.initial[i]), offset(this.previous[i]), k.size, copy);
        out[3 * i] = sums[0];
        out[3 * i + 1] = sums[1];
        out[3 * i + 2] = sums[2];
      });
      return { values: out, previousUpdated: copy };
    }
    const view = (t: tf.Tensor) =>
      backend.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: 'float32' }) as Float32Array;
    return { values: this.reductionsInJs(view), previousUpdated: false };
  }

  /**
   * The same sums by a JS loop over the kernels' float32 values, accumulating in float64 (a tfjs
   * Sum adds in float32, in order: about 1e-3 relative error on a layer of millions of weights).
   */
  private reductionsInJs(view: (t: tf.Tensor) => ArrayLike<number>): Float64Array {
    const out = new Float64Array(3 * this.kernels.length);
    this.kernels.forEach((k, i) => {
      const w = view(k);
      const w0 = view(this.initial[i]);
      const wp = view(this.previous[i]);
      let d0 = 0;
      let sq = 0;
      let dp = 0;
      for (let j = 0; j < w.length; j++) {
        const x = w[j];
        const a = x - w0[j];
        const b = x - wp[j];
        d0 += a * a;
        sq += x * x;
        dp += b * b;
      }
      out[3 * i] = d0;
      out[3 * i + 1] = sq;
      out[3 * i + 2] = dp;
    });
    return out;
  }

  /** Distances now, and rotation since the previous call (or since the start). */
  record(): RotationRecord {
    const n = this.kernels.length;
    const { values, previousUpdated } = this.reductions();
    const distances: number[] = new Array(n);
    const rotation: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const diff0 = values[3 * i];
      const sq = values[3 * i + 1];
      const diffPrev = values[3 * i + 2];
      distances[i] = cosineDistance(diff0, sq, this.initialSq[i]);
      rotation[i] = tanFromCosineDistance(cosineDistance(diffPrev, sq, this.previousSq[i]));
      this.previousSq[i] = sq;
    }
    if (!previousUpdated) {
      for (const t of this.previous) t.dispose();
      this.previous = this.kernels.map((k) => tf.keep(k.clone()));
    }
    return { distances, rotation };
  }

  dispose(): void {
    for (const t of [...this.initial, ...this.previous]) t.dispose();
  }
}

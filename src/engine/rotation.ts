// Layer rotation: the cosine distance of each kernel to its initial value, and the stepwise
// rotation since the previous record. The reductions run on the backend's device; only
// 3 scalars per layer come back, in a single read-back.
//
// The cosine distance is computed from squared norms of differences,
//   1 - cos(a, b) = (|a - b|^2 - (|a| - |b|)^2) / (2 |a| |b|),
// which keeps float32's relative precision for small angles, where 1 - <a,b>/(|a||b|) would
// cancel to noise (about 1e-7, a tan of 4e-4 for a step that turned nothing).
import * as tf from '@tensorflow/tfjs-core';

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

export class RotationMonitor {
  private readonly initial: tf.Tensor[];
  private readonly initialSq: number[];
  private previous: tf.Tensor[];
  private previousSq: number[];

  constructor(private readonly kernels: tf.Variable[]) {
    this.initial = kernels.map((k) => tf.keep(k.clone()));
    this.previous = kernels.map((k) => tf.keep(k.clone()));
    const sq = tf.tidy(() => tf.stack(kernels.map((k) => tf.sum(tf.mul(k, k)))).dataSync());
    this.initialSq = Array.from(sq);
    this.previousSq = Array.from(sq);
  }

  /** Distances now, and rotation since the previous call (or since the start). */
  record(): RotationRecord {
    const n = this.kernels.length;
    const values = tf.tidy(() => {
      const scalars: tf.Scalar[] = [];
      this.kernels.forEach((w, i) => {
        const d0 = tf.sub(w, this.initial[i]);
        const dPrev = tf.sub(w, this.previous[i]);
        scalars.push(tf.sum(tf.mul(d0, d0)), tf.sum(tf.mul(w, w)), tf.sum(tf.mul(dPrev, dPrev)));
      });
      return tf.stack(scalars).dataSync();
    });
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
    for (const t of this.previous) t.dispose();
    this.previous = this.kernels.map((k) => tf.keep(k.clone()));
    return { distances, rotation };
  }

  dispose(): void {
    for (const t of [...this.initial, ...this.previous]) t.dispose();
  }
}

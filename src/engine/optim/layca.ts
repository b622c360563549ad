// Layca (LAYer-level Controlled Amount of weight rotation), as Carbonnelle and De Vleeschouwer state
// it (arXiv:1806.01603; docs/layer-rotation.md):
//   s  <- s - (<s, w> / ||w||^2) w      project onto the tangent space of the sphere
//   s  <- s * ||w|| / ||s||              unit rotation per step (s = 0 if ||s|| ~ 0)
//   w' <- w - rho * s
//   w' <- w' * ||w|| / ||w'||            keep the norm w had before the step
// so every step turns the kernel by exactly atan(rho). Everything stays on the device.
import * as tf from '@tensorflow/tfjs-core';

/** Below this norm a projected step counts as zero (no rotation this step). */
export const LAYCA_EPS = 1e-12;

function sumSquares(x: tf.Tensor): tf.Scalar {
  // sqrt(sum(x*x)) is much cheaper than tf.norm on wasm (which goes through pow).
  return tf.sum(tf.mul(x, x));
}

/** The new kernel after one Layca step of rate `rho` along the optimizer's step `s`. Call inside tf.tidy. */
export function laycaUpdate(w: tf.Tensor, s: tf.Tensor, rho: number): tf.Tensor {
  const w2 = sumSquares(w);
  const wNorm = tf.sqrt(w2);
  const projected = tf.sub(s, tf.mul(tf.div(tf.sum(tf.mul(s, w)), w2), w));
  const sNorm = tf.sqrt(sumSquares(projected));
  const scale = tf.where(
    tf.greater(sNorm, LAYCA_EPS),
    tf.div(wNorm, tf.maximum(sNorm, LAYCA_EPS)),
    tf.zerosLike(sNorm),
  );
  const stepped = tf.sub(w, tf.mul(projected, tf.mul(scale, rho)));
  return tf.mul(stepped, tf.div(wNorm, tf.sqrt(sumSquares(stepped))));
}

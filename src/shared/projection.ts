// Where each layer is on course to end: from its recent rotation rate (distance per epoch over
// about the last epoch of records) and the learning rate still to come. A layer's rotation speed
// is proportional to its learning rate (exactly so with Layca), so the remaining rotation is the
// recent speed, divided by the recent learning rate, times the integral of the learning rate
// over the remaining epochs. Pure: used by the editor's diagnostics and by the monitor webview.
import { learningRateAt } from '../engine/optim/schedule';

export interface RotationPoint {
  epoch: number;
  distances: (number | null)[];
}

export interface ScheduleInfo {
  learningRate: number;
  decay?: { factor: number; epochs: number[] };
  warmupEpochs: number;
}

export interface LayerCourse {
  /** Latest distance (null if unknown). */
  now: number | null;
  /** Distance per epoch, lately (null with fewer than two records). */
  ratePerEpoch: number | null;
  /** Projected distance at the end of training (null if unknown). */
  projected: number | null;
}

/** Slope of distance per epoch over the records of the last `window` epochs (least squares). */
export function recentRate(points: RotationPoint[], layer: number, window = 1): number | null {
  if (points.length < 2) return null;
  const end = points[points.length - 1].epoch;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i];
    const d = p.distances[layer];
    if (typeof d === 'number' && Number.isFinite(d)) {
      xs.push(p.epoch);
      ys.push(d);
    }
    if (end - p.epoch >= window && xs.length >= 2) break;
  }
  if (xs.length < 2) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den > 0 ? num / den : null;
}

/** Integral of the learning rate over [from, to] epochs (numerically, 200 slices). */
export function learningRateIntegral(schedule: ScheduleInfo, from: number, to: number): number {
  if (to <= from) return 0;
  const n = 200;
  const h = (to - from) / n;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += learningRateAt(schedule.learningRate, schedule, from + (i + 0.5) * h);
  return sum * h;
}

/** Each layer's course: where it is, how fast it moves lately, where it is heading by `totalEpochs`. */
export function layerCourses(points: RotationPoint[], layers: number, totalEpochs: number, schedule?: ScheduleInfo): LayerCourse[] {
  const last = points[points.length - 1];
  const epochNow = last?.epoch ?? 0;
  const remaining = Math.max(0, totalEpochs - epochNow);
  // Scale of the remaining rotation relative to the recent rate: remaining LR integral over
  // the mean LR of the last epoch; without a schedule, the remaining epochs.
  let scale = remaining;
  if (schedule && remaining > 0) {
    const windowStart = Math.max(0, epochNow - 1);
    const recentLr = learningRateIntegral(schedule, windowStart, epochNow) / Math.max(epochNow - windowStart, 1e-9);
    if (recentLr > 0) scale = learningRateIntegral(schedule, epochNow, totalEpochs) / recentLr;
  }
  return Array.from({ length: layers }, (_, l) => {
    const d = last?.distances[l];
    const now = typeof d === 'number' && Number.isFinite(d) ? d : null;
    const ratePerEpoch = recentRate(points, l);
    const projected = now === null ? null : ratePerEpoch === null ? now : Math.min(2, Math.max(0, now + Math.max(0, ratePerEpoch) * scale));
    return { now, ratePerEpoch, projected };
  });
}

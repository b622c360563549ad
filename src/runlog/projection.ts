// Where each layer is on course to end: from its recent rotation rate (distance per epoch over
// about the last epoch of records) and the learning rate still to come. A layer's rotation speed
// is proportional to its learning rate (exactly so with Layca), so the remaining rotation is the
// recent speed, divided by the recent learning rate, times the integral of the learning rate
// over the remaining epochs. Pure: used by the editor's diagnostics and by the monitor webview.
import { learningRateAt } from './schedule';

export interface RotationPoint {
  epoch: number;
  distances: (number | null)[];
}

export interface ScheduleInfo {
  learningRate: number;
  decay?: { factor: number; epochs: number[] };
  warmupEpochs?: number;
}

/** The scheduled (base) learning rate at a fractional epoch, as the engine computes it. */
export function scheduledRate(s: ScheduleInfo, epoch: number): number {
  return learningRateAt(s.learningRate, { decay: s.decay, warmupEpochs: s.warmupEpochs ?? 0 }, epoch);
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

/** The integral of the learning rate over [from, to] (epochs), exact for warmup + step decay. */
export function learningRateIntegral(s: ScheduleInfo, from: number, to: number): number {
  if (!(to > from)) return 0;
  const warm = s.warmupEpochs ?? 0;
  const cuts = [from, to];
  if (warm > from && warm < to) cuts.push(warm);
  for (const e of s.decay?.epochs ?? []) if (e > from && e < to) cuts.push(e);
  cuts.sort((a, b) => a - b);
  let sum = 0;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = Math.max(cuts[i], 0);
    const b = Math.max(cuts[i + 1], 0);
    if (b <= a) continue;
    // Constant decay level inside the piece; a linear ramp if the piece is in the warmup.
    const level = scheduledRate({ ...s, warmupEpochs: 0 }, (a + b) / 2);
    sum += warm > 0 && b <= warm ? (level * (b * b - a * a)) / (2 * warm) : level * (b - a);
  }
  return sum;
}

export interface ProjectionInput {
  /** Distance now, at `epoch`. */
  current: number;
  epoch: number;
  /** Recent distance per epoch, measured since `slopeFrom`. */
  slope: number;
  slopeFrom: number;
  /** Where the run is planned to end. */
  endEpoch: number;
  schedule?: ScheduleInfo;
}

/**
 * Where a layer is on course to end: the distance now plus the recent slope times the epochs left,
 * each remaining epoch weighted by its learning rate relative to the mean rate over the slope's
 * window (a layer turns in proportion to its rate; exactly so with Layca). Clamped to [0, 2].
 */
export function projectDistance(p: ProjectionInput): number {
  const left = Math.max(0, p.endEpoch - p.epoch);
  let effective = left;
  if (p.schedule && left > 0) {
    const span = p.epoch - p.slopeFrom;
    const ref =
      span > 0 ? learningRateIntegral(p.schedule, p.slopeFrom, p.epoch) / span : scheduledRate(p.schedule, p.epoch);
    const ahead = learningRateIntegral(p.schedule, p.epoch, p.endEpoch);
    if (ref > 0 && Number.isFinite(ref) && Number.isFinite(ahead)) effective = ahead / ref;
  }
  return Math.min(2, Math.max(0, p.current + p.slope * effective));
}

/** Each layer's course: where it is, how fast it moves lately, where it is heading by `totalEpochs`. */
export function layerCourses(
  points: RotationPoint[],
  layers: number,
  totalEpochs: number,
  schedule?: ScheduleInfo,
): LayerCourse[] {
  const last = points[points.length - 1];
  const epoch = last?.epoch ?? 0;
  // The slope's window: about the last epoch of records.
  const slopeFrom = points.find((p) => epoch - p.epoch <= 1)?.epoch ?? epoch;
  return Array.from({ length: layers }, (_, l) => {
    const d = last?.distances[l];
    const now = typeof d === 'number' && Number.isFinite(d) ? d : null;
    const ratePerEpoch = recentRate(points, l);
    const projected =
      now === null
        ? null
        : ratePerEpoch === null
          ? now
          : projectDistance({
              current: now,
              epoch,
              slope: Math.max(0, ratePerEpoch),
              slopeFrom,
              endEpoch: totalEpochs,
              schedule,
            });
    return { now, ratePerEpoch, projected };
  });
}

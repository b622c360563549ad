// Per-layer analysis for the monitor's layer table: how fast each layer turns lately, where it
// is on course to end, and whether it lags. Pure functions (no DOM), tested in Node.

import { learningRateIntegral, projectDistance, scheduledRate, type ScheduleInfo } from '../../src/runlog/projection';

/** The learning-rate schedule as run_started.schedule gives it (multipliers are per layer constants: they cancel out). */
export type LrSchedule = ScheduleInfo;
export { learningRateIntegral, projectDistance };
export const learningRateAt = scheduledRate;

/**
 * Where the epoch axis ends while a run goes: the next "nice" value (1, 1.2, 1.5, 2, 2.5, 3, 4,
 * 5, 6, 8 x 10^k) at or above the last epoch, but not past the planned end. It moves in steps, so
 * the curves drawn so far keep their place between steps and new records only add to them.
 */
export function axisEnd(last: number, plannedEnd: number): number {
  if (!(last > 0)) return plannedEnd > 0 ? Math.min(plannedEnd, 1) : 1;
  const p = 10 ** Math.floor(Math.log10(last));
  let nice = 10 * p;
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8]) {
    if (m * p >= last * (1 - 1e-12)) {
      nice = m * p;
      break;
    }
  }
  return Math.max(last, plannedEnd > 0 ? Math.min(nice, plannedEnd) : nice);
}

/** Index of the first x >= value in the sorted xs[0..n). */
export function lowerBound(xs: ArrayLike<number>, n: number, value: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Least-squares slope of ys against xs over the records [from, n), finite values only; null with
 * fewer than two such records or no spread in x.
 */
export function slope(xs: ArrayLike<number>, ys: ArrayLike<number>, from: number, n: number): number | null {
  let count = 0;
  let sx = 0;
  let sy = 0;
  for (let i = from; i < n; i++) {
    const x = xs[i];
    const y = ys[i];
    if (Number.isFinite(x) && Number.isFinite(y)) {
      count++;
      sx += x;
      sy += y;
    }
  }
  if (count < 2) return null;
  const mx = sx / count;
  const my = sy / count;
  let sxy = 0;
  let sxx = 0;
  for (let i = from; i < n; i++) {
    const x = xs[i];
    const y = ys[i];
    if (Number.isFinite(x) && Number.isFinite(y)) {
      sxy += (x - mx) * (y - my);
      sxx += (x - mx) * (x - mx);
    }
  }
  return sxx > 0 ? sxy / sxx : null;
}

/**
 * The first record of the "recent" window: the records of the last `window` epochs, widened to
 * at least the last 3 records (or all there are), so that a slope can be taken.
 */
export function recentStart(xs: ArrayLike<number>, n: number, window = 1): number {
  if (n === 0) return 0;
  const start = lowerBound(xs, n, xs[n - 1] - window);
  return Math.max(0, Math.min(start, n - 3));
}

export interface LayerStatus {
  /** Distance now (final when finished); null when unknown or not finite. */
  distance: number | null;
  /** Distance per epoch over the last epoch of records. */
  perEpoch: number | null;
  /** Where it is on course to end (the final distance when finished). */
  projected: number | null;
  /** Below target - lagMargin: finally (finished) or on course to (running). */
  lagging: boolean;
}

export interface AnalysisInput {
  /** Fractional epoch of each rotation record, ascending, and per layer its distances; n records. */
  epochs: ArrayLike<number>;
  distances: ArrayLike<number>[];
  n: number;
  target: number;
  lagMargin: number;
  endEpoch: number;
  schedule?: LrSchedule;
  /** When the run has finished: its final distances (or undefined to use the last records). */
  finished: boolean;
  finalDistances?: ArrayLike<number | null>;
}

const finite = (v: number | null | undefined): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;

/** Everything the layer table shows about each layer. */
export function analyseLayers(a: AnalysisInput): LayerStatus[] {
  const { n } = a;
  const threshold = a.target - a.lagMargin;
  const from = recentStart(a.epochs, n);
  const epoch = n > 0 ? a.epochs[n - 1] : 0;
  return a.distances.map((ys, i) => {
    // A NaN in the last record means no distance now (e.g. a diverged run): no fallback to older ones.
    const last = n > 0 ? finite(ys[n - 1]) : null;
    const perEpoch = n > 1 ? slope(a.epochs, ys, from, n) : null;
    if (a.finished) {
      const fin = a.finalDistances && a.finalDistances.length > i ? finite(a.finalDistances[i]) : last;
      return { distance: fin, perEpoch, projected: fin, lagging: fin === null || fin < threshold };
    }
    const projected =
      last === null
        ? null
        : perEpoch === null
          ? last
          : projectDistance({
              current: last,
              slope: perEpoch,
              epoch,
              slopeFrom: a.epochs[from],
              endEpoch: a.endEpoch,
              schedule: a.schedule,
            });
    return { distance: last, perEpoch, projected, lagging: projected !== null && projected < threshold };
  });
}

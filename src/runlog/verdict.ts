// Whether each layer of a run lags, and how to say it: the one rule behind the editor's warnings
// (config and run log), the monitor's layer table, the CLI's table, summary.json and
// run_finished.lagging. Pure, no Node: the monitor webview bundles it.
//
// A layer lags when it ends below target - lagMargin (run_started's target and lagMargin):
// - finished run: its final distance (run_finished.finalDistances, or the last record when the
//   run gave none); a distance that is not finite (NaN, null, missing) lags.
// - running run: where it is on course to end. The rate is the least-squares slope of distance
//   against epoch over the records of the last epoch, widened to at least 3 records (fewer
//   records in all: too early to say, no verdict). The projection is the distance now plus that
//   rate, clamped at 0, times the epochs left weighted by the learning rate still to come
//   relative to the mean rate over the slope's window (a layer turns in proportion to its rate;
//   exactly so with Layca); then clamped to [0, 2]. Clamped at 0 because a distance that dips
//   for a while (noise, weight decay) is not a layer turning back: extrapolating the dip over
//   the rest of the run would make a lagging verdict out of a transient. A layer whose distance
//   now is not finite has no projection, so no verdict while the run goes.
// Cost: a binary search for the window, then per layer the window's records only.
import type { LaggingLayer, RotationEvent, RunFinished, RunStarted } from './events';
import { learningRateAt } from './schedule';

/** The slope's window, in epochs back from the last record. */
export const RECENT_EPOCHS = 1;
/** The fewest records the slope's window holds, and the fewest a running run needs for a verdict. */
export const MIN_RECORDS = 3;

/** The learning-rate schedule as run_started.schedule gives it (per-layer multipliers cancel out). */
export interface ScheduleInfo {
  learningRate: number;
  decay?: { factor: number; epochs: number[] };
  warmupEpochs?: number;
}

/** The scheduled (base) learning rate at a fractional epoch, as the engines compute it. */
export function scheduledRate(s: ScheduleInfo, epoch: number): number {
  return learningRateAt(s.learningRate, { decay: s.decay, warmupEpochs: s.warmupEpochs ?? 0 }, epoch);
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

/** The first record of the slope's window: the last RECENT_EPOCHS of records, at least MIN_RECORDS. */
export function windowStart(epochs: ArrayLike<number>, n: number): number {
  if (n === 0) return 0;
  return Math.max(0, Math.min(lowerBound(epochs, n, epochs[n - 1] - RECENT_EPOCHS), n - MIN_RECORDS));
}

/** Least-squares slope of ys against xs over the records [from, n), finite pairs only; null with fewer than two or no spread. */
export function slope(xs: ArrayLike<number>, ys: ArrayLike<number>, from: number, n: number): number | null {
  let count = 0;
  let sx = 0;
  let sy = 0;
  for (let i = from; i < n; i++) {
    if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) {
      count++;
      sx += xs[i];
      sy += ys[i];
    }
  }
  if (count < 2) return null;
  const mx = sx / count;
  const my = sy / count;
  let sxy = 0;
  let sxx = 0;
  for (let i = from; i < n; i++) {
    if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) {
      sxy += (xs[i] - mx) * (ys[i] - my);
      sxx += (xs[i] - mx) ** 2;
    }
  }
  return sxx > 0 ? sxy / sxx : null;
}

/**
 * The epochs left from `epoch` to `endEpoch`, each weighted by its learning rate relative to the
 * mean rate over [slopeFrom, epoch]: what a rate measured there is multiplied by to project.
 */
export function effectiveEpochsLeft(
  epoch: number,
  slopeFrom: number,
  endEpoch: number,
  schedule?: ScheduleInfo,
): number {
  const left = Math.max(0, endEpoch - epoch);
  if (!schedule || left === 0) return left;
  const span = epoch - slopeFrom;
  const ref = span > 0 ? learningRateIntegral(schedule, slopeFrom, epoch) / span : scheduledRate(schedule, epoch);
  const ahead = learningRateIntegral(schedule, epoch, endEpoch);
  return ref > 0 && Number.isFinite(ref) && Number.isFinite(ahead) ? ahead / ref : left;
}

/** Where a layer at `current` and moving at `rate` per epoch ends after `effectiveLeft` epochs: in [0, 2], never below now. */
export function projectDistance(current: number, rate: number, effectiveLeft: number): number {
  return Math.min(2, Math.max(0, current + Math.max(0, rate) * effectiveLeft));
}

/** Rotation records as columns: epochs[0..n) ascending, and per layer its distances (NaN: unknown). */
export interface RotationColumns {
  epochs: ArrayLike<number>;
  distances: ArrayLike<number>[];
  n: number;
}

/** What the verdict needs to know of a run besides its records. */
export interface RunTerms {
  names: string[];
  target: number;
  lagMargin: number;
  /** Where the run is planned to end, in epochs. */
  endEpoch: number;
  schedule?: ScheduleInfo;
  finished: boolean;
  /** The run's final distances, when finished (a layer without one uses its last record). */
  finalDistances?: ArrayLike<number | null>;
}

export interface LayerVerdict {
  name: string;
  index: number;
  /** Distance now, or final when finished; null when not finite. */
  distance: number | null;
  /** Distance per epoch over the slope's window (as measured: not clamped). */
  perEpoch: number | null;
  /** The final distance (finished), or where it is on course to end (running); null: no verdict. */
  projected: number | null;
  lagging: boolean;
}

export interface RunVerdict {
  finished: boolean;
  target: number;
  lagMargin: number;
  layers: LayerVerdict[];
}

const finite = (v: number | null | undefined): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;

/** The verdict on every layer, from the records as columns. */
export function judge(cols: RotationColumns, run: RunTerms): RunVerdict {
  const { n } = cols;
  const threshold = run.target - run.lagMargin;
  const from = windowStart(cols.epochs, n);
  const epoch = n > 0 ? cols.epochs[n - 1] : 0;
  const early = !run.finished && n < MIN_RECORDS;
  const ahead = early ? 0 : effectiveEpochsLeft(epoch, n > 0 ? cols.epochs[from] : 0, run.endEpoch, run.schedule);
  const layers = run.names.map((name, index): LayerVerdict => {
    const ys = cols.distances[index];
    // The last record only: a NaN there (a diverged run) is no distance now, whatever came before.
    const last = n > 0 && ys ? finite(ys[n - 1]) : null;
    const perEpoch = n > 1 && ys ? slope(cols.epochs, ys, from, n) : null;
    if (run.finished) {
      const fin = run.finalDistances && run.finalDistances.length > index ? finite(run.finalDistances[index]) : last;
      return { name, index, distance: fin, perEpoch, projected: fin, lagging: fin === null || fin < threshold };
    }
    const projected = early || last === null ? null : projectDistance(last, perEpoch ?? 0, ahead);
    return { name, index, distance: last, perEpoch, projected, lagging: projected !== null && projected < threshold };
  });
  return { finished: run.finished, target: run.target, lagMargin: run.lagMargin, layers };
}

/** Where a run is planned to end, in epochs: its epochs, or earlier when its steps end first (maxSteps). */
export function plannedEndEpoch(s: Pick<RunStarted, 'epochs' | 'totalSteps' | 'stepsPerEpoch'>): number {
  return s.stepsPerEpoch > 0 && s.totalSteps > 0 ? Math.min(s.epochs, s.totalSteps / s.stepsPerEpoch) : s.epochs;
}

/** A run log as the host reads it (src/runlog/read.ts's RunLog fits). */
export interface LogLike {
  started?: RunStarted;
  rotations: RotationEvent[];
  finished?: RunFinished;
}

/** The verdict on a run log; undefined before run_started. Copies only the slope's window of records. */
export function judgeLog(log: LogLike): RunVerdict | undefined {
  const started = log.started;
  if (!started) return undefined;
  const recs = log.rotations;
  const epochs = Float64Array.from(recs, (r) => r.epoch);
  const from = windowStart(epochs, recs.length);
  const window = recs.slice(from);
  const cols: RotationColumns = {
    epochs: epochs.subarray(from),
    distances: started.layers.map((_, i) => Float64Array.from(window, (r) => finite(r.distances[i]) ?? NaN)),
    n: window.length,
  };
  const finals = log.finished?.finalDistances;
  return judge(cols, {
    names: started.layers.map((l) => l.name),
    target: started.target,
    lagMargin: started.lagMargin,
    endEpoch: plannedEndEpoch(started),
    schedule: started.schedule,
    finished: !!log.finished,
    finalDistances: finals?.length ? finals : undefined,
  });
}

/** The verdict at the end of a run from its final distances alone (an engine finishing a run). */
export function judgeFinal(
  names: string[],
  finalDistances: (number | null)[],
  target: number,
  lagMargin: number,
): RunVerdict {
  return judge(
    { epochs: [], distances: [], n: 0 },
    { names, target, lagMargin, endEpoch: 0, finished: true, finalDistances },
  );
}

/** run_finished.lagging: the lagging layers with their final distance (NaN, written null, when unknown). */
export function laggingEntries(v: RunVerdict): LaggingLayer[] {
  return v.layers.filter((l) => l.lagging).map((l) => ({ name: l.name, distance: l.projected ?? NaN }));
}

/**
 * The warning for a lagging layer; `remedy` is the advice of the place it is shown (the config
 * has quick fixes, a script's run log does not).
 */
export function lagMessage(l: LayerVerdict, v: RunVerdict, remedy: string): string {
  const where =
    l.projected === null
      ? 'ended without a finite cosine distance'
      : v.finished
        ? `ended at cosine distance ${l.projected.toFixed(2)}`
        : `is on course to end at cosine distance ${l.projected.toFixed(2)}`;
  return `Layer '${l.name}' ${where}, below the target ${v.target} by more than ${v.lagMargin}: it lags. ${remedy}`;
}

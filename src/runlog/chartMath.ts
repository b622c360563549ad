// What the monitor's charts and its exports compute from a run's records, shared by the webview
// (incrementally, as records come) and the extension host (an export, at once). Pure, no DOM, no
// Node:
// - the stepwise rotation rate of a layer: the tan of the angle it turns per step, from a
//   rotation record's `rotation` (tan of the angle since the previous record) and `steps`;
//   divided by the learning rate over those steps when Layca is off, as the paper's companion
//   plots do (with Layca, the rate is the learning rate times the layer's multiplier by design);
// - smoothing: TensorBoard's debiased exponential moving average;
// - the y ranges of the three axis modes (fixed, automatic, log) and the x axis's end.
import type { RunStarted } from './events';
import type { GroupMode } from './layerGroups';
import { learningRateIntegral, scheduledRate } from './verdict';

export type XAxis = 'epoch' | 'step' | 'time';
export type YMode = 'fixed' | 'auto' | 'log';
/** The rotation chart shows the cosine distance, the stepwise rate, or both (two charts). */
export type Quantity = 'distance' | 'rate' | 'both';

export const X_AXES: readonly XAxis[] = ['epoch', 'step', 'time'];
export const Y_MODES: readonly YMode[] = ['fixed', 'auto', 'log'];
export const QUANTITIES: readonly Quantity[] = ['distance', 'rate', 'both'];
/** The modes each chart offers: a rate has no natural fixed range, an accuracy no use for a log axis. */
export const CHART_Y_MODES = {
  distance: ['fixed', 'auto', 'log'],
  rate: ['auto', 'log'],
  loss: ['fixed', 'auto', 'log'],
  accuracy: ['fixed', 'auto'],
} as const satisfies Record<string, readonly YMode[]>;
export type ChartKind = keyof typeof CHART_Y_MODES;

/** What the monitor's charts show; the monitor keeps it per workspace. */
export interface ViewSettings {
  x: XAxis;
  /** Exponential moving average weight, 0 (off) to MAX_SMOOTHING. */
  smoothing: number;
  quantity: Quantity;
  y: { [K in ChartKind]: (typeof CHART_Y_MODES)[K][number] };
  /** Layers grouped by block (src/runlog/layerGroups.ts); absent: 'auto' (settings kept before it existed stay valid). */
  group?: GroupMode;
}

export const MAX_SMOOTHING = 0.99;

export const DEFAULT_VIEW: ViewSettings = {
  x: 'epoch',
  smoothing: 0,
  quantity: 'distance',
  y: { distance: 'fixed', rate: 'log', loss: 'fixed', accuracy: 'auto' },
};

/** The y mode of a chart, or its default when the mode is not one it offers. */
export function chartYMode(kind: ChartKind, mode: unknown): YMode {
  return (CHART_Y_MODES[kind] as readonly unknown[]).includes(mode) ? (mode as YMode) : DEFAULT_VIEW.y[kind];
}

// ---- stepwise rotation rate ----

/** How a run's rates are scaled: divided by the learning rate over the record's steps (Layca off), or not. */
export interface RateTerms {
  /** Divide by the learning rate: the run's schedule is known and Layca is off. */
  perRate: boolean;
  schedule?: RunStarted['schedule'];
}

export function rateTerms(info: Pick<RunStarted, 'schedule'> | undefined | null): RateTerms {
  const schedule = info?.schedule;
  return { perRate: !!schedule && schedule.layca === false && schedule.learningRate > 0, schedule };
}

/** The mean scheduled learning rate over [from, to] epochs (the rate at `to` when the interval is empty). */
export function meanLearningRate(schedule: NonNullable<RunStarted['schedule']>, from: number, to: number): number {
  if (to > from) return learningRateIntegral(schedule, from, to) / (to - from);
  return scheduledRate(schedule, to);
}

/**
 * What a record's rates are divided by: the mean learning rate over its steps (from the
 * previous record's epoch to its own) when `terms.perRate`, else 1. NaN when that rate is 0.
 */
export function rateDivisor(terms: RateTerms, fromEpoch: number, toEpoch: number): number {
  if (!terms.perRate || !terms.schedule) return 1;
  const lr = meanLearningRate(terms.schedule, fromEpoch, toEpoch);
  return lr > 0 ? lr : NaN;
}

/**
 * The stepwise rotation rate of a record: the angle since the previous record (atan of `tan`)
 * spread evenly over its `steps`, as the tan of the angle per step, divided by `divisor`
 * (rateDivisor: the learning rate when Layca is off). NaN when unknown (the first record, a
 * null value).
 */
export function stepRate(tan: number | null | undefined, steps: number, divisor = 1): number {
  if (typeof tan !== 'number' || !Number.isFinite(tan) || !(steps > 0)) return NaN;
  // One step, or an angle so small that tan(atan(x) / s) = x / s to float32 precision: no trigonometry.
  if (steps === 1 || (tan >= 0 && tan < 3e-4)) return tan / steps / divisor;
  // The angle between two kernels is in [0, pi]: a negative tan is an obtuse angle.
  const angle = tan >= 0 ? Math.atan(tan) : Math.PI + Math.atan(tan);
  return Math.tan(angle / steps) / divisor;
}

/** What the rate axis says. */
export function rateLabel(terms: RateTerms): string {
  return terms.perRate ? 'rotation per step / learning rate' : 'rotation per step (tan)';
}

// ---- smoothing ----

/**
 * TensorBoard's smoothing: an exponential moving average with weight `w`, debiased (the first
 * values are not pulled towards 0). A value that is not finite stays as it is (a gap) and does
 * not enter the average. Feed values in order with `next`.
 */
export class Ema {
  private last = 0;
  /** weight ** (values averaged so far): the bias to remove. */
  private power = 1;

  constructor(readonly weight: number) {}

  next(v: number): number {
    if (!Number.isFinite(v)) return v;
    const w = this.weight;
    if (!(w > 0)) return v;
    this.last = this.last * w + (1 - w) * v;
    this.power *= w;
    return this.last / (1 - this.power);
  }

  /**
   * `next` of src[from..to), written to out[from..to): the same numbers, in one loop over local
   * variables (a chart smooths every layer's 20,000 records at once: 200 layers took 42 ms as a
   * call a value on a first draw, 9 to 12 ms so in Node).
   */
  run(src: ArrayLike<number>, out: { [i: number]: number }, from: number, to: number): void {
    const w = this.weight;
    if (!(w > 0)) {
      for (let r = from; r < to; r++) out[r] = src[r];
      return;
    }
    let last = this.last;
    let power = this.power;
    const u = 1 - w;
    let r = from;
    // Debiased while the bias shows: until 1 - power is 1 in doubles (w = 0.6: 72 values).
    for (; r < to && 1 - power !== 1; r++) {
      const v = src[r];
      if (v - v !== 0) {
        // Not finite (v - v is NaN for NaN and the infinities): a gap, as it is.
        out[r] = v;
        continue;
      }
      last = last * w + u * v;
      power *= w;
      out[r] = last / (1 - power);
    }
    // Then the average itself, x / 1 being x (the division was most of the time).
    for (; r < to; r++) {
      const v = src[r];
      if (v - v !== 0) {
        out[r] = v;
        continue;
      }
      last = last * w + u * v;
      out[r] = last;
    }
    this.last = last;
    this.power = power;
  }
}

/** A whole series smoothed (null and undefined stay where they are). */
export function smoothSeries<T extends number | null | undefined>(values: readonly T[], weight: number): T[] {
  if (!(weight > 0)) return values.slice();
  const ema = new Ema(weight);
  return values.map((v) => (typeof v === 'number' ? (ema.next(v) as T) : v));
}

// ---- ranges ----

/** The next "nice" number (1, 2, 2.5, 5 x 10^k) at or above v > 0. */
export function niceCeil(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v * (1 - 1e-12)) return m * p;
  return 10 * p;
}

/** The nice number at or below v > 0. */
export function niceFloor(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 0;
  const p = 10 ** Math.floor(Math.log10(v));
  let out = p;
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p <= v * (1 + 1e-12)) out = m * p;
  return out;
}

/** The data's extent: smallest and largest finite values, and the smallest positive one. */
export interface Extent {
  min: number;
  max: number;
  minPositive: number;
}

export const emptyExtent = (): Extent => ({ min: Infinity, max: -Infinity, minPositive: Infinity });

export function extendExtent(e: Extent, v: number): void {
  if (!Number.isFinite(v)) return;
  if (v < e.min) e.min = v;
  if (v > e.max) e.max = v;
  if (v > 0 && v < e.minPositive) e.minPositive = v;
}

/**
 * The y range of a chart:
 * - fixed: from 0 to just above the target (1.1 x target; for a distance above that, the next
 *   tenth, at most 2); the loss from 0 to its largest value; the accuracy 0 to 1;
 * - auto: the data's extent with 5% of headroom, rounded out to nice numbers (from 0 when the
 *   data is all positive and starts near it);
 * - log: around the data's positive values with a tenth of a decade of margin, rounded out to
 *   nice numbers, so values a decade apart (Adam's 0.001 and 0.01) are far apart (a third of
 *   the axis or more when the data spans at most three decades).
 */
export function yRange(kind: ChartKind, mode: YMode, e: Extent, target = 1): [number, number] {
  const has = e.max >= e.min;
  if (mode === 'log') {
    if (!(e.minPositive < Infinity)) return kind === 'distance' ? [1e-3, Math.max(1, target) * 1.1] : [1e-3, 1];
    const margin = 10 ** 0.1;
    const lo = niceFloor(e.minPositive / margin);
    const hi = niceCeil(Math.max(e.max, e.minPositive) * margin);
    return [lo, hi];
  }
  if (mode === 'fixed') {
    if (kind === 'accuracy') return [0, 1];
    if (kind === 'distance') {
      const top = Math.max(1.1 * target, has ? e.max : 0);
      return [0, top > 1.1 * target ? Math.min(2, Math.ceil((top + 0.02) * 10) / 10) : 1.1 * target];
    }
    return [0, has && e.max > 0 ? niceCeil(e.max * 1.05) : 1];
  }
  // auto
  if (!has) return kind === 'accuracy' ? [0, 1] : [0, 1];
  const span = e.max - e.min || Math.abs(e.max) || 1;
  let lo = e.min - 0.05 * span;
  let hi = e.max + 0.05 * span;
  if (e.min >= 0 && lo < 0) lo = 0;
  if (kind === 'accuracy') hi = Math.min(1, hi);
  const step = niceCeil((hi - lo) / 5);
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  if (e.min >= 0 && lo < 0) lo = 0;
  if (hi <= lo) hi = lo + step;
  return [Number(lo.toPrecision(12)), Number(hi.toPrecision(12))];
}

/**
 * Where an x axis ends while a run goes: the next "nice" value at or above the last x, not past
 * the planned end (when known). It moves in steps, so the curves drawn keep their place between
 * steps and new records only add to them.
 */
export function axisEnd(last: number, plannedEnd: number): number {
  if (!(last > 0)) return plannedEnd > 0 ? Math.min(plannedEnd, 1) : 1;
  const nice = niceCeil(last);
  return Math.max(last, plannedEnd > 0 ? Math.min(nice, plannedEnd) : nice);
}

/** An x value as its axis shows it: epochs to 2 decimals, steps whole, wall time as 45 s, 3:05, 1:02:05. */
export function fmtX(axis: XAxis, v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (axis === 'step') return Math.round(v).toLocaleString('en-US');
  if (axis === 'epoch') return `${+v.toFixed(2)}`;
  return fmtClock(v);
}

/** Seconds as 45 s, 3:05 (minutes), 1:02:05 (hours). */
export function fmtClock(seconds: number): string {
  const s = Math.round(seconds);
  if (Math.abs(s) < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export const X_LABELS: Record<XAxis, string> = { epoch: 'epoch', step: 'step', time: 'wall time' };

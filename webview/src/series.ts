// The per-layer series the rotation charts draw, at the full resolution of the store's records
// and kept up to date incrementally as records come: the cosine distances (the store's own
// columns), the stepwise rotation rates (src/runlog/chartMath.ts's stepRate, from the records'
// `rotation` and `steps`), and either of them smoothed (TensorBoard's debiased EMA).
import { Ema, type RateTerms, rateDivisor, rateTerms, stepRate } from '../../src/runlog/chartMath';
import { Columns, ROT_EPOCH, ROT_FIRST_LAYER, ROT_STEPS, type RunStore } from './store';

/** Per-layer columns with the same rows as the store's rotation records, for some of the store's layers (a chart draws at most MAX_LAYERS_DRAWN). */
export interface LayerSeries {
  /** Columns: one per layer given. */
  readonly layers: number;
  /** Rows computed so far (after sync: the store's records). */
  readonly length: number;
  /** The values of the i-th layer given (valid until the next sync). */
  column(i: number): ArrayLike<number>;
  /** Computes the rows the store has and this does not; returns the first row that changed (length: none). */
  sync(): number;
}

/** Every layer the store keeps. */
const allOf = (store: RunStore) => Array.from({ length: store.layerCount }, (_, i) => i);

/** The cosine distances of the store's layers `which` (default all): the store's columns themselves. */
export class DistanceSeries implements LayerSeries {
  private readonly which: number[];

  constructor(
    private readonly store: RunStore,
    which?: number[],
  ) {
    this.which = which ?? allOf(store);
  }

  get layers(): number {
    return this.which.length;
  }

  get length(): number {
    return this.store.rotation.length;
  }

  column(i: number): Float64Array {
    return this.store.rotation.column(ROT_FIRST_LAYER + this.which[i]);
  }

  sync(): number {
    return this.length;
  }
}

const f32 = (n: number) => new Float32Array(n);

/** The stepwise rotation rates (tan of the angle per step, divided by the learning rate when Layca is off) of the store's layers `which` (default all). */
export class RateSeries implements LayerSeries {
  private cols: Columns<Float32Array>;
  readonly terms: RateTerms;
  private readonly which: number[];

  constructor(
    private readonly store: RunStore,
    which?: number[],
  ) {
    this.terms = rateTerms(store.info);
    this.which = which ?? allOf(store);
    this.cols = new Columns(this.which.length, 256, f32);
  }

  get layers(): number {
    return this.cols.width;
  }

  get length(): number {
    return this.cols.length;
  }

  column(i: number): Float32Array {
    return this.cols.column(i);
  }

  sync(): number {
    const rot = this.store.rotation;
    const tan = this.store.tangents;
    const n = rot.length;
    if (n < this.cols.length) this.cols.clear();
    const from = this.cols.length;
    if (n === from) return from;
    this.cols.growTo(n);
    // Per record what its rates are divided by, then layer by layer (a column at a time: the
    // arrays are walked in order).
    const steps = rot.column(ROT_STEPS);
    const epochs = rot.column(ROT_EPOCH);
    const divisor = new Float64Array(n - from);
    for (let r = from; r < n; r++)
      divisor[r - from] = rateDivisor(this.terms, r > 0 ? epochs[r - 1] : epochs[r], epochs[r]);
    const out = this.cols.raw();
    const tcols = tan.raw();
    for (let i = 0; i < this.cols.width; i++) {
      const o = out[i];
      const t = tcols[this.which[i]];
      for (let r = from; r < n; r++) o[r] = stepRate(t[r], steps[r], divisor[r - from]);
    }
    return from;
  }
}

/** Another series smoothed with TensorBoard's debiased exponential moving average of weight `weight`. */
export class SmoothedSeries implements LayerSeries {
  private cols: Columns<Float32Array>;
  private emas: Ema[];

  constructor(
    private readonly source: LayerSeries,
    readonly weight: number,
  ) {
    this.cols = new Columns(source.layers, 256, f32);
    this.emas = Array.from({ length: source.layers }, () => new Ema(weight));
  }

  get layers(): number {
    return this.cols.width;
  }

  get length(): number {
    return this.cols.length;
  }

  column(i: number): Float32Array {
    return this.cols.column(i);
  }

  sync(): number {
    const changed = this.source.sync();
    const n = this.source.length;
    if (n < this.cols.length || changed < this.cols.length) {
      this.cols.clear();
      this.emas = this.emas.map(() => new Ema(this.weight));
    }
    const from = this.cols.length;
    if (n === from) return from;
    this.cols.growTo(n);
    const out = this.cols.raw();
    for (let i = 0; i < this.cols.width; i++) {
      this.emas[i].run(this.source.column(i), out[i], from, n);
    }
    return from;
  }
}

/**
 * One column per line of another series' columns: a line of one column is that column (a layer);
 * a line of several (a block of layers) is their mean, row by row (NaN where none has a value),
 * with their least and greatest values (the block's band).
 */
export class LineSeries implements LayerSeries {
  /** Per line: where its mean, least and greatest values are among `agg`'s columns (-1: a line of one column). */
  private readonly slot: number[];
  private readonly agg: Columns<Float32Array>;

  constructor(
    private readonly source: LayerSeries,
    private readonly members: readonly (readonly number[])[],
  ) {
    let k = 0;
    this.slot = members.map((m) => (m.length === 1 ? -1 : k++));
    this.agg = new Columns(3 * k, 256, f32);
  }

  get layers(): number {
    return this.members.length;
  }

  get length(): number {
    return this.source.length;
  }

  column(i: number): ArrayLike<number> {
    const s = this.slot[i];
    return s < 0 ? this.source.column(this.members[i][0]) : this.agg.column(3 * s);
  }

  /** The least and greatest value of a block's layers per row; null for a line of one layer. */
  band(i: number): { lo: Float32Array; hi: Float32Array } | null {
    const s = this.slot[i];
    return s < 0 ? null : { lo: this.agg.column(3 * s + 1), hi: this.agg.column(3 * s + 2) };
  }

  sync(): number {
    const changed = this.source.sync();
    const n = this.source.length;
    const agg = this.agg;
    if (n < agg.length || changed < agg.length) agg.clear();
    const from = agg.length;
    if (n === from || agg.width === 0) {
      agg.growTo(n);
      return Math.min(changed, from);
    }
    agg.growTo(n);
    const out = agg.raw();
    this.members.forEach((m, i) => {
      const s = this.slot[i];
      if (s < 0) return;
      const mean = out[3 * s];
      const lo = out[3 * s + 1];
      const hi = out[3 * s + 2];
      const cols = m.map((c) => this.source.column(c));
      for (let r = from; r < n; r++) {
        let sum = 0;
        let count = 0;
        let min = Infinity;
        let max = -Infinity;
        for (let c = 0; c < cols.length; c++) {
          const v = cols[c][r];
          if (!Number.isFinite(v)) continue;
          sum += v;
          count++;
          if (v < min) min = v;
          if (v > max) max = v;
        }
        mean[r] = count ? sum / count : NaN;
        lo[r] = count ? min : NaN;
        hi[r] = count ? max : NaN;
      }
    });
    return Math.min(changed, from);
  }
}

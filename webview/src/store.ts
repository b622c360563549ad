// What the monitor knows about each run: run-log events (docs/run-log-format.md), normalized by
// the host and checked by the protocol guard, the records kept in columnar Float64Array buffers
// that grow by doubling, plus the loss/accuracy series the small charts draw.
import type {
  BatchEvent,
  EpochEnd,
  FeaturesEvent,
  LayerInfo,
  LayerSubset,
  LogEvent,
  RotationEvent,
  RunEvent,
  RunFinished,
  RunStarted,
} from '../protocol';
import { plannedEndEpoch } from '../../src/runlog/verdict';
import { keepLayers, keptLayers } from '../../src/runlog/layerCap';

export type { LayerSubset };

type Typed = Float64Array | Float32Array;
const f64 = (n: number) => new Float64Array(n);

/** Equal-length typed-array columns (Float64Array unless told), appended row by row; capacity doubles when full. */
export class Columns<A extends Typed = Float64Array> {
  length = 0;
  private cols: A[];

  constructor(
    readonly width: number,
    capacity = 64,
    private readonly make: (n: number) => A = f64 as unknown as (n: number) => A,
  ) {
    this.cols = Array.from({ length: width }, () => make(capacity));
  }

  get capacity(): number {
    return this.cols[0]?.length ?? 0;
  }

  /** Makes room for rows up to `n` (the new ones to be filled by the caller, column by column). */
  growTo(n: number): void {
    if (n <= this.length) return;
    if (n > this.capacity) {
      let cap = Math.max(16, this.capacity);
      while (cap < n) cap *= 2;
      this.cols = this.cols.map((c) => {
        const next = this.make(cap);
        next.set(c);
        return next;
      });
    }
    this.length = n;
  }

  /**
   * Makes room for `rows` more rows at once (one copy of what is there, not one per doubling): to
   * the size needed, or double the capacity when that is more (appends that follow copy seldom).
   */
  reserve(rows: number): void {
    const need = this.length + rows;
    if (need <= this.capacity) return;
    const cap = Math.max(need, 2 * this.capacity);
    this.cols = this.cols.map((c) => {
      const next = this.make(cap);
      next.set(c.subarray(0, this.length));
      return next;
    });
  }

  /** Makes room for one more row and returns its index; the caller fills it with set(). */
  addRow(): number {
    if (this.length === this.capacity) {
      const cap = Math.max(16, this.capacity * 2);
      this.cols = this.cols.map((c) => {
        const next = this.make(cap);
        next.set(c);
        return next;
      });
    }
    return this.length++;
  }

  set(col: number, row: number, value: number): void {
    this.cols[col][row] = value;
  }

  get(col: number, row: number): number {
    return this.cols[col][row];
  }

  /** The backing arrays (valid until the next addRow; rows at and past `length` are unused). */
  raw(): readonly A[] {
    return this.cols;
  }

  /** The filled part of a column (a view: valid until the next addRow). */
  column(col: number): A {
    return this.cols[col].subarray(0, this.length) as A;
  }

  /** Forgets every row (the capacity stays). */
  clear(): void {
    this.length = 0;
  }
}

const f32 = (n: number) => new Float32Array(n);

export function emptyMetrics(): MetricsView {
  return { x: [], step: [], time: [], trainLoss: [], valLoss: [], trainAcc: [], valAcc: [] };
}

/** A number, or NaN for null (a value the log did not give): NaN is a gap in a Float64Array column. */
export function num(v: number | null | undefined): number {
  return typeof v === 'number' ? v : NaN;
}

export type { LayerInfo };

/** Loss and accuracy series for the two small charts; undefined: no value in this row (spanned), null: a gap. */
export interface MetricsView {
  /** x of each row: epochs, steps, seconds since the run started (NaN: unknown). */
  x: number[];
  step: number[];
  time: number[];
  trainLoss: (number | null | undefined)[];
  valLoss: (number | null | undefined)[];
  trainAcc: (number | null | undefined)[];
  valAcc: (number | null | undefined)[];
}

// Rotation columns: epoch, step, seconds since the run started, steps since the previous record, then one per layer.
export const ROT_EPOCH = 0;
export const ROT_STEP = 1;
export const ROT_TIME = 2;
export const ROT_STEPS = 3;
export const ROT_FIRST_LAYER = 4;
// Batch columns.
const _B_EPOCH = 0;
const B_STEP = 1;
const B_TIME = 2;

const MAX_PENDING = 100_000;
const MAX_LOGS = 50;

/** Everything known about one run, built from its events in order. */
export class RunStore {
  info: RunStarted | null = null;
  finished: RunFinished | null = null;
  /** epoch, step, time, steps, distances...: one row per rotation record. */
  rotation: Columns = new Columns(ROT_FIRST_LAYER);
  /** Per layer: the record's `rotation` (tan of the angle since the previous record), same rows. */
  tangents: Columns<Float32Array> = new Columns(0, 0, f32);
  /** epoch, step, time, loss, accuracy, learningRate: one row per batch event. */
  batches = new Columns(6);
  epochs: EpochEnd[] = [];
  logs: LogEvent[] = [];
  /** Largest finite distance seen (for the y range). */
  maxDistance = 0;
  metrics: MetricsView = emptyMetrics();
  /** The first-layer features snapshots: the first (step 0) and the latest (webview/src/features.ts draws them). */
  features: { first: FeaturesEvent; last: FeaturesEvent } | null = null;
  /** Bumped on every accepted event: what changed since a draw. */
  version = 0;
  rotationVersion = 0;
  metricsVersion = 0;
  ignored = 0;
  /** Events that came before run_started (kept, then replayed). */
  private pending: RunEvent[] = [];
  /**
   * The run's layers kept (`info.layers`, the columns): each one's index in the run (its depth),
   * and the run's layer count. A run of more than MAX_LAYERS_KEPT layers keeps only some
   * (src/runlog/layerCap.ts): left out by the host already (its messages say which), or here.
   */
  layerIndex: number[] = [];
  layerTotal = 0;
  /** Which values of the incoming events' per-layer arrays are kept (null: all of them, in order). */
  private from: number[] | null = null;
  /** What the host said its messages keep of the run's layers (null: every layer). */
  subset: LayerSubset | null = null;

  constructor(readonly runId: string) {}

  /** Layers kept (the columns). */
  get layerCount(): number {
    return this.info?.layers.length ?? 0;
  }

  /**
   * Adds events in order (add() each), the rotation columns grown once beforehand for the
   * records among them (a run loaded whole: its records copied once into their columns).
   */
  addAll(events: readonly RunEvent[]): void {
    // The rotation records from here on (a run_started among them makes new columns: room again).
    let left = 0;
    for (const e of events) if (e.type === 'rotation') left++;
    for (const e of events) {
      if (e.type === 'rotation') {
        const rot = this.rotation;
        if (this.info && rot.length + left > rot.capacity) {
          rot.reserve(left);
          this.tangents.reserve(left);
        }
        left--;
      }
      this.add(e);
    }
  }

  /** Adds one event; one the run cannot use (an out-of-order record) is counted and ignored. */
  add(e: RunEvent): boolean {
    const ok = this.addEvent(e);
    if (ok) this.version++;
    else this.ignored++;
    return ok;
  }

  private addEvent(e: RunEvent): boolean {
    if (e.type === 'run_started') {
      this.reset();
      this.info = this.keep(e);
      const kept = this.info.layers.length;
      this.rotation = new Columns(ROT_FIRST_LAYER + kept, 256);
      this.tangents = new Columns(kept, 256, f32);
      const pending = this.pending;
      this.pending = [];
      for (const p of pending) this.add(p);
      return true;
    }
    if (!this.info) {
      if (this.pending.length >= MAX_PENDING) return false;
      this.pending.push(e);
      return true;
    }
    if (this.from && (e.type === 'rotation' || e.type === 'run_finished')) e = keepLayers(e, this.from);
    switch (e.type) {
      case 'rotation':
        return this.addRotation(e);
      case 'batch':
        return this.addBatch(e);
      case 'epoch_end':
        return this.addEpochEnd(e);
      case 'log':
        this.logs.push(e);
        if (this.logs.length > MAX_LOGS) this.logs.shift();
        return true;
      case 'run_finished':
        this.finished = e;
        this.rotationVersion++;
        return true;
      case 'features':
        this.features = { first: this.features?.first ?? e, last: e };
        return true;
    }
  }

  /** A run_started as kept: every layer, the host's subset, or (more than MAX_LAYERS_KEPT layers) those keptLayers picks. */
  private keep(e: RunStarted): RunStarted {
    const n = e.layers.length;
    const sub = this.subset;
    if (sub && sub.indices.length === n && sub.total >= n) {
      this.layerIndex = sub.indices;
      this.layerTotal = sub.total;
      this.from = null;
      return e;
    }
    const kept = keptLayers(e);
    this.layerIndex = kept ?? Array.from({ length: n }, (_, i) => i);
    this.layerTotal = n;
    this.from = kept;
    return kept ? keepLayers(e, kept) : e;
  }

  private reset(): void {
    this.info = null;
    this.finished = null;
    this.features = null;
    this.batches = new Columns(6);
    this.epochs = [];
    this.logs = [];
    this.maxDistance = 0;
    this.metrics = emptyMetrics();
    this.rotationVersion++;
    this.metricsVersion++;
  }

  private addRotation(e: RotationEvent): boolean {
    const info = this.info as RunStarted;
    const epoch = e.epoch;
    const rot = this.rotation;
    // x must not go back (uPlot needs sorted x): an out-of-order record is dropped.
    if (rot.length > 0 && epoch < rot.get(ROT_EPOCH, rot.length - 1)) return false;
    const row = rot.addRow();
    rot.set(ROT_EPOCH, row, epoch);
    rot.set(ROT_STEP, row, e.step);
    rot.set(ROT_TIME, row, this.seconds(e.time));
    rot.set(ROT_STEPS, row, e.steps);
    const d = e.distances;
    const layers = info.layers.length;
    const cols = rot.raw();
    let max = this.maxDistance;
    for (let i = 0; i < layers; i++) {
      const v = num(d[i]);
      cols[ROT_FIRST_LAYER + i][row] = v;
      if (v > max) max = v;
    }
    const tan = this.tangents;
    tan.addRow();
    const tcols = tan.raw();
    for (let i = 0; i < layers; i++) tcols[i][row] = num(e.rotation[i]);
    this.maxDistance = max;
    this.rotationVersion++;
    return true;
  }

  private addBatch(e: BatchEvent): boolean {
    const b = this.batches;
    const row = b.addRow();
    const values = [e.epoch, e.step, num(e.time), num(e.loss), num(e.accuracy), num(e.learningRate)];
    values.forEach((v, c) => b.set(c, row, v));
    this.insertMetrics(e.epoch, e.step, this.seconds(e.time), e.loss, undefined, e.accuracy, undefined);
    return true;
  }

  private addEpochEnd(e: EpochEnd): boolean {
    this.epochs.push(e);
    const spe = this.info?.stepsPerEpoch ?? 1;
    // No validation split (null): nothing to draw, not a gap.
    if (e.valLoss !== null || e.valAccuracy !== null)
      this.insertMetrics(
        e.epoch,
        e.step ?? Math.round(e.epoch * spe),
        this.seconds(e.time),
        undefined,
        e.valLoss ?? undefined,
        undefined,
        e.valAccuracy ?? undefined,
      );
    return true;
  }

  /** An event's time as seconds since the run started (NaN when either is unknown). */
  private seconds(time: number | null | undefined): number {
    const t0 = this.info?.time;
    return typeof time === 'number' && typeof t0 === 'number' ? (time - t0) / 1000 : NaN;
  }

  private insertMetrics(
    x: number,
    step: number,
    time: number,
    trainLoss: number | null | undefined,
    valLoss: number | null | undefined,
    trainAcc: number | null | undefined,
    valAcc: number | null | undefined,
  ): void {
    const m = this.metrics;
    const n = m.x.length;
    if (n === 0 || m.x[n - 1] <= x) {
      m.x.push(x);
      m.step.push(step);
      m.time.push(time);
      m.trainLoss.push(trainLoss);
      m.valLoss.push(valLoss);
      m.trainAcc.push(trainAcc);
      m.valAcc.push(valAcc);
    } else {
      // Rare: an event out of order. Keep x sorted.
      let at = n;
      while (at > 0 && m.x[at - 1] > x) at--;
      m.x.splice(at, 0, x);
      m.step.splice(at, 0, step);
      m.time.splice(at, 0, time);
      m.trainLoss.splice(at, 0, trainLoss);
      m.valLoss.splice(at, 0, valLoss);
      m.trainAcc.splice(at, 0, trainAcc);
      m.valAcc.splice(at, 0, valAcc);
    }
    this.metricsVersion++;
  }

  /** The last rotation record's distances (NaN where unknown). */
  lastDistances(): number[] {
    const n = this.rotation.length;
    if (n === 0) return [];
    return Array.from({ length: this.layerCount }, (_, i) => this.rotation.get(ROT_FIRST_LAYER + i, n - 1));
  }

  /** The latest step reached (rotation, batch or end). */
  lastStep(): number {
    let step = 0;
    const r = this.rotation.length;
    if (r) step = Math.max(step, num(this.rotation.get(ROT_STEP, r - 1)) || 0);
    const b = this.batches.length;
    if (b) step = Math.max(step, num(this.batches.get(B_STEP, b - 1)) || 0);
    const ep = this.epochs[this.epochs.length - 1];
    if (ep?.step != null) step = Math.max(step, ep.step);
    if (this.finished?.step != null) step = Math.max(step, this.finished.step);
    return step;
  }

  /**
   * Training speed in steps per second over the recent batch events (the last ~30 s, at least
   * two events), with the time of the last one; null when it cannot be told.
   */
  stepRate(windowMs = 30_000): { stepsPerSecond: number; at: number } | null {
    const b = this.batches;
    const n = b.length;
    if (n < 2) return null;
    const t1 = b.get(B_TIME, n - 1);
    const s1 = b.get(B_STEP, n - 1);
    let i = n - 2;
    while (i > 0 && t1 - b.get(B_TIME, i - 1) <= windowMs) i--;
    const t0 = b.get(B_TIME, i);
    const s0 = b.get(B_STEP, i);
    if (!(t1 > t0) || !(s1 > s0)) return null;
    return { stepsPerSecond: ((s1 - s0) * 1000) / (t1 - t0), at: t1 };
  }

  /** Epoch where the run is planned to end. */
  endEpoch(): number {
    return this.info ? plannedEndEpoch(this.info) : 0;
  }
}

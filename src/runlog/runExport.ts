// One run's curves and records as files, as the monitor exports them: a CSV with one row per
// rotation record (step, epoch, wall time, the metrics as of that step, one column per layer's
// distance), and an SVG of the curves as the monitor shows them (x axis, zoom, y axis mode,
// smoothing, hidden layers, distance and/or stepwise rate). Pure, no Node, no DOM: the extension
// host writes both from the run log; the webview draws the same SVG from its own records and
// renders it to PNG.
import {
  type ChartKind,
  chartYMode,
  Ema,
  emptyExtent,
  extendExtent,
  fmtClock,
  rateDivisor,
  rateLabel,
  rateTerms,
  stepRate,
  type ViewSettings,
  X_LABELS,
  type XAxis,
  yRange,
} from './chartMath';
import type { BatchEvent, EpochEnd, RotationEvent, RunStarted } from './events';
import { MAX_LAYERS_DRAWN } from './layerCap';
import { esc, niceTicks } from './svgText';
import { layerColorIn, viridisRange } from './viridis';

/** What the exports read of a run log (src/runlog/read.ts's RunLog has it; no Node here). */
export interface RunLog {
  started?: RunStarted;
  rotations: RotationEvent[];
  batches: BatchEvent[];
  epochs: EpochEnd[];
}

/** A run's rotation records as columns (NaN: no value): what the SVG is drawn from. */
export interface CurvesTable {
  n: number;
  /** x of each record: epoch, step, and seconds since the run started. */
  x: Record<XAxis, ArrayLike<number>>;
  /** Per layer: cosine distance of each record. */
  distances: ArrayLike<number>[];
  /** Per layer: the stepwise rotation rate (chartMath's stepRate) of each record. */
  rates: ArrayLike<number>[];
}

export interface CurvesMeta {
  title: string;
  layers: string[];
  target: number;
  /** What the rate axis says (chartMath's rateLabel). */
  rateLabel: string;
  /** Each layer's index in the run and the run's layer count, when `layers` are some of them (their colours follow their depth). */
  depth?: { index: ArrayLike<number>; total: number };
}

/** What the monitor shows: its settings, the layers hidden, the x range zoomed to (null: all). */
export interface ExportView {
  settings: ViewSettings;
  hidden: string[];
  range: [number, number] | null;
  /** The layers drawn, when the monitor draws only some (a run of more than MAX_LAYERS_DRAWN, or a name filter); absent: all. */
  shown?: string[];
}

/** The columns of a run log's rotation records. */
export function curvesTableOf(log: RunLog): CurvesTable {
  const recs = log.rotations;
  const n = recs.length;
  const layers = log.started?.layers.length ?? 0;
  const t0 = log.started?.time ?? recs[0]?.time ?? 0;
  const terms = rateTerms(log.started);
  const epoch = new Float64Array(n);
  const step = new Float64Array(n);
  const time = new Float64Array(n);
  const distances = Array.from({ length: layers }, () => new Float64Array(n));
  const rates = Array.from({ length: layers }, () => new Float64Array(n));
  recs.forEach((r, j) => {
    epoch[j] = r.epoch;
    step[j] = r.step;
    time[j] = typeof r.time === 'number' ? (r.time - t0) / 1000 : NaN;
    const divisor = rateDivisor(terms, j > 0 ? recs[j - 1].epoch : r.epoch, r.epoch);
    for (let i = 0; i < layers; i++) {
      const d = r.distances[i];
      distances[i][j] = typeof d === 'number' ? d : NaN;
      rates[i][j] = stepRate(r.rotation[i], r.steps, divisor);
    }
  });
  return { n, x: { epoch, step, time }, distances, rates };
}

export function curvesMetaOf(log: RunLog): CurvesMeta {
  return {
    title: log.started?.name ?? log.started?.runId ?? 'run',
    layers: (log.started?.layers ?? []).map((l) => l.name),
    target: log.started?.target ?? 1,
    rateLabel: rateLabel(rateTerms(log.started)),
  };
}

// ---- CSV ----

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF; blank for null or not finite. */
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The CSV's columns before the layers'. */
export const CSV_COLUMNS = [
  'step',
  'epoch',
  'time_s',
  'learning_rate',
  'loss',
  'accuracy',
  'val_loss',
  'val_accuracy',
] as const;

/**
 * The run's records as CSV, in pieces: a header (CSV_COLUMNS, then each layer's name), then one
 * row per rotation record: its step, epoch and seconds since the run started; the training
 * loss, accuracy and learning rate of the last batch event at or before its step, the validation
 * loss and accuracy of the last epoch end at or before it (blank before any); then each layer's
 * cosine distance (blank where unknown). Lines end with CRLF.
 */
export function* monitorCsvChunks(log: RunLog): Generator<string> {
  const layers = log.started?.layers ?? [];
  const line = (cells: (string | number | null | undefined)[]) => `${cells.map(csvField).join(',')}\r\n`;
  yield line([...CSV_COLUMNS, ...layers.map((l) => l.name)]);
  const t0 = log.started?.time ?? log.rotations[0]?.time ?? 0;
  const batches = log.batches;
  const epochs = log.epochs;
  let b = -1;
  let e = -1;
  let chunk = '';
  for (const r of log.rotations) {
    while (b + 1 < batches.length && batches[b + 1].step <= r.step) b++;
    while (e + 1 < epochs.length && (epochs[e + 1].step ?? Infinity) <= r.step) e++;
    const batch = b >= 0 ? batches[b] : undefined;
    const end = e >= 0 ? epochs[e] : undefined;
    const cells: (number | null | undefined)[] = [
      r.step,
      r.epoch,
      typeof r.time === 'number' ? (r.time - t0) / 1000 : null,
      batch?.learningRate,
      batch?.loss,
      batch?.accuracy,
      end?.valLoss,
      end?.valAccuracy,
    ];
    for (let i = 0; i < layers.length; i++) cells.push(r.distances[i]);
    chunk += line(cells);
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

export function monitorCsv(log: RunLog): string {
  return [...monitorCsvChunks(log)].join('');
}

// ---- SVG ----

const W = 860;
const PANEL_H = 420;
const M = { left: 64, right: 190, top: 46, bottom: 44 };
/** Points per line at most: the records are thinned evenly (the last always kept). */
const MAX_POINTS = 1200;

/** Numbers on a y axis: 0, 0.25, 1.5; 1e-3 for the small ones of a log axis. */
function fmtTick(v: number, log: boolean): string {
  if (v === 0) return '0';
  if (log && Math.abs(v) < 0.01) return v.toExponential(0).replace('+', '');
  return String(+v.toPrecision(4));
}

/** Ticks of a log axis: the decades, and their 2s and 5s when the axis spans few decades. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const few = Math.log10(hi / lo) < 3;
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++)
    for (const m of few ? [1, 2, 5] : [1]) {
      const v = Number((m * 10 ** k).toPrecision(6));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  return out;
}

function smoothed(values: ArrayLike<number>, weight: number): ArrayLike<number> {
  if (!(weight > 0)) return values;
  const out = new Float64Array(values.length);
  new Ema(weight).run(values, out, 0, values.length);
  return out;
}

/** The path of one line through the rows given (a value that is not finite, or not positive on a log axis, is a gap). */
function pathOf(
  rows: number[],
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  sx: (x: number) => number,
  sy: (y: number) => number,
  log: boolean,
): string {
  let d = '';
  let pen = false;
  for (const j of rows) {
    const v = ys[j];
    const x = xs[j];
    if (!Number.isFinite(v) || !Number.isFinite(x) || (log && !(v > 0))) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/**
 * The curves as the monitor shows them, as a standalone SVG on a white background: a panel for
 * the distance, the rate, or both (one above the other), each line a layer coloured by depth
 * (the part of viridis legible on white), the target dashed on the distance panel, a smoothed
 * line over its faint raw one when smoothing is on, hidden layers left out, the x range zoomed to.
 */
export function monitorSvg(table: CurvesTable, meta: CurvesMeta, view: ExportView): string {
  const s = view.settings;
  const kinds: ('distance' | 'rate')[] = s.quantity === 'both' ? ['distance', 'rate'] : [s.quantity];
  const H = PANEL_H * kinds.length;
  const hidden = new Set(view.hidden);
  const drawn = view.shown ? new Set(view.shown) : null;
  const all = meta.layers
    .map((_, i) => i)
    .filter((i) => !hidden.has(meta.layers[i]) && (!drawn || drawn.has(meta.layers[i])));
  // At most MAX_LAYERS_DRAWN lines (src/runlog/layerCap.ts): evenly spaced among the visible ones.
  const visible =
    all.length <= MAX_LAYERS_DRAWN
      ? all
      : Array.from(
          { length: MAX_LAYERS_DRAWN },
          (_, k) => all[Math.round((k * (all.length - 1)) / (MAX_LAYERS_DRAWN - 1))],
        );
  const palette = viridisRange([255, 255, 255], 2.2);
  const depth = meta.depth;
  const color = (i: number) =>
    depth ? layerColorIn(depth.index[i] ?? i, depth.total, palette) : layerColorIn(i, meta.layers.length, palette);
  const xs = table.x[s.x];
  const n = table.n;
  let last = 0;
  for (let j = n - 1; j >= 0; j--)
    if (Number.isFinite(xs[j])) {
      last = xs[j];
      break;
    }
  const [x0, x1] = view.range && view.range[1] > view.range[0] ? view.range : [0, last > 0 ? last : 1];
  const rowsIn: number[] = [];
  for (let j = 0; j < n; j++) if (xs[j] >= x0 && xs[j] <= x1) rowsIn.push(j);
  // Thinned evenly, the last kept; one record either side of the range so lines reach its edges.
  const stride = Math.max(1, Math.ceil(rowsIn.length / MAX_POINTS));
  const rows: number[] = [];
  if (rowsIn.length && rowsIn[0] > 0) rows.push(rowsIn[0] - 1);
  for (let k = 0; k < rowsIn.length; k += stride) rows.push(rowsIn[k]);
  if (rowsIn.length && rows[rows.length - 1] !== rowsIn[rowsIn.length - 1]) rows.push(rowsIn[rowsIn.length - 1]);
  if (rowsIn.length && rowsIn[rowsIn.length - 1] < n - 1) rows.push(rowsIn[rowsIn.length - 1] + 1);

  const total = depth?.total ?? meta.layers.length;
  const notDrawn =
    visible.length < total - hidden.size
      ? `, ${visible.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} layers drawn`
      : '';
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  const pw = W - M.left - M.right;
  const ph = PANEL_H - M.top - M.bottom;
  kinds.forEach((kind, p) => {
    const top = p * PANEL_H + M.top;
    const mode = chartYMode(kind as ChartKind, s.y[kind]);
    const log = mode === 'log';
    const raw = kind === 'distance' ? table.distances : table.rates;
    const extent = emptyExtent();
    for (const i of visible) for (const j of rowsIn) extendExtent(extent, raw[i][j]);
    const [y0, y1] = yRange(kind, mode, extent, meta.target);
    const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * pw;
    const sy = log
      ? (y: number) => top + ph - ((Math.log10(y) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))) * ph
      : (y: number) => top + ph - ((y - y0) / (y1 - y0)) * ph;
    const what = kind === 'distance' ? 'Layer rotation' : 'Stepwise rotation rate';
    const smoothing = s.smoothing > 0 ? `, smoothed ${s.smoothing}` : '';
    out.push(
      `<text x="${M.left}" y="${top - 22}" font-size="15" font-weight="bold">${esc(`${what}: ${meta.title}`)}</text>`,
    );
    out.push(
      `<text x="${M.left}" y="${top - 7}" fill="#555">${esc(`${log ? 'log' : mode} y axis${smoothing}${hidden.size ? `, ${hidden.size} layer${hidden.size === 1 ? '' : 's'} hidden` : ''}${notDrawn}`)}</text>`,
    );
    out.push(`<g class="axes" data-kind="${kind}">`);
    for (const t of log ? logTicks(y0, y1) : niceTicks(y0, y1, 5)) {
      const y = sy(t).toFixed(1);
      out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
      out.push(`<text x="${M.left - 6}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end">${fmtTick(t, log)}</text>`);
    }
    for (const t of niceTicks(x0, x1, 6)) {
      const label = s.x === 'time' ? fmtClock(t) : String(+t.toPrecision(6));
      out.push(`<text x="${sx(t).toFixed(1)}" y="${top + ph + 18}" text-anchor="middle">${esc(label)}</text>`);
    }
    out.push(`<rect x="${M.left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
    out.push(
      `<text x="${M.left + pw / 2}" y="${top + ph + 36}" text-anchor="middle">${esc(s.x === 'time' ? 'wall time (since the run started)' : X_LABELS[s.x])}</text>`,
    );
    out.push(
      `<text transform="translate(16 ${top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(kind === 'distance' ? 'cosine distance to initialization' : meta.rateLabel)}</text>`,
    );
    out.push('</g>');
    out.push(`<clipPath id="plot-${p}"><rect x="${M.left}" y="${top}" width="${pw}" height="${ph}"/></clipPath>`);
    out.push(`<g clip-path="url(#plot-${p})">`);
    if (kind === 'distance' && meta.target >= y0 && meta.target <= y1) {
      const y = sy(meta.target).toFixed(1);
      out.push(
        `<line class="target" x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#333" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      );
    }
    for (const i of visible) {
      const d = pathOf(rows, xs, raw[i], sx, sy, log);
      if (!d) continue;
      if (s.smoothing > 0) {
        out.push(
          `<path class="layer-raw" fill="none" stroke="${color(i)}" stroke-opacity="0.25" stroke-width="1" d="${d}"/>`,
        );
        const ds = pathOf(rows, xs, smoothed(raw[i], s.smoothing), sx, sy, log);
        out.push(
          `<path class="layer" data-layer="${esc(meta.layers[i])}" fill="none" stroke="${color(i)}" stroke-width="1.6" d="${ds}"/>`,
        );
      } else
        out.push(
          `<path class="layer" data-layer="${esc(meta.layers[i])}" fill="none" stroke="${color(i)}" stroke-width="1.6" d="${d}"/>`,
        );
    }
    out.push('</g>');
    // Legend: every visible layer when they fit, else the first, last and evenly spaced ones between.
    const maxRows = Math.floor(ph / 16);
    const shown =
      visible.length <= maxRows
        ? visible
        : Array.from({ length: maxRows }, (_, k) => visible[Math.round((k * (visible.length - 1)) / (maxRows - 1))]);
    shown.forEach((i, row) => {
      const y = top + 8 + row * 16;
      const x = M.left + pw + 14;
      out.push(`<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${color(i)}" stroke-width="3"/>`);
      out.push(`<text x="${x + 24}" y="${y + 4}">${esc(meta.layers[i])}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

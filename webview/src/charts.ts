// The monitor's charts (uPlot): the layer rotation curves, one line per layer coloured by depth
// (viridis), with the target as a dashed line and a tooltip listing every layer at the cursor
// (the cosine distance, or the stepwise rotation rate); and the small loss and accuracy charts.
// Every chart: drag on it to zoom the x axis (all charts together), double-click to reset; its
// y axis fixed, automatic or log; the lines smoothed (a debiased EMA over the faint raw line);
// x in epochs, steps or wall time. Charts are created when the run or the settings change and
// then only fed; their colours come from the editor theme's CSS variables.
import uPlot from 'uplot';
import {
  axisEnd,
  type ChartKind,
  chartYMode,
  emptyExtent,
  type Extent,
  extendExtent,
  fmtClock,
  fmtX,
  rateLabel,
  smoothSeries,
  type ViewSettings,
  X_LABELS,
  type XAxis,
  type YMode,
  yRange,
} from '../../src/runlog/chartMath';
import {
  columnLayout,
  minMaxRows,
  reserveRows,
  rowsNeeded,
  PixelPath,
  type PixelTransform,
  pixelPath,
  pixelY,
  RowList,
  rowsInRange,
  sparseRows,
} from '../../src/runlog/decimate';
import { LineRaster } from '../../src/runlog/raster';
import { layerColorIn, parseRgb, viridis, viridisRange } from '../../src/runlog/viridis';
import { lowerBound } from './analysis';
import { el, fmtInt, fmtNum, fmtPct, setText, show } from './dom';
import { DistanceSeries, type LayerSeries, LineSeries, RateSeries, SmoothedSeries } from './series';
import { type MetricsView, ROT_EPOCH, ROT_STEP, ROT_TIME, type RunStore } from './store';

export interface Theme {
  foreground: string;
  axis: string;
  grid: string;
  target: string;
  train: string;
  validation: string;
  background: string;
  fontFamily: string;
  /** A high-contrast theme: thicker lines, the layers' colours at 3:1 contrast or more. */
  highContrast: boolean;
  /** The part of viridis legible on the background ([0, 1]: all of it). */
  palette: [number, number];
}

let probe: HTMLElement | undefined;

/** A CSS colour (with var()s) as the browser resolves it now: `rgb(...)` / `rgba(...)`. */
function resolveColor(css: string): string {
  if (!probe) {
    probe = el('span', 'color-probe');
    probe.setAttribute('aria-hidden', 'true');
    document.body.appendChild(probe);
  }
  probe.style.color = '';
  probe.style.color = css;
  return getComputedStyle(probe).color;
}

function withAlpha(rgb: string, alpha: number): string {
  const m = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+))?\s*\)/.exec(rgb);
  if (!m) return rgb;
  const a = (m[4] === undefined ? 1 : Number(m[4])) * alpha;
  return `rgba(${m[1]}, ${m[2]}, ${m[3]}, ${+a.toFixed(3)})`;
}

/** The page's background: the body's, else the editor's (VS Code sets the variables on <html>). */
function backgroundColor(): string {
  const body = getComputedStyle(document.body).backgroundColor;
  const m = /rgba\([^)]*,\s*0\s*\)|transparent/.test(body);
  return m || !body ? resolveColor('var(--vscode-sideBar-background, var(--vscode-editor-background, #1e1e1e))') : body;
}

/** Reads the chart colours from the theme's CSS variables (again after each theme change). */
export function readTheme(): Theme {
  const foreground = resolveColor('var(--vscode-foreground, #cccccc)');
  const cls = document.body.classList;
  const highContrast = cls.contains('vscode-high-contrast') || cls.contains('vscode-high-contrast-light');
  const background = backgroundColor();
  const bg = parseRgb(background) ?? [30, 30, 30];
  return {
    foreground,
    axis: resolveColor('var(--vscode-descriptionForeground, var(--vscode-foreground, #9d9d9d))'),
    grid: withAlpha(
      resolveColor('var(--vscode-charts-lines, var(--vscode-foreground, #808080))'),
      highContrast ? 0.6 : 0.35,
    ),
    target: withAlpha(foreground, 0.9),
    train: resolveColor('var(--vscode-charts-blue, #3794ff)'),
    validation: resolveColor('var(--vscode-charts-orange, #d18616)'),
    background,
    fontFamily: getComputedStyle(document.body).fontFamily || 'sans-serif',
    highContrast,
    palette: viridisRange(bg, highContrast ? 3 : 2.2),
  };
}

/** The colour of layer i of n in this theme. */
export function themeLayerColor(theme: Theme, i: number, n: number): string {
  return layerColorIn(i, n, theme.palette);
}

/** The colour of the store's kept layer i: by its depth in the run (its index among all the run's layers). */
export function storeLayerColor(theme: Theme, store: RunStore, i: number): string {
  return layerColorIn(store.layerIndex[i] ?? i, Math.max(store.layerTotal, store.layerCount), theme.palette);
}

/** The layers' colours as a CSS gradient, first layer to last, in this theme. */
export function viridisGradient(theme: Theme): string {
  const [a, b] = theme.palette;
  const stops = Array.from({ length: 9 }, (_, i) => `${viridis(a + ((b - a) * i) / 8)} ${(i * 12.5).toFixed(1)}%`);
  return `linear-gradient(to right, ${stops.join(', ')})`;
}

/** y tick labels: compact numbers (1e-3 on a log axis). */
function yValues(log: boolean, percent: boolean): (u: uPlot, splits: number[]) => string[] {
  return (_u, splits) =>
    splits.map((v) => {
      if (v === null || v === undefined) return '';
      if (percent) return `${+(v * 100).toFixed(1)}%`;
      if (log) {
        const k = Math.log10(v);
        // Only the decades and the 2s and 5s between them, else labels collide.
        const m = v / 10 ** Math.floor(k + 1e-9);
        if (Math.abs(m - 1) > 1e-6 && Math.abs(m - 2) > 1e-6 && Math.abs(m - 5) > 1e-6) return '';
        return v < 0.01 ? v.toExponential(0).replace('+', '') : `${+v.toPrecision(3)}`;
      }
      return v === 0 ? '0' : `${+v.toPrecision(4)}`;
    });
}

function xValues(axis: XAxis): (u: uPlot, splits: number[]) => string[] {
  return (_u, splits) =>
    splits.map((v) => (axis === 'time' ? fmtClock(v) : axis === 'step' ? fmtInt(v) : `${+v.toFixed(2)}`));
}

function axes(theme: () => Theme, xLabel: string | undefined, x: XAxis, y: Partial<uPlot.Axis>): uPlot.Axis[] {
  const font = `11px ${theme().fontFamily}`;
  const common: uPlot.Axis = {
    stroke: () => theme().axis,
    grid: { stroke: () => theme().grid, width: 1 },
    ticks: { stroke: () => theme().grid, width: 1, size: 4 },
    border: { show: false },
    font,
    labelFont: font,
  };
  return [
    {
      ...common,
      label: xLabel,
      labelSize: xLabel ? 16 : 0,
      labelGap: 0,
      size: 26,
      space: x === 'epoch' ? 60 : 70,
      values: xValues(x),
    },
    { ...common, size: 40, space: 28, ...y },
  ];
}

/**
 * A uPlot chart in `host`, not laid out nor drawn yet: `start` does both, called in the batch
 * of the chart's first data so that the chart is drawn once (made plainly it draws empty first).
 * Until then the chart has no size (bbox).
 */
function makeIdlePlot(
  opts: uPlot.Options,
  data: uPlot.AlignedData,
  host: HTMLElement,
): { u: uPlot; start: () => void } {
  let start = () => {};
  const u = new uPlot(opts, data, (made, init) => {
    host.appendChild(made.root);
    start = init as () => void;
  });
  return { u, start };
}

/**
 * A uPlot chart in `host`, drawn now. (Made plainly, uPlot queues its first draw in a microtask,
 * which runs after the caller's own synchronous setData: every line drawn twice.)
 */
function makePlot(opts: uPlot.Options, data: uPlot.AlignedData, host: HTMLElement): uPlot {
  const { u, start } = makeIdlePlot(opts, data, host);
  u.batch(start);
  return u;
}

/** What the charts share: the settings, the x zoom, which layers are hidden and which one is highlighted. */
export interface ChartEnv {
  settings(): ViewSettings;
  zoom(): [number, number] | null;
  setZoom(range: [number, number] | null): void;
  /** Layers hidden, by index. */
  hidden(): ReadonlySet<number>;
  /** The layer highlighted (hovered here, in the legend or in the table), or null. */
  highlighted(): number | null;
  /** The pointer is over (near) a layer's line, or left it. */
  hover(layer: number | null): void;
  /** Something the tests read changed (a line hidden in a legend). */
  changed(): void;
}

/** Drag to zoom x (the charts share the zoom), double-click to reset. */
function zoomHooks(env: ChartEnv): { cursor: uPlot.Cursor; setSelect: (u: uPlot) => void; bind: (u: uPlot) => void } {
  return {
    cursor: { drag: { x: true, y: false, setScale: false } },
    setSelect: (u) => {
      const { left, width } = u.select;
      if (width >= 4) {
        const a = u.posToVal(left, 'x');
        const b = u.posToVal(left + width, 'x');
        if (Number.isFinite(a) && Number.isFinite(b) && b > a) env.setZoom([a, b]);
      }
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    },
    bind: (u) => u.over.addEventListener('dblclick', () => env.setZoom(null)),
  };
}

const MAX_TOOLTIP_ROWS = 14;
/** How near (CSS px) the pointer must be to a line to highlight it. */
const HOVER_PX = 10;

interface TooltipRow {
  row: HTMLElement;
  swatch: HTMLElement;
  name: HTMLElement;
  value: HTMLElement;
}

export type RotationKind = 'distance' | 'rate';

/**
 * The lines a rotation chart draws, in depth order: each a layer of the store or a block of them
 * (src/runlog/layerGroups.ts: its id, < 0 for a block), drawn as the mean of its layers over a
 * faint band from their least to their greatest value.
 */
export interface ChartLines {
  ids: number[];
  names: string[];
  colors: string[];
  /** The store's layers of each line (one for a layer). */
  members: number[][];
}

/** Every line a layer: the store's layers `drawn`, coloured by depth. */
export function layerLines(store: RunStore, theme: Theme, drawn: number[]): ChartLines {
  const all = store.info?.layers ?? [];
  return {
    ids: drawn,
    names: drawn.map((i) => all[i]?.name ?? ''),
    colors: drawn.map((i) => storeLayerColor(theme, store, i)),
    members: drawn.map((i) => [i]),
  };
}

const X_COLUMN: Record<XAxis, number> = { epoch: ROT_EPOCH, step: ROT_STEP, time: ROT_TIME };

/**
 * A layer rotation chart of one run (re-created when another run is shown or the settings
 * change): the cosine distances, or the stepwise rotation rates. uPlot keeps the scales, axes,
 * grid and cursor and one series per layer; the lines themselves are drawn by this class on
 * uPlot's canvas: all of them whenever uPlot draws (new scales, size or theme), and in between
 * only the segments of newly appended records. Each line is decimated to the canvas's pixel
 * columns over the x range shown (src/runlog/decimate.ts: the least and greatest value per
 * column, so it looks as the full line does; a zoom decimates the zoomed range again). The x
 * axis grows in steps (axisEnd) and the y range in nice steps, so appends seldom need a full
 * redraw. A highlighted layer is drawn again on an overlay canvas above the others, which it dims.
 */
export class RotationChart {
  readonly u: uPlot;
  /** Times drawn (full or incremental), and how long the last update took (ms). */
  draws = 0;
  lastDrawMs = 0;
  /** Full redraws among them. */
  fullDraws = 0;
  /** Where the x axis ends unzoomed (the loss and accuracy charts follow it). */
  xEnd = 1;
  /** The ranges drawn. */
  xRange: [number, number] = [0, 1];
  yRange: [number, number] = [0, 1];
  readonly yMode: YMode;
  readonly xAxis: XAxis;
  /** What the axes say. */
  readonly yLabel: string;
  readonly xLabel: string;
  readonly smoothing: number;
  private target = 1;
  /** Index of the last record whose segment is on the canvas (-1: none). */
  private drawnTo = -1;
  /** Extent of the visible layers' values within the x range, as drawn. */
  private extent: Extent = emptyExtent();
  private extentStale = true;
  private readonly raw: LayerSeries;
  private readonly smooth: SmoothedSeries | null;
  /** Each layer's rows drawn (raw, and smoothed when smoothing is on) for the key's records, x range and pixel columns. */
  private readonly rawRows: RowList[];
  private readonly smoothRows: RowList[] | null;
  /** Of a block's line, the rows of its band's lower and upper edges; null for a layer's. */
  private readonly bandRows: ([RowList, RowList] | null)[];
  private rowsKey = '';
  /** Rows drawn per layer in the last full draw (the most of any layer). */
  drawnPoints = 0;
  /** Records synced by the last update (what the lines are drawn up to). */
  private records = 0;
  /** Rows of one line drawn on their own (appended segments, the highlight). */
  private readonly scratch = new RowList();
  /** The edges of a block's band drawn on its own (the highlight). */
  private readonly bandScratch: [RowList, RowList] = [new RowList(), new RowList()];
  private readonly colors: string[];
  /** The colours as [r, g, b], for the lines drawn in JS (null: some colour is not rgb/hex). */
  private readonly rgb: ([number, number, number] | null)[];
  private readonly lineWidth: number;
  /** Many thin lines are drawn in JS (src/runlog/raster.ts) and put on the canvas at once. */
  private readonly raster = new LineRaster();
  private rasterCanvas: HTMLCanvasElement | null = null;
  private readonly overlay: HTMLCanvasElement;
  private readonly tooltip: HTMLElement;
  private readonly tooltipHead: HTMLElement;
  private readonly rows: TooltipRow[] = [];
  private readonly more: HTMLElement;
  private readonly observer: ResizeObserver;
  /** Lays uPlot out and draws it the first time (null once done): in the batch of the first update. */
  private init: (() => void) | null;
  private hovered: number | null = null;
  /** The lines drawn (a layer's kept index, or a block's id < 0; in depth order; at most MAX_LAYERS_DRAWN), and where each is among them. */
  readonly drawn: number[];
  private readonly names: string[];
  private readonly at = new Map<number, number>();
  /** The lines' means and bands, when some line is a block. */
  private readonly blocks: LineSeries | null;

  constructor(
    private readonly host: HTMLElement,
    private readonly store: RunStore,
    readonly kind: RotationKind,
    private readonly theme: () => Theme,
    private readonly env: ChartEnv,
    private readonly heightFor: (width: number) => number,
    lines?: ChartLines,
    /** The chart's size, when the caller read it already (with the other charts', before writing anything). */
    size?: { width: number; height: number },
  ) {
    const settings = env.settings();
    this.xAxis = settings.x;
    this.yMode = chartYMode(kind, settings.y[kind]);
    this.smoothing = settings.smoothing;
    const t = theme();
    const all = store.info?.layers ?? [];
    const spec =
      lines ??
      layerLines(
        store,
        t,
        all.map((_, i) => i),
      );
    this.drawn = spec.ids;
    this.names = spec.names;
    this.drawn.forEach((i, k) => this.at.set(i, k));
    const count = this.drawn.length;
    this.colors = spec.colors;
    this.rgb = this.colors.map(parseRgb);
    this.lineWidth = (count <= 12 ? 2 : count <= 50 ? 1.5 : 1) + (t.highContrast ? 0.5 : 0);
    // Every line a layer: the layers' own columns; else the layers of every line, and a line per block of them.
    const single = spec.members.every((m) => m.length === 1);
    const used = single ? spec.members.map((m) => m[0]) : [...new Set(spec.members.flat())].sort((a, b) => a - b);
    const source = kind === 'distance' ? new DistanceSeries(store, used) : new RateSeries(store, used);
    if (single) this.blocks = null;
    else {
      const column = new Map(used.map((layer, c) => [layer, c]));
      this.blocks = new LineSeries(
        source,
        spec.members.map((m) => m.map((layer) => column.get(layer) as number)),
      );
    }
    this.raw = this.blocks ?? source;
    this.smooth = this.smoothing > 0 ? new SmoothedSeries(this.raw, this.smoothing) : null;
    this.rawRows = Array.from({ length: count }, () => new RowList());
    this.smoothRows = this.smooth ? Array.from({ length: count }, () => new RowList()) : null;
    this.bandRows = spec.members.map((m) => (m.length > 1 ? [new RowList(), new RowList()] : null));
    const log = this.yMode === 'log';
    // (A log axis must never see 0, not even before the first update.)
    if (log) this.yRange = [1e-3, 1];
    const zoom = zoomHooks(env);
    const yLabel =
      kind === 'distance'
        ? 'cosine distance'
        : rateLabel((source as RateSeries).terms).replace('rotation per step', 'rate');
    this.yLabel = yLabel;
    this.xLabel = X_LABELS[this.xAxis];
    const opts: uPlot.Options = {
      ...(size ?? this.size()),
      padding: [10, 14, 0, 0],
      legend: { show: false },
      cursor: { y: false, points: { show: false }, focus: { prox: -1 }, ...zoom.cursor },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: {
        x: { time: false, range: () => this.xRange },
        y: log ? { distr: 3, log: 10, range: () => this.yRange } : { range: () => this.yRange },
      },
      axes: axes(theme, X_LABELS[this.xAxis], this.xAxis, {
        label: yLabel,
        labelSize: 16,
        labelGap: 0,
        size: log ? 44 : 38,
        values: yValues(log, false),
      }),
      // The lines are drawn by drawLines: uPlot has one series, of no path, that carries the y
      // scale (a series per line cost ~4 ms to make for 200 lines, and more at each setData).
      series: [{}, { label: yLabel, auto: false, points: { show: false }, paths: () => null }],
      hooks: {
        draw: [
          (u) => {
            this.drawLines(u);
            this.drawTarget(u);
            this.drawOverlay();
            this.draws++;
            this.fullDraws++;
          },
        ],
        setCursor: [(u) => this.onCursor(u)],
        setSelect: [zoom.setSelect],
        setSize: [() => this.sizeOverlay()],
      },
    };
    // (Before the chart, which its hooks read: made here, it is first drawn by the first update.)
    this.tooltip = el('div', 'chart-tooltip');
    this.tooltip.hidden = true;
    this.tooltipHead = el('div', 'tooltip-head');
    this.tooltip.appendChild(this.tooltipHead);
    for (let i = 0; i < MAX_TOOLTIP_ROWS; i++) {
      const row = el('div', 'tooltip-row');
      const swatch = el('span', 'swatch');
      const name = el('span', 'tooltip-name');
      const value = el('span', 'tooltip-value');
      row.append(swatch, name, value);
      this.rows.push({ row, swatch, name, value });
    }
    this.more = el('div', 'tooltip-more');
    const made = makeIdlePlot(opts, [[], []], host);
    this.u = made.u;
    this.init = made.start;
    zoom.bind(this.u);
    this.u.over.addEventListener('mouseleave', () => this.setHovered(null));

    this.overlay = el('canvas', 'highlight-overlay');
    this.overlay.setAttribute('aria-hidden', 'true');
    this.u.over.appendChild(this.overlay);

    this.u.over.appendChild(this.tooltip);
    this.observer = new ResizeObserver(() => this.fit());
    this.observer.observe(host);
  }

  /** The chart's width in a host of this clientWidth. */
  static widthIn(clientWidth: number): number {
    return Math.max(180, Math.floor(clientWidth || 600));
  }

  private size(): { width: number; height: number } {
    const width = RotationChart.widthIn(this.host.clientWidth);
    return { width, height: this.heightFor(width) };
  }

  fit(): void {
    if (!this.host.clientWidth) return;
    const s = this.size();
    if (s.width !== this.u.width || s.height !== this.u.height)
      this.u.batch(() => {
        this.start();
        this.u.setSize(s);
      });
  }

  /** Lays the chart out (its size, bbox) if not yet: in a batch, which then draws it. */
  private start(): void {
    const init = this.init;
    if (!init) return;
    this.init = null;
    init();
  }

  /** The series drawn as the line (smoothed when smoothing is on). */
  private get line(): LayerSeries {
    return this.smooth ?? this.raw;
  }

  private xs(): Float64Array {
    return this.store.rotation.column(X_COLUMN[this.xAxis]);
  }

  /**
   * Shows the records up to now: a full draw through uPlot when the ranges change, else only
   * the new segments. Synchronous: the time is the draw's.
   */
  update(target: number, finished: boolean): void {
    const t0 = performance.now();
    const n = this.store.rotation.length;
    this.raw.sync();
    this.smooth?.sync();
    this.records = n;
    const xs = this.xs();
    const xEnd = this.xEndFor(xs, n, finished);
    this.xEnd = xEnd;
    const zoom = this.env.zoom();
    const xRange: [number, number] = zoom ?? [0, xEnd];
    const full =
      this.drawnTo < 0 ||
      n - 1 < this.drawnTo ||
      this.extentStale ||
      target !== this.target ||
      xRange[0] !== this.xRange[0] ||
      xRange[1] !== this.xRange[1];
    if (!full && n - 1 > this.drawnTo) {
      // Only new rows: do they fit the y range?
      this.extendWith(xs, this.drawnTo + 1, n, xRange);
      const yr = this.rangeOf(target);
      if (yr[0] === this.yRange[0] && yr[1] === this.yRange[1]) {
        this.drawNewSegments(n);
        this.draws++;
        this.finish(t0);
        return;
      }
    }
    if (full || n - 1 !== this.drawnTo) {
      this.target = target;
      this.xRange = xRange;
      // uPlot draws no line (drawLines does): two x values and no y values carry the scales.
      const data = [xRange.slice(), [null, null]] as uPlot.AlignedData;
      this.u.batch(() => {
        // (The first time: laid out here, then drawn once, with the lines.)
        this.start();
        this.decimate();
        this.recomputeExtent();
        this.yRange = this.rangeOf(target);
        this.u.setData(data, true);
      });
    }
    this.finish(t0);
  }

  private finish(t0: number): void {
    this.lastDrawMs = performance.now() - t0;
    if (!this.tooltip.hidden) this.onCursor(this.u);
  }

  /** Full redraw with the current zoom, hidden layers and theme. */
  redraw(): void {
    this.extentStale = true;
    this.drawnTo = -1;
  }

  /** Redraws the highlight only. */
  highlight(): void {
    this.drawOverlay();
  }

  private xEndFor(xs: Float64Array, n: number, finished: boolean): number {
    let last = 0;
    for (let j = n - 1; j >= 0; j--)
      if (Number.isFinite(xs[j])) {
        last = xs[j];
        break;
      }
    const info = this.store.info;
    const planned =
      this.xAxis === 'epoch' ? this.store.endEpoch() : this.xAxis === 'step' ? (info?.totalSteps ?? 0) : 0;
    if (finished) return last > 0 ? last : 1;
    return axisEnd(last, planned);
  }

  private rangeOf(target: number): [number, number] {
    const kind: ChartKind = this.kind;
    if (kind === 'distance' && this.yMode === 'fixed') {
      // Fixed: 0 to just above the target, and higher only when a layer goes there.
      const e = emptyExtent();
      extendExtent(e, this.store.maxDistance);
      return yRange('distance', 'fixed', e, target);
    }
    return yRange(kind, this.yMode, this.extent, target);
  }

  /** Pixel columns of the plot (device pixels): what the lines are decimated to. */
  private pixelColumns(): number {
    return Math.max(1, Math.round(this.u.bbox.width));
  }

  /**
   * Decimates every layer's lines (raw, and smoothed) over the records synced, the x range and
   * the plot's width, unless they are already (src/runlog/decimate.ts: the least and greatest
   * value per pixel column; every row when there are few).
   */
  private decimate(): void {
    const n = this.records;
    const [a, b] = this.xRange;
    const columns = this.pixelColumns();
    const key = `${n}|${a}|${b}|${columns}`;
    if (key === this.rowsKey) return;
    this.rowsKey = key;
    const xs = this.xs();
    const [from, to] = rowsInRange(xs, n, a, b);
    const layout = columnLayout(xs, from, to, a, b, columns);
    const need = rowsNeeded(layout);
    reserveRows(this.rawRows, need);
    if (this.smoothRows) reserveRows(this.smoothRows, need);
    reserveRows(
      this.bandRows.flatMap((band) => band ?? []),
      need,
    );
    let most = 0;
    for (let i = 0; i < this.rawRows.length; i++) {
      const rows = minMaxRows(xs, this.raw.column(i), layout, this.rawRows[i]);
      most = Math.max(most, rows.length);
      if (this.smooth && this.smoothRows) minMaxRows(xs, this.smooth.column(i), layout, this.smoothRows[i]);
      const band = this.bandRows[i];
      const edges = band && this.blocks?.band(i);
      if (band && edges) {
        minMaxRows(xs, edges.lo, layout, band[0]);
        minMaxRows(xs, edges.hi, layout, band[1]);
      }
    }
    this.drawnPoints = most;
  }

  /** The visible layers' extent within the x range: what the decimation saw of every row there. */
  private recomputeExtent(): void {
    const e = emptyExtent();
    const hidden = this.env.hidden();
    this.rawRows.forEach((line, i) => {
      if (hidden.has(this.drawn[i])) return;
      // A block's band as well as its mean.
      for (const rows of [line, ...(this.bandRows[i] ?? [])]) {
        if (rows.min < e.min) e.min = rows.min;
        if (rows.max > e.max) e.max = rows.max;
        if (rows.minPositive < e.minPositive) e.minPositive = rows.minPositive;
      }
    });
    this.extent = e;
    this.extentStale = false;
  }

  private extendWith(xs: Float64Array, from: number, to: number, [a, b]: [number, number]): void {
    const hidden = this.env.hidden();
    const cols = this.colors.map((_, i) => this.raw.column(i));
    const bands = this.colors.map((_, i) => this.blocks?.band(i) ?? null);
    for (let r = from; r < to; r++) {
      const x = xs[r];
      if (!(x >= a && x <= b)) continue;
      for (let i = 0; i < cols.length; i++) {
        if (hidden.has(this.drawn[i])) continue;
        extendExtent(this.extent, cols[i][r]);
        const band = bands[i];
        if (band) {
          extendExtent(this.extent, band.lo[r]);
          extendExtent(this.extent, band.hi[r]);
        }
      }
    }
  }

  /** Redraws with the current theme. */
  restyle(): void {
    this.u.batch(() => {
      this.start();
      this.u.redraw(false, true);
    });
  }

  destroy(): void {
    this.observer.disconnect();
    this.u.destroy();
  }

  /** Canvas transform of the current scales (device pixels). */
  private transform(u: uPlot): PixelTransform {
    const { left, top, width, height } = u.bbox;
    const [x0, x1] = [u.scales.x.min ?? this.xRange[0], u.scales.x.max ?? this.xRange[1]];
    const [y0, y1] = [u.scales.y.min ?? this.yRange[0], u.scales.y.max ?? this.yRange[1]];
    const log = this.yMode === 'log';
    const v0 = log ? Math.log10(y0) : y0;
    const v1 = log ? Math.log10(y1) : y1;
    return { left, x0, sx: width / (x1 - x0 || 1), bottom: top + height, y0: v0, sy: height / (v1 - v0 || 1), log };
  }

  private beginLines(u: uPlot): void {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();
    ctx.lineWidth = this.lineWidth * (devicePixelRatio || 1);
    ctx.lineJoin = 'round';
    ctx.lineCap = 'round';
    ctx.setLineDash([]);
  }

  /**
   * Whether a full draw strokes its lines in JS (LineRaster): more than 50 lines (the thin plain
   * ones, without round joins) one device pixel wide (LineRaster widens a line vertically only),
   * in colours it reads. Measured on a software canvas (bench/webview-render.mjs), 200 lines of
   * ~1,800 points: the frame's work and the canvas's pending drawing ~17 ms less.
   */
  private rasterized(): boolean {
    return this.colors.length > 50 && this.look(false).width <= 1 && this.rgb.every((c) => c !== null);
  }

  /** Draws the lines (the faint raw ones first when smoothing) in a LineRaster, then on the plot at once. */
  private rasterLines(u: uPlot, lines: [LayerSeries, RowList[]][], t: PixelTransform): void {
    const { left, top, width, height } = u.bbox;
    const raster = this.raster;
    raster.reset(width, height);
    if (raster.width === 0 || raster.height === 0) return;
    // Pixels from the plot's top left corner.
    const local: PixelTransform = { ...t, left: t.left - left, bottom: t.bottom - top };
    const xs = this.xs();
    const hidden = this.env.hidden();
    lines.forEach(([series, rows], k) => {
      const { alpha, width } = this.look(lines.length > 1 && k === 0);
      for (let i = 0; i < rows.length; i++) {
        const rgb = this.rgb[i];
        if (!rgb || hidden.has(this.drawn[i])) continue;
        raster.strokeRows(xs, series.column(i), rows[i].rows, rows[i].length, local, rgb, alpha, width);
      }
    });
    if (!this.rasterCanvas) this.rasterCanvas = document.createElement('canvas');
    const c = this.rasterCanvas;
    if (c.width !== raster.width || c.height !== raster.height) {
      c.width = raster.width;
      c.height = raster.height;
    }
    c.getContext('2d')?.putImageData(new ImageData(raster.image(), raster.width, raster.height), 0, 0);
    u.ctx.globalAlpha = 1;
    u.ctx.drawImage(c, left, top);
  }

  /** A layer's line: full, or the faint raw line under a smoothed one; its opacity and width in device pixels. */
  private look(faint: boolean): { alpha: number; width: number } {
    return {
      alpha: faint ? 0.28 : 1,
      width: (faint ? Math.max(1, this.lineWidth - 0.5) : this.lineWidth) * (devicePixelRatio || 1),
    };
  }

  /** The canvas's stroke for a layer's line (look). */
  private lineStyle(ctx: CanvasRenderingContext2D, faint: boolean): void {
    const { alpha, width } = this.look(faint);
    ctx.globalAlpha = alpha;
    // (Round joins cost most of a software canvas's time, the more so on decimated lines, which
    // zigzag between each column's least and greatest value: the faint lines and the thin lines
    // of many layers, on which they do not show, do without.)
    const plain = faint || this.colors.length > 50;
    ctx.lineJoin = plain ? 'bevel' : 'round';
    ctx.lineCap = plain ? 'butt' : 'round';
    ctx.lineWidth = width;
  }

  /** Every visible layer's line, decimated (the raw one faint under the smoothed one); NaN is a gap. */
  private drawLines(u: uPlot): void {
    if (this.records === 0) {
      this.drawnTo = -1;
      return;
    }
    // (uPlot draws again on its own when resized: the decimation follows the width.)
    this.decimate();
    const { ctx } = u;
    const t = this.transform(u);
    const hidden = this.env.hidden();
    const xs = this.xs();
    this.beginLines(u);
    this.drawBands(ctx, xs, t, (i) => this.bandRows[i]);
    const lines: [LayerSeries, RowList[]][] = [[this.raw, this.rawRows]];
    if (this.smooth && this.smoothRows) lines.push([this.smooth, this.smoothRows]);
    if (this.rasterized()) this.rasterLines(u, lines, t);
    else
      lines.forEach(([series, rows], k) => {
        this.lineStyle(ctx, lines.length > 1 && k === 0);
        for (let i = 0; i < rows.length; i++) {
          if (hidden.has(this.drawn[i])) continue;
          ctx.strokeStyle = this.colors[i];
          strokeRows(ctx, xs, series.column(i), rows[i].rows, rows[i].length, t);
        }
      });
    ctx.restore();
    this.drawnTo = this.records - 1;
  }

  /** Only the segments from the last record drawn to record n - 1 (decimated as a full draw is). */
  private drawNewSegments(n: number): void {
    const u = this.u;
    const { ctx } = u;
    const xs = this.xs();
    const t = this.transform(u);
    const [a, b] = this.xRange;
    const layout = columnLayout(xs, this.drawnTo, n, a, b, this.pixelColumns());
    const hidden = this.env.hidden();
    const rows = this.scratch;
    this.beginLines(u);
    if (this.blocks) {
      const lo = new RowList();
      const hi = new RowList();
      this.drawBands(ctx, xs, t, (i) => {
        const band = this.blocks?.band(i);
        if (!band) return null;
        minMaxRows(xs, band.lo, layout, lo);
        minMaxRows(xs, band.hi, layout, hi);
        return [lo, hi];
      });
    }
    const series = this.smooth ? [this.raw, this.smooth] : [this.raw];
    series.forEach((s, k) => {
      this.lineStyle(ctx, series.length > 1 && k === 0);
      for (let i = 0; i < this.colors.length; i++) {
        if (hidden.has(this.drawn[i])) continue;
        const ys = s.column(i);
        minMaxRows(xs, ys, layout, rows);
        ctx.strokeStyle = this.colors[i];
        strokeRows(ctx, xs, ys, rows.rows, rows.length, t);
      }
    });
    ctx.restore();
    this.drawnTo = n - 1;
    this.drawOverlay();
  }

  /** The faint bands of the visible blocks' lines, from their layers' least to their greatest value (`rows`: a line's band edges, or null). */
  private drawBands(
    ctx: CanvasRenderingContext2D,
    xs: ArrayLike<number>,
    t: PixelTransform,
    rows: (i: number) => [RowList, RowList] | null,
  ): void {
    if (!this.blocks) return;
    const hidden = this.env.hidden();
    ctx.globalAlpha = 0.16;
    for (let i = 0; i < this.drawn.length; i++) {
      const band = this.blocks.band(i);
      if (!band || hidden.has(this.drawn[i])) continue;
      const edges = rows(i);
      if (!edges) continue;
      ctx.fillStyle = this.colors[i];
      fillBand(ctx, xs, band.lo, band.hi, edges[0], edges[1], t);
    }
    ctx.globalAlpha = 1;
  }

  private drawTarget(u: uPlot): void {
    if (this.kind !== 'distance') return;
    const { ctx, bbox } = u;
    const y = Math.round(u.valToPos(this.target, 'y', true)) + 0.5;
    if (!(y >= bbox.top - 1 && y <= bbox.top + bbox.height + 1)) return;
    const r = devicePixelRatio || 1;
    ctx.save();
    ctx.strokeStyle = this.theme().target;
    ctx.lineWidth = (this.theme().highContrast ? 2 : 1.5) * r;
    ctx.setLineDash([6 * r, 4 * r]);
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
    ctx.restore();
  }

  private sizeOverlay(): void {
    const o = this.overlay;
    if (!o) return;
    const r = devicePixelRatio || 1;
    const w = Math.round(this.u.bbox.width);
    const h = Math.round(this.u.bbox.height);
    if (o.width !== w || o.height !== h) {
      o.width = w;
      o.height = h;
      o.style.width = `${w / r}px`;
      o.style.height = `${h / r}px`;
    }
  }

  /** The layer highlighted, drawn again above the others, which a veil of the background dims. */
  private drawOverlay(): void {
    const o = this.overlay;
    if (!o) return;
    const g = o.getContext('2d');
    if (!g) return;
    g.clearRect(0, 0, o.width, o.height);
    const h = this.env.highlighted();
    const i = h === null ? undefined : this.at.get(h);
    if (h === null || i === undefined || this.env.hidden().has(h) || this.drawnTo < 0) return;
    const u = this.u;
    const t = this.transform(u);
    const { left, top } = u.bbox;
    g.save();
    g.fillStyle = withAlpha(this.theme().background, 0.6);
    g.fillRect(0, 0, o.width, o.height);
    g.translate(-left, -top);
    g.lineWidth = (this.lineWidth + 1) * (devicePixelRatio || 1);
    g.lineJoin = 'round';
    g.lineCap = 'round';
    g.strokeStyle = this.colors[i];
    // The line as drawn below: decimated the same way, up to the last record drawn.
    const xs = this.xs();
    const ys = this.line.column(i);
    const [a, b] = this.xRange;
    const [from, to] = rowsInRange(xs, this.drawnTo + 1, a, b);
    const layout = columnLayout(xs, from, to, a, b, this.pixelColumns());
    // A block's band too (its layers' least to greatest), above the veil, less faint than below it.
    const band = this.bandRows[i] ? this.blocks?.band(i) : null;
    if (band) {
      const [lo, hi] = this.bandScratch;
      g.globalAlpha = 0.3;
      g.fillStyle = this.colors[i];
      fillBand(g, xs, band.lo, band.hi, minMaxRows(xs, band.lo, layout, lo), minMaxRows(xs, band.hi, layout, hi), t);
      g.globalAlpha = 1;
    }
    const rows = minMaxRows(xs, ys, layout, this.scratch);
    strokeRows(g, xs, ys, rows.rows, rows.length, t);
    g.restore();
  }

  private setHovered(i: number | null): void {
    if (this.hovered === i) return;
    this.hovered = i;
    this.env.hover(i);
  }

  private onCursor(u: uPlot): void {
    const left = u.cursor.left ?? -1;
    const n = this.store.rotation.length;
    const layers = this.drawn;
    if (left < 0 || n === 0 || layers.length === 0) {
      show(this.tooltip, false);
      return;
    }
    // The record nearest the cursor, from the full-resolution data (the chart may draw fewer points).
    const xs = this.xs();
    const x = u.posToVal(left, 'x');
    let r = Math.min(n - 1, lowerBound(xs, n, x));
    if (r > 0 && Math.abs(xs[r - 1] - x) <= Math.abs(xs[r] - x)) r--;
    const line = this.line;
    const hidden = this.env.hidden();
    // (i: a layer's place among those drawn; layers[i]: its index in the store.)
    const value = (i: number) => line.column(i)[r];
    // The line nearest the pointer, if near enough, is highlighted.
    const top = u.cursor.top ?? -1;
    let near: number | null = null;
    if (top >= 0) {
      let best = HOVER_PX;
      for (let i = 0; i < layers.length; i++) {
        if (hidden.has(layers[i])) continue;
        const v = value(i);
        const py = u.valToPos(v, 'y');
        const d = Math.abs(py - top);
        if (Number.isFinite(v) && (this.yMode !== 'log' || v > 0) && d < best) {
          best = d;
          near = layers[i];
        }
      }
    }
    this.setHovered(near);
    const entries = layers.map((_, i) => i).filter((i) => !hidden.has(layers[i]));
    entries.sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      return Number.isNaN(va) ? 1 : Number.isNaN(vb) ? -1 : vb - va;
    });
    const rot = this.store.rotation;
    const step = rot.get(ROT_STEP, r);
    const time = rot.get(ROT_TIME, r);
    const head = [`epoch ${fmtNum(rot.get(ROT_EPOCH, r), 2)}`];
    if (Number.isFinite(step)) head.push(`step ${fmtInt(step)}`);
    if (Number.isFinite(time)) head.push(fmtX('time', time));
    if (this.smooth) head.push('smoothed');
    setText(this.tooltipHead, head.join(' · '));
    // All layers when they fit; else the highest and the lowest (the laggards), "+N more" between.
    let shown: number[];
    let hiddenRows = 0;
    if (entries.length <= MAX_TOOLTIP_ROWS) shown = entries;
    else {
      const topN = Math.ceil((MAX_TOOLTIP_ROWS - 1) / 2);
      const bottom = MAX_TOOLTIP_ROWS - 1 - topN;
      shown = [...entries.slice(0, topN), -1, ...entries.slice(entries.length - bottom)];
      hiddenRows = entries.length - topN - bottom;
    }
    const highlighted = this.env.highlighted();
    const children: HTMLElement[] = [this.tooltipHead];
    let k = 0;
    const digits = this.kind === 'distance' ? 3 : 4;
    for (const i of shown) {
      if (i < 0) {
        setText(this.more, `+${hiddenRows} more`);
        children.push(this.more);
        continue;
      }
      const row = this.rows[k++];
      row.swatch.style.background = this.colors[i];
      setText(row.name, this.bandRows[i] ? `${this.names[i]} (mean)` : (this.names[i] ?? ''));
      const v = value(i);
      setText(row.value, this.kind === 'distance' ? fmtNum(v, digits) : fmtSig(v));
      row.row.classList.toggle('highlighted', layers[i] === highlighted);
      children.push(row.row);
    }
    if (this.tooltip.childElementCount !== children.length || children.some((c, j) => this.tooltip.children[j] !== c))
      this.tooltip.replaceChildren(...children);
    show(this.tooltip, true);
    // Beside the cursor, flipped to its left near the right edge.
    const w = this.tooltip.offsetWidth;
    const h = this.tooltip.offsetHeight;
    const overW = u.over.clientWidth;
    const overH = u.over.clientHeight;
    const tx = left + 14 + w <= overW ? left + 14 : Math.max(0, left - 14 - w);
    const ty = Math.max(0, Math.min(overH - h, (u.cursor.top ?? overH / 2) - h / 2));
    this.tooltip.style.transform = `translate(${Math.round(tx)}px, ${Math.round(Math.max(0, ty))}px)`;
  }

  /** The last value drawn of each layer's line (smoothed when smoothing is on; NaN where unknown). */
  lastShown(): number[] {
    const n = this.line.length;
    return Array.from({ length: this.colors.length }, (_, i) => (n ? Number(this.line.column(i)[n - 1]) : NaN));
  }

  /** The last raw value of each layer (the distance, or the rate). */
  lastRaw(): number[] {
    const n = this.raw.length;
    return Array.from({ length: this.colors.length }, (_, i) => (n ? Number(this.raw.column(i)[n - 1]) : NaN));
  }

  /** Every row of each layer's raw and smoothed series (exports). */
  columns(): { raw: ArrayLike<number>[]; smooth: ArrayLike<number>[] | null } {
    const layers = this.colors.length;
    return {
      raw: Array.from({ length: layers }, (_, i) => this.raw.column(i)),
      smooth: this.smooth ? Array.from({ length: layers }, (_, i) => (this.smooth as SmoothedSeries).column(i)) : null,
    };
  }

  /** The pixel row (CSS px, relative to the page) of a value on the y axis: tests. */
  yPixel(v: number): number {
    const r = this.u.over.getBoundingClientRect();
    return r.top + this.u.valToPos(v, 'y');
  }
}

/** A rate: 4 significant digits (1.234e-4 for small ones). */
function fmtSig(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(3);
  return `${+v.toPrecision(4)}`;
}

type MetricKind = 'loss' | 'accuracy';

interface MetricSeries {
  name: 'train' | 'validation';
  /** uPlot series indices: the raw line and the smoothed one. */
  raw: number;
  smooth: number;
}

/**
 * A small chart: training (from batch events) and validation (from epoch ends) loss or
 * accuracy. Its legend entries hide a line (click), show it alone (Alt-click or double-click),
 * and highlight it (hover).
 */
export class MetricsChart {
  readonly root: HTMLElement;
  private u: uPlot | null = null;
  private readonly host: HTMLElement;
  private readonly values: Record<'train' | 'validation', HTMLElement>;
  private readonly items: Record<'train' | 'validation', HTMLElement>;
  private readonly yHost: HTMLElement;
  private observer: ResizeObserver | null = null;
  private view: MetricsView | null = null;
  /** Where the x axis ends: as the rotation chart's, unless the data goes further. */
  private xEnd = 0;
  private xData: number[] = [];
  /** The view's row of each point given to uPlot (the lines are decimated to the plot's pixel columns). */
  private rowOf: number[] = [];
  readonly hidden = new Set<'train' | 'validation'>();
  private focused: 'train' | 'validation' | null = null;
  xRange: [number, number] = [0, 1];
  yRange: [number, number] = [0, 1];
  private settings: ViewSettings | null = null;
  private readonly series: MetricSeries[] = [
    { name: 'train', raw: 1, smooth: 3 },
    { name: 'validation', raw: 2, smooth: 4 },
  ];

  constructor(
    parent: HTMLElement,
    readonly kind: MetricKind,
    private readonly theme: () => Theme,
    private readonly env: ChartEnv,
    private readonly heightFor: (width: number) => number,
    yControl: HTMLElement,
  ) {
    this.root = el('section', `card metric-card metric-${kind}`);
    const head = el('div', 'card-head');
    head.appendChild(el('h3', 'card-title', kind === 'loss' ? 'Loss' : 'Accuracy'));
    const legend = el('div', 'metric-legend');
    const item = (name: 'train' | 'validation') => {
      const span = el('button', `legend-item legend-toggle ${name}`);
      span.type = 'button';
      span.dataset.series = name;
      span.title = `${name}: click to hide or show, Alt-click or double-click to show it alone`;
      span.append(el('span', 'line-swatch'), el('span', 'legend-label', name));
      const value = el('span', 'legend-value', '–');
      span.appendChild(value);
      span.addEventListener('click', (ev) => (ev.altKey ? this.solo(name) : this.toggle(name)));
      span.addEventListener('dblclick', () => this.solo(name));
      span.addEventListener('mouseenter', () => this.focus(name));
      span.addEventListener('mouseleave', () => this.focus(null));
      legend.appendChild(span);
      return { span, value };
    };
    const train = item('train');
    const validation = item('validation');
    this.values = { train: train.value, validation: validation.value };
    this.items = { train: train.span, validation: validation.span };
    this.yHost = el('span', 'card-tools');
    this.yHost.appendChild(yControl);
    head.append(legend, this.yHost);
    this.host = el('div', 'chart-host metric-host');
    this.root.append(head, this.host);
    parent.appendChild(this.root);
  }

  /** (Re)creates the chart for these settings (when what it draws changes: x axis, smoothing, its y axis; else only fits it). */
  configure(settings: ViewSettings, force = false, width?: number): void {
    const prev = this.settings;
    if (
      !force &&
      this.u &&
      prev &&
      prev.x === settings.x &&
      prev.smoothing === settings.smoothing &&
      prev.y[this.kind] === settings.y[this.kind]
    ) {
      this.settings = settings;
      this.fit(width);
      return;
    }
    this.settings = settings;
    this.destroyChart();
    const kind = this.kind;
    const mode = chartYMode(kind, settings.y[kind]);
    const log = mode === 'log';
    if (log && !(this.yRange[0] > 0)) this.yRange = [1e-3, 1];
    const theme = this.theme;
    const zoom = zoomHooks(this.env);
    const faint = (c: () => string) => () => withAlpha(c(), 0.3);
    const smoothing = settings.smoothing > 0;
    const opts: uPlot.Options = {
      ...this.size(width),
      padding: [8, 10, 0, 0],
      legend: { show: false },
      focus: { alpha: 0.25 },
      cursor: { y: false, points: { show: false }, focus: { prox: 12 }, ...zoom.cursor },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: {
        x: { time: false, range: () => this.xRange },
        y: log ? { distr: 3, log: 10, range: () => this.yRange } : { range: () => this.yRange },
      },
      axes: axes(theme, undefined, settings.x, { size: 44, values: yValues(log, kind === 'accuracy') }),
      series: [
        {},
        {
          label: 'train',
          stroke: smoothing ? faint(() => theme().train) : () => theme().train,
          width: smoothing ? 1 : 1.5 + (theme().highContrast ? 0.5 : 0),
          points: { show: false },
        },
        {
          label: 'validation',
          stroke: smoothing ? faint(() => theme().validation) : () => theme().validation,
          width: smoothing ? 1 : 1.5 + (theme().highContrast ? 0.5 : 0),
          points: { show: true, size: 5, width: 1, fill: () => theme().validation },
        },
        {
          label: 'train (smoothed)',
          stroke: () => theme().train,
          width: 1.5 + (theme().highContrast ? 0.5 : 0),
          points: { show: false },
          show: smoothing,
        },
        {
          label: 'validation (smoothed)',
          stroke: () => theme().validation,
          width: 1.5 + (theme().highContrast ? 0.5 : 0),
          points: { show: false },
          show: smoothing,
        },
      ],
      hooks: {
        setCursor: [(u) => this.showValues(this.cursorRow(u))],
        setSelect: [zoom.setSelect],
      },
    };
    this.u = makePlot(opts, [[], [], [], [], []], this.host);
    zoom.bind(this.u);
    this.observer = new ResizeObserver(() => this.fit());
    this.observer.observe(this.host);
    for (const name of this.hidden) this.applyShown(name);
    if (this.view) this.update(this.view, this.xEnd);
  }

  private size(clientWidth = this.host.clientWidth): { width: number; height: number } {
    const width = Math.max(160, Math.floor(clientWidth || 300));
    return { width, height: this.heightFor(width) };
  }

  /** The host's width now (read before writing anything, it costs no layout of its own). */
  measure(): number {
    return this.host.clientWidth;
  }

  /** Fits the chart to its host (`clientWidth`: the host's, read by the caller already). */
  fit(clientWidth = this.host.clientWidth): void {
    if (!clientWidth || !this.u) return;
    const s = this.size(clientWidth);
    if (s.width === this.u.width && s.height === this.u.height) return;
    const wider = s.width > this.u.width;
    const u = this.u;
    u.batch(() => u.setSize(s));
    // Decimated to the old width: again to the new one.
    if (wider && this.view) this.update(this.view, this.xEnd);
  }

  /**
   * The rows drawn: each line's (train and validation, raw and smoothed) least and greatest
   * value per pixel column over the x range (src/runlog/decimate.ts), every row when few.
   */
  private drawnRows(
    x: number[],
    lines: (readonly (number | null | undefined)[])[],
    [a, b]: [number, number],
  ): number[] {
    const u = this.u;
    const columns = Math.max(1, Math.round(u ? u.bbox.width : this.size().width));
    if (x.length <= 2 * columns) return x.map((_, i) => i);
    const keep = new Uint8Array(x.length);
    for (const ys of lines) for (const r of sparseRows(x, ys, a, b, columns)) keep[r] = 1;
    const rows: number[] = [];
    for (let r = 0; r < keep.length; r++) if (keep[r]) rows.push(r);
    return rows;
  }

  update(m: MetricsView, xEnd: number): void {
    this.view = m;
    this.xEnd = xEnd;
    const u = this.u;
    const settings = this.settings;
    if (!u || !settings) return;
    const x = settings.x === 'epoch' ? m.x : settings.x === 'step' ? m.step : m.time;
    this.xData = x;
    const [train, val] = this.kind === 'loss' ? [m.trainLoss, m.valLoss] : [m.trainAcc, m.valAcc];
    const w = settings.smoothing;
    const smoothTrain = w > 0 ? smoothSeries(train, w) : null;
    const smoothVal = w > 0 ? smoothSeries(val, w) : null;
    let last = 0;
    for (let j = x.length - 1; j >= 0; j--)
      if (Number.isFinite(x[j])) {
        last = x[j];
        break;
      }
    const zoom = this.env.zoom();
    this.xRange = zoom ?? [0, Math.max(xEnd, last) || 1];
    const e = emptyExtent();
    const [a, b] = this.xRange;
    for (const s of this.series) {
      if (this.hidden.has(s.name)) continue;
      const ys = s.name === 'train' ? train : val;
      for (let j = 0; j < x.length; j++) {
        const y = ys[j];
        if (typeof y === 'number' && x[j] >= a && x[j] <= b) extendExtent(e, y);
      }
    }
    const mode = chartYMode(this.kind, settings.y[this.kind]);
    this.yRange = yRange(this.kind, mode, e);
    // uPlot needs x sorted: wall time is (events come in order); a NaN x (no time) is left out.
    const lines = smoothTrain && smoothVal ? [train, val, smoothTrain, smoothVal] : [train, val];
    const rows = this.drawnRows(x, lines, this.xRange);
    this.rowOf = rows;
    const pick = <T>(ys: T[] | null) =>
      ys
        ? rows.length === ys.length
          ? ys
          : rows.map((r) => ys[r])
        : new Array<undefined>(rows.length).fill(undefined);
    const data = [pick(x), pick(train), pick(val), pick(smoothTrain), pick(smoothVal)] as uPlot.AlignedData;
    u.batch(() => u.setData(data, true));
    this.showValues(this.cursorRow(u));
  }

  /** The view's row at the cursor (of the points drawn), or null. */
  private cursorRow(u: uPlot): number | null {
    const idx = u.cursor.left !== undefined && u.cursor.left >= 0 ? (u.cursor.idx ?? null) : null;
    return idx === null ? null : (this.rowOf[idx] ?? idx);
  }

  /** Redraws with the current zoom. */
  rescale(): void {
    if (this.view) this.update(this.view, this.xEnd);
  }

  restyle(): void {
    this.u?.redraw(false, true);
  }

  private destroyChart(): void {
    this.observer?.disconnect();
    this.observer = null;
    this.u?.destroy();
    this.u = null;
  }

  destroy(): void {
    this.destroyChart();
    this.root.remove();
  }

  /** Hides or shows a line. */
  toggle(name: 'train' | 'validation'): void {
    if (!this.hidden.delete(name)) this.hidden.add(name);
    this.applyShown(name);
    this.rescale();
    this.env.changed();
  }

  /** Shows this line alone; again (when it is alone) shows both. */
  solo(name: 'train' | 'validation'): void {
    const other = name === 'train' ? 'validation' : 'train';
    const alone = !this.hidden.has(name) && this.hidden.has(other);
    this.hidden.clear();
    if (!alone) this.hidden.add(other);
    this.applyShown('train');
    this.applyShown('validation');
    this.rescale();
    this.env.changed();
  }

  private applyShown(name: 'train' | 'validation'): void {
    const s = this.series.find((x) => x.name === name) as MetricSeries;
    const visible = !this.hidden.has(name);
    this.items[name].classList.toggle('off', !visible);
    this.items[name].setAttribute('aria-pressed', String(visible));
    const u = this.u;
    if (!u) return;
    const smoothing = (this.settings?.smoothing ?? 0) > 0;
    u.setSeries(s.raw, { show: visible });
    u.setSeries(s.smooth, { show: visible && smoothing });
  }

  /** Highlights a line (the others dimmed), or none. */
  focus(name: 'train' | 'validation' | null): void {
    this.focused = name;
    const u = this.u;
    if (!u) return;
    if (name === null || this.hidden.has(name)) {
      u.setSeries(null, { focus: true });
      return;
    }
    const s = this.series.find((x) => x.name === name) as MetricSeries;
    u.setSeries((this.settings?.smoothing ?? 0) > 0 ? s.smooth : s.raw, { focus: true });
    this.env.changed();
  }

  /** What tests read. */
  testState(): {
    xRange: [number, number];
    yRange: [number, number];
    hidden: string[];
    focused: string | null;
    shown: boolean[];
    points: number;
  } {
    return {
      xRange: [...this.xRange] as [number, number],
      yRange: [...this.yRange] as [number, number],
      hidden: [...this.hidden],
      focused: this.focused,
      shown: this.u ? this.u.series.slice(1).map((s) => s.show !== false) : [],
      points: this.xData.length,
    };
  }

  /** The legend shows the values at the cursor, or the latest ones. */
  private showValues(idx: number | null): void {
    const m = this.view;
    if (!m) return;
    const at = idx === null ? m.x.length - 1 : idx;
    const find = (ys: (number | null | undefined)[]) => {
      for (let i = Math.min(at, ys.length - 1); i >= 0; i--) if (ys[i] !== undefined) return ys[i];
      return null;
    };
    const [train, val] = this.kind === 'loss' ? [m.trainLoss, m.valLoss] : [m.trainAcc, m.valAcc];
    const f = (v: number | null | undefined) => (this.kind === 'loss' ? fmtNum(v, 3) : fmtPct(v, 1));
    setText(this.values.train, f(find(train)));
    setText(this.values.validation, f(find(val)));
  }
}

/** The polyline being stroked (one at a time: reused). */
const path = new PixelPath();

/**
 * Strokes one line through the given rows of xs and ys, as pixelPath draws it (the points it
 * passes within a fraction of a pixel of left out); a row whose pixel is NaN is a gap.
 */
function strokeRows(
  ctx: CanvasRenderingContext2D,
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  rows: Int32Array,
  count: number,
  t: PixelTransform,
): void {
  const { xy, length } = pixelPath(xs, ys, rows, count, t, path);
  ctx.beginPath();
  let pen = false;
  for (let j = 0; j < length; j += 2) {
    const x = xy[j];
    if (Number.isNaN(x)) pen = false;
    else if (pen) ctx.lineTo(x, xy[j + 1]);
    else {
      ctx.moveTo(x, xy[j + 1]);
      pen = true;
    }
  }
  ctx.stroke();
}

/** Fills a band between a lower and an upper edge (each decimated rows of xs and its values). */
function fillBand(
  ctx: CanvasRenderingContext2D,
  xs: ArrayLike<number>,
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  loRows: RowList,
  hiRows: RowList,
  t: PixelTransform,
): void {
  // The upper edge left to right, then the lower one back; a row without a value is skipped (the
  // band is faint: a gap shows in the lines above it).
  const px = (x: number) => t.left + (x - t.x0) * t.sx;
  ctx.beginPath();
  let started = false;
  for (let j = 0; j < hiRows.length; j++) {
    const r = hiRows.rows[j];
    const x = px(xs[r]);
    const y = pixelY(t, hi[r]);
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    if (started) ctx.lineTo(x, y);
    else {
      ctx.moveTo(x, y);
      started = true;
    }
  }
  if (!started) return;
  for (let j = loRows.length - 1; j >= 0; j--) {
    const r = loRows.rows[j];
    const x = px(xs[r]);
    const y = pixelY(t, lo[r]);
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    ctx.lineTo(x, y);
  }
  ctx.closePath();
  ctx.fill();
}

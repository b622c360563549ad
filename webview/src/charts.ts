// The monitor's charts (uPlot): the layer rotation curves, one line per layer coloured by depth
// (viridis), with the target as a dashed line and a tooltip listing every layer at the cursor;
// and the small loss and accuracy charts. Charts are created once per shown run and then only
// fed with setData; their colours come from the editor theme's CSS variables.
import uPlot from 'uplot';
import { layerColor, viridis } from '../../src/runlog/viridis';
import { axisEnd, lowerBound } from './analysis';
import { el, fmtInt, fmtNum, fmtPct, setText, show } from './dom';
import { type DecimatedView, type MetricsView, ROT_EPOCH, ROT_FIRST_LAYER, ROT_STEP, type RunStore } from './store';

export interface Theme {
  foreground: string;
  axis: string;
  grid: string;
  target: string;
  train: string;
  validation: string;
  fontFamily: string;
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

/** Reads the chart colours from the theme's CSS variables (again after each theme change). */
export function readTheme(): Theme {
  const foreground = resolveColor('var(--vscode-foreground, #cccccc)');
  return {
    foreground,
    axis: resolveColor('var(--vscode-descriptionForeground, var(--vscode-foreground, #9d9d9d))'),
    grid: withAlpha(resolveColor('var(--vscode-charts-lines, var(--vscode-foreground, #808080))'), 0.35),
    target: withAlpha(foreground, 0.9),
    train: resolveColor('var(--vscode-charts-blue, #3794ff)'),
    validation: resolveColor('var(--vscode-charts-orange, #d18616)'),
    fontFamily: getComputedStyle(document.body).fontFamily || 'sans-serif',
  };
}

function axes(theme: () => Theme, xLabel: string | undefined, y: Partial<uPlot.Axis>): uPlot.Axis[] {
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
    { ...common, label: xLabel, labelSize: xLabel ? 16 : 0, labelGap: 0, size: 26, space: 60 },
    { ...common, size: 40, space: 28, ...y },
  ];
}

const MAX_TOOLTIP_ROWS = 14;

interface TooltipRow {
  row: HTMLElement;
  swatch: HTMLElement;
  name: HTMLElement;
  value: HTMLElement;
}

/**
 * The layer rotation chart of one run (re-created only when another run is shown). uPlot keeps
 * the scales, axes, grid, cursor and one series per layer; the layer lines themselves are drawn
 * by this class on uPlot's canvas: all of them (from the decimated view) whenever uPlot draws
 * (new scales, size or theme), and in between only the segments of newly appended records.
 * The epoch axis grows in steps (axisEnd), so appends almost never need a full redraw.
 */
export class RotationChart {
  readonly u: uPlot;
  /** Times drawn (full or incremental), and how long the last update took (ms). */
  draws = 0;
  lastDrawMs = 0;
  /** Full redraws among them. */
  fullDraws = 0;
  /** Where the epoch axis ends (the loss and accuracy charts follow it). */
  xMax = 1;
  private yMax = 1;
  private target = 1;
  /** Index of the last record whose segment is on the canvas (-1: none). */
  private drawnTo = -1;
  private readonly colors: string[];
  private readonly lineWidth: number;
  private readonly tooltip: HTMLElement;
  private readonly tooltipHead: HTMLElement;
  private readonly rows: TooltipRow[] = [];
  private readonly more: HTMLElement;
  private readonly observer: ResizeObserver;

  constructor(
    private readonly host: HTMLElement,
    private readonly store: RunStore,
    private readonly view: DecimatedView,
    private readonly theme: () => Theme,
  ) {
    const layers = store.info?.layers ?? [];
    const count = layers.length;
    this.colors = layers.map((_, i) => layerColor(i, count));
    this.lineWidth = count <= 12 ? 2 : count <= 50 ? 1.5 : 1;
    const opts: uPlot.Options = {
      ...this.size(),
      padding: [10, 14, 0, 0],
      legend: { show: false },
      cursor: { y: false, points: { show: false }, drag: { x: false, y: false, setScale: false }, focus: { prox: -1 } },
      scales: {
        x: { time: false, range: () => [0, this.xMax] },
        y: { range: () => [0, this.yMax] },
      },
      axes: axes(theme, 'epoch', {
        label: 'cosine distance',
        labelSize: 16,
        labelGap: 0,
        size: 36,
        values: (_u, splits) => splits.map((v) => `${+v.toFixed(2)}`),
      }),
      // The lines are drawn by drawLines (paths: none for uPlot), the series give names, colours, scales.
      series: [
        {},
        ...layers.map(
          (l, i): uPlot.Series => ({
            label: l.name,
            stroke: this.colors[i],
            width: this.lineWidth,
            auto: false,
            points: { show: false },
            paths: () => null,
          }),
        ),
      ],
      hooks: {
        draw: [
          (u) => {
            this.drawLines(u);
            this.drawTarget(u);
            this.draws++;
            this.fullDraws++;
          },
        ],
        setCursor: [(u) => this.updateTooltip(u)],
      },
    };
    this.u = new uPlot(opts, [[], ...layers.map(() => [])], host);

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
    this.u.over.appendChild(this.tooltip);
    this.observer = new ResizeObserver(() => this.fit());
    this.observer.observe(host);
  }

  private size(): { width: number; height: number } {
    const width = Math.max(200, Math.floor(this.host.clientWidth || 600));
    return { width, height: Math.round(Math.min(340, Math.max(200, width * 0.5))) };
  }

  fit(): void {
    if (!this.host.clientWidth) return;
    const s = this.size();
    if (s.width !== this.u.width || s.height !== this.u.height) this.u.setSize(s);
  }

  /**
   * Shows the records up to now (the view already synced with the store): a full draw through
   * uPlot when the scales change, else only the new segments. Synchronous: the time is the draw's.
   */
  update(target: number, finished: boolean): void {
    const t0 = performance.now();
    const rot = this.store.rotation;
    const n = rot.length;
    const last = n > 0 ? rot.get(ROT_EPOCH, n - 1) : 0;
    const xMax = finished ? (last > 0 ? last : 1) : axisEnd(last, this.store.endEpoch());
    const top = Math.max(1, target, this.store.maxDistance);
    // Above 1 only when a layer goes there, in steps of 0.1 with some headroom (few full redraws).
    const yMax = top > 1 ? Math.min(2, Math.ceil((top + 0.04) * 10) / 10) : 1;
    if (
      xMax !== this.xMax ||
      yMax !== this.yMax ||
      target !== this.target ||
      this.drawnTo < 0 ||
      n - 1 < this.drawnTo
    ) {
      this.xMax = xMax;
      this.yMax = yMax;
      this.target = target;
      const data = [this.view.x, ...this.view.ys] as uPlot.AlignedData;
      this.u.batch(() => this.u.setData(data));
    } else if (n - 1 > this.drawnTo) {
      this.drawNewSegments(n);
      this.draws++;
    }
    this.lastDrawMs = performance.now() - t0;
    if (!this.tooltip.hidden) this.updateTooltip(this.u);
  }

  /** Redraws with the current theme. */
  restyle(): void {
    this.u.batch(() => this.u.redraw(false, true));
  }

  destroy(): void {
    this.observer.disconnect();
    this.u.destroy();
  }

  /** Canvas transform of the current scales (x and y both start at 0). */
  private transform(u: uPlot): { left: number; bottom: number; sx: number; sy: number } {
    const { left, top, width, height } = u.bbox;
    return { left, bottom: top + height, sx: width / this.xMax, sy: height / this.yMax };
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

  /** Every layer's line from the decimated view; null is a gap. */
  private drawLines(u: uPlot): void {
    const view = this.view;
    const m = view.length;
    if (m === 0) {
      this.drawnTo = -1;
      return;
    }
    const { ctx } = u;
    const t = this.transform(u);
    const px = new Float64Array(m);
    for (let j = 0; j < m; j++) px[j] = t.left + view.x[j] * t.sx;
    this.beginLines(u);
    for (let i = 0; i < view.series; i++) {
      const ys = view.ys[i];
      ctx.strokeStyle = this.colors[i];
      strokeWithGaps(
        ctx,
        m,
        (j) => px[j],
        (j) => ys[j],
        t.bottom,
        t.sy,
      );
    }
    ctx.restore();
    this.drawnTo = view.records - 1;
  }

  /** Only the segments from the last record drawn to record n - 1 (at the view's resolution). */
  private drawNewSegments(n: number): void {
    const u = this.u;
    const { ctx } = u;
    const rot = this.store.rotation;
    const k = this.view.k;
    const rows = [this.drawnTo];
    for (let r = this.drawnTo + 1; r < n - 1; r++) if (r % k === 0) rows.push(r);
    rows.push(n - 1);
    const xs = rot.column(ROT_EPOCH);
    const t = this.transform(u);
    const px = rows.map((r) => t.left + xs[r] * t.sx);
    this.beginLines(u);
    const layers = this.colors.length;
    for (let i = 0; i < layers; i++) {
      const ys = rot.column(ROT_FIRST_LAYER + i);
      ctx.strokeStyle = this.colors[i];
      strokeWithGaps(
        ctx,
        rows.length,
        (j) => px[j],
        (j) => ys[rows[j]],
        t.bottom,
        t.sy,
      );
    }
    ctx.restore();
    this.drawnTo = n - 1;
  }

  private drawTarget(u: uPlot): void {
    const { ctx, bbox } = u;
    const y = Math.round(u.valToPos(this.target, 'y', true)) + 0.5;
    if (!(y >= bbox.top - 1 && y <= bbox.top + bbox.height + 1)) return;
    const r = devicePixelRatio || 1;
    ctx.save();
    ctx.strokeStyle = this.theme().target;
    ctx.lineWidth = 1.5 * r;
    ctx.setLineDash([6 * r, 4 * r]);
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
    ctx.restore();
  }

  private updateTooltip(u: uPlot): void {
    const left = u.cursor.left ?? -1;
    const rot = this.store.rotation;
    const n = rot.length;
    const layers = this.store.info?.layers ?? [];
    if (left < 0 || n === 0 || layers.length === 0) {
      show(this.tooltip, false);
      return;
    }
    // The record nearest the cursor, from the full-resolution data (the chart may draw fewer points).
    const xs = rot.column(ROT_EPOCH);
    const x = u.posToVal(left, 'x');
    let r = Math.min(n - 1, lowerBound(xs, n, x));
    if (r > 0 && Math.abs(xs[r - 1] - x) <= Math.abs(xs[r] - x)) r--;
    const entries = layers.map((_, i) => i);
    const value = (i: number) => rot.get(ROT_FIRST_LAYER + i, r);
    entries.sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      return Number.isNaN(va) ? 1 : Number.isNaN(vb) ? -1 : vb - va;
    });
    const step = rot.get(ROT_STEP, r);
    setText(this.tooltipHead, `epoch ${fmtNum(xs[r], 2)}${Number.isFinite(step) ? ` · step ${fmtInt(step)}` : ''}`);
    // All layers when they fit; else the highest and the lowest (the laggards), "+N more" between.
    let shown: number[];
    let hidden = 0;
    if (entries.length <= MAX_TOOLTIP_ROWS) shown = entries;
    else {
      const top = Math.ceil((MAX_TOOLTIP_ROWS - 1) / 2);
      const bottom = MAX_TOOLTIP_ROWS - 1 - top;
      shown = [...entries.slice(0, top), -1, ...entries.slice(entries.length - bottom)];
      hidden = entries.length - top - bottom;
    }
    const children: HTMLElement[] = [this.tooltipHead];
    let k = 0;
    for (const i of shown) {
      if (i < 0) {
        setText(this.more, `+${hidden} more`);
        children.push(this.more);
        continue;
      }
      const row = this.rows[k++];
      row.swatch.style.background = layerColor(i, layers.length);
      setText(row.name, layers[i].name);
      setText(row.value, fmtNum(value(i), 3));
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
    const top = Math.max(0, Math.min(overH - h, (u.cursor.top ?? overH / 2) - h / 2));
    this.tooltip.style.transform = `translate(${Math.round(tx)}px, ${Math.round(Math.max(0, top))}px)`;
  }
}

/** The layers' colours as a CSS gradient, first layer to last. */
export function viridisGradient(): string {
  const stops = Array.from({ length: 9 }, (_, i) => `${viridis(i / 8)} ${(i * 12.5).toFixed(1)}%`);
  return `linear-gradient(to right, ${stops.join(', ')})`;
}

type MetricKind = 'loss' | 'accuracy';

/** A small chart: training (from batch events) and validation (from epoch ends) loss or accuracy. */
export class MetricsChart {
  readonly root: HTMLElement;
  private readonly u: uPlot;
  private readonly host: HTMLElement;
  private readonly trainValue: HTMLElement;
  private readonly valValue: HTMLElement;
  private readonly observer: ResizeObserver;
  private view: MetricsView | null = null;
  /** Where the epoch axis ends: as the rotation chart's, unless the data goes further. */
  private xEnd = 0;

  constructor(
    parent: HTMLElement,
    private readonly kind: MetricKind,
    theme: () => Theme,
  ) {
    this.root = el('section', 'card metric-card');
    const head = el('div', 'card-head');
    head.appendChild(el('h3', 'card-title', kind === 'loss' ? 'Loss' : 'Accuracy'));
    const legend = el('div', 'metric-legend');
    const item = (cls: string, label: string) => {
      const span = el('span', `legend-item ${cls}`);
      span.append(el('span', 'line-swatch'), el('span', 'legend-label', label));
      const value = el('span', 'legend-value', '–');
      span.appendChild(value);
      legend.appendChild(span);
      return value;
    };
    this.trainValue = item('train', 'train');
    this.valValue = item('validation', 'validation');
    head.appendChild(legend);
    this.host = el('div', 'chart-host metric-host');
    this.root.append(head, this.host);
    parent.appendChild(this.root);

    const fmt = kind === 'loss' ? (v: number) => `${+v.toPrecision(3)}` : (v: number) => `${+(v * 100).toFixed(1)}%`;
    const opts: uPlot.Options = {
      ...this.size(),
      padding: [8, 10, 0, 0],
      legend: { show: false },
      cursor: { y: false, points: { show: false }, drag: { x: false, y: false, setScale: false }, focus: { prox: -1 } },
      scales: {
        x: { time: false, range: (_u, _min, max) => [0, Math.max(this.xEnd, Math.max(max, 0)) || 1] },
        y: {
          range: (_u, min, max) => {
            if (kind === 'accuracy') return [Number.isFinite(min) && min > 0.5 ? Math.floor(min * 10) / 10 : 0, 1];
            return [0, Number.isFinite(max) && max > 0 ? max * 1.05 : 1];
          },
        },
      },
      axes: axes(theme, undefined, { size: 44, values: (_u, splits) => splits.map(fmt) }),
      series: [
        {},
        { label: 'train', stroke: () => theme().train, width: 1.5, points: { show: false } },
        {
          label: 'validation',
          stroke: () => theme().validation,
          width: 1.5,
          points: { show: true, size: 5, width: 1, fill: () => theme().validation },
        },
      ],
      hooks: { setCursor: [(u) => this.showValues(u.cursor.idx ?? null)] },
    };
    this.u = new uPlot(opts, [[], [], []], this.host);
    this.observer = new ResizeObserver(() => this.fit());
    this.observer.observe(this.host);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(160, Math.floor(this.host.clientWidth || 300)), height: 150 };
  }

  fit(): void {
    if (!this.host.clientWidth) return;
    const s = this.size();
    if (s.width !== this.u.width) this.u.setSize(s);
  }

  update(m: MetricsView, xEnd: number): void {
    this.view = m;
    this.xEnd = xEnd;
    const data = (
      this.kind === 'loss' ? [m.x, m.trainLoss, m.valLoss] : [m.x, m.trainAcc, m.valAcc]
    ) as uPlot.AlignedData;
    this.u.batch(() => this.u.setData(data));
    this.showValues(this.u.cursor.left !== undefined && this.u.cursor.left >= 0 ? (this.u.cursor.idx ?? null) : null);
  }

  restyle(): void {
    this.u.redraw(false, true);
  }

  destroy(): void {
    this.observer.disconnect();
    this.u.destroy();
    this.root.remove();
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
    setText(this.trainValue, f(find(train)));
    setText(this.valValue, f(find(val)));
  }
}

/** Strokes one line through n points; a null or NaN value is a gap. y is in chart units (bottom - v * sy). */
function strokeWithGaps(
  ctx: CanvasRenderingContext2D,
  n: number,
  x: (j: number) => number,
  value: (j: number) => number | null,
  bottom: number,
  sy: number,
): void {
  ctx.beginPath();
  let pen = false;
  for (let j = 0; j < n; j++) {
    const v = value(j);
    if (v === null || Number.isNaN(v)) pen = false;
    else if (pen) ctx.lineTo(x(j), bottom - v * sy);
    else {
      ctx.moveTo(x(j), bottom - v * sy);
      pen = true;
    }
  }
  ctx.stroke();
}

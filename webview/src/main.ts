// The Layer Rotation Monitor webview: receives run-log events from the extension host
// (webview/protocol.ts), keeps each run's data, and draws the selected run: the layer rotation
// curves first (they fit a side view's default height), then the run's header, loss and
// accuracy, and the layer table. The chart settings (x axis, y axis modes, smoothing, distance
// or stepwise rate, grouping by block) are kept per workspace by the host; zoom and hidden layers last while the
// run is shown. At most ~30 redraws a second, one per animation frame, whatever the rate of
// incoming events; charts are fed with setData, re-created only when the run or the settings
// change.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

import {
  CHART_Y_MODES,
  DEFAULT_VIEW,
  type ExportView,
  type HostMessage,
  isHostMessage,
  isViewSettings,
  type MonitorExportKind,
  type MonitorTestState,
  type Quantity,
  RUN_ID,
  type RunEvent,
  type RunListItem,
  type RunStarted,
  type ViewSettings,
  type WebviewMessage,
  type XAxis,
  type YMode,
} from '../protocol';
import { MAX_SMOOTHING, rateLabel, rateTerms } from '../../src/runlog/chartMath';
import { type CurvesTable, monitorSvg } from '../../src/runlog/runExport';
import { svgTextToPngBase64 } from '../compare/png';
import { connectHost, type Host } from '../host';
import { storeVerdict } from './analysis';
import {
  blockDepth,
  blockLine,
  blockOfLine,
  GROUP_ABOVE,
  type GroupMode,
  groupedLines,
  groupingOn,
  groupLayers,
  isBlockLine,
  type LayerBlock,
} from '../../src/runlog/layerGroups';
import { layerColorIn } from '../../src/runlog/viridis';
import { warmUpDrawing } from '../../src/runlog/warmup';
import {
  type ChartEnv,
  type ChartLines,
  layerLines,
  MetricsChart,
  readTheme,
  RotationChart,
  type RotationKind,
  storeLayerColor,
  type Theme,
  viridisGradient,
} from './charts';
import { MAX_LAYERS_DRAWN, pickLayers } from '../../src/runlog/layerCap';
import { button, type Segmented, type Slider, segmented, slider } from './controls';
import { el, setText, show } from './dom';
import { drawFeatures, featuresPng, featuresTitle } from './features';
import { Header, runStatus } from './header';
import { RateSeries } from './series';
import { type LayerSubset, ROT_EPOCH, ROT_FIRST_LAYER, ROT_STEP, ROT_TIME, RunStore } from './store';
import { LayerTable } from './table';

/** What tests and benchmarks read: the protocol's MonitorTestState plus the charts' state and a few measurements. */
export interface MonitorState extends MonitorTestState {
  /** The rotation chart's axis colour now (follows the theme). */
  axisColor: string;
  /** Time of the last rotation chart update (setData + draw), and of the last whole frame, in ms. */
  lastDrawMs: number;
  lastFrameMs: number;
  /** When the last frame began (performance.now()): its work, with the microtasks it queued, ends before the next animation frame callback. */
  lastFrameStart: number;
  /** How long the warm-up took (the drawing's, src/runlog/warmup.ts, and the panel's layout ahead), in ms; null: it has not run (records came first). */
  warmUpMs: number | null;
  /**
   * Whether every panel shows the data drawn: false from a big run's first frame (it draws the
   * curves only) to the next one (the loss and accuracy, the legend, the table, the features).
   */
  settled: boolean;
  /** Points per layer in a full draw (records are decimated to about the chart's width). */
  drawnPoints: number;
  /** Full redraws of the rotation chart among `draws` (the others only add new segments). */
  fullDraws: number;
  settings: ViewSettings;
  /** The x range zoomed to, or null. */
  zoom: [number, number] | null;
  /** The rotation charts shown (distance, rate), and the ranges of each. */
  rotationCharts: RotationKind[];
  ranges: Partial<Record<RotationKind, { x: [number, number]; y: [number, number]; xLabel: string; yLabel: string }>>;
  /** Layers hidden, and the one highlighted (by name). */
  hidden: string[];
  highlighted: string | null;
  /** Per layer, the last value of the first rotation chart's line (smoothed when smoothing is on), and its last raw value. */
  shownLast: number[];
  rawLast: number[];
  /** The loss and accuracy charts. */
  metrics: Record<'loss' | 'accuracy', ReturnType<MetricsChart['testState']>>;
  /** The layers' colours in this theme (each layer kept), and the background they are drawn on. */
  layerColors: string[];
  background: string;
  /** The run's layers in all, those kept (the store's columns), and the names of those drawn (the chart's lines: a block's name for a block; the table's rows). */
  layerTotal: number;
  layersKept: number;
  drawnLayers: string[];
  /** Grouped by block, and the lines drawn: name, colour, how many layers (1: a layer), expanded (a block's layers drawn instead). */
  grouped: boolean;
  drawnLines: { name: string; color: string; layers: number }[];
  blocks: { name: string; layers: number; expanded: boolean; color: string }[];
}

declare global {
  interface Window {
    __layerRotationMonitor?: MonitorState;
    __layerRotationMonitorPost?: (msg: HostMessage) => void;
    __layerRotationMonitorSent?: WebviewMessage[];
  }
}

type HostApi = Host<WebviewMessage>;

function connect(): HostApi {
  const sent: WebviewMessage[] = [];
  window.__layerRotationMonitorSent = sent;
  return connectHost(sent);
}

const MIN_FRAME_MS = 1000 / 30;
/** Slices of the drawing's warm-up while the page waits (Monitor.warmUp). */
const WARM_UP_SLICES = 3;

/**
 * A run's first frame draws its curves alone, the other panels following in the next frame,
 * when it has at least this many values to draw (records x lines): 200 layers x 20,000 records
 * take ~60 ms to decimate and stroke, the other panels ~40 ms more.
 */
const SPLIT_FIRST_DRAW = 500_000;
/** Grouped by block: the legend lists the lines drawn up to this many, else shows the colour bar. */
const MAX_LEGEND_BLOCKS = 40;
const SLOW_EVERY_MS = 250;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

const QUANTITY_OPTIONS: { value: Quantity; text: string; title: string }[] = [
  { value: 'distance', text: 'distance', title: 'Cosine distance of each layer’s kernel to its initial value' },
  {
    value: 'rate',
    text: 'rate',
    title:
      'Stepwise rotation: tan of the angle each layer turns per step (divided by the learning rate when Layca is off)',
  },
  { value: 'both', text: 'both', title: 'The distance and, below it, the stepwise rate' },
];

const Y_TITLES: Record<YMode, string> = {
  fixed: 'Fixed y axis (the distance: 0 to just above the target)',
  auto: 'Automatic y axis: the range of the visible lines',
  log: 'Logarithmic y axis',
};

const yOptions = (modes: readonly YMode[]) => modes.map((m) => ({ value: m, text: m, title: Y_TITLES[m] }));

class Monitor {
  private readonly runs = new Map<string, RunStore>();
  private list: RunListItem[] = [];
  private listKey = '';
  private selected: string | null = null;
  private gotRuns = false;
  private theme: Theme;
  private settings: ViewSettings = DEFAULT_VIEW;
  private zoom: [number, number] | null = null;
  private readonly hidden = new Set<number>();
  private highlighted: number | null = null;
  /** The lagging layers of the run shown (the store's indices), as the table last judged them. */
  private lagging: number[] = [];
  /** Blocks whose layers are drawn and listed one by one (grouped by block), by block index. */
  private readonly expanded = new Set<number>();

  private readonly runBar: HTMLElement;
  private readonly runSelect: HTMLElement & { value: string };
  private readonly empty: HTMLElement;
  private readonly emptyTitle: HTMLElement;
  private readonly emptyText: HTMLElement;
  private readonly content: HTMLElement;
  private readonly header: Header;
  private readonly rotationNote: HTMLElement;
  private readonly hosts: Record<RotationKind, HTMLElement>;
  private readonly blocks: Record<RotationKind, HTMLElement>;
  private readonly legend: HTMLElement;
  private readonly loss: MetricsChart;
  private readonly accuracy: MetricsChart;
  private readonly table: LayerTable;
  private readonly controls: {
    quantity: Segmented<Quantity>;
    distanceY: Segmented<YMode>;
    rateY: Segmented<YMode>;
    lossY: Segmented<YMode>;
    accuracyY: Segmented<YMode>;
    x: Segmented<XAxis>;
    smoothing: Slider;
    group: Segmented<GroupMode>;
  };

  private charts: Partial<Record<RotationKind, RotationChart>> = {};
  /** Draws of the charts destroyed so far (the counts go on across re-creations). */
  private pastDraws = 0;
  private pastFullDraws = 0;
  /** What the charts show: the store, its run_started, and the versions drawn. */
  private shown: {
    store: RunStore;
    info: RunStarted;
    /** The store's layers drawn and listed (at most MAX_LAYERS_DRAWN), and how many matched the filter. */
    rows: number[];
    matches?: number;
    /** The run's blocks (of the layers kept), whether the lines are grouped by them, and the lines drawn (a layer, or a block's id < 0). */
    blocks: LayerBlock[];
    grouped: boolean;
    lines: number[];
    /** The lines the charts were made with, while the legend and the table are still to be made for them (drawLists). */
    listed: ChartLines | null;
    /**
     * A run (or its run_started) shown for the first time, not drawn yet: its first frame draws the
     * curves alone, the other panels follow in the next. (Charts made again for new settings draw
     * every panel in one frame.)
     */
    fresh: boolean;
    rotation: number;
    metrics: number;
    metricsX: number;
    slow: number;
    slowAt: number;
  } | null = null;
  private frame = 0;
  private lastFrame = -Infinity;
  private slowTimer = 0;
  private readonly env: ChartEnv;
  private readonly state: MonitorState = {
    runId: null,
    seriesCount: 0,
    lastValues: [],
    points: 0,
    draws: 0,
    tableLayers: [],
    lagging: [],
    axisColor: '',
    lastDrawMs: 0,
    lastFrameMs: 0,
    lastFrameStart: 0,
    warmUpMs: null,
    settled: true,
    drawnPoints: 0,
    fullDraws: 0,
    settings: DEFAULT_VIEW,
    zoom: null,
    rotationCharts: [],
    ranges: {},
    hidden: [],
    highlighted: null,
    shownLast: [],
    rawLast: [],
    metrics: {
      loss: { xRange: [0, 1], yRange: [0, 1], hidden: [], focused: null, shown: [], points: 0 },
      accuracy: { xRange: [0, 1], yRange: [0, 1], hidden: [], focused: null, shown: [], points: 0 },
    },
    layerColors: [],
    background: '',
    layerTotal: 0,
    layersKept: 0,
    drawnLayers: [],
    grouped: false,
    drawnLines: [],
    blocks: [],
  };

  constructor(
    root: HTMLElement,
    private readonly host: HostApi,
  ) {
    this.theme = readTheme();
    this.state.axisColor = this.theme.axis;
    window.__layerRotationMonitor = this.state;
    const saved = this.host.getState();
    if (isObject(saved) && typeof saved.selected === 'string') this.selected = saved.selected;
    if (isObject(saved) && isViewSettings(saved.settings)) this.settings = saved.settings;
    this.state.settings = this.settings;

    this.env = {
      settings: () => this.settings,
      zoom: () => this.zoom,
      setZoom: (range) => this.setZoom(range),
      hidden: () => this.hidden,
      highlighted: () => this.highlighted,
      hover: (i) => this.setHighlighted(i),
      changed: () => this.schedule(),
    };

    this.runBar = el('div', 'run-bar');
    const label = el('label', undefined, 'Run');
    label.htmlFor = 'run-select';
    this.runSelect = el('vscode-single-select') as HTMLElement & { value: string };
    this.runSelect.id = 'run-select';
    this.runSelect.addEventListener('change', () => {
      const id = this.runSelect.value;
      if (id && id !== this.selected && RUN_ID.test(id)) {
        this.select(id);
        this.host.post({ type: 'select', runId: id });
      }
    });
    this.runBar.append(label, this.runSelect);
    this.runBar.hidden = true;

    this.empty = el('div', 'empty-state');
    this.emptyTitle = el('div', 'empty-title');
    this.emptyText = el('div', 'empty-text');
    this.empty.append(this.emptyTitle, this.emptyText);

    this.content = el('main', 'monitor');
    // The rotation chart first: in a side view it is what shows without scrolling.
    const rotationCard = el('section', 'card rotation-card');
    const head = el('div', 'card-head');
    head.appendChild(el('h3', 'card-title', 'Layer rotation'));
    this.rotationNote = el('span', 'card-note');
    head.appendChild(this.rotationNote);
    const block = (kind: RotationKind, title: string) => {
      const b = el('div', `chart-block ${kind}-block`);
      if (kind === 'rate') b.appendChild(el('div', 'block-title', title));
      const h = el('div', `chart-host ${kind === 'distance' ? 'rotation-host' : 'rate-host'}`);
      h.setAttribute('role', 'img');
      b.appendChild(h);
      return { b, h };
    };
    const distance = block('distance', 'Cosine distance');
    const rate = block('rate', 'Stepwise rotation rate');
    this.hosts = { distance: distance.h, rate: rate.h };
    this.blocks = { distance: distance.b, rate: rate.b };
    this.legend = el('div', 'rotation-legend');
    const s = this.settings;
    this.controls = {
      quantity: segmented('show', 'quantity', QUANTITY_OPTIONS, s.quantity, (v) => this.change({ quantity: v })),
      distanceY: segmented('y', 'distance-y', yOptions(CHART_Y_MODES.distance), s.y.distance, (v) =>
        this.changeY('distance', v),
      ),
      rateY: segmented('rate y', 'rate-y', yOptions(CHART_Y_MODES.rate), s.y.rate, (v) => this.changeY('rate', v)),
      lossY: segmented('', 'loss-y', yOptions(CHART_Y_MODES.loss), s.y.loss, (v) => this.changeY('loss', v)),
      accuracyY: segmented('', 'accuracy-y', yOptions(CHART_Y_MODES.accuracy), s.y.accuracy, (v) =>
        this.changeY('accuracy', v),
      ),
      x: segmented(
        'x',
        'x-axis',
        [
          { value: 'epoch', text: 'epoch', title: 'x in epochs' },
          { value: 'step', text: 'step', title: 'x in optimizer steps' },
          { value: 'time', text: 'time', title: 'x in wall time since the run started' },
        ],
        s.x,
        (v) => this.change({ x: v }),
      ),
      smoothing: slider(
        'smooth',
        'smoothing',
        {
          min: 0,
          max: MAX_SMOOTHING,
          step: 0.01,
          value: s.smoothing,
          title: 'Smoothing: an exponential moving average of this weight (as TensorBoard); the raw line stays, faint',
        },
        (v) => this.change({ smoothing: v }),
      ),
      group: segmented(
        'group',
        'group',
        [
          {
            value: 'auto',
            text: 'auto',
            title: `By block when the run has more than ${GROUP_ABOVE} layers, else every layer`,
          },
          {
            value: 'blocks',
            text: 'blocks',
            title:
              'One line and one row per block (a layer’s name up to its first number, e.g. bert.encoder.layer.0): the mean of its layers, a faint band from the least to the greatest; click a block to expand it',
          },
          { value: 'layers', text: 'layers', title: 'One line and one row per layer' },
        ],
        s.group ?? 'auto',
        (v) => this.change({ group: v }),
      ),
    };
    this.controls.group.root.title = `Group layers by block (default: by block above ${GROUP_ABOVE} layers)`;
    const toolbar = el('div', 'chart-toolbar');
    const exports = el('span', 'tool-group exports');
    exports.setAttribute('role', 'group');
    exports.setAttribute('aria-label', 'export');
    exports.append(
      el('span', 'control-label', 'save'),
      button('SVG', 'Save the curves as shown (zoom, y axis, smoothing, hidden layers) as SVG', 'export-svg', () =>
        this.exportFile('svg'),
      ),
      button('PNG', 'Save the curves as shown as PNG', 'export-png', () => void this.exportPng()),
      button('CSV', 'Save every record as CSV: one row per record, a column per layer, the metrics', 'export-csv', () =>
        this.exportFile('csv'),
      ),
    );
    toolbar.append(
      this.controls.quantity.root,
      this.controls.distanceY.root,
      this.controls.rateY.root,
      this.controls.x.root,
      this.controls.smoothing.root,
      this.controls.group.root,
      exports,
    );
    rotationCard.append(head, distance.b, rate.b, this.legend, toolbar);
    this.content.appendChild(rotationCard);

    this.header = new Header(
      this.content,
      (runId) => this.host.post({ type: 'stop', runId }),
      (runId) => this.host.post({ type: 'openConfig', runId }),
    );
    const metrics = el('div', 'metrics-grid');
    this.content.appendChild(metrics);
    const metricHeight = (w: number) => (w < 380 || window.innerHeight < 500 ? 120 : 150);
    this.loss = new MetricsChart(metrics, 'loss', () => this.theme, this.env, metricHeight, this.controls.lossY.root);
    this.accuracy = new MetricsChart(
      metrics,
      'accuracy',
      () => this.theme,
      this.env,
      metricHeight,
      this.controls.accuracyY.root,
    );
    this.table = new LayerTable(this.content, {
      toggle: (i) => this.toggleLayer(i),
      solo: (i) => this.soloLayer(i),
      hover: (i) => this.setHighlighted(i),
      filter: () => this.pickRows(),
      expand: (id) => this.expandBlock(id),
    });
    // The first layer's units as images, at initialization and now (the paper's section 6).
    const featuresHead = el('div', 'card-head');
    featuresHead.append(
      el('div', 'block-title', 'First-layer features'),
      button('PNG', 'Save the first-layer features as PNG', 'export-features-png', () => void this.exportFeaturesPng()),
    );
    this.featuresCard.append(featuresHead, this.featuresCanvas);
    this.featuresCanvas.setAttribute('role', 'img');
    this.content.appendChild(this.featuresCard);
    show(this.featuresCard, false);
    root.append(this.runBar, this.empty, this.content);
    this.content.hidden = true;
    this.loss.configure(this.settings);
    this.accuracy.configure(this.settings);
    this.showControls();

    // Follow the editor's theme: VS Code changes body's class and the variables on <html>.
    const observer = new MutationObserver(() => this.restyle());
    observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
    // The content's width, as laid out last (the features card's size).
    new ResizeObserver(() => {
      const w = this.content.clientWidth;
      if (w === this.contentWidth) return;
      this.contentWidth = w;
      if (this.featuresDrawn) this.schedule();
    }).observe(this.content);
    // The view's height sets the rotation chart's.
    let resize = 0;
    window.addEventListener('resize', () => {
      cancelAnimationFrame(resize);
      resize = requestAnimationFrame(() => {
        for (const c of Object.values(this.charts)) c?.fit();
        this.loss.fit();
        this.accuracy.fit();
      });
    });
    this.schedule();
  }

  // ---- messages ----

  /** Whether any run's records are in (the drawing has begun, or is about to). */
  private hasRecords(): boolean {
    for (const store of this.runs.values()) if (store.rotation.length > 0) return true;
    return false;
  }

  /**
   * Warms the drawing up (src/runlog/warmup.ts), a slice at a time while the page is idle, and
   * lays the panel out ahead after the first, until records come. (V8 compiles the hot loops for
   * speed only after they ran about three slices in all: measured, 200 layers x 20,000 records,
   * the first draw 57 ms after three slices, 68 ms after one; a slice is 20-60 ms, so a run's
   * records waits at most one.) warmUpMs: the time spent, once it is done or stopped.
   */
  warmUp(slice = 0, spent = 0): void {
    if (this.hasRecords()) {
      if (slice > 0) this.state.warmUpMs = spent;
      return;
    }
    const t0 = performance.now();
    warmUpDrawing();
    if (slice === 0) this.layOutAhead();
    const total = spent + performance.now() - t0;
    if (slice + 1 < WARM_UP_SLICES) requestIdleCallback(() => this.warmUp(slice + 1, total), { timeout: 1000 });
    else this.state.warmUpMs = total;
  }

  /**
   * The panel's content (header, controls, chart frames, table), laid out once out of sight while
   * the page waits: a page's first layout pays for its fonts, styles and custom elements, and a
   * big run's first frame, which lays the content out to size its charts, then lays out less
   * (bench/webview-render.mjs, 200 layers: that layout 12-19 -> 6-9 ms; this one 13-24 ms of the
   * wait). Shown and hidden again within this task: nothing is painted in between.
   */
  private layOutAhead(): void {
    const c = this.content;
    if (!c.hidden) return;
    c.style.visibility = 'hidden';
    c.hidden = false;
    void c.offsetHeight;
    c.hidden = true;
    c.style.visibility = '';
  }

  handle(msg: unknown): void {
    // Only the protocol's messages, with normalized events, get through.
    if (!isHostMessage(msg)) return;
    try {
      switch (msg.type) {
        case 'runs':
          this.onRuns(msg.runs, msg.selected);
          return;
        case 'load':
          this.onEvents(msg.runId, msg.events, true, msg.layers);
          return;
        case 'append':
          this.onEvents(msg.runId, msg.events, false, msg.layers);
          return;
        case 'select':
          this.select(msg.runId);
          return;
        case 'settings':
          this.applySettings(msg.settings, false);
          return;
      }
    } catch (err) {
      console.warn('layer rotation monitor: message ignored:', err);
    }
  }

  private onRuns(list: RunListItem[], selected: string | null): void {
    const first = !this.gotRuns;
    this.gotRuns = true;
    this.list = list;
    if (selected) this.select(selected);
    else if (list.length && (first || !this.selected || !list.some((r) => r.runId === this.selected))) {
      // The host has no preference: the run shown before (saved state), else a running one, else the first.
      const pick = list.find((r) => r.runId === this.selected) ?? list.find((r) => r.status === 'running') ?? list[0];
      this.select(pick.runId);
      this.host.post({ type: 'select', runId: pick.runId });
    }
    this.schedule();
  }

  private onEvents(runId: string, events: RunEvent[], replace: boolean, layers?: LayerSubset): void {
    let store = this.runs.get(runId);
    if (!store || replace) {
      store = new RunStore(runId);
      this.runs.set(runId, store);
    }
    // The run's layers the host's events keep (a run of more than MAX_LAYERS_KEPT), for its run_started.
    if (layers) store.subset = layers;
    store.addAll(events);
    if (this.selected === null) this.select(runId);
    if (runId === this.selected) this.schedule();
  }

  private select(runId: string): void {
    if (this.selected !== runId) {
      this.selected = runId;
      this.saveState();
    }
    this.schedule();
  }

  private saveState(): void {
    this.host.setState({ selected: this.selected, settings: this.settings });
  }

  // ---- settings, zoom, hidden layers ----

  private change(patch: Partial<Omit<ViewSettings, 'y'>>): void {
    this.applySettings({ ...this.settings, ...patch }, true);
  }

  private changeY(kind: keyof ViewSettings['y'], mode: YMode): void {
    this.applySettings({ ...this.settings, y: { ...this.settings.y, [kind]: mode } } as ViewSettings, true);
  }

  /** New settings (the user's, or the workspace's from the host): the charts are made again. */
  private applySettings(next: ViewSettings, fromUser: boolean): void {
    if (!isViewSettings(next)) return;
    const prev = this.settings;
    if (JSON.stringify(prev) === JSON.stringify(next)) return;
    this.settings = next;
    this.state.settings = next;
    if (prev.x !== next.x) this.zoom = null;
    this.saveState();
    if (fromUser) this.host.post({ type: 'settings', settings: next });
    this.showControls();
    this.rebuildCharts();
  }

  private showControls(): void {
    const s = this.settings;
    const c = this.controls;
    c.quantity.set(s.quantity);
    c.distanceY.set(s.y.distance);
    c.rateY.set(s.y.rate);
    c.lossY.set(s.y.loss);
    c.accuracyY.set(s.y.accuracy);
    c.x.set(s.x);
    c.smoothing.set(s.smoothing);
    c.group.set(s.group ?? 'auto');
    // Only where grouping changes something.
    show(
      c.group.root,
      this.shown ? this.shown.blocks.length > 1 && this.shown.blocks.length < this.shown.info.layers.length : false,
    );
    show(c.distanceY.root, s.quantity !== 'rate');
    show(c.rateY.root, s.quantity !== 'distance');
  }

  private setZoom(range: [number, number] | null): void {
    if (range === null && this.zoom === null) return;
    this.zoom = range;
    this.redrawAll();
  }

  private toggleLayer(i: number): void {
    if (!this.hidden.delete(i)) this.hidden.add(i);
    this.redrawAll();
  }

  /** Shows this layer alone; again (when it is alone) shows them all. */
  private soloLayer(i: number): void {
    const shown = this.shown;
    // Grouped: every other line drawn; else every other layer kept.
    const all = shown?.grouped ? shown.lines : Array.from({ length: shown?.info.layers.length ?? 0 }, (_, k) => k);
    const alone = !this.hidden.has(i) && all.every((k) => k === i || this.hidden.has(k));
    this.hidden.clear();
    if (!alone) for (const k of all) if (k !== i) this.hidden.add(k);
    this.redrawAll();
  }

  /** A block's layers drawn and listed one by one, or folded into its line again. */
  private expandBlock(id: number): void {
    if (!isBlockLine(id)) return;
    const k = blockOfLine(id);
    if (!this.expanded.delete(k)) this.expanded.add(k);
    this.pickRows(true);
  }

  /** A line's name: a layer's, or a block's. */
  private lineName(id: number): string {
    const shown = this.shown;
    if (isBlockLine(id)) return shown?.blocks[blockOfLine(id)]?.key ?? '';
    return shown?.info.layers[id]?.name ?? String(id);
  }

  private showAllLayers(): void {
    this.hidden.clear();
    this.redrawAll();
  }

  private setHighlighted(i: number | null): void {
    if (this.highlighted === i) return;
    this.highlighted = i;
    for (const c of Object.values(this.charts)) c?.highlight();
    this.markLayers();
  }

  private markLayers(): void {
    this.table.mark(this.hidden, this.highlighted);
    for (const item of this.legend.querySelectorAll<HTMLElement>('[data-layer]')) {
      const i = Number(item.dataset.layer);
      const off = this.hidden.has(i);
      item.classList.toggle('off', off);
      item.setAttribute('aria-pressed', String(!off));
      item.classList.toggle('highlighted', i === this.highlighted);
    }
    const all = this.legend.querySelector<HTMLElement>('.show-all');
    if (all) {
      show(all, this.hidden.size > 0);
      setText(all, `${this.hidden.size} hidden · show all`);
    }
    this.state.hidden = [...this.hidden].sort((a, b) => a - b).map((i) => this.lineName(i));
    this.state.highlighted = this.highlighted === null ? null : this.lineName(this.highlighted);
  }

  /** After a zoom or a layer hidden: every chart drawn again now. */
  private redrawAll(): void {
    this.markLayers();
    const shown = this.shown;
    if (!shown) return;
    for (const c of Object.values(this.charts)) {
      c?.redraw();
      c?.update(shown.info.target, !!shown.store.finished);
    }
    const xEnd = this.charts.distance?.xEnd ?? this.charts.rate?.xEnd ?? 1;
    this.loss.update(shown.store.metrics, xEnd);
    this.accuracy.update(shown.store.metrics, xEnd);
    this.updateState(shown.store);
  }

  // ---- drawing ----

  /** One redraw on the next animation frame, at most ~30 a second. */
  schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(this.tick);
  }

  private readonly featuresCard = el('section', 'card features-card');
  private readonly featuresCanvas = el('canvas', 'features-canvas');
  /** The snapshot last drawn (an event object of the store), and at which width. */
  private featuresDrawn: { event: unknown; width: number } | null = null;
  /** The content's width (clientWidth) when last laid out; 0: not yet. */
  private contentWidth = 0;

  /** Draws the run's first-layer features when a new snapshot came or the width changed; hides the card without any. */
  private drawFeaturesCard(store: RunStore): void {
    const f = store.features;
    show(this.featuresCard, !!f);
    if (!f) {
      this.featuresDrawn = null;
      this.state.features = null;
      return;
    }
    // (The width the observer saw last: reading it here would lay out the frame's changes so far.)
    const width = Math.max(200, (this.contentWidth || this.content.clientWidth) - 24);
    if (this.featuresDrawn?.event === f.last && this.featuresDrawn.width === width) return;
    const layout = drawFeatures(
      this.featuresCanvas,
      { initial: f.first, current: f.last },
      { maxWidth: width, background: this.theme.background, foreground: this.theme.foreground },
    );
    this.featuresCanvas.setAttribute('aria-label', featuresTitle(f.last));
    this.featuresDrawn = { event: f.last, width };
    this.state.features = { step: f.last.step, tiles: layout.tiles.length };
  }

  private async exportFeaturesPng(): Promise<void> {
    const store = this.shown?.store;
    const f = store?.features;
    if (!store || !f) return;
    const bytes = await featuresPng(
      { initial: f.first, current: f.last },
      { background: '#ffffff', foreground: '#222222' },
    );
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    this.host.post({ type: 'png', runId: store.runId, data: btoa(binary), what: 'features' });
  }

  private readonly tick = (now: number): void => {
    this.frame = 0;
    if (now - this.lastFrame < MIN_FRAME_MS - 1) {
      this.frame = requestAnimationFrame(this.tick);
      return;
    }
    this.lastFrame = now;
    const t0 = performance.now();
    this.state.lastFrameStart = t0;
    try {
      this.draw();
    } catch (err) {
      console.warn('layer rotation monitor: draw failed:', err);
    }
    this.state.lastFrameMs = performance.now() - t0;
  };

  private restyle(): void {
    const before = this.theme;
    this.theme = readTheme();
    this.state.axisColor = this.theme.axis;
    if (
      before.palette[0] !== this.theme.palette[0] ||
      before.palette[1] !== this.theme.palette[1] ||
      before.highContrast !== this.theme.highContrast
    ) {
      // The layers' colours change with the background: the charts, legend and table are made again
      // (the loss and accuracy charts too: their line widths follow high contrast).
      this.loss.configure(this.settings, true);
      this.accuracy.configure(this.settings, true);
      this.rebuildCharts();
      return;
    }
    for (const c of Object.values(this.charts)) c?.restyle();
    this.loss.restyle();
    this.accuracy.restyle();
    this.updateDraws();
  }

  private runItems(): { runId: string; label: string }[] {
    const items = this.list.map((r) => {
      const store = this.runs.get(r.runId);
      return { runId: r.runId, label: `${r.runId} · ${store ? runStatus(store, r) : r.status}` };
    });
    for (const [id, store] of this.runs) {
      if (!this.list.some((r) => r.runId === id))
        items.push({ runId: id, label: `${id} · ${runStatus(store, undefined)}` });
    }
    return items;
  }

  private drawRunBar(): void {
    const items = this.runItems();
    // One run or none: no list to pick from (its options are made when it shows).
    if (items.length <= 1) {
      show(this.runBar, false);
      this.listKey = '';
      return;
    }
    const key = `${JSON.stringify(items)}|${this.selected}`;
    if (key === this.listKey) return;
    this.listKey = key;
    show(this.runBar, true);
    this.runSelect.replaceChildren(
      ...items.map((it) => {
        const o = el('vscode-option', undefined, it.label);
        o.setAttribute('value', it.runId);
        if (it.runId === this.selected) o.setAttribute('selected', '');
        return o;
      }),
    );
    if (this.selected) this.runSelect.value = this.selected;
  }

  private showEmpty(title: string, text: string): void {
    setText(this.emptyTitle, title);
    setText(this.emptyText, text);
    show(this.empty, true);
    show(this.content, false);
    Object.assign(this.state, {
      runId: this.selected,
      seriesCount: 0,
      lastValues: [],
      points: 0,
      tableLayers: [],
      lagging: [],
      drawnPoints: 0,
    });
  }

  /** The rotation chart's height: the view's height below its top, so that it fits, within bounds set by its width. */
  private rotationHeight(kind: RotationKind, width: number): number {
    const cap = clamp(Math.round(width * 0.8), 200, 440);
    if (kind === 'rate' && this.settings.quantity === 'both') return clamp(Math.round(width * 0.5), 140, 300);
    const top = this.hosts[kind].getBoundingClientRect().top + window.scrollY;
    // Room for the legend and the toolbar under it.
    const below = width < 420 ? 84 : 56;
    return clamp(Math.round(window.innerHeight - top - below), 150, cap);
  }

  /** The charts of the run shown, for these settings and this theme (drawn on the next frame, or by the caller: draw()). */
  private rebuildCharts(schedule = true): void {
    for (const c of Object.values(this.charts)) {
      if (!c) continue;
      this.pastDraws += c.draws;
      this.pastFullDraws += c.fullDraws;
      c.destroy();
    }
    this.charts = {};
    this.hosts.distance.replaceChildren();
    this.hosts.rate.replaceChildren();
    const shown = this.shown;
    if (!shown) {
      this.loss.configure(this.settings);
      this.accuracy.configure(this.settings);
      this.schedule();
      return;
    }
    const { store, info } = shown;
    const total = Math.max(store.layerTotal, info.layers.length);
    shown.grouped = groupingOn(this.settings.group, shown.blocks, info.layers.length, total);
    this.showControls();
    Object.assign(shown, this.rowsFor(shown));
    const lines = this.chartLines(shown);
    const drawnNote = shown.grouped
      ? ` · ${shown.blocks.length.toLocaleString('en-US')} blocks of ${total.toLocaleString('en-US')} layers`
      : shown.rows.length < total
        ? ` · ${shown.rows.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} layers drawn`
        : '';
    const q = this.settings.quantity;
    const kinds: RotationKind[] = q === 'both' ? ['distance', 'rate'] : [q];
    show(this.blocks.distance, kinds.includes('distance'));
    show(this.blocks.rate, kinds.includes('rate'));
    // Every chart's size read at once, before any is made: a read after a write lays the page out again.
    const widths = {
      distance: this.hosts.distance.clientWidth,
      rate: this.hosts.rate.clientWidth,
      loss: this.loss.measure(),
      accuracy: this.accuracy.measure(),
    };
    // (The rotation chart's height reads where its host is: before the first chart is made, as the widths.)
    const sizes = kinds.map((kind) => {
      const width = RotationChart.widthIn(widths[kind]);
      return { width, height: this.rotationHeight(kind, width) };
    });
    for (const [k, kind] of kinds.entries()) {
      const host = this.hosts[kind];
      this.charts[kind] = new RotationChart(
        host,
        store,
        kind,
        () => this.theme,
        this.env,
        (w) => this.rotationHeight(kind, w),
        lines,
        sizes[k],
      );
      const what =
        kind === 'distance'
          ? `cosine distance to the initial weights`
          : `stepwise rotation rate (${rateLabel(rateTerms(info))})`;
      const of = shown.grouped
        ? `${total} layers in ${shown.blocks.length} blocks (a block's line: its layers' mean)`
        : `${shown.rows.length < total ? `${shown.rows.length} of ` : ''}${total} layers`;
      host.setAttribute(
        'aria-label',
        `Layer rotation curves of ${of}: ${what} against ${this.settings.x === 'time' ? 'wall time' : `${this.settings.x}s`}`,
      );
    }
    setText(
      this.rotationNote,
      (q === 'distance'
        ? 'cosine distance of each layer’s weights to their initial value'
        : q === 'rate'
          ? `stepwise rate: ${rateLabel(rateTerms(info))}`
          : `distance, and the stepwise rate (${rateLabel(rateTerms(info))})`) + drawnNote,
    );
    this.loss.configure(this.settings, false, widths.loss);
    this.accuracy.configure(this.settings, false, widths.accuracy);
    // The legend and the table are made in the frame that draws the charts, after them (drawLists).
    shown.listed = lines;
    shown.rotation = -1;
    shown.metrics = -1;
    shown.slow = -1;
    shown.slowAt = -Infinity;
    if (schedule) this.schedule();
  }

  /**
   * The legend and the table's rows for the lines the charts were made with. In the frame, after
   * the charts drew: their DOM, written before, would make the canvases' first text (uPlot sets
   * the context's font) recompute the style of every row there and then; written last, it is laid
   * out once, with the rest of the frame's changes.
   */
  private drawLists(shown: NonNullable<Monitor['shown']>): void {
    const lines = shown.listed;
    if (!lines) return;
    shown.listed = null;
    const { store, info } = shown;
    const total = Math.max(store.layerTotal, info.layers.length);
    this.drawLegend(store, info, shown.rows, lines);
    const color = new Map(lines.ids.map((id, k) => [id, lines.colors[k]]));
    this.table.setLayers({
      layers: info.layers,
      depth: store.layerIndex,
      total,
      rows: shown.rows,
      colors: (i) =>
        color.get(i) ??
        (isBlockLine(i) ? this.blockColor(store, shown.blocks[blockOfLine(i)]) : storeLayerColor(this.theme, store, i)),
      matches: shown.matches,
      grouped: shown.grouped
        ? {
            entries: this.tableEntries(shown),
            blocks: shown.blocks.length,
            block: (id) => {
              const b = shown.blocks[blockOfLine(id)];
              return { name: b.key, layers: b.layers, expanded: this.expanded.has(blockOfLine(id)) };
            },
          }
        : undefined,
    });
    this.markLayers();
  }

  private draw(): void {
    this.drawRunBar();
    const store = this.selected ? this.runs.get(this.selected) : undefined;
    if (!store) {
      if (!this.gotRuns) this.showEmpty('Layer Rotation Monitor', 'Waiting for the extension…');
      else if (this.selected) this.showEmpty('Loading the run…', this.selected);
      else
        this.showEmpty(
          'No run to show',
          'Start training from a *.layerrot.json config, or open a run folder (Layer Rotation: Open Run...).',
        );
      return;
    }
    const info = store.info;
    if (!info) {
      this.showEmpty('Waiting for the run to start…', `${store.runId}: no run_started event yet.`);
      return;
    }
    show(this.empty, false);
    show(this.content, true);

    const item = this.list.find((r) => r.runId === store.runId);
    this.header.update(store, item);

    // A new run (or a new run_started) gets new charts, no zoom, no hidden layer; appends only feed them.
    let shown = this.shown;
    if (!shown || shown.store !== store || shown.info !== info || !Object.keys(this.charts).length) {
      if (!shown || shown.store !== store || shown.info !== info) {
        this.zoom = null;
        this.hidden.clear();
        this.highlighted = null;
        this.lagging = [];
        this.expanded.clear();
        if (shown?.store !== store) this.table.clearFilter();
      }
      shown = this.shown = {
        store,
        info,
        rows: [],
        blocks:
          shown?.info === info && shown.store === store ? shown.blocks : groupLayers(info.layers.map((l) => l.name)),
        grouped: false,
        lines: [],
        listed: null,
        fresh: true,
        rotation: -1,
        metrics: -1,
        metricsX: -1,
        slow: -1,
        slowAt: -Infinity,
      };
      this.rebuildCharts(false);
    }
    const finished = !!store.finished;
    if (shown.rotation !== store.rotationVersion) {
      shown.rotation = store.rotationVersion;
      for (const c of Object.values(this.charts)) c?.update(info.target, finished);
    }
    const fresh = shown.fresh;
    shown.fresh = false;
    if (fresh && store.rotation.length * shown.lines.length >= SPLIT_FIRST_DRAW) {
      // A big run shown for the first time: its curves are drawn first, on their own; the other
      // panels, the legend and the table in the next frame.
      this.state.settled = false;
      this.schedule();
      this.updateState(store);
      return;
    }
    this.state.settled = true;
    const first = this.charts.distance ?? this.charts.rate;
    const xEnd = first?.xEnd ?? 1;
    // The loss/accuracy charts and the table (whose analysis reads every layer's recent records)
    // need not follow every frame: a few times a second is plenty.
    if (shown.slow !== store.version) {
      const now = performance.now();
      if (now - shown.slowAt >= SLOW_EVERY_MS || store.finished) {
        shown.slow = store.version;
        shown.slowAt = now;
        if (shown.metrics !== store.metricsVersion || shown.metricsX !== xEnd) {
          shown.metrics = store.metricsVersion;
          shown.metricsX = xEnd;
          this.loss.update(store.metrics, xEnd);
          this.accuracy.update(store.metrics, xEnd);
        }
        this.drawFeaturesCard(store);
        this.drawLists(shown);
        this.drawTable(store, info);
      } else if (!this.slowTimer) {
        this.slowTimer = window.setTimeout(() => {
          this.slowTimer = 0;
          this.schedule();
        }, SLOW_EVERY_MS);
      }
    }
    this.drawLists(shown);
    this.updateState(store);
  }

  private updateDraws(): void {
    const charts = Object.values(this.charts).filter((c): c is RotationChart => !!c);
    this.state.draws = this.pastDraws + charts.reduce((a, c) => a + c.draws, 0);
    this.state.fullDraws = this.pastFullDraws + charts.reduce((a, c) => a + c.fullDraws, 0);
  }

  private updateState(store: RunStore): void {
    const s = this.state;
    const first = this.charts.distance ?? this.charts.rate;
    s.runId = store.runId;
    s.seriesCount = first ? first.drawn.length : 0;
    s.lastValues = store.lastDistances();
    s.points = store.rotation.length;
    s.drawnPoints = first ? first.drawnPoints : 0;
    this.updateDraws();
    s.lastDrawMs = first?.lastDrawMs ?? 0;
    s.tableLayers = this.table.names();
    s.lagging = this.table.laggingNames();
    s.zoom = this.zoom ? [...this.zoom] : null;
    s.rotationCharts = Object.keys(this.charts) as RotationKind[];
    s.ranges = {};
    for (const [k, c] of Object.entries(this.charts))
      if (c) s.ranges[k as RotationKind] = { x: [...c.xRange], y: [...c.yRange], xLabel: c.xLabel, yLabel: c.yLabel };
    s.shownLast = first ? first.lastShown() : [];
    s.rawLast = first ? first.lastRaw() : [];
    s.metrics = { loss: this.loss.testState(), accuracy: this.accuracy.testState() };
    const n = store.layerCount;
    // (Made again only when the run, its layers or the theme change: this runs every frame.)
    const c = this.colorsOf;
    if (c?.store !== store || c.theme !== this.theme || c.n !== n || c.total !== store.layerTotal) {
      const colors = Array.from({ length: n }, (_, i) => storeLayerColor(this.theme, store, i));
      this.colorsOf = { store, theme: this.theme, n, total: store.layerTotal, colors };
    }
    s.layerColors = this.colorsOf?.colors ?? [];
    s.background = this.theme.background;
    s.layerTotal = Math.max(store.layerTotal, n);
    s.layersKept = n;
    const names = store.info?.layers ?? [];
    const shown = this.shown?.store === store ? this.shown : null;
    s.grouped = !!shown?.grouped;
    s.drawnLayers = (shown ? (shown.grouped ? shown.lines : shown.rows) : []).map((i) =>
      isBlockLine(i) ? this.lineName(i) : (names[i]?.name ?? ''),
    );
    const lines = shown && first ? this.lastLines : null;
    s.drawnLines = lines
      ? lines.ids.map((_, k) => ({ name: lines.names[k], color: lines.colors[k], layers: lines.members[k].length }))
      : [];
    s.blocks = shown?.grouped
      ? shown.blocks.map((b, k) => ({
          name: b.key,
          layers: b.layers.length,
          expanded: this.expanded.has(k),
          color: this.blockColor(store, b),
        }))
      : [];
  }

  /** The store's layers' colours the state shows, and for what. */
  private colorsOf: { store: RunStore; theme: Theme; n: number; total: number; colors: string[] } | null = null;

  /** The lines the charts were last made with. */
  private lastLines: ChartLines | null = null;

  /** A block's colour: viridis at its layers' mean depth in the run. */
  private blockColor(store: RunStore, block: LayerBlock): string {
    const total = Math.max(store.layerTotal, store.layerCount);
    return layerColorIn(
      blockDepth(block, (i) => store.layerIndex[i] ?? i),
      total,
      this.theme.palette,
    );
  }

  /** The charts' lines: the layers drawn, or (grouped) the blocks and the layers of expanded ones. */
  private chartLines(shown: NonNullable<Monitor['shown']>): ChartLines {
    const { store, blocks } = shown;
    const lines: ChartLines = shown.grouped
      ? {
          ids: shown.lines,
          names: shown.lines.map((id) => this.lineName(id)),
          colors: shown.lines.map((id) =>
            isBlockLine(id) ? this.blockColor(store, blocks[blockOfLine(id)]) : storeLayerColor(this.theme, store, id),
          ),
          members: shown.lines.map((id) => (isBlockLine(id) ? blocks[blockOfLine(id)].layers : [id])),
        }
      : layerLines(store, this.theme, shown.rows);
    this.lastLines = lines;
    return lines;
  }

  /** The table's rows, grouped: each line drawn, an expanded block's row above its layers' rows. */
  private tableEntries(shown: NonNullable<Monitor['shown']>): number[] {
    const out: number[] = [];
    const blockOf = new Map<number, number>();
    shown.blocks.forEach((b, k) => {
      if (b.layers.length > 1) for (const i of b.layers) blockOf.set(i, k);
    });
    let last = -1;
    for (const id of shown.lines) {
      if (!isBlockLine(id)) {
        const k = blockOf.get(id);
        if (k !== undefined && k !== last && this.expanded.has(k)) out.push(blockLine(k));
        last = k ?? -1;
      } else last = blockOfLine(id);
      out.push(id);
    }
    return out.slice(0, MAX_LAYERS_DRAWN);
  }

  /**
   * The store's layers to draw and list: those whose name contains the table's filter (the first
   * MAX_LAYERS_DRAWN), else all of them up to MAX_LAYERS_DRAWN, else the lagging ones and evenly
   * spaced ones (src/runlog/layerCap.ts).
   */
  private rowsFor(shown: NonNullable<Monitor['shown']>): { rows: number[]; matches?: number; lines: number[] } {
    const layers = shown.info.layers;
    const q = this.table.filter.toLowerCase();
    if (shown.grouped) {
      // Grouped: the blocks with a layer whose name contains the filter (src/runlog/layerGroups.ts).
      const match = q ? (i: number) => layers[i].name.toLowerCase().includes(q) : null;
      const g = groupedLines(shown.blocks, this.expanded, match, MAX_LAYERS_DRAWN);
      return { rows: g.layers, matches: g.matches, lines: g.lines };
    }
    if (!q) {
      const rows = pickLayers(layers.length, MAX_LAYERS_DRAWN, this.lagging);
      return { rows, matches: undefined, lines: rows };
    }
    const rows: number[] = [];
    let matches = 0;
    layers.forEach((l, i) => {
      if (!l.name.toLowerCase().includes(q)) return;
      matches++;
      if (rows.length < MAX_LAYERS_DRAWN) rows.push(i);
    });
    return { rows, matches, lines: rows };
  }

  /** The layers drawn again (the filter or the lagging layers changed): the charts and the table are made again when they differ. */
  private pickRows(force = false): void {
    const shown = this.shown;
    if (!shown) return;
    const next = this.rowsFor(shown);
    if (!force && next.lines.length === shown.lines.length && next.lines.every((k, j) => k === shown.lines[j])) {
      if (next.matches !== shown.matches) this.rebuildCharts();
      return;
    }
    // A line no longer drawn cannot stay hidden or highlighted unseen.
    const keep = new Set(next.lines);
    for (const i of [...this.hidden]) if (!keep.has(i)) this.hidden.delete(i);
    if (this.highlighted !== null && !keep.has(this.highlighted)) this.highlighted = null;
    this.rebuildCharts();
  }

  /** Points per line when drawn in full: at most about one per pixel of the chart's width. */
  private drawTable(store: RunStore, info: RunStarted): void {
    this.table.update(storeVerdict(store, info));
    // Of a run with more layers than drawn, the lagging ones are drawn: they may have changed.
    const lagging = this.table.laggingLayers();
    if (info.layers.length > MAX_LAYERS_DRAWN && !this.shown?.grouped && lagging.join() !== this.lagging.join()) {
      this.lagging = lagging;
      this.pickRows();
    } else this.lagging = lagging;
  }

  private drawLegend(store: RunStore, info: RunStarted, rows: number[], lines: ChartLines): void {
    // Every layer drawn when they are few; else a colour bar from the run's first layer to its last.
    // Grouped: every block and layer drawn (up to MAX_LEGEND_BLOCKS), a block's entry expanding it.
    const grouped = !!this.shown?.grouped;
    const n = rows.length;
    const total = Math.max(store.layerTotal, info.layers.length);
    const items: HTMLElement[] = [];
    if (grouped && lines.ids.length <= MAX_LEGEND_BLOCKS) {
      lines.ids.forEach((id, k) => {
        const block = isBlockLine(id);
        const item = el('button', `legend-item legend-toggle${block ? ' legend-block' : ''}`);
        item.type = 'button';
        item.dataset.layer = String(id);
        const sw = el('span', 'swatch');
        sw.style.background = lines.colors[k];
        if (block) {
          item.dataset.block = String(id);
          item.setAttribute('aria-expanded', 'false');
          item.title = `${lines.names[k]}: the mean of its ${lines.members[k].length} layers (the faint band: the least to the greatest). Click to draw each of them, Alt-click or double-click to show it alone`;
          item.append(
            sw,
            el('span', undefined, lines.names[k]),
            el('span', 'block-count', `▸ ${lines.members[k].length}`),
          );
          item.addEventListener('click', (ev) => (ev.altKey ? this.soloLayer(id) : this.expandBlock(id)));
        } else {
          item.title = `${lines.names[k]}: click to hide or show, Alt-click or double-click to show it alone`;
          item.append(sw, el('span', undefined, lines.names[k]));
          item.addEventListener('click', (ev) => (ev.altKey ? this.soloLayer(id) : this.toggleLayer(id)));
        }
        item.addEventListener('dblclick', () => this.soloLayer(id));
        item.addEventListener('mouseenter', () => this.setHighlighted(id));
        item.addEventListener('mouseleave', () => this.setHighlighted(null));
        items.push(item);
      });
      // The expanded blocks, to fold them again.
      for (const k of [...this.expanded].sort((a, b) => a - b)) {
        const b = this.shown?.blocks[k];
        if (!b) continue;
        const item = el('button', 'legend-item legend-toggle legend-block expanded');
        item.type = 'button';
        item.dataset.block = String(blockLine(k));
        item.setAttribute('aria-expanded', 'true');
        item.title = `${b.key}: its ${b.layers.length} layers drawn one by one; click to draw their mean again`;
        item.append(el('span', undefined, b.key), el('span', 'block-count', `▾ ${b.layers.length}`));
        item.addEventListener('click', () => this.expandBlock(blockLine(k)));
        items.push(item);
      }
      items.push(el('span', 'legend-item legend-note', 'a block: its layers’ mean'));
    } else if (!grouped && n > 0 && n <= 12) {
      rows.forEach((i) => {
        const l = info.layers[i];
        const item = el('button', 'legend-item legend-toggle');
        item.type = 'button';
        item.dataset.layer = String(i);
        item.title = `${l.name}: click to hide or show, Alt-click or double-click to show it alone`;
        const sw = el('span', 'swatch');
        sw.style.background = storeLayerColor(this.theme, store, i);
        item.append(sw, el('span', undefined, l.name));
        item.addEventListener('click', (ev) => (ev.altKey ? this.soloLayer(i) : this.toggleLayer(i)));
        item.addEventListener('dblclick', () => this.soloLayer(i));
        item.addEventListener('mouseenter', () => this.setHighlighted(i));
        item.addEventListener('mouseleave', () => this.setHighlighted(null));
        items.push(item);
      });
    } else if (n > 12 || grouped) {
      const bar = el('span', 'colorbar-legend');
      bar.title = `${total} layers coloured by depth: first layer dark purple, last yellow. Click a layer in the table to hide it, Alt-click to show it alone.`;
      const gradient = el('span', 'colorbar');
      gradient.style.background = viridisGradient(this.theme);
      const first = info.layers[0];
      const last = info.layers[info.layers.length - 1];
      bar.append(el('span', 'colorbar-end', first.name), gradient, el('span', 'colorbar-end', last.name));
      items.push(bar, el('span', 'legend-item', `first → last of ${total.toLocaleString('en-US')} layers`));
    }
    if (n < total && !grouped) {
      const note = el(
        'span',
        'legend-item layers-not-drawn',
        `${n.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} drawn`,
      );
      note.title = this.table.filter
        ? 'The layers whose name contains the filter (the first ones)'
        : 'The first, the last, evenly spaced ones by depth and the lagging ones';
      items.push(note);
    }
    if (this.settings.quantity !== 'rate') {
      const target = el('span', 'legend-item');
      target.append(el('span', 'target-swatch'), el('span', undefined, `target ${+info.target.toFixed(3)}`));
      items.push(target);
    }
    const all = button('', 'Show every layer again', 'show-all', () => this.showAllLayers());
    all.classList.add('show-all');
    all.hidden = true;
    items.push(all);
    this.legend.replaceChildren(...items);
  }

  // ---- exports ----

  /**
   * The layers an export draws: those drawn; grouped by block, the layers of the lines drawn (the
   * exports draw layers, not blocks), evenly spaced ones of them beyond MAX_LAYERS_DRAWN.
   */
  private exportRows(): number[] {
    const shown = this.shown;
    if (!shown) return [];
    if (!shown.grouped) return shown.rows;
    const layers = shown.lines.flatMap((id) => (isBlockLine(id) ? shown.blocks[blockOfLine(id)].layers : [id]));
    return pickLayers(layers.length, MAX_LAYERS_DRAWN).map((j) => layers[j]);
  }

  private exportView(): ExportView {
    const shown = this.shown;
    const names = shown?.info.layers ?? [];
    const total = shown ? Math.max(shown.store.layerTotal, names.length) : 0;
    // A hidden block hides its layers.
    const hidden = [...this.hidden].flatMap((id) =>
      isBlockLine(id) ? (shown?.blocks[blockOfLine(id)]?.layers ?? []) : [id],
    );
    const view: ExportView = {
      settings: this.settings,
      hidden: hidden.sort((a, b) => a - b).map((i) => names[i]?.name ?? ''),
      range: this.zoom ? [...this.zoom] : null,
    };
    // Only some layers drawn: the SVG draws those (the CSV keeps every layer the log has).
    const rows = this.exportRows();
    if (shown && rows.length < total) view.shown = rows.map((i) => names[i]?.name ?? '');
    return view;
  }

  private exportFile(kind: MonitorExportKind): void {
    if (!this.shown) return;
    this.host.post({ type: 'export', runId: this.shown.store.runId, kind, view: this.exportView() });
  }

  /** The curves as shown, as the host's SVG would draw them, rendered here to PNG and sent to the host to save. */
  private async exportPng(): Promise<void> {
    const shown = this.shown;
    if (!shown) return;
    const { store, info } = shown;
    const rows = this.exportRows();
    const rot = store.rotation;
    // The layers drawn only (at most MAX_LAYERS_DRAWN), coloured by their depth in the run.
    const rates = new RateSeries(store, rows);
    rates.sync();
    const table: CurvesTable = {
      n: rot.length,
      x: { epoch: rot.column(ROT_EPOCH), step: rot.column(ROT_STEP), time: rot.column(ROT_TIME) },
      distances: rows.map((i) => rot.column(ROT_FIRST_LAYER + i)),
      rates: rows.map((_, k) => rates.column(k)),
    };
    const view = this.exportView();
    const svg = monitorSvg(
      table,
      {
        title: info.name,
        layers: rows.map((i) => info.layers[i].name),
        target: info.target,
        rateLabel: rateLabel(rateTerms(info)),
        depth: {
          index: rows.map((i) => store.layerIndex[i] ?? i),
          total: Math.max(store.layerTotal, info.layers.length),
        },
      },
      { ...view, shown: undefined },
    );
    const size = /width="(\d+)" height="(\d+)"/.exec(svg);
    const w = Number(size?.[1] ?? 860);
    const h = Number(size?.[2] ?? 420);
    const data = await svgTextToPngBase64(svg, w, h, 2);
    this.host.post({ type: 'png', runId: store.runId, data });
  }
}

function start(): void {
  const root = document.getElementById('app') ?? document.body.appendChild(el('div'));
  const host = connect();
  const monitor = new Monitor(root, host);
  if (host.standalone) window.__layerRotationMonitorPost = (msg: HostMessage) => monitor.handle(msg);
  window.addEventListener('message', (ev: MessageEvent) => monitor.handle(ev.data));
  host.post({ type: 'ready' });
  // While the page waits for its first run's records (the host reads the log): the drawing's hot
  // loops run on a small made-up chart, so that a big run's first draw finds them compiled
  // (src/runlog/warmup.ts, in slices: about 150 ms of idle time here in all, 275 ms when the
  // machine is slow; the first draw of 200 layers x 20,000 records then took 57 ms against 64 ms
  // with one slice of the old warm-up, medians of 12, bench/webview-render.mjs), and the panel is
  // laid out once out of sight (layOutAhead). Not once records are in.
  requestIdleCallback(() => monitor.warmUp(), { timeout: 1000 });
}

start();

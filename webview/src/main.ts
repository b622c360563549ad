// The Layer Rotation Monitor webview: receives run-log events from the extension host
// (webview/protocol.ts), keeps each run's data, and draws the selected run: header, layer
// rotation curves, loss and accuracy, layer table. At most ~30 redraws a second, one per
// animation frame, whatever the rate of incoming events; charts are fed with setData, never
// re-created on append.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

import {
  type HostMessage,
  isHostMessage,
  type MonitorTestState,
  RUN_ID,
  type RunEvent,
  type RunListItem,
  type RunStarted,
  type WebviewMessage,
} from '../protocol';
import { connectHost, type Host } from '../host';
import { layerColor } from '../../src/runlog/viridis';
import { storeVerdict } from './analysis';
import { MetricsChart, readTheme, RotationChart, type Theme, viridisGradient } from './charts';
import { el, setText, show } from './dom';
import { Header, runStatus } from './header';
import { DecimatedView, ROT_EPOCH, ROT_FIRST_LAYER, RunStore } from './store';
import { LayerTable } from './table';

/** What tests and benchmarks read: the protocol's MonitorTestState plus a few measurements. */
export interface MonitorState extends MonitorTestState {
  /** The rotation chart's axis colour now (follows the theme). */
  axisColor: string;
  /** Time of the last rotation chart update (setData + draw), and of the last whole frame, in ms. */
  lastDrawMs: number;
  lastFrameMs: number;
  /** Points per layer in a full draw (records are decimated to about the chart's width). */
  drawnPoints: number;
  /** Full redraws of the rotation chart among `draws` (the others only add new segments). */
  fullDraws: number;
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
const SLOW_EVERY_MS = 250;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

class Monitor {
  private readonly runs = new Map<string, RunStore>();
  private list: RunListItem[] = [];
  private listKey = '';
  private selected: string | null = null;
  private gotRuns = false;
  private theme: Theme;

  private readonly runBar: HTMLElement;
  private readonly runSelect: HTMLElement & { value: string };
  private readonly empty: HTMLElement;
  private readonly emptyTitle: HTMLElement;
  private readonly emptyText: HTMLElement;
  private readonly content: HTMLElement;
  private readonly header: Header;
  private readonly rotationHost: HTMLElement;
  private readonly rotationNote: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly loss: MetricsChart;
  private readonly accuracy: MetricsChart;
  private readonly table: LayerTable;

  private chart: RotationChart | null = null;
  private view: DecimatedView | null = null;
  /** What the charts show: the store, its run_started, and the versions drawn. */
  private shown: {
    store: RunStore;
    info: RunStarted;
    rotation: number;
    metrics: number;
    metricsX: number;
    slow: number;
    slowAt: number;
  } | null = null;
  private frame = 0;
  private lastFrame = -Infinity;
  private slowTimer = 0;
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
    drawnPoints: 0,
    fullDraws: 0,
  };

  constructor(
    root: HTMLElement,
    private readonly host: HostApi,
  ) {
    this.theme = readTheme();
    this.state.axisColor = this.theme.axis;
    window.__layerRotationMonitor = this.state;

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
    this.header = new Header(
      this.content,
      (runId) => this.host.post({ type: 'stop', runId }),
      (runId) => this.host.post({ type: 'openConfig', runId }),
    );
    const rotationCard = el('section', 'card rotation-card');
    const head = el('div', 'card-head');
    head.appendChild(el('h3', 'card-title', 'Layer rotation'));
    this.rotationNote = el('span', 'card-note', 'cosine distance of each layer’s weights to their initial value');
    head.appendChild(this.rotationNote);
    this.rotationHost = el('div', 'chart-host rotation-host');
    this.rotationHost.setAttribute('role', 'img');
    this.legend = el('div', 'rotation-legend');
    rotationCard.append(head, this.rotationHost, this.legend);
    this.content.appendChild(rotationCard);
    const metrics = el('div', 'metrics-grid');
    this.content.appendChild(metrics);
    this.loss = new MetricsChart(metrics, 'loss', () => this.theme);
    this.accuracy = new MetricsChart(metrics, 'accuracy', () => this.theme);
    this.table = new LayerTable(this.content);
    root.append(this.runBar, this.empty, this.content);
    this.content.hidden = true;

    // Follow the editor's theme: VS Code changes body's class and the variables on <html>.
    const observer = new MutationObserver(() => this.restyle());
    observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });

    const saved = this.host.getState();
    if (isObject(saved) && typeof saved.selected === 'string') this.selected = saved.selected;
    this.schedule();
  }

  // ---- messages ----

  handle(msg: unknown): void {
    // Only the protocol's messages, with normalized events, get through.
    if (!isHostMessage(msg)) return;
    try {
      switch (msg.type) {
        case 'runs':
          this.onRuns(msg.runs, msg.selected);
          return;
        case 'load':
          this.onEvents(msg.runId, msg.events, true);
          return;
        case 'append':
          this.onEvents(msg.runId, msg.events, false);
          return;
        case 'select':
          this.select(msg.runId);
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

  private onEvents(runId: string, events: RunEvent[], replace: boolean): void {
    let store = this.runs.get(runId);
    if (!store || replace) {
      store = new RunStore(runId);
      this.runs.set(runId, store);
    }
    for (const e of events) store.add(e);
    if (this.selected === null) this.select(runId);
    if (runId === this.selected) this.schedule();
  }

  private select(runId: string): void {
    if (this.selected !== runId) {
      this.selected = runId;
      this.host.setState({ selected: runId });
    }
    this.schedule();
  }

  // ---- drawing ----

  /** One redraw on the next animation frame, at most ~30 a second. */
  schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(this.tick);
  }

  private readonly tick = (now: number): void => {
    this.frame = 0;
    if (now - this.lastFrame < MIN_FRAME_MS - 1) {
      this.frame = requestAnimationFrame(this.tick);
      return;
    }
    this.lastFrame = now;
    const t0 = performance.now();
    try {
      this.draw();
    } catch (err) {
      console.warn('layer rotation monitor: draw failed:', err);
    }
    this.state.lastFrameMs = performance.now() - t0;
  };

  private restyle(): void {
    this.theme = readTheme();
    this.state.axisColor = this.theme.axis;
    this.chart?.restyle();
    this.loss.restyle();
    this.accuracy.restyle();
    if (this.chart) this.state.draws = this.chart.draws;
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
    const key = `${JSON.stringify(items)}|${this.selected}`;
    if (key === this.listKey) return;
    this.listKey = key;
    show(this.runBar, items.length > 1);
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

    // A new run (or a new run_started) gets new charts; appends only feed them.
    let shown = this.shown;
    if (!shown || shown.store !== store || shown.info !== info || !this.chart) {
      this.chart?.destroy();
      this.rotationHost.replaceChildren();
      this.view = new DecimatedView(info.layers.length, this.maxPoints());
      this.chart = new RotationChart(this.rotationHost, store, this.view, () => this.theme);
      this.drawLegend(info);
      this.rotationHost.setAttribute(
        'aria-label',
        `Layer rotation curves of ${info.layers.length} layers: cosine distance to the initial weights against epochs`,
      );
      this.table.setLayers(info.layers);
      shown = this.shown = { store, info, rotation: -1, metrics: -1, metricsX: -1, slow: -1, slowAt: -Infinity };
    }
    const chart = this.chart;
    const view = this.view as DecimatedView;
    if (shown.rotation !== store.rotationVersion) {
      shown.rotation = store.rotationVersion;
      view.sync(store.rotation, ROT_EPOCH, ROT_FIRST_LAYER);
      chart.update(info.target, !!store.finished);
    }
    // The loss/accuracy charts and the table (whose analysis reads every layer's recent records)
    // need not follow every frame: a few times a second is plenty.
    if (shown.slow !== store.version) {
      const now = performance.now();
      if (now - shown.slowAt >= SLOW_EVERY_MS || store.finished) {
        shown.slow = store.version;
        shown.slowAt = now;
        if (shown.metrics !== store.metricsVersion || shown.metricsX !== chart.xMax) {
          shown.metrics = store.metricsVersion;
          shown.metricsX = chart.xMax;
          this.loss.update(store.metrics, chart.xMax);
          this.accuracy.update(store.metrics, chart.xMax);
        }
        this.drawTable(store, info);
      } else if (!this.slowTimer) {
        this.slowTimer = window.setTimeout(() => {
          this.slowTimer = 0;
          this.schedule();
        }, SLOW_EVERY_MS);
      }
    }

    const s = this.state;
    s.runId = store.runId;
    s.seriesCount = chart.u.series.length - 1;
    s.lastValues = store.lastDistances();
    s.points = store.rotation.length;
    s.drawnPoints = view.length;
    s.draws = chart.draws;
    s.fullDraws = chart.fullDraws;
    s.lastDrawMs = chart.lastDrawMs;
    s.tableLayers = this.table.names();
    s.lagging = this.table.laggingNames();
  }

  /** Points per line when drawn in full: at most about one per pixel of the chart's width. */
  private maxPoints(): number {
    const w = this.rotationHost.clientWidth || 800;
    return Math.max(256, Math.min(4096, Math.round(w * (devicePixelRatio || 1))));
  }

  private drawTable(store: RunStore, info: RunStarted): void {
    this.table.update(storeVerdict(store, info));
  }

  private drawLegend(info: RunStarted): void {
    const n = info.layers.length;
    const items: HTMLElement[] = [];
    if (n > 0 && n <= 12) {
      info.layers.forEach((l, i) => {
        const item = el('span', 'legend-item');
        const sw = el('span', 'swatch');
        sw.style.background = layerColor(i, n);
        item.append(sw, el('span', undefined, l.name));
        items.push(item);
      });
    } else if (n > 12) {
      const bar = el('span', 'colorbar-legend');
      bar.title = `${n} layers coloured by depth: first layer dark purple, last yellow`;
      const gradient = el('span', 'colorbar');
      gradient.style.background = viridisGradient();
      bar.append(
        el('span', 'colorbar-end', info.layers[0].name),
        gradient,
        el('span', 'colorbar-end', info.layers[n - 1].name),
      );
      items.push(bar, el('span', 'legend-item', `first → last of ${n} layers`));
    }
    const target = el('span', 'legend-item');
    target.append(el('span', 'target-swatch'), el('span', undefined, `target ${+info.target.toFixed(3)}`));
    items.push(target);
    this.legend.replaceChildren(...items);
  }
}

function start(): void {
  const root = document.getElementById('app') ?? document.body.appendChild(el('div'));
  const host = connect();
  const monitor = new Monitor(root, host);
  if (host.standalone) window.__layerRotationMonitorPost = (msg: HostMessage) => monitor.handle(msg);
  window.addEventListener('message', (ev: MessageEvent) => monitor.handle(ev.data));
  host.post({ type: 'ready' });
}

start();

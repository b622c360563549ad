// The comparison tab (issue 9): receives a comparison of runs from the host
// (webview/compareProtocol.ts) and shows the sortable table, the paper's figure (test accuracy
// against final rotation) and the runs' rotation curves; export buttons ask the host to write
// CSV/SVG files, or render a PNG here and send its bytes.
import '../src/styles.css';
import './compare.css';

import {
  type CompareHostMessage,
  type CompareRow,
  type CompareTestState,
  type CompareWebviewMessage,
  type ComparisonModel,
  type CurvesMode,
  type ExportKind,
  isCompareHostMessage,
  type RotationAxis,
  type RunCurves,
  type SortOrder,
  sortRows,
} from '../compareProtocol';
import { el, show } from '../src/dom';
import { drawCurves, layoutPanels, panelAt, runColor } from './curves';
import { drawFigure } from './figure';
import { svgToPngBase64 } from './png';
import { connectHost, type Host } from '../host';
import { drawTable } from './table';

declare global {
  interface Window {
    __layerRotationCompare?: CompareTestState;
    __layerRotationComparePost?: (msg: CompareHostMessage) => void;
    __layerRotationCompareSent?: CompareWebviewMessage[];
  }
}

function connect(): Host<CompareWebviewMessage> {
  const sent: CompareWebviewMessage[] = [];
  window.__layerRotationCompareSent = sent;
  return connectHost(sent);
}

/** What the tab keeps across reloads (setState). */
interface Saved {
  sort: SortOrder | null;
  x: RotationAxis;
  mode: CurvesMode;
}

function css(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

class CompareTab {
  private model: ComparisonModel | null = null;
  private curves = new Map<CompareRow, RunCurves>();
  private notes: string[] = [];
  private sort: SortOrder | null = null;
  private x: RotationAxis = 'min';
  private mode: CurvesMode = 'run';
  private readonly expanded = new Set<string>();
  private figureSvg: SVGSVGElement | null = null;
  private layout: ReturnType<typeof layoutPanels> | null = null;
  private readonly state: CompareTestState = {
    rows: 0,
    points: 0,
    order: [],
    sort: null,
    x: 'min',
    curvesMode: 'run',
    panels: 0,
    lines: 0,
    reading: '',
    draws: 0,
    lastDrawMs: 0,
  };

  private readonly empty = el('div', 'empty-state', 'Loading the comparison…');
  private readonly content = el('div', 'compare');
  private readonly summary = el('div', 'compare-summary');
  private readonly notesBox = el('ul', 'compare-notes');
  private readonly readingBox = el('p', 'compare-reading');
  private readonly tableHost = el('div', 'table-host');
  private readonly figureHost = el('div', 'figure-host');
  private readonly figureNote = el('div', 'figure-note');
  private readonly tooltip = el('div', 'compare-tooltip');
  private readonly canvas = el('canvas', 'curves-canvas');
  private readonly curvesLegend = el('div', 'curves-legend');
  private readonly xButtons = new Map<RotationAxis, HTMLButtonElement>();
  private readonly modeButtons = new Map<CurvesMode, HTMLButtonElement>();

  constructor(
    private readonly host: Host<CompareWebviewMessage>,
    root: HTMLElement,
  ) {
    const saved = host.getState() as Partial<Saved> | undefined;
    if (saved?.x === 'mean') this.x = 'mean';
    if (saved?.mode === 'layer') this.mode = 'layer';
    if (saved?.sort && typeof saved.sort.key === 'string') this.sort = saved.sort;
    window.__layerRotationCompare = this.state;

    const tableSection = this.section('Runs', [
      this.button('Table CSV', 'Save the table as CSV (every column, numbers unrounded)', () =>
        this.exportFile('tableCsv'),
      ),
    ]);
    tableSection.append(this.tableHost);
    const figureSection = this.section('Test accuracy against layer rotation', [
      this.toggle(
        this.xButtons,
        [
          ['min', 'min over layers'],
          ['mean', 'mean over layers'],
        ],
        (v) => {
          this.x = v;
          this.render();
        },
      ),
      this.button('SVG', 'Save the figure as SVG', () => this.exportFile('figureSvg')),
      this.button('PNG', 'Save the figure as PNG', () => void this.figurePng()),
    ]);
    const figureWrap = el('div', 'figure-wrap');
    figureWrap.append(this.figureHost, this.tooltip);
    show(this.tooltip, false);
    figureSection.append(figureWrap, this.figureNote);
    const curvesSection = this.section('Layer rotation curves', [
      this.toggle(
        this.modeButtons,
        [
          ['run', 'a panel per run'],
          ['layer', 'a panel per layer'],
        ],
        (v) => {
          this.mode = v;
          this.render();
        },
      ),
      this.button('CSV', 'Save every rotation record as CSV (run, step, epoch, layer, distance)', () =>
        this.exportFile('curvesCsv'),
      ),
      this.button('SVG', 'Save the curves (a panel per run) as SVG', () => this.exportFile('curvesSvg')),
      this.button('PNG', 'Save the curves as drawn as PNG', () => this.curvesPng()),
    ]);
    const curvesWrap = el('div', 'curves-wrap');
    curvesWrap.append(this.canvas);
    curvesSection.append(this.curvesLegend, curvesWrap);
    this.canvas.addEventListener('mousemove', (e) => {
      const r = this.canvas.getBoundingClientRect();
      const p = this.layout && panelAt(this.layout, e.clientX - r.left, e.clientY - r.top);
      this.canvas.title = p ? p.title : '';
    });
    this.content.append(this.summary, this.readingBox, this.notesBox, tableSection, figureSection, curvesSection);
    show(this.content, false);
    root.append(this.empty, this.content);

    window.addEventListener('message', (e) => this.receive(e.data));
    window.__layerRotationComparePost = (m) => this.receive(m);
    // Follow the editor's theme: VS Code changes body's class and the variables.
    new MutationObserver(() => this.render()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    let resize = 0;
    window.addEventListener('resize', () => {
      cancelAnimationFrame(resize);
      resize = requestAnimationFrame(() => this.render());
    });
    host.post({ type: 'ready' });
  }

  private section(title: string, tools: HTMLElement[]): HTMLElement {
    const s = el('section', 'compare-section');
    const h = el('div', 'section-head');
    const bar = el('div', 'tools');
    bar.append(...tools);
    h.append(el('h2', '', title), bar);
    s.append(h);
    return s;
  }

  private button(text: string, title: string, onClick: () => void): HTMLButtonElement {
    const b = el('button', 'tool', text);
    b.title = title;
    b.dataset.action = `${title}`;
    b.addEventListener('click', onClick);
    return b;
  }

  private toggle<T extends string>(
    store: Map<T, HTMLButtonElement>,
    options: [T, string][],
    pick: (v: T) => void,
  ): HTMLElement {
    const g = el('span', 'segmented');
    for (const [v, text] of options) {
      const b = el('button', 'segment', text);
      b.dataset.value = v;
      b.addEventListener('click', () => pick(v));
      store.set(v, b);
      g.append(b);
    }
    return g;
  }

  private receive(m: unknown): void {
    if (!isCompareHostMessage(m)) return;
    this.model = m.model;
    this.curves = new Map(m.model.rows.map((r, i) => [r, m.curves[i]]));
    this.notes = m.notes;
    if (this.sort && !m.model.columns.some((c) => c.key === this.sort?.key)) this.sort = null;
    this.render();
  }

  private rows(): CompareRow[] {
    if (!this.model) return [];
    return this.sort ? sortRows(this.model.rows, this.sort.key, this.sort.descending) : this.model.rows;
  }

  private render(): void {
    const model = this.model;
    if (!model) return;
    const t0 = performance.now();
    this.host.setState({ sort: this.sort, x: this.x, mode: this.mode } satisfies Saved);
    show(this.empty, false);
    show(this.content, true);
    const rows = this.rows();
    const n = model.rows.length;
    const layers = model.layerNames.length;
    this.summary.textContent = `${n} run${n === 1 ? '' : 's'}, ${layers} layer${layers === 1 ? '' : 's'}; ${
      model.configPaths.length ? `config differs in ${model.configPaths.join(', ')}` : 'the same config'
    }`;
    this.readingBox.textContent = n > 1 ? model.reading.text : '';
    this.readingBox.className = `compare-reading reading-${model.reading.kind}`;
    show(this.readingBox, n > 1);
    this.notesBox.replaceChildren(...this.notes.map((t) => el('li', '', t)));
    show(this.notesBox, this.notes.length > 0);
    drawTable(this.tableHost, model, rows, this.sort, this.expanded, {
      sort: (key) => {
        this.sort = this.sort?.key === key ? { key, descending: !this.sort.descending } : { key, descending: false };
        this.render();
      },
      toggle: (runId) => {
        if (!this.expanded.delete(runId)) this.expanded.add(runId);
        this.render();
      },
      showRun: (runId) => this.host.post({ type: 'showRun', runId }),
    });
    for (const [v, b] of this.xButtons) b.classList.toggle('on', v === this.x);
    for (const [v, b] of this.modeButtons) b.classList.toggle('on', v === this.mode);

    const fg = css('--vscode-foreground', '#cccccc');
    const background = css('--vscode-editor-background', '#1f1f1f');
    const grid = css('--vscode-charts-lines', 'rgba(128,128,128,0.5)');
    const failed = css('--vscode-charts-red', '#d62728');
    const figure = drawFigure(
      this.figureHost,
      { ...model, rows },
      this.x,
      { fg, grid, failed, background, point: css('--vscode-charts-blue', '#1f77b4') },
      (row, at) => {
        show(this.tooltip, row !== null);
        if (!row) return;
        this.tooltip.textContent = `${row.label}${row.status === 'failed' ? ' (failed)' : ''}`;
        this.tooltip.style.left = `${at.x + 10}px`;
        this.tooltip.style.top = `${at.y - 28}px`;
      },
    );
    this.figureSvg = figure.svg;
    this.figureNote.textContent = figure.hidden.length
      ? `Not shown (no test accuracy or no finite distance): ${figure.hidden.map((r) => r.label).join(', ')}`
      : '';

    this.layout = layoutPanels(
      rows,
      rows.map((r) => this.curves.get(r) as RunCurves),
      model.layerNames,
      this.mode,
      Math.max(300, this.canvas.parentElement?.clientWidth ?? 800),
    );
    const lines = drawCurves(this.canvas, this.layout, { fg, grid, failed, background });
    this.curvesLegend.replaceChildren(
      ...(this.mode === 'layer'
        ? rows.map((r, i) => {
            const item = el('span', 'legend-item', r.label);
            item.style.setProperty('--swatch', runColor(i));
            return item;
          })
        : [
            el(
              'span',
              'legend-note',
              'x: epoch; y: cosine distance to initialization; layers by depth, first dark purple, last yellow; target dashed',
            ),
          ]),
    );

    Object.assign(this.state, {
      rows: rows.length,
      points: figure.shown.length,
      order: rows.map((r) => r.runId),
      sort: this.sort,
      x: this.x,
      curvesMode: this.mode,
      panels: this.layout.panels.length,
      lines,
      reading: model.reading.kind,
      draws: this.state.draws + 1,
      lastDrawMs: performance.now() - t0,
    } satisfies CompareTestState);
    this.host.post({ type: 'state', state: { ...this.state, order: [...this.state.order] } });
  }

  private exportFile(kind: ExportKind): void {
    this.host.post({ type: 'export', kind, sort: this.sort, x: this.x });
  }

  private async figurePng(): Promise<void> {
    if (!this.figureSvg) return;
    this.host.post({ type: 'png', kind: 'figurePng', data: await svgToPngBase64(this.figureSvg, 2) });
  }

  private curvesPng(): void {
    if (!this.layout) return;
    const data = this.canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
    this.host.post({ type: 'png', kind: 'curvesPng', data });
  }
}

const root = document.getElementById('app');
if (root) new CompareTab(connect(), root);

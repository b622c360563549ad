// The layer table: per layer its kind and size, distance now, how fast it turns lately, where it
// is on course to end, and whether it lags (below target - lagMargin); above it, the verdict on
// the run as a whole (not fit, no learning, too early: no layer is judged then). It lists the
// layers the chart draws (at most MAX_LAYERS_LISTED, src/runlog/layerCap.ts: all of a run of
// fewer, else evenly spaced ones and the lagging ones), says how many it leaves out, and has a
// name filter for a run of more. Grouped by block (src/runlog/layerGroups.ts), it lists a row per
// block (its layers' mean distance, rate and course, how many lag) that expands to its layers' rows.
import { isBlockLine } from '../../src/runlog/layerGroups';
import { type RunVerdict, runMessage, runStatus } from '../../src/runlog/verdict';
import { el, fmtCount, fmtInt, fmtNum, fmtSigned, setText, show } from './dom';
import type { LayerInfo } from './store';

/** What the layer names do: hide or show the layer's line (click), show it alone (Alt-click, double-click), highlight it (hover); and the name filter. */
export interface LayerActions {
  toggle(i: number): void;
  solo(i: number): void;
  hover(i: number | null): void;
  /** The filter's text changed ("" : none). */
  filter(text: string): void;
  /** A block's row was clicked: its layers listed and drawn, or folded again. */
  expand(block: number): void;
}

/** A block's row: its name, its layers (kept indices), and whether they are listed under it. */
export interface BlockRow {
  name: string;
  layers: number[];
  expanded: boolean;
}

/** The layers listed: the store's layers (kept), which of them are rows, and what the run has in all. */
export interface ListedLayers {
  /** The layers kept (the verdict's order). */
  layers: LayerInfo[];
  /** Each kept layer's index in the run (its depth), and the run's layer count. */
  depth: number[];
  total: number;
  /** The kept layers listed, in order (at most MAX_LAYERS_LISTED). */
  rows: number[];
  /** Their colours, by kept layer. */
  colors: (i: number) => string;
  /** Kept layers matching the filter (when one is set). */
  matches?: number;
  /** Grouped by block: the rows in order (a kept layer, or a block's line id < 0), the blocks' rows, and how many blocks. */
  grouped?: { entries: number[]; block: (id: number) => BlockRow; blocks: number };
}

interface Row {
  tr: HTMLTableRowElement;
  swatch: HTMLElement;
  button: HTMLElement;
  distance: HTMLElement;
  meter: HTMLElement;
  perEpoch: HTMLElement;
  projected: HTMLElement;
  status: HTMLElement;
  /** What the meter's width and the status's class were last set to (set again only when they change). */
  width?: string;
  statusClass?: string;
}

/** A row's meter and status class, written only when they change (appends update every row a few times a second). */
function setMeter(row: Row, frac: number, statusClass: string): void {
  const width = `${(frac * 100).toFixed(1)}%`;
  if (row.width !== width) row.meter.style.width = row.width = width;
  if (row.statusClass !== statusClass) row.status.className = row.statusClass = statusClass;
}

export class LayerTable {
  readonly root: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly projectedHead: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private rows: Row[] = [];
  private layers: LayerInfo[] = [];
  /** The line of each row: a kept layer, or a block (< 0). */
  private which: number[] = [];
  /** Of each block's row, its layers. */
  private members = new Map<number, number[]>();
  private lagging: string[] = [];
  private laggingIdx: number[] = [];
  private total = 0;
  private readonly more: HTMLElement;
  private readonly filterBox: HTMLInputElement;

  constructor(
    parent: HTMLElement,
    private readonly actions: LayerActions,
  ) {
    this.root = el('section', 'card table-card');
    const head = el('div', 'card-head');
    head.appendChild(el('h3', 'card-title', 'Layers'));
    this.summary = el('span', 'card-note');
    head.appendChild(this.summary);
    this.filterBox = el('input', 'layer-filter');
    this.filterBox.type = 'search';
    this.filterBox.placeholder = 'filter by name';
    this.filterBox.setAttribute('aria-label', 'Show the layers whose name contains');
    this.filterBox.hidden = true;
    this.filterBox.addEventListener('input', () => this.actions.filter(this.filterBox.value));
    head.appendChild(this.filterBox);
    this.more = el('div', 'table-more');
    this.more.hidden = true;
    // (Its rows are laid out as grids, not as table rows (styles.css: off-screen rows skipped):
    // the roles say what a table's elements are.)
    this.table = el('table', 'layer-table');
    this.table.setAttribute('role', 'table');
    const thead = el('thead');
    thead.setAttribute('role', 'rowgroup');
    const hr = el('tr');
    hr.setAttribute('role', 'row');
    const th = (text: string, cls: string, title?: string) => {
      const h = el('th', cls, text);
      h.scope = 'col';
      h.setAttribute('role', 'columnheader');
      if (title) h.title = title;
      hr.appendChild(h);
      return h;
    };
    th('#', 'num col-index');
    th('Layer', 'col-name');
    th('Kind', 'col-kind');
    th('Params', 'num col-params', 'Parameters: kernel and bias');
    th('Distance', 'num col-distance', 'Cosine distance of the kernel to its initial value, now');
    th('Per epoch', 'num col-rate', 'Change of the distance per epoch over the last epoch of records');
    this.projectedHead = th(
      'On course for',
      'num col-proj',
      'Distance now + recent rate × epochs left, weighted by the learning-rate schedule',
    );
    th('', 'col-status');
    thead.appendChild(hr);
    this.body = el('tbody');
    this.body.setAttribute('role', 'rowgroup');
    // One listener of each kind for every row (delegated: rows are made by the hundred).
    this.body.addEventListener('mouseleave', () => {
      this.hoveredRow = null;
      this.actions.hover(null);
    });
    this.body.addEventListener('mouseover', (ev) => {
      const tr = (ev.target as Element | null)?.closest?.('tr');
      if (!tr || tr === this.hoveredRow) return;
      const id = this.lineOf.get(tr);
      if (id === undefined) return;
      this.hoveredRow = tr;
      this.actions.hover(id);
    });
    const lineAt = (ev: Event): number | undefined => {
      const b = (ev.target as Element | null)?.closest?.('button.layer-toggle, button.block-toggle');
      const tr = b?.closest('tr');
      return tr ? this.lineOf.get(tr) : undefined;
    };
    this.body.addEventListener('click', (ev) => {
      const id = lineAt(ev);
      if (id === undefined) return;
      if ((ev as MouseEvent).altKey) this.actions.solo(id);
      else if (isBlockLine(id)) this.actions.expand(id);
      else this.actions.toggle(id);
    });
    this.body.addEventListener('dblclick', (ev) => {
      const id = lineAt(ev);
      if (id !== undefined) this.actions.solo(id);
    });
    this.table.append(thead, this.body);
    const scroll = el('div', 'table-scroll');
    scroll.appendChild(this.table);
    this.root.append(head, scroll, this.more);
    parent.appendChild(this.root);
  }

  /** Rebuilds the rows when the layers listed change (another run, its run_started, the filter, the lagging ones); colours them. */
  setLayers(listed: ListedLayers): void {
    const { layers, colors, total, grouped } = listed;
    const rows = grouped?.entries ?? listed.rows;
    this.total = total;
    this.noteMore(listed);
    const sameBlocks = (id: number) => !isBlockLine(id) || grouped?.block(id).expanded === this.expandedRows.has(id);
    if (
      layers === this.layers &&
      rows.length === this.which.length &&
      rows.every((k, j) => k === this.which[j] && sameBlocks(k))
    ) {
      this.rows.forEach((r, j) => (r.swatch.style.background = colors(this.which[j])));
      return;
    }
    this.layers = layers;
    this.which = rows;
    this.lineOf = new WeakMap();
    this.hoveredRow = null;
    this.members = new Map();
    this.expandedRows = new Set();
    // The layers of the expanded block above (their rows indented under its row).
    let open: number[] = [];
    this.rows = rows.map((i) => {
      if (grouped && isBlockLine(i)) {
        const block = grouped.block(i);
        open = block.expanded ? block.layers : [];
        return this.blockRow(i, block, colors(i), listed.depth);
      }
      const l = layers[i];
      const row = this.layerRow();
      const { tr, button } = row;
      if (open.includes(i)) tr.classList.add('in-block');
      row.index.textContent = String((listed.depth[i] ?? i) + 1);
      row.swatch.style.background = colors(i);
      button.dataset.layer = String(i);
      button.title = `${l.name}: click to hide or show its line, Alt-click or double-click to show it alone`;
      row.name.textContent = l.name;
      this.lineOf.set(tr, i);
      row.kind.textContent = l.kind;
      // (The column is of a fixed width: a long kind ends in an ellipsis.)
      row.kind.title = l.kind;
      row.params.textContent = fmtCount(l.params);
      row.params.title = fmtInt(l.params);
      return row;
    });
    this.body.replaceChildren(...this.rows.map((r) => r.tr));
  }

  /** A layer's row, empty: a copy of one made once (copying a row costs less than making its cells one by one). */
  private layerRow(): Row & { index: HTMLElement; name: HTMLElement; kind: HTMLElement; params: HTMLElement } {
    if (!this.rowTemplate) {
      const tr = el('tr');
      tr.setAttribute('role', 'row');
      const cell = (cls: string) => {
        const td = tr.appendChild(el('td', cls));
        td.setAttribute('role', 'cell');
        return td;
      };
      cell('num col-index');
      const nameWrap = el('button', 'cell-flex layer-toggle');
      nameWrap.type = 'button';
      nameWrap.setAttribute('aria-pressed', 'true');
      nameWrap.append(el('span', 'swatch'), el('span', 'layer-name'));
      cell('col-name').appendChild(nameWrap);
      cell('col-kind');
      cell('num col-params');
      const meter = el('span', 'meter');
      meter.appendChild(el('span', 'meter-fill'));
      const dWrap = el('span', 'cell-flex cell-end');
      dWrap.append(meter, el('span', 'value'));
      cell('num col-distance').appendChild(dWrap);
      cell('num col-rate');
      cell('num col-proj');
      cell('col-status');
      this.rowTemplate = tr;
    }
    const tr = this.rowTemplate.cloneNode(true) as HTMLTableRowElement;
    const [index, name, kind, params, distance, perEpoch, projected, status] = tr.children as unknown as HTMLElement[];
    const button = name.firstElementChild as HTMLElement;
    const wrap = distance.firstElementChild as HTMLElement;
    return {
      tr,
      index,
      name: button.lastElementChild as HTMLElement,
      swatch: button.firstElementChild as HTMLElement,
      button,
      kind,
      params,
      distance: wrap.lastElementChild as HTMLElement,
      meter: wrap.firstElementChild?.firstElementChild as HTMLElement,
      perEpoch,
      projected,
      status,
    };
  }

  private rowTemplate: HTMLTableRowElement | null = null;

  /** The line of each row (a kept layer, or a block < 0): the rows' listeners are the body's. */
  private lineOf = new WeakMap<Element, number>();
  /** The row the pointer is over (hover is told once per row entered). */
  private hoveredRow: Element | null = null;

  /** Blocks whose rows are expanded. */
  private expandedRows = new Set<number>();

  /** A block's row: a disclosure button with its name and layer count (click: list its layers, or fold them). */
  private blockRow(id: number, block: BlockRow, color: string, depth: number[]): Row {
    this.members.set(id, block.layers);
    if (block.expanded) this.expandedRows.add(id);
    const tr = el('tr', 'block-row');
    tr.setAttribute('role', 'row');
    const cell = (cls: string, text = '') => {
      const td = el('td', cls, text);
      td.setAttribute('role', 'cell');
      tr.appendChild(td);
      return td;
    };
    // Where its layers are in the run: first–last.
    const places = block.layers.map((i) => (depth[i] ?? i) + 1);
    cell('num col-index', places.length ? `${Math.min(...places)}–${Math.max(...places)}` : '');
    const name = cell('col-name');
    const swatch = el('span', 'swatch');
    swatch.style.background = color;
    const toggle = el('button', 'cell-flex block-toggle');
    toggle.type = 'button';
    toggle.dataset.block = String(id);
    toggle.setAttribute('aria-expanded', String(block.expanded));
    const n = block.layers.length;
    toggle.title = `${block.name}: ${n} layers, drawn as their mean distance (a faint band from the least to the greatest). Click to ${
      block.expanded ? 'fold them into one line again' : 'list and draw each of them'
    }, Alt-click or double-click to show it alone`;
    toggle.append(
      el('span', 'disclosure', block.expanded ? '▾' : '▸'),
      swatch,
      el('span', 'layer-name', block.name),
      el('span', 'block-count', `${n} layers`),
    );
    this.lineOf.set(tr, id);
    name.appendChild(toggle);
    cell('col-kind', 'block');
    const params = block.layers.reduce((a, i) => a + (this.layers[i]?.params ?? 0), 0);
    cell('num col-params', fmtCount(params)).title = fmtInt(params);
    const dcell = cell('num col-distance');
    const meter = el('span', 'meter');
    const fill = el('span', 'meter-fill');
    meter.appendChild(fill);
    const distance = el('span', 'value');
    const dWrap = el('span', 'cell-flex cell-end');
    dWrap.append(meter, distance);
    dcell.appendChild(dWrap);
    return {
      tr,
      swatch,
      button: toggle,
      distance,
      meter: fill,
      perEpoch: cell('num col-rate'),
      projected: cell('num col-proj'),
      status: cell('col-status'),
    };
  }

  /** The line under the table on what it leaves out, and the filter (shown for a run of more layers than listed). */
  private noteMore({ layers, rows, total, matches, grouped }: ListedLayers): void {
    const fmt = (n: number) => n.toLocaleString('en-US');
    const filtering = this.filterBox.value.trim() !== '';
    show(this.filterBox, total > rows.length || filtering || !!grouped);
    if (grouped && !filtering) {
      const text = `${fmt(grouped.blocks)} blocks of ${fmt(layers.length)} layers${
        layers.length < total ? ` kept (of ${fmt(total)})` : ''
      }: a block’s line and row are its layers’ mean; click a block to list and draw its layers.`;
      setText(this.more, text);
      show(this.more, true);
      return;
    }
    const kept = layers.length < total ? ` (searched: the ${fmt(layers.length)} layers kept of ${fmt(total)})` : '';
    let text = '';
    if (filtering)
      text =
        matches === 0
          ? `No layer name contains “${this.filterBox.value.trim()}”${kept}.`
          : `${fmt(matches ?? rows.length)} layer${matches === 1 ? '' : 's'} match${matches === 1 ? 'es' : ''}${
              (matches ?? 0) > rows.length ? ` (showing the first ${fmt(rows.length)})` : ''
            }${kept}; ${fmt(total - rows.length)} more not shown.`;
    else if (rows.length < total)
      text = `… and ${fmt(total - rows.length)} more layers (showing ${fmt(rows.length)}: the first, the last, evenly spaced ones by depth and the lagging ones; filter by name to see others).`;
    setText(this.more, text);
    show(this.more, text !== '');
  }

  update(verdict: RunVerdict): void {
    const { finished, target } = verdict;
    const threshold = target - verdict.lagMargin;
    this.table.classList.toggle('finished', finished);
    setText(this.projectedHead, finished ? 'Final' : 'On course for');
    const lagging: string[] = [];
    const laggingIdx: number[] = [];
    verdict.layers.forEach((s, i) => {
      if (s?.lagging) {
        lagging.push(this.layers[i]?.name ?? '');
        laggingIdx.push(i);
      }
    });
    this.rows.forEach((row, j) => {
      const id = this.which[j];
      if (isBlockLine(id)) {
        this.updateBlock(row, this.members.get(id) ?? [], verdict);
        return;
      }
      const s = verdict.layers[id];
      if (!s) return;
      setText(row.distance, fmtNum(s.distance, 3));
      const frac = s.distance === null ? 0 : Math.max(0, Math.min(1, s.distance / Math.max(target, 1e-9)));
      setText(row.perEpoch, fmtSigned(s.perEpoch, 3));
      setText(row.projected, fmtNum(s.projected, 2));
      const known = s.distance !== null || s.projected !== null;
      const judged = verdict.run === 'judged';
      setText(row.status, s.lagging ? 'lagging' : !known || !judged ? '' : finished ? 'ok' : 'on course');
      setMeter(row, frac, `col-status ${s.lagging ? 'status-lagging' : 'status-ok'}`);
      row.tr.classList.toggle('lagging', s.lagging);
    });
    this.lagging = lagging;
    this.laggingIdx = laggingIdx;
    // Judged: the layers kept (all of them, but for a run of more than MAX_LAYERS_KEPT).
    const n = this.layers.length;
    const of = n < this.total ? ` kept (of ${this.total.toLocaleString('en-US')})` : '';
    const what = finished ? 'ended' : 'on course to end';
    setText(
      this.summary,
      n === 0
        ? ''
        : verdict.run !== 'judged'
          ? runStatus(verdict)
          : lagging.length === 0
            ? `${n} layer${n === 1 ? '' : 's'}${of}, none ${what} below ${fmtNum(threshold, 2)}`
            : `${lagging.length} of ${n}${of} ${what} below ${fmtNum(threshold, 2)}`,
    );
    this.summary.title = runMessage(verdict) ?? '';
    this.summary.classList.toggle('status-lagging', verdict.run === 'no-learning');
  }

  /** A block's row: its layers' mean distance, rate and course, and how many of them lag. */
  private updateBlock(row: Row, layers: number[], verdict: RunVerdict): void {
    const mean = (pick: (s: NonNullable<RunVerdict['layers'][number]>) => number | null) => {
      let sum = 0;
      let n = 0;
      for (const i of layers) {
        const v = verdict.layers[i] ? pick(verdict.layers[i] as NonNullable<RunVerdict['layers'][number]>) : null;
        if (typeof v === 'number' && Number.isFinite(v)) {
          sum += v;
          n++;
        }
      }
      return n ? sum / n : null;
    };
    const distance = mean((s) => s.distance);
    const lagging = layers.filter((i) => verdict.layers[i]?.lagging).length;
    setText(row.distance, fmtNum(distance, 3));
    const frac = distance === null ? 0 : Math.max(0, Math.min(1, distance / Math.max(verdict.target, 1e-9)));
    const perEpoch = mean((s) => s.perEpoch);
    const projected = mean((s) => s.projected);
    setText(row.perEpoch, fmtSigned(perEpoch, 3));
    setText(row.projected, fmtNum(projected, 2));
    const judged = verdict.run === 'judged';
    setText(
      row.status,
      lagging ? `${lagging} lagging` : distance === null || !judged ? '' : verdict.finished ? 'ok' : 'on course',
    );
    setMeter(row, frac, `col-status ${lagging ? 'status-lagging' : 'status-ok'}`);
    row.tr.classList.toggle('lagging', lagging > 0);
  }

  /** Marks the layers whose lines are hidden, and the one highlighted. */
  mark(hidden: ReadonlySet<number>, highlighted: number | null): void {
    this.rows.forEach((r, j) => {
      const i = this.which[j];
      const off = hidden.has(i);
      r.tr.classList.toggle('off', off);
      if (!isBlockLine(i)) r.button.setAttribute('aria-pressed', String(!off));
      r.tr.classList.toggle('highlighted', i === highlighted);
    });
  }

  /** The names of the layers listed (the rows; not the blocks'). */
  names(): string[] {
    return this.which.filter((i) => !isBlockLine(i)).map((i) => this.layers[i]?.name ?? '');
  }

  /** The lagging layers among those kept (listed or not): their names, and their indices. */
  laggingNames(): string[] {
    return this.lagging;
  }

  laggingLayers(): number[] {
    return this.laggingIdx;
  }

  /** The filter's text now. */
  get filter(): string {
    return this.filterBox.value.trim();
  }

  /** Empties the filter (another run). */
  clearFilter(): void {
    this.filterBox.value = '';
  }
}

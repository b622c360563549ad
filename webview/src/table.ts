// The layer table: per layer its kind and size, distance now, how fast it turns lately, where it
// is on course to end, and whether it lags (below target - lagMargin); above it, the verdict on
// the run as a whole (not fit, no learning, too early: no layer is judged then).
import { type RunVerdict, runMessage, runStatus } from '../../src/runlog/verdict';
import { el, fmtCount, fmtInt, fmtNum, fmtSigned, setText } from './dom';
import type { LayerInfo } from './store';

/** What the layer names do: hide or show the layer's line (click), show it alone (Alt-click, double-click), highlight it (hover). */
export interface LayerActions {
  toggle(i: number): void;
  solo(i: number): void;
  hover(i: number | null): void;
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
}

export class LayerTable {
  readonly root: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly projectedHead: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private rows: Row[] = [];
  private layers: LayerInfo[] = [];
  private lagging: string[] = [];

  constructor(
    parent: HTMLElement,
    private readonly actions: LayerActions,
  ) {
    this.root = el('section', 'card table-card');
    const head = el('div', 'card-head');
    head.appendChild(el('h3', 'card-title', 'Layers'));
    this.summary = el('span', 'card-note');
    head.appendChild(this.summary);
    this.table = el('table', 'layer-table');
    const thead = el('thead');
    const hr = el('tr');
    const th = (text: string, cls: string, title?: string) => {
      const h = el('th', cls, text);
      h.scope = 'col';
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
    this.body.addEventListener('mouseleave', () => this.actions.hover(null));
    this.table.append(thead, this.body);
    const scroll = el('div', 'table-scroll');
    scroll.appendChild(this.table);
    this.root.append(head, scroll);
    parent.appendChild(this.root);
  }

  /** Rebuilds the rows when the layers change (another run, or its run_started); colours them. */
  setLayers(layers: LayerInfo[], colors: string[]): void {
    if (layers.length === this.layers.length && layers.every((l, i) => l === this.layers[i])) {
      this.rows.forEach((r, i) => (r.swatch.style.background = colors[i]));
      return;
    }
    this.layers = layers;
    this.rows = layers.map((l, i) => {
      const tr = el('tr');
      const cell = (cls: string, text = '') => {
        const td = el('td', cls, text);
        tr.appendChild(td);
        return td;
      };
      cell('num col-index', String(i + 1));
      const name = cell('col-name');
      const swatch = el('span', 'swatch');
      swatch.style.background = colors[i];
      const nameWrap = el('button', 'cell-flex layer-toggle');
      nameWrap.type = 'button';
      nameWrap.dataset.layer = String(i);
      nameWrap.setAttribute('aria-pressed', 'true');
      nameWrap.title = `${l.name}: click to hide or show its line, Alt-click or double-click to show it alone`;
      nameWrap.append(swatch, el('span', 'layer-name', l.name));
      nameWrap.addEventListener('click', (ev) => (ev.altKey ? this.actions.solo(i) : this.actions.toggle(i)));
      nameWrap.addEventListener('dblclick', () => this.actions.solo(i));
      tr.addEventListener('mouseenter', () => this.actions.hover(i));
      name.appendChild(nameWrap);
      cell('col-kind', l.kind);
      cell('num col-params', fmtCount(l.params)).title = fmtInt(l.params);
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
        button: nameWrap,
        distance,
        meter: fill,
        perEpoch: cell('num col-rate'),
        projected: cell('num col-proj'),
        status: cell('col-status'),
      };
    });
    this.body.replaceChildren(...this.rows.map((r) => r.tr));
  }

  update(verdict: RunVerdict): void {
    const { finished, target } = verdict;
    const threshold = target - verdict.lagMargin;
    this.table.classList.toggle('finished', finished);
    setText(this.projectedHead, finished ? 'Final' : 'On course for');
    const lagging: string[] = [];
    this.rows.forEach((row, i) => {
      const s = verdict.layers[i];
      if (!s) return;
      setText(row.distance, fmtNum(s.distance, 3));
      const frac = s.distance === null ? 0 : Math.max(0, Math.min(1, s.distance / Math.max(target, 1e-9)));
      row.meter.style.width = `${(frac * 100).toFixed(1)}%`;
      setText(row.perEpoch, fmtSigned(s.perEpoch, 3));
      setText(row.projected, fmtNum(s.projected, 2));
      const known = s.distance !== null || s.projected !== null;
      const judged = verdict.run === 'judged';
      setText(row.status, s.lagging ? 'lagging' : !known || !judged ? '' : finished ? 'ok' : 'on course');
      row.status.className = `col-status ${s.lagging ? 'status-lagging' : 'status-ok'}`;
      row.tr.classList.toggle('lagging', s.lagging);
      if (s.lagging) lagging.push(this.layers[i].name);
    });
    this.lagging = lagging;
    const n = this.layers.length;
    const what = finished ? 'ended' : 'on course to end';
    setText(
      this.summary,
      n === 0
        ? ''
        : verdict.run !== 'judged'
          ? runStatus(verdict)
          : lagging.length === 0
            ? `${n} layer${n === 1 ? '' : 's'}, none ${what} below ${fmtNum(threshold, 2)}`
            : `${lagging.length} of ${n} ${what} below ${fmtNum(threshold, 2)}`,
    );
    this.summary.title = runMessage(verdict) ?? '';
    this.summary.classList.toggle('status-lagging', verdict.run === 'no-learning');
  }

  /** Marks the layers whose lines are hidden, and the one highlighted. */
  mark(hidden: ReadonlySet<number>, highlighted: number | null): void {
    this.rows.forEach((r, i) => {
      const off = hidden.has(i);
      r.tr.classList.toggle('off', off);
      r.button.setAttribute('aria-pressed', String(!off));
      r.tr.classList.toggle('highlighted', i === highlighted);
    });
  }

  names(): string[] {
    return this.layers.map((l) => l.name);
  }

  laggingNames(): string[] {
    return this.lagging;
  }
}

// The comparison table: one row per run, the columns of the model (the run, its status and
// duration, the differing config values, accuracies, min and mean final distance, the verdict);
// a header click sorts (compareModel.ts's sortRows), a row's toggle shows every layer's distance.
import {
  cellValue,
  type Column,
  type ComparisonModel,
  type CompareRow,
  type RelativeKind,
  type SortOrder,
} from '../compareProtocol';
import { el } from '../src/dom';
import { showCell } from './format';

/** The vs-siblings cell in a word or two; the whole note is its tooltip. */
const RELATIVE_WORDS: Record<RelativeKind, string> = {
  'lag-backed': 'lag backed',
  'lag-unbacked': 'lag not backed',
  'far-below': 'far below',
};

/** The model's columns the table shows (per-layer distances go in a row's expansion). */
export function tableColumns(model: ComparisonModel): Column[] {
  const oneEngine = model.rows.every((r) => r.engine === model.rows[0]?.engine);
  return model.columns.filter((c) => c.group !== 'layer' && c.key !== 'name' && !(c.key === 'engine' && oneEngine));
}

export interface TableHandlers {
  sort(key: string): void;
  toggle(runId: string): void;
  showRun(runId: string): void;
}

export function drawTable(
  host: HTMLElement,
  model: ComparisonModel,
  rows: CompareRow[],
  sort: SortOrder | null,
  expanded: ReadonlySet<string>,
  on: TableHandlers,
): HTMLTableElement {
  const cols = tableColumns(model);
  const table = el('table', 'compare-table');
  const head = el('tr');
  head.append(el('th', 'toggle-col'));
  for (const c of cols) {
    const th = el('th', `col-${c.group}${c.kind === 'text' || c.kind === 'list' ? '' : ' num'}`);
    th.dataset.key = c.key;
    th.title = `Sort by ${c.label}`;
    const arrow = sort?.key === c.key ? (sort.descending ? ' ▼' : ' ▲') : '';
    th.textContent = (c.key === 'run' ? 'run' : c.label) + arrow;
    th.tabIndex = 0;
    th.setAttribute('aria-sort', sort?.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none');
    th.addEventListener('click', () => on.sort(c.key));
    th.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') on.sort(c.key);
    });
    head.append(th);
  }
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  for (const r of rows) {
    const tr = el('tr', `run-row status-${r.status}`);
    tr.dataset.run = r.runId;
    const open = expanded.has(r.runId);
    const toggle = el('button', 'toggle', open ? '▾' : '▸');
    toggle.title = open ? 'Hide the layers' : 'Show every layer';
    toggle.setAttribute('aria-expanded', String(open));
    toggle.addEventListener('click', () => on.toggle(r.runId));
    const td0 = el('td', 'toggle-col');
    td0.append(toggle);
    tr.append(td0);
    for (const c of cols) {
      const td = el('td', c.kind === 'text' || c.kind === 'list' ? '' : 'num');
      if (c.key === 'run') {
        const a = el('a', 'run-link', r.label);
        a.href = '#';
        a.title = `${r.runId}: show in the monitor`;
        a.addEventListener('click', (e) => {
          e.preventDefault();
          on.showRun(r.runId);
        });
        td.append(a);
      } else if (c.key === 'verdict') td.textContent = r.verdictStatus || '–';
      else if (c.key === 'relative') {
        td.textContent = r.relative ? RELATIVE_WORDS[r.relative.kind] : '–';
        if (r.relative) {
          td.title = r.relative.text;
          td.classList.add(`relative-${r.relative.kind}`);
        }
      } else if (c.key === 'status') {
        td.textContent = r.status;
        if (r.reason) td.title = r.reason;
      } else td.textContent = showCell(cellValue(r, c.key), c.kind);
      tr.append(td);
    }
    body.append(tr);
    if (open) {
      const sub = el('tr', 'layers-row');
      const td = el('td');
      td.colSpan = cols.length + 1;
      const list = el('div', 'layer-list');
      for (const name of r.layers) {
        const d = r.distances[name];
        const item = el('span', `layer-cell${r.lagging.includes(name) ? ' lagging' : ''}`);
        item.dataset.layer = name;
        item.append(el('span', 'layer-name', name), el('span', 'layer-value', d === null ? '–' : d.toFixed(3)));
        list.append(item);
      }
      td.append(list);
      sub.append(td);
      body.append(sub);
    }
  }
  table.append(thead, body);
  host.replaceChildren(table);
  return table;
}

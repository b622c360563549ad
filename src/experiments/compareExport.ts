// The comparison as text: CSV (RFC 4180, numbers unrounded), the per-layer curves as long-format
// CSV, and an aligned table for a terminal.
import type { RunLog } from '../runlog/read';
import { type Cell, type Column, type ComparisonModel, type CompareRow, cellValue, durationText } from './compare';

/** One CSV field: quoted when it holds a comma, a quote, CR or LF (quotes doubled); blank for null. */
export function csvField(v: Cell | undefined): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const csvLine = (cells: (Cell | undefined)[]) => `${cells.map(csvField).join(',')}\r\n`;

/** The table as CSV: a header, then one line per row (in the order given). */
export function comparisonCsv(model: ComparisonModel, rows: readonly CompareRow[] = model.rows): string {
  const cols = model.columns;
  return csvLine(cols.map((c) => c.label)) + rows.map((r) => csvLine(cols.map((c) => cellValue(r, c.key)))).join('');
}

/** The per-layer curves in long format (run, step, epoch, layer, distance), in pieces of about a run each. */
export function* curvesCsvChunks(runs: readonly { runId: string; log: RunLog }[]): Generator<string> {
  yield csvLine(['run', 'step', 'epoch', 'layer', 'distance']);
  for (const { runId, log } of runs) {
    const layers = (log.started?.layers ?? []).map((l) => csvField(l.name));
    const id = csvField(runId);
    let chunk = '';
    for (const r of log.rotations) {
      const head = `${id},${r.step},${r.epoch},`;
      for (let i = 0; i < layers.length; i++) {
        const d = r.distances[i];
        chunk += `${head}${layers[i]},${d === null || d === undefined ? '' : d}\r\n`;
      }
      if (chunk.length > 1 << 20) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
}

/** The curves CSV as one string (small comparisons; write large ones chunk by chunk). */
export function curvesCsv(runs: readonly { runId: string; log: RunLog }[]): string {
  return [...curvesCsvChunks(runs)].join('');
}

/** Parses CSV text (RFC 4180) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      if (c === '\r') i++;
    } else field += c;
    i++;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The terminal table.

/** Longest a cell (or header) is shown in a terminal. */
export const MAX_CELL = 24;
/** Per-layer columns are shown in a terminal up to this many layers (all are in the CSV). */
export const MAX_LAYER_COLUMNS = 8;

/** `s` cut to `max` characters with an ellipsis; a dotted path keeps its end (its last keys say the most). */
export function truncate(s: string, max = MAX_CELL, keepEnd = false): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters would break the table's lines
  const flat = s.replace(/[\u0000-\u001f\u007f]/g, ' ');
  if (flat.length <= max) return flat;
  return keepEnd ? `…${flat.slice(flat.length - max + 1)}` : `${flat.slice(0, max - 1)}…`;
}

/** A cell for people: percentages, distances to 3 decimals, durations, other values as they are. */
export function showCell(v: Cell, kind: Column['kind']): string {
  if (v === null || v === '') return kind === 'list' ? 'none' : '-';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '-';
    if (kind === 'fraction') return `${(100 * v).toFixed(2)}%`;
    if (kind === 'distance') return v.toFixed(3);
    if (kind === 'seconds') return durationText(v);
    return String(v);
  }
  return String(v);
}

/** The comparison as an aligned table: run label, status, duration, differing config, metrics, and per-layer distances when few. */
export function formatComparison(model: ComparisonModel, rows: readonly CompareRow[] = model.rows): string {
  const showLayers = model.layerNames.length <= MAX_LAYER_COLUMNS;
  const cols = model.columns.filter(
    (c) => c.key !== 'name' && (c.group !== 'layer' || showLayers) && !(c.key === 'engine' && sameEngine(model)),
  );
  const header = cols.map((c) => truncate(c.key === 'run' ? 'run' : c.label, MAX_CELL, c.group === 'config'));
  const body = rows.map((r) =>
    cols.map((c) => {
      if (c.key === 'run') return truncate(r.label, 32);
      const v = cellValue(r, c.key);
      if (c.key === 'verdict') return truncate(r.verdictStatus, 48);
      if (c.key === 'lagging')
        return r.lagging.length
          ? truncate(`${r.lagging.length}: ${r.lagging.join(' ')}`)
          : r.verdict === 'judged'
            ? 'none'
            : '-';
      return truncate(showCell(v, c.kind));
    }),
  );
  const right = cols.map(
    (c, i) => (c.kind !== 'text' && c.kind !== 'list') || body.every((b) => /^-?[\d.e+-]+$|^-$/.test(b[i])),
  );
  const notes: string[] = [];
  if (!showLayers) notes.push(`(${model.layerNames.length} layers: per-layer distances are in the CSV, --csv FILE)`);
  if (!model.configPaths.length && model.rows.length > 1) notes.push('(the runs have the same config)');
  return [...alignedTable(header, body, right), ...notes].join('\n');
}

/** Lines of a table for a terminal: a header, a rule, the rows; columns two spaces apart, `right` ones right-aligned. */
export function alignedTable(header: string[], body: string[][], right: boolean[]): string[] {
  const widths = header.map((h) => h.length);
  for (const b of body) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i], b[i].length);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

/** The runs' configurations (seeds aside), one line each, when some configuration has more than one run. */
export function configurationTable(model: ComparisonModel): string[] {
  const configs = model.configurations;
  if (configs.length < 2 || configs.every((c) => c.runs === 1)) return [];
  const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);
  const header = ['configuration', 'runs', 'fit', 'test accuracy (mean ± sd)', 'least distance (mean)', 'lagging runs'];
  const body = configs.map((c) => [
    truncate(c.label || 'all runs', 60, true),
    String(c.runs),
    String(c.fit),
    c.testSd === null ? pct(c.testMean) : `${pct(c.testMean)} ± ${pct(c.testSd)}`,
    c.minDistance === null ? '-' : c.minDistance.toFixed(3),
    String(c.lagging),
  ]);
  return alignedTable(
    header,
    body,
    header.map((_, i) => i > 0),
  );
}

/** What the runs say of the paper's rule, and each run that stands out among its siblings (src/experiments/evidence.ts). */
export function formatEvidence(model: ComparisonModel, rows: readonly CompareRow[] = model.rows): string {
  if (model.rows.length < 2) return '';
  const lines = ['', ...configurationTable(model), '', `what these runs say: ${model.reading.text}`];
  // Runs with the same note share one line.
  const byText = new Map<string, string[]>();
  for (const r of rows)
    if (r.relative) byText.set(r.relative.text, [...(byText.get(r.relative.text) ?? []), truncate(r.label, 32)]);
  for (const [text, labels] of byText) {
    const who =
      labels.length > 4 ? `${labels.slice(0, 3).join(', ')} and ${labels.length - 3} more` : labels.join(', ');
    lines.push(`  ${who}: ${text}`);
  }
  return lines.join('\n');
}

function sameEngine(model: ComparisonModel): boolean {
  return model.rows.every((r) => r.engine === model.rows[0]?.engine);
}

// The message protocol between the extension host and the comparison tab, both ways. The host
// sends the comparison (src/experiments/compareModel.ts, plain data) and the runs' thinned curves;
// the tab asks the host to export (the host writes the files) and reports its test state. Each
// side validates what it receives: isCompareWebviewMessage on the host, isCompareHostMessage in
// the tab.
import type { ComparisonModel } from '../src/experiments/compareModel';
import type { RunCurves } from '../src/experiments/compareCurves';

export type { Cell, Column, ComparisonModel, CompareRow } from '../src/experiments/compareModel';
export type { RelativeKind, RuleReading } from '../src/experiments/evidence';
export type { RunCurves } from '../src/experiments/compareCurves';
export { cellValue, sortRows } from '../src/experiments/compareModel';

/** What the host writes (through a save dialog). */
export const EXPORTS = ['tableCsv', 'curvesCsv', 'figureSvg', 'curvesSvg'] as const;
export type ExportKind = (typeof EXPORTS)[number];
/** What the tab renders to PNG itself. */
export const PNG_EXPORTS = ['figurePng', 'curvesPng'] as const;
export type PngExportKind = (typeof PNG_EXPORTS)[number];

export type RotationAxis = 'min' | 'mean';
export type CurvesMode = 'run' | 'layer';

/** The table's order: a column key, and the direction. */
export interface SortOrder {
  key: string;
  descending: boolean;
}

export type CompareHostMessage =
  /** The comparison to show: the model, each row's curves (same order as model.rows), notes (runs left out). */
  { type: 'comparison'; model: ComparisonModel; curves: RunCurves[]; notes: string[] };

export type CompareWebviewMessage =
  /** The tab has loaded and wants the comparison. */
  | { type: 'ready' }
  /** Write a table, curves or figure file; the rows in `sort` order, the figure with `x`. */
  | { type: 'export'; kind: ExportKind; sort: SortOrder | null; x: RotationAxis }
  /** Save a PNG the tab rendered (base64 of the file's bytes). */
  | { type: 'png'; kind: PngExportKind; data: string }
  /** Show a run in the monitor. */
  | { type: 'showRun'; runId: string }
  /** The tab drew: what it shows (for tests). */
  | { type: 'state'; state: CompareTestState };

/** What the tab exposes on `window.__layerRotationCompare` (and reports to the host after each draw). */
export interface CompareTestState {
  /** Rows in the table, and points drawn in the figure. */
  rows: number;
  points: number;
  /** Run ids in the table's order. */
  order: string[];
  sort: SortOrder | null;
  x: RotationAxis;
  curvesMode: CurvesMode;
  /** Curve panels drawn, and the polylines in them. */
  panels: number;
  lines: number;
  /** What the runs say of the paper's rule (evidence.ts's reading kind). */
  reading: string;
  /** Draws so far, and the time of the last one (ms). */
  draws: number;
  lastDrawMs: number;
}

/** Largest PNG accepted from the tab (base64 characters). */
export const MAX_PNG_BASE64 = 40 * 1024 * 1024;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const onlyKeys = (m: Obj, keys: string[]) => Object.keys(m).every((k) => keys.includes(k));
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isShortString = (v: unknown, max = 400): v is string => typeof v === 'string' && v.length <= max;

function isSortOrder(v: unknown): v is SortOrder {
  return isObj(v) && onlyKeys(v, ['key', 'descending']) && isShortString(v.key) && typeof v.descending === 'boolean';
}

function isTestState(s: unknown): s is CompareTestState {
  return (
    isObj(s) &&
    isNum(s.rows) &&
    isNum(s.points) &&
    Array.isArray(s.order) &&
    s.order.length <= 10000 &&
    s.order.every((id) => isShortString(id)) &&
    (s.sort === null || isSortOrder(s.sort)) &&
    (s.x === 'min' || s.x === 'mean') &&
    (s.curvesMode === 'run' || s.curvesMode === 'layer') &&
    isNum(s.panels) &&
    isNum(s.lines) &&
    isShortString(s.reading, 40) &&
    isNum(s.draws) &&
    isNum(s.lastDrawMs)
  );
}

/** Validates a message from the tab: nothing else reaches the host's file writing or commands. */
export function isCompareWebviewMessage(m: unknown): m is CompareWebviewMessage {
  if (!isObj(m)) return false;
  switch (m.type) {
    case 'ready':
      return Object.keys(m).length === 1;
    case 'export':
      return (
        onlyKeys(m, ['type', 'kind', 'sort', 'x']) &&
        (EXPORTS as readonly unknown[]).includes(m.kind) &&
        (m.sort === null || isSortOrder(m.sort)) &&
        (m.x === 'min' || m.x === 'mean')
      );
    case 'png':
      return (
        onlyKeys(m, ['type', 'kind', 'data']) &&
        (PNG_EXPORTS as readonly unknown[]).includes(m.kind) &&
        typeof m.data === 'string' &&
        m.data.length > 0 &&
        m.data.length <= MAX_PNG_BASE64 &&
        /^[A-Za-z0-9+/]+={0,2}$/.test(m.data)
      );
    case 'showRun':
      return onlyKeys(m, ['type', 'runId']) && typeof m.runId === 'string' && /^[A-Za-z0-9._-]{1,200}$/.test(m.runId);
    case 'state':
      return onlyKeys(m, ['type', 'state']) && isTestState(m.state);
    default:
      return false;
  }
}

const isNumOrNull = (v: unknown) => v === null || isNum(v);

function isRow(r: unknown): boolean {
  return (
    isObj(r) &&
    typeof r.runId === 'string' &&
    typeof r.label === 'string' &&
    typeof r.status === 'string' &&
    isObj(r.config) &&
    isObj(r.distances) &&
    Array.isArray(r.layers) &&
    isNumOrNull(r.testAccuracy) &&
    isNumOrNull(r.minDistance) &&
    isNumOrNull(r.meanDistance) &&
    (r.relative === null ||
      (isObj(r.relative) && typeof r.relative.kind === 'string' && typeof r.relative.text === 'string'))
  );
}

function isCurves(c: unknown): boolean {
  return (
    isObj(c) &&
    typeof c.runId === 'string' &&
    Array.isArray(c.layers) &&
    isNum(c.target) &&
    Array.isArray(c.epochs) &&
    Array.isArray(c.distances) &&
    c.distances.length === c.layers.length
  );
}

/** Validates a message from the host before the tab draws it (its shape; cells are shown as text). */
export function isCompareHostMessage(m: unknown): m is CompareHostMessage {
  if (!isObj(m) || m.type !== 'comparison') return false;
  const model = m.model;
  return (
    onlyKeys(m, ['type', 'model', 'curves', 'notes']) &&
    isObj(model) &&
    Array.isArray(model.rows) &&
    model.rows.every(isRow) &&
    Array.isArray(model.columns) &&
    model.columns.every((c) => isObj(c) && typeof c.key === 'string' && typeof c.label === 'string') &&
    Array.isArray(model.layerNames) &&
    Array.isArray(model.configPaths) &&
    isObj(model.reading) &&
    typeof model.reading.kind === 'string' &&
    typeof model.reading.text === 'string' &&
    Array.isArray(m.curves) &&
    m.curves.length === model.rows.length &&
    m.curves.every(isCurves) &&
    Array.isArray(m.notes) &&
    m.notes.every((n) => typeof n === 'string')
  );
}

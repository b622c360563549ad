// The comparison of runs as plain data (JSON-serializable, no Node, no config reading), and the
// pure functions that read it: a row's cell in a column, a column by name, rows sorted. What an
// editor tab needs besides the model itself; src/experiments/compare.ts builds the model.
import type { RunStatus } from '../runlog/events';
import type { RunJudgement } from '../runlog/verdict';
import type { ConfigurationStats, RelativeNote, RuleReading } from './evidence';

/** A leaf of a flattened config: arrays and empty objects are kept whole, as JSON text. */
export type ConfigValue = string | number | boolean | null;

export type CompareStatus = RunStatus | 'unfinished';

export interface CompareRow {
  folder: string;
  runId: string;
  name: string;
  /** A short unique label: the name when names are unique, else the run id. */
  label: string;
  status: CompareStatus;
  reason: string;
  engine: string;
  backend: string;
  /** Wall time: run_finished.seconds, else from the first to the last event's time; null: unknown. */
  seconds: number | null;
  /** Where the config values come from: the config copy, or run_started (an outside run, or an unreadable copy). */
  configSource: 'copy' | 'run_started';
  /** Every flattened config value of the run (dotted paths). */
  config: Record<string, ConfigValue>;
  /** Last epoch_end's training and validation accuracy; run_finished's test accuracy. */
  trainAccuracy: number | null;
  valAccuracy: number | null;
  testAccuracy: number | null;
  /** The run's layers in forward order. */
  layers: string[];
  /** Per layer name: the final distance (latest when unfinished), as the verdict reads it; null: not finite. */
  distances: Record<string, number | null>;
  /** Over the run's layers; null when a layer has no finite distance (a diverged run) or there are none. */
  minDistance: number | null;
  meanDistance: number | null;
  /** The verdict on the run as a whole (src/runlog/verdict.ts): its layers are judged only when it fit. */
  verdict: RunJudgement | null;
  /** The verdict in words: "2 lagging layers", "not fit (...)", "diverged: ..." ("" without run_started). */
  verdictStatus: string;
  /** The verdict's lagging layers (a running run: those on course to lag). */
  lagging: string[];
  /** How the run stands among its siblings in the comparison (src/experiments/evidence.ts); null: nothing to say. */
  relative: RelativeNote | null;
  /** Lines of the log that were skipped, as `file:line: skipped: reason`. */
  skipped: string[];
}

export type ColumnKind = 'text' | 'number' | 'fraction' | 'seconds' | 'distance' | 'list';

export interface Column {
  /** Unique key: a fixed name, `config:<path>` or `layer:<name>`. */
  key: string;
  /** The header shown (and written to CSV). */
  label: string;
  group: 'run' | 'config' | 'metric' | 'layer';
  kind: ColumnKind;
}

export interface ComparisonModel {
  rows: CompareRow[];
  /** Config paths whose values are not all equal across the rows, sorted. */
  configPaths: string[];
  /** Every layer name of every run, in depth order where the runs agree. */
  layerNames: string[];
  /** The table's columns in order (see cellValue). */
  columns: Column[];
  /** The runs' configurations (seeds aside) and what they say of the paper's rule. */
  configurations: ConfigurationStats[];
  reading: RuleReading;
}

export type Cell = string | number | boolean | null;

/** A row's value in a column (null: blank). */
export function cellValue(row: CompareRow, key: string): Cell {
  switch (key) {
    case 'run':
      return row.runId;
    case 'name':
      return row.name;
    case 'status':
      return row.status;
    case 'engine':
      return row.engine;
    case 'seconds':
      return row.seconds;
    case 'train_accuracy':
      return row.trainAccuracy;
    case 'val_accuracy':
      return row.valAccuracy;
    case 'test_accuracy':
      return row.testAccuracy;
    case 'min_distance':
      return row.minDistance;
    case 'mean_distance':
      return row.meanDistance;
    case 'verdict':
      return row.verdict;
    case 'lagging':
      return row.lagging.join(' ');
    case 'relative':
      return row.relative?.kind ?? null;
  }
  if (key.startsWith('config:')) {
    const p = key.slice('config:'.length);
    return p in row.config ? row.config[p] : null;
  }
  if (key.startsWith('layer:')) {
    const n = key.slice('layer:'.length);
    return n in row.distances ? row.distances[n] : null;
  }
  return null;
}

/**
 * The column a person means by `name`: a column's key or label, a config path, or a layer name
 * (case-insensitive; a leading '-' asks for descending order). Undefined when none matches.
 */
export function findColumn(model: ComparisonModel, name: string): { column: Column; descending: boolean } | undefined {
  const descending = name.startsWith('-');
  const want = (descending ? name.slice(1) : name).toLowerCase();
  const column =
    model.columns.find((c) => c.key.toLowerCase() === want) ??
    model.columns.find((c) => c.label.toLowerCase() === want) ??
    model.columns.find((c) => c.key.toLowerCase() === `config:${want}`) ??
    model.columns.find((c) => c.key.toLowerCase() === `layer:${want}`);
  return column && { column, descending };
}

/** The rows sorted by a column (stable; blanks last in either order; numbers numerically, text naturally). */
export function sortRows(rows: readonly CompareRow[], key: string, descending = false): CompareRow[] {
  const sign = descending ? -1 : 1;
  const blank = (v: Cell) => v === null || v === '' || (typeof v === 'number' && !Number.isFinite(v));
  return rows
    .map((row, i) => ({ row, i, v: cellValue(row, key) }))
    .sort((a, b) => {
      const ea = blank(a.v);
      const eb = blank(b.v);
      if (ea || eb) return ea === eb ? a.i - b.i : ea ? 1 : -1;
      let c: number;
      if (typeof a.v === 'number' && typeof b.v === 'number') c = a.v - b.v;
      else c = String(a.v).localeCompare(String(b.v), 'en', { numeric: true });
      return c !== 0 ? sign * c : a.i - b.i;
    })
    .map((x) => x.row);
}

/** A run's duration for people: "42.0s", "3m07s", "1h05m". */
export function durationText(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(t % 60).padStart(2, '0')}s`;
}

/** Short names for config paths: the last key, or the whole path where two paths share their last key. */
export function axisLabels(paths: readonly string[]): string[] {
  const last = paths.map((p) => p.slice(p.lastIndexOf('.') + 1));
  return paths.map((p, i) => (last.filter((l) => l === last[i]).length > 1 ? p : last[i]));
}

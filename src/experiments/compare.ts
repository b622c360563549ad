// Comparing runs (issue 9): one row per run with the config values that differ between the runs,
// accuracies, per-layer final distances (min and mean) and the lagging verdict of
// src/runlog/verdict.ts. Pure: the runs come in as parsed logs and config texts
// (src/experiments/compareFolders.ts reads folders); the model (src/experiments/compareModel.ts)
// is plain data, so that an editor tab can receive it as it is.
import { parse as parseJsonc } from 'jsonc-parser';
import { parseConfigText } from '../engine/config/parse';
import type { RunStarted } from '../runlog/events';
import { describeSkipped, type RunLog } from '../runlog/read';
import { judgeLog, runStatus } from '../runlog/verdict';
import type { Column, CompareRow, ComparisonModel, ConfigValue } from './compareModel';
import { evidenceOf } from './evidence';

export * from './compareModel';

/** One run as read from its folder. */
export interface RunInput {
  /** The run folder (absolute). */
  folder: string;
  log: RunLog;
  /** The text of the run's config copy, when the folder has one. */
  configText?: string;
}

/** Config paths never listed as differing: shown by their own columns. */
const OWN_COLUMNS = new Set(['name', 'engine']);

/** Flattens a config into dotted paths; arrays and empty objects are leaves, as JSON text. */
export function flattenConfig(
  value: unknown,
  prefix = '',
  out: Record<string, ConfigValue> = {},
): Record<string, ConfigValue> {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value))
      if (v !== undefined) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] =
      value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number'
        ? value
        : JSON.stringify(value);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What run_started tells of a run's config, at the config's own paths (for runs without a config copy). */
export function configFromStarted(s: RunStarted): Record<string, unknown> {
  return {
    engine: s.engine,
    backend: s.backend,
    seed: s.seed,
    dataset: { name: s.dataset.name || undefined },
    model: { type: s.model },
    optimizer: { type: s.optimizer, learningRate: s.schedule?.learningRate, layca: s.schedule?.layca },
    schedule: {
      epochs: s.epochs,
      batchSize: s.batchSize ?? undefined,
      warmupEpochs: s.schedule?.warmupEpochs,
      decay: s.schedule?.decay,
    },
    monitoring: { target: s.target, lagMargin: s.lagMargin },
  };
}

/**
 * A run's config values: the config copy with its defaults (or as written, if it no longer
 * validates), else run_started's; then what run_started says actually ran (engine, backend and
 * epochs, which the CLI's flags and the editor's settings override).
 */
export function runConfig(run: RunInput): { source: CompareRow['configSource']; values: Record<string, ConfigValue> } {
  const s = run.log.started as RunStarted;
  let config: unknown;
  if (run.configText !== undefined) {
    const checked = parseConfigText(run.configText, `${run.folder}/config.layerrot.json`);
    config = checked.ok ? checked.config : parseJsonc(run.configText, [], { allowTrailingComma: true });
    if (!isPlainObject(config)) config = undefined;
  }
  const source = config ? 'copy' : 'run_started';
  const values = flattenConfig(config ?? configFromStarted(s));
  if (s.engine) values.engine = s.engine;
  if (s.backend) values.backend = s.backend;
  values['schedule.epochs'] = s.epochs;
  return { source, values };
}

const finiteOr = (v: number | null | undefined): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;

/** Names made unique within a run (a repeated name gets ` (2)`, ` (3)`...). */
function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n} (${k})`;
  });
}

/** The run's duration in seconds: run_finished's, else the span of the events' times. */
function durationOf(log: RunLog): number | null {
  const given = finiteOr(log.finished?.seconds);
  if (given !== null) return given;
  const t0 = log.started?.time;
  if (typeof t0 !== 'number') return null;
  let last = t0;
  for (const list of [log.rotations, log.batches, log.epochs, log.logs])
    if (list.length) last = Math.max(last, list[list.length - 1].time ?? last);
  if (typeof log.finished?.time === 'number') last = Math.max(last, log.finished.time);
  return (last - t0) / 1000;
}

/** One row from one run (its log must have run_started); `label` and the differing paths come with the model. */
export function compareRow(run: RunInput): CompareRow {
  const { log } = run;
  const s = log.started;
  if (!s) throw new Error(`${run.folder}: the log has no run_started event`);
  const verdict = judgeLog(log);
  const layers = uniqueNames(s.layers.map((l) => l.name));
  const distances: Record<string, number | null> = {};
  const values: (number | null)[] = layers.map((name, i) => {
    const d = finiteOr(verdict?.layers[i]?.distance);
    distances[name] = d;
    return d;
  });
  const known = values.every((d) => d !== null) && values.length > 0;
  const lastEpoch = log.epochs.length ? log.epochs[log.epochs.length - 1] : undefined;
  const config = runConfig(run);
  return {
    folder: run.folder,
    runId: s.runId,
    name: s.name,
    label: s.name,
    status: log.finished?.status ?? 'unfinished',
    reason: log.finished?.reason ?? '',
    engine: s.engine,
    backend: s.backend,
    seconds: durationOf(log),
    configSource: config.source,
    config: config.values,
    trainAccuracy: finiteOr(lastEpoch?.accuracy),
    valAccuracy: finiteOr(lastEpoch?.valAccuracy),
    testAccuracy: finiteOr(log.finished?.testAccuracy),
    layers,
    distances,
    minDistance: known ? (values as number[]).reduce((a, b) => Math.min(a, b), Infinity) : null,
    meanDistance: known ? (values as number[]).reduce((a, b) => a + b, 0) / values.length : null,
    verdict: verdict?.run ?? null,
    verdictStatus: verdict ? runStatus(verdict) : '',
    lagging: verdict ? verdict.layers.filter((l) => l.lagging).map((l) => layers[l.index]) : [],
    relative: null,
    skipped: describeSkipped(log, Number.POSITIVE_INFINITY, log.file ?? `${run.folder}/events.jsonl`),
  };
}

/**
 * The config paths whose values are not all equal. In a complete config (a config copy, with its
 * defaults) an absent path is a value of its own; a config read from run_started is partial, and
 * says nothing of the paths it lacks.
 */
export function differingPaths(configs: Record<string, ConfigValue>[], complete?: boolean[]): string[] {
  const paths = new Set<string>();
  for (const c of configs) for (const p of Object.keys(c)) paths.add(p);
  return [...paths]
    .filter((p) => {
      if (OWN_COLUMNS.has(p)) return false;
      const seen = new Set<string>();
      configs.forEach((c, i) => {
        if (p in c) seen.add(JSON.stringify(c[p]));
        else if (complete?.[i] ?? true) seen.add('absent');
      });
      return seen.size > 1;
    })
    .sort((a, b) => a.localeCompare(b));
}

/** The layer names of all runs in one order: a name first seen in a run goes after that run's previous layer. */
export function mergeLayerNames(runs: string[][]): string[] {
  const out: string[] = [];
  const index = new Set<string>();
  for (const names of runs) {
    let at = -1;
    for (const n of names) {
      if (index.has(n)) at = out.indexOf(n);
      else {
        out.splice(at + 1, 0, n);
        index.add(n);
        at++;
      }
    }
  }
  return out;
}

/** The fixed columns before the config values, and the metrics after them. */
const RUN_COLUMNS: Column[] = [
  { key: 'run', label: 'run', group: 'run', kind: 'text' },
  { key: 'name', label: 'name', group: 'run', kind: 'text' },
  { key: 'status', label: 'status', group: 'run', kind: 'text' },
  { key: 'engine', label: 'engine', group: 'run', kind: 'text' },
  { key: 'seconds', label: 'seconds', group: 'run', kind: 'seconds' },
];
const METRIC_COLUMNS: Column[] = [
  { key: 'train_accuracy', label: 'train_accuracy', group: 'metric', kind: 'fraction' },
  { key: 'val_accuracy', label: 'val_accuracy', group: 'metric', kind: 'fraction' },
  { key: 'test_accuracy', label: 'test_accuracy', group: 'metric', kind: 'fraction' },
  { key: 'min_distance', label: 'min_distance', group: 'metric', kind: 'distance' },
  { key: 'mean_distance', label: 'mean_distance', group: 'metric', kind: 'distance' },
  { key: 'verdict', label: 'verdict', group: 'metric', kind: 'text' },
  { key: 'lagging', label: 'lagging', group: 'metric', kind: 'list' },
  { key: 'relative', label: 'vs_siblings', group: 'metric', kind: 'text' },
];

/** The comparison of runs (every input must have run_started). */
export function buildComparison(runs: RunInput[]): ComparisonModel {
  const rows = runs.map(compareRow);
  const names = rows.map((r) => r.name);
  const unique = new Set(names).size === names.length;
  for (const r of rows) r.label = unique ? r.name : r.runId;
  const configPaths = differingPaths(
    rows.map((r) => r.config),
    rows.map((r) => r.configSource === 'copy'),
  );
  const layerNames = mergeLayerNames(rows.map((r) => r.layers));
  const evidence = evidenceOf(rows, configPaths);
  rows.forEach((r, i) => {
    r.relative = evidence.relative[i];
  });
  const taken = new Set([...RUN_COLUMNS, ...METRIC_COLUMNS].map((c) => c.label));
  const configColumns = configPaths.map(
    (p): Column => ({ key: `config:${p}`, label: taken.has(p) ? `config:${p}` : p, group: 'config', kind: 'text' }),
  );
  for (const c of configColumns) taken.add(c.label);
  const layerColumns = layerNames.map(
    (n): Column => ({ key: `layer:${n}`, label: taken.has(n) ? `layer:${n}` : n, group: 'layer', kind: 'distance' }),
  );
  return {
    rows,
    configPaths,
    layerNames,
    columns: [...RUN_COLUMNS, ...configColumns, ...METRIC_COLUMNS, ...layerColumns],
    configurations: evidence.configurations,
    reading: evidence.reading,
  };
}

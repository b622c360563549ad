// The `sweep` block: a grid of runs over config paths, e.g.
//   "sweep": { "optimizer.learningRate": [0.01, 0.1], "seed": [1, 2, 3] }
// The schema says it is an object of non-empty lists. Here: each key names a config path (with
// did-you-mean), each value fits the schema at that path, and every point of the grid (the
// config with one value per key and without `sweep`) is a valid config as a whole. The grid's
// order: keys in file order, the last key varying fastest.
import { isObject, type Json, type JsonPath } from './json';
import { Reporter } from './positions';
import { CONFIG_SCHEMA, propertiesFor, resolveRef, type SchemaNode } from './schema';
import { checkSchema, checkValue } from './schema-errors';
import { checkSemantics } from './semantics';
import { suggest } from './suggest';
import { show, where } from './wording';

export const SWEEP_KEY = 'sweep';
/** More points than this is almost surely a mistake (and too many to check while typing). */
export const MAX_SWEEP_POINTS = 10_000;
/** Paths a sweep may not vary: the run's name is the sweep's, and `sweep` itself. */
const FIXED_PATHS = ['name', '$schema', SWEEP_KEY];

/** One axis of the grid: a dotted config path and the values to try there. */
export interface SweepAxis {
  path: string;
  values: unknown[];
}

/** The axes of a config's sweep block in file order, or undefined when it has none. */
export function sweepAxes(raw: unknown): SweepAxis[] | undefined {
  if (!isObject(raw) || !isObject(raw[SWEEP_KEY])) return undefined;
  return Object.entries(raw[SWEEP_KEY] as Json).map(([path, values]) => ({
    path,
    values: Array.isArray(values) ? values : [],
  }));
}

/** How many points the grid has. */
export function gridSize(axes: readonly SweepAxis[]): number {
  return axes.reduce((n, a) => n * a.values.length, 1);
}

/** The value index on each axis of point `index` (mixed radix: the last axis fastest). */
export function gridIndices(axes: readonly SweepAxis[], index: number): number[] {
  const out = new Array<number>(axes.length);
  let rest = index;
  for (let i = axes.length - 1; i >= 0; i--) {
    const n = axes[i].values.length;
    out[i] = rest % n;
    rest = Math.floor(rest / n);
  }
  return out;
}

/** The config of one point: a copy of `raw` without `sweep`, with `values[i]` set at `axes[i].path`. */
export function applyPoint(raw: Json, axes: readonly SweepAxis[], values: readonly unknown[]): Json {
  const out = structuredClone(raw);
  delete out[SWEEP_KEY];
  axes.forEach((axis, i) => {
    const keys = axis.path.split('.');
    let node: Json = out;
    for (const key of keys.slice(0, -1)) {
      if (!isObject(node[key])) node[key] = {};
      node = node[key] as Json;
    }
    node[keys[keys.length - 1]] = structuredClone(values[i]);
  });
  return out;
}

export function checkSweep(report: Reporter, raw: unknown): void {
  if (!isObject(raw) || !isObject(raw[SWEEP_KEY])) return; // not an object: the schema says so
  const axes = sweepAxes(raw) ?? [];
  const nodes = new Map<string, SchemaNode>();
  for (const axis of axes) {
    const at: JsonPath = [SWEEP_KEY, axis.path];
    const found = schemaForPath(axis.path);
    if (typeof found === 'string') {
      report.add({ path: at, target: 'key', message: found });
      continue;
    }
    const overlap = axes.find((o) => o !== axis && axis.path.startsWith(`${o.path}.`));
    if (overlap) {
      const message = `sweep path '${axis.path}' lies inside '${overlap.path}', which the sweep also sets: keep one of them`;
      report.add({ path: at, target: 'key', message });
      continue;
    }
    nodes.set(axis.path, found);
    axis.values.forEach((v, i) => {
      const first = axis.values.findIndex((w) => sameJson(v, w));
      if (first < i) {
        const message = `duplicate value ${show(v)} in ${where(at)} (also at [${first}]): each point must differ`;
        report.add({ path: [...at, i], message });
      } else checkValue(report, found, v, [...at, i]);
    });
  }
  if (report.hasErrorsUnder([])) return; // points of a broken base or grid would repeat those errors
  checkPoints(report, raw, axes);
}

/**
 * The schema node a dotted path names, or why it names none (with did-you-mean). Paths go
 * through object properties (any branch of dataset and model) and into maps such as
 * optimizer.layerMultipliers.
 */
function schemaForPath(path: string): SchemaNode | string {
  const keys = path.split('.');
  if (FIXED_PATHS.includes(keys[0]))
    return `a sweep cannot vary '${keys[0]}' (each point's name is the sweep's name and its point)`;
  let node = CONFIG_SCHEMA as SchemaNode;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const props = propertiesFor(node);
    const mapOf = typeof node.additionalProperties === 'object' ? resolveRef(node.additionalProperties) : undefined;
    if (props[key] && !key.startsWith('$')) node = props[key];
    else if (mapOf && key !== '') node = mapOf;
    else {
      const parent = keys.slice(0, i).join('.');
      const names = Object.keys(props).filter((k) => !FIXED_PATHS.includes(k));
      const guess = suggest(key, names);
      const where = parent ? `in ${parent}` : 'at the top level of the config';
      const hint =
        names.length === 0
          ? `${parent} has no keys inside`
          : guess
            ? `did you mean '${[...keys.slice(0, i), guess, ...keys.slice(i + 1)].join('.')}'?`
            : `keys there: ${names.join(', ')}`;
      return `sweep path '${path}' names no config key: no '${key}' ${where}; ${hint}`;
    }
  }
  return node;
}

/** Every point, checked as a whole config; each distinct error once, naming its first point. */
function checkPoints(report: Reporter, raw: Json, axes: SweepAxis[]): void {
  const total = gridSize(axes);
  if (total > MAX_SWEEP_POINTS) {
    const sizes = axes.map((a) => a.values.length).join(' x ');
    const message = `the sweep has ${total} points (${sizes}); at most ${MAX_SWEEP_POINTS}`;
    report.add({ path: [SWEEP_KEY], target: 'key', message });
    return;
  }
  const seen = new Map<string, { index: number; indices: number[]; path: JsonPath; count: number }>();
  for (let index = 0; index < total; index++) {
    const indices = gridIndices(axes, index);
    const point = applyPoint(
      raw,
      axes,
      indices.map((j, a) => axes[a].values[j]),
    );
    for (const e of bareErrors(point)) {
      const known = seen.get(e.message);
      if (known) known.count++;
      else seen.set(e.message, { index, indices, path: e.path, count: 1 });
    }
  }
  for (const [message, { index, indices, path, count }] of seen) {
    const values = axes.map((a, i) => `${a.path}=${JSON.stringify(a.values[indices[i]])}`).join(', ');
    // On the value that makes the point invalid when the error is under a swept path, else on `sweep`.
    const axis = axes.findIndex((a) => startsWith(path, a.path.split('.')));
    const at: JsonPath = axis >= 0 ? [SWEEP_KEY, axes[axis].path, indices[axis]] : [SWEEP_KEY];
    const more = count > 1 ? ` (and ${count - 1} more point${count > 2 ? 's' : ''})` : '';
    report.add({
      path: at,
      target: axis >= 0 ? 'value' : 'key',
      message: `sweep point ${index + 1} of ${total} (${values}) is invalid: ${message}${more}`,
    });
  }
}

/** The errors (not warnings) of a config value checked without positions. */
function bareErrors(value: Json): { message: string; path: JsonPath }[] {
  const report = new Reporter('', '', undefined);
  checkSchema(report, value);
  checkSemantics(report, value);
  return report
    .result()
    .errors.filter((e) => e.severity === 'error')
    .map((e) => ({ message: e.message, path: e.path }));
}

function startsWith(path: JsonPath, prefix: string[]): boolean {
  return prefix.every((seg, i) => path[i] === seg);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Why `train` (the CLI, the runner, Start Training) refuses a config with a sweep block, and what to run instead. */
export function sweepNotTrainable(file: string): string {
  return `${file}: this config has a sweep block: train trains one config; run the grid's points with \`layer-rotation sweep ${file}\``;
}

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
import { COUPLED_KEYS, checkSemantics } from './semantics';
import { suggest } from './suggest';
import { show, where } from './wording';

export const SWEEP_KEY = 'sweep';
/** More points than this is almost surely a mistake (and too many to check while typing). */
export const MAX_SWEEP_POINTS = 10_000;
/**
 * At most this many configs are checked for a sweep's points (the combinations of each group of
 * axes whose checks read one another, see checkPoints): each check of a large model takes up to a
 * millisecond, and the editor checks as you type.
 */
export const MAX_SWEEP_CHECKS = 1_000;
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
  // Cloned without the sweep block: for each of up to MAX_SWEEP_POINTS points, the block (all the
  // grid's values) would be copied only to be dropped.
  const { [SWEEP_KEY]: _sweep, ...base } = raw;
  const out = structuredClone(base);
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
  const paths = new Set(axes.map((a) => a.path));
  for (const axis of axes) {
    const at: JsonPath = [SWEEP_KEY, axis.path];
    const found = schemaForPath(axis.path);
    if (typeof found === 'function') {
      report.add({ path: at, target: 'key', message: found });
      continue;
    }
    // The nearest enclosing path the sweep also sets (a lookup of each prefix: linear in the axes).
    const keys = axis.path.split('.');
    const overlap = keys
      .map((_, i) => keys.slice(0, keys.length - 1 - i).join('.'))
      .find((prefix) => prefix !== '' && paths.has(prefix));
    if (overlap !== undefined) {
      const message = `sweep path '${axis.path}' lies inside '${overlap}', which the sweep also sets: keep one of them`;
      report.add({ path: at, target: 'key', message });
      continue;
    }
    nodes.set(axis.path, found);
    const firstOf = new Map<string, number>();
    axis.values.forEach((v, i) => {
      const json = JSON.stringify(v);
      const first = firstOf.get(json) ?? i;
      firstOf.set(json, first);
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
function schemaForPath(path: string): SchemaNode | (() => string) {
  const keys = path.split('.');
  if (FIXED_PATHS.includes(keys[0]))
    return () => `a sweep cannot vary '${keys[0]}' (each point's name is the sweep's name and its point)`;
  let node = CONFIG_SCHEMA as SchemaNode;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const props = propertiesFor(node);
    const mapOf = typeof node.additionalProperties === 'object' ? resolveRef(node.additionalProperties) : undefined;
    if (props[key] && !key.startsWith('$')) node = props[key];
    else if (mapOf && key !== '') node = mapOf;
    else {
      // Worded only when listed (a sweep block may name thousands of keys).
      return () => {
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
      };
    }
  }
  return node;
}

/**
 * Every point, checked as a whole config; each distinct error once, naming its first point. The
 * checks read one another only within a group of top-level keys (COUPLED_KEYS), so the axes are
 * split by group and each group's combinations are checked with the other axes at their first
 * value: the errors of a point are those of its groups' combinations. A grid of 100 learning
 * rates x 100 seeds takes 200 checks, not 10,000.
 */
function checkPoints(report: Reporter, raw: Json, axes: SweepAxis[]): void {
  const total = gridSize(axes);
  if (total > MAX_SWEEP_POINTS) {
    const sizes = axes.map((a) => a.values.length).join(' x ');
    const message = `the sweep has ${total} points (${sizes}); at most ${MAX_SWEEP_POINTS}`;
    report.add({ path: [SWEEP_KEY], target: 'key', message });
    return;
  }
  const groups = axisGroups(axes);
  const checks = groups.reduce((n, group) => n + gridSize(group.map((a) => axes[a])), 0);
  if (checks > MAX_SWEEP_CHECKS) {
    const widest = groups.reduce((a, b) => (gridSize(b.map((i) => axes[i])) > gridSize(a.map((i) => axes[i])) ? b : a));
    const together = widest.map((a) => `${axes[a].path} (${axes[a].values.length})`).join(' x ');
    const message =
      `checking the sweep's points takes ${checks.toLocaleString('en-US')} checks (${together} vary keys whose checks read one another, ` +
      `so each combination is checked); at most ${MAX_SWEEP_CHECKS.toLocaleString('en-US')}: fewer values, or split the sweep`;
    report.add({ path: [SWEEP_KEY], target: 'key', message });
    return;
  }
  // The group (index into groups) that checks the errors under each top-level key.
  const groupOfKey = new Map(groups.map((group, g) => [groupOf(axes[group[0]].path.split('.')[0]), g]));
  const seen = new Map<string, { index: number; indices: number[]; path: JsonPath; count: number }>();
  groups.forEach((group, g) => {
    const sub = group.map((a) => axes[a]);
    const combinations = gridSize(sub);
    // Each of this group's combinations stands for this many points (the other groups' combinations).
    const weight = total / combinations;
    for (let c = 0; c < combinations; c++) {
      const indices = new Array<number>(axes.length).fill(0);
      gridIndices(sub, c).forEach((j, k) => (indices[group[k]] = j));
      const point = applyPoint(
        raw,
        axes,
        indices.map((j, a) => axes[a].values[j]),
      );
      const index = indices.reduce((n, j, a) => n * axes[a].values.length + j, 0);
      for (const e of bareErrors(point)) {
        // Each error is counted in its own group's combinations; one under keys no axis sets
        // (the same for every point) in the first group's.
        if ((groupOfKey.get(groupOf(e.path[0])) ?? 0) !== g) continue;
        const known = seen.get(e.message);
        if (known) {
          known.count += weight;
          if (index < known.index) Object.assign(known, { index, indices, path: e.path });
        } else seen.set(e.message, { index, indices, path: e.path, count: weight });
      }
    }
  });
  const axisAt = new Map(axes.map((a, i) => [a.path, i]));
  for (const [message, { index, indices, path, count }] of seen) {
    // On the value that makes the point invalid when the error is under a swept path (the
    // first axis whose path encloses the error's), else on `sweep`.
    const axis = path
      .map((_, i) => axisAt.get(path.slice(0, i + 1).join('.')))
      .find((a): a is number => a !== undefined);
    const at: JsonPath = axis !== undefined ? [SWEEP_KEY, axes[axis].path, indices[axis]] : [SWEEP_KEY];
    const more = count > 1 ? ` (and ${count - 1} more point${count > 2 ? 's' : ''})` : '';
    const values = () => {
      const shown = axes.slice(0, MAX_AXES_NAMED).map((a, i) => `${a.path}=${JSON.stringify(a.values[indices[i]])}`);
      const rest = axes.length - shown.length;
      return `${shown.join(', ')}${rest > 0 ? `, and ${rest} more` : ''}`;
    };
    report.add({
      path: at,
      target: axis !== undefined ? 'value' : 'key',
      message: () => `sweep point ${index + 1} of ${total} (${values()}) is invalid: ${message}${more}`,
    });
  }
}

/** A point is named by at most this many of its axes' values. */
const MAX_AXES_NAMED = 10;

/** The group of a top-level key: its COUPLED_KEYS group, or the key alone. */
function groupOf(key: string | number | undefined): string {
  const k = String(key ?? '');
  return COUPLED_KEYS.find((g) => g.includes(k))?.join() ?? k;
}

/** The axes (their indices) grouped by the group of the top-level key each sets, in file order. */
function axisGroups(axes: readonly SweepAxis[]): number[][] {
  const byGroup = new Map<string, number[]>();
  axes.forEach((a, i) => {
    const g = groupOf(a.path.split('.')[0]);
    const group = byGroup.get(g);
    if (group) group.push(i);
    else byGroup.set(g, [i]);
  });
  return [...byGroup.values()];
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

/** Why `train` (the CLI, the runner, Start Training) refuses a config with a sweep block, and what to run instead. */
export function sweepNotTrainable(file: string): string {
  return `${file}: this config has a sweep block: train trains one config; run the grid's points with \`layer-rotation sweep ${file}\``;
}

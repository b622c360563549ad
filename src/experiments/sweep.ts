// A sweep's grid expanded into points (pure: no files, no processes). The order is stable: the
// keys of the `sweep` block in file order, the last key varying fastest. Each point has an index,
// its values, and an id that is also its folder's name: `p003-learningRate=0.01-layca=true-seed=2`
// (the index first, so ids sort in grid order and stay unique however the values sanitize).
import { axisLabels } from './compareModel';
import { createHash } from 'node:crypto';
import { applyPoint, gridIndices, gridSize, type SweepAxis } from '../engine/config/validate';

export { axisLabels };
export interface SweepPoint {
  /** 0-based, in grid order. */
  index: number;
  /** Folder-safe and stable: the index, then `label=value` per key. */
  id: string;
  /** Config path to value, in the sweep block's key order. */
  values: Record<string, unknown>;
}

/** Longest id (and folder name); longer ones are cut and end with a hash of the values. */
export const MAX_ID_LENGTH = 96;

/** Every point of the grid, in order. */
export function expandSweep(axes: readonly SweepAxis[]): SweepPoint[] {
  const total = gridSize(axes);
  const digits = Math.max(3, String(total - 1).length);
  const labels = axisLabels(axes.map((a) => a.path));
  const points: SweepPoint[] = [];
  for (let index = 0; index < total; index++) {
    const indices = gridIndices(axes, index);
    const values: Record<string, unknown> = {};
    axes.forEach((a, i) => {
      values[a.path] = a.values[indices[i]];
    });
    const parts = axes.map((a, i) => `${labels[i]}=${valueLabel(a.values[indices[i]])}`);
    points.push({ index, id: pointId(index, digits, parts, values), values });
  }
  return points;
}

/** The config of a point: the base config with the point's values and without `sweep`. */
export function pointConfig(raw: Record<string, unknown>, point: SweepPoint): Record<string, unknown> {
  const paths = Object.keys(point.values);
  return applyPoint(
    raw,
    paths.map((path) => ({ path, values: [] })),
    paths.map((p) => point.values[p]),
  );
}

/** Which of the points a shard I/N (1-based I) runs: index mod N == I - 1. */
export function shardPoints<P extends { index: number }>(points: readonly P[], shard: number, of: number): P[] {
  return points.filter((p) => p.index % of === shard - 1);
}

/** A value in a folder name: numbers and words as written, lists joined with 'x', the rest as compact JSON; then sanitized. */
function valueLabel(v: unknown): string {
  const text = Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null) ? v.join('x') : plain(v);
  return text.replace(/[^A-Za-z0-9.+_-]+/g, '_').replace(/^_+|_+$/g, '') || '_';
}

function plain(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function pointId(index: number, digits: number, parts: string[], values: Record<string, unknown>): string {
  const id = [`p${String(index).padStart(digits, '0')}`, ...parts].join('-');
  if (id.length <= MAX_ID_LENGTH) return id;
  const hash = createHash('sha1').update(JSON.stringify(values)).digest('hex').slice(0, 8);
  return `${id.slice(0, MAX_ID_LENGTH - hash.length - 1).replace(/[-=._+]+$/, '')}-${hash}`;
}

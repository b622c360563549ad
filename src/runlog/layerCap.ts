// How many of a run's layers are drawn, listed and kept, and which: one rule for curves.svg, the
// monitor's exports, the monitor's chart, table and store, and what the extension host posts to
// the monitor. A run of more layers than a cap shows the first and the last and evenly spaced ones
// between (by depth), plus the ones that matter (the lagging ones) first in line, and says how
// many it leaves out. Pure: the webview bundles it.
import type { RunEvent, RunFinished, RunStarted } from './events';
import { thinIndices } from './thin';

/** Layer lines drawn at most (curves.svg, the monitor's chart and its SVG/PNG exports). */
export const MAX_LAYERS_DRAWN = 256;
/** Layers listed at most in the monitor's layer table. */
export const MAX_LAYERS_LISTED = MAX_LAYERS_DRAWN;
/**
 * Layers whose records the monitor keeps (the host sends no more, the webview keeps no more): the
 * others of a run of more layers are left out of its messages, so one record is a few KB whatever
 * the model, and the chart picks among these.
 */
export const MAX_LAYERS_KEPT = 1024;

/**
 * Indices of at most `cap` of `n` layers, in depth order: the `priority` ones (up to half the cap,
 * in the order given) and, for the rest, the first, the last and evenly spaced ones between. All
 * of them when `n <= cap`.
 */
export function pickLayers(n: number, cap: number, priority: Iterable<number> = []): number[] {
  if (n <= cap) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  const firsts = Math.floor(cap / 2);
  for (const i of priority) {
    if (picked.size >= firsts) break;
    if (Number.isInteger(i) && i >= 0 && i < n) picked.add(i);
  }
  // Evenly spaced ones fill the rest (a few fewer when they fall on a priority one).
  for (const i of thinIndices(n, cap - picked.size)) picked.add(i);
  return [...picked].sort((a, b) => a - b);
}

/** The layers of a run the monitor keeps: all of them up to MAX_LAYERS_KEPT, else the lagging ones (by run_finished) and evenly spaced ones; null: all. */
export function keptLayers(
  started: Pick<RunStarted, 'layers'>,
  finished?: Pick<RunFinished, 'lagging'>,
): number[] | null {
  const n = started.layers.length;
  if (n <= MAX_LAYERS_KEPT) return null;
  return pickLayers(n, MAX_LAYERS_KEPT, laggingIndices(started, finished));
}

/** Indices of the layers a run_finished names as lagging (a name not among the layers is left out). */
export function laggingIndices(started: Pick<RunStarted, 'layers'>, finished?: Pick<RunFinished, 'lagging'>): number[] {
  const lagging = finished?.lagging ?? [];
  if (!lagging.length) return [];
  const names = new Set(lagging.slice(0, MAX_LAYERS_KEPT).map((l) => l.name));
  const out: number[] = [];
  started.layers.forEach((l, i) => {
    if (names.has(l.name)) out.push(i);
  });
  return out;
}

/** The values of `values` at `indices` (a missing one is null). */
function pick<T>(values: readonly T[], indices: readonly number[]): (T | null)[] {
  return indices.map((i) => (i < values.length ? values[i] : null));
}

/**
 * An event with only the layers at `indices` (run_started's layers, a rotation record's distances
 * and rotations, run_finished's final distances); other events as they are.
 */
export function keepLayers<E extends RunEvent>(event: E, indices: readonly number[]): E {
  return keep(event, indices) as E;
}

function keep(e: RunEvent, indices: readonly number[]): RunEvent {
  switch (e.type) {
    case 'run_started':
      return { ...e, layers: indices.map((i) => e.layers[i]).filter((l) => l !== undefined) };
    case 'rotation':
      return { ...e, distances: pick(e.distances, indices), rotation: pick(e.rotation, indices) };
    case 'run_finished':
      return e.finalDistances.length ? { ...e, finalDistances: pick(e.finalDistances, indices) } : e;
    default:
      return e;
  }
}

/** "256 of 1,000,000 layers" when some are left out, else "". */
export function layersNote(shown: number, total: number, what = 'drawn'): string {
  return shown < total ? `${shown.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} layers ${what}` : '';
}

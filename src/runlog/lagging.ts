// Which layers of a run lag below the target, and how to say it: from the final distances when
// the run ended, from where each layer is on course to end while it runs. Pure: used by the
// editor's diagnostics, and tested in plain Node.
import type { RunLog } from './read';
import { layerCourses } from './projection';

export interface LaggingLayerInfo {
  name: string;
  index: number;
  /** Where the layer is (finished) or is on course to end (running). */
  value: number;
  finished: boolean;
  configPath: (string | number)[];
}

/** The lagging layers of a run: final distances when it ended, projections while it runs. */
export function laggingLayers(log: RunLog, target: number, margin: number): LaggingLayerInfo[] {
  const started = log.started;
  if (!started) return [];
  const finished = log.finished;
  const layers = started.layers;
  let values: (number | null)[];
  if (finished?.finalDistances.length) {
    values = finished.finalDistances;
  } else if (finished || log.rotations.length < 3) {
    return []; // too early to say, or ended without distances
  } else {
    const courses = layerCourses(log.rotations, layers.length, started.epochs, started.schedule);
    values = courses.map((c) => c.projected);
  }
  const out: LaggingLayerInfo[] = [];
  layers.forEach((l, i) => {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v) && v < target - margin) {
      out.push({ name: l.name, index: i, value: v, finished: !!finished, configPath: l.configPath ?? ['model'] });
    }
  });
  return out;
}

export function laggingMessage(l: LaggingLayerInfo, target: number, margin: number): string {
  const where = l.finished
    ? `ended at cosine distance ${l.value.toFixed(2)}`
    : `is on course to end at cosine distance ${l.value.toFixed(2)}`;
  return `Layer '${l.name}' ${where}, below the target ${target} by more than ${margin}: it lags. Turn on Layca, or raise its learning rate.`;
}

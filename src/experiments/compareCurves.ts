// The runs' rotation curves for the comparison tab, thinned on the host: plain data (no Node), at
// most MAX_CURVE_POINTS records per run, so that 50 runs x 20 layers x 2,000 records cross to the
// webview as about 300,000 numbers instead of 2,000,000, each rounded to 1e-4 (a fraction of a
// pixel in the tab's panels; the exports read the logs themselves), which halves the message.
import type { RotationEvent, RunStarted } from '../runlog/events';
import { thinIndices } from '../runlog/thin';

/** What of a run log the curves need (a RunLog of src/runlog/read.ts). */
export interface CurvesLog {
  started?: Pick<RunStarted, 'layers' | 'target'>;
  rotations: Pick<RotationEvent, 'epoch' | 'distances'>[];
}

/** Records kept per run (the first, the last, and evenly spaced ones between). */
export const MAX_CURVE_POINTS = 300;

export interface RunCurves {
  runId: string;
  /** The run's layers in forward order (its distances' order). */
  layers: string[];
  /** The run's target distance (run_started.target, default 1). */
  target: number;
  /** Fractional epoch of each kept record. */
  epochs: number[];
  /** Per layer, per kept record: the cosine distance (null: not finite or missing). */
  distances: (number | null)[][];
}

/** Decimals kept of the epochs and distances sent. */
const ROUND = 1e4;
const round = (v: number) => Math.round(v * ROUND) / ROUND;

/** One run's curves, thinned. */
export function runCurves(runId: string, log: CurvesLog, max = MAX_CURVE_POINTS): RunCurves {
  const layers = (log.started?.layers ?? []).map((l) => l.name);
  const keep = thinIndices(log.rotations.length, max);
  const epochs = keep.map((i) => round(log.rotations[i].epoch));
  const distances = layers.map((_, j) =>
    keep.map((i) => {
      const d = log.rotations[i].distances[j];
      return typeof d === 'number' && Number.isFinite(d) ? round(d) : null;
    }),
  );
  return { runId, layers, target: log.started?.target ?? 1, epochs, distances };
}

// Helpers of the monitor's charts and layer table, no DOM: where the epoch axis ends, and the
// store's columns handed to the verdict (src/runlog/verdict.ts), which decides for the table what
// each layer's rate, course and lag are, as everywhere else.
import { fitTerms, judge, type RunVerdict } from '../../src/runlog/verdict';
import type { RunStarted } from '../protocol';
import { ROT_EPOCH, ROT_FIRST_LAYER, type RunStore } from './store';

export { lowerBound } from '../../src/runlog/verdict';
export { axisEnd } from '../../src/runlog/chartMath';

/** The verdict on the run in `store` and each of its layers (whose run_started is `info`), read from its columns in place. */
export function storeVerdict(store: RunStore, info: RunStarted): RunVerdict {
  const rot = store.rotation;
  const finished = store.finished;
  const finals = finished?.finalDistances;
  return judge(
    {
      epochs: rot.column(ROT_EPOCH),
      distances: info.layers.map((_, i) => rot.column(ROT_FIRST_LAYER + i)),
      n: rot.length,
    },
    {
      names: info.layers.map((l) => l.name),
      target: info.target,
      lagMargin: info.lagMargin,
      endEpoch: store.endEpoch(),
      schedule: info.schedule,
      finished: !!finished,
      finalDistances: finals?.length ? finals : undefined,
      fit: finished ? fitTerms(info, finished, store.epochs[store.epochs.length - 1]) : undefined,
    },
  );
}

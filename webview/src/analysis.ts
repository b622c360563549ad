// Helpers of the monitor's charts and layer table, no DOM: where the epoch axis ends, and the
// store's columns handed to the verdict (src/runlog/verdict.ts), which decides for the table what
// each layer's rate, course and lag are, as everywhere else.
import { fitTerms, judge, type RunVerdict } from '../../src/runlog/verdict';
import type { RunStarted } from '../protocol';
import { ROT_EPOCH, ROT_FIRST_LAYER, type RunStore } from './store';

export { lowerBound } from '../../src/runlog/verdict';

/**
 * Where the epoch axis ends while a run goes: the next "nice" value (1, 1.2, 1.5, 2, 2.5, 3, 4,
 * 5, 6, 8 x 10^k) at or above the last epoch, but not past the planned end. It moves in steps, so
 * the curves drawn so far keep their place between steps and new records only add to them.
 */
export function axisEnd(last: number, plannedEnd: number): number {
  if (!(last > 0)) return plannedEnd > 0 ? Math.min(plannedEnd, 1) : 1;
  const p = 10 ** Math.floor(Math.log10(last));
  let nice = 10 * p;
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8]) {
    if (m * p >= last * (1 - 1e-12)) {
      nice = m * p;
      break;
    }
  }
  return Math.max(last, plannedEnd > 0 ? Math.min(nice, plannedEnd) : nice);
}

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

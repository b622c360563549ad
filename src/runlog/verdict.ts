// Whether a run and each of its layers can be judged, whether they lag, and how to say it: the one
// rule behind the editor's diagnostics (config and run log), the runs tree, the monitor's layer
// table, the CLI's table, summary.json and run_finished.lagging. Pure, no Node: the monitor
// webview bundles it.
//
// The paper's finding (docs/layer-rotation.md) compares runs trained until the training set is
// fit; it says nothing of a run that has not fit, nor of one that did not learn. So first the
// run as a whole (RunJudgement):
// - finished, no-learning: it diverged (failed with a distance that is not finite), or its
//   training accuracy (or, when it did not fit, its test accuracy) is at chance: within the
//   chance margin (stopping.chance.margin, at least CHANCE_MARGIN) of 1 / classes.
// - finished, not-fit: its final training accuracy (run_finished.trainAccuracy, else the last
//   epoch_end's) is below fitAccuracy, and its last training loss not below stopping.lossBelow.
// - finished, judged: it fit; its layers are judged.
// - running, too-early: before judgeFrom, the first third of the plan or the first decay epoch,
//   whichever is first: a projection from the first epochs of a schedule means nothing yet.
// - running, judged: its layers are judged by where they are on course to end.
// (A run far below its sweep siblings is another run-level case: it belongs in runJudgement, with
// the siblings' accuracies as one more input, when runs know their sweep.)
//
// A layer of a judged run lags when it ends below target - lagMargin (run_started's):
// - finished run: its final distance (run_finished.finalDistances, or the last record when the
//   run gave none); a distance that is not finite (NaN, null, missing) lags.
// - running run: where it is on course to end. The rate is the least-squares slope of distance
//   against epoch over the records of the last epoch, widened to at least 3 records (fewer
//   records in all: too early to say, no verdict). The projection is the distance now plus that
//   rate, clamped at 0, times the epochs left weighted by the learning rate still to come
//   relative to the mean rate over the slope's window (a layer turns in proportion to its rate;
//   exactly so with Layca); then clamped to [0, 2]. Clamped at 0 because a distance that dips
//   for a while (noise, weight decay) is not a layer turning back: extrapolating the dip over
//   the rest of the run would make a lagging verdict out of a transient. A layer whose distance
//   now is not finite has no projection, so no verdict while the run goes.
// Relative to the run's other layers: a layer of a judged run whose distance (final, or projected)
// is below 1 / FAR_BELOW_RATIO of the median over the run's layers (three layers or more) turns
// far less than the others: the paper's other mark of a lagging layer. It is said in the layer's
// message; it lags by the target already (the median is at most 2).
// Cost: a binary search for the window, then per layer the window's records only.
import { DEFAULT_FIT_ACCURACY } from './defaults';
import type { EpochEnd, LaggingLayer, RotationEvent, RunFinished, RunStarted, RunStatus } from './events';
import { learningRateAt } from './schedule';

/** The slope's window, in epochs back from the last record. */
export const RECENT_EPOCHS = 1;
/** A layer below the median of its run's layers divided by this turns far less than the others. */
export const FAR_BELOW_RATIO = 4;
/** The fewest records the slope's window holds, and the fewest a running run needs for a verdict. */
export const MIN_RECORDS = 3;

/** The learning-rate schedule as run_started.schedule gives it (per-layer multipliers cancel out). */
export interface ScheduleInfo {
  learningRate: number;
  decay?: { factor: number; epochs: number[] };
  warmupEpochs?: number;
}

/** The scheduled (base) learning rate at a fractional epoch, as the engines compute it. */
export function scheduledRate(s: ScheduleInfo, epoch: number): number {
  return learningRateAt(s.learningRate, { decay: s.decay, warmupEpochs: s.warmupEpochs ?? 0 }, epoch);
}

/** The integral of the learning rate over [from, to] (epochs), exact for warmup + step decay. */
export function learningRateIntegral(s: ScheduleInfo, from: number, to: number): number {
  if (!(to > from)) return 0;
  const warm = s.warmupEpochs ?? 0;
  const cuts = [from, to];
  if (warm > from && warm < to) cuts.push(warm);
  for (const e of s.decay?.epochs ?? []) if (e > from && e < to) cuts.push(e);
  cuts.sort((a, b) => a - b);
  let sum = 0;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = Math.max(cuts[i], 0);
    const b = Math.max(cuts[i + 1], 0);
    if (b <= a) continue;
    // Constant decay level inside the piece; a linear ramp if the piece is in the warmup.
    const level = scheduledRate({ ...s, warmupEpochs: 0 }, (a + b) / 2);
    sum += warm > 0 && b <= warm ? (level * (b * b - a * a)) / (2 * warm) : level * (b - a);
  }
  return sum;
}

/** Index of the first x >= value in the sorted xs[0..n). */
export function lowerBound(xs: ArrayLike<number>, n: number, value: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first record of the slope's window: the last RECENT_EPOCHS of records, at least MIN_RECORDS. */
export function windowStart(epochs: ArrayLike<number>, n: number): number {
  if (n === 0) return 0;
  return Math.max(0, Math.min(lowerBound(epochs, n, epochs[n - 1] - RECENT_EPOCHS), n - MIN_RECORDS));
}

/**
 * Least-squares slope of ys against xs over the records [from, n), finite pairs only; null with
 * fewer than two or no spread. One pass: the sums are taken about the first finite pair (so they
 * stay small beside the values: no cancellation when the spread is small against the mean).
 */
export function slope(xs: ArrayLike<number>, ys: ArrayLike<number>, from: number, n: number): number | null {
  let count = 0;
  let x0 = 0;
  let y0 = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = from; i < n; i++) {
    const x = xs[i];
    const y = ys[i];
    // (x - x is 0 for a finite x, NaN for NaN and the infinities: one test for both.)
    if (x - x !== 0 || y - y !== 0) continue;
    if (count === 0) {
      x0 = x;
      y0 = y;
    }
    const dx = x - x0;
    const dy = y - y0;
    count++;
    sx += dx;
    sy += dy;
    sxx += dx * dx;
    sxy += dx * dy;
  }
  if (count < 2) return null;
  const vxx = sxx - (sx * sx) / count;
  return vxx > 0 ? (sxy - (sx * sy) / count) / vxx : null;
}

/**
 * The epochs left from `epoch` to `endEpoch`, each weighted by its learning rate relative to the
 * mean rate over [slopeFrom, epoch]: what a rate measured there is multiplied by to project.
 */
export function effectiveEpochsLeft(
  epoch: number,
  slopeFrom: number,
  endEpoch: number,
  schedule?: ScheduleInfo,
): number {
  const left = Math.max(0, endEpoch - epoch);
  if (!schedule || left === 0) return left;
  const span = epoch - slopeFrom;
  const ref = span > 0 ? learningRateIntegral(schedule, slopeFrom, epoch) / span : scheduledRate(schedule, epoch);
  const ahead = learningRateIntegral(schedule, epoch, endEpoch);
  return ref > 0 && Number.isFinite(ref) && Number.isFinite(ahead) ? ahead / ref : left;
}

/** Where a layer at `current` and moving at `rate` per epoch ends after `effectiveLeft` epochs: in [0, 2], never below now. */
export function projectDistance(current: number, rate: number, effectiveLeft: number): number {
  return Math.min(2, Math.max(0, current + Math.max(0, rate) * effectiveLeft));
}

/** Rotation records as columns: epochs[0..n) ascending, and per layer its distances (NaN: unknown). */
export interface RotationColumns {
  epochs: ArrayLike<number>;
  distances: ArrayLike<number>[];
  n: number;
}

/** What a run is, as a whole (see the top of this file). */
export type RunJudgement = 'judged' | 'not-fit' | 'no-learning' | 'too-early';

/** The least margin above 1 / classes within which an accuracy is at chance. */
export const CHANCE_MARGIN = 0.02;

/** How a finished run ended, as far as fitting its training data goes. */
export interface FitTerms {
  status: RunStatus;
  /** The last epoch's training accuracy and loss (null: none measured). */
  trainAccuracy: number | null;
  trainLoss: number | null;
  testAccuracy: number | null;
  classes: number | null;
  fitAccuracy: number;
  /** The run's stopping.lossBelow: a run that stopped by it has fit. */
  lossBelow?: number;
  /** Within this of 1 / classes an accuracy is at chance. */
  chanceMargin: number;
}

/** What the verdict needs to know of a run besides its records. */
export interface RunTerms {
  names: string[];
  target: number;
  lagMargin: number;
  /** Where the run is planned to end, in epochs. */
  endEpoch: number;
  schedule?: ScheduleInfo;
  finished: boolean;
  /** The run's final distances, when finished (a layer without one uses its last record). */
  finalDistances?: ArrayLike<number | null>;
  /** How the run ended, when finished; without it a finished run has no measured fit (not-fit). */
  fit?: FitTerms;
}

export interface LayerVerdict {
  name: string;
  index: number;
  /** Distance now, or final when finished; null when not finite. */
  distance: number | null;
  /** Distance per epoch over the slope's window (as measured: not clamped). */
  perEpoch: number | null;
  /** The final distance (finished), or where it is on course to end (running, judged); else null. */
  projected: number | null;
  lagging: boolean;
  /** Judged and far below the run's other layers (below their median / FAR_BELOW_RATIO). */
  farBelow: boolean;
}

/** Why a finished run did not learn. */
export interface NoLearning {
  cause: 'diverged' | 'chance';
  /** The accuracy at chance (cause chance). */
  accuracy?: { of: 'training' | 'test'; value: number };
  /** Every layer ended at or above target - lagMargin (or the run diverged): the rate is too high for this budget. */
  rateTooHigh: boolean;
}

export interface RunVerdict {
  finished: boolean;
  target: number;
  lagMargin: number;
  run: RunJudgement;
  /** The epoch from which a running run's layers are judged. */
  judgeFrom: number;
  /** How the finished run ended (its fit), as judged. */
  fit?: FitTerms;
  /** The finished run fit by its training accuracy, or by its loss (stopping.lossBelow). */
  fitBy?: 'accuracy' | 'loss';
  noLearning?: NoLearning;
  layers: LayerVerdict[];
  /** The median of the judged layers' distances (final or projected); null when not judged or fewer than 3 layers. */
  median: number | null;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
const finiteOrNull = (v: number | null | undefined): number | null => (finite(v) ? v : null);

function medianOf(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The epoch from which a running run is judged: the first third of the plan or the first decay, whichever is first. */
export function judgeFromEpoch(endEpoch: number, schedule?: ScheduleInfo): number {
  let from = endEpoch / 3;
  for (const e of schedule?.decay?.epochs ?? []) if (e > 0 && e < from) from = e;
  return from;
}

/** Whether an accuracy is at chance for `classes` classes. */
function atChance(accuracy: number | null, fit: FitTerms): boolean {
  return finite(accuracy) && finite(fit.classes) && fit.classes >= 2 && accuracy <= 1 / fit.classes + fit.chanceMargin;
}

/** The run as a whole, when finished: no-learning, not-fit or judged (see the top of this file). */
function finishedJudgement(
  fit: FitTerms | undefined,
  finals: (number | null)[],
  threshold: number,
): Pick<RunVerdict, 'run' | 'fitBy' | 'noLearning'> {
  const acc = fit?.trainAccuracy ?? null;
  const byAccuracy = !!fit && finite(acc) && acc >= fit.fitAccuracy;
  const byLoss = !!fit && finite(fit.lossBelow) && finite(fit.trainLoss) && fit.trainLoss < fit.lossBelow;
  const reached = finals.every((d) => d !== null && d >= threshold);
  if (fit?.status === 'failed' && finals.some((d) => d === null))
    return { run: 'no-learning', noLearning: { cause: 'diverged', rateTooHigh: true } };
  if (fit && atChance(acc, fit))
    return {
      run: 'no-learning',
      noLearning: { cause: 'chance', accuracy: { of: 'training', value: acc as number }, rateTooHigh: reached },
    };
  if (fit && !byAccuracy && !byLoss && atChance(fit.testAccuracy, fit))
    return {
      run: 'no-learning',
      noLearning: {
        cause: 'chance',
        accuracy: { of: 'test', value: fit.testAccuracy as number },
        rateTooHigh: reached,
      },
    };
  if (byAccuracy) return { run: 'judged', fitBy: 'accuracy' };
  if (byLoss) return { run: 'judged', fitBy: 'loss' };
  return { run: 'not-fit' };
}

/** The verdict on the run and every layer, from the records as columns. */
export function judge(cols: RotationColumns, run: RunTerms): RunVerdict {
  const { n } = cols;
  const threshold = run.target - run.lagMargin;
  const from = windowStart(cols.epochs, n);
  const epoch = n > 0 ? cols.epochs[n - 1] : 0;
  const judgeFrom = judgeFromEpoch(run.endEpoch, run.schedule);
  const early = !run.finished && (n < MIN_RECORDS || epoch < judgeFrom);
  const ahead = early ? 0 : effectiveEpochsLeft(epoch, n > 0 ? cols.epochs[from] : 0, run.endEpoch, run.schedule);
  const measured = run.names.map((_, index) => {
    const ys = cols.distances[index];
    // The last record only: a NaN there (a diverged run) is no distance now, whatever came before.
    const last = n > 0 && ys ? finiteOrNull(ys[n - 1]) : null;
    const perEpoch = n > 1 && ys ? slope(cols.epochs, ys, from, n) : null;
    const fin =
      run.finalDistances && run.finalDistances.length > index ? finiteOrNull(run.finalDistances[index]) : last;
    return { last, perEpoch, fin };
  });
  const whole: Pick<RunVerdict, 'run' | 'fitBy' | 'noLearning'> = run.finished
    ? finishedJudgement(
        run.fit,
        measured.map((m) => m.fin),
        threshold,
      )
    : { run: early ? 'too-early' : 'judged' };
  const judged = whole.run === 'judged';
  const layers = run.names.map((name, index): LayerVerdict => {
    const { last, perEpoch, fin } = measured[index];
    if (run.finished)
      return {
        name,
        index,
        distance: fin,
        perEpoch,
        projected: fin,
        lagging: judged && (fin === null || fin < threshold),
        farBelow: false,
      };
    const projected = early || last === null ? null : projectDistance(last, perEpoch ?? 0, ahead);
    return {
      name,
      index,
      distance: last,
      perEpoch,
      projected,
      lagging: projected !== null && projected < threshold,
      farBelow: false,
    };
  });
  const median = judged ? medianOf(layers.map((l) => l.projected).filter(finite)) : null;
  if (median !== null && layers.length >= 3)
    for (const l of layers) l.farBelow = l.projected !== null && l.projected < median / FAR_BELOW_RATIO;
  const v: RunVerdict = {
    finished: run.finished,
    target: run.target,
    lagMargin: run.lagMargin,
    ...whole,
    judgeFrom,
    layers,
    median: layers.length >= 3 ? median : null,
  };
  if (run.finished && run.fit) v.fit = run.fit;
  return v;
}

/** Where a run is planned to end, in epochs: its epochs, or earlier when its steps end first (maxSteps). */
export function plannedEndEpoch(s: Pick<RunStarted, 'epochs' | 'totalSteps' | 'stepsPerEpoch'>): number {
  return s.stepsPerEpoch > 0 && s.totalSteps > 0 ? Math.min(s.epochs, s.totalSteps / s.stepsPerEpoch) : s.epochs;
}

/** The fit of a finished run: its run_finished, with the last epoch_end for logs whose run_finished has no training metrics. */
export function fitTerms(
  started: Pick<RunStarted, 'dataset' | 'fitAccuracy' | 'stopping'>,
  finished: Pick<RunFinished, 'status' | 'trainAccuracy' | 'trainLoss' | 'testAccuracy'>,
  lastEpoch?: Pick<EpochEnd, 'accuracy' | 'loss'>,
): FitTerms {
  const fit: FitTerms = {
    status: finished.status,
    trainAccuracy: finished.trainAccuracy ?? lastEpoch?.accuracy ?? null,
    trainLoss: finished.trainLoss ?? lastEpoch?.loss ?? null,
    testAccuracy: finished.testAccuracy,
    classes: started.dataset.classes,
    fitAccuracy: started.fitAccuracy ?? DEFAULT_FIT_ACCURACY,
    chanceMargin: Math.max(CHANCE_MARGIN, started.stopping?.chance?.margin ?? 0),
  };
  if (finite(started.stopping?.lossBelow)) fit.lossBelow = started.stopping.lossBelow;
  return fit;
}

/** A run log as the host reads it (src/runlog/read.ts's RunLog fits). */
export interface LogLike {
  started?: RunStarted;
  rotations: RotationEvent[];
  epochs: EpochEnd[];
  finished?: RunFinished;
}

/** The verdict on a run log; undefined before run_started. Copies only the slope's window of records. */
export function judgeLog(log: LogLike): RunVerdict | undefined {
  const started = log.started;
  if (!started) return undefined;
  const recs = log.rotations;
  const epochs = Float64Array.from(recs, (r) => r.epoch);
  const from = windowStart(epochs, recs.length);
  const window = recs.slice(from);
  const cols: RotationColumns = {
    epochs: epochs.subarray(from),
    distances: started.layers.map((_, i) => window.map((r) => finiteOrNull(r.distances[i]) ?? NaN)),
    n: window.length,
  };
  const finished = log.finished;
  const finals = finished?.finalDistances;
  return judge(cols, {
    ...runTermsOf(started),
    finished: !!finished,
    finalDistances: finals?.length ? finals : undefined,
    fit: finished ? fitTerms(started, finished, log.epochs[log.epochs.length - 1]) : undefined,
  });
}

/** What the verdict reads of run_started. */
export type StartedTerms = Pick<
  RunStarted,
  | 'layers'
  | 'target'
  | 'lagMargin'
  | 'epochs'
  | 'totalSteps'
  | 'stepsPerEpoch'
  | 'schedule'
  | 'dataset'
  | 'fitAccuracy'
  | 'stopping'
>;

/** The terms of run_started: names, target, margin, planned end and schedule. */
export function runTermsOf(started: StartedTerms): Omit<RunTerms, 'finished'> {
  return {
    names: started.layers.map((l) => l.name),
    target: started.target,
    lagMargin: started.lagMargin,
    endEpoch: plannedEndEpoch(started),
    schedule: started.schedule,
  };
}

/** The verdict at the end of a run from run_started and run_finished alone (an engine finishing a run, summary.json). */
export function judgeEnd(
  started: StartedTerms,
  finished: Pick<RunFinished, 'status' | 'trainAccuracy' | 'trainLoss' | 'testAccuracy' | 'finalDistances'>,
): RunVerdict {
  return judge(
    { epochs: [], distances: [], n: 0 },
    {
      ...runTermsOf(started),
      finished: true,
      finalDistances: finished.finalDistances,
      fit: fitTerms(started, finished),
    },
  );
}

/** run_finished.lagging: the lagging layers with their final distance (NaN, written null, when unknown). */
export function laggingEntries(v: RunVerdict): LaggingLayer[] {
  return v.layers.filter((l) => l.lagging).map((l) => ({ name: l.name, distance: l.projected ?? NaN }));
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** How the run fit its training data, e.g. "99.6% training accuracy". */
function fitWords(v: RunVerdict): string {
  const f = v.fit;
  if (!f) return '';
  return v.fitBy === 'loss'
    ? `training loss ${f.trainLoss?.toPrecision(3)} below stopping.lossBelow ${f.lossBelow}`
    : `${pct(f.trainAccuracy ?? NaN)} training accuracy`;
}

/** Why a lag of one run is an indicator, not a finding (docs/evidence.md: on MNIST, rotation did not predict accuracy). */
export const ONE_RUN_CANNOT_TELL =
  'One run cannot tell whether more rotation generalizes better on this task; a sweep can.';

/**
 * The message for a lagging layer: what was measured. `remedy` is the advice of the place it is
 * shown (the config has quick fixes, a script's run log does not).
 */
export function lagMessage(l: LayerVerdict, v: RunVerdict, remedy: string): string {
  const others =
    l.farBelow && v.median !== null ? ` and far below the run's other layers (median ${v.median.toFixed(2)})` : '';
  const below = `below the target ${v.target} by more than ${v.lagMargin}${others}`;
  if (!v.finished) {
    const now = l.distance === null ? 'n/a' : l.distance.toFixed(2);
    const pace = l.perEpoch === null ? 'has not moved measurably' : `moved ${l.perEpoch.toFixed(3)} per epoch`;
    return `Layer '${l.name}' is at cosine distance ${now} and ${pace} over the last epoch: at that pace, with the learning rate still to come, it would end near ${(l.projected ?? 0).toFixed(2)}, ${below}. ${remedy}`;
  }
  const where =
    l.projected === null
      ? 'ended without a finite cosine distance'
      : `ended at cosine distance ${l.projected.toFixed(2)}`;
  return `Layer '${l.name}' ${where}, ${below}, in a run that fit its training data (${fitWords(v)}): by the paper's rule it lags. ${ONE_RUN_CANNOT_TELL} ${remedy}`;
}

/** The advice for a run that did not learn. */
export const RATE_TOO_HIGH = 'The rate is too high for this budget: lower it or decay earlier.';

/** The one message on a finished run whose layers are not judged (not-fit, no-learning); undefined otherwise. */
export function runMessage(v: RunVerdict): string | undefined {
  const f = v.fit;
  if (v.run === 'no-learning' && v.noLearning) {
    const nl = v.noLearning;
    const what =
      nl.cause === 'diverged'
        ? 'The run diverged (it failed, and a layer ended without a finite cosine distance): it did not learn'
        : `The run did not learn: its ${nl.accuracy?.of} accuracy ${pct(nl.accuracy?.value ?? NaN)} is at chance (1/${f?.classes})`;
    return nl.rateTooHigh
      ? `${what}, though its layers rotated to the target. ${RATE_TOO_HIGH}`
      : `${what}, and its layers did not reach the target either: the learning rate may be too low, or the data or the model may be at fault.`;
  }
  if (v.run === 'not-fit') {
    const threshold = f ? pct(f.fitAccuracy) : pct(DEFAULT_FIT_ACCURACY);
    const measured =
      f?.trainAccuracy == null
        ? `measured no training accuracy at an epoch end, so whether it fit its training data (monitoring.fitAccuracy ${threshold}) is unknown`
        : `did not fit its training data: its final training accuracy ${pct(f.trainAccuracy)} is below monitoring.fitAccuracy ${threshold}`;
    const advice = f?.status === 'failed' ? 'See why it failed.' : 'Train longer.';
    return `The run ${f?.status === 'failed' ? 'failed and ' : ''}${measured}, so its layer rotation cannot be judged yet (the paper compares runs trained until they fit). ${advice}`;
  }
  return undefined;
}

/** A short run-level status: "2 lagging layers", "not fit (96.9% training accuracy < 99.0%)", "no learning: ...", "too early to judge". */
export function runStatus(v: RunVerdict): string {
  switch (v.run) {
    case 'judged': {
      const n = v.layers.filter((l) => l.lagging).length;
      return `${n} lagging layer${n === 1 ? '' : 's'}${v.finished ? '' : ' on course'}`;
    }
    case 'not-fit': {
      const f = v.fit;
      return f?.trainAccuracy == null
        ? 'not judged: no training accuracy measured'
        : `not fit (${pct(f.trainAccuracy)} training accuracy < ${pct(f.fitAccuracy)}): rotation not judged`;
    }
    case 'no-learning':
      return v.noLearning?.cause === 'diverged'
        ? 'diverged: the rate is too high for this budget'
        : `no learning (accuracy at chance)${v.noLearning?.rateTooHigh ? ': the rate is too high for this budget' : ''}`;
    case 'too-early':
      return `too early to judge rotation (from epoch ${Number(v.judgeFrom.toFixed(2))})`;
  }
}

/** runStatus in a few words, for a narrow row: "3 lagging", "0 lagging", "not fit", "diverged", "no learning", "too early". */
export function runStatusShort(v: RunVerdict): string {
  switch (v.run) {
    case 'judged':
      return `${v.layers.filter((l) => l.lagging).length} lagging`;
    case 'not-fit':
      return 'not fit';
    case 'no-learning':
      return v.noLearning?.cause === 'diverged' ? 'diverged' : 'no learning';
    case 'too-early':
      return 'too early';
  }
}

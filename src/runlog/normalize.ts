// One reading of a run-log event (docs/run-log-format.md): the host normalizes every event once,
// when it reads it (a line of events.jsonl, an IPC message), and everything after (the CLI, the
// editor, the monitor webview) uses the typed result as is. Required fields are checked; absent
// optional fields get null or the documented defaults; non-finite numbers become null; unknown
// fields are dropped. Pure (the webview bundles isRunEvent, which checks the normalized shape).
import type {
  BatchEvent,
  EpochEnd,
  LayerInfo,
  LaggingLayer,
  LogEvent,
  RotationEvent,
  RunEvent,
  RunEventType,
  RunFinished,
  RunStarted,
  RunStatus,
  Schedule,
  StoppingInfo,
} from './events';
import { DEFAULT_FIT_ACCURACY, DEFAULT_LAG_MARGIN, DEFAULT_TARGET } from './defaults';
import { RUN_STATUSES } from './events';
import { featuresProblem, normalizeFeatures } from './features';
import { shownValue } from './sanitize';

export const EVENT_TYPES: readonly RunEventType[] = [
  'run_started',
  'rotation',
  'batch',
  'epoch_end',
  'run_finished',
  'log',
  'features',
];

export type Normalized = { ok: true; event: RunEvent } | { ok: false; problem: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** A finite number, or null for anything else (null, NaN written as null, a string, 1e999). */
const num = (v: unknown): number | null => (finite(v) ? v : null);
// Numbers outside their domain are unknown too (docs/run-log-format.md, "What readers make of a line").
/** A count, a loss, seconds, a rate: finite and >= 0. */
const nonNeg = (v: unknown): number | null => (finite(v) && v >= 0 ? v : null);
/** An accuracy: in [0, 1]. */
const fraction = (v: unknown): number | null => (finite(v) && v >= 0 && v <= 1 ? v : null);
/** Cosine distances are in [0, 2]; a float's rounding may step out by a hair. */
const DISTANCE_SLACK = 1e-6;
const distance = (v: unknown): number | null =>
  finite(v) && v >= -DISTANCE_SLACK && v <= 2 + DISTANCE_SLACK ? Math.min(2, Math.max(0, v)) : null;
const distances = (v: unknown): (number | null)[] => (Array.isArray(v) ? v.map(distance) : []);
const str = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);
const nums = (v: unknown): (number | null)[] => (Array.isArray(v) ? v.map(num) : []);
const isNumOrNull = (v: unknown): boolean => v === null || finite(v);
/**
 * An array of finite numbers and nulls (a hole, as every() skips it, passes). One tight loop: the
 * webview checks every value of every record of a run it loads with it (200 layers x 20,000 records).
 */
function numsOk(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    // (x - x is 0 for a finite number, NaN for NaN and the infinities.)
    if (typeof x === 'number' ? x - x !== 0 : x !== null && !(x === undefined && !(i in v))) return false;
  }
  return true;
}

/** Reads a parsed JSON value as an event, or says why it is not one this reader can use. */
export function normalizeEvent(value: unknown): Normalized {
  if (!isObj(value)) return { ok: false, problem: 'not a JSON object' };
  const e = value;
  if (!finite(e.v)) return { ok: false, problem: 'no format version "v"' };
  if (typeof e.type !== 'string' || !(EVENT_TYPES as string[]).includes(e.type))
    return { ok: false, problem: `unknown event type ${shownValue(e.type)}` };
  // Fields copied one by one below, not by spreading base: V8's spread here costs ~7 µs per event.
  const base = { v: e.v, time: num(e.time) };
  const fail = (problem: string): Normalized => ({ ok: false, problem });
  const ok = (event: RunEvent): Normalized => ({ ok: true, event });
  switch (e.type as RunEventType) {
    case 'run_started':
      return Array.isArray(e.layers) ? ok(started(e, base)) : fail('run_started without "layers"');
    case 'rotation': {
      if (!finite(e.step) || !finite(e.epoch) || !Array.isArray(e.distances))
        return fail('rotation event needs numeric "step", "epoch" and "distances"');
      if (e.step < 0 || e.epoch < 0) return fail('rotation event with a negative "step" or "epoch"');
      const r: RotationEvent = {
        v: base.v,
        time: base.time,
        type: 'rotation',
        step: e.step,
        epoch: e.epoch,
        distances: distances(e.distances),
        rotation: nums(e.rotation),
        steps: nonNeg(e.steps) ?? 0,
      };
      return ok(r);
    }
    case 'batch': {
      if (!finite(e.step) || !finite(e.epoch)) return fail('batch event needs numeric "step" and "epoch"');
      if (e.step < 0 || e.epoch < 0) return fail('batch event with a negative "step" or "epoch"');
      const b: BatchEvent = {
        v: base.v,
        time: base.time,
        type: 'batch',
        step: e.step,
        epoch: e.epoch,
        loss: nonNeg(e.loss),
        accuracy: fraction(e.accuracy),
        learningRate: nonNeg(e.learningRate),
      };
      return ok(b);
    }
    case 'epoch_end': {
      if (!finite(e.epoch)) return fail('epoch_end needs a numeric "epoch"');
      if (e.epoch < 0) return fail('epoch_end with a negative "epoch"');
      const x: EpochEnd = {
        v: base.v,
        time: base.time,
        type: 'epoch_end',
        epoch: e.epoch,
        step: nonNeg(e.step),
        loss: nonNeg(e.loss),
        accuracy: fraction(e.accuracy),
        valLoss: nonNeg(e.valLoss),
        valAccuracy: fraction(e.valAccuracy),
        seconds: nonNeg(e.seconds),
        samplesPerSecond: nonNeg(e.samplesPerSecond),
      };
      return ok(x);
    }
    case 'run_finished':
      return typeof e.status === 'string' ? ok(finished(e, base)) : fail('run_finished needs a "status"');
    case 'log': {
      if (typeof e.message !== 'string') return fail('log event needs a "message"');
      const level = e.level === 'warning' || e.level === 'error' ? e.level : 'info';
      const l: LogEvent = { v: base.v, time: base.time, type: 'log', level, message: e.message };
      return ok(l);
    }
    case 'features': {
      const problem = featuresProblem(e);
      return problem ? fail(problem) : ok(normalizeFeatures(e, base));
    }
  }
}

function started(e: Obj, base: { v: number; time: number | null }): RunStarted {
  const layers = (e.layers as unknown[]).map((l, i): LayerInfo => {
    const o = isObj(l) ? l : {};
    const layer: LayerInfo = {
      name: str(o.name, '') || `layer ${i + 1}`,
      kind: str(o.kind, '?'),
      shape: Array.isArray(o.shape) ? o.shape.filter(finite) : [],
      params: nonNeg(o.params),
    };
    if (Array.isArray(o.configPath) && o.configPath.every((p) => typeof p === 'string' || finite(p)))
      layer.configPath = o.configPath as (string | number)[];
    return layer;
  });
  const ds = isObj(e.dataset) ? e.dataset : {};
  const positive = (v: unknown): number | null => (finite(v) && v > 0 ? v : null);
  const epochs = positive(e.epochs) ?? 1;
  const stepsPerEpoch = positive(e.stepsPerEpoch) ?? 1;
  const runId = str(e.runId, '');
  const s: RunStarted = {
    v: base.v,
    time: base.time,
    type: 'run_started',
    runId,
    name: str(e.name, runId),
    engine: str(e.engine, ''),
    backend: str(e.backend, ''),
    dataset: {
      name: str(ds.name, ''),
      train: nonNeg(ds.train),
      validation: nonNeg(ds.validation),
      test: nonNeg(ds.test),
      inputShape: Array.isArray(ds.inputShape) ? ds.inputShape.filter(finite) : [],
      classes: nonNeg(ds.classes),
    },
    layers,
    epochs,
    stepsPerEpoch,
    batchSize: positive(e.batchSize),
    // The product of two huge numbers may be Infinity: the largest finite number instead.
    totalSteps: positive(e.totalSteps) ?? Math.min(epochs * stepsPerEpoch, Number.MAX_VALUE),
    // A target is a cosine distance (in (0, 2]); a margin, one at most that big.
    target: finite(e.target) && e.target > 0 && e.target <= 2 ? e.target : DEFAULT_TARGET,
    lagMargin: finite(e.lagMargin) && e.lagMargin >= 0 && e.lagMargin <= 2 ? e.lagMargin : DEFAULT_LAG_MARGIN,
    fitAccuracy:
      finite(e.fitAccuracy) && e.fitAccuracy > 0 && e.fitAccuracy <= 1 ? e.fitAccuracy : DEFAULT_FIT_ACCURACY,
  };
  // Optional fields stay absent when absent (a run_started without configFile is an outside run).
  if (typeof e.configFile === 'string') s.configFile = e.configFile;
  if (typeof e.backendDescription === 'string') s.backendDescription = e.backendDescription;
  if (typeof e.model === 'string') s.model = e.model;
  if (typeof e.optimizer === 'string') s.optimizer = e.optimizer;
  if (finite(e.seed)) s.seed = e.seed;
  const schedule = scheduleOf(e.schedule);
  if (schedule) s.schedule = schedule;
  const stopping = stoppingOf(e.stopping);
  if (stopping) s.stopping = stopping;
  return s;
}

/** The stopping criteria that bear on the verdict: lossBelow and chance, when usable. */
function stoppingOf(v: unknown): StoppingInfo | undefined {
  if (!isObj(v)) return undefined;
  const s: StoppingInfo = {};
  if (finite(v.lossBelow) && v.lossBelow > 0) s.lossBelow = v.lossBelow;
  const c = isObj(v.chance) ? v.chance : null;
  if (c && finite(c.epochs) && finite(c.margin)) s.chance = { epochs: c.epochs, margin: c.margin };
  return s;
}

/** The learning-rate schedule, when it has a usable positive learning rate. */
function scheduleOf(v: unknown): Schedule | undefined {
  if (!isObj(v) || !finite(v.learningRate) || v.learningRate <= 0) return undefined;
  const d = isObj(v.decay) ? v.decay : null;
  const schedule: Schedule = {
    learningRate: v.learningRate,
    warmupEpochs: Math.max(0, num(v.warmupEpochs) ?? 0),
    layca: v.layca === true,
    multipliers: Array.isArray(v.multipliers) ? v.multipliers.filter(finite) : [],
  };
  if (d && finite(d.factor) && Array.isArray(d.epochs))
    schedule.decay = { factor: d.factor, epochs: d.epochs.filter(finite) };
  return schedule;
}

function finished(e: Obj, base: { v: number; time: number | null }): RunFinished {
  const known = (RUN_STATUSES as readonly string[]).includes(e.status as string);
  const reason = str(e.reason, '');
  const lagging: LaggingLayer[] = Array.isArray(e.lagging)
    ? e.lagging.filter(isObj).map((l) => ({ name: str(l.name, '?'), distance: distance(l.distance) }))
    : [];
  return {
    v: base.v,
    time: base.time,
    type: 'run_finished',
    // A status this format does not know is a failure, and says which it was.
    status: known ? (e.status as RunStatus) : 'failed',
    reason: known ? reason : `status ${JSON.stringify(e.status)}${reason ? `: ${reason}` : ''}`,
    step: nonNeg(e.step),
    epoch: nonNeg(e.epoch),
    finalDistances: distances(e.finalDistances),
    testLoss: nonNeg(e.testLoss),
    testAccuracy: fraction(e.testAccuracy),
    trainLoss: nonNeg(e.trainLoss),
    trainAccuracy: fraction(e.trainAccuracy),
    lagging,
    seconds: nonNeg(e.seconds),
  };
}

/**
 * Whether a value has the shape of a normalized event (what normalizeEvent returns): what the
 * monitor webview checks of the host's messages before it indexes them.
 */
export function isRunEvent(value: unknown): value is RunEvent {
  if (!isObj(value) || !finite(value.v) || !isNumOrNull(value.time)) return false;
  const e = value;
  switch (e.type) {
    case 'run_started':
      return (
        typeof e.runId === 'string' &&
        typeof e.name === 'string' &&
        typeof e.engine === 'string' &&
        typeof e.backend === 'string' &&
        isObj(e.dataset) &&
        Array.isArray(e.layers) &&
        e.layers.every(
          (l) => isObj(l) && typeof l.name === 'string' && typeof l.kind === 'string' && isNumOrNull(l.params),
        ) &&
        finite(e.epochs) &&
        finite(e.stepsPerEpoch) &&
        finite(e.totalSteps) &&
        isNumOrNull(e.batchSize) &&
        finite(e.target) &&
        finite(e.lagMargin) &&
        finite(e.fitAccuracy) &&
        (e.stopping === undefined || isObj(e.stopping)) &&
        (e.configFile === undefined || typeof e.configFile === 'string') &&
        (e.schedule === undefined || (isObj(e.schedule) && finite(e.schedule.learningRate)))
      );
    case 'rotation':
      return finite(e.step) && finite(e.epoch) && numsOk(e.distances) && numsOk(e.rotation) && finite(e.steps);
    case 'batch':
      return (
        finite(e.step) &&
        finite(e.epoch) &&
        isNumOrNull(e.loss) &&
        isNumOrNull(e.accuracy) &&
        isNumOrNull(e.learningRate)
      );
    case 'epoch_end':
      return (
        finite(e.epoch) &&
        [e.step, e.loss, e.accuracy, e.valLoss, e.valAccuracy, e.seconds, e.samplesPerSecond].every(isNumOrNull)
      );
    case 'run_finished':
      return (
        (RUN_STATUSES as readonly unknown[]).includes(e.status) &&
        typeof e.reason === 'string' &&
        numsOk(e.finalDistances) &&
        Array.isArray(e.lagging) &&
        [e.step, e.epoch, e.testLoss, e.testAccuracy, e.seconds].every(isNumOrNull) &&
        [e.trainLoss, e.trainAccuracy].every((x) => x === undefined || isNumOrNull(x))
      );
    case 'log':
      return (e.level === 'info' || e.level === 'warning' || e.level === 'error') && typeof e.message === 'string';
    case 'features':
      return featuresProblem(e) === undefined && typeof e.kind === 'string' && finite(e.totalUnits);
    default:
      return false;
  }
}

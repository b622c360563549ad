// The training loop: builds the data, model and optimizer from a config, trains epoch by epoch
// in minibatches, records layer rotation every N steps and at each epoch end, checks the
// paper's stopping criteria, and reports everything as run-log events.
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'node:path';
import type { BackendName, RunOverrides, TrainingConfig } from './config/types';
import { selectBackend } from './backend/select';
import { type DatasetCache, loadDataset } from './data/load';
import type { Dataset, Split } from './data/types';
import { judgeEnd, laggingEntries, type StartedTerms } from '../runlog/verdict';
import {
  type EpochEnd,
  type NewEvent,
  type RunFinished,
  type RunStatus,
  type StoppingInfo,
  stamp,
} from '../runlog/events';
import { registerGradients } from './gradients';
import { buildModel, type Model } from './models';
import { createOptimizer } from './optim/optimizers';
import { layerMultipliers, paramGroups } from './optim/schedule';
import { learningRateAt } from '../runlog/schedule';
import { Rng } from './rng';
import { RotationMonitor } from './rotation';
import { FeatureSnapshots } from './features';
/** The training loop's options: the run's overrides of its config, and what the runner adds. */
export interface TrainOptions extends RunOverrides {
  runId: string;
  /** Overrides the config's backend. */
  backend?: BackendName;
  /** Folder of the wasm backend's .wasm files, when bundled. */
  wasmPath?: string;
  config: TrainingConfig;
  /** Absolute path of the config file (relative dataset paths resolve against its folder). */
  configFile?: string;
  /** Receives every event, in order. */
  emit: (e: NewEvent) => void;
  /** Warnings to report (e.g. the config's), as log events right after run_started. */
  warnings?: string[];
  /** Keeps the data read across runs (a warm runner's): the next run on the same data reads nothing. */
  datasets?: DatasetCache;
  /** Polled after every step: true (or the reason, as text) asks the run to end cleanly. */
  shouldStop?: () => boolean | string;
}

/** An epoch_end as the loop makes it: its training loss and accuracy are known. */
type EpochTotals = Omit<EpochEnd, 'v' | 'time'> & { loss: number; accuracy: number };

/** Ends a run early from inside the loop, with the status and reason to report. */
class EndRun extends Error {
  constructor(
    readonly status: RunStatus,
    message: string,
  ) {
    super(message);
  }
}

const EVAL_BATCH = 1000;
const BATCH_EVENTS_PER_EPOCH = 50;

/** Explains failures people can act on, e.g. out-of-memory errors from wasm or V8. */
export function describeFailure(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (
    /out of memory|\bOOM\b|Array buffer allocation failed|Cannot allocate|Maximum call stack|memory access out of bounds|grow memory/i.test(
      msg,
    )
  ) {
    return `out of memory: ${msg} (try a smaller batchSize or model, or the tfjs-node backend)`;
  }
  return msg;
}

export async function train(opts: TrainOptions): Promise<RunFinished> {
  const { config, emit } = opts;
  const started = Date.now();
  let step = 0;
  let stepsPerEpoch = 1;
  let model: Model | undefined;
  let monitor: RotationMonitor | undefined;
  let features: FeatureSnapshots | undefined;
  let optimizer: ReturnType<typeof createOptimizer> | undefined;
  let data: Dataset | undefined;
  let finished: RunFinished | undefined;
  let startedTerms: StartedTerms | undefined;
  let lastEnd: EpochTotals | undefined;

  const finish = (status: RunStatus, reason: string, test: { loss: number; accuracy: number } | null): RunFinished => {
    // The first layer's features as the run ends, unless the last snapshot was of this step.
    if (features && model && features.lastStep !== step) snapshotFeatures(features, step, step / stepsPerEpoch);
    const e: Omit<RunFinished, 'v' | 'time'> = {
      type: 'run_finished',
      status,
      reason,
      step,
      epoch: step / stepsPerEpoch,
      finalDistances: model && monitor ? monitor.record().distances : [],
      testLoss: test ? test.loss : null,
      testAccuracy: test ? test.accuracy : null,
      trainLoss: lastEnd ? lastEnd.loss : null,
      trainAccuracy: lastEnd ? lastEnd.accuracy : null,
      lagging: [],
      seconds: (Date.now() - started) / 1000,
    };
    // Which layers lag: the verdict's, which judges them only when the run fit its training data.
    if (startedTerms) e.lagging = laggingEntries(judgeEnd(startedTerms, e));
    emit(e);
    return stamp(e) as RunFinished;
  };

  /** Emits a features snapshot; a failure to read the kernel (e.g. out of memory as a run fails) only skips it. */
  const snapshotFeatures = (f: FeatureSnapshots, atStep: number, atEpoch: number): void => {
    let e: ReturnType<FeatureSnapshots['snapshot']> = null;
    try {
      e = f.snapshot(atStep, atEpoch);
    } catch {
      e = null;
    }
    if (e) emit(e);
  };

  try {
    registerGradients();
    const configDir = opts.configFile ? path.dirname(opts.configFile) : process.cwd();
    const backend = await selectBackend(opts.backend ?? config.backend, { wasmPath: opts.wasmPath, configDir });
    const dataset = loadDataset(config.dataset, {
      seed: config.seed,
      flatten: config.model.type === 'mlp',
      configDir,
      cache: opts.datasets,
    });
    data = dataset;
    if (dataset.train.n === 0) throw new EndRun('failed', 'the training set is empty');

    model = buildModel(config.model, dataset.inputShape, dataset.classes, config.seed);
    const names = model.layers.map((l) => l.name);
    const multipliers = layerMultipliers(config.optimizer, names);
    optimizer = createOptimizer(config.optimizer, paramGroups(model.params, config.optimizer, multipliers));
    monitor = new RotationMonitor(model.kernels);

    const epochs = opts.epochs ?? config.schedule.epochs;
    const batchSize = config.schedule.batchSize;
    stepsPerEpoch = Math.ceil(dataset.train.n / batchSize);
    const totalSteps = Math.min(epochs * stepsPerEpoch, opts.maxSteps ?? Infinity);
    const recordsPerEpoch = opts.recordsPerEpoch ?? config.monitoring.recordsPerEpoch;
    const recordEvery =
      (opts.recordsPerEpoch ? undefined : config.monitoring.everySteps) ??
      Math.max(1, Math.floor(stepsPerEpoch / recordsPerEpoch));
    // Batch metrics come more often than rotation records: they drive progress and loss curves.
    const batchEvery = Math.max(1, Math.min(recordEvery, Math.floor(stepsPerEpoch / BATCH_EVENTS_PER_EPOCH)));

    const startedEvent: Extract<NewEvent, { type: 'run_started' }> = {
      type: 'run_started',
      runId: opts.runId,
      name: config.name,
      configFile: opts.configFile,
      engine: 'tfjs',
      backend: backend.name,
      backendDescription: backend.description,
      dataset: {
        name: dataset.name,
        train: dataset.train.n,
        validation: dataset.validation.n,
        test: dataset.test.n,
        inputShape: dataset.inputShape,
        classes: dataset.classes,
      },
      model: config.model.type,
      optimizer: `${config.optimizer.type}${config.optimizer.layca ? '-layca' : ''}`,
      layers: model.layers,
      epochs,
      stepsPerEpoch,
      batchSize,
      totalSteps,
      target: config.monitoring.target,
      lagMargin: config.monitoring.lagMargin,
      fitAccuracy: config.monitoring.fitAccuracy,
      stopping: stoppingInfo(config),
      seed: config.seed,
      schedule: {
        learningRate: config.optimizer.learningRate,
        decay: config.schedule.decay,
        warmupEpochs: config.schedule.warmupEpochs,
        layca: config.optimizer.layca,
        multipliers,
      },
    };
    emit(startedEvent);
    startedTerms = startedEvent;
    for (const message of [...(opts.warnings ?? []), ...(dataset.warnings ?? [])])
      emit({ type: 'log', level: 'warning', message });
    emit({ type: 'rotation', step: 0, epoch: 0, ...monitor.record(), steps: 0 });
    features = config.monitoring.features
      ? FeatureSnapshots.of(model.layers, model.kernels, dataset.sampleShape)
      : undefined;
    if (features) snapshotFeatures(features, 0, 0);

    const rng = new Rng(config.seed + 1);
    const lossHistory: number[] = [];
    let lastRecordStep = 0;
    let lastBatchStep = 0;
    let window = { loss: 0, correct: 0, samples: 0 };

    for (let epoch = 0; epoch < epochs && step < totalSteps; epoch++) {
      const epochStart = Date.now();
      const order = rng.permutation(dataset.train.n);
      let epochLoss = 0;
      let epochCorrect = 0;
      let epochSamples = 0;
      for (let b = 0; b < stepsPerEpoch && step < totalSteps; b++) {
        const idx = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, dataset.train.n));
        const lr = learningRateAt(config.optimizer.learningRate, config.schedule, step / stepsPerEpoch);
        const { loss, correct } = trainStep(model, optimizer, dataset, idx, lr);
        step++;
        if (!Number.isFinite(loss)) {
          throw new EndRun(
            'failed',
            `the loss became ${loss} at step ${step} (epoch ${(step / stepsPerEpoch).toFixed(2)}, learning rate ${lr}): lower optimizer.learningRate, or turn on Layca`,
          );
        }
        const n = idx.length;
        epochLoss += loss * n;
        epochCorrect += correct;
        epochSamples += n;
        window.loss += loss * n;
        window.correct += correct;
        window.samples += n;
        const last = b === stepsPerEpoch - 1 || step === totalSteps;
        if (step - lastBatchStep >= batchEvery || last) {
          emit({
            type: 'batch',
            step,
            epoch: step / stepsPerEpoch,
            loss: window.loss / window.samples,
            accuracy: window.correct / window.samples,
            learningRate: lr,
          });
          lastBatchStep = step;
          window = { loss: 0, correct: 0, samples: 0 };
        }
        if (step - lastRecordStep >= recordEvery || last) {
          emit({
            type: 'rotation',
            step,
            epoch: step / stepsPerEpoch,
            ...monitor.record(),
            steps: step - lastRecordStep,
          });
          lastRecordStep = step;
        }
        // Let IPC messages and signals (a stop request) in between steps.
        await new Promise((resolve) => setImmediate(resolve));
        const stop = opts.shouldStop?.();
        if (stop)
          throw new EndRun(
            'stopped',
            `${typeof stop === 'string' ? `stopped: ${stop}` : 'stopped on request'} at step ${step}`,
          );
      }
      const seconds = (Date.now() - epochStart) / 1000;
      const val = dataset.validation.n > 0 ? evaluate(model, dataset, dataset.validation) : null;
      const end: EpochTotals = {
        type: 'epoch_end',
        epoch: epoch + 1,
        step,
        loss: epochLoss / epochSamples,
        accuracy: epochCorrect / epochSamples,
        valLoss: val ? val.loss : null,
        valAccuracy: val ? val.accuracy : null,
        seconds,
        samplesPerSecond: epochSamples / seconds,
      };
      emit(end);
      lastEnd = end;
      if (features?.due(end.epoch)) snapshotFeatures(features, step, step / stepsPerEpoch);
      lossHistory.push(end.loss);
      checkStopping(config, lossHistory, end, dataset.classes);
    }
    const reason =
      step >= epochs * stepsPerEpoch
        ? `trained ${epochs} epoch${epochs === 1 ? '' : 's'}`
        : `reached the step limit (${totalSteps} steps)`;
    finished = finish('completed', reason, evaluate(model, dataset, dataset.test));
  } catch (err) {
    if (err instanceof EndRun) {
      const test = err.status === 'completed' && model && data ? evaluate(model, data, data.test) : null;
      finished = finish(err.status, err.message, test);
    } else {
      finished = finish('failed', describeFailure(err), null);
    }
  } finally {
    monitor?.dispose();
    optimizer?.dispose();
    model?.dispose();
  }
  return finished;
}

/** The stopping criteria run_started records for the verdict (stopping.lossBelow and .chance). */
function stoppingInfo(config: TrainingConfig): StoppingInfo {
  const { lossBelow, chance } = config.stopping;
  return { ...(lossBelow !== undefined ? { lossBelow } : {}), ...(chance ? { chance } : {}) };
}

/** Throws EndRun when one of the paper's stopping criteria is met at an epoch end. */
function checkStopping(config: TrainingConfig, losses: number[], end: EpochTotals, classes: number): void {
  const s = config.stopping;
  if (s.lossBelow !== undefined && end.loss < s.lossBelow) {
    throw new EndRun(
      'completed',
      `the training loss ${end.loss.toPrecision(3)} fell below ${s.lossBelow} (stopping.lossBelow) after epoch ${end.epoch}`,
    );
  }
  if (s.plateau && losses.length > s.plateau.epochs) {
    const recent = losses.slice(-(s.plateau.epochs + 1));
    if (Math.max(...recent) - Math.min(...recent) <= s.plateau.tolerance) {
      throw new EndRun(
        'completed',
        `the training loss has not changed by more than ${s.plateau.tolerance} for ${s.plateau.epochs} epochs (stopping.plateau)`,
      );
    }
  }
  if (s.chance && end.epoch >= s.chance.epochs && end.accuracy <= 1 / classes + s.chance.margin) {
    throw new EndRun(
      'failed',
      `the training accuracy is still at chance (${(100 * end.accuracy).toFixed(1)}%) after ${end.epoch} epochs (stopping.chance): the learning rate is probably too high or too low`,
    );
  }
}

let batchBuffer = new Float32Array(0);

/**
 * Copies the samples `idx` of a split into one batch tensor and its one-hot labels. The tensors
 * are to be disposed before the next call (within a tidy), which reuses their memory on the cpu backend.
 */
export function makeBatch(
  data: Dataset,
  split: Split,
  idx: ArrayLike<number>,
): { x: tf.Tensor; y: tf.Tensor2D; labels: Int32Array } {
  const d = data.inputShape.reduce((a, b) => a * b, 1);
  const n = idx.length;
  // The batch is copied into one buffer kept from batch to batch (a fresh one a step is garbage
  // for V8 to collect): every backend has copied it, or dropped its tensor, by the next batch.
  if (batchBuffer.length < n * d) batchBuffer = new Float32Array(n * d);
  const xs = batchBuffer.subarray(0, n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = idx[i];
    xs.set(split.x.subarray(j * d, (j + 1) * d), i * d);
    labels[i] = split.y[j];
  }
  const x = tf.tensor(xs, [n, ...data.inputShape]);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), data.classes) as tf.Tensor2D;
  return { x, y, labels };
}

export function trainStep(
  model: Model,
  optimizer: ReturnType<typeof createOptimizer>,
  data: Dataset,
  idx: Uint32Array,
  lr: number,
): { loss: number; correct: number } {
  return tf.tidy(() => {
    const { x, y } = makeBatch(data, data.train, idx);
    // The number of correct predictions comes out of the gradient scope through tf.keep,
    // which also exempts it from this tidy: it is disposed explicitly below.
    let correct: tf.Tensor = tf.scalar(0);
    const { value, grads } = tf.variableGrads(
      () => {
        const logits = model.forward(x, true);
        correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32')));
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      },
      model.params.map((p) => p.variable),
    );
    optimizer.step(grads, lr);
    const both = tf.stack([value, correct]).dataSync();
    correct.dispose();
    return { loss: both[0], correct: both[1] };
  });
}

/** Mean loss and accuracy over a split, in batches, in inference mode. */
export function evaluate(model: Model, data: Dataset, split: Split): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < split.n; start += EVAL_BATCH) {
    const idx = Array.from({ length: Math.min(EVAL_BATCH, split.n - start) }, (_, i) => start + i);
    const [l, c] = tf.tidy(() => {
      const { x, y } = makeBatch(data, split, idx);
      const logits = model.forward(x, false);
      const l = tf.mul(tf.losses.softmaxCrossEntropy(y, logits), idx.length);
      const c = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32'));
      return Array.from(tf.stack([l, c]).dataSync());
    });
    loss += l;
    correct += c;
  }
  return split.n ? { loss: loss / split.n, accuracy: correct / split.n } : { loss: NaN, accuracy: NaN };
}

// A realistic, deterministic run log for the monitor's tests and benchmark: run_started with N
// layers, rotation / batch / epoch_end events as the trainer emits them, and run_finished.
// Layer distances follow the cumulative learning rate of the schedule (as Layca makes them do),
// concave like real curves; chosen layers lag and end far below the target.
import type { RunEvent, RunStarted } from '../../src/runlog/events';
import { learningRateIntegral, type ScheduleInfo as LrSchedule } from '../../src/runlog/verdict';

export interface FakeRunOptions {
  runId?: string;
  name?: string;
  layers?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  recordsPerEpoch?: number;
  batchesPerEpoch?: number;
  batchSize?: number;
  /** The layers' names (default: conv1, conv2, ... output; their count sets `layers`). */
  layerNames?: string[];
  /** Indices of layers that lag (end around 0.4-0.55). */
  lagging?: number[];
  backend?: string;
  backendDescription?: string;
  schedule?: LrSchedule;
  target?: number;
  lagMargin?: number;
  /** The training accuracy at which the run has fit (default 0.9: the fake run fits, unless it fails). */
  fitAccuracy?: number;
  /** How the run ends; 'failed' ends half-way with NaN distances and a reason. */
  status?: 'completed' | 'failed' | 'stopped';
  /** Record indices whose distances are null (gaps). */
  gapRecords?: number[];
  startTime?: number;
  msPerStep?: number;
  seed?: number;
}

export interface FakeRun {
  events: RunEvent[];
  started: RunStarted;
  layerNames: string[];
  /** Distances of the last rotation record, and run_finished's final distances. */
  lastDistances: number[];
  finalDistances: (number | null)[];
  /** Layers whose final distance is below target - lagMargin (none when the run failed: it diverged, no layer is judged). */
  laggingLayers: string[];
  rotationRecords: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const round = (v: number, digits = 6) => Math.round(v * 10 ** digits) / 10 ** digits;

export function fakeRun(o: FakeRunOptions = {}): FakeRun {
  const L = o.layerNames?.length ?? o.layers ?? 6;
  const epochs = o.epochs ?? 3;
  const spe = o.stepsPerEpoch ?? 400;
  const recordsPerEpoch = o.recordsPerEpoch ?? 20;
  const batchesPerEpoch = o.batchesPerEpoch ?? 40;
  const batchSize = o.batchSize ?? 128;
  const runId = o.runId ?? 'fake-run-20261128-120000';
  const target = o.target ?? 1;
  const lagMargin = o.lagMargin ?? 0.2;
  const schedule: LrSchedule = o.schedule ?? {
    learningRate: 0.01,
    decay: { factor: 0.2, epochs: [Math.max(1, epochs - 1)] },
    warmupEpochs: 0,
  };
  const status = o.status ?? 'completed';
  const lagSet = new Set(o.lagging ?? (L > 2 ? [0, Math.floor(L / 2)] : []));
  const gaps = new Set(o.gapRecords ?? []);
  const random = rng(o.seed ?? 7);
  const t0 = o.startTime ?? 1_764_331_200_000;
  const msPerStep = o.msPerStep ?? 25;
  const totalSteps = epochs * spe;
  const endStep =
    status === 'failed'
      ? Math.floor(totalSteps * 0.55)
      : status === 'stopped'
        ? Math.floor(totalSteps * 0.7)
        : totalSteps;

  const layerNames =
    o.layerNames ??
    Array.from({ length: L }, (_, i) => (i === L - 1 ? 'output' : L > 12 ? `conv${i + 1}` : `dense${i + 1}`));
  const finals = layerNames.map((_, i) =>
    lagSet.has(i) ? 0.4 + 0.15 * random() : 0.92 + 0.2 * (i / Math.max(1, L - 1)) + 0.05 * random(),
  );
  const total = learningRateIntegral(schedule, 0, epochs);
  const curve = (epoch: number, i: number) => {
    const x = learningRateIntegral(schedule, 0, epoch) / total;
    const a = 1.2 + 0.6 * (i / Math.max(1, L - 1));
    return (finals[i] * (1 - Math.exp(-a * x))) / (1 - Math.exp(-a));
  };

  const started: RunStarted = {
    v: 1,
    time: t0,
    type: 'run_started',
    runId,
    name: o.name ?? 'mnist-default',
    configFile: '/home/researcher/examples/mnist-default.layerrot.json',
    engine: 'tfjs',
    backend: o.backend ?? 'wasm',
    backendDescription: o.backendDescription ?? 'wasm (SIMD, 1 thread)',
    dataset: { name: 'mnist', train: spe * batchSize, validation: 6000, test: 10000, inputShape: [784], classes: 10 },
    model: L > 12 ? 'vgg' : 'mlp',
    optimizer: 'sgd-layca',
    layers: layerNames.map((name, i) => {
      const fanIn = i === 0 ? 784 : 256;
      const fanOut = i === L - 1 ? 10 : 256;
      return {
        name,
        kind: L > 12 && i < L - 1 ? 'conv2d' : 'dense',
        shape: [fanIn, fanOut],
        params: fanIn * fanOut + fanOut,
      };
    }),
    epochs,
    stepsPerEpoch: spe,
    batchSize,
    totalSteps,
    target,
    lagMargin,
    fitAccuracy: o.fitAccuracy ?? 0.9,
    seed: 1,
    schedule: {
      learningRate: schedule.learningRate,
      decay: schedule.decay,
      warmupEpochs: schedule.warmupEpochs ?? 0,
      layca: true,
      multipliers: layerNames.map(() => 1),
    },
  };
  const events: RunEvent[] = [started];
  events.push({
    v: 1,
    time: t0 + 5,
    type: 'log',
    level: 'warning',
    message: 'trainSubset 20000 of 54000 samples: validation uses the remaining ones',
  });

  const recordEvery = Math.max(1, Math.floor(spe / recordsPerEpoch));
  const batchEvery = Math.max(1, Math.floor(spe / batchesPerEpoch));
  let records = 0;
  let last: number[] = [];
  const distancesAt = (step: number): number[] => {
    const epoch = step / spe;
    const d = layerNames.map((_, i) => round(Math.max(0, curve(epoch, i) + (step > 0 ? 0.004 * (random() - 0.5) : 0))));
    return d;
  };
  const rotation = (step: number, steps: number) => {
    const distances = distancesAt(step);
    const record = gaps.has(records) ? distances.map(() => null) : distances;
    events.push({
      v: 1,
      time: t0 + step * msPerStep,
      type: 'rotation',
      step,
      epoch: step / spe,
      distances: record as number[],
      rotation: distances.map((d) => round(steps ? 0.02 * d : 0)),
      steps,
    });
    records++;
    last = record as number[];
  };
  const metrics = (epoch: number) => {
    const x = epoch / epochs;
    const loss = 2.3 * Math.exp(-4 * x) + 0.06 + 0.03 * (random() - 0.5);
    const accuracy = Math.min(0.995, 1 - 0.88 * Math.exp(-5 * x) - 0.02 + 0.01 * (random() - 0.5));
    return { loss: round(loss, 4), accuracy: round(accuracy, 4) };
  };

  rotation(0, 0);
  let lastRecord = 0;
  let lastBatch = 0;
  for (let step = 1; step <= endStep; step++) {
    const endOfEpoch = step % spe === 0;
    const epoch = step / spe;
    if (step - lastBatch >= batchEvery || endOfEpoch) {
      const m = metrics(epoch);
      events.push({
        v: 1,
        time: t0 + step * msPerStep,
        type: 'batch',
        step,
        epoch,
        loss: m.loss,
        accuracy: m.accuracy,
        learningRate: schedule.learningRate,
      });
      lastBatch = step;
    }
    if (step - lastRecord >= recordEvery || endOfEpoch || step === endStep) {
      rotation(step, step - lastRecord);
      lastRecord = step;
    }
    if (endOfEpoch) {
      const m = metrics(epoch);
      events.push({
        v: 1,
        time: t0 + step * msPerStep + 400,
        type: 'epoch_end',
        epoch,
        step,
        loss: round(m.loss * 1.05, 4),
        accuracy: round(m.accuracy - 0.005, 4),
        valLoss: round(m.loss * 1.2 + 0.02, 4),
        valAccuracy: round(m.accuracy - 0.012, 4),
        seconds: (spe * msPerStep) / 1000,
        samplesPerSecond: Math.round((batchSize * 1000) / msPerStep),
      });
    }
  }
  const lastDistances = last;
  const finalDistances: (number | null)[] = status === 'failed' ? layerNames.map(() => null) : lastDistances;
  const threshold = target - lagMargin;
  const laggingLayers = layerNames.filter(
    (_, i) => status !== 'failed' && (finalDistances[i] === null || (finalDistances[i] as number) < threshold),
  );
  const lastEnd = [...events].reverse().find((e) => e.type === 'epoch_end');
  const endEpoch = endStep / spe;
  events.push({
    v: 1,
    time: t0 + endStep * msPerStep + 900,
    type: 'run_finished',
    status,
    reason:
      status === 'failed'
        ? `the loss became NaN at step ${endStep} (epoch ${endEpoch.toFixed(2)}, learning rate 0.5): lower optimizer.learningRate, or turn on Layca`
        : status === 'stopped'
          ? `stopped on request at step ${endStep}`
          : `trained ${epochs} epochs`,
    step: endStep,
    epoch: endEpoch,
    finalDistances: finalDistances as number[],
    testLoss: status === 'failed' ? null : 0.081,
    testAccuracy: status === 'failed' ? null : 0.9761,
    trainLoss: lastEnd?.type === 'epoch_end' ? lastEnd.loss : null,
    trainAccuracy: lastEnd?.type === 'epoch_end' ? lastEnd.accuracy : null,
    lagging: laggingLayers.map((name) => ({ name, distance: finalDistances[layerNames.indexOf(name)] as number })),
    seconds: (endStep * msPerStep) / 1000 + 1,
  });
  return { events, started, layerNames, lastDistances, finalDistances, laggingLayers, rotationRecords: records };
}

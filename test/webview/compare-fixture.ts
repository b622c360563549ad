// Synthetic runs for the comparison tab's tests and benchmark: run logs (as a runner writes them,
// parsed by src/runlog/read.ts) whose layers turn at rates set by each run's learning rate.
import { buildComparison, type ComparisonModel, type RunInput } from '../../src/experiments/compare';
import { runCurves, type RunCurves } from '../../src/experiments/compareCurves';
import { parseRunLog } from '../../src/runlog/read';

export interface FixtureRun {
  lr: number;
  seed?: number;
  status?: 'completed' | 'failed' | 'stopped';
  /** null: no test accuracy (the run did not get to the test). */
  testAccuracy?: number | null;
}

/** One run's log text: `layers` layers, `records` rotation records over 10 epochs. */
export function runLogText(runId: string, run: FixtureRun, layers: number, records: number): string {
  const names = Array.from({ length: layers }, (_, i) => (i === layers - 1 ? 'output' : `dense${i + 1}`));
  const t0 = 1_764_000_000_000;
  const lines: object[] = [
    {
      v: 1,
      time: t0,
      type: 'run_started',
      runId,
      name: runId,
      engine: 'tfjs',
      backend: 'wasm',
      dataset: { name: 'synthetic', train: 900, validation: 100, test: 200, inputShape: [16], classes: 4 },
      model: 'mlp',
      optimizer: 'sgd',
      layers: names.map((name) => ({ name, kind: 'dense', shape: [16, 16], params: 272 })),
      epochs: 10,
      stepsPerEpoch: 100,
      batchSize: 32,
      totalSteps: 1000,
      target: 1,
      lagMargin: 0.2,
      fitAccuracy: 0.5,
      seed: run.seed ?? 1,
      schedule: { learningRate: run.lr, warmupEpochs: 0, layca: false, multipliers: names.map(() => 1) },
    },
  ];
  const dist = (epoch: number, i: number) => Math.min(2, 1.1 * (1 - Math.exp(-epoch * run.lr * (1 + i / layers))));
  for (let r = 0; r < records; r++) {
    const epoch = (10 * r) / Math.max(1, records - 1);
    const distances = names.map((_, i) => dist(epoch, i));
    lines.push({ v: 1, time: t0 + r * 10, type: 'rotation', step: r, epoch, distances, rotation: distances, steps: 1 });
  }
  lines.push({ v: 1, time: t0 + records * 10, type: 'epoch_end', epoch: 10, step: records, loss: 0.5, accuracy: 0.9 });
  const testAccuracy = run.testAccuracy === undefined ? 0.6 + run.lr : run.testAccuracy;
  lines.push({
    v: 1,
    time: t0 + records * 10 + 1,
    type: 'run_finished',
    status: run.status ?? 'completed',
    reason: run.status === 'failed' ? 'loss is NaN' : 'trained 10 epochs',
    step: records,
    epoch: 10,
    finalDistances: names.map((_, i) => dist(10, i)),
    testAccuracy,
    lagging: [],
    seconds: 60,
  });
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}

/** The comparison of these runs and their thinned curves: what the host sends the tab. */
export function fixtureComparison(
  runs: FixtureRun[],
  layers = 3,
  records = 50,
): { model: ComparisonModel; curves: RunCurves[]; inputs: RunInput[] } {
  const inputs = runs.map((run, k) => {
    const runId = `run-${k + 1}-lr-${run.lr}`;
    return { folder: `/runs/${runId}`, log: parseRunLog(runLogText(runId, run, layers, records)) };
  });
  const model = buildComparison(inputs);
  return { model, curves: model.rows.map((r, i) => runCurves(r.runId, inputs[i].log)), inputs };
}

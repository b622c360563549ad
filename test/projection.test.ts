// Where layers are on course to end, and which lag: the analysis behind the editor's warnings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyRunLog, type RunLog } from '../src/runlog/read';
import type { RotationEvent, RunStarted } from '../src/runlog/events';
import { laggingLayers, laggingMessage } from '../src/runlog/lagging';
import { layerCourses, learningRateIntegral, recentRate } from '../src/runlog/projection';

/** Records every 0.1 epoch up to `until`, layer l moving at rates[l] per epoch. */
function linearRecords(rates: number[], until: number): RotationEvent[] {
  const out: RotationEvent[] = [];
  for (let k = 0; k <= Math.round(until * 10); k++) {
    const epoch = k / 10;
    out.push({
      v: 1,
      time: k,
      type: 'rotation',
      step: k,
      epoch,
      distances: rates.map((r) => r * epoch),
      rotation: rates.map(() => 0),
      steps: 1,
    });
  }
  return out;
}

function started(layers: string[], epochs: number, schedule?: RunStarted['schedule']): RunStarted {
  return {
    v: 1,
    time: 0,
    type: 'run_started',
    runId: 'r',
    name: 'r',
    engine: 'tfjs',
    backend: 'wasm',
    dataset: { name: 'synthetic', train: 1, validation: 0, test: 1, inputShape: [1], classes: 2 },
    layers: layers.map((name, i) => ({
      name,
      kind: 'dense',
      shape: [1, 1],
      params: 2,
      configPath: ['model', 'hidden', i],
    })),
    epochs,
    stepsPerEpoch: 10,
    batchSize: 1,
    totalSteps: 10 * epochs,
    target: 1,
    lagMargin: 0.2,
    schedule,
  };
}

describe('projection', () => {
  it('recentRate is the slope over about the last epoch', () => {
    const recs = linearRecords([0.3, 0.05], 2);
    assert.ok(Math.abs((recentRate(recs, 0) ?? 0) - 0.3) < 1e-9);
    assert.ok(Math.abs((recentRate(recs, 1) ?? 0) - 0.05) < 1e-9);
    assert.equal(recentRate(recs.slice(0, 1), 0), null);
  });

  it('with a constant rate, a layer is projected linearly to the last epoch', () => {
    const courses = layerCourses(linearRecords([0.3, 0.05], 2), 2, 4);
    assert.ok(Math.abs((courses[0].projected ?? 0) - 1.2) < 1e-9);
    assert.ok(Math.abs((courses[1].projected ?? 0) - 0.2) < 1e-9);
    assert.ok(Math.abs((courses[0].now ?? 0) - 0.6) < 1e-9);
  });

  it('the remaining learning-rate schedule scales the projection (a decay x0.1 halfway slows the rest)', () => {
    const schedule = { learningRate: 0.1, decay: { factor: 0.1, epochs: [3] }, warmupEpochs: 0 };
    assert.ok(Math.abs(learningRateIntegral(schedule, 2, 4) - (0.1 + 0.01)) < 1e-3);
    const courses = layerCourses(linearRecords([0.3], 2), 1, 4, schedule);
    // now 0.6, then 1 epoch at the full rate (0.3) and 1 at a tenth (0.03)
    assert.ok(Math.abs((courses[0].projected ?? 0) - 0.93) < 0.01, `${courses[0].projected}`);
  });

  it('projections stay within [0, 2]', () => {
    const courses = layerCourses(linearRecords([1.5], 1), 1, 10);
    assert.equal(courses[0].projected, 2);
  });
});

describe('lagging layers', () => {
  it('while running: the layers on course to end below target - margin', () => {
    const log: RunLog = emptyRunLog();
    log.started = started(['dense1', 'dense2', 'output'], 4);
    log.rotations = linearRecords([0.3, 0.1, 0.25], 2);
    const lag = laggingLayers(log, 1, 0.2);
    assert.deepEqual(
      lag.map((l) => l.name),
      ['dense2'],
    );
    assert.equal(lag[0].finished, false);
    assert.deepEqual(lag[0].configPath, ['model', 'hidden', 1]);
    assert.match(
      laggingMessage(lag[0], 1, 0.2),
      /^Layer 'dense2' is on course to end at cosine distance 0\.40, below the target 1 by more than 0\.2/,
    );
  });

  it('when finished: the final distances; too early: nothing', () => {
    const log: RunLog = emptyRunLog();
    log.started = started(['dense1', 'output'], 1);
    log.rotations = linearRecords([0.3, 0.1], 0.1);
    assert.deepEqual(laggingLayers(log, 1, 0.2), []);
    log.finished = {
      v: 1,
      time: 1,
      type: 'run_finished',
      status: 'completed',
      reason: '',
      step: 10,
      epoch: 1,
      finalDistances: [0.95, 0.5],
      testLoss: 0.1,
      testAccuracy: 0.9,
      lagging: [],
      seconds: 1,
    };
    const lag = laggingLayers(log, 1, 0.2);
    assert.deepEqual(
      lag.map((l) => [l.name, l.value, l.finished]),
      [['output', 0.5, true]],
    );
    assert.match(laggingMessage(lag[0], 1, 0.2), /^Layer 'output' ended at cosine distance 0\.50/);
    assert.deepEqual(laggingLayers(log, 0.5, 0.2), []);
  });
});

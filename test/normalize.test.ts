// Every event is normalized once, where the host reads it (runlog/normalize.ts): required fields
// checked, absent optional fields given null or the documented defaults, non-finite numbers null.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRunEvent, normalizeEvent } from '../src/runlog/normalize';
import { parseRunLog } from '../src/runlog/read';
import type { RunEvent } from '../src/runlog/events';

function read(value: unknown): RunEvent {
  const r = normalizeEvent(value);
  assert.ok(r.ok, r.ok ? '' : r.problem);
  assert.ok(isRunEvent(r.event), `normalized but not a RunEvent: ${JSON.stringify(r.event)}`);
  return r.event;
}

function problem(value: unknown): string {
  const r = normalizeEvent(value);
  assert.ok(!r.ok, `accepted ${JSON.stringify(value)}`);
  return r.problem;
}

describe('normalizeEvent', () => {
  it('fills a minimal run_started from another program with the documented defaults', () => {
    const e = read({ v: 1, type: 'run_started', layers: [{ name: 'fc1' }, {}] });
    assert.deepEqual(e, {
      v: 1,
      time: null,
      type: 'run_started',
      runId: '',
      name: '',
      engine: '',
      backend: '',
      dataset: { name: '', train: null, validation: null, test: null, inputShape: [], classes: null },
      layers: [
        { name: 'fc1', kind: '?', shape: [], params: null },
        { name: 'layer 2', kind: '?', shape: [], params: null },
      ],
      epochs: 1,
      stepsPerEpoch: 1,
      batchSize: null,
      totalSteps: 1,
      target: 1,
      lagMargin: 0.2,
      fitAccuracy: 0.99,
    });
    // No configFile: an outside run (the key stays absent, not null).
    assert.equal('configFile' in e, false);
  });

  it('keeps a full run_started as written, and drops unknown fields', () => {
    const full = {
      v: 1,
      time: 1732780000000,
      type: 'run_started',
      runId: 'r1',
      name: 'mnist',
      configFile: '/a/b.layerrot.json',
      engine: 'tfjs',
      backend: 'wasm',
      backendDescription: 'wasm (SIMD)',
      dataset: { name: 'mnist', train: 54000, validation: 6000, test: 10000, inputShape: [784], classes: 10 },
      model: 'mlp',
      optimizer: 'sgd',
      layers: [{ name: 'dense1', kind: 'dense', shape: [784, 10], params: 7850, configPath: ['model', 'hidden', 0] }],
      epochs: 3,
      stepsPerEpoch: 422,
      batchSize: 128,
      totalSteps: 1266,
      target: 1,
      lagMargin: 0.3,
      fitAccuracy: 0.9,
      stopping: { lossBelow: 0.001, chance: { epochs: 1, margin: 0.05 } },
      seed: 7,
      schedule: {
        learningRate: 0.1,
        decay: { factor: 0.2, epochs: [2] },
        warmupEpochs: 0,
        layca: true,
        multipliers: [1],
      },
    };
    assert.deepEqual(read({ ...full, mine: 'extra' }), full);
  });

  it('defaults totalSteps to epochs x stepsPerEpoch, and ignores a schedule without a positive rate', () => {
    const e = read({
      v: 1,
      type: 'run_started',
      layers: [],
      epochs: 4,
      stepsPerEpoch: 10,
      schedule: { learningRate: 0 },
    });
    assert.equal(e.type === 'run_started' && e.totalSteps, 40);
    assert.equal(e.type === 'run_started' && e.schedule, undefined);
  });

  it('turns null, NaN, Infinity and strings in numeric fields into null', () => {
    const e = read({
      v: 1,
      time: 5,
      type: 'epoch_end',
      epoch: 2,
      step: '10',
      loss: null,
      accuracy: Number.NaN,
      valLoss: Number.POSITIVE_INFINITY,
      seconds: 3,
    });
    assert.deepEqual(e, {
      v: 1,
      time: 5,
      type: 'epoch_end',
      epoch: 2,
      step: null,
      loss: null,
      accuracy: null,
      valLoss: null,
      valAccuracy: null,
      seconds: 3,
      samplesPerSecond: null,
    });
    const r = read({ v: 1, type: 'rotation', step: 3, epoch: 0.5, distances: [0.1, null, 'x', Number.NaN] });
    assert.deepEqual(r, {
      v: 1,
      time: null,
      type: 'rotation',
      step: 3,
      epoch: 0.5,
      distances: [0.1, null, null, null],
      rotation: [],
      steps: 0,
    });
  });

  it('reads an unknown run_finished status as failed, saying which it was', () => {
    const e = read({ v: 1, type: 'run_finished', status: 'oom', reason: 'killed' });
    assert.deepEqual(e, {
      v: 1,
      time: null,
      type: 'run_finished',
      status: 'failed',
      reason: 'status "oom": killed',
      step: null,
      epoch: null,
      finalDistances: [],
      testLoss: null,
      testAccuracy: null,
      trainLoss: null,
      trainAccuracy: null,
      lagging: [],
      seconds: null,
    });
    const done = read({ v: 1, type: 'run_finished', status: 'stopped', lagging: [{ name: 'a', distance: null }, 3] });
    assert.equal(done.type === 'run_finished' && done.status, 'stopped');
    assert.deepEqual(done.type === 'run_finished' && done.lagging, [{ name: 'a', distance: null }]);
  });

  it('reads a log level it does not know as info', () => {
    assert.deepEqual(read({ v: 1, time: 1, type: 'log', level: 'debug', message: 'hi' }), {
      v: 1,
      time: 1,
      type: 'log',
      level: 'info',
      message: 'hi',
    });
  });

  it('rejects what it cannot use, with the reason', () => {
    assert.equal(problem(null), 'not a JSON object');
    assert.equal(problem([1]), 'not a JSON object');
    assert.equal(problem({ type: 'rotation' }), 'no format version "v"');
    assert.equal(problem({ v: '1', type: 'rotation' }), 'no format version "v"');
    assert.equal(problem({ v: 1, type: 'bogus' }), 'unknown event type "bogus"');
    assert.equal(problem({ v: 1, type: 'run_started' }), 'run_started without "layers"');
    assert.equal(problem({ v: 1, type: 'run_started', layers: {} }), 'run_started without "layers"');
    assert.match(problem({ v: 1, type: 'rotation', step: 1, epoch: 0.1 }), /"distances"/);
    assert.match(problem({ v: 1, type: 'rotation', step: 'a', epoch: 0.1, distances: [] }), /numeric "step"/);
    assert.match(problem({ v: 1, type: 'rotation', step: 1, epoch: null, distances: [] }), /"epoch"/);
    assert.match(problem({ v: 1, type: 'batch', step: 1 }), /"epoch"/);
    assert.match(problem({ v: 1, type: 'epoch_end', epoch: 'x' }), /"epoch"/);
    assert.match(problem({ v: 1, type: 'run_finished', status: 3 }), /"status"/);
    assert.match(problem({ v: 1, type: 'log', level: 'warning' }), /"message"/);
  });
});

describe('isRunEvent (what the webview accepts)', () => {
  it('accepts normalized events only', () => {
    assert.ok(isRunEvent(read({ v: 1, type: 'batch', step: 1, epoch: 0.1, loss: 0.5 })));
    for (const raw of [
      { v: 1, type: 'rotation', step: 1, epoch: 0.1, distances: [0.1] }, // no rotation, steps
      { v: 1, type: 'batch', step: 1, epoch: 0.1, loss: 0.5 }, // no time: absent, not null
      { v: 1, time: 1, type: 'run_finished', status: 'oom', reason: '', finalDistances: [], lagging: [] },
      { v: 1, time: 1, type: 'log', level: 'debug', message: 'x' },
      { v: 1, time: 1, type: 'run_started', layers: [] },
    ])
      assert.equal(isRunEvent(raw), false, JSON.stringify(raw));
  });
});

it('parseRunLog keeps normalized events, and skips lines it cannot use with their numbers', () => {
  const text = [
    '{"v":1,"type":"run_started","layers":[{"name":"a"}]}',
    '{"v":1,"type":"rotation","step":0,"epoch":0,"distances":[null]}',
    'not json',
    '{"v":1,"type":"epoch_end"}',
    '{"v":1,"type":"run_finished","status":"completed"}',
    '',
  ].join('\n');
  const log = parseRunLog(text);
  assert.equal(log.started?.target, 1);
  assert.deepEqual(log.rotations[0].distances, [null]);
  assert.equal(log.finished?.seconds, null);
  assert.deepEqual(
    log.skipped.map((s) => s.line),
    [3, 4],
  );
});

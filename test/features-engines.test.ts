// Both engines write the same features events for the same config: the same fields, in the same
// order, the same steps, layer, image, units and sizes (their weights differ: each engine draws
// its own initial kernels). Each log reads in the other engine's reader without a skipped line.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseConfigText } from '../src/engine/config/validate';
import { train } from '../src/engine/trainer';
import { type NewEvent, stamp, toJsonLine } from '../src/runlog/events';
import { parseRunLog, readRunLog } from '../src/runlog/read';
import { pytorchTestOptions, requireTorch, runPython } from './helpers/python';
import { strictEvents, tempDir, writeConfig } from './helpers/runs';

const MINUTE = 60_000;

function config(name: string, inputShape: number[], model: object, samples: number, batchSize: number) {
  return {
    name,
    seed: 4,
    dataset: { name: 'synthetic', samples, testSamples: 32, inputShape, classes: 4 },
    model,
    optimizer: { type: 'sgd', learningRate: 0.05 },
    schedule: { epochs: 2, batchSize },
  };
}

const CASES = [
  config('features-mlp', [28, 28, 1], { type: 'mlp', hidden: [80, 16] }, 400, 50),
  config(
    'features-vgg',
    [8, 8, 3],
    { type: 'vgg', filters: [6, 8], convsPerStage: [1, 1], dense: [], batchNorm: false },
    64,
    16,
  ),
];

/** What must agree: the keys in order, and every field but the weights; of those, their sizes. */
function shapeOf(e: Record<string, any>) {
  const { v, time, scales, data, ...rest } = e;
  return { keys: Object.keys(e), ...rest, scales: scales.length, data: data.length };
}

for (const c of CASES) {
  test(`tfjs and PyTorch write the same features events: ${c.name}`, pytorchTestOptions(4 * MINUTE), async () => {
    requireTorch();
    const dir = tempDir(c.name);
    const file = writeConfig(dir, c.name, c);
    const checked = parseConfigText(fs.readFileSync(file, 'utf8'), file);
    assert.ok(checked.ok);
    const lines: string[] = [];
    const fin = await train({
      config: checked.config,
      configFile: file,
      runId: c.name,
      backend: 'cpu',
      emit: (e: NewEvent) => lines.push(toJsonLine(stamp(e))),
    });
    assert.equal(fin.status, 'completed', fin.reason);
    const tfjs = lines.map((l) => JSON.parse(l)).filter((e) => e.type === 'features');

    const runDir = path.join(dir, 'torch');
    const r = await runPython(
      ['-m', 'layer_rotation', 'train', file, '--run-dir', runDir, '--device', 'cpu', '--threads', '1', '--quiet'],
      { timeoutMs: 3 * MINUTE },
    );
    assert.equal(r.code, 0, r.stderr);
    const torch = strictEvents(runDir).filter((e) => e.type === 'features');

    assert.equal(tfjs.length, 3); // step 0 and the 2 epoch ends
    assert.deepEqual(torch.map(shapeOf), tfjs.map(shapeOf));
    // The TS reader reads the PyTorch log whole, and keeps its first and last snapshots.
    const torchLog = readRunLog(path.join(runDir, 'events.jsonl'));
    assert.deepEqual(torchLog.skipped, []);
    assert.equal(torchLog.features?.first.step, 0);
    assert.equal(torchLog.features?.last.step, torch[2].step);
    assert.deepEqual(parseRunLog(lines.join('')).skipped, []);
    // The Python reader reads the tfjs log whole.
    const tfjsFile = path.join(dir, 'tfjs-events.jsonl');
    fs.writeFileSync(tfjsFile, lines.join(''));
    const py = await runPython(
      [
        '-c',
        'import sys, json; from layer_rotation.report import read_run_log; l = read_run_log(sys.argv[1]); ' +
          'print(json.dumps([l.skipped, [f["step"] for f in l.features]]))',
        tfjsFile,
      ],
      { timeoutMs: MINUTE },
    );
    assert.equal(py.code, 0, py.stderr);
    assert.deepEqual(JSON.parse(py.stdout), [[], [0, tfjs[2].step]]);
  });
}

test('monitoring.features false: neither engine writes a features event', pytorchTestOptions(3 * MINUTE), async () => {
  requireTorch();
  const c = {
    ...config('features-off', [28, 28, 1], { type: 'mlp', hidden: [16] }, 64, 32),
    schedule: { epochs: 1, batchSize: 32 },
    monitoring: { features: false },
  };
  const dir = tempDir(c.name);
  const file = writeConfig(dir, c.name, c);
  const checked = parseConfigText(fs.readFileSync(file, 'utf8'), file);
  assert.ok(checked.ok);
  assert.equal(checked.config.monitoring.features, false);
  const types: string[] = [];
  const fin = await train({
    config: checked.config,
    configFile: file,
    runId: c.name,
    backend: 'cpu',
    emit: (e: NewEvent) => types.push(e.type),
  });
  assert.equal(fin.status, 'completed', fin.reason);
  assert.ok(types.includes('rotation') && !types.includes('features'), types.join(' '));

  const runDir = path.join(dir, 'torch');
  const r = await runPython(
    ['-m', 'layer_rotation', 'train', file, '--run-dir', runDir, '--device', 'cpu', '--threads', '1', '--quiet'],
    { timeoutMs: 2 * MINUTE },
  );
  assert.equal(r.code, 0, r.stderr);
  const torch = strictEvents(runDir).map((e) => e.type);
  assert.ok(torch.includes('rotation') && !torch.includes('features'), torch.join(' '));
});

// The PyTorch engine from the command lines (issue 11, case 13): the synthetic config without a
// validation split that the tfjs engine trains, the PyTorch engine trains too (its empty validation
// split was reshaped to [0, -1], which torch refuses); and a run that fails before it starts (no
// run_started: a data, config or model failure) is told as failed, with why, by both command lines:
// no layer table of no layers, no verdict.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { pythonInterpreter, pytorchTestOptions, requireTorch, runPython } from './helpers/python';
import { onlyRun, runCli, strictEvents, tempDir, writeConfig } from './helpers/runs';

const MINUTE = 60_000;

/** The config: synthetic features, no validationSplit, an MLP [16, 16]. */
const NO_VALIDATION = {
  name: 'no-validation',
  seed: 1,
  dataset: { name: 'synthetic', samples: 512, testSamples: 128, inputShape: [8], classes: 3 },
  model: { type: 'mlp', hidden: [16, 16] },
  optimizer: { type: 'sgd', learningRate: 0.1 },
  schedule: { epochs: 1, batchSize: 32 },
};

test(
  'a synthetic config without a validation split trains in both engines, from the CLI',
  pytorchTestOptions(3 * MINUTE),
  async () => {
    requireTorch();
    const dir = tempDir('noval');
    const file = writeConfig(dir, 'noval', NO_VALIDATION);
    for (const engine of ['tfjs', 'pytorch']) {
      const out = path.join(dir, engine);
      const r = await runCli(['train', file, '--out', out, '--engine', engine, '--python', pythonInterpreter()]);
      assert.equal(r.code, 0, r.stderr);
      const events = strictEvents(onlyRun(out));
      assert.equal(events[0].type, 'run_started');
      assert.deepEqual(events[0].dataset, {
        name: 'synthetic',
        train: 512,
        validation: 0,
        test: 128,
        inputShape: [8],
        classes: 3,
      });
      const fin = events[events.length - 1];
      assert.equal(fin.status, 'completed', `${engine}: ${fin.reason}`);
      assert.equal(fin.reason, 'trained 1 epoch');
      assert.equal(events.filter((e) => e.type === 'epoch_end').length, 1);
      assert.match(r.stdout, /^dense1 +dense +144 /m);
      assert.match(r.stdout, /^run completed: trained 1 epoch$/m);
    }
  },
);

/** What a run that failed before run_started must say on stdout: its status and reason, and no table. */
function assertToldFailed(stdout: string, reason: RegExp, what: string): void {
  assert.doesNotMatch(stdout, /^layer +kind +params/m, `${what}: a table of no layers:\n${stdout}`);
  assert.doesNotMatch(stdout, /verdict|lagging|layers lag/i, `${what}: ${stdout}`);
  const line = stdout.split('\n').find((l) => l.startsWith('run failed: '));
  assert.ok(line, `${what}: no "run failed: ..." line in\n${stdout}`);
  assert.match(line, reason, what);
}

test(
  'a run that fails before it starts says it failed and why, in both engines and both CLIs',
  pytorchTestOptions(3 * MINUTE),
  async () => {
    requireTorch();
    const dir = tempDir('failed-early');
    // Valid (check accepts it), but its data is not there: the run fails while loading.
    const file = writeConfig(dir, 'nodata', {
      ...NO_VALIDATION,
      dataset: { name: 'mnist', path: path.join(dir, 'none') },
    });
    const check = await runCli(['check', file]);
    assert.equal(check.code, 0, check.stdout);
    const missing = /^run failed: MNIST file not found: .*the folder .*none does not exist/;
    for (const engine of ['tfjs', 'pytorch']) {
      const out = path.join(dir, engine);
      const r = await runCli(['train', file, '--out', out, '--engine', engine, '--python', pythonInterpreter()]);
      assert.equal(r.code, 1, r.stderr);
      assertToldFailed(r.stdout, missing, `layer-rotation train --engine ${engine}`);
      assert.match(r.stderr, /training failed: MNIST file not found/);
      const events = strictEvents(onlyRun(out));
      assert.deepEqual(
        events.map((e) => e.type),
        ['run_finished'],
      );
    }
    // The PyTorch engine's own CLI says the same.
    const py = await runPython(['-m', 'layer_rotation', 'train', file, '--run-dir', path.join(dir, 'own')], {
      timeoutMs: MINUTE,
    });
    assert.equal(py.code, 1, py.stderr);
    assertToldFailed(py.stdout, missing, 'python -m layer_rotation train');
  },
);

// The PyTorch engine (python/layer_rotation) for real: its unit tests, one epoch of the default
// MNIST example, Layca and rotation against the TS implementation on the same numbers,
// torchrun with 2 processes, pip install, stopping (SIGINT, parent gone) and a missing dataset.
// The interpreter comes from test/helpers/python.ts; a missing torch fails these tests unless
// LAYER_ROTATION_SKIP_PYTORCH=1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { layerTable, readRunLog } from '../src/runlog/read';
import { kernelLayerNames, layerSourcePaths, loadConfigFile } from '../src/engine/config/validate';
import type { OptimizerSpec, OptimizerType } from '../src/engine/config/types';
import { createOptimizer } from '../src/engine/optim/optimizers';
import { learningRateAt } from '../src/runlog/schedule';
import { Rng } from '../src/engine/rng';
import { RotationMonitor } from '../src/engine/rotation';
import { EXAMPLES, ROOT, strictEvents, syntheticConfig, tempDir, writeConfig } from './helpers/runs';
import { PYTHON_DIR, pytorchTestOptions, requireTorch, runPython, waitForLine } from './helpers/python';

const MINUTE = 60_000;

/** A synthetic config for the PyTorch engine (no `backend`: that is the tfjs engine's option). */
function torchSynthetic(overrides: Record<string, any> = {}): Record<string, any> {
  const c = syntheticConfig(overrides);
  delete c.backend;
  return c;
}

// With the integrations' frameworks installed (python[test,tensorflow]: Keras on torch and on
// TensorFlow, Lightning with a 2-process DDP run, Transformers, TensorBoard) the suite takes about 4
// minutes of CPU here, much of it waiting on the child processes it starts (torchrun, the worked
// examples, the TensorFlow suite's subprocess); so it runs as three parts side by side, split by file
// name (Keras's two suites, about a minute of CPU, apart), every tests/test_*.py in exactly one part.
const PYTHON_SUITE_PARTS = ['test_[a-j]*.py', 'test_k*.py', 'test_[l-z]*.py'];

test('the Python unit tests pass (python -m unittest discover)', pytorchTestOptions(10 * MINUTE), async () => {
  requireTorch();
  const files = fs.readdirSync(path.join(PYTHON_DIR, 'tests')).filter((f) => /^test_.*\.py$/.test(f));
  assert.ok(files.length >= 10, `tests/test_*.py: ${files.join(', ')}`);
  for (const f of files) assert.match(f, /^test_[a-z]/, `${f} is in no part of the suite (${PYTHON_SUITE_PARTS})`);
  const parts = await Promise.all(
    PYTHON_SUITE_PARTS.map((pattern) =>
      runPython(['-m', 'unittest', 'discover', '-s', 'tests', '-p', pattern, '-v'], {
        cwd: PYTHON_DIR,
        timeoutMs: 10 * MINUTE,
      }),
    ),
  );
  for (const [i, r] of parts.entries()) {
    const part = `the part ${PYTHON_SUITE_PARTS[i]}`;
    assert.equal(r.code, 0, `${part}:\n${r.stderr}`);
    assert.match(r.stderr, /Ran [1-9]\d* tests?/, part);
    assert.match(r.stderr, /\nOK/, part);
  }
});

test(
  'the PyTorch engine trains the default MNIST example (its 3 epochs) above 95% test accuracy',
  pytorchTestOptions(20 * MINUTE),
  async () => {
    requireTorch();
    const config = path.join(EXAMPLES, 'mnist-default.layerrot.json');
    const runDir = path.join(tempDir('torch-mnist'), 'run');
    const r = await runPython(['-m', 'layer_rotation', 'train', config, '--device', 'cpu', '--run-dir', runDir], {
      timeoutMs: 20 * MINUTE,
    });
    assert.equal(r.code, 0, r.stderr);
    const events = strictEvents(runDir);
    const log = readRunLog(path.join(runDir, 'events.jsonl'));
    assert.deepEqual(log.skipped, []);
    assert.equal(log.partialLastLine, false);
    assert.equal(events[0].type, 'run_started');
    assert.equal(events[events.length - 1].type, 'run_finished');
    const started = log.started!;
    assert.equal(started.engine, 'pytorch');
    assert.equal(started.backend, 'cpu');
    // The BLAS torch uses is named, and the reference BLAS (Debian's default) is warned about, once.
    const blas = await runPython(['-c', 'from layer_rotation.blas import blas_label; print(blas_label())'], {
      timeoutMs: MINUTE,
    });
    assert.equal(blas.code, 0, blas.stderr);
    const label = blas.stdout.trim();
    assert.equal(started.backendDescription, started.backendDescription?.replace(/cpu \(.*?\)/, `cpu (${label})`));
    assert.match(started.backendDescription ?? '', /^PyTorch \S+, cpu \([^)]+\), \d+ threads?$/);
    const blasWarnings = log.logs.filter((l) => /reference BLAS/.test(l.message));
    assert.equal(blasWarnings.length, label === 'reference BLAS' ? 1 : 0, label);
    if (blasWarnings.length) assert.match(blasWarnings[0].message, /apt install libopenblas0-openmp/);
    // The same kernel layers as the TS engine builds for this config.
    const checked = loadConfigFile(config);
    assert.ok(checked.ok);
    const model = checked.config.model;
    assert.deepEqual(
      started.layers.map((l) => l.name),
      kernelLayerNames(model),
    );
    assert.deepEqual(
      started.layers.map((l) => l.configPath),
      layerSourcePaths(model),
    );
    assert.deepEqual(started.layers[0].shape, [784, 256]);
    assert.equal(started.layers[0].params, 784 * 256 + 256);
    assert.equal(started.dataset.train! + started.dataset.validation!, 60000);
    assert.equal(started.dataset.test, 10000);
    assert.equal(started.stepsPerEpoch, Math.ceil(54000 / 128));
    assert.deepEqual(started.schedule?.multipliers, [1, 1, 1, 1, 1, 1]);
    // Rotation records: step 0, 20 an epoch, increasing in step, growing distances.
    assert.ok(log.rotations.length >= 60, `${log.rotations.length} rotation records`);
    assert.deepEqual(log.rotations[0].distances, [0, 0, 0, 0, 0, 0]);
    for (let i = 1; i < log.rotations.length; i++) assert.ok(log.rotations[i].step > log.rotations[i - 1].step);
    const last = log.rotations[log.rotations.length - 1];
    assert.equal(last.epoch, 3);
    assert.ok(
      last.distances.every((d) => d !== null && d > 0.1 && d < 2),
      `distances ${last.distances}`,
    );
    // Layca with SGD at rate r (0.01, x0.2 from epoch 2) turns each layer by atan(r) a step: at most
    // steps x atan(r) between records (exactly that only if the steps all went the same way), and
    // clearly more than 0.
    const schedule = checked.config.schedule;
    for (const rec of log.rotations.slice(1)) {
      let angle = 0; // the most the steps since the previous record can turn a layer
      for (let step = rec.step - rec.steps; step < rec.step; step++)
        angle += Math.atan(learningRateAt(0.01, schedule, step / started.stepsPerEpoch));
      const most = Math.tan(angle);
      for (const t of rec.rotation)
        assert.ok(
          t !== null && t > 0.2 * most && t <= most * (1 + 1e-3),
          `record at step ${rec.step}: rotation ${rec.rotation}, at most ${most}`,
        );
    }
    assert.ok(log.batches.length > 60 && log.batches.every((b) => b.loss !== null && b.loss > 0));
    assert.deepEqual([...new Set(log.batches.map((b) => b.learningRate))], [0.01, 0.01 * 0.2]);
    assert.equal(log.epochs.length, 3);
    for (const epoch of log.epochs) {
      assert.ok(epoch.valAccuracy !== null && epoch.valAccuracy > 0.9, `val accuracy ${epoch.valAccuracy}`);
      assert.ok(epoch.samplesPerSecond! > 0);
    }
    const finished = log.finished!;
    console.log(
      `pytorch engine, mnist-default, 3 epochs: ${log.epochs.map((e) => e.samplesPerSecond?.toFixed(0)).join(', ')} samples/s, ${finished.seconds?.toFixed(1)} s, test accuracy ${finished.testAccuracy}`,
    );
    assert.equal(finished.status, 'completed');
    assert.equal(finished.reason, 'trained 3 epochs');
    // One epoch alone is not enough for this example (about 93% in both engines: Layca at 0.01
    // turns fast and only settles after the decay at epoch 2); its own 3 epochs are.
    assert.ok(finished.testAccuracy! > 0.95, `test accuracy ${finished.testAccuracy}`);
    assert.deepEqual(finished.finalDistances, last.distances);
    const table = layerTable(log);
    assert.deepEqual(
      table.map((row) => row.name),
      kernelLayerNames(model),
    );
    assert.ok(table.every((row) => row.distance !== null && row.distance > 0));
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
    assert.equal(summary.runId, 'run');
    assert.equal(summary.name, 'mnist-default');
    assert.equal(summary.status, 'completed');
    assert.equal(summary.backend, 'cpu');
    assert.equal(summary.configFile, config);
    assert.equal(summary.step, 3 * started.stepsPerEpoch);
    assert.equal(summary.testAccuracy, finished.testAccuracy);
    assert.equal(summary.target, 1);
    assert.deepEqual(
      summary.layers.map((l: any) => l.name),
      kernelLayerNames(model),
    );
    assert.deepEqual(
      summary.layers.map((l: any) => l.finalDistance),
      finished.finalDistances,
    );
    assert.deepEqual(
      summary.lagging,
      finished.lagging.map((l) => l.name),
    );
    assert.ok(fs.existsSync(path.join(runDir, 'config.layerrot.json')));
  },
);

test(
  'Layca and rotation agree between the TS and the Python engines on the same numbers',
  pytorchTestOptions(2 * MINUTE),
  async () => {
    requireTorch();
    await tf.setBackend('cpu');
    const rng = new Rng(2024);
    const shape = [12, 7];
    const size = 12 * 7;
    const f32 = (n: number, scale: number) => Array.from({ length: n }, () => Math.fround(rng.normal() * scale));
    const steps = 10;
    const input = {
      kernelShape: shape,
      kernel: f32(size, 0.3),
      bias: f32(7, 0.1),
      grads: Array.from({ length: steps }, () => ({ kernel: f32(size, 0.5), bias: f32(7, 0.5) })),
      lr: 0.05,
      multiplier: 0.5,
      weightDecay: 0.01,
      optimizers: [
        { name: 'sgd-nesterov', type: 'sgd', momentum: 0.9, nesterov: true },
        { name: 'sgd', type: 'sgd' },
        { name: 'adam', type: 'adam', beta1: 0.8, beta2: 0.99 },
        { name: 'rmsprop', type: 'rmsprop', rho: 0.9 },
        { name: 'adagrad', type: 'adagrad', initialAccumulatorValue: 0.1 },
      ],
    };
    const file = path.join(tempDir('torch-cross'), 'input.json');
    fs.writeFileSync(file, JSON.stringify(input));
    const r = await runPython([path.join(PYTHON_DIR, 'tests', 'crosscheck_layca.py'), file], { timeoutMs: MINUTE });
    assert.equal(r.code, 0, r.stderr);
    const py = JSON.parse(r.stdout);

    for (const spec of input.optimizers) {
      const full: OptimizerSpec = {
        layca: true,
        learningRate: input.lr,
        momentum: 0,
        nesterov: false,
        beta1: 0.9,
        beta2: 0.999,
        rho: 0.9,
        initialAccumulatorValue: 0.1,
        epsilon: 1e-8,
        weightDecay: input.weightDecay,
        alpha: 0,
        ...(spec as Partial<OptimizerSpec>),
        type: spec.type as OptimizerType,
      };
      const kernel = tf.variable(tf.tensor(input.kernel, shape), true, `cross-${spec.name}-kernel`);
      const bias = tf.variable(tf.tensor(input.bias), true, `cross-${spec.name}-bias`);
      const optimizer = createOptimizer(full, [
        { params: [kernel], lrMultiplier: input.multiplier, weightDecay: input.weightDecay, layca: true },
        { params: [bias], lrMultiplier: input.multiplier, weightDecay: 0, layca: false },
      ]);
      const monitor = new RotationMonitor([kernel]);
      const records = [];
      for (const g of input.grads) {
        const grads = { [kernel.name]: tf.tensor(g.kernel, shape), [bias.name]: tf.tensor(g.bias) };
        optimizer.step(grads, input.lr);
        Object.values(grads).forEach((t) => t.dispose());
        records.push(monitor.record());
      }
      const tsKernel = Array.from(kernel.dataSync());
      const tsBias = Array.from(bias.dataSync());
      const mine = py[spec.name];
      // Both engines compute in float32; the sums (norms, dot products) add in different orders, a
      // relative error of ~1e-7 per step that the renormalization does not let grow. 1e-5 of the
      // largest weight after 10 steps leaves a 20x margin over what we see (at most 5e-7), and is far below a
      // real difference (one step of rate 0.025 moves weights by ~2.5% of their norm).
      const maxAbs = (a: number[]) => Math.max(...a.map(Math.abs));
      const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
      assert.ok(
        maxDiff(tsKernel, mine.kernel) <= 1e-5 * maxAbs(tsKernel),
        `${spec.name}: kernel differs by ${maxDiff(tsKernel, mine.kernel)}`,
      );
      assert.ok(
        maxDiff(tsBias, mine.bias) <= 1e-5 * maxAbs(tsBias),
        `${spec.name}: bias differs by ${maxDiff(tsBias, mine.bias)}`,
      );
      // And the kernels did move: each step turned them by atan(lr x multiplier).
      assert.ok(maxDiff(tsKernel, input.kernel) > 0.05 * maxAbs(tsKernel));
      records.forEach((rec, i) => {
        const theirs = mine.records[i];
        assert.ok(
          Math.abs(rec.distances[0] - theirs.distances[0]) <= 1e-6,
          `${spec.name} step ${i + 1}: distances ${rec.distances} vs ${theirs.distances}`,
        );
        assert.ok(
          Math.abs(rec.rotation[0] - theirs.rotation[0]) <= 1e-5,
          `${spec.name} step ${i + 1}: rotation ${rec.rotation} vs ${theirs.rotation}`,
        );
        assert.ok(
          Math.abs(rec.rotation[0] - input.lr * input.multiplier) < 1e-4,
          `${spec.name}: turned tan ${rec.rotation[0]}`,
        );
      });
      // Random gradients do not all go the same way: after 10 steps of atan(0.025) the kernel is at
      // most 10 x atan(0.025) from where it started.
      const final = records[steps - 1].distances[0];
      assert.ok(final > 0 && final <= 1 - Math.cos(steps * Math.atan(0.025)) + 1e-6, `${spec.name}: distance ${final}`);
      console.log(
        `${spec.name}: max |w_ts - w_py| = ${(maxDiff(tsKernel, mine.kernel) / maxAbs(tsKernel)).toExponential(2)} of max |w|, ` +
          `distances differ by ${Math.max(...records.map((rec, i) => Math.abs(rec.distances[0] - mine.records[i].distances[0]))).toExponential(2)}`,
      );
      monitor.dispose();
      optimizer.dispose();
      kernel.dispose();
      bias.dispose();
    }
  },
);

test(
  'torchrun with 2 processes (gloo) writes one log, equal to the one-process run',
  pytorchTestOptions(4 * MINUTE),
  async () => {
    requireTorch();
    const dir = tempDir('torch-ddp');
    const file = writeConfig(
      dir,
      'ddp',
      torchSynthetic({
        name: 'ddp',
        optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9, layca: true },
        schedule: { epochs: 3, batchSize: 32 },
        monitoring: { everySteps: 5 },
      }),
    );
    const args = ['train', file, '--max-steps', '50', '--device', 'cpu'];
    // --redirects 1 --tee 1: torch 1.13's torchrun on Python 3.11 cannot parse the default "0" (an
    // IntFlag change); stdout goes to a log file and the console, stderr is inherited.
    const ddp = await runPython(
      [
        '-m',
        'torch.distributed.run',
        '--standalone',
        '--nproc_per_node',
        '2',
        '--redirects',
        '1',
        '--tee',
        '1',
        '-m',
        'layer_rotation',
        ...args,
        '--run-dir',
        path.join(dir, 'ddp'),
      ],
      { timeoutMs: 3 * MINUTE },
    );
    assert.equal(ddp.code, 0, ddp.stderr);
    const one = await runPython(['-m', 'layer_rotation', ...args, '--run-dir', path.join(dir, 'one')], {
      timeoutMs: MINUTE,
    });
    assert.equal(one.code, 0, one.stderr);
    const events = strictEvents(path.join(dir, 'ddp'));
    assert.equal(events.filter((e) => e.type === 'run_started').length, 1);
    assert.equal(events.filter((e) => e.type === 'run_finished').length, 1);
    assert.equal(events[0].type, 'run_started');
    assert.equal(events[events.length - 1].type, 'run_finished');
    assert.match(events[0].backendDescription, /, 2 processes \(gloo\)$/);
    const steps = events.filter((e) => e.type === 'rotation').map((e) => e.step);
    assert.deepEqual(
      steps,
      [...new Set(steps)].sort((a, b) => a - b),
    );
    const single = strictEvents(path.join(dir, 'one'));
    assert.deepEqual(
      steps,
      single.filter((e) => e.type === 'rotation').map((e) => e.step),
    );
    assert.equal(single[0].stepsPerEpoch, events[0].stepsPerEpoch);
    const a = events[events.length - 1];
    const b = single[single.length - 1];
    assert.equal(a.status, 'completed');
    assert.equal(a.step, 50);
    // Same global batches, gradients averaged over the ranks: the same run up to float rounding.
    a.finalDistances.forEach((d: number, i: number) => {
      assert.ok(d > 0 && d < 2);
      assert.ok(Math.abs(d - b.finalDistances[i]) < 1e-4, `distances ${a.finalDistances} vs ${b.finalDistances}`);
    });
    assert.ok(Math.abs(a.testLoss - b.testLoss) < 1e-3, `test loss ${a.testLoss} vs ${b.testLoss}`);
    const batches = events.filter((e) => e.type === 'batch');
    assert.ok(batches[batches.length - 1].loss < batches[0].loss, 'the loss decreases');
    assert.equal(
      fs
        .readdirSync(dir)
        .filter((f) => f !== 'ddp.layerrot.json')
        .sort()
        .join(','),
      'ddp,one',
    );
  },
);

test('pip install of python/ works, and the installed package imports', pytorchTestOptions(3 * MINUTE), async () => {
  requireTorch();
  const dir = tempDir('torch-pip');
  // Install from a copy, so that the build leaves nothing in the repository.
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  for (const f of ['pyproject.toml', 'README.md']) fs.copyFileSync(path.join(PYTHON_DIR, f), path.join(src, f));
  fs.cpSync(path.join(PYTHON_DIR, 'layer_rotation'), path.join(src, 'layer_rotation'), {
    recursive: true,
    filter: (p) => !p.includes('__pycache__'),
  });
  const target = path.join(dir, 'site');
  const r = await runPython(
    ['-m', 'pip', 'install', '--no-build-isolation', '--no-deps', '--no-index', '--target', target, src],
    { timeoutMs: 3 * MINUTE, env: { PIP_DISABLE_PIP_VERSION_CHECK: '1' } },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const check = await runPython(
    [
      '-c',
      'import layer_rotation, json; print(json.dumps([layer_rotation.__file__, layer_rotation.__version__, hasattr(layer_rotation, "LaycaSGD")]))',
    ],
    {
      cwd: dir,
      env: { PYTHONPATH: target },
    },
  );
  assert.equal(check.code, 0, check.stderr);
  const [where, version, hasLayca] = JSON.parse(check.stdout);
  assert.ok(where.startsWith(target), where);
  assert.equal(version, '0.1.0');
  assert.equal(hasLayca, true);
  assert.ok(fs.existsSync(path.join(target, 'bin', 'layer-rotation-torch')));
  const probe = await runPython(['-m', 'layer_rotation', 'probe'], { cwd: dir, env: { PYTHONPATH: target } });
  assert.equal(probe.code, 0, probe.stderr);
  const info = JSON.parse(probe.stdout);
  assert.match(info.torch, /^\d+\.\d+/);
  assert.equal(typeof info.cuda, 'boolean');
});

test('SIGINT stops a run cleanly: exit 0, run_finished stopped', pytorchTestOptions(2 * MINUTE), async () => {
  requireTorch();
  const dir = tempDir('torch-sigint');
  const file = writeConfig(dir, 'long', torchSynthetic({ schedule: { epochs: 500, batchSize: 32 } }));
  const runDir = path.join(dir, 'run');
  let signalled = 0;
  const result = await runPython(['-m', 'layer_rotation', 'train', file, '--run-dir', runDir, '--device', 'cpu'], {
    timeoutMs: MINUTE,
    onStart: (child) => {
      waitForLine(path.join(runDir, 'events.jsonl'), (e) => e.type === 'rotation' && e.step > 0, 45_000).then(
        () => {
          signalled = Date.now();
          child.kill('SIGINT');
        },
        () => child.kill('SIGKILL'),
      );
    },
  });
  assert.ok(signalled > 0, result.stderr);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(Date.now() - signalled < 10_000, 'exits within seconds');
  const events = strictEvents(runDir);
  const fin = events[events.length - 1];
  assert.equal(fin.type, 'run_finished');
  assert.equal(fin.status, 'stopped');
  assert.match(fin.reason, /^stopped on request at step \d+$/);
  assert.ok(fin.step > 0 && fin.step < 500 * 34);
  assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')).status, 'stopped');
});

test('--parent-pid: the run stops when that process goes away', pytorchTestOptions(2 * MINUTE), async () => {
  requireTorch();
  const dir = tempDir('torch-parent');
  const file = writeConfig(dir, 'long', torchSynthetic({ schedule: { epochs: 500, batchSize: 32 } }));
  const runDir = path.join(dir, 'run');
  const parent = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  const parentGone = new Promise((resolve) => parent.on('exit', resolve));
  const result = await runPython(
    ['-m', 'layer_rotation', 'train', file, '--run-dir', runDir, '--device', 'cpu', '--parent-pid', String(parent.pid)],
    {
      timeoutMs: MINUTE,
      onStart: () => {
        waitForLine(path.join(runDir, 'events.jsonl'), (e) => e.type === 'rotation' && e.step > 0, 45_000).then(
          () => parent.kill('SIGKILL'),
          () => parent.kill('SIGKILL'),
        );
      },
    },
  );
  await parentGone;
  assert.equal(result.code, 0, result.stderr);
  const events = strictEvents(runDir);
  const fin = events[events.length - 1];
  assert.equal(fin.status, 'stopped');
  assert.match(fin.reason, /^stopped: the process that started the run went away at step \d+$/);
});

test('a missing MNIST folder fails the run with a reason naming the folder', pytorchTestOptions(MINUTE), async () => {
  requireTorch();
  const runDir = path.join(tempDir('torch-nomnist'), 'run');
  const r = await runPython(
    [
      '-m',
      'layer_rotation',
      'train',
      path.join(EXAMPLES, 'mnist-default.layerrot.json'),
      '--run-dir',
      runDir,
      '--mnist-dir',
      '/nonexistent/mnist',
    ],
    { timeoutMs: MINUTE },
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\/nonexistent\/mnist/);
  const events = strictEvents(runDir);
  assert.equal(events.length, 1);
  assert.equal(events[0].type, 'run_finished');
  assert.equal(events[0].status, 'failed');
  assert.match(events[0].reason, /the folder \/nonexistent\/mnist does not exist/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')).status, 'failed');
});

test('a bad config fails with errors naming the field; check says the same', pytorchTestOptions(MINUTE), async () => {
  requireTorch();
  const dir = tempDir('torch-badconfig');
  const file = writeConfig(dir, 'bad', torchSynthetic({ dataset: { name: 'foo' } }));
  const check = await runPython(['-m', 'layer_rotation', 'check', file]);
  assert.equal(check.code, 1);
  // The TS validator's words (both engines read the enum from the schema).
  assert.match(check.stdout, /dataset\.name must be one of 'mnist', 'cifar10', 'synthetic', got 'foo'/);
  const r = await runPython(['-m', 'layer_rotation', 'train', file, '--run-dir', path.join(dir, 'run')]);
  assert.equal(r.code, 1);
  const events = strictEvents(path.join(dir, 'run'));
  assert.equal(events[events.length - 1].status, 'failed');
  assert.match(events[events.length - 1].reason, /dataset\.name must be one of .*got 'foo'/);
  const ok = await runPython(['-m', 'layer_rotation', 'check', path.join(EXAMPLES, 'mnist-default.layerrot.json')]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, /^ok$/m);
  assert.ok(ROOT);
});

// Models built from configs (MLP, VGG-style, ResNet v1), their initializers, the examples'
// CIFAR models, stopping criteria and the monitoring frequency, with real tfjs training.
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/engine/backend/select';
import type { ModelSpec, TrainingConfig } from '../src/engine/config/types';
import { kernelLayerNames, layerSourcePaths, loadConfigFile, parseConfigText } from '../src/engine/config/validate';
import type { NewEvent } from '../src/runlog/events';
import { registerGradients } from '../src/engine/gradients';
import { buildModel } from '../src/engine/models';
import { fans, initKernel } from '../src/engine/models/layers';
import { Rng } from '../src/engine/rng';
import { train } from '../src/engine/trainer';
import { writeCifarFolder } from './helpers/datafiles';
import { EXAMPLES, onlyRun, runCli, strictEvents, syntheticConfig, tempDir, writeConfig } from './helpers/runs';

before(async () => {
  registerGradients();
  await selectBackend('wasm');
});

function configOf(obj: object): TrainingConfig {
  const checked = parseConfigText(JSON.stringify(obj), 'test.layerrot.json');
  if (!checked.ok) throw new Error(checked.errors.map((e) => e.message).join('\n'));
  return checked.config;
}

function exampleModel(name: string): ModelSpec {
  const checked = loadConfigFile(path.join(EXAMPLES, name));
  assert.ok(checked.ok);
  return checked.config.model;
}

/** One SGD step on a random batch: the loss is finite and every kernel gets a gradient. */
function oneStep(spec: ModelSpec, inputShape: number[], batch: number): void {
  const model = buildModel(spec, inputShape, 10, 1);
  tf.tidy(() => {
    const x = tf.randomNormal([batch, ...inputShape]);
    const y = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: batch }, (_, i) => i % 10),
        'int32',
      ),
      10,
    );
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.forward(x, true)) as tf.Scalar,
      model.params.map((p) => p.variable),
    );
    assert.ok(Number.isFinite(value.dataSync()[0]));
    for (const k of model.kernels)
      assert.ok(tf.sum(tf.abs(grads[k.name])).dataSync()[0] > 0, `no gradient for ${k.name}`);
  });
  model.dispose();
}

describe('models', () => {
  it('an MLP of any depth: kernel layers named and listed in forward order, as the validator names them', () => {
    const spec = configOf({
      dataset: { name: 'mnist' },
      model: { type: 'mlp', hidden: [64, 32, 16] },
      optimizer: { type: 'sgd', learningRate: 0.1 },
      schedule: { epochs: 1, batchSize: 8 },
    }).model;
    const model = buildModel(spec, [784], 10, 1);
    assert.deepEqual(
      model.layers.map((l) => l.name),
      ['dense1', 'dense2', 'dense3', 'output'],
    );
    assert.deepEqual(
      model.layers.map((l) => l.name),
      kernelLayerNames(spec),
    );
    assert.deepEqual(
      model.layers.map((l) => l.configPath),
      layerSourcePaths(spec),
    );
    assert.deepEqual(
      model.layers.map((l) => l.shape),
      [
        [784, 64],
        [64, 32],
        [32, 16],
        [16, 10],
      ],
    );
    assert.equal(model.layers[1].params, 64 * 32 + 32);
    const logits = tf.tidy(() => model.forward(tf.zeros([5, 784]), false).shape);
    assert.deepEqual(logits, [5, 10]);
    model.dispose();
  });

  it("the paper's C10-CNN1 fast variant: 13 kernel layers, trains a step on wasm", () => {
    const spec = exampleModel('cifar10-cnn1-fast.layerrot.json');
    const model = buildModel(spec, [32, 32, 3], 10, 1);
    assert.equal(model.layers.length, 13);
    assert.deepEqual(
      model.layers.map((l) => l.name),
      kernelLayerNames(spec),
    );
    assert.deepEqual(model.layers[0].shape, [3, 3, 3, 64]);
    assert.deepEqual(model.layers[12].shape, [512, 10]);
    assert.deepEqual(model.layers[4].configPath, ['model', 'filters', 1]);
    model.dispose();
    oneStep(spec, [32, 32, 3], 2);
  });

  it('ResNet-32: 6n+2 with n = 5, projection shortcuts, 34 kernel layers, trains a step on wasm', () => {
    const spec = exampleModel('cifar10-resnet32.layerrot.json');
    const model = buildModel(spec, [32, 32, 3], 10, 1);
    const names = model.layers.map((l) => l.name);
    assert.equal(names.length, 1 + 30 + 2 + 1);
    assert.deepEqual(names, kernelLayerNames(spec));
    assert.deepEqual(names.slice(0, 3), ['conv1', 's1b1_conv1', 's1b1_conv2']);
    const sc = names.indexOf('s2b1_shortcut');
    assert.equal(names[sc - 1], 's2b1_conv2');
    assert.deepEqual(model.layers[sc].shape, [1, 1, 16, 32]);
    assert.deepEqual(model.layers[names.length - 1].shape, [64, 10]);
    // 0.46M parameters, as in the paper's ResNet-32.
    const total = model.params.reduce((a, p) => a + p.variable.size, 0);
    assert.ok(total > 440_000 && total < 480_000, `${total} parameters`);
    model.dispose();
    oneStep(spec, [32, 32, 3], 2);
  });

  it('initializers have the variances of their definitions', () => {
    const shape = [3, 3, 64, 128];
    const { fanIn, fanOut } = fans(shape);
    assert.equal(fanIn, 576);
    assert.equal(fanOut, 1152);
    const variance = (kind: 'he_uniform' | 'he_normal' | 'glorot_uniform') =>
      tf.tidy(() => {
        const t = initKernel(kind, shape, new Rng(1));
        return tf.moments(t).variance.dataSync()[0];
      });
    const close = (a: number, b: number) => Math.abs(a / b - 1) < 0.03;
    assert.ok(close(variance('he_uniform'), 2 / fanIn));
    assert.ok(close(variance('he_normal'), 2 / fanIn));
    assert.ok(close(variance('glorot_uniform'), 2 / (fanIn + fanOut)));
    // The same seed gives the same kernel.
    const a = tf.tidy(() => initKernel('he_normal', [4, 4], new Rng(9)).dataSync());
    const b = tf.tidy(() => initKernel('he_normal', [4, 4], new Rng(9)).dataSync());
    assert.deepEqual(a, b);
  });
});

describe('a CNN on CIFAR-10 files (small files of the real format), through the CLI', () => {
  it('trains a VGG-style model with batch norm on wasm and logs conv layers', async () => {
    const dir = tempDir('cifar');
    writeCifarFolder(path.join(dir, 'cifar'), { batches: [1, 2], records: 40, test: true });
    const file = writeConfig(dir, 'cifar-vgg', {
      engine: 'tfjs',
      backend: 'wasm',
      dataset: { name: 'cifar10', path: './cifar', validationSplit: 0.1 },
      model: { type: 'vgg', filters: [8, 16], convsPerStage: [2, 1], batchNorm: true, dense: [16] },
      optimizer: { type: 'sgd', layca: true, learningRate: 0.05 },
      schedule: { epochs: 2, batchSize: 16 },
    });
    const r = await runCli(['train', file, '--out', path.join(dir, 'runs')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /fewer than 5|data_batch_3/i);
    const events = strictEvents(onlyRun(path.join(dir, 'runs')));
    const started = events[0];
    assert.deepEqual(
      started.layers.map((l: any) => `${l.name}:${l.kind}`),
      ['conv1_1:conv2d', 'conv1_2:conv2d', 'conv2_1:conv2d', 'fc1:dense', 'output:dense'],
    );
    assert.deepEqual(started.dataset.inputShape, [32, 32, 3]);
    assert.equal(started.dataset.train + started.dataset.validation, 80);
    const fin = events[events.length - 1];
    assert.equal(fin.status, 'completed');
    assert.ok(fin.finalDistances.every((d: number) => d > 0));
  });
});

describe('stopping criteria and monitoring frequency', () => {
  const run = async (overrides: Record<string, any>) => {
    const events: NewEvent[] = [];
    const fin = await train({
      config: configOf(syntheticConfig(overrides)),
      runId: 'stop',
      emit: (e) => events.push(e),
    });
    return { fin, events };
  };

  it('stops when the training loss falls below the threshold', async () => {
    const { fin, events } = await run({ schedule: { epochs: 5, batchSize: 32 }, stopping: { lossBelow: 50 } });
    assert.equal(fin.status, 'completed');
    assert.match(fin.reason, /fell below 50 \(stopping.lossBelow\) after epoch 1/);
    assert.equal(events.filter((e) => e.type === 'epoch_end').length, 1);
    assert.ok(fin.testAccuracy !== null);
  });

  it('stops when the loss has not changed for k epochs', async () => {
    const { fin, events } = await run({
      schedule: { epochs: 10, batchSize: 32 },
      stopping: { plateau: { epochs: 2, tolerance: 100 } },
    });
    assert.equal(fin.status, 'completed');
    assert.match(fin.reason, /not changed by more than 100 for 2 epochs/);
    assert.equal(events.filter((e) => e.type === 'epoch_end').length, 3);
  });

  it('fails when accuracy is still at chance after k epochs', async () => {
    const { fin } = await run({
      optimizer: { type: 'sgd', learningRate: 1e-9 },
      schedule: { epochs: 5, batchSize: 32 },
      stopping: { chance: { epochs: 2, margin: 0.1 } },
    });
    assert.equal(fin.status, 'failed');
    assert.match(fin.reason, /still at chance .* after 2 epochs/);
  });

  it('records rotation every N steps when asked, and at every epoch end', async () => {
    const { events } = await run({ schedule: { epochs: 2, batchSize: 32 }, monitoring: { everySteps: 7 } });
    const steps = events.flatMap((e) => (e.type === 'rotation' ? [e.step] : []));
    const started = events.find((e) => e.type === 'run_started');
    assert.ok(started && started.type === 'run_started');
    const perEpoch = started.stepsPerEpoch;
    const expected = new Set<number>([0]);
    let last = 0;
    for (let s = 1; s <= 2 * perEpoch; s++) {
      if (s - last >= 7 || s % perEpoch === 0) {
        expected.add(s);
        last = s;
      }
    }
    assert.deepEqual(steps, [...expected]);
  });
});

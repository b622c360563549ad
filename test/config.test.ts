import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CONFIG_DEFAULTS,
  CONFIG_SCHEMA,
  formatError,
  kernelLayerNames,
  layerSourcePaths,
  loadConfigFile,
  parseConfigText,
  resnetBlocksPerStage,
  schemaEnum,
  suggest,
} from '../src/engine/config/validate';
import type {
  Activation,
  BackendName,
  Checked,
  ConfigError,
  DatasetSpec,
  EngineSetting,
  Initializer,
  ModelSpec,
  OptimizerType,
  PytorchSpec,
  TrainingConfig,
} from '../src/engine/config/types';

const FILE = '/runs/mnist-mlp.layerrot.json';

const MINIMAL = `{
  "dataset": { "name": "mnist" },
  "model": { "type": "mlp", "hidden": [100] },
  "optimizer": { "type": "sgd", "learningRate": 0.1 },
  "schedule": { "epochs": 3, "batchSize": 32 }
}`;

/** The config text with one section's value replaced (the others as in MINIMAL). */
function withSection(section: 'dataset' | 'model' | 'optimizer' | 'schedule', value: string, extra = ''): string {
  const lines: Record<string, string> = {
    dataset: '{ "name": "mnist" }',
    model: '{ "type": "mlp", "hidden": [100] }',
    optimizer: '{ "type": "sgd", "learningRate": 0.1 }',
    schedule: '{ "epochs": 3, "batchSize": 32 }',
  };
  lines[section] = value;
  const body = Object.entries(lines).map(([k, v]) => `  "${k}": ${v}`);
  return `{\n${[...body, ...(extra ? [extra] : [])].join(',\n')}\n}`;
}

function check(text: string): Checked {
  return parseConfigText(text, FILE);
}

function configOf(text: string): TrainingConfig {
  const r = check(text);
  assert.ok(r.ok, `expected a valid config, got:\n${r.errors.map(formatError).join('\n')}`);
  return r.config;
}

/** The errors as "line:column message" (warnings marked), for readable assertions. */
function located(r: Checked): string[] {
  return r.errors.map((e) => `${e.line}:${e.column} ${e.message}${e.severity === 'warning' ? ' (warning)' : ''}`);
}

/** Asserts exactly one error, at line:column, whose message contains every fragment. */
function expectOne(text: string, line: number, column: number, ...fragments: string[]): ConfigError {
  const r = check(text);
  assert.equal(r.ok, false, 'expected an invalid config');
  assert.equal(r.errors.length, 1, `expected one error, got:\n${located(r).join('\n')}`);
  const [e] = r.errors;
  assert.equal(`${e.line}:${e.column}`, `${line}:${column}`, e.message);
  for (const f of fragments) assert.ok(e.message.includes(f), `'${e.message}' lacks '${f}'`);
  return e;
}

// ---------------------------------------------------------------------------------------------

test('a minimal config is valid and gets every default', () => {
  const r = check(MINIMAL);
  assert.ok(r.ok);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.config, {
    name: 'mnist-mlp',
    seed: 0,
    engine: 'auto',
    pytorch: { device: 'auto', processes: 1 },
    backend: 'auto',
    dataset: { name: 'mnist', validationSplit: 0, normalize: true },
    model: { type: 'mlp', hidden: [100], activation: 'relu', kernelInitializer: 'he_normal', useBias: true },
    optimizer: {
      type: 'sgd',
      learningRate: 0.1,
      layca: false,
      momentum: 0,
      nesterov: false,
      beta1: 0.9,
      beta2: 0.999,
      rho: 0.9,
      initialAccumulatorValue: 0.1,
      epsilon: 1e-8,
      weightDecay: 0,
      alpha: 0,
    },
    schedule: { epochs: 3, batchSize: 32, warmupEpochs: 0 },
    monitoring: { recordsPerEpoch: 10, target: 1, lagMargin: 0.2, fitAccuracy: 0.99, features: true },
    stopping: {},
  });
});

test('the pytorch engine and its options; options of the other engine are warned about', () => {
  const c = configOf(
    withSection(
      'model',
      '{ "type": "mlp", "hidden": [10] }',
      '"engine": "pytorch", "pytorch": { "device": "cpu", "processes": 2 }',
    ),
  );
  assert.equal(c.engine, 'pytorch');
  assert.deepEqual(c.pytorch, { device: 'cpu', processes: 2 });
  const partial = configOf(
    withSection('model', '{ "type": "mlp", "hidden": [10] }', '"engine": "pytorch", "pytorch": { "processes": 4 }'),
  );
  assert.deepEqual(partial.pytorch, { device: 'auto', processes: 4 });

  const bad = check(
    withSection('model', '{ "type": "mlp", "hidden": [10] }', '"engine": "jax", "pytorch": { "processes": 0 }'),
  );
  assert.equal(bad.ok, false);
  const messages = bad.errors.map((e) => `${e.path.join('.')}: ${e.message}`);
  assert.ok(
    messages.some((m) => m.startsWith('engine:') && /tfjs/.test(m) && /pytorch/.test(m)),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => m.startsWith('pytorch.processes:')),
    messages.join('\n'),
  );

  const warned = check(
    withSection('model', '{ "type": "mlp", "hidden": [10] }', '"engine": "pytorch", "backend": "wasm"'),
  );
  assert.ok(warned.ok);
  assert.deepEqual(
    warned.errors.map((e) => [e.path.join('.'), e.severity]),
    [['backend', 'warning']],
  );
  assert.match(warned.errors[0].message, /ignored by the pytorch engine/);
  const warnedTfjs = check(
    withSection('model', '{ "type": "mlp", "hidden": [10] }', '"engine": "tfjs", "pytorch": { "processes": 2 }'),
  );
  assert.ok(warnedTfjs.ok);
  assert.deepEqual(
    warnedTfjs.errors.map((e) => [e.path.join('.'), e.severity]),
    [['pytorch', 'warning']],
  );
  // engine auto (the default) may train with either: the options of both apply, no warning.
  const auto = check(
    withSection('model', '{ "type": "mlp", "hidden": [10] }', '"backend": "wasm", "pytorch": { "processes": 2 }'),
  );
  assert.ok(auto.ok);
  assert.deepEqual(auto.errors, []);
});

test('model defaults per type, and given values win over defaults', () => {
  const vgg = configOf(withSection('model', '{ "type": "vgg", "filters": [8, 16], "useBias": false }'));
  assert.deepEqual(vgg.model, {
    type: 'vgg',
    filters: [8, 16],
    convsPerStage: 2,
    kernelSize: 3,
    batchNorm: true,
    dense: [],
    kernelInitializer: 'he_normal',
    useBias: false,
  });
  const resnet = configOf(withSection('model', '{ "type": "resnet", "depth": 20 }'));
  assert.deepEqual(resnet.model, {
    type: 'resnet',
    depth: 20,
    filters: [16, 32, 64],
    batchNorm: true,
    kernelInitializer: 'he_normal',
    useBias: true,
  });
  // Filled arrays are copies: changing one config leaves the defaults and other configs alone.
  (resnet.model as { filters: number[] }).filters.push(128);
  assert.deepEqual(CONFIG_DEFAULTS.model.resnet.filters, [16, 32, 64]);
  const again = configOf(withSection('model', '{ "type": "resnet", "depth": 20 }'));
  assert.deepEqual((again.model as { filters: number[] }).filters, [16, 32, 64]);
});

test('name, seed, backend and the other sections are read as given', () => {
  const text = `{
    "$schema": "../python/layer_rotation/layerrot.schema.json",
    "name": "run-1", "seed": 7, "engine": "tfjs", "backend": "wasm",
    "dataset": { "name": "cifar10", "path": "data/c10", "trainSubset": 5000, "validationSplit": 0.1, "normalize": false },
    "model": { "type": "mlp", "hidden": [] },
    "optimizer": { "type": "adam", "learningRate": 0.0041, "layca": true, "layerMultipliers": { "output": 0.5 } },
    "schedule": { "epochs": 100, "batchSize": 128, "decay": { "factor": 0.2, "epochs": [80, 90, 97] }, "warmupEpochs": 5 },
    "monitoring": { "everySteps": 20, "lagMargin": 0.3 },
    "stopping": { "lossBelow": 0.001, "plateau": { "epochs": 5, "tolerance": 0.0001 }, "chance": { "epochs": 3, "margin": 0.02 } }
  }`;
  const c = configOf(text);
  assert.equal(c.name, 'run-1');
  assert.equal(c.seed, 7);
  assert.equal(c.backend, 'wasm');
  assert.deepEqual(c.dataset, {
    name: 'cifar10',
    path: 'data/c10',
    trainSubset: 5000,
    validationSplit: 0.1,
    normalize: false,
  });
  assert.deepEqual(c.optimizer.layerMultipliers, { output: 0.5 });
  assert.deepEqual(c.schedule.decay, { factor: 0.2, epochs: [80, 90, 97] });
  assert.deepEqual(c.monitoring, {
    everySteps: 20,
    recordsPerEpoch: 10,
    target: 1,
    lagMargin: 0.3,
    fitAccuracy: 0.99,
    features: true,
  });
  assert.deepEqual(c.stopping, {
    lossBelow: 0.001,
    plateau: { epochs: 5, tolerance: 0.0001 },
    chance: { epochs: 3, margin: 0.02 },
  });
  assert.equal('$schema' in c, false);
});

test('the default name is the file name without .layerrot.json', () => {
  assert.equal(parseConfigText(MINIMAL, 'C:\\x\\cifar-vgg.layerrot.json').ok, true);
  const named = (file: string) => {
    const r = parseConfigText(MINIMAL, file);
    assert.ok(r.ok);
    return r.config.name;
  };
  assert.equal(named('/a/b/cifar.layerrot.json'), 'cifar');
  assert.equal(named('plain.json'), 'plain');
});

// ---------------------------------------------------------------------------------------------
// Broken configs: one mistake each, at an exact place.

test('unknown key: did you mean, in a file with comments and trailing commas', () => {
  const text = `{
  // MNIST, one hidden layer
  "dataset": { "name": "mnist", },
  "model": { "type": "mlp", "hidden": [100], },
  "optimizer": {
    "type": "sgd",
    "learningrate": 0.1, /* typo */
  },
  "schedule": { "epochs": 3, "batchSize": 32, },
}`;
  const r = check(text);
  assert.equal(r.ok, false);
  assert.deepEqual(located(r), [
    "5:3 missing required key 'learningRate' in optimizer: The initial learning rate (with Layca: the rotation rate), > 0.",
    "7:5 unknown key 'learningrate' in optimizer; did you mean 'learningRate'?",
  ]);
  const unknown = r.errors[1];
  assert.deepEqual(unknown.path, ['optimizer', 'learningrate']);
  assert.equal(unknown.length, '"learningrate"'.length);
  assert.equal(text.slice(unknown.offset, unknown.offset + unknown.length), '"learningrate"');
  assert.equal(r.errors[0].length, '"optimizer"'.length);
});

test('unknown top-level key: did you mean optimizer', () => {
  const text = withSection('schedule', '{ "epochs": 3, "batchSize": 32 }', '  "optimiser": { "type": "sgd" }');
  const e = expectOne(text, 6, 3, "unknown key 'optimiser' at the top level; did you mean 'optimizer'?");
  assert.deepEqual(e.path, ['optimiser']);
});

test('unknown key without a near miss lists the allowed keys', () => {
  expectOne(
    withSection('schedule', '{ "epochs": 3, "batchSize": 32, "patience": 4 }'),
    5,
    47,
    "unknown key 'patience' in schedule; allowed keys: epochs, batchSize, decay, warmupEpochs",
  );
});

test('keys of another model type are unknown for this one', () => {
  expectOne(
    withSection('model', '{ "type": "vgg", "filters": [8], "depth": 20 }'),
    3,
    45,
    "unknown key 'depth' in model; allowed keys: type, filters, convsPerStage, kernelSize, batchNorm, dense, kernelInitializer, useBias",
  );
});

test('wrong enum value: did you mean, with the valid values listed', () => {
  const e = expectOne(
    withSection('optimizer', '{ "type": "sdg", "learningRate": 0.1 }'),
    4,
    26,
    "optimizer.type must be one of 'sgd', 'adam', 'rmsprop', 'adagrad', got 'sdg'; did you mean 'sgd'?",
  );
  assert.equal(e.length, '"sdg"'.length);
  expectOne(
    withSection('optimizer', '{ "type": "adamw", "learningRate": 0.1 }'),
    4,
    26,
    "must be one of 'sgd', 'adam', 'rmsprop', 'adagrad', got 'adamw'; did you mean 'adam'?",
  );
  const far = expectOne(withSection('optimizer', '{ "type": "lbfgs", "learningRate": 0.1 }'), 4, 26, "got 'lbfgs'");
  assert.equal(far.message.includes('did you mean'), false);
  expectOne(
    withSection('dataset', '{ "name": "mnist" }', '  "backend": "gpu"'),
    6,
    14,
    "backend must be one of 'auto', 'node-gpu', 'node', 'wasm', 'cpu', got 'gpu'",
  );
});

test('an invalid discriminator gives one error, whatever the other keys', () => {
  const r = check(withSection('dataset', '{ "name": "cifar", "path": 3, "bogus": true }'));
  assert.deepEqual(located(r), [
    "2:24 dataset.name must be one of 'mnist', 'cifar10', 'synthetic', got 'cifar'; did you mean 'cifar10'?",
  ]);
  expectOne(
    withSection('model', '{ "hidden": [100] }'),
    3,
    3,
    "missing required key 'type' in model, one of 'mlp', 'vgg', 'resnet'",
  );
});

test('a valid discriminator reports only the errors of its branch', () => {
  const r = check(
    withSection(
      'dataset',
      '{ "name": "synthetic", "samples": 100, "testSamples": 10, "inputShape": [4], "classes": 1, "path": "x" }',
    ),
  );
  assert.deepEqual(located(r), [
    '2:102 dataset.classes must be an integer in [2, 100000], got 1',
    "2:105 unknown key 'path' in dataset; allowed keys: name, samples, testSamples, inputShape, classes, trainSubset, testSubset, validationSplit, normalize",
  ]);
});

test('wrong types', () => {
  expectOne(
    withSection('optimizer', '{ "type": "sgd", "learningRate": "0.1" }'),
    4,
    49,
    "optimizer.learningRate must be a number > 0, got '0.1'",
  );
  expectOne(
    withSection('model', '{ "type": "mlp", "hidden": 100 }'),
    3,
    39,
    'model.hidden must be an array of at most 1000 integers in [1, 1048576], got 100',
  );
  expectOne(
    withSection('optimizer', '{ "type": "sgd", "learningRate": 0.1, "layca": "yes" }'),
    4,
    63,
    "optimizer.layca must be true or false, got 'yes'",
  );
  expectOne('[1, 2]', 1, 1, 'the config must be an object, got an array of 2 items');
});

test('numbers that must be integers', () => {
  expectOne(
    withSection('schedule', '{ "epochs": 2.5, "batchSize": 32 }'),
    5,
    27,
    'schedule.epochs must be an integer >= 1, got 2.5',
  );
  expectOne(
    withSection('model', '{ "type": "mlp", "hidden": [100, 0.5] }'),
    3,
    45,
    'model.hidden[1] must be an integer in [1, 1048576], got 0.5',
  );
  expectOne(
    withSection('dataset', '{ "name": "mnist", "trainSubset": 1.5 }'),
    2,
    48,
    'dataset.trainSubset must be an integer >= 1, got 1.5',
  );
  expectOne(
    withSection('dataset', '{ "name": "mnist", "testSubset": 0 }'),
    2,
    47,
    'dataset.testSubset must be an integer >= 1, got 0',
  );
  expectOne(
    withSection('dataset', '{ "name": "mnist" }', '  "seed": -1'),
    6,
    11,
    'seed must be an integer in [0, 4294967295], got -1',
  );
  expectOne(
    withSection('dataset', '{ "name": "mnist" }', '  "monitoring": { "everySteps": 0.5 }'),
    6,
    33,
    'monitoring.everySteps must be an integer >= 1, got 0.5',
  );
  expectOne(
    withSection('model', '{ "type": "resnet", "depth": 32.0001 }'),
    3,
    41,
    'model.depth must be an integer in [8, 1202], got 32.0001',
  );
});

test('out-of-range values state the range', () => {
  expectOne(
    withSection('optimizer', '{ "type": "sgd", "learningRate": 0.1, "alpha": 1 }'),
    4,
    63,
    'optimizer.alpha must be a number in (-1, 1), got 1',
  );
  expectOne(
    withSection('optimizer', '{ "type": "sgd", "learningRate": 0.1, "alpha": -1 }'),
    4,
    63,
    'in (-1, 1), got -1',
  );
  expectOne(
    withSection('optimizer', '{ "type": "sgd", "learningRate": -0.01 }'),
    4,
    49,
    'optimizer.learningRate must be a number > 0, got -0.01',
  );
  expectOne(withSection('optimizer', '{ "type": "sgd", "learningRate": 0 }'), 4, 49, 'must be a number > 0, got 0');
  expectOne(
    withSection('dataset', '{ "name": "mnist", "validationSplit": 1 }'),
    2,
    52,
    'dataset.validationSplit must be a number in [0, 1), got 1',
  );
  expectOne(
    withSection('model', '{ "type": "resnet", "depth": 20, "filters": [16, 32] }'),
    3,
    56,
    'model.filters must be an array of 3 integers in [1, 65536], got an array of 2 items',
  );
  expectOne(
    withSection('optimizer', '{ "type": "sgd", "learningRate": 0.1, "layerMultipliers": [1, 0] }'),
    4,
    78,
    'optimizer.layerMultipliers[1] must be a number > 0, got 0',
  );
});

test('missing required keys point at the key of the object that lacks them', () => {
  const e = expectOne(withSection('schedule', '{ "epochs": 3 }'), 5, 3, "missing required key 'batchSize' in schedule");
  assert.deepEqual(e.path, ['schedule']);
  assert.equal(e.length, '"schedule"'.length);
  expectOne(
    withSection('optimizer', '{ "learningRate": 0.1 }'),
    4,
    3,
    "missing required key 'type' in optimizer, one of 'sgd', 'adam', 'rmsprop', 'adagrad'",
  );
  expectOne(
    withSection('dataset', '{ "name": "cifar10" }'),
    2,
    3,
    "missing required key 'path' in dataset: Folder holding data_batch_1.bin",
  );
  const top = expectOne(
    '{\n  "dataset": { "name": "mnist" },\n  "model": { "type": "mlp", "hidden": [] },\n  "schedule": { "epochs": 1, "batchSize": 1 }\n}',
    1,
    1,
    "missing required key 'optimizer' at the top level",
  );
  assert.equal(top.length, 1);
  assert.deepEqual(top.path, []);
});

test('resnet depth must be 6n+2, with the nearest valid depths suggested', () => {
  expectOne(
    withSection('model', '{ "type": "resnet", "depth": 33 }'),
    3,
    41,
    'model.depth 33 is not a valid ResNet depth',
    '6n+2',
    'nearest valid depths: 32 or 38',
  );
  expectOne(withSection('model', '{ "type": "resnet", "depth": 9 }'), 3, 41, 'nearest valid depths: 8 or 14');
  expectOne(
    withSection('model', '{ "type": "resnet", "depth": 7 }'),
    3,
    41,
    'model.depth must be an integer in [8, 1202], got 7',
  );
  assert.equal(resnetBlocksPerStage(32), 5);
  assert.equal(resnetBlocksPerStage(110), 18);
  assert.equal(resnetBlocksPerStage(33), undefined);
  assert.equal(resnetBlocksPerStage(2), undefined);
});

test('vgg convsPerStage must have one entry per stage', () => {
  expectOne(
    withSection('model', '{ "type": "vgg", "filters": [8, 16, 32], "convsPerStage": [2, 2] }'),
    3,
    70,
    'model.convsPerStage has 2 entries but filters has 3 stages',
  );
  configOf(withSection('model', '{ "type": "vgg", "filters": [8, 16, 32], "convsPerStage": [1, 2, 3] }'));
});

test('CNNs need [height, width, channels] synthetic inputs', () => {
  const dataset = '{ "name": "synthetic", "samples": 10, "testSamples": 5, "inputShape": [64], "classes": 2 }';
  const text = withSection('dataset', dataset).replace(
    '{ "type": "mlp", "hidden": [100] }',
    '{ "type": "vgg", "filters": [8] }',
  );
  expectOne(
    text,
    2,
    84,
    'a vgg model needs image inputs: dataset.inputShape must be [height, width, channels], got 1 dimension',
  );
  configOf(withSection('dataset', dataset));
});

test('decay epochs: strictly increasing (error), below schedule.epochs (warning)', () => {
  const r = check(
    withSection(
      'schedule',
      '{ "epochs": 100, "batchSize": 32, "decay": { "factor": 0.2, "epochs": [80, 60, 90, 100] } }',
    ),
  );
  assert.equal(r.ok, false);
  assert.deepEqual(located(r), [
    '5:90 schedule.decay.epochs must be strictly increasing: 60 comes after 80',
    '5:98 schedule.decay.epochs[3] = 100 never applies: training stops after schedule.epochs = 100 epochs (warning)',
  ]);
});

test('warnings alone keep the config valid', () => {
  const r = check(
    withSection('schedule', '{ "epochs": 10, "batchSize": 32, "decay": { "factor": 0.2, "epochs": [5, 10] } }'),
  );
  assert.ok(r.ok);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0].severity, 'warning');
  assert.deepEqual(r.config.schedule.decay, { factor: 0.2, epochs: [5, 10] });
  assert.equal(
    formatError(r.errors[0]),
    `${FILE}:5:88: schedule.decay.epochs[1] = 10 never applies: training stops after schedule.epochs = 10 epochs (warning)`,
  );
});

test('a warmup as long as training is warned about', () => {
  const r = check(withSection('schedule', '{ "epochs": 2, "batchSize": 32, "warmupEpochs": 2 }'));
  assert.ok(r.ok);
  assert.deepEqual(located(r), [
    '5:63 schedule.warmupEpochs 2 is not below schedule.epochs 2: the warmup never ends (warning)',
  ]);
  assert.equal(
    configOf(withSection('schedule', '{ "epochs": 2, "batchSize": 32, "warmupEpochs": 0.5 }')).schedule.warmupEpochs,
    0.5,
  );
});

test('options the chosen optimizer does not use are warned about', () => {
  const r = check(withSection('optimizer', '{ "type": "adam", "learningRate": 0.001, "momentum": 0.9, "beta1": 0.8 }'));
  assert.ok(r.ok);
  assert.deepEqual(located(r), ['4:57 optimizer.momentum is ignored by adam (it applies to sgd) (warning)']);
  const nesterov = check(withSection('optimizer', '{ "type": "sgd", "learningRate": 0.1, "nesterov": true }'));
  assert.deepEqual(located(nesterov), [
    '4:66 optimizer.nesterov has no effect without momentum: set optimizer.momentum > 0 (warning)',
  ]);
});

test('layerMultipliers as an array must have one entry per kernel layer', () => {
  const text = withSection('optimizer', '{ "type": "sgd", "learningRate": 0.1, "layerMultipliers": [1, 0.5] }').replace(
    '"hidden": [100]',
    '"hidden": [100, 50]',
  );
  expectOne(
    text,
    4,
    74,
    'optimizer.layerMultipliers has 2 entries but the model has 3 kernel layers (dense1, dense2, output)',
    'one multiplier per kernel layer',
  );
  const ok = configOf(text.replace('[1, 0.5]', '[1, 0.5, 0.25]'));
  assert.deepEqual(ok.optimizer.layerMultipliers, [1, 0.5, 0.25]);
  // Not checked against the model while the model itself is invalid.
  const r = check(text.replace('"hidden": [100, 50]', '"hidden": [100, -50]'));
  assert.deepEqual(located(r), ['3:45 model.hidden[1] must be an integer in [1, 1048576], got -50']);
});

test('layerMultipliers as an object must name kernel layers', () => {
  const text = withSection(
    'optimizer',
    '{ "type": "sgd", "learningRate": 0.1, "layerMultipliers": { "conv1": 0.5, "s2b1shortcut": 2, "fc": 1 } }',
  ).replace('{ "type": "mlp", "hidden": [100] }', '{ "type": "resnet", "depth": 20 }');
  const r = check(text);
  assert.deepEqual(located(r), [
    "4:90 unknown layer 's2b1shortcut' in optimizer.layerMultipliers; did you mean 's2b1_shortcut'?",
    "4:109 unknown layer 'fc' in optimizer.layerMultipliers; the model's kernel layers are conv1, s1b1_conv1, s1b1_conv2, s1b2_conv1, s1b2_conv2, s1b3_conv1, ..., s3b3_conv1, s3b3_conv2, output",
  ]);
  configOf(text.replace('"s2b1shortcut"', '"s2b1_shortcut"').replace('"fc"', '"output"'));
});

test('duplicate keys are errors', () => {
  expectOne(
    withSection('schedule', '{ "epochs": 3, "batchSize": 32, "epochs": 4 }'),
    5,
    47,
    "duplicate key 'epochs' in schedule (also on line 5)",
  );
});

// ---------------------------------------------------------------------------------------------
// Syntax errors, several errors, files.

test('syntax errors are reported where they are', () => {
  const missingComma = `{
  "dataset": { "name": "mnist" }
  "model": { "type": "mlp", "hidden": [100] }
}`;
  const e = expectOne(missingComma, 3, 3, "syntax error: expected ',' between entries");
  assert.equal(e.length, '"model"'.length);
  expectOne('{\n  "seed": 01\n}', 2, 12, 'syntax error: invalid number: JSON numbers cannot have leading zeros');
  expectOne('{\n  "seed": tru,\n  "name": "x"\n}', 2, 11, "syntax error: unexpected text 'tru'; did you mean 'true'?");
  const twoCommas = check('{\n  "seed": 1\n  "name": "a"\n  "backend": "cpu"\n}');
  assert.deepEqual(located(twoCommas), [
    "3:3 syntax error: expected ',' between entries",
    "4:3 syntax error: expected ',' between entries",
  ]);
  expectOne('{\n  seed: 1\n}', 2, 3, "syntax error: unexpected text 'seed' (keys and strings need double quotes)");
  expectOne('{\n  "name": "open\n}', 2, 11, 'syntax error: unterminated string');
  expectOne('{ /* never closed', 1, 3, 'unterminated block comment');
  expectOne('', 1, 1, 'the file holds no JSON value');
  expectOne('// only a comment\n', 1, 1, 'the file holds no JSON value');
});

test('several errors in one file are all reported, in position order', () => {
  const text = `{
  "name": "",
  "dataset": { "name": "mnist", "validationSplit": 1.5 },
  "model": { "type": "resnet", "depth": 33, "filters": [16, 32, 64] },
  /* two mistakes on one line */
  "optimizer": { "type": "sdg", "learningRate": 0.1, "alpha": 1 },
  "schedule": { "epochs": 10, "batchsize": 32 },
  "monitoring": { "target": 3 },
}`;
  const r = check(text);
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.errors.map((e) => `${e.line}:${e.column}`),
    ['2:11', '3:52', '4:41', '6:26', '6:63', '7:3', '7:31', '8:29'],
  );
  const messages = r.errors.map((e) => e.message);
  assert.match(messages[0], /name must be a non-empty string, got ''/);
  assert.match(messages[1], /validationSplit must be a number in \[0, 1\), got 1\.5/);
  assert.match(messages[2], /nearest valid depths: 32 or 38/);
  assert.match(messages[3], /did you mean 'sgd'\?/);
  assert.match(messages[4], /alpha must be a number in \(-1, 1\), got 1/);
  assert.match(messages[5], /missing required key 'batchSize' in schedule/);
  assert.match(messages[6], /unknown key 'batchsize' in schedule; did you mean 'batchSize'\?/);
  assert.match(messages[7], /monitoring.target must be a number in \(0, 2\], got 3/);
  const sorted = [...r.errors].sort((a, b) => a.offset - b.offset);
  assert.deepEqual(r.errors, sorted);
});

test('a byte order mark is ignored', () => {
  configOf(`\uFEFF${MINIMAL}`);
});

test('loadConfigFile reads files and reports unreadable ones at 1:1', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerrot-'));
  try {
    const good = path.join(dir, 'tiny.layerrot.json');
    fs.writeFileSync(good, MINIMAL);
    const r = loadConfigFile(good);
    assert.ok(r.ok);
    assert.equal(r.config.name, 'tiny');

    const bad = path.join(dir, 'bad.layerrot.json');
    fs.writeFileSync(bad, withSection('schedule', '{ "epochs": 0, "batchSize": 32 }'));
    const b = loadConfigFile(bad);
    assert.equal(b.ok, false);
    assert.equal(formatError(b.errors[0]), `${bad}:5:27: schedule.epochs must be an integer >= 1, got 0`);

    const missing = path.join(dir, 'nope.layerrot.json');
    const m = loadConfigFile(missing);
    assert.equal(m.ok, false);
    assert.deepEqual(
      { line: m.errors[0].line, column: m.errors[0].column, file: m.errors[0].file },
      { line: 1, column: 1, file: missing },
    );
    assert.match(
      formatError(m.errors[0]),
      /^.*nope\.layerrot\.json:1:1: cannot read the config file: ENOENT: no such file or directory/,
    );
    assert.match(loadConfigFile(dir).errors[0].message, /EISDIR/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('suggest finds near misses only', () => {
  assert.equal(suggest('optimiser', ['optimizer', 'schedule']), 'optimizer');
  assert.equal(suggest('batch_size', ['epochs', 'batchSize']), 'batchSize');
  assert.equal(suggest('lr', ['type', 'learningRate']), 'learningRate');
  assert.equal(suggest('sdg', ['sgd', 'adam']), 'sgd');
  assert.equal(suggest('xyz', ['sgd', 'adam']), undefined);
  assert.equal(suggest('a', ['b']), undefined);
});

// ---------------------------------------------------------------------------------------------
// Kernel layers.

function model(spec: object): ModelSpec {
  return spec as ModelSpec;
}

test('kernel layers of an MLP', () => {
  const m = model({
    type: 'mlp',
    hidden: [300, 100],
    activation: 'relu',
    kernelInitializer: 'he_normal',
    useBias: true,
  });
  assert.deepEqual(kernelLayerNames(m), ['dense1', 'dense2', 'output']);
  assert.deepEqual(layerSourcePaths(m), [['model', 'hidden', 0], ['model', 'hidden', 1], ['model']]);
  assert.deepEqual(kernelLayerNames(model({ type: 'mlp', hidden: [] })), ['output']);
});

test('kernel layers of a VGG', () => {
  const m = model({
    type: 'vgg',
    filters: [32, 64, 128],
    convsPerStage: [1, 2, 2],
    dense: [256],
    kernelSize: 3,
    batchNorm: true,
  });
  assert.deepEqual(kernelLayerNames(m), ['conv1_1', 'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'fc1', 'output']);
  assert.deepEqual(layerSourcePaths(m), [
    ['model', 'filters', 0],
    ['model', 'filters', 1],
    ['model', 'filters', 1],
    ['model', 'filters', 2],
    ['model', 'filters', 2],
    ['model', 'dense', 0],
    ['model'],
  ]);
  const uniform = model({ type: 'vgg', filters: [16, 32], convsPerStage: 2, dense: [] });
  assert.deepEqual(kernelLayerNames(uniform), ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'output']);
});

test('kernel layers of a ResNet: 1 + 6n + 2 shortcuts + 1', () => {
  const m = model({ type: 'resnet', depth: 32, filters: [16, 32, 64], batchNorm: true });
  const names = kernelLayerNames(m);
  assert.equal(names.length, 1 + 30 + 2 + 1);
  assert.equal(names[0], 'conv1');
  assert.deepEqual(names.slice(1, 3), ['s1b1_conv1', 's1b1_conv2']);
  assert.deepEqual(names.slice(9, 16), [
    's1b5_conv1',
    's1b5_conv2',
    's2b1_conv1',
    's2b1_conv2',
    's2b1_shortcut',
    's2b2_conv1',
    's2b2_conv2',
  ]);
  assert.deepEqual(names.slice(21, 26), ['s2b5_conv2', 's3b1_conv1', 's3b1_conv2', 's3b1_shortcut', 's3b2_conv1']);
  assert.deepEqual(names.slice(-2), ['s3b5_conv2', 'output']);
  assert.equal(new Set(names).size, names.length);
  assert.equal(names.filter((n) => n.endsWith('shortcut')).length, 2);
  const paths = layerSourcePaths(m);
  assert.equal(paths.length, names.length);
  assert.ok(paths.slice(0, -1).every((p) => p.join('/') === 'model/depth'));
  assert.deepEqual(paths[paths.length - 1], ['model']);
  assert.equal(kernelLayerNames(model({ type: 'resnet', depth: 20 })).length, 22);
  assert.deepEqual(kernelLayerNames(model({ type: 'resnet', depth: 8 })), [
    'conv1',
    's1b1_conv1',
    's1b1_conv2',
    's2b1_conv1',
    's2b1_conv2',
    's2b1_shortcut',
    's3b1_conv1',
    's3b1_conv2',
    's3b1_shortcut',
    'output',
  ]);
});

// ---------------------------------------------------------------------------------------------
// The schema itself.

interface SchemaObject {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, SchemaObject>;
  additionalProperties?: boolean | SchemaObject;
  allOf?: { if: SchemaObject; then: SchemaObject }[];
  const?: unknown;
  required?: string[];
  default?: unknown;
  items?: SchemaObject;
  definitions?: Record<string, SchemaObject>;
  description?: string;
  markdownDescription?: string;
}

const SCHEMA = CONFIG_SCHEMA as SchemaObject;

function resolve(s: SchemaObject): SchemaObject {
  let out = s;
  while (out.$ref) {
    const name = out.$ref.replace('#/definitions/', '');
    out = SCHEMA.definitions?.[name] ?? assert.fail(`unresolved ${out.$ref}`);
  }
  return out;
}

/** The schema's own properties plus those of every if/then branch whose `if` matches the data. */
function propertiesFor(schema: SchemaObject, data: Record<string, unknown>): Record<string, SchemaObject> {
  const props = { ...schema.properties };
  for (const { if: cond, then } of schema.allOf ?? []) {
    const matches = Object.entries(cond.properties ?? {}).every(([k, s]) => data[k] === s.const);
    if (matches) Object.assign(props, resolve(then).properties);
  }
  return props;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Walks the filled config along the schema: every schema default must be what the validator
 * filled in where the input had nothing, and everything filled in must be a schema default.
 */
function compareDefaults(
  schema: SchemaObject,
  filled: Record<string, unknown>,
  input: unknown,
  at: string,
  seen: Set<SchemaObject>,
): void {
  const given = isRecord(input) ? input : {};
  const props = propertiesFor(schema, filled);
  for (const [key, raw] of Object.entries(props)) {
    const prop = resolve(raw);
    seen.add(prop);
    if ('default' in prop && given[key] === undefined) assert.deepEqual(filled[key], prop.default, `${at}.${key}`);
  }
  for (const [key, value] of Object.entries(filled)) {
    const prop = props[key] ? resolve(props[key]) : assert.fail(`${at}.${key} is not in the schema`);
    if (isRecord(value) && prop.type === 'object') compareDefaults(prop, value, given[key], `${at}.${key}`, seen);
    else if (given[key] === undefined && key !== 'name')
      assert.ok('default' in prop, `${at}.${key} was filled in without a schema default`);
  }
}

/** Every subschema of the schema (not descending into editor-only keywords). */
function allSubschemas(s: unknown, out: SchemaObject[] = []): SchemaObject[] {
  if (Array.isArray(s)) s.forEach((x) => allSubschemas(x, out));
  else if (isRecord(s)) {
    out.push(s as SchemaObject);
    for (const [k, v] of Object.entries(s)) {
      if (!['defaultSnippets', 'examples', 'default', 'enum', 'const', 'enumDescriptions', 'required'].includes(k))
        allSubschemas(v, out);
    }
  }
  return out;
}

test("the schema's defaults are the validator's defaults", () => {
  const seen = new Set<SchemaObject>();
  const models = [
    '{ "type": "mlp", "hidden": [10] }',
    '{ "type": "vgg", "filters": [8] }',
    '{ "type": "resnet", "depth": 8 }',
  ];
  const datasets = [
    '{ "name": "mnist" }',
    '{ "name": "cifar10", "path": "c" }',
    '{ "name": "synthetic", "samples": 4, "testSamples": 2, "inputShape": [2, 2, 1], "classes": 2 }',
  ];
  const optimizers = ['sgd', 'adam', 'rmsprop', 'adagrad'].map((t) => `{ "type": "${t}", "learningRate": 0.1 }`);
  for (const m of models) {
    for (const d of datasets) {
      for (const o of optimizers) {
        const text = withSection('model', m)
          .replace('{ "name": "mnist" }', d)
          .replace('{ "type": "sgd", "learningRate": 0.1 }', o);
        const config = configOf(text);
        compareDefaults(SCHEMA, config as unknown as Record<string, unknown>, JSON.parse(text), 'config', seen);
      }
    }
  }
  const withDefault = allSubschemas(SCHEMA).filter((s) => 'default' in s);
  assert.ok(withDefault.length >= 25, `only ${withDefault.length} defaults in the schema`);
  for (const s of withDefault)
    assert.ok(seen.has(s), `schema default ${JSON.stringify(s.default)} (${s.description}) is never checked`);
});

test("the config's union types are the schema's enums", () => {
  // Exhaustive records: the compiler rejects a missing or extra member of the union.
  const engine: Record<EngineSetting, true> = { auto: true, tfjs: true, pytorch: true };
  const device: Record<PytorchSpec['device'], true> = { auto: true, cpu: true, cuda: true };
  const backend: Record<BackendName, true> = { auto: true, 'node-gpu': true, node: true, wasm: true, cpu: true };
  const dataset: Record<DatasetSpec['name'], true> = { mnist: true, cifar10: true, synthetic: true };
  const model: Record<ModelSpec['type'], true> = { mlp: true, vgg: true, resnet: true };
  const activation: Record<Activation, true> = { relu: true, tanh: true, sigmoid: true, linear: true };
  const initializer: Record<Initializer, true> = { he_uniform: true, he_normal: true, glorot_uniform: true };
  const optimizer: Record<OptimizerType, true> = { sgd: true, adam: true, rmsprop: true, adagrad: true };
  const cases: [string[], Record<string, true>][] = [
    [['engine'], engine],
    [['pytorch', 'device'], device],
    [['backend'], backend],
    [['dataset', 'name'], dataset],
    [['model', 'type'], model],
    [['model', 'activation'], activation],
    [['model', 'kernelInitializer'], initializer],
    [['optimizer', 'type'], optimizer],
  ];
  for (const [at, union] of cases)
    assert.deepEqual(Object.keys(union).sort(), [...schemaEnum(at)].sort(), `the enum of ${at.join('.')}`);
  // Each model type's and dataset's branch accepts exactly its own name.
  for (const [at, union] of [
    [['model', 'type'], model],
    [['dataset', 'name'], dataset],
  ] as const) {
    const branches = (SCHEMA.properties?.[at[0]].allOf ?? []).map((b) => resolve(b.then).properties?.[at[1]].const);
    assert.deepEqual(branches.sort(), Object.keys(union).sort(), `the branches of ${at.join('.')}`);
  }
});

test('the schema closes every object and describes every property', () => {
  for (const s of allSubschemas(SCHEMA)) {
    if (!s.properties || !s.type) continue; // `if` conditions: neither a type nor descriptions
    // Discriminated unions (dataset, model) close their objects in each if/then branch.
    const branches = (s.allOf ?? []).map((b) => resolve(b.then));
    const closed =
      s.additionalProperties === false ||
      (branches.length > 0 && branches.every((b) => b.additionalProperties === false));
    assert.ok(closed, `open object: ${s.description}`);
    for (const [key, prop] of Object.entries(s.properties)) {
      const target = resolve(prop);
      assert.ok(target.description, `${key} has no description`);
      assert.ok(target.markdownDescription, `${key} has no markdownDescription`);
    }
  }
});

test('the schema is draft-07 and requires the four sections', () => {
  const raw = SCHEMA as SchemaObject & { $schema?: string };
  assert.equal(raw.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.deepEqual(raw.required, ['dataset', 'model', 'optimizer', 'schedule']);
  assert.deepEqual(resolve(raw.properties!.optimizer).required, ['type', 'learningRate']);
  assert.deepEqual(resolve(raw.properties!.schedule).required, ['epochs', 'batchSize']);
});

// ---------------------------------------------------------------------------------------------

const examplesDir = path.resolve(__dirname, '../../examples');
const examples = fs.existsSync(examplesDir)
  ? fs.readdirSync(examplesDir).filter((f) => f.endsWith('.layerrot.json'))
  : [];

test(`every examples/*.layerrot.json validates (${examples.length} found)`, () => {
  for (const f of examples) {
    const r = loadConfigFile(path.join(examplesDir, f));
    assert.ok(r.ok, `${f}:\n${r.errors.map(formatError).join('\n')}`);
  }
});

test('the schema describes the sweep block for the editor: an object of non-empty lists, with a snippet', () => {
  // What VS Code's JSON language service reads: plain JSON Schema, checked here with ajv alone.
  const Ajv = require('ajv').default;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(CONFIG_SCHEMA);
  const base = JSON.parse(MINIMAL);
  assert.ok(validate({ ...base, sweep: { 'optimizer.learningRate': [0.001, 0.01], seed: [1, 2, 3] } }));
  assert.equal(validate({ ...base, sweep: { seed: [] } }), false);
  assert.equal(validate({ ...base, sweep: { seed: 1 } }), false);
  assert.equal(validate({ ...base, sweep: {} }), false);
  const node = SCHEMA.properties?.sweep as SchemaObject & { defaultSnippets?: { body: unknown }[] };
  assert.ok(node.description && node.markdownDescription);
  const snippet = node.defaultSnippets?.[0].body as Record<string, unknown[]>;
  assert.deepEqual(Object.keys(snippet), ['optimizer.learningRate', 'optimizer.layca', 'seed']);
  // The snippet, with its placeholders filled in as the editor does, is a valid sweep.
  const filled = JSON.parse(JSON.stringify(snippet).replace(/"\^\$\{\d+:([^}]*)\}"|"\^([^"$]*)"/g, '$1$2'));
  const r = parseConfigText(JSON.stringify({ ...base, sweep: filled }), FILE);
  assert.ok(r.ok, r.errors.map(formatError).join('\n'));
  assert.equal(Object.keys(r.config.sweep ?? {}).length, 3);
  assert.equal(configOf(MINIMAL).sweep, undefined, 'no sweep unless given');
});

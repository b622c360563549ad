// Sweeps: the grid's expansion and ids, the sweep block's checks (placed errors), and real sweeps
// through the CLI (child processes training tiny synthetic configs): a full grid with two points
// at once, resuming after a failed point, two shards writing to one folder at the same time,
// Ctrl-C, and train refusing a sweep. Using the machine: two tfjs points train at the same time
// (their logs' intervals overlap), and PyTorch points share the cores (each run's torch threads,
// as its log says, are the cores divided by the jobs; the BLAS pools' environment matches).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandRunFolders } from '../src/experiments/compareFolders';
import { describe, it } from 'node:test';
import { parseConfigText, sweepAxes } from '../src/engine/config/validate';
import type { Checked } from '../src/engine/config/types';
import { expandSweep, MAX_ID_LENGTH, pointConfig, shardPoints } from '../src/experiments/sweep';
import { readSweep, type SweepFile } from '../src/experiments/sweepRun';
import {
  PytorchLauncher,
  pytorchCommand,
  pytorchRequest,
  shareOfCores,
  threadEnv,
  threadsBeside,
} from '../src/launch/pytorch';
import type { RunRequest } from '../src/launch/request';
import { writeMnistFolder } from './helpers/datafiles';
import { pythonInterpreter, pytorchTestOptions, requireTorch } from './helpers/python';
import { runCli, strictEvents, syntheticConfig, tempDir, writeConfig } from './helpers/runs';

/** A tiny synthetic config: about a second a run. */
function tiny(sweep: Record<string, unknown[]>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return syntheticConfig({
    name: 'tiny',
    dataset: { name: 'synthetic', samples: 300, testSamples: 100, inputShape: [16], classes: 4, validationSplit: 0.1 },
    model: { type: 'mlp', hidden: [16] },
    schedule: { epochs: 1, batchSize: 32 },
    sweep,
    ...overrides,
  });
}

function sweepJson(dir: string): SweepFile {
  return JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8'));
}

/** The run folders in a point's folder. */
function runFolders(pointDir: string): string[] {
  return fs
    .readdirSync(pointDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(pointDir, d.name));
}

describe('expansion', () => {
  const axes = [
    { path: 'optimizer.learningRate', values: [0.001, 0.01] },
    { path: 'optimizer.layca', values: [true, false] },
    { path: 'seed', values: [1, 2, 3] },
  ];

  it('keeps the keys in file order, the last key fastest, with stable ids', () => {
    const points = expandSweep(axes);
    assert.equal(points.length, 12);
    assert.deepEqual(
      points.slice(0, 4).map((p) => p.id),
      [
        'p000-learningRate=0.001-layca=true-seed=1',
        'p001-learningRate=0.001-layca=true-seed=2',
        'p002-learningRate=0.001-layca=true-seed=3',
        'p003-learningRate=0.001-layca=false-seed=1',
      ],
    );
    assert.deepEqual(points[11], {
      index: 11,
      id: 'p011-learningRate=0.01-layca=false-seed=3',
      values: { 'optimizer.learningRate': 0.01, 'optimizer.layca': false, seed: 3 },
    });
    assert.deepEqual(
      expandSweep(axes).map((p) => p.id),
      points.map((p) => p.id),
      'the same grid gives the same ids',
    );
  });

  it('sanitizes values, caps long ids with a hash, and tells clashing labels apart', () => {
    const [a, b] = expandSweep([
      { path: 'model.hidden', values: [[64, 64], [32]] },
      { path: 'dataset.path', values: ['data/one two'] },
    ]);
    assert.equal(a.id, 'p000-hidden=64x64-path=data_one_two');
    assert.equal(b.id, 'p001-hidden=32-path=data_one_two');
    const long = expandSweep([
      { path: 'dataset', values: [{ name: 'mnist', path: `/data/${'deep/'.repeat(30)}mnist` }] },
    ]);
    assert.equal(long[0].id.length, MAX_ID_LENGTH, long[0].id);
    assert.match(long[0].id, /^p000-dataset=name_mnist_path_data_deep_deep.*-[0-9a-f]{8}$/);
    assert.match(long[0].id, /^[A-Za-z0-9.+_=-]+$/);
    const clash = expandSweep([
      { path: 'optimizer.learningRate', values: [0.1] },
      { path: 'stopping.chance.epochs', values: [2] },
      { path: 'schedule.epochs', values: [3] },
    ]);
    assert.equal(clash[0].id, 'p000-learningRate=0.1-stopping.chance.epochs=2-schedule.epochs=3');
  });

  it('gives each point the base config with its values and without the sweep; shards split the grid', () => {
    const raw = tiny({ 'optimizer.learningRate': [0.1, 0.2], 'schedule.decay.factor': [0.5] });
    const points = expandSweep(sweepAxes(raw) ?? []);
    const config = pointConfig(raw, points[1]) as any;
    assert.equal(config.sweep, undefined);
    assert.equal(config.optimizer.learningRate, 0.2);
    assert.deepEqual(config.schedule, { epochs: 1, batchSize: 32, decay: { factor: 0.5 } });
    assert.equal((raw as any).optimizer.learningRate, 0.05, 'the base config is left as it was');
    const grid = expandSweep(axes);
    const one = shardPoints(grid, 1, 3).map((p) => p.index);
    const two = shardPoints(grid, 2, 3).map((p) => p.index);
    const three = shardPoints(grid, 3, 3).map((p) => p.index);
    assert.deepEqual(one, [0, 3, 6, 9]);
    assert.deepEqual(
      [...one, ...two, ...three].sort((x, y) => x - y),
      grid.map((p) => p.index),
    );
  });
});

describe('checking the sweep block', () => {
  const FILE = '/x/s.layerrot.json';
  /** The config text with the sweep block's text on its own lines (line 7 on). */
  const text = (sweep: string, extra = '') => `{
  "dataset": { "name": "synthetic", "samples": 100, "testSamples": 20, "inputShape": [8], "classes": 2 },
  "model": { "type": "mlp", "hidden": [8] },
  "optimizer": { "type": "sgd", "learningRate": 0.1 },
  "schedule": { "epochs": 2, "batchSize": 16 },${extra}
  "sweep": {
${sweep}
  }
}`;
  const located = (r: Checked) => r.errors.map((e) => `${e.line}:${e.column} ${e.message}`);
  const errorsOf = (sweep: string, extra = '') => {
    const r = parseConfigText(text(sweep, extra), FILE);
    assert.equal(r.ok, false, 'expected errors');
    return located(r);
  };

  it('accepts a grid, and keeps it in the resolved config', () => {
    const r = parseConfigText(text('    "optimizer.learningRate": [0.01, 0.1],\n    "seed": [1, 2]'), FILE);
    assert.ok(r.ok, located(r).join('\n'));
    assert.deepEqual(r.config.sweep, { 'optimizer.learningRate': [0.01, 0.1], seed: [1, 2] });
  });

  it('a path naming no config key: on the key, with did you mean', () => {
    assert.deepEqual(errorsOf('    "optimizer.learningrate": [0.01],\n    "optimizr.layca": [true]'), [
      "7:5 sweep path 'optimizer.learningrate' names no config key: no 'learningrate' in optimizer; did you mean 'optimizer.learningRate'?",
      "8:5 sweep path 'optimizr.layca' names no config key: no 'optimizr' at the top level of the config; did you mean 'optimizer.layca'?",
    ]);
    const [noGuess] = errorsOf('    "schedule.zzz": [1]');
    assert.match(noGuess, /^7:5 .*no 'zzz' in schedule; keys there: epochs, batchSize, decay, warmupEpochs/);
    const [fixed] = errorsOf('    "name": ["a", "b"]');
    assert.match(fixed, /^7:5 a sweep cannot vary 'name'/);
  });

  it('a value of the wrong type for its path: on that value', () => {
    assert.deepEqual(errorsOf('    "optimizer.learningRate": [0.01, "fast", -1],\n    "optimizer.layca": [true, 1]'), [
      '7:38 sweep["optimizer.learningRate"][1] must be a number > 0, got \'fast\'',
      '7:46 sweep["optimizer.learningRate"][2] must be a number > 0, got -1',
      '8:31 sweep["optimizer.layca"][1] must be true or false, got 1',
    ]);
    assert.deepEqual(errorsOf('    "optimizer.type": ["sgd", "adm"]'), [
      `7:31 sweep["optimizer.type"][1] must be one of 'sgd', 'adam', 'rmsprop', 'adagrad', got 'adm'; did you mean 'adam'?`,
    ]);
  });

  it('an empty list, a value that is no list, a repeated value, an empty sweep', () => {
    assert.deepEqual(errorsOf('    "seed": [],\n    "optimizer.layca": true,\n    "optimizer.momentum": [0.9, 0.9]'), [
      '7:13 sweep.seed must be a non-empty array of values, got an empty array',
      '8:24 sweep["optimizer.layca"] must be a non-empty array of values, got true',
      '9:33 duplicate value 0.9 in sweep["optimizer.momentum"] (also at [0]): each point must differ',
    ]);
    assert.deepEqual(errorsOf(''), ['6:12 sweep must not be empty']);
  });

  it('an invalid point: named, on the value that makes it invalid, else on the sweep key', () => {
    assert.deepEqual(errorsOf('    "model.type": ["mlp", "vgg"]'), [
      `6:3 sweep point 2 of 2 (model.type="vgg") is invalid: missing required key 'filters' in model: Filters of each stage's convolutions (at most 16 stages), integers in [1, 65536]; the length is the number of stages.`,
      `6:3 sweep point 2 of 2 (model.type="vgg") is invalid: unknown key 'hidden' in model; allowed keys: type, filters, convsPerStage, kernelSize, batchNorm, dense, kernelInitializer, useBias`,
      '6:3 sweep point 2 of 2 (model.type="vgg") is invalid: a vgg model needs image inputs: dataset.inputShape must be [height, width, channels], got 1 dimension',
    ]);
    // Depth 9 is a valid integer for model.depth but no ResNet depth; and no ResNet takes flat inputs.
    assert.deepEqual(
      errorsOf(
        '    "seed": [1, 2],\n    "model": [{ "type": "mlp", "hidden": [8] }, { "type": "resnet", "depth": 9 }]',
      ),
      [
        '6:3 sweep point 2 of 4 (seed=1, model={"type":"resnet","depth":9}) is invalid: a resnet model needs image inputs: dataset.inputShape must be [height, width, channels], got 1 dimension (and 1 more point)',
        '8:49 sweep point 2 of 4 (seed=1, model={"type":"resnet","depth":9}) is invalid: model.depth 9 is not a valid ResNet depth: it must be 6n+2 (8, 14, 20, 26, 32, 38, 44, 56, 110, ...); nearest valid depths: 8 or 14 (and 1 more point)',
      ],
    );
  });

  it('train refuses a config with a sweep; check accepts it', async () => {
    const dir = tempDir('sweep-train');
    const file = writeConfig(dir, 'tiny', tiny({ seed: [1, 2] }));
    const trained = await runCli(['train', file, '--out', path.join(dir, 'runs')]);
    assert.equal(trained.code, 2, trained.stderr);
    assert.match(
      trained.stderr,
      /has a sweep block: train trains one config; run the grid's points with `layer-rotation sweep /,
    );
    assert.equal(fs.existsSync(path.join(dir, 'runs')), false);
    assert.equal((await runCli(['check', file])).code, 0);
  });
});

describe('layer-rotation sweep', () => {
  it('runs a 4-point grid, two at a time, into a sweep folder of normal runs', async () => {
    const dir = tempDir('sweep-grid');
    const file = writeConfig(
      dir,
      'tiny',
      tiny({ 'optimizer.learningRate': [0.02, 0.1], 'optimizer.layca': [true, false] }),
    );
    const r = await runCli(['sweep', file, '--jobs', '2']);
    assert.equal(r.code, 0, r.stderr);
    const sweepDir = path.join(dir, 'runs', 'tiny-sweep');
    const s = sweepJson(sweepDir);
    assert.equal(s.total, 4);
    assert.equal(s.config, file);
    assert.deepEqual(s.grid, { 'optimizer.learningRate': [0.02, 0.1], 'optimizer.layca': [true, false] });
    assert.deepEqual(s.counts, { pending: 0, running: 0, completed: 4, failed: 0, stopped: 0 });
    assert.deepEqual(
      s.points.map((p) => p.id),
      [
        'p000-learningRate=0.02-layca=true',
        'p001-learningRate=0.02-layca=false',
        'p002-learningRate=0.1-layca=true',
        'p003-learningRate=0.1-layca=false',
      ],
    );
    for (const p of s.points) {
      assert.equal(p.status, 'completed');
      assert.ok(p.testAccuracy !== null && p.testAccuracy >= 0 && p.testAccuracy <= 1, `${p.id}: ${p.testAccuracy}`);
      assert.deepEqual(runFolders(path.join(sweepDir, p.folder)), [path.join(sweepDir, p.runDir as string)]);
      const runDir = path.join(sweepDir, p.runDir as string);
      const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
      assert.equal(summary.status, 'completed');
      assert.equal(summary.testAccuracy, p.testAccuracy);
      // The run's config copy is the point's config: the values applied, no sweep.
      const copy = JSON.parse(fs.readFileSync(path.join(runDir, 'config.layerrot.json'), 'utf8'));
      assert.equal(copy.sweep, undefined);
      assert.equal(copy.name, `tiny-${p.id.slice(0, 4)}`);
      assert.equal(copy.optimizer.learningRate, p.values['optimizer.learningRate']);
      assert.equal(copy.optimizer.layca, p.values['optimizer.layca']);
      const events = strictEvents(runDir);
      assert.equal(events[0].name, `tiny-${p.id.slice(0, 4)}`);
      assert.equal(events[events.length - 1].type, 'run_finished');
    }
    // Two at a time: the second point starts before the first one ends.
    const line = (re: RegExp) => r.stderr.split('\n').findIndex((l) => re.test(l));
    assert.ok(line(/^p001-\S+: started/) < line(/^p000-\S+: completed/), r.stderr);
    assert.match(r.stderr, /\[0 done, 0 failed, 2 running of 4\]/);
    assert.match(r.stderr, /\[4 done, 0 failed, 0 running of 4\]/);
    assert.match(r.stdout, /^p003-learningRate=0\.1-layca=false\s+completed\s+test accuracy \d+\.\d\d%$/m);

    // The sweep's folder compares as its points' runs, in the grid's order.
    assert.deepEqual(
      expandRunFolders(sweepDir),
      s.points.map((p) => path.join(sweepDir, p.runDir as string)),
    );
    const c = await runCli(['compare', sweepDir]);
    assert.equal(c.code, 0, c.stderr);
    for (const p of s.points) assert.match(c.stdout, new RegExp(`^tiny-${p.id.slice(0, 4)}\\s+completed`, 'm'));
  });

  it('resumes: skips completed points and reruns a failed one into a fresh run folder', async () => {
    const dir = tempDir('sweep-resume');
    // The second point reads MNIST from a folder that does not exist yet.
    const mnist = { name: 'mnist', path: 'small-mnist', trainSubset: 200, testSubset: 50 };
    const file = writeConfig(dir, 'tiny', tiny({ dataset: [tiny({}).dataset, mnist] }));
    const out = path.join(dir, 'elsewhere');
    const first = await runCli(['sweep', file, '--out', out]);
    assert.equal(first.code, 1, first.stderr);
    const sweepDir = path.join(out, 'tiny-sweep');
    let s = sweepJson(sweepDir);
    assert.deepEqual(s.counts, { pending: 0, running: 0, completed: 1, failed: 1, stopped: 0 });
    const [done, failed] = s.points;
    assert.match(failed.reason ?? '', /small-mnist/);
    assert.match(first.stderr, /p001-dataset=.*: failed: .*small-mnist/);
    // The point's config has the dataset path made absolute (it is read from the point's folder).
    const pointConfigFile = path.join(sweepDir, failed.folder, 'point.layerrot.json');
    assert.equal(JSON.parse(fs.readFileSync(pointConfigFile, 'utf8')).dataset.path, path.join(dir, 'small-mnist'));

    writeMnistFolder(path.join(dir, 'small-mnist'), { nTrain: 200, nTest: 50 });
    const second = await runCli(['sweep', file, '--out', out]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /p001-dataset=.*: rerunning into a fresh run folder \(it failed: /);
    assert.doesNotMatch(second.stderr, /p000-dataset=.*: started/);
    s = sweepJson(sweepDir);
    assert.deepEqual(s.counts, { pending: 0, running: 0, completed: 2, failed: 0, stopped: 0 });
    assert.deepEqual(s.points[0], done, 'the completed point is untouched');
    assert.equal(s.points[1].attempts, 2);
    const runs = runFolders(path.join(sweepDir, failed.folder));
    assert.equal(runs.length, 2, 'the failed attempt is kept beside the new one');
    assert.ok(runs.includes(path.join(sweepDir, failed.runDir as string)));
    assert.equal(
      JSON.parse(fs.readFileSync(path.join(sweepDir, s.points[1].runDir as string, 'summary.json'), 'utf8')).status,
      'completed',
    );
    assert.match(fs.readFileSync(path.join(sweepDir, failed.folder, 'output.log'), 'utf8'), /--- attempt 2/);
  });

  it('two shards at once into one folder: disjoint, together the grid, sweep.json complete', async () => {
    const dir = tempDir('sweep-shards');
    const file = writeConfig(dir, 'tiny', tiny({ seed: [1, 2], 'optimizer.learningRate': [0.05, 0.1] }));
    const out = path.join(dir, 'shared');
    const [one, two] = await Promise.all([
      runCli(['sweep', file, '--shard', '1/2', '--out', out]),
      runCli(['sweep', file, '--shard', '2/2', '--out', out]),
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    const started = (stderr: string) => [...stderr.matchAll(/^(p\d{3})-\S*: started/gm)].map((m) => m[1]);
    assert.deepEqual(started(one.stderr), ['p000', 'p002']);
    assert.deepEqual(started(two.stderr), ['p001', 'p003']);
    assert.match(one.stderr, /shard 1\/2: 2 of the grid's 4 points/);
    const sweepDir = path.join(out, 'tiny-sweep');
    const s = sweepJson(sweepDir);
    assert.deepEqual(s.counts, { pending: 0, running: 0, completed: 4, failed: 0, stopped: 0 });
    assert.deepEqual(readSweep(sweepDir)?.points, s.points);
    assert.equal(fs.existsSync(path.join(sweepDir, 'sweep.json.lock')), false);
    // A reader copes with a sweep.json cut short: the points' status files hold the truth.
    fs.writeFileSync(path.join(sweepDir, 'sweep.json'), JSON.stringify(s).slice(0, 200));
    assert.deepEqual(readSweep(sweepDir)?.points, s.points);
  });

  it('Ctrl-C stops the running points and records them as stopped', async () => {
    const dir = tempDir('sweep-stop');
    const file = writeConfig(dir, 'tiny', tiny({ seed: [1, 2, 3] }, { schedule: { epochs: 500, batchSize: 32 } }));
    let sent = false;
    const r = await runCli(['sweep', file, '--jobs', '2'], {
      onStderr: (text, child) => {
        if (!sent && (text.match(/: started/g) ?? []).length === 2) {
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 1500);
        }
      },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /stopping the running points/);
    const s = sweepJson(path.join(dir, 'runs', 'tiny-sweep'));
    assert.deepEqual(
      s.points.map((p) => p.status),
      ['stopped', 'stopped', 'pending'],
    );
    for (const p of s.points.slice(0, 2)) {
      const events = strictEvents(path.join(dir, 'runs', 'tiny-sweep', p.runDir as string));
      assert.equal(events[events.length - 1].status, 'stopped');
    }
  });
});

describe('sweeps use the machine', () => {
  /** The [run_started, run_finished] times of a sweep's points, from their logs, in grid order. */
  const intervals = (sweepDir: string): { start: number; end: number; started: Record<string, any> }[] =>
    sweepJson(sweepDir).points.map((p) => {
      const events = strictEvents(path.join(sweepDir, p.runDir as string));
      const started = events.find((e) => e.type === 'run_started');
      const finished = events.find((e) => e.type === 'run_finished');
      assert.ok(started && finished, `${p.id}: ${events.map((e) => e.type).join(', ')}`);
      return { start: started.time, end: finished.time, started };
    });

  it('--jobs 2 trains two tfjs points at the same time (their runs overlap in their logs)', async () => {
    const dir = tempDir('sweep-overlap');
    // A few seconds of training each, so that the second run's start-up cannot outlast the first run.
    const config = tiny(
      { seed: [1, 2] },
      {
        dataset: { name: 'synthetic', samples: 4000, testSamples: 200, inputShape: [64], classes: 4 },
        model: { type: 'mlp', hidden: [128, 128] },
        schedule: { epochs: 2, batchSize: 16 },
      },
    );
    const file = writeConfig(dir, 'tiny', config);
    const r = await runCli(['sweep', file, '--jobs', '2']);
    assert.equal(r.code, 0, r.stderr);
    const [a, b] = intervals(path.join(dir, 'runs', 'tiny-sweep'));
    assert.ok(a.end - a.start > 1000 && b.end - b.start > 1000, `runs of ${a.end - a.start} and ${b.end - b.start} ms`);
    const overlap = Math.min(a.end, b.end) - Math.max(a.start, b.start);
    assert.ok(overlap > 0, `the runs do not overlap: ${JSON.stringify([a.start, a.end, b.start, b.end])}`);
    assert.match(a.started.backendDescription, /^wasm \((SIMD|no SIMD), 1 thread\)$/, 'one thread a tfjs run');
  });

  it(
    '--jobs 2 with PyTorch: each run gets its share of the cores, as its log says',
    pytorchTestOptions(300_000),
    async () => {
      requireTorch();
      const dir = tempDir('sweep-torch-threads');
      const file = writeConfig(dir, 'tiny', tiny({ seed: [1, 2] }, { engine: 'pytorch' }));
      const r = await runCli(['sweep', file, '--jobs', '2', '--python', pythonInterpreter()]);
      assert.equal(r.code, 0, r.stderr);
      const env = process.env.OMP_NUM_THREADS?.trim();
      // The cores divided by the jobs (1 on 2 cores), unless this environment sizes the threads itself.
      const expected = env ? Number(env) : Math.max(1, Math.floor(os.availableParallelism() / 2));
      for (const run of intervals(path.join(dir, 'runs', 'tiny-sweep'))) {
        assert.equal(run.started.engine, 'pytorch');
        assert.match(
          run.started.backendDescription,
          new RegExp(`^PyTorch \\S+, cpu \\([^)]+\\), ${expected} threads?$`),
          `${os.availableParallelism()} cores, 2 jobs`,
        );
      }
      if (!env)
        assert.match(
          r.stderr,
          new RegExp(
            `^sweep tiny: PyTorch runs: ${expected} threads? a process \\(${os.availableParallelism()} cores / 2 at a time\\)$`,
            'm',
          ),
        );
    },
  );

  it(
    'resuming reruns a completed point whose engine "auto" now resolves to another engine (no mixed sweep)',
    pytorchTestOptions(300_000),
    async () => {
      requireTorch();
      const dir = tempDir('sweep-engine-changed');
      const file = writeConfig(dir, 'tiny', tiny({ seed: [1, 2] }, { engine: 'auto' }));
      const sweepDir = path.join(dir, 'runs', 'tiny-sweep');
      // No Python with torch: "auto" trains with tfjs.
      const first = await runCli(['sweep', file], { env: { LAYER_ROTATION_PYTHON: path.join(dir, 'no-python') } });
      assert.equal(first.code, 0, first.stderr);
      let s = sweepJson(sweepDir);
      assert.deepEqual(
        s.points.map((p) => [p.status, p.engine]),
        [
          ['completed', 'tfjs'],
          ['completed', 'tfjs'],
        ],
      );
      const firstRuns = s.points.map((p) => p.runDir);
      // Torch found now: both points are run again, with PyTorch, into fresh run folders.
      const second = await runCli(['sweep', file], { env: { LAYER_ROTATION_PYTHON: pythonInterpreter() } });
      assert.equal(second.code, 0, second.stderr);
      for (const id of ['p000', 'p001'])
        assert.match(
          second.stderr,
          new RegExp(
            `^${id}-\\S*: rerunning into a fresh run folder \\(it trained with tfjs; its engine now resolves to pytorch\\)$`,
            'm',
          ),
        );
      s = sweepJson(sweepDir);
      assert.deepEqual(
        s.points.map((p) => [p.status, p.engine, p.attempts]),
        [
          ['completed', 'pytorch', 2],
          ['completed', 'pytorch', 2],
        ],
      );
      for (const run of intervals(sweepDir)) assert.equal(run.started.engine, 'pytorch');
      for (const [k, p] of s.points.entries()) {
        assert.notEqual(p.runDir, firstRuns[k]);
        assert.ok(fs.existsSync(path.join(sweepDir, firstRuns[k] as string)), 'the tfjs run is kept');
      }
      // Resumed again with the same engine: nothing runs.
      const third = await runCli(['sweep', file], { env: { LAYER_ROTATION_PYTHON: pythonInterpreter() } });
      assert.equal(third.code, 0, third.stderr);
      assert.doesNotMatch(third.stderr, /: (started|rerunning)/);
    },
  );

  it('divides the cores between the jobs and the processes; OMP_NUM_THREADS from the environment wins', () => {
    assert.deepEqual(shareOfCores(2, 1, 2, {}).threads, 1);
    assert.deepEqual(shareOfCores(1, 1, 2, {}).threads, 2);
    assert.deepEqual(shareOfCores(3, 1, 8, {}).threads, 2);
    assert.deepEqual(shareOfCores(2, 2, 8, {}).threads, 2);
    assert.deepEqual(shareOfCores(4, 1, 2, {}).threads, 1, 'at least one');
    assert.equal(shareOfCores(2, 2, 8, {}).why, '2 threads a process (8 cores / 2 at a time x 2 processes)');
    const given = shareOfCores(2, 1, 2, { OMP_NUM_THREADS: '3' });
    assert.equal(given.threads, undefined);
    assert.equal(given.why, 'OMP_NUM_THREADS=3 from the environment (not divided)');
  });

  it('a PyTorch run started beside other trainings of the window takes its share of the cores, and says so', () => {
    // Only the fields threadsBeside reads (the rest of a request goes through untouched).
    const request = (fields: object) => ({ processes: 1, ...fields }) as unknown as RunRequest;
    const torch = request({ engine: 'pytorch', notes: ['engine auto: PyTorch'] });
    assert.equal(threadsBeside(torch, 0, 2, {}), torch, 'alone: the engine takes every core');
    const threadsOf = (r: RunRequest) => (r.engine === 'pytorch' ? r.threads : undefined);
    const beside = threadsBeside(torch, 1, 2, {});
    assert.equal(threadsOf(beside), 1);
    assert.deepEqual(beside.notes, [
      'engine auto: PyTorch',
      '1 other training is running in this window: 1 thread a process (2 cores / 2 at a time), so that they do not oversubscribe the cores',
    ]);
    assert.equal(threadsOf(threadsBeside(torch, 2, 8, {})), 2);
    assert.equal(threadsOf(threadsBeside(request({ engine: 'pytorch', processes: 2 }), 1, 8, {})), 2);
    assert.match(threadsBeside(torch, 2, 8, {}).notes?.[1] ?? '', /^2 other trainings are running/);
    const tfjs = request({ engine: 'tfjs' });
    assert.equal(threadsBeside(tfjs, 3, 2, {}), tfjs, 'tfjs: one thread a run already');
    const given = request({ engine: 'pytorch', threads: 2 });
    assert.equal(threadsBeside(given, 1, 2, {}), given, 'a thread count given stays');
    assert.equal(threadsBeside(torch, 1, 2, { OMP_NUM_THREADS: '2' }), torch, "the user's OMP_NUM_THREADS wins");
  });

  it("passes a request's thread count to the engine and to its BLAS pools' environment", async () => {
    const dir = tempDir('sweep-torch-env');
    // A stand-in interpreter that writes what it was given: its arguments and environment.
    const fake = path.join(dir, 'python');
    fs.writeFileSync(fake, `#!/bin/sh\necho "$@" > "${dir}/args"\nenv > "${dir}/env"\n`, { mode: 0o755 });
    const file = writeConfig(dir, 'tiny', syntheticConfig({ engine: 'pytorch' }));
    const checked = parseConfigText(fs.readFileSync(file, 'utf8'), file);
    assert.ok(checked.ok, JSON.stringify(checked.errors));
    const base = pytorchRequest({ configFile: file, runsDir: dir, name: 'tiny' }, checked.config, fake, undefined);
    assert.equal(pytorchCommand(base, 'r', dir).includes('--threads'), false, 'no count: the engine chooses');
    assert.deepEqual(threadEnv(undefined), {});
    const req = { ...base, threads: 3 };
    const command = pytorchCommand(req, 'r', dir);
    assert.equal(command[command.indexOf('--threads') + 1], '3');
    const child = new PytorchLauncher(req).start('r', dir);
    await new Promise((resolve) => child.on('exit', resolve));
    assert.match(fs.readFileSync(path.join(dir, 'args'), 'utf8'), / --threads 3( |$)/m);
    const env = fs.readFileSync(path.join(dir, 'env'), 'utf8');
    for (const name of ['OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'])
      assert.match(env, new RegExp(`^${name}=3$`, 'm'));
  });
});

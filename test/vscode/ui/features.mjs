// The default example's first-layer features in the real workbench (issue 10): "Start Training" on
// examples/mnist-default.layerrot.json (an MLP on MNIST: its first dense layer's 784 weights per
// unit are 28x28 images), with the engine auto (the default: PyTorch where a Python with torch
// is found, else tfjs; the run log says which, and both write features), and the monitor's side view shows the "First-layer features" card, drawn
// from the run's features event at step 0 (initialization beside now), with one tile per unit
// written (at most 64). Then Stop Training: the run stops, no runner is left.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, screenshot, waitFor, webviewFrame } from '../harness.mjs';
import { runners } from './lib/processes.mjs';
import { openNewFile, startTrainingFromPalette } from './lib/workbench.mjs';

export const options = { workspaceFrom: 'examples', trust: 'off' };

const CONFIG = 'mnist-default.layerrot.json';

function runEvents(runsDir) {
  if (!existsSync(runsDir)) return null;
  const [run] = readdirSync(runsDir);
  const file = run && join(runsDir, run, 'events.jsonl');
  if (!file || !existsSync(file)) return null;
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // '' after the last \n, or a line still being written
  return lines.map((l) => JSON.parse(l));
}

export default async function features(session, t) {
  const { page, workspace } = session;
  const runsDir = join(workspace, 'runs');
  await openNewFile(page, CONFIG);
  await startTrainingFromPalette(page);

  // The runner writes the snapshot of initialization right after the model is built.
  const snapshot = await waitFor(() => runEvents(runsDir)?.find((e) => e.type === 'features'), {
    timeout: 90000,
    interval: 500,
    what: 'the features event of step 0 in the run log',
  });
  assert.equal(snapshot.step, 0);
  const [started, said] = runEvents(runsDir);
  assert.equal(said.type, 'log');
  const chose = /^engine auto: (PyTorch|tfjs) /.exec(said.message);
  assert.ok(chose, said.message);
  assert.equal(started.engine, chose[1].toLowerCase());
  t.diagnostic(said.message);
  assert.equal(snapshot.layer, 'dense1');
  assert.deepEqual(snapshot.image, [28, 28, 1]);

  // The monitor draws it: the card is shown, its canvas drawn with one tile per unit, twice
  // (initialization and now), and labelled for screen readers.
  const monitor = webviewFrame(page).locator('body');
  const drawn = await waitFor(
    async () => {
      const s = await monitor.evaluate(() => window.__layerRotationMonitor ?? null);
      return s?.features ? s : null;
    },
    { timeout: 30000, interval: 250, what: 'the monitor to draw the first-layer features' },
  );
  t.diagnostic(`features drawn: ${JSON.stringify(drawn.features)} (${snapshot.units} units written)`);
  // At step 0 initialization and now are one snapshot: one panel, a tile per unit.
  assert.equal(drawn.features.step, 0);
  assert.equal(drawn.features.tiles, snapshot.units);
  const card = webviewFrame(page).locator('.features-card');
  await card.waitFor({ state: 'visible', timeout: 10000 });
  assert.match(await card.innerText(), /First-layer features/);
  const canvas = card.locator('canvas.features-canvas');
  const box = await canvas.boundingBox();
  assert.ok(box && box.width > 100 && box.height > 50, `the features canvas is ${JSON.stringify(box)}`);
  assert.match((await canvas.getAttribute('aria-label')) ?? '', /dense1/);
  // Not blank: the canvas holds more than its background colour.
  const colours = await canvas.evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length && seen.size < 50; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
  assert.ok(colours >= 20, `the features canvas has ${colours} colours: not drawn`);
  await card.scrollIntoViewIfNeeded();
  t.diagnostic(`screenshot: ${await screenshot(page, 'features')}`);

  // At the first epoch's end the runner writes another snapshot, and the card shows both:
  // initialization beside now, a tile per unit in each.
  const t0 = Date.now();
  const later = await waitFor(
    async () => {
      const s = await monitor.evaluate(() => window.__layerRotationMonitor ?? null);
      return s?.features?.step > 0 ? s.features : null;
    },
    { timeout: 150000, interval: 500, what: "the monitor to draw the first epoch's features" },
  );
  t.diagnostic(`features at the first epoch's end: ${JSON.stringify(later)} after ${Date.now() - t0} ms`);
  assert.equal(later.tiles, 2 * snapshot.units);
  const epochEnd = runEvents(runsDir).filter((e) => e.type === 'features');
  assert.equal(epochEnd.length, 2);
  assert.equal(later.step, epochEnd[1].step);
  t.diagnostic(`screenshot: ${await screenshot(page, 'features-epoch-1')}`);

  // Stop: the run ends stopped, and its runner is gone.
  await runCommand(page, 'Layer Rotation: Stop Training');
  const last = await waitFor(() => runEvents(runsDir)?.find((e) => e.type === 'run_finished'), {
    timeout: 30000,
    interval: 250,
    what: 'the run to stop',
  });
  assert.equal(last.status, 'stopped', `${last.status}: ${last.reason}`);
  await waitFor(() => runners(runsDir).length === 0, { timeout: 10000, what: 'no runner left' });
}

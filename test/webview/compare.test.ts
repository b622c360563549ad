// The comparison tab in headless Chromium: the page of webview/html.ts with its strict CSP and
// compare.js, fed the host message of webview/compareProtocol.ts (a comparison built in Node by
// src/experiments/compare.ts from synthetic run logs). Screenshots go to .test-artifacts/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sortRows } from '../../src/experiments/compareModel';
import { isCompareWebviewMessage } from '../../webview/compareProtocol';
import { fixtureComparison } from './compare-fixture';
import { cspViolations, type Harness, ROOT, startHarness } from './harness';

const ARTIFACTS = path.join(ROOT, '.test-artifacts');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('comparison tab', { timeout: 180_000 }, () => {
  let h: Harness;
  // Five runs: one failed (with a test accuracy), one without a test accuracy (not a point).
  const { model, curves } = fixtureComparison(
    [
      { lr: 0.05, seed: 1 },
      { lr: 0.2, seed: 2 },
      { lr: 0.1, seed: 3, status: 'failed', testAccuracy: 0.3 },
      { lr: 0.4, seed: 4 },
      { lr: 0.3, seed: 5, status: 'stopped', testAccuracy: null },
    ],
    4,
    400,
  );
  const draws = async () => (await h.state()).draws as number;
  const sentOf = async (type: string) => (await h.sent()).filter((m) => m.type === type);

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    h = await startHarness({ page: 'compare', width: 1100, height: 1400 });
  });

  after(async () => {
    await h?.close();
  });

  it('posts ready, ignores a malformed comparison, then draws a valid one', async () => {
    assert.deepEqual((await h.sent())[0], { type: 'ready' });
    await h.post({ type: 'comparison', model, curves: curves.slice(1), notes: [] }); // a run's curves missing
    await h.post({ type: 'comparison', model: { rows: 'x' }, curves: [], notes: [] });
    assert.equal(await draws(), 0);
    await h.post({ type: 'comparison', model, curves, notes: ['gone-run: no such run'] });
    const s = await h.state();
    assert.equal(s.draws, 1);
    assert.equal(s.rows, 5);
    assert.equal(s.points, 4, 'the run without a test accuracy is no point');
    assert.equal(s.panels, 5);
    assert.equal(s.lines, 20);
    assert.match(await h.page.locator('.compare-notes').innerText(), /gone-run/);
    assert.match(await h.page.locator('.figure-note').innerText(), /run-5-lr-0\.3/);
    await h.page.screenshot({ path: path.join(ARTIFACTS, 'compare-tab.png'), fullPage: true });
  });

  it('shows the differing config values, accuracies, distances and verdict of every run', async () => {
    const headers = await h.page.locator('.compare-table th').allInnerTexts();
    for (const want of [
      'run',
      'status',
      'seconds',
      'optimizer.learningRate',
      'seed',
      'test_accuracy',
      'min_distance',
      'mean_distance',
      'verdict',
    ])
      assert.ok(
        headers.some((t) => t.trim() === want),
        `no header ${want} in ${headers.join(' | ')}`,
      );
    const row = h.page.locator('tr.run-row[data-run="run-2-lr-0.2"]');
    const text = await row.innerText();
    assert.match(text, /80\.00%/); // test accuracy 0.6 + 0.2
    const r = model.rows.find((x) => x.runId === 'run-2-lr-0.2')!;
    assert.match(text, new RegExp((r.minDistance as number).toFixed(3)));
    assert.match(text, new RegExp(r.verdictStatus.replace(/[()]/g, '.')));
    assert.equal(await h.page.locator('tr.status-failed').count(), 1);
  });

  it('sorts by a clicked header, ascending then descending, as sortRows does', async () => {
    const th = h.page.locator('.compare-table th[data-key="test_accuracy"]');
    await th.click();
    let s = await h.state();
    assert.deepEqual(s.sort, { key: 'test_accuracy', descending: false });
    assert.deepEqual(
      s.order,
      sortRows(model.rows, 'test_accuracy').map((r) => r.runId),
    );
    await h.page.locator('.compare-table th[data-key="test_accuracy"]').click();
    s = await h.state();
    assert.deepEqual(
      s.order,
      sortRows(model.rows, 'test_accuracy', true).map((r) => r.runId),
    );
    const shown = await h.page.locator('tr.run-row').evaluateAll((rows) => rows.map((r) => (r as any).dataset.run));
    assert.deepEqual(shown, s.order);
    assert.equal(s.order[s.order.length - 1], 'run-5-lr-0.3', 'blanks last');
  });

  it('expands a row to every layer distance', async () => {
    await h.page.locator('tr.run-row[data-run="run-1-lr-0.05"] button.toggle').click();
    const cells = await h.page
      .locator('.layers-row .layer-cell')
      .evaluateAll((c) => c.map((x) => (x as any).dataset.layer));
    assert.deepEqual(cells, ['dense1', 'dense2', 'dense3', 'output']);
  });

  it('draws the figure: a point per run, the failed one a cross; hover names the run', async () => {
    assert.equal(await h.page.locator('svg.figure g.point').count(), 4);
    assert.equal(await h.page.locator('svg.figure g.point.failed path').count(), 1);
    const xs = async () =>
      h.page.locator('svg.figure g.point circle:first-of-type').evaluateAll((c) => c.map((x) => x.getAttribute('cx')));
    const before = await xs();
    await h.page.locator('svg.figure g.point[data-run="run-4-lr-0.4"]').hover();
    const tip = h.page.locator('.compare-tooltip');
    assert.equal(await tip.isVisible(), true);
    assert.equal(await tip.innerText(), 'run-4-lr-0.4');
    await h.page.locator('button.segment[data-value="mean"]').click();
    assert.equal((await h.state()).x, 'mean');
    assert.notDeepEqual(await xs(), before, 'the points move to the mean over layers');
  });

  it('switches the curves to a panel per layer with a line per run', async () => {
    await h.page.locator('button.segment[data-value="layer"]').click();
    const s = await h.state();
    assert.equal(s.curvesMode, 'layer');
    assert.equal(s.panels, 4);
    assert.equal(s.lines, 20);
    assert.equal(await h.page.locator('.curves-legend .legend-item').count(), 5);
  });

  it('asks the host for CSV and SVG exports with the table order and the x axis', async () => {
    const n = (await sentOf('export')).length;
    await h.page.getByRole('button', { name: 'Table CSV' }).click();
    await h.page.locator('button[title="Save the figure as SVG"]').click();
    const sent = (await sentOf('export')).slice(n);
    assert.deepEqual(sent, [
      { type: 'export', kind: 'tableCsv', sort: { key: 'test_accuracy', descending: true }, x: 'mean' },
      { type: 'export', kind: 'figureSvg', sort: { key: 'test_accuracy', descending: true }, x: 'mean' },
    ]);
    for (const m of await h.sent())
      assert.ok(isCompareWebviewMessage(m), `the host would reject ${JSON.stringify(m).slice(0, 200)}`);
  });

  it('renders the figure and the curves to PNG and sends the bytes', async () => {
    await h.page.locator('button[title="Save the figure as PNG"]').click();
    await h.page.locator('button[title="Save the curves as drawn as PNG"]').click();
    await h.page.waitForFunction(
      () => ((globalThis as any).__layerRotationCompareSent as any[]).filter((m) => m.type === 'png').length === 2,
    );
    const pngs = await sentOf('png');
    assert.deepEqual(
      pngs.map((m) => m.kind),
      ['figurePng', 'curvesPng'],
    );
    for (const m of pngs as any[]) {
      assert.equal(isCompareWebviewMessage(m), true);
      const bytes = Buffer.from(m.data, 'base64');
      assert.ok(bytes.subarray(0, 8).equals(PNG), `${m.kind} is not a PNG`);
      const width = bytes.readUInt32BE(16);
      assert.ok(width > 300, `${m.kind} is ${width} px wide`);
    }
  });

  it('no console errors, no CSP violations', async () => {
    assert.deepEqual(h.problems, []);
    assert.deepEqual(await cspViolations(h.page), []);
  });
});

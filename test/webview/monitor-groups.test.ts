// The monitor on a model of many named layers (issue 13): a tiny-BERT-like run of 149 layers (the
// names the Transformers callback gives: embeddings, 24 encoder layers of 6 kernels, pooler,
// classifier) is drawn grouped by block by default: one line per block, the mean of its layers,
// coloured by its depth; a block in the table or the legend expands to its layers (coloured by
// their own depth) and folds again; the name filter picks blocks by their layers' names; the
// "group" control (kept with the chart settings) draws every layer instead; a run of fewer than
// GROUP_ABOVE layers is not grouped unless asked.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GROUP_ABOVE } from '../../src/runlog/layerGroups';
import { parseRgb, viridis } from '../../src/runlog/viridis';
import { fakeRun } from './fake-run';
import { type Harness, shownText, shownTexts, startHarness } from './harness';

const KERNELS = [
  'attention.self.query',
  'attention.self.key',
  'attention.self.value',
  'attention.output.dense',
  'intermediate.dense',
  'output.dense',
];
const bertNames = (blocks: number) => [
  'bert.embeddings.word_embeddings',
  'bert.embeddings.position_embeddings',
  'bert.embeddings.token_type_embeddings',
  ...Array.from({ length: blocks }, (_, k) => KERNELS.map((p) => `bert.encoder.layer.${k}.${p}`)).flat(),
  'bert.pooler.dense',
  'classifier',
];

/** Where a colour is on viridis (0: dark purple, 1: yellow): the nearest of 1,001 samples. */
function viridisT(css: string): number {
  const c = parseRgb(css) as number[];
  let best = Infinity;
  let at = -1;
  for (let k = 0; k <= 1000; k++) {
    const v = parseRgb(viridis(k / 1000)) as number[];
    const d = (v[0] - c[0]) ** 2 + (v[1] - c[1]) ** 2 + (v[2] - c[2]) ** 2;
    if (d < best) {
      best = d;
      at = k / 1000;
    }
  }
  return at;
}

describe('monitor webview: layers grouped by block', { timeout: 240_000 }, () => {
  let h: Harness;
  const names = bertNames(24);
  // Block bert.encoder.layer.5's layers lag.
  const lagging = names.map((n, i) => (n.startsWith('bert.encoder.layer.5.') ? i : -1)).filter((i) => i >= 0);
  const run = fakeRun({
    runId: 'tiny-bert-20261201-100000',
    name: 'tiny-bert',
    layerNames: names,
    epochs: 2,
    stepsPerEpoch: 100,
    recordsPerEpoch: 20,
    lagging,
  });
  const small = fakeRun({
    runId: 'bert-2-20261201-110000',
    name: 'bert-2',
    layerNames: bertNames(2),
    epochs: 2,
    stepsPerEpoch: 50,
  });
  const state = () => h.state();
  const waitLines = (n: number) =>
    h.page.waitForFunction((n) => (globalThis as any).__layerRotationMonitor.seriesCount === n, n, { timeout: 20_000 });

  before(async () => {
    h = await startHarness({ width: 1100, height: 1000 });
    await h.post({ type: 'load', runId: run.started.runId, events: run.events });
    await h.post({ type: 'select', runId: run.started.runId });
    await h.page.waitForFunction(
      ([id, n]) => {
        const s = (globalThis as any).__layerRotationMonitor;
        return s.runId === id && s.points === n && s.seriesCount > 0 && s.lagging.length > 0;
      },
      [run.started.runId, run.rotationRecords] as const,
      { timeout: 30_000 },
    );
  });

  after(async () => {
    await h?.close();
  });

  it('draws one line per block by default, the mean of its layers, coloured by depth', async () => {
    assert.equal(names.length, 149);
    const s = await state();
    assert.equal(s.grouped, true, `${names.length} layers > ${GROUP_ABOVE}: grouped by default`);
    // bert.embeddings (3), 24 encoder blocks (6 each), and the pooler and the classifier as layers.
    assert.equal(s.seriesCount, 27);
    assert.deepEqual(
      s.drawnLines.map((l: { layers: number }) => l.layers),
      [3, ...Array(24).fill(6), 1, 1],
    );
    assert.deepEqual(s.drawnLayers.slice(0, 3), ['bert.embeddings', 'bert.encoder.layer.0', 'bert.encoder.layer.1']);
    assert.deepEqual(s.drawnLayers.slice(-2), ['bert.pooler.dense', 'classifier']);
    // A block's line ends at its layers' mean distance (the chart's columns are Float32).
    const mean = (idx: number[]) => idx.reduce((a, i) => a + run.lastDistances[i], 0) / idx.length;
    assert.ok(Math.abs(s.rawLast[0] - mean([0, 1, 2])) < 1e-5, `${s.rawLast[0]} vs ${mean([0, 1, 2])}`);
    assert.ok(Math.abs(s.rawLast[6] - mean(lagging)) < 1e-5, 'the lagging block: the mean of its lagging layers');
    assert.ok(Math.abs(s.rawLast[25] - run.lastDistances[147]) < 1e-6, 'a block of one layer is the layer');
    // Colours in viridis order, first block to last; a block's between its first and last layer's.
    const t = s.drawnLines.map((l: { color: string }) => viridisT(l.color));
    for (let k = 1; k < t.length; k++) assert.ok(t[k] > t[k - 1], `line ${k} deeper than line ${k - 1}: ${t}`);
    const layerT = s.layerColors.map(viridisT);
    assert.ok(t[1] > layerT[3] && t[1] < layerT[8], 'bert.encoder.layer.0: between its first and last layer');
    // The table: a row per block (folded), the two single layers as layer rows; the lagging block says so.
    assert.equal(await h.page.locator('.layer-table tr.block-row').count(), 25);
    assert.deepEqual(s.tableLayers, ['bert.pooler.dense', 'classifier']);
    assert.deepEqual(await shownTexts(h.page.locator('tr.block-row.lagging .layer-name')), ['bert.encoder.layer.5']);
    assert.match(await shownText(h.page.locator('tr.block-row.lagging .col-status')), /6 lagging/);
    assert.equal(s.lagging.length, 6, 'the lagging layers are still judged one by one');
    assert.match(await h.page.locator('.rotation-legend').innerText(), /its layers’ mean/);
    assert.match(await h.page.locator('.rotation-card .card-note').innerText(), /27 blocks of 149 layers/);
    assert.deepEqual(h.problems, []);
  });

  it('expands a block from the table and from the legend: its layers, coloured by their own depth', async () => {
    await h.page.locator('.layer-table .block-toggle[data-block="-2"]').click();
    await waitLines(27 - 1 + 6);
    let s = await state();
    const layer0 = names.slice(3, 9);
    assert.deepEqual(s.drawnLayers.slice(1, 7), layer0, 'bert.encoder.layer.0 drawn as its six layers');
    assert.deepEqual(
      s.drawnLines.slice(1, 7).map((l: { color: string }) => l.color),
      s.layerColors.slice(3, 9),
      'each coloured by its own depth',
    );
    assert.deepEqual(await shownTexts(h.page.locator('.layer-table tr.in-block .layer-name')), layer0);
    assert.equal(
      await h.page.locator('.layer-table .block-toggle[data-block="-2"]').getAttribute('aria-expanded'),
      'true',
      'its row stays, to fold it again',
    );
    // From the legend: bert.encoder.layer.5 (block 6).
    await h.page.locator('.rotation-legend [data-block="-7"]').first().click();
    await waitLines(27 - 2 + 12);
    s = await state();
    assert.ok(names.slice(33, 39).every((n) => s.drawnLayers.includes(n)));
    assert.deepEqual(
      s.blocks.filter((b: { expanded: boolean }) => b.expanded).map((b: { name: string }) => b.name),
      ['bert.encoder.layer.0', 'bert.encoder.layer.5'],
    );
    // Fold both again (the table's row, the legend's entry of an expanded block).
    await h.page.locator('.layer-table .block-toggle[data-block="-2"]').click();
    await waitLines(27 - 1 + 6);
    await h.page.locator('.rotation-legend .legend-block.expanded').click();
    await waitLines(27);
    assert.deepEqual(h.problems, []);
  });

  it('filters by layer name: a block shows when any of its layers match', async () => {
    const box = h.page.locator('.layer-filter');
    assert.ok(await box.isVisible(), 'grouped, the filter is there');
    await box.fill('intermediate');
    await waitLines(24);
    let s = await state();
    assert.ok(
      s.drawnLayers.every((n: string) => /^bert\.encoder\.layer\.\d+$/.test(n)),
      s.drawnLayers.join(),
    );
    assert.match(await h.page.locator('.table-more').innerText(), /24 layers match/);
    await box.fill('word_emb');
    await waitLines(1);
    s = await state();
    assert.deepEqual(s.drawnLayers, ['bert.embeddings']);
    // Expanded under a filter: its matching layers only.
    await h.page.locator('.layer-table .block-toggle[data-block="-1"]').click();
    await h.page.waitForFunction(() => (globalThis as any).__layerRotationMonitor.drawnLayers[0] !== 'bert.embeddings');
    s = await state();
    assert.deepEqual(s.drawnLayers, ['bert.embeddings.word_embeddings']);
    await box.fill('');
    await waitLines(27 - 1 + 3);
    await h.page.locator('.layer-table .block-toggle[data-block="-1"]').click();
    await waitLines(27);
  });

  it('highlights a block with its band: the line and, above the veil, its layers’ least to greatest value', async () => {
    // bert.encoder.layer.5 (block 6): its lagging layers end apart (0.4 to 0.55).
    const members = names.map((n, i) => (n.startsWith('bert.encoder.layer.5.') ? i : -1)).filter((i) => i >= 0);
    await h.page.locator('.layer-table .block-toggle[data-block="-7"]').hover();
    await h.page.waitForFunction(
      () => (globalThis as any).__layerRotationMonitor.highlighted === 'bert.encoder.layer.5',
    );
    const s = await state();
    const ends = members.map((i) => run.lastDistances[i]);
    const [x0, x1] = s.ranges.distance.x;
    const [y0, y1] = s.ranges.distance.y;
    const lastEpoch = (run.events.filter((e) => e.type === 'rotation').at(-1) as { epoch: number }).epoch;
    // The overlay's pixel column just before the last record: the rows whose pixel is not the veil's.
    const covered = await h.page.evaluate(
      ([fx]) => {
        const c = (globalThis as any).document.querySelector('.rotation-host .highlight-overlay');
        const x = Math.round(fx * c.width) - 3;
        const d = c.getContext('2d').getImageData(x, 0, 1, c.height).data;
        const veil = d.slice(0, 4).join();
        let first = -1;
        let last = -1;
        for (let y = 0; y < c.height; y++)
          if (d.slice(4 * y, 4 * y + 4).join() !== veil) {
            if (first < 0) first = y;
            last = y;
          }
        return { span: first < 0 ? 0 : last - first + 1, height: c.height };
      },
      [(lastEpoch - x0) / (x1 - x0)] as const,
    );
    const band = ((Math.max(...ends) - Math.min(...ends)) / (y1 - y0)) * covered.height;
    assert.ok(band > 15, `the block's layers end ${band.toFixed(1)} px apart`);
    assert.ok(
      covered.span >= 0.8 * band && covered.span <= band + 12,
      `the highlight covers the band: ${covered.span} px of ${band.toFixed(1)}`,
    );
    await h.page.mouse.move(0, 0);
    await h.page.waitForFunction(() => (globalThis as any).__layerRotationMonitor.highlighted === null);
    assert.deepEqual(h.problems, []);
  });

  it('draws every layer when told (kept with the chart settings), and groups a small run only when told', async () => {
    const control = h.page.locator('[data-control="group"]');
    assert.ok(await control.isVisible());
    assert.match((await control.getAttribute('title')) ?? '', new RegExp(`above ${GROUP_ABOVE} layers`));
    const t0 = Date.now();
    await control.locator('[data-value="layers"]').click();
    await waitLines(149);
    let s = await state();
    assert.equal(s.grouped, false);
    assert.equal(s.settings.group, 'layers');
    const sent = (await h.sent()).filter((m) => m.type === 'settings').at(-1);
    assert.equal(sent.settings.group, 'layers', 'the host keeps it for the workspace');
    assert.equal(await h.page.locator('.layer-table tr.block-row').count(), 0);
    console.log(`ungrouped in ${Date.now() - t0} ms`);
    await control.locator('[data-value="auto"]').click();
    await waitLines(27);

    // 17 layers: every layer by default; by block when asked.
    await h.post({ type: 'load', runId: small.started.runId, events: small.events });
    await h.post({ type: 'select', runId: small.started.runId });
    await h.page.waitForFunction((id) => {
      const s = (globalThis as any).__layerRotationMonitor;
      return s.runId === id && s.seriesCount === 17;
    }, small.started.runId);
    s = await state();
    assert.equal(s.grouped, false);
    await control.locator('[data-value="blocks"]').click();
    await waitLines(5);
    s = await state();
    assert.deepEqual(s.drawnLayers, [
      'bert.embeddings',
      'bert.encoder.layer.0',
      'bert.encoder.layer.1',
      'bert.pooler.dense',
      'classifier',
    ]);
    // Hide a block (Alt-click: it alone; again: all).
    await h.page.locator('.rotation-legend [data-block="-2"]').click({ modifiers: ['Alt'] });
    s = await state();
    assert.equal(s.hidden.length, 4);
    assert.ok(!s.hidden.includes('bert.encoder.layer.0'));
    await h.page.locator('.show-all').click();
    assert.deepEqual((await state()).hidden, []);
    await control.locator('[data-value="auto"]').click();
    await waitLines(17);
    assert.deepEqual(h.problems, []);
  });
});

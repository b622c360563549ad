// The monitor on runs of many layers (issue 11, case 9): a run_started of 100,000 and of
// 1,000,000 layers (made in the page, as a host would post them) is drawn within a bounded time
// and the monitor stays responsive (an appended record, a switch of run); the chart draws at most
// MAX_LAYERS_DRAWN lines and the table lists at most MAX_LAYERS_LISTED rows, saying how many it
// leaves out; a run of 300 layers draws the cap's choice, the lagging layer among it; the name
// filter, hide and solo, and the exports behave on such runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { thinIndices } from '../../src/runlog/thin';
import { MAX_LAYERS_DRAWN, MAX_LAYERS_KEPT, MAX_LAYERS_LISTED } from '../../src/runlog/layerCap';
import { isWebviewMessage } from '../../webview/protocol';
import { fakeRun } from './fake-run';
import { type Harness, shownText, shownTexts, startHarness } from './harness';

/** First draw of a run of a million layers, and handling of a later message, at most (ms; ~0.5-1 s measured, the machine shared). */
const FIRST_DRAW_MS = 3000;
const LATER_MS = 1000;

/**
 * In the page: makes a run of `n` layers (run_started, `records` rotation records, a few batches),
 * posts it as the host would (load, then the list selecting it) and resolves with the time until
 * the monitor has drawn it; then appends one more record and times its drawing; then switches to
 * `other` and times that. Everything is made in the page: Playwright's serialization of millions
 * of values would dwarf the monitor's time.
 */
async function timeHugeRun(
  h: Harness,
  n: number,
  runId: string,
  other: string,
): Promise<{ firstMs: number; appendMs: number; switchMs: number }> {
  return h.page.evaluate(
    async ([n, runId, other, records]) => {
      const w = globalThis as any;
      const post = w.__layerRotationMonitorPost;
      const state = () => w.__layerRotationMonitor;
      const until = (ok: () => boolean) =>
        new Promise<number>((resolve) => {
          const t0 = performance.now();
          const poll = () => {
            if (ok()) resolve(performance.now() - t0);
            else if (performance.now() - t0 > 60_000) resolve(Infinity);
            else w.requestAnimationFrame(poll);
          };
          poll();
        });
      const t = 1_764_331_200_000;
      const layers = new Array(n);
      for (let i = 0; i < n; i++)
        layers[i] = { name: `block${i}.conv`, kind: 'conv2d', shape: [3, 3, 8, 8], params: 584 };
      const started = {
        v: 1,
        time: t,
        type: 'run_started',
        runId,
        name: `huge-${n}`,
        engine: 'tfjs',
        backend: 'wasm',
        dataset: { name: 'synthetic', train: 512, validation: null, test: 128, inputShape: [8], classes: 3 },
        layers,
        epochs: 2,
        stepsPerEpoch: 10,
        batchSize: 32,
        totalSteps: 20,
        target: 1,
        lagMargin: 0.2,
        fitAccuracy: 0.99,
      };
      const record = (r: number) => {
        const distances = new Array(n);
        const rotation = new Array(n);
        for (let i = 0; i < n; i++) {
          distances[i] = Math.min(1.5, (r * 0.1 * (1 + i / n)) % 2);
          rotation[i] = r ? 0.01 : 0;
        }
        return {
          v: 1,
          time: t + r * 1000,
          type: 'rotation',
          step: r * 2,
          epoch: r / 5,
          distances,
          rotation,
          steps: r ? 2 : 0,
        };
      };
      const events: unknown[] = [started];
      for (let r = 0; r < records; r++) {
        events.push(record(r));
        events.push({
          v: 1,
          time: t + r * 1000,
          type: 'batch',
          step: r * 2,
          epoch: r / 5,
          loss: 1 / (r + 1),
          accuracy: 0.3,
          learningRate: 0.1,
        });
      }
      const next = record(records);
      const drawn = () => {
        const s = state();
        // (Every panel: new charts draw their curves first, the table in the next frame.)
        return s.runId === runId && s.seriesCount > 0 && s.tableLayers.length > 0 && s.points === records && s.settled;
      };
      const t0 = performance.now();
      post({ type: 'load', runId, events });
      post({
        type: 'runs',
        runs: [
          { runId: other, name: 'small', status: 'completed', live: false },
          { runId, name: `huge-${n}`, status: 'running', live: true },
        ],
        selected: runId,
      });
      const wait = await until(drawn);
      const firstMs = wait === Infinity ? Infinity : performance.now() - t0;
      const t1 = performance.now();
      post({ type: 'append', runId, events: [next] });
      await until(() => state().points === records + 1);
      const appendMs = performance.now() - t1;
      const t2 = performance.now();
      post({ type: 'select', runId: other });
      await until(() => state().runId === other && state().seriesCount > 0 && state().settled);
      const switchMs = performance.now() - t2;
      post({ type: 'select', runId });
      await until(() => state().runId === runId && state().seriesCount > 0 && state().settled);
      return { firstMs, appendMs, switchMs };
    },
    [n, runId, other, 3] as const,
  );
}

describe('monitor webview: runs of many layers', { timeout: 300_000 }, () => {
  let h: Harness;
  const small = fakeRun({ runId: 'small-20261128-110000', layers: 6, epochs: 2, stepsPerEpoch: 100 });

  before(async () => {
    h = await startHarness({ width: 980, height: 1000 });
    await h.post({ type: 'load', runId: small.started.runId, events: small.events });
  });

  after(async () => {
    await h?.close();
  });

  for (const n of [100_000, 1_000_000]) {
    it(`draws a run_started of ${n.toLocaleString('en-US')} layers within ${FIRST_DRAW_MS} ms, and stays responsive`, async () => {
      const runId = `huge-${n}-20261128-120000`;
      const t = await timeHugeRun(h, n, runId, small.started.runId);
      console.log(
        `${n} layers: first draw ${t.firstMs.toFixed(0)} ms, an appended record ${t.appendMs.toFixed(0)} ms, a run switch ${t.switchMs.toFixed(0)} ms`,
      );
      assert.ok(t.firstMs < FIRST_DRAW_MS, `first draw in ${t.firstMs.toFixed(0)} ms`);
      assert.ok(t.appendMs < LATER_MS, `an appended record drawn in ${t.appendMs.toFixed(0)} ms`);
      assert.ok(t.switchMs < LATER_MS, `a run switch drawn in ${t.switchMs.toFixed(0)} ms`);
      const s = await h.state();
      assert.equal(s.runId, runId);
      assert.equal(s.layerTotal, n);
      assert.equal(s.layersKept, MAX_LAYERS_KEPT, 'the store keeps at most MAX_LAYERS_KEPT layers');
      assert.ok(
        s.seriesCount <= MAX_LAYERS_DRAWN && s.seriesCount >= MAX_LAYERS_DRAWN - 2,
        `${s.seriesCount} lines drawn`,
      );
      assert.equal(s.drawnLayers.length, s.seriesCount);
      assert.equal(s.drawnLayers[0], 'block0.conv', 'the first layer is drawn');
      assert.equal(s.drawnLayers[s.drawnLayers.length - 1], `block${n - 1}.conv`, 'the last layer is drawn');
      assert.ok(s.tableLayers.length <= MAX_LAYERS_LISTED);
      assert.equal(
        await h.page.locator('.layer-table tbody tr').count(),
        s.tableLayers.length,
        'one row per layer listed',
      );
      // The rows off the screen are not rendered (content-visibility: no text laid out) until
      // scrolled into view; every row's columns are the header's.
      const last = h.page.locator('.layer-table tbody tr').last();
      assert.equal(await last.evaluate((e: any) => e.innerText), '', 'the last row, off the screen, is not rendered');
      assert.equal((await shownTexts(last.locator('.layer-name')))[0], s.tableLayers[s.tableLayers.length - 1]);
      const lefts = (sel: string) =>
        h.page.locator(sel).evaluateAll((cells) => cells.map((c: any) => Math.round(c.getBoundingClientRect().left)));
      assert.deepEqual(await lefts('.layer-table tbody tr:last-child td'), await lefts('.layer-table thead th'));
      assert.deepEqual(await lefts('.layer-table tbody tr:first-child td'), await lefts('.layer-table thead th'));
      const more = await h.page.locator('.table-more').innerText();
      const left = (n - s.tableLayers.length).toLocaleString('en-US');
      assert.match(more, new RegExp(`… and ${left} more layers \\(showing ${s.tableLayers.length}`));
      const legend = await h.page.locator('.rotation-legend').innerText();
      assert.match(legend, new RegExp(`${s.seriesCount} of ${n.toLocaleString('en-US')} drawn`));
      assert.match(await h.page.locator('.rotation-card .card-note').innerText(), /layers drawn/);
      // The colours follow the layers' depth in the run: the last layer is viridis' yellow end.
      assert.equal(s.layerColors.length, MAX_LAYERS_KEPT);
      assert.notEqual(s.layerColors[0], s.layerColors[MAX_LAYERS_KEPT - 1]);
      assert.deepEqual(h.problems, []);
    });
  }

  it('hides, solos and exports on a run of a million layers: the export names only the layers drawn', async () => {
    const rows = h.page.locator('.layer-table .layer-toggle');
    await rows.nth(3).click();
    let s = await h.state();
    assert.deepEqual(s.hidden, [s.tableLayers[3]]);
    await rows.nth(5).click({ modifiers: ['Alt'] });
    s = await h.state();
    assert.equal(s.hidden.length, s.layersKept - 1, 'solo: every other layer kept is hidden');
    assert.ok(!s.hidden.includes(s.tableLayers[5]));
    await h.page.locator('.show-all').click();
    assert.deepEqual((await h.state()).hidden, []);
    await h.page.locator('[data-action="export-svg"]').click();
    const sent = await h.sent();
    const exp: unknown = sent.filter((m) => m.type === 'export').pop();
    assert.ok(isWebviewMessage(exp) && exp.type === 'export', 'an export was asked for, and the host accepts it');
    assert.equal(exp.view.shown?.length, s.seriesCount, 'the SVG draws the layers drawn');
  });

  it('draws, of a run of 300 layers, the cap: evenly spaced ones and the lagging one', async () => {
    const spaced = new Set(thinIndices(300, MAX_LAYERS_DRAWN));
    const lagging = Array.from({ length: 300 }, (_, i) => i).find((i) => !spaced.has(i) && i > 100) as number;
    const run = fakeRun({
      runId: 'deep-300-20261128-130000',
      name: 'deep-300',
      layers: 300,
      epochs: 2,
      stepsPerEpoch: 200,
      recordsPerEpoch: 20,
      lagging: [lagging],
    });
    await h.post({ type: 'load', runId: run.started.runId, events: run.events });
    await h.post({ type: 'select', runId: run.started.runId });
    const name = run.layerNames[lagging];
    await h.page.waitForFunction(
      ([id, name]) => {
        const s = (globalThis as any).__layerRotationMonitor;
        return s.runId === id && s.lagging.includes(name) && s.tableLayers.includes(name);
      },
      [run.started.runId, name] as const,
      { timeout: 20_000 },
    );
    const s = await h.state();
    assert.ok(s.seriesCount <= MAX_LAYERS_DRAWN, `${s.seriesCount} lines drawn`);
    assert.ok(s.drawnLayers.includes(name), 'the lagging layer is drawn');
    assert.equal(s.layerTotal, 300);
    assert.equal(s.layersKept, 300);
    assert.deepEqual(s.lagging, [name]);
    assert.ok(s.tableLayers.includes(name), 'the table lists the lagging layer');
    assert.deepEqual(await shownTexts(h.page.locator('tr.lagging .layer-name')), [name]);
    // The row's number is the layer's place in the run.
    const index = await shownText(h.page.locator('tr.lagging .col-index'));
    assert.equal(Number(index), lagging + 1);
    assert.match(
      await h.page.locator('.table-more').innerText(),
      new RegExp(`… and ${300 - s.tableLayers.length} more layers \\(showing ${s.tableLayers.length}`),
    );
    // Coloured by depth among the 300: the lagging one's colour is its own, not its place among those drawn.
    assert.equal(s.layerColors.length, 300);
  });

  it('filters the layers drawn and listed by name', async () => {
    const box = h.page.locator('.layer-filter');
    assert.ok(await box.isVisible(), 'a run of more layers than listed has a filter');
    await box.fill('conv29');
    await h.page.waitForFunction(() =>
      (globalThis as any).__layerRotationMonitor.tableLayers.every((n: string) => n.includes('conv29')),
    );
    let s = await h.state();
    // conv29, conv290..conv299 (the last layer is "output").
    assert.deepEqual(s.tableLayers, ['conv29', ...Array.from({ length: 10 }, (_, k) => `conv${290 + k}`)]);
    assert.deepEqual(s.drawnLayers, s.tableLayers);
    assert.equal(s.seriesCount, 11);
    assert.match(await h.page.locator('.table-more').innerText(), /11 layers match/);
    await box.fill('no such layer');
    await h.page.waitForFunction(() => (globalThis as any).__layerRotationMonitor.tableLayers.length === 0);
    assert.match(await h.page.locator('.table-more').innerText(), /No layer name contains/);
    await box.fill('');
    await h.page.waitForFunction(() => (globalThis as any).__layerRotationMonitor.tableLayers.length > 200);
    s = await h.state();
    assert.ok(s.seriesCount <= MAX_LAYERS_DRAWN);
    assert.deepEqual(h.problems, []);
  });
});

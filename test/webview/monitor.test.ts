// The monitor webview in headless Chromium: the page of webview/html.ts with its strict CSP,
// fed the host messages of webview/protocol.ts with a realistic run log (fake-run.ts).
// Screenshots go to .test-artifacts/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunEvent } from '../../src/runlog/events';
import { featuresEvent } from '../../src/runlog/features';
import { fakeRun } from './fake-run';
import { cspViolations, type Harness, ROOT, shownTexts, startHarness } from './harness';

const ARTIFACTS = path.join(ROOT, '.test-artifacts');

/** The events up to (and with) the first rotation record at or after `step`, without run_finished. */
function until(events: RunEvent[], step: number): RunEvent[] {
  const i = events.findIndex((e) => e.type === 'rotation' && e.step >= step);
  return events.slice(0, i + 1).filter((e) => e.type !== 'run_finished');
}

const rotations = (events: RunEvent[]) =>
  events.filter((e): e is Extract<RunEvent, { type: 'rotation' }> => e.type === 'rotation');

describe('monitor webview', { timeout: 180_000 }, () => {
  let h: Harness;
  const live = fakeRun({
    runId: 'mnist-default-20261128-120000',
    layers: 8,
    epochs: 3,
    stepsPerEpoch: 400,
    lagging: [0, 4],
  });
  const partial = until(live.events, 720); // 60% of 1,200 steps
  const waitPoints = (n: number, runId?: string) =>
    h.page.waitForFunction(
      ([n, id]) => {
        const s = (globalThis as any).__layerRotationMonitor;
        return s && s.points === n && (!id || s.runId === id);
      },
      [n, runId ?? null] as const,
      { timeout: 20_000 },
    );

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    h = await startHarness({ width: 980, height: 1000 });
  });

  after(async () => {
    await h?.close();
  });

  it('posts ready when loaded, and shows no run yet', async () => {
    const sent = await h.sent();
    assert.deepEqual(sent[0], { type: 'ready' });
    const s = await h.state();
    assert.equal(s.runId, null);
    assert.equal(s.seriesCount, 0);
    // The warm-up while it waits (the drawing, and the panel laid out out of sight) leaves the
    // waiting message shown and the panel hidden.
    await h.page.waitForFunction(() => (globalThis as any).__layerRotationMonitor?.warmUpMs !== null, null, {
      timeout: 10_000,
    });
    const { text, ...shown } = await h.page.evaluate(() => {
      const doc = (globalThis as any).document;
      const main = doc.querySelector('main.monitor');
      const empty = doc.querySelector('.empty-state');
      return { main: main.hidden, visibility: main.style.visibility, empty: !empty.hidden, text: empty.innerText };
    });
    assert.deepEqual(shown, { main: true, visibility: '', empty: true });
    assert.match(text, /Waiting for the extension|No run to show/);
  });

  it('says a run with no run_started yet is waiting to start', async () => {
    await h.post({
      type: 'runs',
      runs: [{ runId: 'pending-run', name: 'pending', status: 'running', live: true }],
      selected: 'pending-run',
    });
    await h.post({ type: 'load', runId: 'pending-run', events: [] });
    await h.page.waitForSelector('text=Waiting for the run to start', { timeout: 10_000 });
  });

  it('draws a live run: one series per layer, the last distances, header, table and lagging layers', async () => {
    const runs = [
      { runId: 'pending-run', name: 'pending', status: 'running', live: true },
      { runId: live.started.runId, name: 'mnist-default', status: 'running', live: true },
      { runId: 'old-run', name: 'mnist-sgd', status: 'completed', live: false },
    ];
    await h.post({ type: 'runs', runs, selected: live.started.runId });
    const cut = Math.floor(partial.length / 3);
    await h.post({ type: 'load', runId: live.started.runId, events: partial.slice(0, cut) });
    const before = (await h.state()).draws;
    // The rest in a burst of small appends, 4 ms apart (posted in the page: a round trip from here
    // can take longer than a frame on a loaded machine): drawn incrementally, in far fewer frames
    // than messages.
    const burst: unknown[] = [];
    for (let i = cut; i < partial.length; i += 5)
      burst.push({ type: 'append', runId: live.started.runId, events: partial.slice(i, i + 5) });
    const appends = burst.length;
    await h.page.evaluate(async (msgs) => {
      const w = globalThis as any;
      for (const m of msgs) {
        w.__layerRotationMonitorPost(m);
        await new Promise((r) => setTimeout(r, 4));
      }
    }, burst);
    const expected = rotations(partial);
    await waitPoints(expected.length, live.started.runId);
    await h.page.waitForTimeout(400); // the table refreshes a few times a second
    const s = await h.state();
    assert.equal(s.seriesCount, 8);
    assert.deepEqual(s.lastValues, expected[expected.length - 1].distances);
    assert.deepEqual(s.tableLayers, live.layerNames);
    assert.deepEqual(s.lagging, ['dense1', 'dense5'], 'projected to end below target - lagMargin');
    assert.ok(s.draws - before < appends, `${s.draws - before} draws for ${appends} appends`);
    const header = await h.page.locator('.run-header').innerText();
    assert.match(header, /wasm \(SIMD, 1 thread\)/);
    assert.match(header, /epoch 2 of 3/);
    assert.match(header, /step 720 \/ 1,200/);
    assert.match(header, /samples\/s/);
    assert.match(header, /≈ \d+/, 'time left from the step rate');
    const laggingRows = await shownTexts(h.page.locator('tr.lagging .layer-name'));
    assert.deepEqual(laggingRows, ['dense1', 'dense5']);
    assert.ok(await h.page.locator('.run-bar').isVisible(), 'the run list shows with several runs');
    await h.page.screenshot({ path: path.join(ARTIFACTS, 'webview-monitor.png'), fullPage: true });
  });

  it('draws only the new segments of records appended one by one', async () => {
    const next = until(live.events, 800).slice(partial.length);
    const s0 = await h.state();
    let at = 0;
    for (const e of rotations(next)) {
      const upTo = next.indexOf(e) + 1;
      await h.post({ type: 'append', runId: live.started.runId, events: next.slice(at, upTo) });
      at = upTo;
      await waitPoints(e.step / 20 + 1);
      assert.deepEqual((await h.state()).lastValues, e.distances);
    }
    const s = await h.state();
    assert.equal(s.draws - s0.draws, 4, 'one draw per append');
    assert.ok(
      s.fullDraws - s0.fullDraws <= 1,
      `${s.fullDraws - s0.fullDraws} full redraws: the others only drew the new segments`,
    );
    partial.push(...next);
  });

  it('shows every layer at the cursor in a tooltip', async () => {
    const box = await h.page.locator('.rotation-host .u-over').boundingBox();
    assert.ok(box);
    await h.page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5);
    const tip = h.page.locator('.chart-tooltip');
    await tip.waitFor({ state: 'visible' });
    assert.equal(await tip.locator('.tooltip-row').count(), 8);
    assert.match(await tip.innerText(), /epoch \d+\.\d\d · step/);
    await h.page.mouse.move(box.x - 40, box.y - 40);
    await tip.waitFor({ state: 'hidden' });
  });

  it('posts stop when Stop is pressed', async () => {
    await h.page.click('vscode-button.stop-button');
    const sent = await h.sent();
    assert.deepEqual(sent[sent.length - 1], { type: 'stop', runId: live.started.runId });
    assert.match(await h.page.locator('vscode-button.stop-button').innerText(), /Stopping/);
  });

  it('shows the end of the run: final distances, test accuracy, no Stop', async () => {
    const rest = live.events.slice(partial.length);
    await h.post({ type: 'append', runId: live.started.runId, events: rest });
    await waitPoints(live.rotationRecords, live.started.runId);
    await h.page.waitForFunction(() => !!(globalThis as any).document.querySelector('.banner-completed'));
    await h.page.waitForTimeout(100);
    const s = await h.state();
    assert.deepEqual(s.lastValues, live.lastDistances);
    assert.deepEqual(s.lagging, live.laggingLayers);
    const header = await h.page.locator('.run-header').innerText();
    assert.match(header, /Test accuracy\s+97\.61%/i);
    assert.match(header, /epoch 3 of 3/);
    assert.equal(await h.page.locator('vscode-button.stop-button').isVisible(), false);
    await h.page.screenshot({ path: path.join(ARTIFACTS, 'webview-monitor-finished.png'), fullPage: true });
  });

  it('follows the theme: the axis colour changes with the body class', async () => {
    const dark = (await h.state()).axisColor;
    const draws = (await h.state()).draws;
    await h.page.evaluate(() => ((globalThis as any).document.body.className = 'vscode-light'));
    await h.page.waitForFunction((c) => (globalThis as any).__layerRotationMonitor.axisColor !== c, dark);
    const light = await h.state();
    assert.equal(dark, 'rgb(157, 157, 157)');
    assert.equal(light.axisColor, 'rgb(59, 59, 59)');
    assert.ok(light.draws > draws, 'the chart was redrawn');
    await h.page.screenshot({ path: path.join(ARTIFACTS, 'webview-monitor-light.png'), fullPage: true });
    await h.page.evaluate(() => ((globalThis as any).document.body.className = 'vscode-dark'));
    await h.page.waitForFunction((c) => (globalThis as any).__layerRotationMonitor.axisColor === c, dark);
  });

  it('shows why a run failed, as an error', async () => {
    const failed = fakeRun({ runId: 'failed-run', layers: 5, status: 'failed' });
    await h.post({ type: 'load', runId: 'failed-run', events: failed.events });
    await h.post({ type: 'select', runId: 'failed-run' });
    await waitPoints(failed.rotationRecords, 'failed-run');
    const banner = h.page.locator('.banner-failed');
    await banner.waitFor({ state: 'visible' });
    assert.match(await banner.innerText(), /^Failed: the loss became NaN at step \d+/);
    assert.equal(await banner.getAttribute('role'), 'alert');
    const s = await h.state();
    assert.equal(s.seriesCount, 5);
    assert.deepEqual(s.lagging, [], 'diverged: no layer is judged');
    assert.match(await h.page.locator('.table-card .card-note').innerText(), /^diverged: the rate is too high/);
    await h.page.screenshot({
      path: path.join(ARTIFACTS, 'webview-monitor-failed.png'),
      clip: { x: 0, y: 0, width: 980, height: 420 },
    });
  });

  it('ignores invalid events and messages, and draws null distances as gaps', async () => {
    const before = await h.state();
    const junk: unknown[] = [
      null,
      42,
      'rotation',
      [],
      { v: 1, type: 'bogus' },
      { v: 1, type: 'rotation' },
      { v: 1, type: 'rotation', step: 'a', epoch: 'b', distances: 'nope' },
      { v: 1, type: 'rotation', step: 1, epoch: 0.001, distances: [0.5] }, // not normalized (no time, rotation, steps)
      { v: 1, type: 'batch' },
      { v: 1, type: 'epoch_end', epoch: 'x' },
      { v: 1, type: 'run_started' },
      { v: 1, type: 'log', level: 'warning' },
    ];
    // The protocol guard rejects a message with an event the host did not normalize, whole.
    await h.post({ type: 'append', runId: 'failed-run', events: junk });
    // A normalized record whose epoch goes back: the store drops it (uPlot needs sorted x).
    await h.post({
      type: 'append',
      runId: 'failed-run',
      events: [{ v: 1, time: 1, type: 'rotation', step: 1, epoch: 0.001, distances: [0.5], rotation: [0.1], steps: 1 }],
    });
    await h.page.evaluate(() => {
      const post = (globalThis as any).__layerRotationMonitorPost;
      post(null);
      post({ type: 'load' });
      post({ type: 'append', runId: 'failed-run', events: 'x' });
      post({ type: 'nope' });
    });
    await h.post({
      type: 'append',
      runId: 'failed-run',
      events: [
        {
          v: 1,
          time: Date.now(),
          type: 'rotation',
          step: 9999,
          epoch: 9,
          distances: [0.1, null, 0.3, null, 0.5],
          rotation: [],
          steps: 1,
        },
      ],
    });
    await waitPoints(before.points + 1, 'failed-run');
    const s = await h.state();
    assert.equal(s.seriesCount, 5);
    assert.deepEqual(s.lastValues, [0.1, NaN, 0.3, NaN, 0.5]);
    assert.deepEqual(h.problems, []);
  });

  it('handles 200 layers: a colour bar for a legend, a capped tooltip', async () => {
    const big = fakeRun({
      runId: 'vgg-deep-20261128-130000',
      name: 'vgg-deep',
      layers: 200,
      epochs: 2,
      stepsPerEpoch: 2000,
      recordsPerEpoch: 1000,
      batchesPerEpoch: 100,
      lagging: [0, 1, 2, 199],
    });
    await h.post({ type: 'load', runId: big.started.runId, events: big.events });
    await h.post({ type: 'select', runId: big.started.runId });
    await waitPoints(big.rotationRecords, big.started.runId);
    const s = await h.state();
    assert.equal(s.seriesCount, 200);
    assert.equal(s.tableLayers.length, 200);
    assert.deepEqual(s.lastValues, big.lastDistances);
    assert.ok(
      s.drawnPoints < big.rotationRecords,
      `decimated: ${s.drawnPoints} of ${big.rotationRecords} points drawn per layer`,
    );
    assert.ok(await h.page.locator('.colorbar').isVisible());
    const box = await h.page.locator('.rotation-host .u-over').boundingBox();
    assert.ok(box);
    await h.page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.3);
    const tip = h.page.locator('.chart-tooltip');
    await tip.waitFor({ state: 'visible' });
    const more = /\+(\d+) more/.exec(await tip.innerText());
    assert.ok(more, 'the tooltip is capped');
    assert.equal(Number(more[1]) + (await tip.locator('.tooltip-row').count()), 200);
    await h.page.screenshot({ path: path.join(ARTIFACTS, 'webview-monitor-200-layers.png'), fullPage: false });
    await h.page.mouse.move(0, 0);
  });

  it('posts select when a run is picked in the run list, and keeps it in the webview state', async () => {
    await h.page.evaluate(() => {
      const select = (globalThis as any).document.querySelector('#run-select');
      select.value = 'failed-run';
      select.dispatchEvent(new (globalThis as any).Event('change'));
    });
    const sent = await h.sent();
    assert.deepEqual(sent[sent.length - 1], { type: 'select', runId: 'failed-run' });
    await h.page.waitForFunction(() => (globalThis as any).__layerRotationMonitor.runId === 'failed-run');
  });

  it('fits a narrow side bar', async () => {
    await h.post({ type: 'select', runId: live.started.runId });
    await h.page.setViewportSize({ width: 360, height: 1100 });
    await h.page.waitForTimeout(300);
    const width = await h.page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth);
    assert.ok(width <= 360, `no horizontal scrolling (${width}px)`);
    await h.page.screenshot({ path: path.join(ARTIFACTS, 'webview-monitor-narrow.png'), fullPage: true });
  });

  it('draws the first-layer features at initialization and now, and exports them as PNG', async () => {
    const run = fakeRun({ runId: 'features-run', layers: 3, epochs: 2, stepsPerEpoch: 50 });
    // Two snapshots of 16 units of 28x28: random at step 0, strokes at the end (as features events are written).
    const snapshot = (step: number, epoch: number, f: (u: number, i: number) => number) => {
      const values = Float32Array.from({ length: 16 * 784 }, (_, k) => f(Math.floor(k / 784), k % 784));
      const e = featuresEvent({
        step,
        epoch,
        layer: 'dense1',
        kind: 'dense',
        image: [28, 28, 1],
        totalUnits: 256,
        values,
        units: 16,
      });
      assert.ok(e);
      return { v: 1, time: (run.events[0].time ?? 0) + step, ...e } as RunEvent;
    };
    const first = snapshot(0, 0, (u, i) => Math.sin(u * 7919 + i * 104729));
    const last = snapshot(100, 2, (u, i) => (((i % 28) + u) % 28 < 4 ? 1 : -0.1));
    const events = [run.events[0], first, ...run.events.slice(1), last];
    await h.post({
      type: 'runs',
      runs: [{ runId: 'features-run', name: 'features', status: 'completed', live: false }],
      selected: 'features-run',
    });
    await h.post({ type: 'load', runId: 'features-run', events });
    await h.page.waitForFunction(() => (globalThis as any).__layerRotationMonitor?.features?.step === 100, null, {
      timeout: 20_000,
    });
    const s = await h.state();
    assert.deepEqual(s.features, { step: 100, tiles: 32 }, 'both panels, 16 tiles each');
    assert.equal(await h.page.locator('.features-card').isVisible(), true);
    assert.match(
      String(await h.page.locator('.features-canvas').getAttribute('aria-label')),
      /^dense1: first 16 of 256 units, 28×28 grey$/,
    );
    await h.page.locator('.features-card').screenshot({ path: path.join(ARTIFACTS, 'monitor-features.png') });
    await h.page.locator('button[title="Save the first-layer features as PNG"]').click();
    // Encoding is asynchronous (canvas.toBlob): on a loaded machine it can take seconds.
    await h.page.waitForFunction(
      () => (globalThis as any).__layerRotationMonitorSent.some((m: any) => m.type === 'png' && m.what === 'features'),
      null,
      { timeout: 30_000 },
    );
    const png = (await h.sent()).find((m) => m.type === 'png' && m.what === 'features');
    assert.ok(png, 'no png message for the features');
    assert.equal(png.runId, 'features-run');
    assert.ok(
      Buffer.from(png.data, 'base64')
        .subarray(0, 8)
        .equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
    );
    // A run without snapshots hides the card.
    const plain = fakeRun({ runId: 'plain-run', layers: 3, epochs: 1, stepsPerEpoch: 20 });
    await h.post({
      type: 'runs',
      runs: [{ runId: 'plain-run', name: 'plain', status: 'completed', live: false }],
      selected: 'plain-run',
    });
    await h.post({ type: 'load', runId: 'plain-run', events: plain.events });
    await h.page.waitForFunction(() => (globalThis as any).__layerRotationMonitor?.runId === 'plain-run', null, {
      timeout: 20_000,
    });
    await h.page.waitForFunction(() => (globalThis as any).__layerRotationMonitor?.features === null, null, {
      timeout: 20_000,
    });
    assert.equal(await h.page.locator('.features-card').isVisible(), false);
  });

  it('has no CSP violations and no console errors', async () => {
    assert.deepEqual(await cspViolations(h.page), []);
    assert.deepEqual(h.problems, []);
  });
});

// The monitor's layout and chart controls in headless Chromium (the page of webview/html.ts with
// its strict CSP): the rotation chart first in a side view (300x380) and a big editor panel
// (1440x900); drag to zoom and double-click to reset; legend entries that hide, solo and
// highlight; the log axis with Adam-sized distances; smoothing; the x axis in steps and wall
// time; the stepwise rotation rate; settings sent to the host and taken from it; exports (the
// host's CSV and SVG from the same run log, the PNG the page renders); light and high-contrast
// themes. What the page draws is read from its canvas pixels where it matters. Screenshots go
// to .test-artifacts/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { parseCsv } from '../../src/experiments/compareExport';
import { Ema, rateDivisor, rateTerms, stepRate, type ViewSettings } from '../../src/runlog/chartMath';
import type { RotationEvent, RunEvent } from '../../src/runlog/events';
import { addEvent, emptyRunLog } from '../../src/runlog/read';
import { CSV_COLUMNS, curvesMetaOf, curvesTableOf, monitorCsv, monitorSvg } from '../../src/runlog/runExport';
import { contrast, parseRgb } from '../../src/runlog/viridis';
import { isWebviewMessage } from '../../webview/protocol';
import { fakeRun } from './fake-run';
import { cspViolations, type Harness, ROOT, shownText, startHarness } from './harness';

const ARTIFACTS = path.join(ROOT, '.test-artifacts');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const rotations = (events: RunEvent[]) => events.filter((e): e is RotationEvent => e.type === 'rotation');

/** Two layers turning as little as Adam makes them (without Layca): 0.001 and 0.01 at the end. */
function adamRun(): RunEvent[] {
  const base = fakeRun({ runId: 'adam-small', name: 'mnist-adam', layers: 2, epochs: 2, stepsPerEpoch: 100 });
  const events: RunEvent[] = [{ ...base.started, layers: base.started.layers, lagMargin: 0.2 }];
  for (let r = 0; r <= 40; r++) {
    const f = r / 40;
    events.push({
      v: 1,
      time: (base.started.time as number) + r * 1000,
      type: 'rotation',
      step: r * 5,
      epoch: (r * 5) / 100,
      distances: [0.001 * Math.sqrt(f), 0.01 * Math.sqrt(f)],
      rotation: r ? [0.0001, 0.001] : [0, 0],
      steps: r ? 5 : 0,
    });
  }
  return events;
}

describe('monitor chart controls', { timeout: 240_000 }, () => {
  let h: Harness;
  const three = fakeRun({ runId: 'three-layers', name: 'mnist-three', layers: 3, epochs: 3, lagging: [] });
  const failed = fakeRun({ runId: 'failed-run', layers: 5, status: 'failed' });
  const adam = adamRun();
  // Plain SGD (Layca off): its rates are divided by the learning rate.
  const plain = fakeRun({ runId: 'plain-sgd', name: 'mnist-sgd', layers: 4, epochs: 3, lagging: [] });
  (plain.started.schedule as { layca: boolean }).layca = false;

  const state = () => h.state();
  // Waits in the page (functions, not strings: the page's CSP forbids eval).
  const waitSmoothing = (v: number) =>
    h.page.waitForFunction((v) => (globalThis as any).__layerRotationMonitor.settings.smoothing === v, v);
  const settled = async () => {
    // Two animation frames: the redraw after a change has happened.
    await h.page.evaluate(
      () =>
        new Promise((r) =>
          (globalThis as any).requestAnimationFrame(() =>
            (globalThis as any).requestAnimationFrame(() => setTimeout(r, 60)),
          ),
        ),
    );
  };
  const show = async (runId: string, records: number) => {
    await h.post({ type: 'select', runId });
    await h.page.waitForFunction(
      ([id, n]) => {
        const s = (globalThis as any).__layerRotationMonitor;
        return s.runId === id && s.points === n;
      },
      [runId, records] as const,
      { timeout: 10_000 },
    );
    await settled();
  };
  const sentOf = async (type: string) => (await h.sent()).filter((m) => m.type === type);
  const click = (selector: string, modifiers?: ('Alt' | 'Shift')[]) =>
    h.page
      .locator(selector)
      .first()
      .click(modifiers ? { modifiers } : undefined);

  /** Per colour: the mean pixel row (CSS px from the plot's top) where that colour is drawn in one column of a rotation chart, or null. */
  const rowsOf = (host: string, colors: string[], xFrac: number) =>
    h.page.evaluate(
      ([host, colors, xFrac]) => {
        const doc = (globalThis as any).document;
        const canvas = doc.querySelector(`${host} .u-wrap > canvas`);
        const over = doc.querySelector(`${host} .u-over`);
        const cr = canvas.getBoundingClientRect();
        const or = over.getBoundingClientRect();
        const k = canvas.width / cr.width;
        const x = Math.round((or.left - cr.left + or.width * (xFrac as number)) * k);
        const top = Math.round((or.top - cr.top) * k);
        const hgt = Math.round(or.height * k);
        const data = canvas.getContext('2d').getImageData(x - 1, top, 3, hgt).data;
        return (colors as string[]).map((hex) => {
          const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
          const rows: number[] = [];
          for (let y = 0; y < hgt; y++)
            for (let dx = 0; dx < 3; dx++) {
              const o = (y * 3 + dx) * 4;
              if (Math.abs(data[o] - c[0]) + Math.abs(data[o + 1] - c[1]) + Math.abs(data[o + 2] - c[2]) < 36) {
                rows.push(y / k);
                break;
              }
            }
          return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : null;
        });
      },
      [host, colors, xFrac] as const,
    );

  /** Per colour: how many pixels of a rotation chart's plot are drawn in it. */
  const pixelsOf = (host: string, colors: string[]) =>
    h.page.evaluate(
      ([host, colors]) => {
        const doc = (globalThis as any).document;
        const canvas = doc.querySelector(`${host} .u-wrap > canvas`);
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        return (colors as string[]).map((hex) => {
          const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
          let n = 0;
          for (let o = 0; o < data.length; o += 4)
            if (Math.abs(data[o] - c[0]) + Math.abs(data[o + 1] - c[1]) + Math.abs(data[o + 2] - c[2]) < 30) n++;
          return n;
        });
      },
      [host, colors] as const,
    );

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    h = await startHarness({ width: 300, height: 380 });
    await h.post({
      type: 'runs',
      runs: [
        { runId: 'three-layers', name: 'mnist-three', status: 'completed', live: false },
        { runId: 'failed-run', name: 'failed', status: 'failed', live: false },
        { runId: 'adam-small', name: 'mnist-adam', status: 'completed', live: false },
        { runId: 'plain-sgd', name: 'mnist-sgd', status: 'completed', live: false },
      ],
      selected: 'three-layers',
    });
    for (const [id, events] of [
      ['three-layers', three.events],
      ['failed-run', failed.events],
      ['adam-small', adam],
      ['plain-sgd', plain.events],
    ] as const)
      await h.post({ type: 'load', runId: id, events });
    await show('three-layers', three.rotationRecords);
  });

  after(async () => {
    await h?.close();
  });

  const layout = async (width: number, height: number, name: string) => {
    await h.page.setViewportSize({ width, height });
    await h.page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await h.page.waitForTimeout(250);
    await settled();
    const box = await h.page.locator('.rotation-host .uplot').boundingBox();
    const plot = await h.page.locator('.rotation-host .u-over').boundingBox();
    assert.ok(box && plot);
    const scrollWidth = await h.page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth);
    await h.page.screenshot({ path: path.join(ARTIFACTS, `monitor-${name}.png`) });
    return { box, plot, scrollWidth };
  };

  it('in a side view (300x380): the rotation chart first, whole within the view, the rest below it', async () => {
    const { box, plot, scrollWidth } = await layout(300, 380, 'side-300x380');
    assert.ok(box.y < 120, `the chart's top at ${box.y} px`);
    assert.ok(box.y + box.height <= 380, `the chart ends at ${box.y + box.height} px, below the view`);
    assert.ok(plot.height >= 120, `a plot ${plot.height} px high`);
    assert.ok(scrollWidth <= 300, `no horizontal scrolling (${scrollWidth} px)`);
    // Name, status, progress, speed, losses, accuracy and the table follow, in that order.
    const tops = await Promise.all(
      ['.run-name', '.status-badge', '.stats', '.metric-loss', '.metric-accuracy', '.table-card'].map(async (s) => {
        const b = await h.page.locator(s).first().boundingBox();
        assert.ok(b, `${s} is shown`);
        return b.y;
      }),
    );
    assert.ok(tops[0] >= box.y + box.height, 'the run name comes after the chart');
    for (let i = 1; i < tops.length; i++) assert.ok(tops[i] >= tops[i - 1] - 1, `${tops.join(' ')}: in order`);
    assert.match(await h.page.locator('.run-header').innerText(), /Speed[\s\S]*samples\/s[\s\S]*Duration/i);
  });

  it("shows a failed run's message under its chart in the side view", async () => {
    await show('failed-run', failed.rotationRecords);
    const banner = h.page.locator('.banner-failed');
    await banner.waitFor({ state: 'visible' });
    const b = await banner.boundingBox();
    const chart = await h.page.locator('.rotation-host .uplot').boundingBox();
    assert.ok(b && chart && b.y > chart.y + chart.height);
    assert.ok(b.width <= 300);
    assert.match(await banner.innerText(), /^Failed: the loss became NaN/);
    await h.page.screenshot({ path: path.join(ARTIFACTS, 'monitor-side-failed.png'), fullPage: true });
    await show('three-layers', three.rotationRecords);
  });

  it('degrades in a narrow, short view (240x260): a smaller chart, no horizontal scrolling', async () => {
    const { box, plot, scrollWidth } = await layout(240, 260, 'side-240x260');
    assert.ok(box.y < 120, `top at ${box.y}`);
    assert.ok(plot.height >= 90, `the plot keeps ${plot.height} px`);
    assert.ok(scrollWidth <= 240, `no horizontal scrolling (${scrollWidth} px)`);
  });

  it('in a big editor panel (1440x900): the chart first, taller, within the view', async () => {
    const { box, plot } = await layout(1440, 900, 'panel-1440x900');
    assert.ok(box.y < 120, `top at ${box.y}`);
    assert.ok(box.y + box.height <= 900, `ends at ${box.y + box.height}`);
    assert.ok(plot.height >= 300, `a plot ${plot.height} px high`);
  });

  it('drags to zoom the x axis of every chart, double-click resets', async () => {
    const before = await state();
    const plot = await h.page.locator('.rotation-host .u-over').boundingBox();
    assert.ok(plot);
    const y = plot.y + plot.height / 2;
    await h.page.mouse.move(plot.x + plot.width * 0.25, y);
    await h.page.mouse.down();
    await h.page.mouse.move(plot.x + plot.width * 0.4, y, { steps: 4 });
    await h.page.mouse.move(plot.x + plot.width * 0.5, y, { steps: 4 });
    await h.page.mouse.up();
    await settled();
    const s = await state();
    assert.ok(s.zoom, 'zoomed');
    const [x0, x1] = before.ranges.distance.x;
    const want = [x0 + 0.25 * (x1 - x0), x0 + 0.5 * (x1 - x0)];
    assert.ok(Math.abs(s.zoom[0] - want[0]) < 0.03 * (x1 - x0), `zoom from ${s.zoom[0]}, not ${want[0]}`);
    assert.ok(Math.abs(s.zoom[1] - want[1]) < 0.03 * (x1 - x0), `zoom to ${s.zoom[1]}, not ${want[1]}`);
    assert.deepEqual(s.ranges.distance.x, s.zoom);
    assert.deepEqual(s.metrics.loss.xRange, s.zoom, 'the loss chart follows');
    assert.deepEqual(s.metrics.accuracy.xRange, s.zoom, 'the accuracy chart follows');
    // Zoomed on the rise of the curves, the lines at the right edge are where the curves are at that epoch.
    await h.page.mouse.dblclick(plot.x + plot.width * 0.7, y);
    await settled();
    const r = await state();
    assert.equal(r.zoom, null);
    assert.deepEqual(r.ranges.distance.x, before.ranges.distance.x);
    // The loss chart zooms too, and resets.
    const loss = await h.page.locator('.metric-loss .u-over').boundingBox();
    assert.ok(loss);
    await h.page.mouse.move(loss.x + loss.width * 0.1, loss.y + loss.height / 2);
    await h.page.mouse.down();
    await h.page.mouse.move(loss.x + loss.width * 0.3, loss.y + loss.height / 2, { steps: 5 });
    await h.page.mouse.up();
    await settled();
    const z = await state();
    assert.ok(z.zoom && z.zoom[1] < before.ranges.distance.x[1] / 2, 'zoomed from the loss chart');
    assert.deepEqual(z.ranges.distance.x, z.zoom, 'the rotation chart follows');
    await h.page.mouse.dblclick(loss.x + loss.width * 0.5, loss.y + loss.height / 2);
    await settled();
    assert.equal((await state()).zoom, null);
  });

  it('hides a layer (click on its legend entry), shows it alone (Alt-click, double-click), and all again', async () => {
    const colors: string[] = (await state()).layerColors;
    const before = await pixelsOf('.rotation-host', colors);
    assert.ok(
      before.every((n) => n > 50),
      `every layer is drawn: ${before}`,
    );
    await click('.rotation-legend [data-layer="1"]');
    await settled();
    let s = await state();
    assert.deepEqual(s.hidden, ['dense2']);
    let px = await pixelsOf('.rotation-host', colors);
    assert.ok(px[1] < before[1] * 0.05, `dense2 hidden: ${px[1]} of ${before[1]} pixels left`);
    assert.ok(px[0] > 50 && px[2] > 50, 'the others stay');
    assert.equal(await h.page.locator('.rotation-legend [data-layer="1"]').getAttribute('aria-pressed'), 'false');
    assert.equal(await shownText(h.page.locator('tr.off .layer-name')), 'dense2', 'the table row says so');
    // Alt-click: dense1 alone.
    await click('.rotation-legend [data-layer="0"]', ['Alt']);
    await settled();
    s = await state();
    assert.deepEqual(s.hidden, ['dense2', 'output']);
    px = await pixelsOf('.rotation-host', colors);
    assert.ok(px[0] > 50 && px[1] < before[1] * 0.05 && px[2] < before[2] * 0.05, `dense1 alone: ${px}`);
    // Alt-click on the one shown alone: all again.
    await click('.rotation-legend [data-layer="0"]', ['Alt']);
    await settled();
    assert.deepEqual((await state()).hidden, []);
    // Double-click on a table row's name solos too; "show all" brings them back.
    await h.page.locator('.layer-toggle[data-layer="2"]').dblclick();
    await settled();
    assert.deepEqual((await state()).hidden, ['dense1', 'dense2']);
    await click('.rotation-legend .show-all');
    await settled();
    assert.deepEqual((await state()).hidden, []);
  });

  it('hides and solos the loss and accuracy lines from their legends', async () => {
    await click('.metric-loss .legend-toggle[data-series="validation"]');
    await settled();
    let loss = (await state()).metrics.loss;
    assert.deepEqual(loss.hidden, ['validation']);
    assert.deepEqual(loss.shown.slice(0, 2), [true, false]);
    await click('.metric-loss .legend-toggle[data-series="validation"]', ['Alt']);
    await settled();
    loss = (await state()).metrics.loss;
    assert.deepEqual(loss.hidden, ['train'], 'validation alone');
    assert.deepEqual(loss.shown.slice(0, 2), [false, true]);
    await h.page.locator('.metric-loss .legend-toggle[data-series="validation"]').dblclick();
    await settled();
    loss = (await state()).metrics.loss;
    assert.deepEqual(loss.hidden, [], 'double-click on the line shown alone: both again');
  });

  it('highlights a layer on hover: over its legend entry, its table row, or near its line', async () => {
    const boxes = () =>
      h.page.evaluate(() =>
        ['.rotation-legend [data-layer="2"]', '.rotation-legend', '.layer-table tbody tr:last-child .layer-name'].map(
          (sel) => {
            // (In the page's coordinates: hovering may scroll it.)
            const w = globalThis as any;
            const r = w.document.querySelector(sel).getBoundingClientRect();
            return [r.x + w.scrollX, r.y + w.scrollY, r.width, r.height].map(Math.round).join(',');
          },
        ),
      );
    const unlit = await boxes();
    await h.page.locator('.rotation-legend [data-layer="2"]').hover();
    await settled();
    assert.equal((await state()).highlighted, 'output');
    // Highlighting moves nothing: a legend entry that grew would wrap the legend and move the table
    // under the pointer (another row highlighted, the legend back: the page would jump to and fro).
    assert.deepEqual(await boxes(), unlit, 'the highlighted entry, the legend and the table keep their boxes');
    assert.equal(await shownText(h.page.locator('tr.highlighted .layer-name')), 'output');
    // The others are dimmed under a veil, the highlighted line drawn over it.
    const veil = await h.page.evaluate(() => {
      const c = (globalThis as any).document.querySelector('.rotation-host .highlight-overlay');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let drawn = 0;
      for (let o = 3; o < d.length; o += 4) if (d[o] > 0) drawn++;
      return drawn / (d.length / 4);
    });
    assert.ok(veil > 0.9, `the overlay covers the plot (${veil})`);
    await h.page.locator('.layer-table tbody tr').nth(0).hover();
    await settled();
    assert.equal((await state()).highlighted, 'dense1');
    await h.page.mouse.move(0, 0);
    await settled();
    // Near dense1's line, at the end of the curves.
    await h.page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await settled();
    const s = await state();
    const plot = await h.page.locator('.rotation-host .u-over').boundingBox();
    assert.ok(plot);
    const [x0, x1] = s.ranges.distance.x;
    const [y0, y1] = s.ranges.distance.y;
    const lastEpoch = rotations(three.events).at(-1)?.epoch as number;
    const px = plot.x + ((lastEpoch - x0) / (x1 - x0)) * plot.width - 2;
    const py = plot.y + plot.height * (1 - (s.shownLast[0] - y0) / (y1 - y0));
    await h.page.mouse.move(px, py + 2);
    await settled();
    assert.equal((await state()).highlighted, 'dense1');
    assert.match(await h.page.locator('.chart-tooltip .tooltip-row.highlighted').innerText(), /dense1/);
    await h.page.mouse.move(0, 0);
    await settled();
    assert.equal((await state()).highlighted, null);
  });

  it('shows Adam-sized distances (0.001, 0.01) on distinct pixel rows on a log axis, not on a linear one', async () => {
    await show('adam-small', 41);
    const s = await state();
    assert.equal(s.settings.y.distance, 'fixed');
    const colors: string[] = s.layerColors;
    const linear = await rowsOf('.rotation-host', colors, 0.98);
    assert.ok(linear[0] !== null && linear[1] !== null, `both lines drawn: ${linear}`);
    assert.ok(
      Math.abs((linear[0] as number) - (linear[1] as number)) < 6,
      `on the fixed axis they all but touch: rows ${linear}`,
    );
    await click('[data-control="distance-y"] [data-value="log"]');
    await settled();
    const log = await state();
    assert.equal(log.settings.y.distance, 'log');
    const [lo, hi] = log.ranges.distance.y;
    assert.ok(lo <= 0.001 && hi >= 0.01 && hi <= 0.1, `log range ${lo}..${hi}`);
    const rows = await rowsOf('.rotation-host', colors, 0.98);
    assert.ok(rows[0] !== null && rows[1] !== null, `both lines drawn: ${rows}`);
    const plot = await h.page.locator('.rotation-host .u-over').boundingBox();
    assert.ok(plot);
    const apart = (rows[0] as number) - (rows[1] as number);
    assert.ok(apart > plot.height / 4, `a decade apart: ${apart} px of ${plot.height}`);
    await h.page.screenshot({ path: path.join(ARTIFACTS, 'monitor-log-axis.png') });
    // Automatic: the range of the lines.
    await click('[data-control="distance-y"] [data-value="auto"]');
    await settled();
    const auto = await state();
    const [alo, ahi] = auto.ranges.distance.y;
    assert.ok(alo === 0 && ahi >= 0.01 && ahi <= 0.015, `automatic: ${alo}..${ahi}`);
    await click('[data-control="distance-y"] [data-value="fixed"]');
    await settled();
    assert.deepEqual((await state()).ranges.distance.y, [0, 1.1]);
  });

  it('smooths with a debiased EMA (TensorBoard), the raw line kept faint', async () => {
    await show('three-layers', three.rotationRecords);
    const colors: string[] = (await state()).layerColors;
    await h.page.evaluate(() => {
      const input = (globalThis as any).document.querySelector('[data-control="smoothing"] input');
      input.value = '0.9';
      input.dispatchEvent(new (globalThis as any).Event('input', { bubbles: true }));
    });
    await waitSmoothing(0.9);
    await settled();
    const s = await state();
    const recs = rotations(three.events);
    const expected = [0, 1, 2].map((i) => {
      const ema = new Ema(0.9);
      let v = NaN;
      for (const r of recs) v = ema.next(r.distances[i] as number);
      return v;
    });
    for (let i = 0; i < 3; i++) {
      assert.ok(Math.abs(s.shownLast[i] - expected[i]) < 1e-5, `layer ${i}: ${s.shownLast[i]} vs ${expected[i]}`);
      assert.equal(s.rawLast[i], recs.at(-1)?.distances[i]);
    }
    assert.ok(
      s.shownLast.some((v: number, i: number) => Math.abs(v - s.rawLast[i]) > 1e-3),
      'the smoothed line lags the raw one',
    );
    // Both lines drawn: full colour (smoothed) and faint (raw, blended with the background).
    const px = await pixelsOf('.rotation-host', colors);
    assert.ok(
      px.every((n) => n > 50),
      `the smoothed lines: ${px}`,
    );
    assert.equal(await h.page.locator('[data-control="smoothing"] .slider-value').innerText(), '0.90');
    assert.deepEqual(
      (await state()).metrics.loss.shown,
      [true, true, true, true],
      'the loss chart: raw and smoothed lines',
    );
    await h.page.screenshot({ path: path.join(ARTIFACTS, 'monitor-smoothing.png') });
    const sent = (await sentOf('settings')).at(-1);
    assert.equal(sent.settings.smoothing, 0.9);
  });

  it('puts steps or wall time on the x axis', async () => {
    const recs = rotations(three.events);
    await click('[data-control="x-axis"] [data-value="step"]');
    await settled();
    let s = await state();
    assert.equal(s.settings.x, 'step');
    assert.deepEqual(s.ranges.distance.x, [0, recs.at(-1)?.step]);
    assert.equal(s.metrics.loss.xRange[1], recs.at(-1)?.step);
    assert.equal(s.ranges.distance.xLabel, 'step');
    await click('[data-control="x-axis"] [data-value="time"]');
    await settled();
    s = await state();
    const seconds = ((recs.at(-1)?.time as number) - (three.started.time as number)) / 1000;
    assert.deepEqual(s.ranges.distance.x, [0, seconds]);
    assert.equal(s.ranges.distance.xLabel, 'wall time');
    await click('[data-control="x-axis"] [data-value="epoch"]');
    await settled();
    assert.deepEqual((await state()).ranges.distance.x, [0, 3]);
  });

  it('shows the stepwise rotation rate instead of, or under, the distance', async () => {
    await h.page.evaluate(() => {
      const input = (globalThis as any).document.querySelector('[data-control="smoothing"] input');
      input.value = '0';
      input.dispatchEvent(new (globalThis as any).Event('input', { bubbles: true }));
    });
    await waitSmoothing(0);
    await show('plain-sgd', plain.rotationRecords);
    await click('[data-control="quantity"] [data-value="rate"]');
    await settled();
    let s = await state();
    assert.deepEqual(s.rotationCharts, ['rate']);
    const recs = rotations(plain.events);
    const last = recs.at(-1) as RotationEvent;
    const prev = recs.at(-2) as RotationEvent;
    const terms = rateTerms(plain.started);
    assert.equal(terms.perRate, true, 'Layca off: divided by the learning rate');
    for (let i = 0; i < 4; i++) {
      const want = stepRate(last.rotation[i], last.steps, rateDivisor(terms, prev.epoch, last.epoch));
      assert.ok(Math.abs(s.rawLast[i] - want) / want < 1e-5, `layer ${i}: ${s.rawLast[i]} vs ${want}`);
    }
    assert.match(s.ranges.rate.yLabel, /learning rate/);
    assert.equal(s.settings.y.rate, 'log');
    assert.ok(s.ranges.rate.y[0] > 0, 'a log axis');
    await click('[data-control="quantity"] [data-value="both"]');
    await settled();
    s = await state();
    assert.deepEqual(s.rotationCharts, ['distance', 'rate']);
    assert.ok(await h.page.locator('.rate-host .u-over').isVisible());
    await h.page.screenshot({ path: path.join(ARTIFACTS, 'monitor-rate-both.png'), fullPage: true });
    // With Layca the rate is the tan of the angle per step itself.
    await show('three-layers', three.rotationRecords);
    s = await state();
    assert.equal(rateTerms(three.started).perRate, false);
    assert.match(s.ranges.rate.yLabel, /tan/);
    const l3 = rotations(three.events).at(-1) as RotationEvent;
    assert.deepEqual(s.rotationCharts, ['distance', 'rate'], 'still both');
    await click('[data-control="quantity"] [data-value="rate"]');
    await settled();
    s = await state();
    const want = Math.tan(Math.atan(l3.rotation[0] as number) / l3.steps);
    assert.ok(Math.abs(s.rawLast[0] - want) / want < 1e-5, `${s.rawLast[0]} vs ${want}`);
    await click('[data-control="quantity"] [data-value="distance"]');
    await settled();
    assert.deepEqual((await state()).rotationCharts, ['distance']);
  });

  it('sends its settings to the host, and takes the workspace settings from it', async () => {
    for (const m of await h.sent()) assert.ok(isWebviewMessage(m), `the host would reject ${JSON.stringify(m)}`);
    const last = (await sentOf('settings')).at(-1);
    assert.deepEqual(last.settings, (await state()).settings);
    const stored: ViewSettings = {
      x: 'step',
      smoothing: 0.6,
      quantity: 'both',
      y: { distance: 'log', rate: 'auto', loss: 'log', accuracy: 'fixed' },
    };
    const n = (await sentOf('settings')).length;
    await h.post({ type: 'settings', settings: stored });
    await settled();
    const s = await state();
    assert.deepEqual(s.settings, stored);
    assert.deepEqual(s.rotationCharts, ['distance', 'rate']);
    assert.equal(await h.page.locator('[data-control="loss-y"] .on').innerText(), 'log');
    assert.equal(await h.page.locator('[data-control="x-axis"] .on').innerText(), 'step');
    assert.equal((await sentOf('settings')).length, n, 'not sent back');
    // Invalid settings are ignored whole.
    await h.post({ type: 'settings', settings: { ...stored, smoothing: 5 } });
    await h.post({ type: 'settings', settings: { ...stored, y: { ...stored.y, accuracy: 'log' } } });
    await settled();
    assert.deepEqual((await state()).settings, stored);
    // Back to the defaults (by the toolbar, as a user would): each change is sent.
    await click('[data-control="quantity"] [data-value="distance"]');
    await click('[data-control="x-axis"] [data-value="epoch"]');
    await click('[data-control="distance-y"] [data-value="fixed"]');
    await click('[data-control="loss-y"] [data-value="fixed"]');
    await click('[data-control="accuracy-y"] [data-value="auto"]');
    await h.page.evaluate(() => {
      const input = (globalThis as any).document.querySelector('[data-control="smoothing"] input');
      input.value = '0';
      input.dispatchEvent(new (globalThis as any).Event('input', { bubbles: true }));
    });
    await waitSmoothing(0);
    const after = (await sentOf('settings')).at(-1);
    assert.equal(after.settings.quantity, 'distance');
    assert.equal(after.settings.smoothing, 0);
  });

  it('exports: asks the host for the CSV and the SVG of the run as shown; the host writes them from the run log', async () => {
    await click('.rotation-legend [data-layer="1"]'); // dense2 hidden
    await click('[data-control="distance-y"] [data-value="log"]');
    await settled();
    const n = (await sentOf('export')).length;
    await click('[data-action="export-csv"]');
    await click('[data-action="export-svg"]');
    const sent = (await sentOf('export')).slice(n);
    assert.deepEqual(
      sent.map((m) => [m.type, m.runId, m.kind]),
      [
        ['export', 'three-layers', 'csv'],
        ['export', 'three-layers', 'svg'],
      ],
    );
    for (const m of sent) assert.ok(isWebviewMessage(m));
    const view = sent[1].view;
    assert.deepEqual(view.hidden, ['dense2']);
    assert.equal(view.settings.y.distance, 'log');

    // What the host writes, from the same events.
    const log = emptyRunLog();
    for (const e of three.events) addEvent(log, e);
    const csv = monitorCsv(log);
    fs.writeFileSync(path.join(ARTIFACTS, 'monitor-export.csv'), csv);
    const rows = parseCsv(csv);
    assert.deepEqual(rows[0], [...CSV_COLUMNS, 'dense1', 'dense2', 'output']);
    const recs = rotations(three.events);
    assert.equal(rows.length - 1, recs.length, 'one row per record');
    const lastRow = rows[rows.length - 1];
    assert.equal(Number(lastRow[0]), recs.at(-1)?.step);
    assert.deepEqual(lastRow.slice(CSV_COLUMNS.length).map(Number), recs.at(-1)?.distances);
    assert.equal(
      lastRow[CSV_COLUMNS.indexOf('loss')],
      String(three.events.filter((e) => e.type === 'batch').at(-1)?.loss),
    );
    assert.equal(rows[1][CSV_COLUMNS.indexOf('val_loss')], '', 'no validation before the first epoch ends');

    const svg = monitorSvg(curvesTableOf(log), curvesMetaOf(log), view);
    fs.writeFileSync(path.join(ARTIFACTS, 'monitor-export.svg'), svg);
    const parsed = await h.page.evaluate((text) => {
      const doc = new (globalThis as any).DOMParser().parseFromString(text, 'image/svg+xml');
      return {
        error: doc.querySelector('parsererror')?.textContent ?? null,
        root: doc.documentElement.nodeName,
        layers: [...doc.querySelectorAll('path.layer')].map((p: any) => p.getAttribute('data-layer')),
        raw: doc.querySelectorAll('path.layer-raw').length,
        target: doc.querySelectorAll('line.target').length,
      };
    }, svg);
    assert.equal(parsed.error, null);
    assert.equal(parsed.root, 'svg');
    assert.deepEqual(parsed.layers, ['dense1', 'output'], 'the hidden layer left out');
    assert.equal(parsed.raw, 0, 'no smoothing: no faint raw line');
    assert.match(svg, /log y axis/);
  });

  it('renders the curves as shown to PNG and sends the bytes', async () => {
    const n = (await sentOf('png')).length;
    await click('[data-action="export-png"]');
    await h.page.waitForFunction(
      (n) => (globalThis as any).__layerRotationMonitorSent.filter((m: any) => m.type === 'png').length === n,
      n + 1,
    );
    const m = (await sentOf('png')).at(-1) as { type: 'png'; runId: string; data: string };
    assert.ok(isWebviewMessage(m));
    assert.equal(m.runId, 'three-layers');
    const bytes = Buffer.from(m.data, 'base64');
    fs.writeFileSync(path.join(ARTIFACTS, 'monitor-export.png'), bytes);
    assert.ok(bytes.subarray(0, 8).equals(PNG), 'a PNG signature');
    // Decoded here: IHDR, then the IDAT chunks inflate to height rows of (1 + width x 4) bytes (RGBA).
    const width = bytes.readUInt32BE(16);
    const height = bytes.readUInt32BE(20);
    assert.equal(bytes.toString('ascii', 12, 16), 'IHDR');
    assert.equal(bytes[25], 6, 'RGBA');
    const idat: Buffer[] = [];
    for (let o = 8; o < bytes.length; ) {
      const len = bytes.readUInt32BE(o);
      if (bytes.toString('ascii', o + 4, o + 8) === 'IDAT') idat.push(bytes.subarray(o + 8, o + 8 + len));
      o += 12 + len;
    }
    assert.equal(zlib.inflateSync(Buffer.concat(idat)).length, height * (1 + width * 4));
    assert.deepEqual([width, height], [1720, 840], 'the SVG (860 x 420) at twice the size');
    // And decoded by the browser: a white picture with the curves in colour on it.
    const seen = await h.page.evaluate(async (b64) => {
      const img = new (globalThis as any).Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = (globalThis as any).document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let colored = 0;
      for (let o = 0; o < d.length; o += 4)
        if (Math.max(d[o], d[o + 1], d[o + 2]) - Math.min(d[o], d[o + 1], d[o + 2]) > 60) colored++;
      return { w: img.width, h: img.height, corner: [d[0], d[1], d[2]], colored };
    }, m.data);
    assert.deepEqual(seen.corner, [255, 255, 255]);
    assert.ok(seen.colored > 2000, `${seen.colored} coloured pixels`);
    await click('.rotation-legend .show-all');
    await click('[data-control="distance-y"] [data-value="fixed"]');
  });

  for (const theme of ['vscode-light', 'vscode-high-contrast', 'vscode-high-contrast-light'] as const) {
    it(`renders every chart legibly in ${theme}`, async () => {
      await h.page.evaluate((t) => ((globalThis as any).document.body.className = t), theme);
      await h.page.waitForFunction(() => (globalThis as any).__layerRotationMonitor.layerColors.length === 3);
      await h.page.waitForTimeout(300);
      await settled();
      const s = await state();
      const bg = parseRgb(s.background) as number[];
      const min = theme.includes('high-contrast') ? 3 : 2.2;
      for (const c of s.layerColors) {
        const ratio = contrast(parseRgb(c) as number[], bg);
        assert.ok(ratio >= min, `${c} on ${s.background}: contrast ${ratio.toFixed(2)} < ${min}`);
      }
      const axis = contrast(parseRgb(s.axisColor) as number[], bg);
      assert.ok(axis >= 4.5, `axis labels at contrast ${axis.toFixed(2)}`);
      // Every layer's line is on the canvas in its colour.
      const px = await pixelsOf('.rotation-host', s.layerColors);
      assert.ok(
        px.every((n) => n > 50),
        `${theme}: ${px}`,
      );
      await h.page.screenshot({ path: path.join(ARTIFACTS, `monitor-${theme}.png`), fullPage: true });
    });
  }

  it('has no CSP violations and no console errors', async () => {
    await h.page.evaluate(() => ((globalThis as any).document.body.className = 'vscode-dark'));
    assert.deepEqual(await cspViolations(h.page), []);
    assert.deepEqual(h.problems, []);
  });
});

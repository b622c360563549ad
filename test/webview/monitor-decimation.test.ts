// The monitor's first draw of a big run (issue 12): 200 layers x 20,000 rotation records drawn
// decimated to the plot's pixel columns (src/runlog/decimate.ts), and the drawing checked against
// the full lines: every record's line drawn again, from the same data, over a copy of the chart's
// canvas changes next to no pixel (the decimated lines already cover what the full ones do).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from './harness';

const LAYERS = 200;
const RECORDS = 20_000;

/** In the page: the run's events; the same distances for the full drawing (d). Noisy, so each pixel column has a spread. */
function makeRun(layers: number, records: number) {
  const d = (i: number, r: number) => {
    const x = r / records;
    const f = i % 17 === 0 ? 0.5 : 0.95 + 0.2 * (i / layers);
    // A deterministic noise of a few pixels, and a spike now and then (what decimation must not lose).
    const noise = 0.004 * Math.sin(r * 0.7 + i) + (r % 997 === i % 997 ? 0.05 : 0);
    return (f * (1 - Math.exp(-2 * x))) / (1 - Math.exp(-2)) + noise;
  };
  (globalThis as any).__distance = d;
  const perEpoch = 1000;
  const events: unknown[] = [
    {
      v: 1,
      time: 0,
      type: 'run_started',
      runId: 'big-run',
      name: 'big',
      engine: 'tfjs',
      backend: 'wasm',
      dataset: { name: 'synthetic', train: 1, validation: 1, test: 1, inputShape: [1], classes: 2 },
      layers: Array.from({ length: layers }, (_, i) => ({
        name: `conv${i + 1}`,
        kind: 'conv2d',
        shape: [3, 3, 8, 8],
        params: 584,
      })),
      epochs: records / perEpoch,
      stepsPerEpoch: perEpoch,
      batchSize: 32,
      totalSteps: records,
      target: 1,
      lagMargin: 0.2,
      fitAccuracy: 0.99,
      schedule: { learningRate: 0.1, decay: null, warmupEpochs: 0, layca: true, multipliers: [] },
    },
  ];
  for (let r = 0; r < records; r++)
    events.push({
      v: 1,
      time: r * 10,
      type: 'rotation',
      step: r,
      epoch: r / perEpoch,
      distances: Array.from({ length: layers }, (_, i) => d(i, r)),
      rotation: Array.from({ length: layers }, () => (r ? 0.001 : 0)),
      steps: r ? 1 : 0,
    });
  return events;
}

/** In the page: draws every record's line over a copy of the rotation chart's canvas; how many plot pixels that changed, of those the lines cover. */
function redrawFull([layers, records]: [number, number]) {
  const g = globalThis as any;
  const s = g.__layerRotationMonitor;
  const canvas = g.document.querySelector('.rotation-host .u-wrap > canvas');
  const over = g.document.querySelector('.rotation-host .u-over').getBoundingClientRect();
  const box = canvas.getBoundingClientRect();
  const dpr = canvas.width / box.width;
  const left = (over.left - box.left) * dpr;
  const top = (over.top - box.top) * dpr;
  const width = over.width * dpr;
  const height = over.height * dpr;
  const [x0, x1] = s.ranges.distance.x;
  const [y0, y1] = s.ranges.distance.y;
  const copy = g.document.createElement('canvas');
  copy.width = canvas.width;
  copy.height = canvas.height;
  const c = copy.getContext('2d');
  c.drawImage(canvas, 0, 0);
  c.save();
  c.beginPath();
  c.rect(left, top, width, height);
  c.clip();
  c.lineWidth = dpr;
  c.lineJoin = 'bevel';
  c.lineCap = 'butt';
  for (let i = 0; i < layers; i++) {
    c.strokeStyle = s.layerColors[i];
    c.beginPath();
    for (let r = 0; r < records; r++) {
      const px = left + ((r / 1000 - x0) / (x1 - x0)) * width;
      const py = top + height - ((g.__distance(i, r) - y0) / (y1 - y0)) * height;
      if (r) c.lineTo(px, py);
      else c.moveTo(px, py);
    }
    c.stroke();
  }
  c.restore();
  const rect = [Math.ceil(left), Math.ceil(top), Math.floor(width) - 1, Math.floor(height) - 1] as const;
  const a = canvas.getContext('2d').getImageData(...rect).data;
  const b = c.getImageData(...rect).data;
  const bg = [a[0], a[1], a[2]];
  let changed = 0;
  let covered = 0;
  for (let k = 0; k < a.length; k += 4) {
    const diff = Math.max(Math.abs(a[k] - b[k]), Math.abs(a[k + 1] - b[k + 1]), Math.abs(a[k + 2] - b[k + 2]));
    if (diff > 48) changed++;
    if (Math.max(Math.abs(b[k] - bg[0]), Math.abs(b[k + 1] - bg[1]), Math.abs(b[k + 2] - bg[2])) > 48) covered++;
  }
  return { changed, covered, columns: Math.round(width) };
}

describe('monitor webview: a big run drawn decimated', { timeout: 240_000 }, () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ width: 1000, height: 900 });
  });

  after(async () => {
    await h?.close();
  });

  it(`draws ${LAYERS} layers x ${RECORDS.toLocaleString('en-US')} records decimated to the pixel columns, as the full lines look`, async () => {
    await h.post({
      type: 'runs',
      runs: [{ runId: 'big-run', name: 'big', status: 'running', live: true }],
      selected: 'big-run',
    });
    const before = await h.state();
    await h.page.evaluate(
      `window.__layerRotationMonitorPost({ type: 'load', runId: 'big-run', events: (${makeRun})(${LAYERS}, ${RECORDS}) })`,
    );
    await h.page.waitForFunction((n) => (globalThis as any).__layerRotationMonitor?.points === n, RECORDS, {
      timeout: 60_000,
    });
    // The draw after the load: settled once nothing more is scheduled.
    await h.page.waitForTimeout(500);
    const s = await h.state();
    assert.equal(s.seriesCount, LAYERS);
    // The rotation chart made for the run is drawn once, with its lines (not first empty, as uPlot
    // draws a chart when it is made).
    assert.equal(s.fullDraws - before.fullDraws, 1, 'full draws of the rotation chart for the load');
    const r = await h.page.evaluate(redrawFull, [LAYERS, RECORDS] as [number, number]);
    assert.ok(
      s.drawnPoints >= r.columns && s.drawnPoints <= 4 * r.columns + 4,
      `${s.drawnPoints} points a layer drawn for ${r.columns} pixel columns (of ${RECORDS})`,
    );
    assert.ok(r.covered > 0.2 * r.columns * 100, `the lines cover ${r.covered} pixels`);
    assert.ok(
      r.changed <= 0.01 * r.covered,
      `the full lines drawn over the decimated ones changed ${r.changed} of the ${r.covered} pixels they cover`,
    );
    assert.deepEqual(h.problems, []);
  });
});

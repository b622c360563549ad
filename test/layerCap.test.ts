// Runs of many layers on the host's side of the monitor (issue 11, case 9): which layers are kept,
// drawn and listed (src/runlog/layerCap.ts); what the host posts to the monitor about a run
// (src/vscode/monitorFeed.ts), read from a real run log file: bounded whatever the layer count,
// every layer of a run under the cap, the lagging ones kept; the SVG export draws at most the cap.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { RunEvent, RunStarted } from '../src/runlog/events';
import { toJsonLine } from '../src/runlog/events';
import { keepLayers, MAX_LAYERS_DRAWN, MAX_LAYERS_KEPT, pickLayers } from '../src/runlog/layerCap';
import { MAX_RECORDS, readRunLog } from '../src/runlog/read';
import { curvesMetaOf, curvesTableOf, monitorSvg } from '../src/runlog/runExport';
import { DEFAULT_VIEW } from '../src/runlog/chartMath';
import { MonitorFeed } from '../src/vscode/monitorFeed';
import { isHostMessage, isLayerSubset } from '../webview/protocol';

/** A run log of `n` layers (named layer0...), `records` rotation records, ended with these lagging layers. */
function runLog(n: number, records: number, lagging: number[] = []): { file: string; events: RunEvent[] } {
  const t = 1_764_331_200_000;
  const started: RunStarted = {
    v: 1,
    time: t,
    type: 'run_started',
    runId: `many-${n}`,
    name: `many-${n}`,
    engine: 'tfjs',
    backend: 'cpu',
    dataset: { name: 'synthetic', train: 64, validation: null, test: 16, inputShape: [4], classes: 2 },
    layers: Array.from({ length: n }, (_, i) => ({ name: `layer${i}`, kind: 'dense', shape: [4, 4], params: 20 })),
    epochs: 1,
    stepsPerEpoch: records,
    batchSize: 8,
    totalSteps: records,
    target: 1,
    lagMargin: 0.2,
    fitAccuracy: 0.99,
  };
  const events: RunEvent[] = [started];
  for (let r = 0; r < records; r++)
    events.push({
      v: 1,
      time: t + r,
      type: 'rotation',
      step: r,
      epoch: r / records,
      distances: Array.from({ length: n }, (_, i) => (r * (i % 7)) / 100),
      rotation: Array.from({ length: n }, () => 0.01),
      steps: r ? 1 : 0,
    });
  events.push({
    v: 1,
    time: t + records,
    type: 'run_finished',
    status: 'completed',
    reason: 'done',
    step: records,
    epoch: 1,
    finalDistances: Array.from({ length: n }, (_, i) => i / n),
    testLoss: 0.1,
    testAccuracy: 0.9,
    lagging: lagging.map((i) => ({ name: `layer${i}`, distance: 0.1 })),
    seconds: 1,
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-layers-'));
  const file = path.join(dir, 'events.jsonl');
  fs.writeFileSync(file, events.map(toJsonLine).join(''));
  return { file, events };
}

describe('layers kept, drawn and listed', () => {
  it('picks all layers up to the cap; else at most the cap, the first, the last, evenly spaced, the priority ones', () => {
    assert.deepEqual(pickLayers(5, 256), [0, 1, 2, 3, 4]);
    for (const n of [257, 300, 1000, 1_000_000]) {
      const p = pickLayers(n, 256, [137, 138, n - 2]);
      assert.ok(p.length <= 256 && p.length >= 250, `${p.length} of ${n}`);
      assert.ok(
        p.every((i, k) => Number.isInteger(i) && i >= 0 && i < n && (k === 0 || i > p[k - 1])),
        'ascending, in range',
      );
      assert.equal(p[0], 0);
      assert.equal(p[p.length - 1], n - 1);
      for (const i of [137, 138, n - 2]) assert.ok(p.includes(i), `priority layer ${i}`);
    }
    // Priority ones take at most half the cap: the rest stays spread over depth.
    const all = Array.from({ length: 1000 }, (_, i) => i);
    const p = pickLayers(1000, 256, all);
    assert.ok(p.filter((i) => i < 128).length === 128 && p[p.length - 1] === 999);
  });

  it('keeps a rotation record of the layers kept only', () => {
    const { events } = runLog(10, 2);
    const r = keepLayers(events[2], [0, 9, 12]);
    assert.equal(r.type, 'rotation');
    if (r.type === 'rotation') assert.deepEqual(r.distances, [0, 0.02, null]);
  });
});

describe('what the host posts to the monitor about a run (monitorFeed)', () => {
  it('a run of 300 layers: every layer, as the log has it', () => {
    const { file } = runLog(300, 5, [150]);
    const m = new MonitorFeed().load('run-300', readRunLog(file));
    assert.ok(isHostMessage(m) && m.type === 'load');
    assert.equal(m.layers, undefined);
    const started = m.events.find((e) => e.type === 'run_started');
    assert.equal(started?.type === 'run_started' && started.layers.length, 300);
  });

  it('a run of 200,000 layers: the layers kept only (the lagging ones among them), a bounded message', () => {
    const n = 200_000;
    const { file } = runLog(n, 3, [123_457]);
    const log = readRunLog(file);
    const feed = new MonitorFeed();
    const m = feed.load('run-200k', log);
    assert.ok(isHostMessage(m) && m.type === 'load', 'the webview accepts it');
    assert.ok(m.layers && isLayerSubset(m.layers));
    assert.equal(m.layers.total, n);
    assert.ok(m.layers.indices.length <= MAX_LAYERS_KEPT);
    assert.ok(m.layers.indices.includes(123_457), 'the lagging layer (by run_finished) is kept');
    for (const e of m.events) {
      if (e.type === 'run_started') assert.equal(e.layers.length, m.layers.indices.length);
      if (e.type === 'rotation') assert.equal(e.distances.length, m.layers.indices.length);
      if (e.type === 'run_finished') assert.equal(e.finalDistances.length, m.layers.indices.length);
    }
    const bytes = JSON.stringify(m).length;
    assert.ok(bytes < 400_000, `${bytes} bytes (the log's run_started alone is ${JSON.stringify(log.started).length})`);
    // Appends: a new record crosses as the layers kept.
    const q: RunEvent[] = [];
    feed.keep('run-200k', [log.rotations[1]], q);
    const a = feed.append('run-200k', q);
    assert.ok(isHostMessage(a) && a.type === 'append');
    assert.deepEqual(a.layers, m.layers);
    const rec = a.events[0];
    assert.ok(rec.type === 'rotation' && rec.distances.length === m.layers.indices.length);
    assert.ok(JSON.stringify(a).length < 50_000);
  });

  it('a live run of a million layers whose run_started comes as an append: kept from there on', () => {
    const n = 1_000_000;
    const feed = new MonitorFeed();
    const started = {
      ...(runLog(1, 0).events[0] as RunStarted),
      layers: Array.from({ length: n }, (_, i) => ({ name: `l${i}`, kind: 'dense', shape: [1], params: 2 })),
    };
    const q: RunEvent[] = [];
    feed.keep('live', [started], q);
    const m = feed.append('live', q);
    assert.ok(isHostMessage(m) && m.type === 'append' && m.layers);
    assert.equal(m.layers.total, n);
    assert.ok(JSON.stringify(m).length < 200_000);
  });

  it('a long live run: appends until MAX_RECORDS records since the last load, then the run whole again, sampled', () => {
    const { file, events } = runLog(3, 30_000);
    const log = readRunLog(file); // as the run manager holds it: at most MAX_RECORDS rotations, sampled
    assert.ok(log.rotations.length <= MAX_RECORDS);
    const feed = new MonitorFeed();
    assert.equal(feed.load('long', log).type, 'load');
    const rotations = events.filter((e) => e.type === 'rotation');
    let sent = 0;
    let reloads = 0;
    for (let i = 0; i < rotations.length; i += 1000) {
      const m = feed.update('long', rotations.slice(i, i + 1000), log);
      assert.ok(isHostMessage(m));
      if (m.type === 'load') {
        reloads++;
        sent = m.events.filter((e) => e.type === 'rotation').length;
        assert.ok(sent <= MAX_RECORDS, `a reload of ${sent} records`);
      } else if (m.type === 'append') sent += m.events.length;
      else assert.fail(`a ${m.type} message`);
      // What the webview holds stays within about twice the cap.
      assert.ok(sent <= 2 * MAX_RECORDS + 1000, `${sent} records held after ${i + 1000} appended`);
    }
    assert.equal(reloads, 1);
  });

  it('rejects a subset that is not one', () => {
    for (const bad of [
      { total: 10, indices: [3, 2] },
      { total: 10, indices: [10] },
      { total: 10, indices: [1.5] },
      { total: 5000, indices: Array.from({ length: MAX_LAYERS_KEPT + 1 }, (_, i) => i) },
      { total: 10, indices: [1], extra: 1 },
    ])
      assert.equal(
        isHostMessage({ type: 'load', runId: 'r', events: [], layers: bad }),
        false,
        JSON.stringify(bad).slice(0, 80),
      );
  });
});

describe('the SVG export of a run of many layers', () => {
  it('draws at most MAX_LAYERS_DRAWN lines and says so; with the layers the monitor drew, those', () => {
    const { file } = runLog(1000, 4);
    const log = readRunLog(file);
    const table = curvesTableOf(log);
    const meta = curvesMetaOf(log);
    const svg = monitorSvg(table, meta, { settings: DEFAULT_VIEW, hidden: [], range: null });
    const lines = svg.match(/class="layer"/g)?.length ?? 0;
    assert.ok(lines <= MAX_LAYERS_DRAWN && lines > MAX_LAYERS_DRAWN - 5, `${lines} lines`);
    assert.match(svg, /256 of 1,000 layers drawn/);
    const shown = ['layer0', 'layer500', 'layer999'];
    const some = monitorSvg(table, meta, { settings: DEFAULT_VIEW, hidden: ['layer500'], range: null, shown });
    assert.deepEqual(
      [...some.matchAll(/class="layer" data-layer="([^"]+)"/g)].map((x) => x[1]),
      ['layer0', 'layer999'],
    );
  });
});

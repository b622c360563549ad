// The monitor's helpers (webview/src/analysis.ts), in plain Node: the epoch axis, and the layer
// table's verdict read from the webview store's columns.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { axisEnd, lowerBound, storeVerdict } from '../../webview/src/analysis';
import { normalizeEvent } from '../../src/runlog/normalize';
import { ROT_FIRST_LAYER, ROT_STEP, RunStore } from '../../webview/src/store';

/** An event as the host sends it: normalized once (src/runlog/normalize.ts). */
function normalized(value: unknown) {
  const r = normalizeEvent(value);
  if (!r.ok) throw new Error(r.problem);
  return r.event;
}

const close = (a: number | null, b: number, eps = 1e-9) =>
  assert.ok(a !== null && Math.abs(a - b) <= eps, `${a} != ${b}`);

describe('monitor analysis', () => {
  it('the epoch axis ends at a nice value, not past the planned end', () => {
    assert.equal(axisEnd(0, 3), 1);
    assert.equal(axisEnd(1.1, 3), 1.2);
    assert.equal(axisEnd(2.7, 3), 3);
    assert.equal(axisEnd(7, 0), 8);
    assert.equal(lowerBound([0, 1, 2, 3], 4, 1.5), 2);
  });

  it('the table: by projection while running, by final distance when finished, from the store', () => {
    const store = new RunStore('r');
    store.add(
      normalized({
        v: 1,
        type: 'run_started',
        runId: 'r',
        layers: [
          { name: 'fast', kind: 'dense', params: 2 },
          { name: 'slow', kind: 'dense', params: 2 },
        ],
        epochs: 4,
        stepsPerEpoch: 10,
        totalSteps: 40,
        target: 1,
        lagMargin: 0.2,
      }),
    );
    for (let k = 0; k <= 10; k++) {
      const epoch = k * 0.2; // 0 .. 2 epochs
      store.add(normalized({ v: 1, type: 'rotation', step: k * 2, epoch, distances: [0.4 * epoch, 0.1 * epoch] }));
    }
    assert.ok(store.info);
    const running = storeVerdict(store, store.info).layers;
    close(running[0].perEpoch, 0.4); // 0.8 at epoch 2, on course for 1.6 at epoch 4
    close(running[0].projected, 1.6);
    close(running[1].projected, 0.4);
    assert.deepEqual(
      running.map((r) => r.lagging),
      [false, true],
    );
    store.add(
      normalized({
        v: 1,
        type: 'run_finished',
        status: 'completed',
        reason: '',
        step: 20,
        epoch: 2,
        finalDistances: [0.85, null],
        trainAccuracy: 1,
        lagging: [],
      }),
    );
    const finished = storeVerdict(store, store.info).layers;
    assert.deepEqual(
      finished.map((r) => [r.distance, r.lagging]),
      [
        [0.85, false],
        [null, true],
      ],
    );
  });

  it('a run loaded whole (addAll): the same columns as event by event, its records copied once into columns made to size', () => {
    const started = (layers: number) =>
      normalized({
        v: 1,
        time: 0,
        type: 'run_started',
        runId: 'r',
        layers: Array.from({ length: layers }, (_, i) => ({ name: `l${i}`, kind: 'dense', params: 1 })),
        epochs: 10,
        stepsPerEpoch: 100,
      });
    const rotation = (r: number, layers: number, epoch = r / 100) =>
      normalized({
        v: 1,
        time: r,
        type: 'rotation',
        step: r,
        epoch,
        steps: 1,
        distances: Array.from({ length: layers }, (_, i) => (r % 97 === 3 && i === 1 ? null : (r + i) / 2000)),
        rotation: Array.from({ length: layers }, (_, i) => i / 1000),
      });
    const batch = (r: number) =>
      normalized({ v: 1, time: r, type: 'batch', step: r, epoch: r / 100, loss: 1 / (r + 1), accuracy: 0.5 });
    // A record before run_started (kept, then replayed), a second run_started (a new run: new
    // columns), an out-of-order record (ignored), 1,000 records after it.
    const events = [rotation(0, 2), started(2), ...Array.from({ length: 300 }, (_, r) => rotation(r + 1, 2))];
    events.push(started(3), rotation(0, 3));
    for (let r = 1; r <= 1000; r++) events.push(batch(r), rotation(r, 3));
    events.push(rotation(1001, 3, 0.001));
    const whole = new RunStore('r');
    whole.addAll(events);
    const one = new RunStore('r');
    for (const e of events) one.add(e);
    assert.equal(whole.rotation.length, 1001);
    assert.equal(whole.ignored, 1);
    assert.equal(whole.version, one.version);
    for (let c = 0; c < whole.rotation.width; c++)
      assert.deepEqual(whole.rotation.column(c), one.rotation.column(c), `column ${c}`);
    for (let c = 0; c < 3; c++) assert.deepEqual(whole.tangents.column(c), one.tangents.column(c));
    assert.ok(Number.isNaN(whole.rotation.get(ROT_FIRST_LAYER + 1, 3)), 'a null distance is a gap');
    // Made to size once (the records after the second run_started, and the out-of-order one), not doubled from 256.
    assert.equal(whole.rotation.capacity, 1002);
    assert.equal(one.rotation.capacity, 1024);
    // Appends after it: the capacity doubles (not grown by their few records, a copy of every column each time).
    whole.addAll([rotation(1002, 3, 11), rotation(1003, 3, 11)]);
    assert.equal(whole.rotation.length, 1003);
    assert.equal(whole.rotation.get(ROT_STEP, 1002), 1003);
    assert.equal(whole.rotation.capacity, 2004);
    const cols = whole.rotation.raw();
    whole.addAll([rotation(1004, 3, 11), rotation(1005, 3, 11)]);
    assert.equal(whole.rotation.raw(), cols, 'no copy');
  });

  it('the webview sources type-check (tsc -p webview: DOM, no Node)', () => {
    const root = path.resolve(__dirname, '..', '..', '..');
    try {
      execFileSync(
        process.execPath,
        [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'webview'), '--noEmit'],
        { cwd: root, stdio: 'pipe' },
      );
    } catch (err) {
      assert.fail(String((err as { stdout?: Buffer }).stdout ?? err));
    }
  });
});

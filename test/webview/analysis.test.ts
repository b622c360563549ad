// The monitor's helpers (webview/src/analysis.ts), in plain Node: the epoch axis, and the layer
// table's verdict read from the webview store's columns.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { axisEnd, lowerBound, storeVerdict } from '../../webview/src/analysis';
import { normalizeEvent } from '../../src/runlog/normalize';
import { RunStore } from '../../webview/src/store';

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

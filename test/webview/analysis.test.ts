// The monitor's per-layer analysis (webview/src/analysis.ts): slopes, learning-rate integrals,
// projections and lagging, in plain Node.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  analyseLayers,
  learningRateAt,
  learningRateIntegral,
  projectDistance,
  recentStart,
  slope,
} from '../../webview/src/analysis';

const close = (a: number | null, b: number, eps = 1e-9) =>
  assert.ok(a !== null && Math.abs(a - b) <= eps, `${a} != ${b}`);

describe('monitor analysis', () => {
  it('integrates warmup and step decay exactly', () => {
    const s = { learningRate: 0.1, warmupEpochs: 2, decay: { factor: 0.5, epochs: [4, 6] } };
    assert.equal(learningRateAt(s, 1), 0.05);
    assert.equal(learningRateAt(s, 5), 0.05);
    close(learningRateIntegral(s, 0, 2), 0.1); // ramp: 0.1 * 2 / 2
    close(learningRateIntegral(s, 1, 3), 0.1 * 0.75 + 0.1); // ramp from 1 to 2, flat from 2 to 3
    close(learningRateIntegral(s, 0, 8), 0.1 + 0.2 + 0.1 + 0.05);
    assert.equal(learningRateIntegral(s, 3, 3), 0);
  });

  it('takes the least-squares slope over finite records only', () => {
    const xs = [0, 1, 2, 3, 4];
    close(slope(xs, [0, 2, 4, 6, 8], 0, 5), 2);
    close(slope(xs, [0, NaN, 4, 6, NaN], 0, 5), 2);
    assert.equal(slope(xs, [NaN, NaN, NaN, 1, NaN], 0, 5), null);
    assert.equal(recentStart([0, 0.5, 1, 1.5, 2, 2.5, 3], 7, 1), 4);
    assert.equal(recentStart([0, 1], 2, 1), 0);
  });

  it('projects by the remaining epochs, weighted by the learning rate', () => {
    close(projectDistance({ current: 0.5, slope: 0.1, epoch: 2, slopeFrom: 1, endEpoch: 5 }), 0.8);
    // Decay by 0.1 at epoch 3: the two epochs after it count for 0.2 of the current rate's.
    const schedule = { learningRate: 1, decay: { factor: 0.1, epochs: [3] } };
    close(
      projectDistance({ current: 0.5, slope: 0.1, epoch: 2, slopeFrom: 1, endEpoch: 5, schedule }),
      0.5 + 0.1 * 1.2,
    );
    // Clamped to [0, 2]; nothing left to go: the distance now.
    assert.equal(projectDistance({ current: 1.9, slope: 1, epoch: 0, slopeFrom: 0, endEpoch: 5 }), 2);
    assert.equal(projectDistance({ current: 0.7, slope: 1, epoch: 5, slopeFrom: 4, endEpoch: 5 }), 0.7);
  });

  it('marks lagging layers: by projection while running, by final distance when finished', () => {
    const epochs = Float64Array.from({ length: 11 }, (_, i) => i * 0.2); // 0 .. 2 epochs
    const fast = epochs.map((e) => 0.4 * e); // 0.8 at epoch 2, slope 0.4: on course for 1.6 at epoch 4
    const slow = epochs.map((e) => 0.1 * e); // on course for 0.4
    const input = { epochs, distances: [fast, slow], n: 11, target: 1, lagMargin: 0.2, endEpoch: 4, finished: false };
    const running = analyseLayers(input);
    close(running[0].perEpoch, 0.4, 1e-9);
    close(running[0].projected, 1.6, 1e-9);
    close(running[1].projected, 0.4, 1e-9);
    assert.deepEqual(
      running.map((r) => r.lagging),
      [false, true],
    );
    const finished = analyseLayers({ ...input, finished: true, finalDistances: [0.85, null] });
    assert.deepEqual(
      finished.map((r) => [r.distance, r.lagging]),
      [
        [0.85, false],
        [null, true],
      ],
    );
    const empty = analyseLayers({ ...input, n: 0 });
    assert.deepEqual(
      empty.map((r) => [r.distance, r.lagging]),
      [
        [null, false],
        [null, false],
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

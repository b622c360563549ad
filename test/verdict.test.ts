// The one lagging verdict (src/runlog/verdict.ts): its slope, projection and rule, and every
// consumer of it agreeing on one real run: config and log diagnostics, the monitor's table on
// the webview store's columns, the CLI's table, summary.json and run_finished.lagging.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseConfigText } from '../src/engine/config/validate';
import { train } from '../src/engine/trainer';
import { type RotationEvent, type RunEvent, type RunStarted, stamp, toJsonLine } from '../src/runlog/events';
import { configLagProblems, logLagProblems } from '../src/runlog/lagProblems';
import { normalizeEvent } from '../src/runlog/normalize';
import { emptyRunLog, layerTable, parseRunLog, type RunLog } from '../src/runlog/read';
import { makeSummary } from '../src/runlog/runfolder';
import {
  judge,
  judgeLog,
  lagMessage,
  learningRateIntegral,
  type RunTerms,
  scheduledRate,
  slope,
  windowStart,
} from '../src/runlog/verdict';
import { storeVerdict } from '../webview/src/analysis';
import { RunStore } from '../webview/src/store';
import { syntheticConfig, tempDir, writeConfig } from './helpers/runs';

const close = (a: number | null | undefined, b: number, eps = 1e-9) =>
  assert.ok(typeof a === 'number' && Math.abs(a - b) <= eps, `${a} != ${b}`);

/** Columns of records every 0.1 epoch up to `until`, layer l at distance(l, epoch). */
function columns(layers: number, until: number, distance: (l: number, epoch: number) => number) {
  const n = Math.round(until * 10) + 1;
  const epochs = Float64Array.from({ length: n }, (_, k) => k / 10);
  const distances = Array.from({ length: layers }, (_, l) => epochs.map((e) => distance(l, e)));
  return { epochs, distances, n };
}

const terms = (names: string[], o: Partial<RunTerms> = {}): RunTerms => ({
  names,
  target: 1,
  lagMargin: 0.2,
  endEpoch: 4,
  finished: false,
  ...o,
});

describe('verdict', () => {
  it('the slope: least squares over the last epoch of records, at least 3, finite values only', () => {
    const xs = [0, 1, 2, 3, 4];
    close(slope(xs, [0, 2, 4, 6, 8], 0, 5), 2);
    close(slope(xs, [0, NaN, 4, 6, NaN], 0, 5), 2);
    assert.equal(slope(xs, [NaN, NaN, NaN, 1, NaN], 0, 5), null);
    assert.equal(windowStart([0, 0.5, 1, 1.5, 2, 2.5, 3], 7), 4); // epochs 2 to 3
    assert.equal(windowStart([0, 1, 2, 3, 4], 5), 2); // 2 records in the last epoch: widened to 3
    assert.equal(windowStart([0, 1], 2), 0);
    assert.equal(windowStart([], 0), 0);
  });

  it('integrates warmup and step decay exactly', () => {
    const s = { learningRate: 0.1, warmupEpochs: 2, decay: { factor: 0.5, epochs: [4, 6] } };
    assert.equal(scheduledRate(s, 1), 0.05);
    assert.equal(scheduledRate(s, 5), 0.05);
    close(learningRateIntegral(s, 0, 2), 0.1); // ramp: 0.1 * 2 / 2
    close(learningRateIntegral(s, 1, 3), 0.1 * 0.75 + 0.1); // ramp from 1 to 2, flat from 2 to 3
    close(learningRateIntegral(s, 0, 8), 0.1 + 0.2 + 0.1 + 0.05);
    assert.equal(learningRateIntegral(s, 3, 3), 0);
  });

  it('while running: each layer projected by its recent rate; below target - margin it lags', () => {
    const rates = [0.3, 0.1, 0.25];
    const v = judge(
      columns(3, 2, (l, e) => rates[l] * e),
      terms(['dense1', 'dense2', 'output']),
    );
    v.layers.forEach((l, i) => {
      close(l.perEpoch, rates[i]);
      close(l.distance, rates[i] * 2);
      close(l.projected, rates[i] * 4);
    });
    assert.deepEqual(
      v.layers.map((l) => l.lagging),
      [false, true, false],
    );
    assert.equal(
      lagMessage(v.layers[1], v, 'Do X.'),
      "Layer 'dense2' is on course to end at cosine distance 0.40, below the target 1 by more than 0.2: it lags. Do X.",
    );
  });

  it('the learning rate still to come scales the projection: step decay', () => {
    const schedule = { learningRate: 0.1, decay: { factor: 0.1, epochs: [3] }, warmupEpochs: 0 };
    const v = judge(
      columns(1, 2, (_, e) => 0.3 * e),
      terms(['a'], { schedule }),
    );
    // now 0.6, then 1 epoch at the full rate (0.3) and 1 at a tenth (0.03)
    close(v.layers[0].projected, 0.93);
  });

  it('the learning rate still to come scales the projection: warmup (exact for a layer turning with its rate)', () => {
    // Warmup over 2 epochs: the rate is e/2, so a layer turning by c per unit of learning rate is
    // at c * e^2 / 4; at epoch 1 it turns at a quarter of its full speed and ends at 2c by epoch 3.
    const schedule = { learningRate: 1, warmupEpochs: 2 };
    const v = judge(
      columns(1, 1, (_, e) => (0.3 * e * e) / 4),
      terms(['a'], { schedule, endEpoch: 3 }),
    );
    close(v.layers[0].perEpoch, 0.3 / 4);
    close(v.layers[0].projected, 0.6);
    assert.equal(v.layers[0].lagging, true);
  });

  it('a dip does not make a layer lag: the rate is clamped at 0 for the projection, shown as measured', () => {
    const v = judge(
      columns(2, 2, (l, e) => (l === 0 ? 0.9 - 0.05 * e : Math.min(3, 1.5 * e))),
      terms(['dipping', 'fast']),
    );
    close(v.layers[0].perEpoch, -0.05);
    close(v.layers[0].projected, 0.8); // where it is now, not 0.7
    assert.equal(v.layers[0].lagging, false);
    assert.equal(v.layers[1].projected, 2); // within [0, 2]
  });

  it('NaN distances: skipped in the slope; none now: no verdict while running; none at the end: lags', () => {
    const cols = columns(2, 2, (l, e) => (l === 0 ? (e === 1.9 ? NaN : 0.3 * e) : e === 2 ? NaN : 0.3 * e));
    const running = judge(cols, terms(['a', 'b']));
    close(running.layers[0].perEpoch, 0.3);
    close(running.layers[0].projected, 1.2);
    assert.deepEqual(
      [running.layers[1].distance, running.layers[1].projected, running.layers[1].lagging],
      [null, null, false],
    );
    const finished = judge(cols, terms(['a', 'b'], { finished: true, finalDistances: [0.6, NaN] }));
    assert.deepEqual(
      finished.layers.map((l) => [l.distance, l.projected, l.lagging]),
      [
        [0.6, 0.6, true],
        [null, null, true],
      ],
    );
    assert.equal(
      lagMessage(finished.layers[1], finished, 'Do X.'),
      "Layer 'b' ended without a finite cosine distance, below the target 1 by more than 0.2: it lags. Do X.",
    );
    // No final distances given: the last records.
    const fromRecords = judge(cols, terms(['a', 'b'], { finished: true }));
    assert.deepEqual(
      fromRecords.layers.map((l) => [l.projected, l.lagging]),
      [
        [0.6, true],
        [null, true],
      ],
    );
  });

  it('too few records: no verdict while running (too early to say); a finished run is judged anyway', () => {
    const cols = columns(1, 0.1, (_, e) => 0.1 * e); // 2 records
    const running = judge(cols, terms(['a']));
    assert.deepEqual([running.layers[0].projected, running.layers[0].lagging], [null, false]);
    assert.equal(judge({ epochs: [], distances: [], n: 0 }, terms(['a'])).layers[0].lagging, false);
    const finished = judge(cols, terms(['a'], { finished: true, finalDistances: [0.01] }));
    assert.deepEqual([finished.layers[0].projected, finished.layers[0].lagging], [0.01, true]);
  });

  it('on a run log, only the slope window is read, with the same result as on all the columns; 200 layers x 20,000 records stay cheap', () => {
    const layers = 200;
    const cols = columns(layers, 1999.9, (l, e) =>
      Math.min(1.5, ((l + 1) / layers) * 0.001 * e + 0.0001 * Math.sin(e * 7)),
    );
    const names = Array.from({ length: layers }, (_, l) => `dense${l + 1}`);
    const schedule = {
      learningRate: 0.1,
      decay: { factor: 0.5, epochs: [2500] },
      warmupEpochs: 0,
      layca: false,
      multipliers: [],
    };
    const run = terms(names, { endEpoch: 3000, schedule });
    const t0 = performance.now();
    const onColumns = judge(cols, run);
    const ms = performance.now() - t0;
    assert.ok(ms < 100, `the verdict on 200 x 20,000 columns took ${ms.toFixed(1)} ms`);
    assert.equal(cols.n, 20_000);
    const log: RunLog = emptyRunLog();
    log.started = startedEvent(names, 3000, schedule);
    log.rotations = Array.from({ length: cols.n }, (_, k) =>
      rotationEvent(
        cols.epochs[k],
        cols.distances.map((d) => d[k]),
      ),
    );
    assert.deepEqual(judgeLog(log), onColumns);
    assert.ok(onColumns.layers.some((l) => l.lagging) && onColumns.layers.some((l) => !l.lagging));
  });
});

function startedEvent(names: string[], epochs: number, schedule?: RunStarted['schedule']): RunStarted {
  return {
    v: 1,
    time: 0,
    type: 'run_started',
    runId: 'r',
    name: 'r',
    engine: 'tfjs',
    backend: 'wasm',
    dataset: { name: 'synthetic', train: 1, validation: 0, test: 1, inputShape: [1], classes: 2 },
    layers: names.map((name) => ({ name, kind: 'dense', shape: [1, 1], params: 2 })),
    epochs,
    stepsPerEpoch: 10,
    batchSize: 1,
    totalSteps: 10 * epochs,
    target: 1,
    lagMargin: 0.2,
    schedule,
  };
}

function rotationEvent(epoch: number, distances: number[]): RotationEvent {
  const step = Math.round(epoch * 10);
  return { v: 1, time: step, type: 'rotation', step, epoch, distances, rotation: [], steps: 1 };
}

// A real run: a tiny MLP trained by the engine, one layer with a 20x learning rate, a decay and
// a warmup, and a target low enough that some layers reach it and one does not.
describe('every consumer of the verdict agrees on a real run', { timeout: 120_000 }, () => {
  const dir = tempDir('verdict');
  const config = syntheticConfig({
    name: 'verdict',
    dataset: { name: 'synthetic', samples: 600, testSamples: 100, inputShape: [16], classes: 4, validationSplit: 0 },
    model: { type: 'mlp', hidden: [16, 16] },
    optimizer: { type: 'sgd', learningRate: 0.05, layerMultipliers: { dense1: 20 } },
    schedule: { epochs: 3, batchSize: 20, warmupEpochs: 0.5, decay: { factor: 0.3, epochs: [2] } },
    monitoring: { recordsPerEpoch: 10, target: 0.02, lagMargin: 0.01 },
  });
  const configFile = writeConfig(dir, 'verdict', config);
  const configText = fs.readFileSync(configFile, 'utf8');
  let lines: string[] = [];
  let events: RunEvent[] = [];

  before(async () => {
    const checked = parseConfigText(configText, configFile);
    assert.ok(checked.ok, JSON.stringify(checked.errors));
    const fin = await train({
      config: checked.config,
      configFile,
      runId: 'verdict',
      backend: 'wasm',
      emit: (e) => {
        lines.push(toJsonLine(stamp(e)));
      },
    });
    assert.equal(fin.status, 'completed', fin.reason);
    fs.writeFileSync(path.join(dir, 'events.jsonl'), lines.join(''));
    lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
    events = lines.map((l) => JSON.parse(l));
  });

  /** The monitor's table on the columns of the webview's store, fed the log's events. */
  function monitorTable(evs: unknown[]) {
    const store = new RunStore('verdict');
    for (const e of evs) {
      const r = normalizeEvent(e);
      assert.ok(r.ok && store.add(r.event), JSON.stringify(e).slice(0, 100));
    }
    assert.ok(store.info);
    return storeVerdict(store, store.info).layers;
  }

  const lagging = <T extends { lagging: boolean; name: string }>(rows: T[]) =>
    rows.filter((r) => r.lagging).map((r) => r.name);

  it('finished: config and log diagnostics, the monitor table, the CLI table, the summary and run_finished.lagging', () => {
    const log = parseRunLog(`${lines.join('\n')}\n`);
    const started = log.started as RunStarted;
    const finished = log.finished;
    assert.ok(finished);
    assert.deepEqual(
      started.layers.map((l) => l.name),
      ['dense1', 'dense2', 'output'],
    );

    // The layers that lag, and their final distances, by the verdict.
    const final = finished.finalDistances;
    const expected = ['dense2'];
    const values = expected.map((n) => final[started.layers.findIndex((l) => l.name === n)]);
    const out = final[2];
    assert.ok(out !== null && out > 0.01 && out < 0.02, `output ended at ${out}: between target - margin and target`);

    const config = configLagProblems(log, configText);
    assert.deepEqual(
      config.map((p) => [p.layer.name, p.layer.projected]),
      expected.map((n, i) => [n, values[i]]),
    );
    assert.equal(configText.slice(config[0].offset, config[0].offset + config[0].length), '16'); // model.hidden[1]
    assert.match(
      config[0].message,
      /^Layer 'dense2' ended at cosine distance 0\.00, below the target 0\.02 by more than 0\.01: it lags\. Turn on Layca/,
    );

    const logProblems = logLagProblems(log);
    assert.deepEqual(
      logProblems.map((p) => [p.layer.name, p.layer.projected, p.line]),
      expected.map((n, i) => [n, values[i], 1]),
    );
    assert.match(
      logProblems[0].message,
      /^Layer 'dense2' ended at cosine distance 0\.00, .*layca_param_groups\(multipliers=\{'dense2': 2\}\)/,
    );

    const table = monitorTable(events);
    assert.deepEqual(lagging(table), expected);
    assert.deepEqual(
      table.map((l) => l.projected),
      final,
    );

    const rows = layerTable(log);
    assert.deepEqual(lagging(rows), expected);
    assert.deepEqual(
      rows.map((r) => r.distance),
      final,
    );

    const summary = makeSummary('verdict', started, finished);
    assert.deepEqual(summary.lagging, expected);
    assert.deepEqual(lagging(summary.layers), expected);
    assert.deepEqual(
      summary.layers.map((l) => l.finalDistance),
      final,
    );

    assert.deepEqual(
      finished.lagging,
      expected.map((name, i) => ({ name, distance: values[i] })),
    );
  });

  it('running (the same log cut at epoch 1.2): config diagnostics, the monitor table and the CLI table', () => {
    const cut = events.findIndex((e) => e.type === 'rotation' && e.epoch >= 1.2);
    const partial = events.slice(0, cut + 1);
    const log = parseRunLog(partial.map((e) => `${JSON.stringify(e)}\n`).join(''));
    assert.equal(log.finished, undefined);
    const verdict = judgeLog(log);
    assert.ok(verdict && !verdict.finished);
    // output is below target - margin now, but on course to end above it; dense2 is not.
    const [, dense2, output] = verdict.layers;
    assert.ok((output.distance as number) < 0.01 && (output.projected as number) > 0.01, JSON.stringify(output));
    assert.ok((dense2.projected as number) < 0.01, JSON.stringify(dense2));

    const config = configLagProblems(log, configText);
    assert.deepEqual(
      config.map((p) => [p.layer.name, p.layer.projected]),
      [['dense2', dense2.projected]],
    );
    assert.match(config[0].message, /^Layer 'dense2' is on course to end at cosine distance 0\.00/);
    assert.deepEqual(logLagProblems(log), [], 'a running run has no log warnings');

    const table = monitorTable(partial);
    assert.deepEqual(table, verdict.layers);
    assert.deepEqual(lagging(layerTable(log)), ['dense2']);
  });
});

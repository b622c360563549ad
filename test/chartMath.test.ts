// What the monitor's charts and exports compute (src/runlog/chartMath.ts): the stepwise rotation
// rate, TensorBoard's smoothing, the y ranges of the three axis modes; and the exports'
// CSV and SVG (src/runlog/runExport.ts) from a run log.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_VIEW,
  Ema,
  emptyExtent,
  extendExtent,
  rateDivisor,
  rateTerms,
  smoothSeries,
  stepRate,
  yRange,
} from '../src/runlog/chartMath';
import type { RunStarted } from '../src/runlog/events';
import { addEvent, emptyRunLog } from '../src/runlog/read';
import { CSV_COLUMNS, curvesMetaOf, curvesTableOf, monitorCsv, monitorSvg } from '../src/runlog/runExport';
import { contrast, parseRgb, viridisRange } from '../src/runlog/viridis';
import { parseCsv } from '../src/experiments/compareExport';
import { fakeRun } from './webview/fake-run';

const extent = (...values: number[]) => {
  const e = emptyExtent();
  for (const v of values) extendExtent(e, v);
  return e;
};

describe('stepwise rotation rate', () => {
  const schedule = (layca: boolean): RunStarted['schedule'] => ({
    learningRate: 0.1,
    decay: { factor: 0.1, epochs: [2] },
    warmupEpochs: 0,
    layca,
    multipliers: [],
  });

  it('is the tan of the angle per step: the angle since the last record spread over its steps', () => {
    const terms = rateTerms({ schedule: schedule(true) });
    assert.equal(terms.perRate, false, 'with Layca: not divided');
    const tan = Math.tan(10 * Math.atan(0.01)); // ten steps of Layca at rate 0.01 in one plane
    assert.ok(Math.abs(stepRate(tan, 10, rateDivisor(terms, 0, 1)) - 0.01) < 1e-12);
    assert.ok(Number.isNaN(stepRate(0, 0)), 'the first record: no rate');
    assert.ok(Number.isNaN(stepRate(null, 5)));
    // An obtuse angle (a negative tan) is more than 90 degrees, not less.
    assert.ok(Math.abs(stepRate(-1, 1) - Math.tan((3 * Math.PI) / 4)) < 1e-12);
  });

  it('without Layca: divided by the mean learning rate over the record’s steps', () => {
    const terms = rateTerms({ schedule: schedule(false) });
    assert.equal(terms.perRate, true);
    assert.ok(Math.abs(stepRate(0.05, 1, rateDivisor(terms, 0.5, 1)) - 0.05 / 0.1) < 1e-9);
    // Across the decay at epoch 2: half the interval at 0.1, half at 0.01.
    const r = stepRate(0.05, 1, rateDivisor(terms, 1.9, 2.1));
    assert.ok(Math.abs(r - 0.05 / 0.055) < 1e-9, `${r}`);
    assert.equal(rateTerms(undefined).perRate, false, 'no schedule known: the rate as it is');
  });
});

describe('smoothing', () => {
  it('is debiased: a constant stays constant, a step is approached geometrically', () => {
    assert.deepEqual(smoothSeries([2, 2, 2], 0.9), [2, 2, 2]);
    const ema = new Ema(0.5);
    assert.equal(ema.next(0), 0);
    assert.equal(ema.next(1), 0.5 / (1 - 0.25));
    assert.deepEqual(smoothSeries([1, null, undefined, 3], 0), [1, null, undefined, 3], 'weight 0: off');
    const s = smoothSeries([1, null, 3], 0.5);
    assert.equal(s[1], null, 'gaps stay gaps');
    assert.ok(Math.abs((s[2] as number) - (0.25 + 0.5 * 3) / 0.75) < 1e-12, 'and do not enter the average');
  });

  it("run gives next's numbers, in pieces as records come, gaps and all", () => {
    const src = Float64Array.from({ length: 500 }, (_, r) =>
      r % 97 === 5 ? Number.NaN : r === 200 ? Infinity : Math.sin(r / 7) + r / 100,
    );
    for (const w of [0, 0.6, 0.99]) {
      const one = new Ema(w);
      const want = Array.from(src, (v) => one.next(v));
      const bulk = new Ema(w);
      const got = new Float32Array(src.length);
      for (const [a, b] of [
        [0, 1],
        [1, 130],
        [130, 130],
        [130, 500],
      ])
        bulk.run(src, got, a, b);
      assert.deepEqual(Array.from(got), Array.from(Float32Array.from(want)), `weight ${w}`);
      assert.ok(Number.isNaN(got[5]) && got[200] === Infinity, 'gaps stay where they are');
    }
  });
});

describe('y ranges', () => {
  it('fixed: 0 to just above the target; higher only when a distance goes there', () => {
    assert.deepEqual(yRange('distance', 'fixed', extent(0.2, 0.5)), [0, 1.1]);
    assert.deepEqual(yRange('distance', 'fixed', extent(0.2, 1.34)), [0, 1.4]);
    assert.deepEqual(yRange('accuracy', 'fixed', extent(0.9, 0.95)), [0, 1]);
  });

  it('auto: the data with headroom, from 0 for positive data near it', () => {
    const [lo, hi] = yRange('distance', 'auto', extent(0.001, 0.01));
    assert.equal(lo, 0);
    assert.ok(hi >= 0.01 && hi <= 0.015, `${hi}`);
    const [alo, ahi] = yRange('accuracy', 'auto', extent(0.91, 0.98));
    assert.ok(alo >= 0.85 && alo <= 0.91 && ahi === 1, `${alo} ${ahi}`);
  });

  it('log: Adam-sized distances a decade apart are far apart on the axis', () => {
    const [lo, hi] = yRange('distance', 'log', extent(0, 0.001, 0.01));
    assert.ok(lo > 0 && lo <= 0.001 && hi >= 0.01, `${lo}..${hi}`);
    const frac = 1 / Math.log10(hi / lo);
    assert.ok(frac > 0.35, `0.001 and 0.01 are ${frac} of the axis apart`);
    assert.deepEqual(yRange('rate', 'log', emptyExtent()), [1e-3, 1], 'no positive value: a default decade range');
  });
});

describe('exports', () => {
  const run = fakeRun({ layers: 3, epochs: 2, stepsPerEpoch: 100 });
  const log = emptyRunLog();
  for (const e of run.events) addEvent(log, e);

  it('CSV: one row per record, a column per layer, the metrics as of each record', () => {
    const rows = parseCsv(monitorCsv(log));
    assert.deepEqual(rows[0], [...CSV_COLUMNS, ...run.layerNames]);
    assert.equal(rows.length - 1, run.rotationRecords);
    const r = rows[rows.length - 1];
    assert.deepEqual(r.slice(CSV_COLUMNS.length).map(Number), run.lastDistances);
    const lastEnd = log.epochs[log.epochs.length - 1];
    assert.equal(Number(r[CSV_COLUMNS.indexOf('val_accuracy')]), lastEnd.valAccuracy);
  });

  it('SVG: a path per visible layer and panel, smoothed lines over faint raw ones', () => {
    const svg = monitorSvg(curvesTableOf(log), curvesMetaOf(log), {
      settings: { ...DEFAULT_VIEW, quantity: 'both', smoothing: 0.8 },
      hidden: ['dense2'],
      range: [0.5, 1.5],
    });
    assert.equal(svg.match(/<path class="layer" /g)?.length, 4);
    assert.equal(svg.match(/<path class="layer-raw" /g)?.length, 4);
    assert.doesNotMatch(svg, /data-layer="dense2"/);
    assert.match(svg, /Stepwise rotation rate/);
    assert.match(svg, /height="840"/);
  });

  it('colours: the part of viridis legible on white at 2.2:1', () => {
    const [from, to] = viridisRange([255, 255, 255], 2.2);
    assert.equal(from, 0);
    assert.ok(to > 0.7 && to < 0.9, `${to}`);
    const [dfrom] = viridisRange([0, 0, 0], 3);
    assert.ok(dfrom > 0.3 && dfrom < 0.4, `${dfrom}`);
    assert.ok(contrast(parseRgb('#000000') as number[], parseRgb('#ffffff') as number[]) > 20);
  });
});

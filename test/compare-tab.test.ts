// The comparison tab's plain logic in Node: the protocol's validators (what the host lets through
// from the webview), the host's thinning of the curves, and the tab's bundle (no Node module, none
// of the host's comparison code).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MAX_CURVE_POINTS, runCurves } from '../src/experiments/compareCurves';
import { thinIndices } from '../src/runlog/thin';
import { isCompareHostMessage, isCompareWebviewMessage } from '../webview/compareProtocol';
import { fixtureComparison } from './webview/compare-fixture';

const ROOT = path.resolve(__dirname, '..', '..');

describe('comparison tab protocol', () => {
  it('accepts the messages the tab sends', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'export', kind: 'tableCsv', sort: null, x: 'min' },
      { type: 'export', kind: 'curvesSvg', sort: { key: 'config:seed', descending: true }, x: 'mean' },
      { type: 'png', kind: 'figurePng', data: 'iVBORw0KGgo=' },
      { type: 'showRun', runId: 'lr-0.1-20261201-120000' },
      {
        type: 'state',
        state: {
          rows: 4,
          points: 4,
          order: ['a', 'b'],
          sort: null,
          x: 'min',
          curvesMode: 'run',
          panels: 4,
          lines: 12,
          reading: 'no-relation',
          draws: 1,
          lastDrawMs: 3.5,
        },
      },
    ])
      assert.equal(isCompareWebviewMessage(m), true, JSON.stringify(m));
  });

  it('rejects anything else: unknown kinds, extra keys, paths, bad run ids, non-base64 data', () => {
    for (const m of [
      null,
      'ready',
      { type: 'ready', extra: 1 },
      { type: 'export', kind: 'tableCsv', sort: null, x: 'min', path: '/etc/passwd' },
      { type: 'export', kind: 'exe', sort: null, x: 'min' },
      { type: 'export', kind: 'tableCsv', sort: { key: 1, descending: true }, x: 'min' },
      { type: 'export', kind: 'tableCsv', sort: null, x: 'max' },
      { type: 'png', kind: 'figurePng', data: '' },
      { type: 'png', kind: 'figurePng', data: 'not base64!' },
      { type: 'png', kind: 'tableCsv', data: 'iVBORw0KGgo=' },
      { type: 'showRun', runId: '../../x' },
      { type: 'state', state: { rows: 'four' } },
      { type: 'openFile', file: '/tmp/x' },
    ])
      assert.equal(isCompareWebviewMessage(m), false, JSON.stringify(m));
  });

  it('the webview accepts the comparison the host builds, and not a broken one', () => {
    const { model, curves } = fixtureComparison([{ lr: 0.1 }, { lr: 0.2 }]);
    // As it crosses to the webview: JSON.
    const m = JSON.parse(JSON.stringify({ type: 'comparison', model, curves, notes: [] }));
    assert.equal(isCompareHostMessage(m), true);
    assert.equal(isCompareHostMessage({ ...m, curves: curves.slice(1) }), false);
    assert.equal(isCompareHostMessage({ ...m, model: { ...model, rows: [{ runId: 1 }] } }), false);
    assert.equal(isCompareHostMessage({ ...m, model: { ...model, reading: undefined } }), false);
    assert.equal(isCompareHostMessage({ ...m, extra: true }), false);
  });
});

describe('curves thinned on the host', () => {
  it('keeps the first and the last record and at most MAX_CURVE_POINTS', () => {
    assert.deepEqual(thinIndices(5, 10), [0, 1, 2, 3, 4]);
    const kept = thinIndices(2000, MAX_CURVE_POINTS);
    assert.equal(kept.length, MAX_CURVE_POINTS);
    assert.equal(kept[0], 0);
    assert.equal(kept[kept.length - 1], 1999);
    assert.ok(
      kept.every((k, i) => i === 0 || k > kept[i - 1]),
      'increasing',
    );
  });

  it('a run of 20 layers x 2,000 records becomes 20 x 300 distances, rounded to 1e-4', () => {
    const { inputs } = fixtureComparison([{ lr: 0.1 }], 20, 2000);
    const c = runCurves('r', inputs[0].log);
    assert.equal(c.layers.length, 20);
    assert.equal(c.epochs.length, MAX_CURVE_POINTS);
    assert.equal(c.distances.length, 20);
    const recs = inputs[0].log.rotations;
    assert.equal(c.epochs[c.epochs.length - 1], recs[recs.length - 1].epoch);
    const last = recs[recs.length - 1].distances[7] as number;
    assert.ok(Math.abs((c.distances[7][MAX_CURVE_POINTS - 1] as number) - last) <= 5e-5);
    assert.notEqual(c.distances[7][MAX_CURVE_POINTS - 1], last, 'rounded');
    const mid = recs[thinIndices(2000, MAX_CURVE_POINTS)[150]].distances[3] as number;
    assert.equal(c.distances[3][150], Math.round(mid * 1e4) / 1e4);
  });

  it('a distance that is not finite is a gap (null)', () => {
    const log = {
      started: { layers: [{ name: 'a', kind: 'dense', shape: [2, 2], params: 4 }], target: 1 },
      rotations: [
        { epoch: 0, distances: [0] },
        { epoch: 1, distances: [null] },
      ],
    };
    assert.deepEqual(runCurves('r', log as never).distances, [[0, null]]);
  });
});

describe('the comparison tab bundle', () => {
  it('builds next to the monitor and holds no Node module and none of the host comparison code', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-compare-bundle-'));
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-webview.mjs'), out], {
        cwd: ROOT,
        stdio: 'pipe',
      });
      const js = fs.readFileSync(path.join(out, 'compare.js'), 'utf8');
      assert.ok(fs.existsSync(path.join(out, 'webview.js')));
      assert.doesNotMatch(js, /\brequire\(|node:|jsonc-parser|parseConfigText|ajv/);
      assert.match(js, /__layerRotationCompare/);
      // It shares the monitor's styles (the theme variables).
      assert.match(fs.readFileSync(path.join(out, 'compare.css'), 'utf8'), /--vscode-foreground/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

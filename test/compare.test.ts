// Comparing runs: real runs trained by the CLI on synthetic data (learning rates and seeds that
// differ, one that diverges), and an outside run's log without a config copy, compared through
// the model, its CSV and SVG exports and the CLI's compare.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import {
  buildComparison,
  cellValue,
  type ComparisonModel,
  differingPaths,
  findColumn,
  flattenConfig,
  mergeLayerNames,
  type RunInput,
  sortRows,
} from '../src/experiments/compare';
import { comparisonCsv, curvesCsv, parseCsv, truncate } from '../src/experiments/compareExport';
import { expandRunFolders, NotARunError, readRunFolders } from '../src/experiments/compareFolders';
import { accuracyRotationSvg, curvesGridSvg, Decimator } from '../src/experiments/compareSvg';
import { judgeLog, runStatus } from '../src/runlog/verdict';
import { runCli, strictEvents, syntheticConfig, tempDir, writeConfig } from './helpers/runs';

/** Checks that `xml` is well-formed XML (tags nested and closed, attributes quoted, entities known, no forbidden characters); returns the element names in order. */
function checkXml(xml: string): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters XML forbids
  assert.ok(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(xml), 'a raw control character');
  const names: string[] = [];
  const stack: string[] = [];
  const entity = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i;
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    assert.ok(!entity.test(text) && !text.includes('>'), `bad text: ${text.slice(0, 80)}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    assert.ok(m, `malformed tag at ${lt}: ${xml.slice(lt, lt + 80)}`);
    const [, close, name, attrs, selfClose] = m;
    assert.ok(!entity.test(attrs), `bad attribute text in <${name}>`);
    const attrNames = [...attrs.matchAll(/([\w:.-]+)="/g)].map((a) => a[1]);
    assert.equal(new Set(attrNames).size, attrNames.length, `a repeated attribute in <${name}>`);
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else {
      names.push(name);
      if (!selfClose) stack.push(name);
    }
    i = lt + m[0].length;
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(names[0], 'svg');
  return names;
}

const dir = tempDir('compare');
const runsDir = path.join(dir, 'runs');
const outsideDir = path.join(dir, 'outside', 'script-run');
const OUTSIDE_NAME = 'my "script", a long name for a run written by hand';
/** The configs trained: two learning rates, two seeds, and one that diverges. */
const CONFIGS: Record<string, Record<string, any>> = {
  'lr05-s3': syntheticConfig({ name: 'lr05-s3' }),
  'lr2-s3': syntheticConfig({ name: 'lr2-s3', optimizer: { type: 'sgd', learningRate: 0.2 } }),
  'lr05-s7': syntheticConfig({ name: 'lr05-s7', seed: 7 }),
  diverge: syntheticConfig({ name: 'diverge', optimizer: { type: 'sgd', learningRate: 1e12 } }),
};

/** An outside run's log, as a script with the Python logger writes it: no config copy, four layers, one corrupt line. */
function writeOutsideRun(): void {
  fs.mkdirSync(outsideDir, { recursive: true });
  const layers = ['dense1', 'dense2', 'dense3', 'output'];
  const t0 = 1_764_000_000_000;
  const lines: object[] = [
    {
      v: 1,
      time: t0,
      type: 'run_started',
      runId: 'script-run',
      name: OUTSIDE_NAME,
      engine: 'pytorch',
      backend: 'cpu',
      dataset: { name: 'synthetic', train: 1080, validation: 120, test: 300, inputShape: [32], classes: 4 },
      layers: layers.map((name) => ({ name, kind: 'dense', shape: [32, 32], params: 1056 })),
      epochs: 2,
      stepsPerEpoch: 10,
      batchSize: 32,
      totalSteps: 20,
      target: 1,
      lagMargin: 0.2,
      optimizer: 'SGD(momentum=0.9)',
      seed: 5,
      schedule: { learningRate: 0.1, warmupEpochs: 0, layca: false, multipliers: [1, 1, 1, 1] },
    },
  ];
  for (let step = 0; step <= 20; step += 5)
    lines.push({
      v: 1,
      time: t0 + step * 100,
      type: 'rotation',
      step,
      epoch: step / 10,
      distances: layers.map((_, i) => (step / 20) * (0.5 + i * 0.15)),
      rotation: layers.map(() => 0),
      steps: 5,
    });
  lines.push({
    v: 1,
    time: t0 + 1000,
    type: 'epoch_end',
    epoch: 1,
    step: 10,
    loss: 1,
    accuracy: 0.4,
    valAccuracy: 0.35,
  });
  lines.push({
    v: 1,
    time: t0 + 2000,
    type: 'epoch_end',
    epoch: 2,
    step: 20,
    loss: 0.9,
    accuracy: 0.45,
    valAccuracy: null,
  });
  lines.push({
    v: 1,
    time: t0 + 2100,
    type: 'run_finished',
    status: 'diverged',
    reason: 'loss exploded',
    step: 20,
    epoch: 2,
    finalDistances: [0.5, 0.65, 0.8, 0.95],
    testLoss: 1.2,
    testAccuracy: 0.3,
    lagging: [],
    seconds: 2.1,
  });
  const text = lines.map((l) => JSON.stringify(l));
  text.splice(2, 0, '{"v":1,"type":"rotation","step":');
  fs.writeFileSync(path.join(outsideDir, 'events.jsonl'), `${text.join('\n')}\n`);
}

let tool: RunInput[];
let all: RunInput[];
let model: ComparisonModel;

before(async () => {
  for (const [name, config] of Object.entries(CONFIGS)) {
    const r = await runCli(['train', writeConfig(dir, name, config), '--out', runsDir]);
    assert.equal(r.code, name === 'diverge' ? 1 : 0, r.stderr);
  }
  writeOutsideRun();
  tool = readRunFolders([runsDir]).runs;
  all = readRunFolders([runsDir, outsideDir]).runs;
  model = buildComparison(all);
});

const row = (name: string) => {
  const r = model.rows.find((x) => x.name === name);
  assert.ok(r, `no row ${name}`);
  return r;
};

describe('the comparison model', () => {
  it('has one row per run: a folder of runs is expanded, in the natural order of the names (2 before 05)', () => {
    assert.equal(tool.length, 4);
    assert.deepEqual(
      buildComparison(tool).rows.map((r) => r.name),
      ['diverge', 'lr2-s3', 'lr05-s3', 'lr05-s7'],
    );
    assert.equal(model.rows.length, 5);
    assert.equal(row('lr2-s3').configSource, 'copy');
    assert.equal(row(OUTSIDE_NAME).configSource, 'run_started');
  });

  it('keeps the config values that differ: the learning rate and the seed between the tool runs', () => {
    const own = buildComparison(tool);
    assert.deepEqual(own.configPaths, ['optimizer.learningRate', 'seed']);
    assert.deepEqual(
      own.rows.map((r) => [r.name, cellValue(r, 'config:optimizer.learningRate'), cellValue(r, 'config:seed')]),
      [
        ['diverge', 1e12, 3],
        ['lr2-s3', 0.2, 3],
        ['lr05-s3', 0.05, 3],
        ['lr05-s7', 0.05, 7],
      ],
    );
  });

  it('compares an outside run on what its run_started says, not on what it leaves out', () => {
    // Backend, optimizer type, engine (own column) and the values the outside run gives; not e.g.
    // model.hidden, which it does not give and the tool runs share.
    assert.deepEqual(model.configPaths, ['backend', 'optimizer.learningRate', 'optimizer.type', 'seed']);
    const outside = row(OUTSIDE_NAME);
    assert.equal(outside.config['optimizer.type'], 'SGD(momentum=0.9)');
    assert.equal(outside.config['optimizer.learningRate'], 0.1);
    assert.equal(cellValue(outside, 'engine'), 'pytorch');
    assert.equal(row('lr05-s3').config['model.hidden'], '[32,32]');
  });

  it('counts an absent value in a complete config as a difference', () => {
    const a = flattenConfig({ schedule: { decay: { factor: 0.1, epochs: [3] }, epochs: 2 }, model: { hidden: [8] } });
    assert.deepEqual(a, {
      'schedule.decay.factor': 0.1,
      'schedule.decay.epochs': '[3]',
      'schedule.epochs': 2,
      'model.hidden': '[8]',
    });
    const b = flattenConfig({ schedule: { epochs: 2 }, model: { hidden: [8] } });
    assert.deepEqual(differingPaths([a, b]), ['schedule.decay.epochs', 'schedule.decay.factor']);
    assert.deepEqual(differingPaths([a, b], [true, false]), []);
  });

  it("gives each layer's final distance, their min and mean, accuracies and the verdict, as the run's own summary has them", () => {
    for (const name of ['lr05-s3', 'lr2-s3', 'lr05-s7']) {
      const r = row(name);
      const summary = JSON.parse(fs.readFileSync(path.join(r.folder, 'summary.json'), 'utf8'));
      const finals: number[] = summary.layers.map((l: any) => l.finalDistance);
      assert.deepEqual(r.layers, ['dense1', 'dense2', 'output']);
      assert.deepEqual(
        r.layers.map((l) => r.distances[l]),
        finals,
      );
      assert.equal(r.minDistance, Math.min(...finals));
      assert.equal(r.meanDistance, finals.reduce((s, d) => s + d, 0) / finals.length);
      assert.equal(r.testAccuracy, summary.testAccuracy);
      assert.equal(r.status, 'completed');
      assert.deepEqual(r.lagging, summary.lagging);
      const epochEnds = strictEvents(r.folder).filter((e) => e.type === 'epoch_end');
      assert.equal(r.trainAccuracy, epochEnds[epochEnds.length - 1].accuracy);
      assert.equal(r.valAccuracy, epochEnds[epochEnds.length - 1].valAccuracy);
      assert.ok(r.seconds !== null && r.seconds > 0);
    }
    // A higher learning rate turns the layers further.
    assert.ok(row('lr2-s3').meanDistance! > row('lr05-s3').meanDistance!);
  });

  it('takes the lagging layers from the verdict, for the outside run too', () => {
    const outside = row(OUTSIDE_NAME);
    const verdict = judgeLog(all.find((r) => r.folder === outsideDir)!.log)!;
    assert.deepEqual(
      outside.lagging,
      verdict.layers.filter((l) => l.lagging).map((l) => l.name),
    );
    // It failed with a layer that is not a finite number: no learning, so no layer is judged lagging.
    assert.deepEqual(outside.lagging, []);
    assert.equal(outside.verdict, verdict.run);
    assert.notEqual(outside.verdict, 'judged');
    assert.equal(outside.verdictStatus, runStatus(verdict));
    assert.equal(outside.status, 'failed');
    assert.match(outside.reason, /diverged/);
    assert.equal(outside.minDistance, 0.5);
    assert.equal(outside.meanDistance, (0.5 + 0.65 + 0.8 + 0.95) / 4);
    assert.equal(outside.valAccuracy, null);
    assert.equal(outside.seconds, 2.1);
  });

  it('reads a diverged run as failed, without a min or mean when a layer has no finite distance', () => {
    const d = row('diverge');
    assert.equal(d.status, 'failed');
    assert.match(d.reason, /the loss became/);
    assert.equal(d.testAccuracy, null);
    const known = d.layers.every((l) => d.distances[l] !== null);
    assert.equal(d.minDistance === null, !known);
  });

  it('compares runs with different layers: columns by name in depth order, blank where a run has none', () => {
    assert.deepEqual(model.layerNames, ['dense1', 'dense2', 'dense3', 'output']);
    assert.deepEqual(
      mergeLayerNames([
        ['a', 'c'],
        ['a', 'b', 'c'],
        ['x', 'c', 'd'],
      ]),
      ['x', 'a', 'b', 'c', 'd'],
    );
    assert.equal(cellValue(row('lr05-s3'), 'layer:dense3'), null);
    assert.equal(cellValue(row(OUTSIDE_NAME), 'layer:dense3'), 0.8);
  });

  it('skips a corrupt line of a log, names it, and keeps the run', () => {
    assert.deepEqual(row(OUTSIDE_NAME).skipped, [
      `${path.join(outsideDir, 'events.jsonl')}:3: skipped: not valid JSON (Unexpected end of JSON input)`,
    ]);
  });

  it('sorts by any column: numbers numerically, blanks last either way, stable', () => {
    const acc = (rows: typeof model.rows) => rows.map((r) => r.testAccuracy);
    const up = acc(sortRows(model.rows, 'test_accuracy'));
    const down = acc(sortRows(model.rows, 'test_accuracy', true));
    const known = model.rows.map((r) => r.testAccuracy).filter((v): v is number => v !== null);
    assert.deepEqual(up, [...[...known].sort((a, b) => a - b), null]);
    assert.deepEqual(down, [...[...known].sort((a, b) => b - a), null]);
    assert.deepEqual(
      sortRows(model.rows, 'config:optimizer.learningRate').map((r) => r.config['optimizer.learningRate']),
      [0.05, 0.05, 0.1, 0.2, 1e12],
    );
    // Stable: the two runs at 0.05 keep their order.
    const at05 = model.rows.filter((r) => r.config['optimizer.learningRate'] === 0.05).map((r) => r.name);
    assert.deepEqual(
      sortRows(model.rows, 'config:optimizer.learningRate')
        .slice(0, 2)
        .map((r) => r.name),
      at05,
    );
    assert.deepEqual(sortRows(model.rows, 'layer:dense3').map((r) => r.name)[0], OUTSIDE_NAME);
    assert.equal(findColumn(model, '-TEST_ACCURACY')?.descending, true);
    assert.equal(findColumn(model, 'seed')?.column.key, 'config:seed');
    assert.equal(findColumn(model, 'dense3')?.column.key, 'layer:dense3');
    assert.equal(findColumn(model, 'no-such-column'), undefined);
  });
});

describe('exports', () => {
  it('writes the table as CSV that parses back to the same values, unrounded', () => {
    const text = comparisonCsv(model);
    assert.ok(text.endsWith('\r\n'));
    const [header, ...rows] = parseCsv(text);
    assert.deepEqual(
      header,
      model.columns.map((c) => c.label),
    );
    assert.deepEqual(header.slice(0, 5), ['run', 'name', 'status', 'engine', 'seconds']);
    assert.deepEqual(header.slice(-4), ['dense1', 'dense2', 'dense3', 'output']);
    assert.equal(rows.length, model.rows.length);
    model.rows.forEach((r, i) => {
      model.columns.forEach((c, k) => {
        const v = cellValue(r, c.key);
        const got = rows[i][k];
        if (v === null) assert.equal(got, '', `${r.name} ${c.key}`);
        else if (typeof v === 'number') assert.equal(Number(got), v, `${r.name} ${c.key}`);
        else assert.equal(got, String(v), `${r.name} ${c.key}`);
      });
    });
    // The name with a quote and a comma is quoted, its quotes doubled.
    assert.ok(text.includes('"my ""script"", a long name'));
  });

  it('writes the curves in long format: a line per record and layer', () => {
    const runs = model.rows.map((r) => ({ runId: r.runId, log: all.find((x) => x.folder === r.folder)!.log }));
    const [header, ...lines] = parseCsv(curvesCsv(runs));
    assert.deepEqual(header, ['run', 'step', 'epoch', 'layer', 'distance']);
    const expected = runs.reduce((n, r) => n + r.log.rotations.length * r.log.started!.layers.length, 0);
    assert.equal(lines.length, expected);
    const lr2 = runs.find((r) => r.log.started!.name === 'lr2-s3')!;
    const last = lr2.log.rotations[lr2.log.rotations.length - 1];
    const line = lines.find((l) => l[0] === lr2.runId && Number(l[1]) === last.step && l[3] === 'output')!;
    assert.equal(Number(line[2]), last.epoch);
    assert.equal(Number(line[4]), last.distances[2]);
  });

  it("draws the paper's figure: well-formed SVG, one point per run with a test accuracy, failed runs marked", () => {
    for (const x of ['min', 'mean'] as const) {
      const svg = accuracyRotationSvg(model, x);
      const names = checkXml(svg);
      const plotted = model.rows.filter(
        (r) => r.testAccuracy !== null && (x === 'min' ? r.minDistance : r.meanDistance) !== null,
      );
      assert.equal((svg.match(/<g class="point/g) ?? []).length, plotted.length);
      assert.equal(names.filter((n) => n === 'title').length, plotted.length);
      // The outside run failed: a cross, not a dot, with its name escaped in its title.
      assert.match(
        svg,
        /<g class="point failed" data-run="script-run" data-status="failed"><title>script-run \(my &quot;script&quot;, a long name/,
      );
      assert.match(svg, /<g class="point failed"[^>]*><title>[^<]*<\/title><path d="M/);
      assert.equal((svg.match(/<g class="point failed"/g) ?? []).length, 1);
      assert.match(svg, /over layers\)<\/text>/);
      // The diverged tool run has no test accuracy: named below the plot.
      assert.match(svg, /not shown \(no test accuracy or no finite distance\): diverge/);
      // Axes with ticks: percentages on y.
      assert.ok((svg.match(/text-anchor="end">[\d.]+%<\/text>/g) ?? []).length >= 3);
    }
    // Names with characters XML forbids, and markup, stay well-formed.
    const odd = structuredClone(model);
    odd.rows[0].label = 'a\u0001b<c>&d';
    odd.rows[0].runId = '\u0007"\ud800';
    odd.rows[0].testAccuracy = 0.5;
    odd.rows[0].minDistance = 0.2;
    checkXml(accuracyRotationSvg(odd));
  });

  it('draws the curves side by side: a panel per run, a line per layer coloured by depth', () => {
    const runs = model.rows.map((row) => ({ row, log: all.find((x) => x.folder === row.folder)!.log }));
    const svg = curvesGridSvg(runs);
    checkXml(svg);
    assert.equal((svg.match(/<g class="panel/g) ?? []).length, 5);
    assert.equal((svg.match(/<g class="panel failed"/g) ?? []).length, 2);
    assert.match(svg, /data-layer="dense1" fill="none" stroke="#440154"/);
    assert.match(svg, /data-layer="output" fill="none" stroke="#fde725"/);
    const outside = svg.slice(svg.indexOf('data-run="script-run"'));
    assert.equal((outside.slice(0, outside.indexOf('</g>')).match(/<polyline class="layer"/g) ?? []).length, 4);
  });
});

describe('thinning a curve to its width', () => {
  it('keeps per pixel column the first and last points, the lowest and highest, in order', () => {
    const pts: [number, number][] = [];
    for (let i = 0; i < 500; i++) pts.push([i / 10, i % 7 === 0 ? i : Math.round(50 * Math.sin(i * 1.7))]);
    const d = new Decimator();
    for (const [x, y] of pts) d.add(x, y);
    const kept = d
      .points()
      .split(' ')
      .map((p) => p.split(',').map(Number));
    assert.ok(kept.length <= 4 * 51 && kept.length < pts.length / 2);
    for (let col = 0; col <= 50; col++) {
      const inCol = pts.filter(([x]) => Math.round(x) === col);
      const got = kept.filter(([x]) => Math.round(x) === col);
      const ys = inCol.map(([, y]) => y);
      assert.deepEqual(got[0], inCol[0]);
      assert.deepEqual(got[got.length - 1], inCol[inCol.length - 1]);
      assert.ok(got.some(([, y]) => y === Math.min(...ys)) && got.some(([, y]) => y === Math.max(...ys)));
      for (let i = 1; i < got.length; i++) assert.ok(got[i][0] > got[i - 1][0]);
    }
  });
});

describe('reading folders', () => {
  it('names a folder that is not a run, and a sweep with no runs yet', () => {
    const empty = tempDir('not-a-run');
    assert.throws(
      () => expandRunFolders(empty),
      (e: Error) => e instanceof NotARunError && e.message.includes(empty),
    );
    fs.writeFileSync(path.join(empty, 'sweep.json'), '{}');
    assert.throws(() => expandRunFolders(empty), /a sweep with no runs yet/);
    assert.throws(() => expandRunFolders(path.join(empty, 'nope')), /no such file or folder/);
    assert.deepEqual(expandRunFolders(path.join(outsideDir, 'events.jsonl')), [outsideDir]);
  });
});

describe('layer-rotation compare', () => {
  it('prints an aligned table and writes the files', async () => {
    const files = ['t.csv', 'c.csv', 'f.svg', 'g.svg'].map((f) => path.join(dir, f));
    const r = await runCli([
      'compare',
      runsDir,
      outsideDir,
      '--csv',
      files[0],
      '--curves-csv',
      files[1],
      '--svg',
      files[2],
      '--curves-svg',
      files[3],
      '--x',
      'mean',
      '--sort',
      '-test_accuracy',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /script-run\/events\.jsonl:3: skipped: not valid JSON/);
    const lines = r.stdout.split('\n');
    const [header, rule] = lines;
    assert.match(
      header,
      /^run\s+status\s+engine\s+seconds\s+backend\s+optimizer\.learningRate\s+optimizer\.type\s+seed\s+train_accuracy/,
    );
    assert.match(rule, /^-+( +-+)+$/);
    const body = lines.slice(2, 7);
    // Sorted by test accuracy, descending; the diverged run (none) last.
    const byAcc = sortRows(model.rows, 'test_accuracy', true).map((x) => x.label);
    body.forEach((l, i) => assert.ok(l.startsWith(truncate(byAcc[i], 32)), `${l} vs ${byAcc[i]}`));
    // Long values are cut with an ellipsis; every column starts where its header does.
    assert.ok(truncate(OUTSIDE_NAME, 32).endsWith('…'));
    assert.ok(r.stdout.includes(truncate(OUTSIDE_NAME, 32)));
    const starts = [...rule.matchAll(/-+/g)].map((m) => m.index);
    for (const l of body) for (const s of starts.slice(1)) assert.equal(l[s - 1], ' ', `column at ${s} in: ${l}`);
    for (const f of files) assert.ok(fs.statSync(f).size > 100, f);
    assert.deepEqual(
      parseCsv(fs.readFileSync(files[0], 'utf8'))[1][0],
      sortRows(model.rows, 'test_accuracy', true)[0].runId,
    );
    assert.match(fs.readFileSync(files[2], 'utf8'), /mean over layers/);
    // After the table, the configurations (seeds together: lr 0.05 ran with seeds 3 and 7), what the
    // runs say of the paper's rule (the model's reading), and the runs that stand out.
    assert.match(
      r.stdout,
      /^configuration\s+runs\s+fit\s+test accuracy \(mean ± sd\)\s+least distance \(mean\)\s+lagging runs$/m,
    );
    const twoSeeds = model.configurations.find((c) => c.runs === 2);
    assert.ok(twoSeeds, JSON.stringify(model.configurations.map((c) => [c.label, c.runs])));
    assert.match(
      r.stdout,
      new RegExp(`^${truncate(twoSeeds.label, 60, true).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+2\\s`, 'm'),
    );
    assert.ok(r.stdout.includes(`\nwhat these runs say: ${model.reading.text}\n`), r.stdout);
    for (const row of model.rows.filter((x) => x.relative))
      assert.ok(r.stdout.includes(`: ${row.relative?.text}`), `no note for ${row.label}`);
  });

  it('exits 2 naming a folder that is not a run, a bad --x and an unknown --sort column', async () => {
    const notRun = tempDir('plain');
    let r = await runCli(['compare', runsDir, notRun]);
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes(`${notRun}: not a run`), r.stderr);
    assert.equal(r.stdout, '');
    r = await runCli(['compare', runsDir, '--x', 'max']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--x must be min or mean, got 'max'/);
    r = await runCli(['compare', runsDir, '--sort', 'nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--sort: no column 'nope'; the columns are run, name, status/);
  });
});

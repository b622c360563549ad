// Benchmark of comparing runs (src/experiments/compare*.ts). Prints figures, asserts nothing:
// 50 synthetic run logs of 20 layers x 2,000 rotation records each (with config copies that
// differ in learning rate and seed) are written to a temporary folder; then the time to read
// them, to build the comparison model, to draw the accuracy-rotation figure and the curves side
// by side, and to write the table and the curves as CSV; then the editor tab: the host's thinning
// of the curves, the message's size, and the tab's first draw in headless Chromium (from posting
// the comparison to the end of the next frame; skipped without Chromium).
// Run: npx tsc -p . && node out/bench/compare.js
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildComparison, sortRows } from '../src/experiments/compare';
import { comparisonCsv, curvesCsvChunks } from '../src/experiments/compareExport';
import { readRunFolders } from '../src/experiments/compareFolders';
import { accuracyRotationSvg, curvesGridSvg } from '../src/experiments/compareSvg';
import { runCurves } from '../src/experiments/compareCurves';
import { CHROMIUM, startHarness } from '../test/webview/harness';

const RUNS = 50;
const LAYERS = 20;
const RECORDS = 2000;
const REPEATS = Number(process.env.REPEATS ?? 5);

/** Writes one run folder: a config copy and a log whose layers turn at rates set by the learning rate. */
function writeRun(dir: string, k: number): void {
  const runId = `bench-${String(k).padStart(2, '0')}`;
  const runDir = path.join(dir, runId);
  fs.mkdirSync(runDir);
  const lr = 0.01 * (1 + (k % 10));
  const config = {
    name: runId,
    seed: k % 5,
    dataset: { name: 'synthetic', samples: 1000, inputShape: [32], classes: 4 },
    model: { type: 'mlp', hidden: Array(LAYERS - 1).fill(32) },
    optimizer: { type: 'sgd', learningRate: lr },
    schedule: { epochs: 20, batchSize: 32 },
  };
  fs.writeFileSync(path.join(runDir, 'config.layerrot.json'), JSON.stringify(config, null, 2));
  const layers = Array.from({ length: LAYERS }, (_, i) => ({
    name: i === LAYERS - 1 ? 'output' : `dense${i + 1}`,
    kind: 'dense',
    shape: [32, 32],
    params: 1056,
  }));
  const t0 = 1_764_000_000_000;
  const lines: string[] = [
    JSON.stringify({
      v: 1,
      time: t0,
      type: 'run_started',
      runId,
      name: runId,
      configFile: `/configs/${runId}.layerrot.json`,
      engine: 'tfjs',
      backend: 'wasm',
      dataset: { name: 'synthetic', train: 900, validation: 100, test: 200, inputShape: [32], classes: 4 },
      layers,
      epochs: 20,
      stepsPerEpoch: 100,
      batchSize: 32,
      totalSteps: 2000,
      target: 1,
      lagMargin: 0.2,
      seed: k % 5,
      schedule: { learningRate: lr, warmupEpochs: 0, layca: false, multipliers: Array(LAYERS).fill(1) },
    }),
  ];
  for (let r = 0; r < RECORDS; r++) {
    const epoch = (20 * r) / (RECORDS - 1);
    const distances = layers.map((_, i) => Math.min(2, (1 - Math.exp(-epoch * lr * (1 + i / LAYERS))) * 1.1));
    lines.push(
      JSON.stringify({
        v: 1,
        time: t0 + r * 50,
        type: 'rotation',
        step: r,
        epoch,
        distances,
        rotation: distances,
        steps: 1,
      }),
    );
    if (r % 100 === 99)
      lines.push(
        JSON.stringify({
          v: 1,
          time: t0 + r * 50,
          type: 'epoch_end',
          epoch: (r + 1) / 100,
          step: r,
          accuracy: 0.5 + lr,
        }),
      );
  }
  const final = layers.map((_, i) => Math.min(2, (1 - Math.exp(-20 * lr * (1 + i / LAYERS))) * 1.1));
  lines.push(
    JSON.stringify({
      v: 1,
      time: t0 + RECORDS * 50,
      type: 'run_finished',
      status: k % 17 === 16 ? 'failed' : 'completed',
      reason: 'bench',
      step: RECORDS,
      epoch: 20,
      finalDistances: final,
      testAccuracy: 0.6 + lr + (k % 3) * 0.01,
      lagging: [],
      seconds: 100,
    }),
  );
  fs.writeFileSync(path.join(runDir, 'events.jsonl'), `${lines.join('\n')}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time<T>(f: () => T): { ms: number; value: T } {
  const times: number[] = [];
  let value!: T;
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    value = f();
    times.push(performance.now() - t);
  }
  return { ms: median(times), value };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-bench-compare-'));
  try {
    for (let k = 0; k < RUNS; k++) writeRun(dir, k);
    const bytes = fs.readdirSync(dir).reduce((n, d) => n + fs.statSync(path.join(dir, d, 'events.jsonl')).size, 0);
    const read = time(() => readRunFolders([dir]));
    const runs = read.value.runs;
    const model = time(() => buildComparison(runs));
    const rows = model.value.rows;
    const sort = time(() => sortRows(rows, 'test_accuracy', true));
    const figure = time(() => accuracyRotationSvg(model.value, 'mean'));
    const logs = new Map(runs.map((r) => [r.folder, r.log]));
    const curves = time(() => curvesGridSvg(rows.map((row) => ({ row, log: logs.get(row.folder)! }))));
    const csv = time(() => comparisonCsv(model.value));
    const curvesCsv = time(() => {
      let n = 0;
      for (const chunk of curvesCsvChunks(rows.map((r) => ({ runId: r.runId, log: logs.get(r.folder)! }))))
        n += chunk.length;
      return n;
    });
    const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
    console.log(
      `${RUNS} runs x ${LAYERS} layers x ${RECORDS.toLocaleString('en-US')} records (${(bytes / 2 ** 20).toFixed(0)} MB of logs); medians of ${REPEATS}:\n`,
    );
    console.log('| step | time | output |');
    console.log('| --- | ---: | --- |');
    console.log(
      `| read the folders (parse and normalize the logs, config copies) | ${read.ms.toFixed(0)} ms | ${runs.length} runs |`,
    );
    console.log(
      `| build the comparison model (verdicts, config diff) | ${model.ms.toFixed(1)} ms | ${model.value.columns.length} columns, ${model.value.configPaths.length} differing config values |`,
    );
    console.log(`| sort by a column | ${sort.ms.toFixed(2)} ms | |`);
    console.log(`| test accuracy against rotation (SVG) | ${figure.ms.toFixed(1)} ms | ${kb(figure.value.length)} |`);
    console.log(`| curves side by side (SVG) | ${curves.ms.toFixed(0)} ms | ${kb(curves.value.length)} |`);
    console.log(`| table as CSV | ${csv.ms.toFixed(1)} ms | ${kb(csv.value.length)} |`);
    console.log(
      `| curves as CSV (${(RUNS * LAYERS * RECORDS).toLocaleString('en-US')} lines) | ${curvesCsv.ms.toFixed(0)} ms | ${kb(curvesCsv.value)} |`,
    );
    const thin = time(() => rows.map((r) => runCurves(r.runId, logs.get(r.folder)!)));
    const message = JSON.stringify({ type: 'comparison', model: model.value, curves: thin.value, notes: [] });
    console.log(
      `| the tab: curves thinned on the host (${thin.value[0].epochs.length} records a run) | ${thin.ms.toFixed(1)} ms | message ${kb(message.length)} |`,
    );
    if (!fs.existsSync(CHROMIUM)) console.log(`| the tab's first draw | skipped: no Chromium at ${CHROMIUM} | |`);
    else {
      const draws: number[] = [];
      const renders: number[] = [];
      for (let i = 0; i < Math.min(REPEATS, 3); i++) {
        const h = await startHarness({ page: 'compare', width: 1200, height: 1000 });
        try {
          draws.push(
            await h.page.evaluate(async (json) => {
              const t = performance.now();
              (globalThis as any).__layerRotationComparePost(JSON.parse(json));
              await new Promise((done) => (globalThis as any).requestAnimationFrame(() => setTimeout(done, 0)));
              return performance.now() - t;
            }, message),
          );
          const st = await h.state();
          if (st.rows !== RUNS) throw new Error('the tab did not draw the comparison');
          renders.push(st.lastDrawMs);
        } finally {
          await h.close();
        }
      }
      console.log(
        `| the tab's first draw (parse, check, table, figure, curves; to the end of the frame) | ${median(draws).toFixed(0)} ms | ${RUNS} rows, ${RUNS} panels; the drawing alone ${median(renders).toFixed(0)} ms |`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

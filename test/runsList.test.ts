// What the runs list says of a run (src/runlog/runFacts.ts): its start, engine, optimizer, rate,
// Layca, test accuracy and verdict, the most telling first in its row; and whether a config
// changed since a run (src/engine/config/configChange.ts), on the run folder's real config copy:
// comments, formatting, key order and defaults written out change nothing, a value does, and the
// change names the run's values. On a real run of the fixture config and on runs trained here.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import {
  changeWords,
  configChange,
  configDifferences,
  resolvedConfig,
  staleMessage,
} from '../src/engine/config/configChange';
import { parseConfigText } from '../src/engine/config/validate';
import { train } from '../src/engine/trainer';
import { stamp, toJsonLine } from '../src/runlog/events';
import { parseRunLog, readRunLog } from '../src/runlog/read';
import { CONFIG_COPY, createRunDir } from '../src/runlog/runfolder';
import { longTime, optimizerWords, rateText, runFactLines, runFacts, runRow, shortTime } from '../src/runlog/runFacts';
import { judgeLog, runStatus, runStatusShort } from '../src/runlog/verdict';
import { ROOT, syntheticConfig, tempDir, writeConfig } from './helpers/runs';

const FIXTURES = path.join(ROOT, 'test', 'vscode', 'fixtures');
const CONFIG_TEXT = fs.readFileSync(path.join(FIXTURES, 'configs', 'lagging-synthetic.layerrot.json'), 'utf8');
/** A real run of lagging-synthetic (fixtures/README.md): 76.5% test accuracy, 3 lagging layers. */
const FIXTURE_LOG = readRunLog(path.join(FIXTURES, 'run-logs', 'lagging-synthetic-run', 'events.jsonl'));

/** Trains a config for real (wasm) and returns its log as a reader sees it. */
async function trainLog(dir: string, name: string, config: Record<string, unknown>) {
  const file = writeConfig(dir, name, config);
  const checked = parseConfigText(fs.readFileSync(file, 'utf8'), file);
  assert.ok(checked.ok, JSON.stringify(checked.errors));
  const lines: string[] = [];
  const fin = await train({
    config: checked.config,
    configFile: file,
    runId: name,
    backend: 'wasm',
    emit: (e) => {
      lines.push(toJsonLine(stamp(e)));
    },
  });
  assert.equal(fin.status, 'completed', fin.reason);
  return parseRunLog(lines.join(''));
}

describe('run facts and rows', () => {
  it('the facts of a real run: start, engine, optimizer, rate, Layca, test accuracy, verdict', () => {
    const f = runFacts(FIXTURE_LOG);
    assert.equal(f.start, FIXTURE_LOG.started?.time);
    assert.equal(f.engine, 'tfjs');
    assert.equal(f.backend, 'wasm (SIMD, 1 thread)');
    assert.equal(f.optimizer, 'sgd');
    assert.equal(f.learningRate, 0.2);
    assert.equal(f.layca, false);
    assert.equal(f.testAccuracy, 0.765);
    const v = judgeLog(FIXTURE_LOG);
    assert.ok(v);
    assert.equal(f.verdict, runStatus(v));
    assert.equal(f.verdict, '3 lagging layers');
    assert.equal(f.verdictShort, '3 lagging');
  });

  it('its row: the start first, then the accuracy, the verdict in a few words, the rate and optimizer', () => {
    const f = runFacts(FIXTURE_LOG);
    const start = FIXTURE_LOG.started?.time as number;
    const row = runRow(f, { status: 'completed' }, start);
    assert.equal(row, `${shortTime(start, start)} · 76.5% · 3 lagging · lr 0.2 sgd`);
    assert.match(row, /^[A-Z][a-z]{2} \d{1,2} \d\d:\d\d · /);
    // Not a completed run: its state comes first.
    assert.match(runRow(f, { status: 'stopped' }, start), /^stopped · /);
    // While it runs: the epoch, and no verdict (a projection: the tooltip says it).
    const running = runRow({ ...f, testAccuracy: null }, { status: 'running', epoch: 2, epochs: 3 }, start);
    assert.equal(running, `epoch 2/3 · ${shortTime(start, start)} · lr 0.2 sgd`);
  });

  it('every fact in the tooltip lines', () => {
    const f = runFacts(FIXTURE_LOG);
    assert.deepEqual(runFactLines(f), [
      `Started: ${longTime(f.start as number)}`,
      'Engine: tfjs (backend wasm (SIMD, 1 thread))',
      'Optimizer: sgd, learning rate 0.2, Layca off',
      'Test accuracy: 76.50%',
      'Verdict: 3 lagging layers',
    ]);
  });

  it('times: local, the year only when not this year; seconds in full', () => {
    const t = new Date(2025, 4, 3, 14, 5, 12).getTime();
    assert.equal(shortTime(t, new Date(2025, 11, 31).getTime()), 'May 3 14:05');
    assert.equal(shortTime(t, new Date(2026, 0, 1).getTime()), 'May 3 2025 14:05');
    assert.equal(longTime(t), '2025-05-03 14:05:12');
    assert.equal(shortTime(new Date(2025, 0, 9, 7, 3).getTime(), t), 'Jan 9 07:03');
  });

  it('the verdict in a few words, for each kind of run', () => {
    const v = judgeLog(FIXTURE_LOG);
    assert.ok(v);
    assert.equal(runStatusShort(v), '3 lagging');
    assert.equal(runStatusShort({ ...v, layers: v.layers.map((l) => ({ ...l, lagging: false })) }), '0 lagging');
    assert.equal(runStatusShort({ ...v, run: 'not-fit' }), 'not fit');
    assert.equal(
      runStatusShort({ ...v, run: 'no-learning', noLearning: { cause: 'diverged', rateTooHigh: true } }),
      'diverged',
    );
    assert.equal(
      runStatusShort({ ...v, run: 'no-learning', noLearning: { cause: 'chance', rateTooHigh: false } }),
      'no learning',
    );
    assert.equal(runStatusShort({ ...v, run: 'too-early' }), 'too early');
  });

  it('rates as a config writes them', () => {
    assert.equal(rateText(0.2), '0.2');
    assert.equal(rateText(0.1 + 0.2), '0.3');
    assert.equal(rateText(0.0001), '0.0001');
    assert.equal(rateText(3e-7), '3e-7');
    assert.equal(optimizerWords({ learningRate: null, optimizer: null, layca: null }), undefined);
  });

  describe('two real runs of one config, the rate changed between them', () => {
    const dir = tempDir('runs-list');
    let a: ReturnType<typeof parseRunLog>;
    let b: ReturnType<typeof parseRunLog>;
    before(async () => {
      const config = syntheticConfig({ name: 'twice', schedule: { epochs: 1, batchSize: 32 } });
      a = await trainLog(dir, 'twice', config);
      await new Promise((r) => setTimeout(r, 1100)); // another second
      b = await trainLog(dir, 'twice', { ...config, optimizer: { type: 'sgd', learningRate: 0.1, layca: true } });
    });

    it('are told apart by their rows: rate, optimizer and Layca (and start, to the minute)', () => {
      const fa = runFacts(a);
      const fb = runFacts(b);
      assert.equal(fa.layca, false);
      assert.equal(fb.layca, true);
      assert.equal(fb.optimizer, 'sgd'); // run_started says sgd-layca
      const ra = runRow(fa, { status: 'completed' });
      const rb = runRow(fb, { status: 'completed' });
      assert.notEqual(ra, rb);
      assert.match(ra, / · lr 0\.05 sgd$/);
      assert.match(rb, / · lr 0\.1 sgd\+Layca$/);
      assert.ok(fb.start !== null && fa.start !== null && fb.start > fa.start);
      assert.ok(ra.startsWith(shortTime(fa.start as number)), ra);
      for (const [row, f] of [
        [ra, fa],
        [rb, fb],
      ] as const) {
        const v = judgeLog(f === fa ? a : b);
        assert.ok(v);
        assert.ok(row.includes(` · ${runStatusShort(v)} · `), `${row} lacks ${runStatusShort(v)}`);
        assert.ok(row.includes(`${(100 * (f.testAccuracy as number)).toFixed(1)}%`), row);
      }
      assert.match(runFactLines(fb)[2], /^Optimizer: sgd, learning rate 0\.1, Layca on$/);
    });
  });
});

describe('whether a config changed since its run', () => {
  const file = '/work/example/lagging-synthetic.layerrot.json';

  it('comments, formatting, key order and a default written out are no change', () => {
    const same = `// the same config, written otherwise
{
  "engine": "tfjs",
  "backend": "wasm",
  "monitoring": { "fitAccuracy": 0.7, "target": 1 },   // target 1 is the default
  "schedule": { "batchSize": 32, "epochs": 3 },
  "optimizer": { "learningRate": 0.2, "type": "sgd" },
  "model": { "hidden": [16, 16], "type": "mlp" },
  "dataset": { "name": "synthetic", "samples": 2000, "testSamples": 200, "inputShape": [16], "classes": 4 },
  "name": "lagging-synthetic",
}
`;
    assert.deepEqual(configChange(CONFIG_TEXT, same, file), { changed: false });
    assert.deepEqual(configChange(CONFIG_TEXT, CONFIG_TEXT, file), { changed: false });
  });

  it('a value changed: which, the run value and the value now', () => {
    const now = CONFIG_TEXT.replace('"learningRate": 0.2', '"learningRate": 0.1');
    const change = configChange(CONFIG_TEXT, now, file);
    assert.deepEqual(change, {
      changed: true,
      invalid: false,
      differences: [{ path: 'optimizer.learningRate', run: 0.2, now: 0.1 }],
    });
    assert.ok(change);
    assert.equal(changeWords(change), 'optimizer.learningRate 0.2 (now 0.1)');
    assert.equal(
      staleMessage('lagging-synthetic-20250503-140512', change, "Layer 'dense1' ended at ..."),
      "From run lagging-synthetic-20250503-140512 (optimizer.learningRate 0.2 (now 0.1)), before the config changed: Layer 'dense1' ended at ...",
    );
  });

  it('several values, added keys and array items; at most three named', () => {
    const now = CONFIG_TEXT.replace('"hidden": [16, 16]', '"hidden": [16, 32]')
      .replace('"epochs": 3', '"epochs": 6')
      .replace('"type": "sgd", ', '"type": "sgd", "layca": true, "alpha": 0.5, ');
    const change = configChange(CONFIG_TEXT, now, file);
    assert.ok(change?.changed && !change.invalid);
    assert.deepEqual(
      change.differences.map((d) => [d.path, d.run, d.now]),
      [
        ['model.hidden[1]', 16, 32],
        ['optimizer.layca', false, true],
        ['optimizer.alpha', 0, 0.5],
        ['schedule.epochs', 3, 6],
      ],
    );
    assert.equal(
      changeWords(change),
      'model.hidden[1] 16 (now 32), optimizer.layca false (now true), optimizer.alpha 0 (now 0.5) and 1 more',
    );
    const sweep = configChange(
      CONFIG_TEXT,
      CONFIG_TEXT.replace('"backend"', '"sweep": { "seed": [0, 1] },\n  "backend"'),
      file,
    );
    assert.ok(sweep?.changed && !sweep.invalid);
    assert.equal(changeWords(sweep), 'sweep unset (now {"seed":[0,1]})');
  });

  it('a text with errors now is a change (its values unknown); a copy with errors cannot tell', () => {
    const change = configChange(CONFIG_TEXT, CONFIG_TEXT.replace('"epochs": 3', '"epochs": 0'), file);
    assert.deepEqual(change, { changed: true, invalid: true, differences: [] });
    assert.equal(changeWords(change as NonNullable<typeof change>), 'the config has errors now');
    assert.equal(configChange('{ "name": ', CONFIG_TEXT, file), undefined);
  });

  it('differences of arrays of another length, and of nested objects, name the whole value', () => {
    assert.deepEqual(configDifferences({ a: [1, 2] }, { a: [1, 2, 3] }), [{ path: 'a', run: [1, 2], now: [1, 2, 3] }]);
    assert.deepEqual(configDifferences({ a: { b: 1 } }, { a: 2 }), [{ path: 'a', run: { b: 1 }, now: 2 }]);
    assert.deepEqual(configDifferences({ a: 1 }, {}), [{ path: 'a', run: 1, now: undefined }]);
  });

  it("the run folder's copy of the config, a real file, against the config edited after the run", () => {
    const dir = tempDir('config-change');
    const config = path.join(dir, 'lagging-synthetic.layerrot.json');
    fs.writeFileSync(config, CONFIG_TEXT);
    const { runDir } = createRunDir(path.join(dir, 'runs'), 'lagging-synthetic', config);
    const copy = fs.readFileSync(path.join(runDir, CONFIG_COPY), 'utf8');
    // The default name is the file's: the copy resolves as the config, not as config.layerrot.json.
    assert.equal(
      resolvedConfig(copy.replace(/\s*"name": "lagging-synthetic",/, ''), config)?.name,
      'lagging-synthetic',
    );
    fs.writeFileSync(config, CONFIG_TEXT.replace('"learningRate": 0.2', '"learningRate": 0.05'));
    const change = configChange(copy, fs.readFileSync(config, 'utf8'), config);
    assert.equal(change && changeWords(change), 'optimizer.learningRate 0.2 (now 0.05)');
    // Undone: the run's values again.
    fs.writeFileSync(config, CONFIG_TEXT);
    assert.deepEqual(configChange(copy, fs.readFileSync(config, 'utf8'), config), { changed: false });
  });
});

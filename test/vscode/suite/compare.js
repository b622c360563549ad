// Comparing runs in the real extension host: four run folders in the workspace's runs folder
// (the fixture log, each with its own learning rate, seed and test accuracy), Compare Runs with
// their ids opens the comparison tab, whose webview reports what it drew (4 rows, 4 points); the
// table and the curves export as CSV files (a path instead of the save dialog).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.timeout = 45000;

const FIXTURE = path.join(h.FIXTURES, 'run-logs', 'lagging-synthetic-run', 'events.jsonl');
const RUNS = [
  { id: 'cmp-lr-0.05', lr: 0.05, seed: 1, acc: 0.71 },
  { id: 'cmp-lr-0.1', lr: 0.1, seed: 2, acc: 0.74 },
  { id: 'cmp-lr-0.2', lr: 0.2, seed: 3, acc: 0.765 },
  { id: 'cmp-lr-0.4', lr: 0.4, seed: 4, acc: 0.69 },
];
const ids = RUNS.map((r) => r.id);
let out;

/** The fixture log as run `r`: its id, learning rate, seed and test accuracy. */
function writeRun(r) {
  const lines = fs
    .readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  for (const e of lines) {
    if (e.type === 'run_started') {
      e.runId = r.id;
      e.seed = r.seed;
      e.schedule.learningRate = r.lr;
      delete e.configFile; // an outside run: its config values come from run_started
    }
    if (e.type === 'run_finished') e.testAccuracy = r.acc;
  }
  const dir = path.join(h.workspaceDir(), 'runs', r.id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), `${lines.map((e) => JSON.stringify(e)).join('\n')}\n`);
}

const state = () => vscode.commands.executeCommand('layerRotation.compareState');

exports.before = async () => {
  await h.activate();
  for (const r of RUNS) writeRun(r);
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-compare-'));
};

exports.after = async () => {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  fs.rmSync(out, { recursive: true, force: true });
};

exports.tests = {
  'Compare Runs with four run ids opens the tab, which draws 4 rows and 4 points': async () => {
    // The watcher picks the folders up; until then the command compares fewer runs.
    await h.waitFor(async () => (await vscode.commands.executeCommand('layerRotation.compareRuns', ids)) === 4, {
      timeout: 20000,
      what: 'the four runs to be known and compared',
    });
    // The tab list follows the panel's creation asynchronously.
    const tabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    await h.waitFor(
      () =>
        tabs().find(
          (t) =>
            t.input instanceof vscode.TabInputWebview &&
            /comparePanel/.test(t.input.viewType) &&
            t.label === 'Compare 4 Runs',
        ),
      { what: "a tab 'Compare 4 Runs' of the comparison panel" },
    );
    const s = await h.waitFor(
      async () => {
        const st = await state();
        return st && st.rows === 4 ? st : null;
      },
      { what: 'the comparison tab to report 4 rows' },
    );
    assert.equal(s.points, 4);
    assert.deepEqual([...s.order].sort(), [...ids].sort());
    assert.equal(s.panels, 4, 'a curves panel per run');
    assert.equal(s.lines, 12, 'a line per layer in each panel (3 layers)');
  },

  'the table exports as CSV: a header and 4 rows, with the differing learning rate': async () => {
    const file = path.join(out, 'table.csv');
    const written = await vscode.commands.executeCommand('layerRotation.compareExport', 'tableCsv', file, {
      sort: { key: 'test_accuracy', descending: true },
    });
    assert.equal(written, file);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\r\n');
    assert.equal(lines.length, 5, lines.join('\n'));
    const header = lines[0].split(',');
    const col = (name) => {
      const i = header.indexOf(name);
      assert.ok(i >= 0, `no column ${name} in ${header.join(',')}`);
      return i;
    };
    const rows = lines.slice(1).map((l) => l.split(','));
    // Sorted by test accuracy, descending.
    assert.deepEqual(
      rows.map((r) => r[col('run')]),
      ['cmp-lr-0.2', 'cmp-lr-0.1', 'cmp-lr-0.05', 'cmp-lr-0.4'],
    );
    assert.deepEqual(
      rows.map((r) => Number(r[col('optimizer.learningRate')])),
      [0.2, 0.1, 0.05, 0.4],
    );
    assert.deepEqual(
      rows.map((r) => Number(r[col('test_accuracy')])),
      [0.765, 0.74, 0.71, 0.69],
    );
  },

  'the curves export as CSV: every rotation record of every layer of the 4 runs': async () => {
    const file = path.join(out, 'curves.csv');
    await vscode.commands.executeCommand('layerRotation.compareExport', 'curvesCsv', file);
    const records = fs
      .readFileSync(FIXTURE, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"type":"rotation"')).length;
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\r\n');
    assert.equal(lines[0], 'run,step,epoch,layer,distance');
    assert.equal(lines.length - 1, 4 * records * 3);
    assert.deepEqual([...new Set(lines.slice(1).map((l) => l.split(',')[0]))].sort(), [...ids].sort());
  },

  'the figure and the curves export as SVG: a point and a panel per run': async () => {
    const figure = path.join(out, 'figure.svg');
    const curves = path.join(out, 'curves.svg');
    await vscode.commands.executeCommand('layerRotation.compareExport', 'figureSvg', figure, { x: 'mean' });
    await vscode.commands.executeCommand('layerRotation.compareExport', 'curvesSvg', curves);
    const f = fs.readFileSync(figure, 'utf8');
    assert.equal(f.match(/<g class="point/g)?.length, 4);
    assert.match(f, /mean over layers/);
    assert.equal(fs.readFileSync(curves, 'utf8').match(/<g class="panel/g)?.length, 4);
  },

  'a compared run whose log changes on disk is compared again (the table follows)': async () => {
    writeRun({ ...RUNS[3], acc: 0.9 });
    const file = path.join(out, 'again.csv');
    await h.waitFor(
      async () => {
        await vscode.commands.executeCommand('layerRotation.compareExport', 'tableCsv', file);
        return fs.readFileSync(file, 'utf8').includes('0.9,');
      },
      { timeout: 15000, what: 'the table to hold the new test accuracy 0.9' },
    );
  },

  'from the runs tree: the clicked run and the selection (as VS Code passes them)': async () => {
    const items = ids.slice(1).map((runId) => ({ runId }));
    assert.equal(await vscode.commands.executeCommand('layerRotation.compareRuns', items[0], items), 3);
    const s = await h.waitFor(
      async () => {
        const st = await state();
        return st && st.rows === 3 ? st : null;
      },
      { what: 'the comparison tab to report 3 rows' },
    );
    assert.deepEqual([...s.order].sort(), ids.slice(1).sort());
  },

  'Compare Runs again with two of them replaces the comparison': async () => {
    assert.equal(await vscode.commands.executeCommand('layerRotation.compareRuns', ids.slice(0, 2)), 2);
    const s = await h.waitFor(
      async () => {
        const st = await state();
        return st && st.rows === 2 ? st : null;
      },
      { what: 'the comparison tab to report 2 rows' },
    );
    assert.equal(s.points, 2);
  },
};

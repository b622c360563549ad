// The runs list and a config edited after its run, in the real extension host, on runs the
// extension trains: each run's row in the runs tree (the provider the view uses, returned by
// activate()) leads with its start, test accuracy, verdict, rate and optimizer, its tooltip
// holds every fact; once the config is edited (unsaved) its run's lagging-layer Information are
// Hints naming the run and the value it had (none stands as if it applied to the new text), a
// comment changes nothing, undo brings them back, and the CodeLens says the config changed; a
// second run at another rate is told apart from the first by its row; Reveal in File
// Explorer/OS and Delete Run (its modal questions answered through the command's internal
// argument, DeleteRunOptions in src/vscode/commands.ts; the dialog itself: ui/runs-list.mjs).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.timeout = 60000;

const INFO = vscode.DiagnosticSeverity.Information;
const HINT = vscode.DiagnosticSeverity.Hint;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n) => String(n).padStart(2, '0');

let tree; // the extension's RunsTree
let uri; // the config
const runs = {}; // 'first' (rate 0.2), 'second' (rate 0.1), 'long' -> run id

/** "May 3 14:05" (this year) of a time, as the row should say it. */
function shortTime(ms) {
  const d = new Date(ms);
  const year = d.getFullYear() === new Date().getFullYear() ? '' : ` ${d.getFullYear()}`;
  return `${MONTHS[d.getMonth()]} ${d.getDate()}${year} ${p2(d.getHours())}:${p2(d.getMinutes())}`;
}

function longTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** The tree item of a run (the runs tree's top level: these runs are no sweep's). */
function runItem(runId) {
  const el = tree.getChildren().find((e) => e.runId === runId);
  return el && tree.getTreeItem(el);
}

async function train(key) {
  const runId = await h.startTraining(uri);
  runs[key] = runId;
  const events = await h.waitForEvents(runId, 'run_finished', { timeout: 50000 });
  const end = events[events.length - 1];
  assert.equal(end.status, 'completed', `${runId} ended ${end.status}: ${end.reason}`);
  return { started: events[0], end };
}

/** The extension's lagging-layer Information on the config, and its Hints from an earlier config. */
const lagInfos = () => h.ourDiagnostics(uri, INFO).filter((d) => d.code === 'lagging-layer');
const staleHints = () => h.ourDiagnostics(uri, HINT).filter((d) => d.code === 'from-earlier-config');

async function lensTitles() {
  const lenses = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri, 10);
  return (lenses ?? []).map((l) => l.command?.title ?? '');
}

async function replaceInDocument(doc, needle, replacement) {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, h.rangeOfText(doc.getText(), needle), replacement);
  assert.equal(await vscode.workspace.applyEdit(edit), true, `the edit of ${needle} was not applied`);
}

exports.before = async () => {
  const ext = await h.activate();
  tree = ext.exports?.runsTree;
  assert.ok(tree && typeof tree.getChildren === 'function', 'activate() returned no runsTree');
  uri = h.installConfig('lagging-synthetic.layerrot.json');
};

exports.tests = {
  "a run's row: start date and time, test accuracy, verdict, rate and optimizer; every fact in its tooltip":
    async () => {
      const { started, end } = await train('first');
      // The test may read run_finished from the log before the runs tree has: its row says completed then.
      const item = await h.waitFor(
        () => {
          const i = runItem(runs.first);
          return i?.tooltip?.value.includes('\n\ncompleted') && i;
        },
        { what: `the row of ${runs.first} in the runs tree, completed` },
      );
      assert.equal(item.label, 'lagging-synthetic');
      const acc = `${(100 * end.testAccuracy).toFixed(1)}%`;
      assert.equal(item.description, `${shortTime(started.time)} · ${acc} · 3 lagging · lr 0.2 sgd`);
      const tip = item.tooltip.value;
      for (const line of [
        `Started: ${longTime(started.time)}`,
        `Engine: tfjs (backend ${started.backendDescription})`,
        'Optimizer: sgd, learning rate 0.2, Layca off',
        `Test accuracy: ${(100 * end.testAccuracy).toFixed(2)}%`,
        'Verdict: 3 lagging layers',
        `Config: \`${uri.fsPath}\``,
      ])
        assert.ok(tip.includes(line), `the tooltip lacks "${line}":\n${tip}`);
      // resolveTreeItem (a sweep's comparison on hover) leaves a run of no sweep as it is.
      assert.equal(
        tree.resolveTreeItem(
          item,
          tree.getChildren().find((e) => e.runId === runs.first),
        ).tooltip.value,
        tip,
      );
    },

  'the config edited after its run: no stale Information, Hints naming the run and its value; undo brings them back':
    async () => {
      await h.waitFor(() => lagInfos().length === 3, { timeout: 10000, what: "the run's 3 lagging-layer Information" });
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc);
      assert.ok((await lensTitles()).some((t) => /^Last run: \d+\.\d% test accuracy, 3 lagging layers$/.test(t)));

      // A comment and other spacing: the same config.
      await replaceInDocument(doc, '"model": {', '// same values\n  "model"  :  {');
      await h.sleep(500);
      assert.equal(lagInfos().length, 3, 'a comment made the diagnostics stale');
      assert.equal(staleHints().length, 0);

      // The rate changed (not saved): the run's verdict is of the old rate.
      await replaceInDocument(doc, '"learningRate": 0.2', '"learningRate": 0.1');
      await h.waitFor(() => staleHints().length === 3, {
        timeout: 5000,
        what: `3 Hints from the earlier config (have: ${h.ourDiagnostics(uri).map(h.describeDiagnostic).join(' | ')})`,
      });
      assert.deepEqual(
        h
          .ourDiagnostics(uri)
          .filter((d) => d.severity !== HINT)
          .map(h.describeDiagnostic),
        [],
        'a Warning or Information stands after the edit',
      );
      for (const d of staleHints())
        assert.match(
          d.message,
          new RegExp(
            `^From run ${runs.first} \\(optimizer\\.learningRate 0\\.2 \\(now 0\\.1\\)\\), before the config changed: Layer '(dense1|dense2|output)' ended at cosine distance`,
          ),
        );
      // No quick fix is offered for a verdict of another config.
      const actions = await vscode.commands.executeCommand(
        'vscode.executeCodeActionProvider',
        uri,
        staleHints()[0].range,
        vscode.CodeActionKind.QuickFix.value,
      );
      assert.deepEqual(
        (actions ?? []).filter((a) => a.edit).map((a) => a.title),
        [],
      );
      await h.waitFor(async () => (await lensTitles()).some((t) => / \(config changed since\)$/.test(t)), {
        timeout: 5000,
        what: 'the Last run CodeLens to say the config changed',
      });

      // Undo the rate: the run's values again (the comment stays).
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('undo');
      await h.waitFor(() => doc.getText().includes('"learningRate": 0.2'), { what: 'the undo of the rate' });
      await h.waitFor(() => lagInfos().length === 3 && staleHints().length === 0, {
        timeout: 5000,
        what: `the 3 Information back after undo (have: ${h.ourDiagnostics(uri).map(h.describeDiagnostic).join(' | ')})`,
      });
      assert.ok(!(await lensTitles()).some((t) => /config changed since/.test(t)));
      assert.ok(doc.getText().includes('// same values'));

      // Saved with the new rate: the Hints stand for the saved config too.
      await replaceInDocument(doc, '"learningRate": 0.2', '"learningRate": 0.1');
      await doc.save();
      await h.waitFor(() => staleHints().length === 3 && lagInfos().length === 0, {
        timeout: 5000,
        what: 'Hints after saving the new rate',
      });
    },

  'a second run at the new rate: its own diagnostics, and a row told apart from the first': async () => {
    const { started } = await train('second');
    await h.waitFor(() => staleHints().length === 0, {
      timeout: 10000,
      what: 'no Hints once the newest run is of this text',
    });
    // The row turns from the live form ("epoch 3/3 · ...") to the finished one when the extension
    // sees the run end, which can come after the log's run_finished line: wait for it.
    const finishedRow = new RegExp(`^${shortTime(started.time)} · \\d+\\.\\d% · [^·]+ · lr 0\\.1 sgd$`);
    await h.waitFor(() => finishedRow.test(runItem(runs.second)?.description ?? ''), {
      timeout: 10000,
      what: "the second run's finished row",
    });
    const second = runItem(runs.second);
    const first = runItem(runs.first);
    assert.ok(second && first);
    assert.match(second.description, finishedRow);
    assert.match(first.description, / · lr 0\.2 sgd$/);
    assert.notEqual(second.description, first.description);
    // Newest first.
    const order = tree.getChildren().map((e) => e.runId);
    assert.ok(order.indexOf(runs.second) < order.indexOf(runs.first), JSON.stringify(order));
  },

  'Reveal in File Explorer/OS: in code-server (no OS file manager here), the Explorer': async () => {
    const where = await h.within(
      Promise.resolve(vscode.commands.executeCommand('layerRotation.revealRun', runs.first)),
      10000,
      'layerRotation.revealRun',
    );
    assert.equal(vscode.env.uiKind, vscode.UIKind.Web);
    assert.equal(where, 'explorer');
  },

  'Delete Run: never a running run; Cancel keeps it; confirmed, its folder goes and the tree drops it': async () => {
    const long = h.installConfig('long.layerrot.json');
    runs.long = await h.startTraining(long);
    await h.waitForEvents(runs.long, 'rotation', { count: 2 });
    const answers = ['Move to Trash', 'Delete Permanently'];
    const del = (arg, selection, opts) =>
      h.within(
        Promise.resolve(vscode.commands.executeCommand('layerRotation.deleteRun', arg, selection, opts)),
        15000,
        'layerRotation.deleteRun',
      );
    assert.deepEqual(await del(runs.long, undefined, { answers }), []);
    assert.ok(fs.existsSync(h.runDir(runs.long)), 'a running run was deleted');
    assert.ok(runItem(runs.long));

    // Cancel (the modal's answer: none).
    assert.deepEqual(await del(runs.first, undefined, { answers: [undefined] }), []);
    assert.ok(fs.existsSync(h.runDir(runs.first)));
    assert.ok(runItem(runs.first));

    // Moving to the trash confirmed, but code-server's file system has no trash: the second
    // question (delete for good?) cancelled keeps it.
    const el = tree.getChildren().find((e) => e.runId === runs.first);
    const dir = h.runDir(runs.first);
    assert.deepEqual(await del(el, [el], { answers: ['Move to Trash'] }), []);
    assert.ok(fs.existsSync(dir), 'deleted though the permanent deletion was not confirmed');
    assert.ok(runItem(runs.first));

    // Both confirmed, from the tree's item.
    assert.deepEqual(await del(el, [el], { answers }), [runs.first]);
    assert.equal(fs.existsSync(dir), false, `${dir} is still there`);
    assert.equal(runItem(runs.first), undefined, 'the runs tree still lists the deleted run');
    assert.equal(fs.existsSync(path.join(os.homedir(), '.local', 'share', 'Trash', 'files', runs.first)), false);

    // A selection of a running and a stopped run: the stopped one only.
    await h.within(vscode.commands.executeCommand('layerRotation.stopTraining', runs.long), 15000, 'stopTraining');
    const second = tree.getChildren().find((e) => e.runId === runs.second);
    const long2 = await h.startTraining(long);
    runs.long2 = long2;
    await h.waitForEvents(long2, 'rotation', { count: 2 });
    const running = tree.getChildren().find((e) => e.runId === long2);
    assert.deepEqual(await del(second, [second, running], { answers }), [runs.second]);
    assert.equal(fs.existsSync(h.runDir(runs.second)), false);
    assert.ok(fs.existsSync(h.runDir(long2)));
    // The config's newest run is gone: its diagnostics with it.
    await h.waitFor(() => lagInfos().length === 0 && staleHints().length === 0, {
      timeout: 5000,
      what: 'no verdict diagnostics of deleted runs',
    });
    await h.within(vscode.commands.executeCommand('layerRotation.stopTraining', long2), 15000, 'stopTraining');
  },
};

exports.after = async () => {
  for (const runId of [runs.long, runs.long2].filter(Boolean))
    for (const p of h.runnerProcesses(runId)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === uri?.fsPath);
  if (doc?.isDirty) await doc.save();
};

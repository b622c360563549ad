// Sweeps in the real extension host: layerRotation.runSweep runs a config's grid (the CLI's
// SweepRun) into <workspace>/runs/<name>-sweep/, each point a live run; the runs tree (the
// provider the view uses, returned by activate()) groups them under one node, and a sweep folder
// found on disk the same way; Stop on a sweep's node stops the whole sweep: the running point
// stopped cleanly, the rest not started, no runner left.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.timeout = 120000;

let tree; // the extension's RunsTree
let shortConfig; // Uri of the 4-point sweep
let longConfig; // Uri of the 3-point sweep of 200-epoch runs

const sweepJson = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8'));

/** The runs tree's node of a sweep folder (its top-level element with that sweepDir), or undefined. */
function sweepNode(dir) {
  return tree.getChildren().find((e) => e.sweepDir === dir);
}

/** Every event of a run folder's log (each line must parse). */
function events(runDir) {
  return fs
    .readFileSync(path.join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

async function runSweep(uri) {
  const dir = await h.within(
    vscode.commands.executeCommand('layerRotation.runSweep', uri),
    20000,
    'layerRotation.runSweep',
  );
  assert.equal(typeof dir, 'string', `layerRotation.runSweep returned ${JSON.stringify(dir)}, not the sweep's folder`);
  return dir;
}

exports.before = async () => {
  const ext = await h.activate();
  tree = ext.exports?.runsTree;
  assert.ok(tree && typeof tree.getChildren === 'function', 'activate() returned no runsTree');
  shortConfig = h.installConfig('sweep-synthetic.layerrot.json');
  longConfig = h.installConfig('sweep-long.layerrot.json');
};

exports.tests = {
  'a sweep config: the Sweep CodeLens, and Start Training starts no run (it offers the sweep)': async () => {
    // The lenses of a document VS Code has loaded (else: Illegal argument).
    await vscode.workspace.openTextDocument(shortConfig);
    const lenses = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', shortConfig, 10);
    const sweepLens = (lenses ?? []).find((l) => l.command?.command === 'layerRotation.runSweep');
    assert.ok(sweepLens, `no Sweep CodeLens among ${JSON.stringify((lenses ?? []).map((l) => l.command?.title))}`);
    assert.equal(sweepLens.command.arguments[0].fsPath, shortConfig.fsPath);
    const valid = h.installConfig('valid.layerrot.json');
    await vscode.workspace.openTextDocument(valid);
    const plain = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', valid, 10);
    assert.ok(
      !(plain ?? []).some((l) => l.command?.command === 'layerRotation.runSweep'),
      'a Sweep CodeLens on a config without sweep',
    );

    const result = await h.within(
      vscode.commands.executeCommand('layerRotation.startTraining', shortConfig),
      5000,
      'layerRotation.startTraining on a sweep config',
    );
    assert.equal(result, undefined);
    assert.equal(fs.existsSync(path.join(h.workspaceDir(), 'runs')), false, 'a runs folder was created');
  },

  'Run Sweep runs the 4 points, live, as runs grouped under one node of the runs tree': async () => {
    const dir = await runSweep(shortConfig);
    assert.equal(dir, path.join(h.workspaceDir(), 'runs', 'sweep-synthetic-sweep'));
    // While it goes: its node, with a running point among its children.
    const running = await h.waitFor(
      () => {
        const node = sweepNode(dir);
        const child = node && tree.getChildren(node).find((r) => !r.log.finished && r.handle);
        return child ? { node, child } : null;
      },
      { timeout: 30000, what: 'the sweep node with a running point' },
    );
    assert.equal(tree.getTreeItem(running.node).contextValue, 'sweep.running');
    assert.match(String(tree.getTreeItem(running.node).description), /1 running of 4$/);

    await h.waitFor(() => fs.existsSync(path.join(dir, 'sweep.json')) && sweepJson(dir).counts.completed === 4, {
      timeout: 100000,
      interval: 250,
      what: '4 completed points in sweep.json',
    });
    const s = sweepJson(dir);
    assert.equal(s.total, 4);
    assert.equal(s.name, 'sweep-synthetic');
    assert.deepEqual(s.counts, { pending: 0, running: 0, completed: 4, failed: 0, stopped: 0 });
    for (const p of s.points) {
      assert.equal(p.status, 'completed', `${p.id}: ${p.status} (${p.reason})`);
      assert.equal(p.attempts, 1);
      const log = events(path.join(dir, p.runDir));
      assert.equal(log[0].type, 'run_started');
      assert.equal(log[log.length - 1].type, 'run_finished');
      assert.equal(log[log.length - 1].status, 'completed');
    }

    // The tree: one node for the sweep, its 4 point runs as children, in grid order.
    const node = await h.waitFor(
      () => {
        const n = sweepNode(dir);
        return n && tree.getTreeItem(n).description === '4 done of 4' && tree.getTreeItem(n).contextValue === 'sweep'
          ? n
          : null;
      },
      { timeout: 10000, what: 'the sweep node to say "4 done of 4" and no longer running' },
    );
    const item = tree.getTreeItem(node);
    assert.equal(item.label, 'sweep-synthetic');
    // On hover, what its 4 runs say of the paper's rule (the comparison's reading), and on a run's item its place among them.
    const compared = tree.sweepComparison(dir);
    assert.equal(compared?.rows.length, 4);
    assert.ok(
      ['supports', 'contradicts', 'no-relation', 'spread-unknown', 'insufficient'].includes(compared.reading.kind),
    );
    const resolved = tree.resolveTreeItem(tree.getTreeItem(node), node);
    assert.ok(
      resolved.tooltip.value.endsWith(`**What its runs say:** ${compared.reading.text}`),
      resolved.tooltip.value,
    );
    assert.match(compared.reading.text, /configurations/);
    const top = tree.getChildren();
    assert.equal(top.filter((e) => e.sweepDir === dir).length, 1, 'more than one node for the sweep');
    assert.ok(!top.some((e) => e.runDir?.startsWith(dir + path.sep)), 'a point run is listed at the top level too');
    const children = tree.getChildren(node);
    assert.equal(children.length, 4);
    assert.deepEqual(
      children.map((r) => tree.getTreeItem(r).label),
      [
        'learningRate=0.02, seed=1',
        'learningRate=0.02, seed=2',
        'learningRate=0.1, seed=1',
        'learningRate=0.1, seed=2',
      ],
    );
    assert.deepEqual(
      children.map((r) => path.relative(dir, r.runDir)),
      s.points.map((p) => p.runDir),
    );
    for (const r of children) assert.equal(r.log.finished?.status, 'completed');
    await h.waitFor(() => h.childRunners({ live: true }).length === 0, {
      timeout: 5000,
      what: 'no runner process left',
    });
  },

  'a sweep found on disk (a copy, as a cluster job would write it) is grouped the same way': async () => {
    const src = path.join(h.workspaceDir(), 'runs', 'sweep-synthetic-sweep');
    const dir = path.join(h.workspaceDir(), 'cluster', 'sweep-synthetic-sweep');
    fs.cpSync(src, dir, { recursive: true });
    // The watcher follows the workspace: the copied logs become runs of their own, not live.
    const node = await h.waitFor(
      () => {
        const n = sweepNode(dir);
        return n && tree.getChildren(n).length === 4 ? n : null;
      },
      { timeout: 20000, what: `a sweep node for ${dir} with 4 children` },
    );
    const item = tree.getTreeItem(node);
    assert.equal(item.description, '4 done of 4');
    assert.equal(item.contextValue, 'sweep');
    const children = tree.getChildren(node);
    for (const r of children) {
      assert.ok(r.runDir.startsWith(dir + path.sep), `${r.runDir} is not in the copy`);
      assert.equal(r.live, false);
      assert.equal(r.log.finished?.status, 'completed');
    }
    assert.equal(tree.getTreeItem(children[3]).label, 'learningRate=0.1, seed=2');
    assert.equal(tree.getChildren(sweepNode(src)).length, 4, 'the original lost runs to the copy');
  },

  'Stop on a second sweep node stops the whole sweep: running point stopped, the rest not started': async () => {
    const dir = await runSweep(longConfig);
    const first = await h.waitFor(
      () => {
        const node = sweepNode(dir);
        const child = node && tree.getChildren(node)[0];
        return child?.handle && child.log.rotations.length >= 2 ? child : null;
      },
      { timeout: 30000, what: 'the first point of the long sweep to train' },
    );
    assert.equal(h.childRunners({ live: true }).length, 1, `runners: ${h.childRunners({ live: true })}`);
    const node = sweepNode(dir);
    assert.equal(tree.getTreeItem(node).contextValue, 'sweep.running');
    // What the inline Stop action does: the command with the tree's element.
    await h.within(
      vscode.commands.executeCommand('layerRotation.stopTraining', node),
      20000,
      'stopTraining on the sweep',
    );

    const s = sweepJson(dir);
    assert.deepEqual(
      s.points.map((p) => p.status),
      ['stopped', 'pending', 'pending'],
    );
    assert.deepEqual(s.counts, { pending: 2, running: 0, completed: 0, failed: 0, stopped: 1 });
    const log = events(first.runDir);
    assert.equal(log[log.length - 1].type, 'run_finished');
    assert.equal(log[log.length - 1].status, 'stopped');
    assert.deepEqual(h.runnerProcesses(first.runId), [], 'the stopped point has a runner left');
    // Nothing else starts afterwards.
    await h.sleep(2000);
    assert.deepEqual(h.childRunners({ live: true }), [], 'a runner process is left or was started');
    for (const p of s.points.slice(1))
      assert.equal(fs.existsSync(path.join(dir, p.folder)), false, `${p.id} was started after the stop`);
    assert.deepEqual(
      sweepJson(dir).points.map((p) => p.status),
      ['stopped', 'pending', 'pending'],
    );
    const item = tree.getTreeItem(sweepNode(dir));
    assert.equal(item.description, '0 done, 1 stopped of 3');
    assert.equal(item.contextValue, 'sweep');
  },
};

exports.after = async () => {
  // Nothing of these sweeps may train on into the next suite.
  for (const pid of h.childRunners({ live: true })) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
};

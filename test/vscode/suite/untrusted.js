// Workspace trust in the real extension host, in Restricted Mode (a session with trust
// 'untrusted'): training and sweeps are refused (no run, no runs folder, the command returns undefined),
// while opening an existing run log still works (its lagging layers show on the config).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

let config; // Uri

exports.before = async () => {
  await h.activate();
  config = h.installConfig('lagging-synthetic.layerrot.json');
};

exports.tests = {
  'the workspace is in Restricted Mode': async () => {
    assert.equal(vscode.workspace.isTrusted, false);
  },

  'startTraining starts no run: returns undefined, no runs folder, no runner': async () => {
    const runs = path.join(h.workspaceDir(), 'runs');
    assert.equal(fs.existsSync(runs), false, 'a runs folder before the test');
    // It says why in a notification; the command itself must come back (with no run id)
    // without waiting for the notification to be dismissed.
    const result = await h.within(
      vscode.commands.executeCommand('layerRotation.startTraining', config),
      5000,
      'layerRotation.startTraining in an untrusted folder',
    );
    assert.equal(result, undefined);
    await h.sleep(500);
    assert.equal(fs.existsSync(runs), false, `${runs} was created`);
    assert.deepEqual(h.childRunners(), [], 'a runner process was started');
  },

  'runSweep starts nothing: returns undefined, no runs folder, no runner': async () => {
    const sweepConfig = h.installConfig('sweep-synthetic.layerrot.json');
    const runs = path.join(h.workspaceDir(), 'runs');
    const result = await h.within(
      vscode.commands.executeCommand('layerRotation.runSweep', sweepConfig),
      5000,
      'layerRotation.runSweep in an untrusted folder',
    );
    assert.equal(result, undefined);
    await h.sleep(500);
    assert.equal(fs.existsSync(runs), false, `${runs} was created`);
    assert.deepEqual(h.childRunners(), [], 'a runner process was started');
  },

  'openRun on an existing run folder works, and its lagging layers show on the config': async () => {
    // The fixture run log (of lagging-synthetic.layerrot.json), pointed at the config in this workspace.
    const src = path.join(h.FIXTURES, 'run-logs', 'lagging-synthetic-run', 'events.jsonl');
    const folder = path.join(h.workspaceDir(), 'saved-runs', 'lagging-synthetic-run');
    fs.mkdirSync(folder, { recursive: true });
    const text = fs
      .readFileSync(src, 'utf8')
      .replace(
        '"configFile":"/placeholder/lagging-synthetic.layerrot.json"',
        JSON.stringify({ configFile: config.fsPath }).slice(1, -1),
      );
    assert.ok(text.includes(config.fsPath), 'the fixture has no configFile to point at the workspace');
    fs.writeFileSync(path.join(folder, 'events.jsonl'), text);

    const lagWarnings = () =>
      h.ourDiagnostics(config, vscode.DiagnosticSeverity.Information).filter((d) => d.code === 'lagging-layer');
    assert.equal(lagWarnings().length, 0, 'lagging-layer diagnostics before the run was opened');
    await h.within(
      Promise.resolve(vscode.commands.executeCommand('layerRotation.openRun', vscode.Uri.file(folder))),
      10000,
      'layerRotation.openRun',
    );

    // The run is known now: its three lagging layers are marked on the config, and the config's
    // CodeLens tells its result.
    await h.waitFor(() => lagWarnings().length === 3, {
      timeout: 10000,
      what: 'the 3 lagging-layer diagnostics of the opened run',
    });
    assert.deepEqual(
      lagWarnings()
        .map((d) => /^Layer '([^']+)'/.exec(d.message)?.[1])
        .sort(),
      ['dense1', 'dense2', 'output'],
    );
    const lenses = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', config, 10);
    const titles = (lenses ?? []).map((l) => l.command?.title ?? '');
    assert.ok(
      titles.some((t) => /^Last run: 76\.5% test accuracy, 3 lagging layers$/.test(t)),
      `no "Last run" CodeLens for the opened run among ${JSON.stringify(titles)}`,
    );
    assert.equal(fs.existsSync(path.join(h.workspaceDir(), 'runs')), false, 'opening a run created a runs folder');
  },
};

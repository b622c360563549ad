// Past runs come back from their logs: the runs folder's run logs are read when the extension
// activates (as on reopening VS Code) and on "Refresh Runs", and the runs they hold are shown
// like this window's own: their lagging layers on their config, their result in its CodeLens.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.before = async () => {
  await h.activate();
};

exports.tests = {
  'a run log in the runs folder is restored, with its lagging layers and result': async () => {
    const config = h.installConfig('lagging-synthetic.layerrot.json', 'restored.layerrot.json');
    const src = path.join(h.FIXTURES, 'run-logs', 'lagging-synthetic-run', 'events.jsonl');
    const folder = path.join(h.workspaceDir(), 'runs', 'restored-run');
    fs.mkdirSync(folder, { recursive: true });
    const text = fs
      .readFileSync(src, 'utf8')
      .replace(
        '"configFile":"/placeholder/lagging-synthetic.layerrot.json"',
        JSON.stringify({ configFile: config.fsPath }).slice(1, -1),
      );
    assert.ok(text.includes(config.fsPath));
    fs.writeFileSync(path.join(folder, 'events.jsonl'), text);

    // The same reading of the runs folders as on activation (the run-log watcher, restarted).
    await vscode.commands.executeCommand('layerRotation.refreshRuns');
    const lagWarnings = () =>
      h.ourDiagnostics(config, vscode.DiagnosticSeverity.Information).filter((d) => d.code === 'lagging-layer');
    await h.waitFor(() => lagWarnings().length === 3, {
      timeout: 10000,
      what: "the restored run's 3 lagging-layer diagnostics",
    });
    const lenses = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', config, 10);
    const titles = (lenses ?? []).map((l) => l.command?.title ?? '');
    assert.ok(
      titles.some((t) => /^Last run: 76\.5% test accuracy, 3 lagging layers$/.test(t)),
      `no "Last run" CodeLens among ${JSON.stringify(titles)}`,
    );
  },
};

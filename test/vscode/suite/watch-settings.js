// The folder's own settings and the log watcher, in the real extension host (issue 11, case 10): a
// workspace's .vscode/settings.json that sets layerRotation.watch.folders to a folder outside it is
// followed when the folder is trusted, and ignored in Restricted Mode (the setting is a restricted
// configuration: a repository cannot make the extension read files elsewhere on the machine, which
// would then show in the Output and Problems panels). Runs in a trusted and in an untrusted session.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.timeout = 60000;

const EXCLUDE_MARK = '**/lrm-settings-read-mark/**';
let outsideDir;
let settingsFile;
let settingsBefore; // the workspace's settings.json before the test, or undefined

exports.before = async () => {
  await h.activate();
  settingsFile = path.join(h.workspaceDir(), '.vscode', 'settings.json');
  settingsBefore = fs.existsSync(settingsFile) ? fs.readFileSync(settingsFile, 'utf8') : undefined;
};

exports.after = async () => {
  if (settingsBefore === undefined) fs.rmSync(settingsFile, { force: true });
  else fs.writeFileSync(settingsFile, settingsBefore);
  if (outsideDir) fs.rmSync(outsideDir, { recursive: true, force: true });
};

/** A run log with one corrupt line: once the extension reads it, the line is a diagnostic on the log. */
function writeLog(file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const started = {
    v: 1,
    time: Date.now(),
    type: 'run_started',
    runId: 'settings-job',
    name: 'settings-job',
    engine: 'pytorch',
    backend: 'cpu',
    dataset: { name: 'custom', train: 100, validation: 0, test: 0, inputShape: [4], classes: 2 },
    layers: [{ name: 'fc', kind: 'dense', shape: [4, 2], params: 8 }],
    epochs: 1,
    stepsPerEpoch: 10,
    batchSize: 10,
    totalSteps: 10,
    target: 1,
    lagMargin: 0.2,
  };
  fs.writeFileSync(file, `${JSON.stringify(started)}\n{not json: the watcher read this file\n`);
}

const skipped = (file) => h.ourDiagnostics(vscode.Uri.file(file)).filter((d) => d.code === 'skipped-line');

exports.tests = {
  "the workspace's watch.folders is followed only in a trusted folder": async () => {
    outsideDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-settings-outside-'));
    const log = path.join(outsideDir, 'job', 'events.jsonl');
    writeLog(log);
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(
      settingsFile,
      JSON.stringify(
        {
          'layerRotation.watch.folders': [outsideDir],
          'layerRotation.watch.usePolling': true,
          'layerRotation.watch.exclude': ['**/node_modules/**', '**/.git/**', EXCLUDE_MARK],
        },
        null,
        2,
      ),
    );
    const effective = () => vscode.workspace.getConfiguration('layerRotation').get('watch.folders');
    if (vscode.workspace.isTrusted) {
      // The positive control: the same settings file does point the watcher there when trusted.
      await h.waitFor(() => skipped(log).length === 1, {
        timeout: 20000,
        what: "the log in the settings' outside folder to be read",
      });
    } else {
      // VS Code has read the file (its unrestricted watch.exclude applies), yet the effective
      // watch.folders stays the user's (empty), and the outside log is never read.
      await h.waitFor(
        () => vscode.workspace.getConfiguration('layerRotation').get('watch.exclude')?.includes(EXCLUDE_MARK),
        { timeout: 10000, what: "VS Code to read the workspace's settings.json" },
      );
      assert.deepEqual(effective(), [], 'the workspace value of a restricted setting applies in Restricted Mode');
      await h.sleep(4000);
      assert.equal(skipped(log).length, 0, 'the extension read a file outside the untrusted workspace');
    }
  },
};

// The pytorch engine's interpreter in the real extension host: with layerRotation.pythonPath
// set to an interpreter that does not exist, or to one without torch, Start Training on a
// pytorch config starts nothing and returns at once (the message says what to install; it
// never waits on a hung check), and creates no run folder.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.timeout = 60000;

let config;
let scratch;

function pytorchConfig() {
  const file = path.join(h.workspaceDir(), 'torch-check.layerrot.json');
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        engine: 'pytorch',
        dataset: { name: 'synthetic', samples: 200, testSamples: 50, inputShape: [8], classes: 2 },
        model: { type: 'mlp', hidden: [8] },
        optimizer: { type: 'sgd', learningRate: 0.1 },
        schedule: { epochs: 1, batchSize: 16 },
      },
      null,
      2,
    ),
  );
  return vscode.Uri.file(file);
}

function runFolders() {
  const runs = path.join(h.workspaceDir(), 'runs');
  return fs.existsSync(runs) ? fs.readdirSync(runs).filter((d) => d.startsWith('torch-check-')) : [];
}

async function withPython(python, f) {
  const settings = vscode.workspace.getConfiguration('layerRotation');
  await settings.update('pythonPath', python, vscode.ConfigurationTarget.Global);
  try {
    await f();
  } finally {
    await settings.update('pythonPath', undefined, vscode.ConfigurationTarget.Global);
  }
}

exports.before = async () => {
  await h.activate();
  config = pytorchConfig();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-python-'));
};

exports.after = () => {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.rmSync(config.fsPath, { force: true });
};

exports.tests = {
  'a missing interpreter: no run, and the command returns at once': async () => {
    await withPython(path.join(scratch, 'no-such-python'), async () => {
      const t0 = Date.now();
      const result = await h.within(
        vscode.commands.executeCommand('layerRotation.startTraining', config),
        15000,
        'startTraining with a missing Python',
      );
      assert.equal(result, undefined);
      assert.ok(Date.now() - t0 < 15000);
      assert.deepEqual(runFolders(), []);
    });
  },

  'an interpreter without torch: no run': async () => {
    // Debian's python3 with a torch that cannot be imported, as in a fresh virtualenv.
    const hide = path.join(scratch, 'hide', 'torch');
    fs.mkdirSync(hide, { recursive: true });
    fs.writeFileSync(path.join(hide, '__init__.py'), 'raise ImportError("No module named \'torch\'")\n');
    const wrapper = path.join(scratch, 'python-no-torch');
    fs.writeFileSync(wrapper, `#!/bin/sh\nPYTHONPATH=${path.join(scratch, 'hide')} exec /usr/bin/python3 "$@"\n`);
    fs.chmodSync(wrapper, 0o755);
    await withPython(wrapper, async () => {
      const result = await h.within(
        vscode.commands.executeCommand('layerRotation.startTraining', config),
        30000,
        'startTraining with a Python without torch',
      );
      assert.equal(result, undefined);
      assert.deepEqual(runFolders(), []);
    });
  },
};

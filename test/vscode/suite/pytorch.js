// The pytorch engine's interpreter in the real extension host: with layerRotation.pythonPath
// set to an interpreter that does not exist, or to one without torch, Start Training on a
// pytorch config starts nothing and returns at once (the message says what to install; it
// never waits on a hung check), and creates no run folder. engine auto (the default) with an
// interpreter without torch trains with tfjs, and with one that has torch with PyTorch, each run's
// log saying which and why.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.timeout = 120000;

let config;
let scratch;

/** A Python with torch, in the order every test here looks (ui/lib/python.mjs, README "Development"):
 * $LAYER_ROTATION_PYTHON, an active venv's (as .ci/run's), else Debian's. */
function pythonWithTorch() {
  if (process.env.LAYER_ROTATION_PYTHON) return process.env.LAYER_ROTATION_PYTHON;
  const venv = process.env.VIRTUAL_ENV && path.join(process.env.VIRTUAL_ENV, 'bin', 'python');
  return venv && fs.existsSync(venv) ? venv : '/usr/bin/python3';
}

function pytorchConfig(name = 'torch-check', engine = 'pytorch') {
  const file = path.join(h.workspaceDir(), `${name}.layerrot.json`);
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        ...(engine === 'auto' ? {} : { engine }),
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

/** The decision's log event and the engine of a finished auto run. */
async function autoRun(python) {
  const auto = pytorchConfig('auto-check', 'auto');
  try {
    let runId;
    await withPython(python, async () => {
      runId = await h.startTraining(auto);
    });
    const events = await h.waitForEvents(runId, 'run_finished', { timeout: 50000 });
    const finished = events.find((e) => e.type === 'run_finished');
    assert.equal(finished.status, 'completed', finished.reason);
    assert.equal(events[0].type, 'run_started');
    assert.deepEqual([events[1].type, events[1].level], ['log', 'info']);
    return { engine: events[0].engine, line: events[1].message };
  } finally {
    fs.rmSync(auto.fsPath, { force: true });
  }
}

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
    // engine auto with that interpreter: tfjs, saying why.
    const { engine, line } = await autoRun(wrapper);
    assert.equal(engine, 'tfjs');
    assert.equal(line.split(';')[0], `engine auto: tfjs (no Python with torch: tried ${wrapper} (no torch))`, line);
  },

  'a PyTorch run started beside a running training takes its share of the cores': async () => {
    // A tfjs run that trains for a while (stopped below), then a PyTorch one beside it.
    const longFile = path.join(h.workspaceDir(), 'beside-long.layerrot.json');
    fs.writeFileSync(
      longFile,
      JSON.stringify({
        engine: 'tfjs',
        dataset: { name: 'synthetic', samples: 2000, testSamples: 50, inputShape: [8], classes: 2 },
        model: { type: 'mlp', hidden: [8] },
        optimizer: { type: 'sgd', learningRate: 0.1 },
        schedule: { epochs: 500, batchSize: 16 },
      }),
    );
    const torchFile = pytorchConfig('beside-torch', 'pytorch');
    let long;
    try {
      long = await h.startTraining(vscode.Uri.file(longFile));
      await h.waitForEvents(long, 'run_started', { timeout: 30000 });
      let runId;
      await withPython(pythonWithTorch(), async () => {
        runId = await h.startTraining(torchFile);
      });
      const events = await h.waitForEvents(runId, 'run_finished', { timeout: 50000 });
      const threads = Math.max(1, Math.floor(os.availableParallelism() / 2));
      assert.match(events[0].backendDescription, new RegExp(`, ${threads} threads?$`), events[0].backendDescription);
    } finally {
      if (long) await h.within(vscode.commands.executeCommand('layerRotation.stopTraining', long), 15000, 'stop');
      fs.rmSync(longFile, { force: true });
      fs.rmSync(torchFile.fsPath, { force: true });
    }
  },

  'engine auto with an interpreter that has torch: PyTorch, saying so': async () => {
    const { engine, line } = await autoRun(pythonWithTorch());
    assert.equal(engine, 'pytorch');
    assert.match(
      line,
      /^engine auto: PyTorch \S+ in \S+ \(found torch; Python 3\.\d+\.\d+, .*\); set "engine": "tfjs" in the config to use tfjs$/,
    );
  },
};

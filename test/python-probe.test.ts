// Finding a Python with PyTorch: each failure (no such interpreter, no torch, no answer) is told
// apart and explained with what to install or set; the check never hangs. Real interpreters:
// Debian's python3 with torch, and wrappers of it that hide torch or never answer.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { spawnSync } from 'node:child_process';
import {
  bundledPythonPackageDir,
  defaultPythonCandidates,
  describePython,
  explainNoPython,
  findPython,
  probePython,
  SYSTEM_PYTHONS,
  TORCH_PIP,
} from '../src/launch/python';
import { tempDir } from './helpers/runs';
import { PYTHON_DIR, pythonInterpreter as pythonWithTorch } from './helpers/python';

function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`);
  fs.chmodSync(file, 0o755);
  return file;
}

test('a Python with torch is found, with its versions', async () => {
  const python = pythonWithTorch();
  const r = await probePython(python);
  assert.ok(r.ok, r.ok ? '' : r.message);
  assert.match(r.info.torch, /^\d+\.\d+/);
  assert.match(r.info.pythonVersion, /^3\.\d+/);
  assert.ok(path.isAbsolute(r.info.executable));
  assert.equal(typeof r.info.cuda, 'boolean');
});

test('a missing interpreter, one without torch and one that never answers are told apart, and the message says what to do', async () => {
  const dir = tempDir('probe');
  const python = pythonWithTorch();
  // An interpreter whose `import torch` fails, as in a fresh virtualenv.
  fs.mkdirSync(path.join(dir, 'hide', 'torch'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'hide', 'torch', '__init__.py'), 'raise ImportError("No module named \'torch\'")\n');
  const noTorch = script(dir, 'python-no-torch', `PYTHONPATH=${path.join(dir, 'hide')} exec ${python} "$@"`);
  const hangs = script(dir, 'python-hangs', 'exec sleep 60');

  const missing = await probePython(path.join(dir, 'no-such-python'));
  assert.equal(missing.ok, false);
  assert.equal(!missing.ok && missing.problem, 'missing');

  const started = Date.now();
  const slow = await probePython(hangs, 800);
  assert.equal(!slow.ok && slow.problem, 'timeout');
  assert.ok(Date.now() - started < 5000, 'the probe must give up, not hang');

  const found = await findPython([path.join(dir, 'no-such-python'), noTorch, hangs], 800);
  assert.equal(found.ok, false);
  if (found.ok) return;
  assert.deepEqual(
    found.results.map((r) => !r.ok && r.problem),
    ['missing', 'no-torch', 'timeout'],
  );
  assert.match(found.message, /needs PyTorch/);
  assert.match(found.message, /cannot import torch \(ImportError: No module named 'torch'\)/);
  assert.ok(found.message.includes(`${noTorch} -m pip install ${TORCH_PIP}`), found.message);
  assert.match(found.message, /Tried 3 interpreters:/);
  assert.match(found.message, /layerRotation\.pythonPath/);
  assert.ok(found.message.includes(hangs) && found.message.includes('did not answer'), found.message);

  // The first candidate that works wins, after the ones that do not.
  const ok = await findPython([noTorch, python]);
  assert.ok(ok.ok);

  assert.match(explainNoPython([missing]), /no Python was found/);
});

test('the layer_rotation package ships next to the CLI and the extension bundle', () => {
  const fromOut = bundledPythonPackageDir(path.join(__dirname, '..', 'src', 'engine'));
  assert.ok(fromOut && fs.existsSync(path.join(fromOut, 'layer_rotation', '__main__.py')), String(fromOut));
});

/** A python3 as a version manager's shim is: first on PATH, running an interpreter without torch. */
function shadowingPython3(dir: string, python: string): string {
  fs.mkdirSync(path.join(dir, 'hide', 'torch'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'hide', 'torch', '__init__.py'),
    "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n",
  );
  fs.mkdirSync(path.join(dir, 'shims'));
  return script(path.join(dir, 'shims'), 'python3', `PYTHONPATH=${path.join(dir, 'hide')} exec ${python} "$@"`);
}

test("the default candidates: PATH's python3 and python, then the system's python3, each interpreter once", () => {
  const dir = tempDir('candidates');
  const shim = shadowingPython3(dir, pythonWithTorch());
  const system = SYSTEM_PYTHONS.filter((p) => fs.existsSync(p));
  // The shim first, then the system's (those there), even though PATH has no /usr/bin.
  assert.deepEqual(defaultPythonCandidates(path.join(dir, 'shims'), 'linux', ''), [shim, ...system]);
  // A PATH whose python3 is the system's: probed once, not again as /usr/bin/python3.
  if (fs.existsSync('/usr/bin/python3')) {
    const fromUsrBin = defaultPythonCandidates('/usr/bin', 'linux', '');
    assert.equal(fromUsrBin.filter((p) => fs.realpathSync(p) === fs.realpathSync('/usr/bin/python3')).length, 1);
  }
  // Nothing anywhere: the names, so that the message says what was looked for.
  assert.deepEqual(
    defaultPythonCandidates(path.join(dir, 'empty'), 'linux', ''),
    system.length ? system : ['python3', 'python'],
  );
  assert.deepEqual(defaultPythonCandidates('', 'win32', ''), ['python', 'py']);
});

test('a python3 without torch shadowing the system one: the system one is found, and the messages say what was tried', async (t) => {
  const system = SYSTEM_PYTHONS.find((p) => fs.existsSync(p));
  if (!system || spawnSync(system, ['-c', 'import torch'], { timeout: 60_000 }).status !== 0) {
    t.skip(`no system python3 with torch here (${SYSTEM_PYTHONS.join(', ')})`);
    return;
  }
  const dir = tempDir('shadow');
  const shim = shadowingPython3(dir, system);
  const found = await findPython(defaultPythonCandidates(path.join(dir, 'shims'), 'linux', ''));
  assert.ok(found.ok, found.ok ? '' : found.message);
  assert.equal(found.info.python, system);
  assert.equal(found.tried.length, 1);
  assert.equal(found.tried[0].python, shim);
  assert.equal(found.tried[0].problem, 'no-torch');
  const said = describePython(found.info, found.tried);
  assert.ok(said.startsWith(`Python ${found.info.pythonVersion} (${found.info.executable}), torch `), said);
  assert.ok(
    said.includes(`(tried first: ${shim} (Python`) &&
      said.includes("cannot import torch (ModuleNotFoundError: No module named 'torch')"),
    said,
  );

  // The shim alone: the message names it, says what it lacks and how to install torch there.
  const none = await findPython([shim]);
  assert.equal(none.ok, false);
  if (none.ok) return;
  assert.match(none.message, /^The pytorch engine needs PyTorch: /);
  assert.ok(none.message.includes(`${shim} -m pip install ${TORCH_PIP}`), none.message);
  assert.match(none.message, /Tried one interpreter:\n {2}- \S+python3 \(Python 3\.\d+\.\d+, /);
});

test('the engine itself, in a Python without torch, says the same fix in one line and no traceback', () => {
  const dir = tempDir('notorch-cli');
  shadowingPython3(dir, pythonWithTorch());
  const config = path.join(dir, 'c.layerrot.json');
  fs.writeFileSync(config, '{}');
  const r = spawnSync(
    pythonWithTorch(),
    ['-m', 'layer_rotation', 'train', config, '--runs-dir', path.join(dir, 'runs')],
    {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: `${path.join(dir, 'hide')}${path.delimiter}${PYTHON_DIR}` },
      timeout: 60_000,
    },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /Traceback/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(r.stderr.includes(`-m pip install ${TORCH_PIP}`), r.stderr);
  assert.match(r.stderr, /layerRotation\.pythonPath/);
  assert.equal(fs.existsSync(path.join(dir, 'runs')), false);
});

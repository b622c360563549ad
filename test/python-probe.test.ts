// Finding a Python with PyTorch: each failure (no such interpreter, no torch, no answer) is told
// apart and explained with what to install or set; the check never hangs. Real interpreters:
// Debian's python3 with torch, and wrappers of it that hide torch or never answer.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { bundledPythonPackageDir, explainNoPython, findPython, probePython } from '../src/launch/python';
import { tempDir } from './helpers/runs';
import { pythonInterpreter as pythonWithTorch } from './helpers/python';

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
  assert.match(found.message, /-m pip install torch/);
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

// engine "auto" (issue 12): which engine trains a config, decided in one place
// (src/launch/engineChoice.ts); the probe for Python remembered (src/launch/probeCache.ts) and
// probed again when the interpreter's files change; an active venv as a candidate; and, through the
// CLI for real, auto training with PyTorch where a Python has torch and with tfjs where none has,
// saying which and why on stderr and in the run log.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { decideEngine, type EngineAsk, needsPython } from '../src/launch/engineChoice';
import { fileStore, memoryStore, PROBE_CACHE_FILE, ProbeCache } from '../src/launch/probeCache';
import { defaultPythonCandidates, findPython, type PythonSearch, SYSTEM_PYTHONS } from '../src/launch/python';
import { pythonInterpreter as pythonWithTorch, pytorchTestOptions, requireTorch } from './helpers/python';
import { onlyRun, runCli, strictEvents, syntheticConfig, tempDir, writeConfig } from './helpers/runs';

const MINUTE = 60_000;

function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`);
  fs.chmodSync(file, 0o755);
  return file;
}

/** An interpreter that counts its runs in `<dir>/probes` and is the real `python`. */
function countingPython(dir: string, python: string, name = 'python-counted'): { file: string; count(): number } {
  const counter = path.join(dir, `${name}.count`);
  const file = script(dir, name, `echo x >> ${counter}\nexec ${python} "$@"`);
  return { file, count: () => (fs.existsSync(counter) ? fs.readFileSync(counter, 'utf8').split('\n').length - 1 : 0) };
}

/** An interpreter whose `import torch` fails (torch hidden by a package of that name in `<dir>/hide`). */
function pythonWithoutTorch(dir: string, python: string): { file: string; hide: string } {
  const hide = path.join(dir, 'hide');
  fs.mkdirSync(path.join(hide, 'torch'), { recursive: true });
  fs.writeFileSync(
    path.join(hide, 'torch', '__init__.py'),
    "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n",
  );
  return { file: script(dir, 'python-no-torch', `PYTHONPATH=${hide} exec ${python} "$@"`), hide };
}

const cli: EngineAsk = { config: 'auto', overrideName: '--engine' };
const info = {
  python: 'python3',
  executable: '/venv/bin/python',
  pythonVersion: '3.11.7',
  torch: '2.13.0+cpu',
  cuda: false,
  cudaDevices: 0,
};
const found: PythonSearch = { ok: true, info, tried: [] };
const none: PythonSearch = {
  ok: false,
  message: 'The pytorch engine needs PyTorch: ...',
  results: [
    { ok: false, python: '/usr/bin/python3', problem: 'no-torch', message: '...' },
    { ok: false, python: '/nonexistent', problem: 'missing', message: '...' },
  ],
};

test('the decision: the override, else the config; auto is pytorch where torch is found, else tfjs, saying why', () => {
  assert.equal(needsPython({ config: 'tfjs' }), false);
  assert.equal(needsPython({ config: 'auto' }), true);
  assert.equal(needsPython({ config: 'tfjs', override: 'pytorch' }), true);
  assert.equal(needsPython({ config: 'pytorch', override: 'tfjs' }), false);
  assert.throws(() => decideEngine(cli), /needs the search for Python/);

  const auto = decideEngine(cli, found);
  assert.ok(auto.ok && auto.engine === 'pytorch' && auto.python === info);
  assert.equal(
    auto.line,
    'engine auto: PyTorch 2.13.0+cpu in /venv/bin/python (found torch; Python 3.11.7, no CUDA); set "engine": "tfjs" in the config to use tfjs',
  );
  const viaFlag = decideEngine({ ...cli, config: 'tfjs', override: 'auto' }, found);
  assert.ok(viaFlag.ok && viaFlag.line.endsWith('; pass --engine tfjs to use tfjs'), viaFlag.ok ? viaFlag.line : '');
  const viaSetting = decideEngine({ config: 'pytorch', override: 'auto', overrideName: 'layerRotation.engine' }, found);
  assert.ok(viaSetting.ok && viaSetting.line.endsWith('; set layerRotation.engine to "tfjs" to use tfjs'));

  const fallback = decideEngine(cli, none);
  assert.ok(fallback.ok && fallback.engine === 'tfjs');
  assert.match(
    fallback.line,
    /^engine auto: tfjs \(no Python with torch: tried \/usr\/bin\/python3 \(no torch\), \/nonexistent \(not found\)\); for the faster pytorch engine, install torch \(`python3 -m pip install torch==2\.13\.0 /,
  );

  // Named engines: pytorch without torch is an error (the search's message), never a silent tfjs.
  assert.deepEqual(decideEngine({ ...cli, config: 'pytorch' }, none), { ok: false, message: none.message });
  const named = decideEngine({ ...cli, config: 'pytorch' }, found);
  assert.ok(named.ok && named.engine === 'pytorch' && named.line.startsWith('engine pytorch: Python 3.11.7 (/venv'));
  assert.deepEqual(decideEngine({ ...cli, config: 'tfjs' }), {
    ok: true,
    engine: 'tfjs',
    line: 'engine tfjs (from the config\'s "engine")',
  });
  assert.deepEqual(decideEngine({ ...cli, config: 'pytorch', override: 'tfjs' }), {
    ok: true,
    engine: 'tfjs',
    line: 'engine tfjs (from --engine)',
  });
});

test('probes are remembered per interpreter, in a file, until its files change; what is not definite is asked again', async () => {
  const dir = tempDir('probe-cache');
  const store = path.join(dir, 'cache', PROBE_CACHE_FILE);
  const real = countingPython(dir, pythonWithTorch());
  const env = { PATH: process.env.PATH ?? '' };

  const first = await new ProbeCache(fileStore(store), env).probe(real.file);
  assert.ok(first.ok, first.ok ? '' : first.message);
  assert.equal(real.count(), 1);
  assert.ok(fs.existsSync(store));
  // Another process (a new cache on the same file): not probed again, the same answer.
  const again = new ProbeCache(fileStore(store), env);
  const second = await again.probe(real.file);
  assert.equal(real.count(), 1);
  assert.equal(again.probes, 0);
  assert.deepEqual(second, first);

  // The interpreter's file changes (a new python in its place): probed again.
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(real.file, later, later);
  await new ProbeCache(fileStore(store), env).probe(real.file);
  assert.equal(real.count(), 2);
  // Another PYTHONPATH is another key.
  await new ProbeCache(fileStore(store), { ...env, PYTHONPATH: dir }).probe(real.file);
  assert.equal(real.count(), 3);
  await new ProbeCache(fileStore(store), env).probe(real.file);
  assert.equal(real.count(), 3);

  // A corrupt cache file is no cache: probed again, and the file is whole again.
  fs.writeFileSync(store, '{"v":1,"entries":{"trunc');
  await new ProbeCache(fileStore(store), env).probe(real.file);
  assert.equal(real.count(), 4);
  assert.equal(JSON.parse(fs.readFileSync(store, 'utf8')).v, 1);

  // No torch is remembered too, until torch appears where it imports from (here: its hiding
  // package removed, which changes that folder).
  const bare = pythonWithoutTorch(dir, pythonWithTorch());
  const counted = countingPython(dir, bare.file, 'python-bare-counted');
  const cache = new ProbeCache(memoryStore(), env);
  const noTorch = await cache.probe(counted.file);
  assert.equal(!noTorch.ok && noTorch.problem, 'no-torch');
  assert.equal((await cache.probe(counted.file)).ok, false);
  assert.equal(counted.count(), 1);
  fs.rmSync(path.join(bare.hide, 'torch'), { recursive: true });
  const installed = await cache.probe(counted.file);
  assert.ok(installed.ok, installed.ok ? '' : installed.message);
  assert.equal(counted.count(), 2);

  // A missing interpreter is not remembered (nothing to key it by); findPython goes through the cache.
  const search = await findPython([path.join(dir, 'nope'), counted.file], 30_000, cache.probe);
  assert.ok(search.ok);
  assert.equal(search.tried[0].problem, 'missing');
  assert.equal(counted.count(), 2);
});

test('an active virtual environment is a candidate before PATH, and the system python3 stays one', (t) => {
  const system = SYSTEM_PYTHONS.find((p) => fs.existsSync(p));
  if (!system) {
    t.skip('no system python3');
    return;
  }
  const dir = tempDir('venv-candidate');
  const venv = path.join(dir, 'venv');
  const made = spawnSync(system, ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8', timeout: 60_000 });
  if (made.status !== 0) {
    t.skip(`${system} -m venv: ${made.stderr.trim()} (python3-venv missing)`);
    return;
  }
  const python = path.join(venv, 'bin', 'python');
  const candidates = defaultPythonCandidates(`${path.join(venv, 'bin')}${path.delimiter}/usr/bin`, 'linux', venv);
  // The venv's python (its python3 on PATH is the same interpreter), then the system's, which the
  // venv's links to but which imports from elsewhere.
  assert.deepEqual(candidates.slice(0, 2), [python, system]);
  assert.equal(candidates.filter((c) => c.startsWith(venv)).length, 1);
  assert.deepEqual(defaultPythonCandidates('/usr/bin', 'linux', path.join(dir, 'no-venv'))[0], '/usr/bin/python3');
});

function autoConfig(dir: string, name: string): string {
  const config = syntheticConfig({ name, schedule: { epochs: 1, batchSize: 32 } });
  delete config.engine; // engine auto, the default
  delete config.backend;
  return writeConfig(dir, name, config);
}

test(
  'layer-rotation train, engine auto: PyTorch with a Python that has torch, saying so; once found, not probed again',
  pytorchTestOptions(4 * MINUTE),
  async () => {
    requireTorch();
    const dir = tempDir('auto-torch');
    const file = autoConfig(dir, 'auto');
    const env = { XDG_CACHE_HOME: path.join(dir, 'cache'), LAYER_ROTATION_CACHE_DIR: '' };
    const python = countingPython(dir, pythonWithTorch());
    const train = (out: string) =>
      runCli(['train', file, '--python', python.file, '--max-steps', '3', '--out', path.join(dir, out)], {
        env,
        timeoutMs: 3 * MINUTE,
      });
    const r = await train('runs1');
    assert.equal(r.code, 0, r.stderr);
    const said =
      /^engine auto: PyTorch \S+ in (\S+) \(found torch; .*\); set "engine": "tfjs" in the config to use tfjs$/m.exec(
        r.stderr,
      );
    assert.ok(said, r.stderr);
    assert.equal(r.stderr.split(said[0]).length, 2, 'said once');
    const events = strictEvents(onlyRun(path.join(dir, 'runs1')));
    assert.equal(events[0].engine, 'pytorch');
    assert.deepEqual([events[1].type, events[1].level, events[1].message], ['log', 'info', said[0]]);
    assert.equal(python.count(), 1);
    assert.ok(fs.existsSync(path.join(dir, 'cache', 'layer-rotation', PROBE_CACHE_FILE)));

    // The second run reads the cache: no probe (the engine itself runs in the executable the probe named).
    const again = await train('runs2');
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.stderr.includes(said[0]), again.stderr);
    assert.equal(python.count(), 1);
    assert.equal(strictEvents(onlyRun(path.join(dir, 'runs2')))[0].engine, 'pytorch');
  },
);

test('layer-rotation train, engine auto without a Python that has torch: tfjs, saying why', {
  timeout: 3 * MINUTE,
}, async () => {
  const dir = tempDir('auto-tfjs');
  const file = autoConfig(dir, 'auto');
  const r = await runCli(
    ['train', file, '--python', '/nonexistent/python3', '--max-steps', '3', '--out', path.join(dir, 'runs')],
    {
      env: { LAYER_ROTATION_CACHE_DIR: path.join(dir, 'cache') },
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const said = /^engine auto: tfjs \(no Python with torch: tried \/nonexistent\/python3 \(not found\)\); .*$/m.exec(
    r.stderr,
  );
  assert.ok(said, r.stderr);
  const events = strictEvents(onlyRun(path.join(dir, 'runs')));
  assert.equal(events[0].engine, 'tfjs');
  assert.deepEqual([events[1].type, events[1].level, events[1].message], ['log', 'info', said[0]]);
  // --engine pytorch with that Python is an error that says what to do, and nothing runs.
  const named = await runCli([
    'train',
    file,
    '--engine',
    'pytorch',
    '--python',
    '/nonexistent/python3',
    '--out',
    path.join(dir, 'none'),
  ]);
  assert.equal(named.code, 1);
  assert.match(named.stderr, /The pytorch engine needs Python 3 with PyTorch/);
  assert.equal(fs.existsSync(path.join(dir, 'none')), false);
  const bad = await runCli(['train', file, '--engine', 'jax']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--engine must be one of auto, tfjs, pytorch, got 'jax'/);
});

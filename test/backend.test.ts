// Backend selection: the auto order and its fallbacks, explicit choices and their errors, the
// optional tfjs-node packages found through a resolver, and where wasm loads its binaries from.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, backendSummary, selectBackend } from '../src/engine/backend/select';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'layerrot-backend-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg, { paths: [process.cwd(), __dirname] });
    return true;
  } catch {
    return false;
  }
}
const nodeInstalled = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');
const skipIfNode = nodeInstalled ? 'tfjs-node is installed on this machine' : false;

/**
 * Writes a stand-in for @tensorflow/tfjs-node(-gpu) into `<dir>/node_modules`: like the real
 * one, loading it registers a 'tensorflow' backend in tfjs-core's global engine (here a cpu
 * backend under that name, with the cpu kernels). `body` replaces that behaviour when given.
 */
function writeFakePackage(dir: string, pkg: string, body?: string): string {
  const folder = path.join(dir, 'node_modules', ...pkg.split('/'));
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(
    path.join(folder, 'package.json'),
    JSON.stringify({ name: pkg, version: '9.9.9', main: 'index.js' }),
  );
  const core = JSON.stringify(require.resolve('@tensorflow/tfjs-core'));
  const cpu = JSON.stringify(require.resolve('@tensorflow/tfjs-backend-cpu'));
  const registers = `
const tf = require(${core});
const { MathBackendCPU } = require(${cpu});
for (const k of tf.getKernelsForBackend('cpu')) {
  if (!tf.getKernel(k.kernelName, 'tensorflow')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
}
tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3);
`;
  const file = path.join(folder, 'index.js');
  fs.writeFileSync(file, body ?? registers);
  return file;
}

/** Forgets a fake package and its backend, so that the next test starts clean. */
function unloadFake(file: string): void {
  delete require.cache[file];
  if (tf.findBackendFactory('tensorflow') != null) tf.removeBackend('tensorflow');
}

test('auto picks wasm here, after reporting both tfjs-node packages missing', { skip: skipIfNode }, async () => {
  const logs: string[] = [];
  const info = await selectBackend('auto', { log: (m) => logs.push(m) });
  assert.equal(info.name, 'wasm');
  assert.equal(info.tfBackend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(info.description, /^wasm \((SIMD|no SIMD), \d+ threads?\)$/);
  assert.deepEqual(
    info.tried.map((t) => t.name),
    ['node-gpu', 'node'],
  );
  assert.match(info.tried[0].reason, /@tensorflow\/tfjs-node-gpu is not installed/);
  assert.match(info.tried[1].reason, /@tensorflow\/tfjs-node is not installed/);
  assert.ok(logs.some((m) => m.includes('skipped')));
  assert.match(backendSummary(), /^wasm \(.*\), tfjs-core \d+\.\d+\.\d+; skipped node-gpu, node$/);
});

for (const name of ['node', 'node-gpu'] as const) {
  test(`explicit '${name}' throws a BackendError with the install hint when it is not installed`, {
    skip: skipIfNode,
  }, async () => {
    const pkg = name === 'node' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu';
    await assert.rejects(selectBackend(name), (err: unknown) => {
      assert.ok(err instanceof BackendError);
      assert.equal(err.backend, name);
      assert.ok(err.message.includes(`${pkg} is not installed: install it with \`npm install ${pkg}\``), err.message);
      assert.match(err.message, /choose backend wasm\/cpu/);
      return true;
    });
  });
}

for (const name of ['cpu', 'wasm'] as const) {
  test(`explicit '${name}' is used, and tf reports it`, async () => {
    const info = await selectBackend(name);
    assert.equal(info.name, name);
    assert.equal(info.tfBackend, name);
    assert.deepEqual(info.tried, []);
    assert.equal(tf.getBackend(), name);
    assert.equal(
      tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0]),
      5,
    );
    assert.equal(tf.getBackend(), name);
    assert.ok(backendSummary().startsWith(info.description));
  });
}

test('an installed tfjs-node next to the config is found, loaded and used', async () => {
  const dir = path.join(tmpRoot, 'with-node');
  const file = writeFakePackage(dir, '@tensorflow/tfjs-node');
  try {
    const info = await selectBackend('node', { configDir: dir });
    assert.equal(info.name, 'node');
    assert.equal(info.tfBackend, 'tensorflow');
    assert.equal(tf.getBackend(), 'tensorflow');
    assert.equal(info.description, '@tensorflow/tfjs-node 9.9.9 (TensorFlow C library, CPU)');
    assert.equal(
      tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]),
      6,
    );
  } finally {
    unloadFake(file);
  }
});

test('auto prefers tfjs-node-gpu, then tfjs-node, and records what it skipped', async () => {
  const dir = path.join(tmpRoot, 'auto-node');
  const file = writeFakePackage(dir, '@tensorflow/tfjs-node');
  try {
    const asked: string[] = [];
    const resolve = (id: string) => {
      asked.push(id);
      return id === '@tensorflow/tfjs-node' ? file : undefined;
    };
    const info = await selectBackend('auto', { resolve });
    assert.deepEqual(asked, ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    assert.equal(info.name, 'node');
    assert.equal(tf.getBackend(), 'tensorflow');
    assert.deepEqual(
      info.tried.map((t) => t.name),
      ['node-gpu'],
    );
  } finally {
    unloadFake(file);
  }
});

test('a tfjs-node that fails to load, or registers nothing, is reported; auto falls back', async () => {
  const broken = writeFakePackage(
    path.join(tmpRoot, 'broken'),
    '@tensorflow/tfjs-node-gpu',
    'throw new Error("libtensorflow.so: cannot open shared object file");',
  );
  const empty = writeFakePackage(path.join(tmpRoot, 'empty'), '@tensorflow/tfjs-node', 'module.exports = {};');
  const resolve = (id: string) => (id === '@tensorflow/tfjs-node-gpu' ? broken : empty);
  await assert.rejects(selectBackend('node-gpu', { resolve }), (err: unknown) => {
    assert.ok(err instanceof BackendError);
    assert.match(
      err.message,
      /@tensorflow\/tfjs-node-gpu is installed \(.*\) but failed to load: libtensorflow\.so: cannot open shared object file/,
    );
    return true;
  });
  await assert.rejects(selectBackend('node', { resolve }), /registered no 'tensorflow' backend/);
  const info = await selectBackend('auto', { resolve });
  assert.equal(info.name, 'wasm');
  assert.deepEqual(
    info.tried.map((t) => t.name),
    ['node-gpu', 'node'],
  );
  assert.match(info.tried[0].reason, /failed to load/);
  delete require.cache[broken];
  delete require.cache[empty];
});

test('an unknown backend name is a BackendError', async () => {
  await assert.rejects(
    selectBackend('gpu' as never),
    (err: unknown) => err instanceof BackendError && /unknown backend 'gpu'/.test(err.message),
  );
});

// wasm initializes once per process, so where it loads its binaries from is checked in children.
function selectInChild(
  name: string,
  wasmPath: string,
): {
  ok: boolean;
  name?: string;
  tfBackend?: string;
  tried?: { name: string; reason: string }[];
  error?: string;
  isBackendError?: boolean;
} {
  const backendModule = JSON.stringify(require.resolve('../src/engine/backend/select'));
  const script = `
const { selectBackend, BackendError } = require(${backendModule});
selectBackend(${JSON.stringify(name)}, { wasmPath: ${JSON.stringify(wasmPath)} }).then(
  (info) => process.stdout.write(JSON.stringify({ ok: true, ...info })),
  (err) => process.stdout.write(JSON.stringify({ ok: false, error: err.message, isBackendError: err instanceof BackendError })));
`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out);
}

test('wasm loads its .wasm files from opts.wasmPath', () => {
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const good = path.join(tmpRoot, 'wasm-good');
  const missing = path.join(tmpRoot, 'wasm-missing');
  const corrupt = path.join(tmpRoot, 'wasm-corrupt');
  for (const d of [good, missing, corrupt]) fs.mkdirSync(d, { recursive: true });
  for (const f of fs.readdirSync(dist).filter((f) => f.endsWith('.wasm'))) {
    fs.copyFileSync(path.join(dist, f), path.join(good, f));
    fs.writeFileSync(path.join(corrupt, f), 'not a wasm module');
  }

  const ok = selectInChild('wasm', good);
  assert.equal(ok.ok, true, ok.error);
  assert.equal(ok.tfBackend, 'wasm');

  const notFound = selectInChild('wasm', missing);
  assert.equal(notFound.ok, false);
  assert.equal(notFound.isBackendError, true);
  assert.match(notFound.error!, /tfjs-backend-wasm(-simd)?\.wasm not found in .*wasm-missing/);

  // The corrupt copies are what wasm tried to load: so the path was used. Auto then uses cpu.
  const bad = selectInChild('wasm', corrupt);
  assert.equal(bad.ok, false);
  assert.equal(bad.isBackendError, true);
  assert.match(bad.error!, /initializing the tfjs 'wasm' backend failed/);
  const fallback = selectInChild('auto', corrupt);
  assert.equal(fallback.name, 'cpu');
  assert.equal(fallback.tfBackend, 'cpu');
  assert.equal(fallback.tried?.at(-1)?.name, 'wasm');
});

// The esbuild bundles run on their own: dist/ copied to a folder without node_modules trains on
// wasm (its .wasm files and tfjs's gradients travel with it).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';
import { onlyRun, ROOT, runCli, strictEvents, syntheticConfig, tempDir, writeConfig } from './helpers/runs';

it('the bundled CLI and runner train on wasm from a folder of their own', async () => {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'pipe' });
  const dir = tempDir('bundle');
  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.cpSync(path.join(ROOT, 'dist'), app, { recursive: true, filter: (f) => !f.endsWith('.map') });
  const config = syntheticConfig();
  delete config.backend; // auto: must find wasm next to the bundle
  const file = writeConfig(dir, 'bundled', config);
  const r = await runCli(['train', file, '--max-steps', '20', '--out', path.join(dir, 'runs')], {
    cli: path.join(app, 'cli.js'),
  });
  assert.equal(r.code, 0, r.stderr);
  const events = strictEvents(onlyRun(path.join(dir, 'runs')));
  assert.equal(events[0].backend, 'wasm');
  assert.equal(events[events.length - 1].status, 'completed');
});

it('after npm ci in a fresh clone, `npx layer-rotation` works (npm runs the prepare script, which bundles dist/)', () => {
  // A fresh clone: the repository's tracked files, without dist/ or out/, and its node_modules.
  const dir = tempDir('fresh-clone');
  const clone = path.join(dir, 'clone');
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of tracked) {
    if (!fs.existsSync(path.join(ROOT, f))) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(clone, f));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
  assert.equal(fs.existsSync(path.join(clone, 'dist')), false);
  // What `npm ci` runs once the packages are in (npm's prepare lifecycle script).
  const pkg = JSON.parse(fs.readFileSync(path.join(clone, 'package.json'), 'utf8'));
  assert.ok(pkg.scripts.prepare, 'package.json has no prepare script: npm ci would not build the CLI');
  execFileSync('npm', ['run', 'prepare'], { cwd: clone, stdio: 'pipe' });
  assert.ok(fs.existsSync(path.join(clone, 'dist', 'cli.js')), 'prepare did not bundle dist/cli.js');
  // The README's command, as a user types it: no "not built yet", the config checked.
  const r = spawnSync('npx', ['--no-install', 'layer-rotation', 'check', 'examples/mnist-default.layerrot.json'], {
    cwd: clone,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /not built/);
  assert.match(r.stdout, /mnist-default/);
});

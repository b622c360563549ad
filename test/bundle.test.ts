// The esbuild bundles run on their own: dist/ copied to a folder without node_modules trains on
// wasm (its .wasm files and tfjs's gradients travel with it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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

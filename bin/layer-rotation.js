#!/usr/bin/env node
// The `layer-rotation` command: runs the newest build, the esbuild bundle (npm run build, or npm ci's
// prepare script) or tsc's output (npm run compile). With neither (npm ci --ignore-scripts), it
// bundles dist/ first (node scripts/build.mjs: a few seconds, once).

const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
const candidates = [path.join(root, 'dist', 'cli.js'), path.join(root, 'out', 'src', 'cli.js')];
const newest = () =>
  candidates.filter((f) => fs.existsSync(f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
let entry = newest();
const build = path.join(root, 'scripts', 'build.mjs');
if (!entry && fs.existsSync(build)) {
  process.stderr.write('layer-rotation: not built yet: building dist/ once (node scripts/build.mjs)...\n');
  // stdout too goes to stderr: this command's stdout is its result.
  require('node:child_process').spawnSync(process.execPath, [build], { cwd: root, stdio: ['ignore', 2, 2] });
  entry = newest();
}
if (!entry) {
  process.stderr.write(`layer-rotation: not built, and building failed: run \`npm ci && npm run build\` in ${root}\n`);
  process.exit(1);
}
require(entry)
  .main(process.argv.slice(2))
  .then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`layer-rotation: ${e?.message ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );

#!/usr/bin/env node
// The `layer-rotation` command: runs the newest build, the esbuild bundle (npm run build) or
// tsc's output (npm run compile).

const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
const candidates = [path.join(root, 'dist', 'cli.js'), path.join(root, 'out', 'src', 'cli.js')];
const built = candidates.filter((f) => fs.existsSync(f));
const entry = built.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
if (!entry) {
  process.stderr.write(`layer-rotation: not built yet: run \`npm run build\` in ${root}\n`);
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

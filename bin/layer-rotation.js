#!/usr/bin/env node
// The `layer-rotation` command: runs the esbuild bundle when built (npm run build), else tsc's output.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const candidates = [path.join(root, 'dist', 'cli.js'), path.join(root, 'out', 'src', 'cli.js')];
const entry = candidates.find((f) => fs.existsSync(f));
if (!entry) {
  process.stderr.write('layer-rotation: not built yet: run `npm run build` in ' + root + '\n');
  process.exit(1);
}
require(entry)
  .main(process.argv.slice(2))
  .then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write('layer-rotation: ' + (e && e.message ? e.message : String(e)) + '\n');
      process.exitCode = 1;
    },
  );

// Registers the gradient of every tfjs op. tfjs-core's CommonJS build registers none, and its
// ES module that does cannot be loaded by Node as it is; the build bundles that module as
// tfjs-gradients.js next to this file's compiled output and next to the esbuild bundles
// (scripts/gradients.mjs).
import * as fs from 'node:fs';
import * as path from 'node:path';

let registered = false;

export function registerGradients(): void {
  if (registered) return;
  const file = path.join(__dirname, 'tfjs-gradients.js');
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: build the project first (npm run compile, or npm run build)`);
  }
  require(file);
  registered = true;
}

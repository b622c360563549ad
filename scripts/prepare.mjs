// `npm ci` / `npm install` in a clone of this repository (npm's prepare script): bundles dist/ with
// esbuild (node scripts/build.mjs, a few seconds, no tsc) so that `npx layer-rotation` works right
// away. Without esbuild (npm ci --omit=dev) it says so and does nothing: the install still succeeds.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
try {
  createRequire(import.meta.url).resolve('esbuild');
} catch {
  console.log('layer-rotation: esbuild is not installed (dev dependencies left out): dist/ not built');
  process.exit(0);
}
const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);

// Bundles the extension, the CLI and the training runner with esbuild into dist/, next to the
// wasm backend's .wasm files (which tfjs loads from the bundle's folder at run time), and the
// monitor webview (scripts/build-webview.mjs).
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildGradients } from './gradients.mjs';
import { buildWebview } from './build-webview.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(new URL(import.meta.url).pathname), '..');
const dist = join(root, 'dist');
mkdirSync(dist, { recursive: true });

const production = process.argv.includes('--production');
await esbuild.build({
  entryPoints: {
    extension: join(root, 'src/extension.ts'),
    cli: join(root, 'src/cli.ts'),
    runner: join(root, 'src/launch/runner.ts'),
    configCheck: join(root, 'src/engine/config/checkWorker.ts'),
  },
  outdir: dist,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  // Native backends are optional: loaded at run time when the user has installed them.
  external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  // jsonc-parser's default (UMD) build has requires esbuild cannot follow: prefer its ES module build.
  mainFields: ['module', 'main'],
  logLevel: 'warning',
});

const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of readdirSync(wasmDir)) if (f.endsWith('.wasm')) copyFileSync(join(wasmDir, f), join(dist, f));
await buildGradients([dist]);
await buildWebview(dist, { production });
console.log(`built ${dist}`);

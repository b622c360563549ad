// Bundles the monitor webview (webview/src/main.ts, uPlot, the @vscode-elements controls, and
// their CSS) with esbuild into OUT_DIR/webview.js and OUT_DIR/webview.css (default: dist/), and
// the comparison tab (webview/compare/main.ts) into OUT_DIR/compare.js and compare.css.
//   node scripts/build-webview.mjs [OUT_DIR] [--production]
import * as esbuild from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Builds dist/webview.js and dist/webview.css (or into `outDir`). Returns the two paths.
 * @param {string} [outDir]
 * @param {{ production?: boolean }} [opts]
 */
export async function buildWebview(outDir = join(root, 'dist'), opts = {}) {
  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true });
  const production = opts.production ?? false;
  await esbuild.build({
    entryPoints: {
      webview: join(root, 'webview/src/main.ts'),
      // The comparison tab: the same styles and theme variables, its own page script.
      compare: join(root, 'webview/compare/main.ts'),
    },
    outdir: dir,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['chrome120'],
    sourcemap: production ? false : 'linked',
    minify: production,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': production ? '"production"' : '"development"' },
  });
  return {
    script: join(dir, 'webview.js'),
    style: join(dir, 'webview.css'),
    compareScript: join(dir, 'compare.js'),
    compareStyle: join(dir, 'compare.css'),
  };
}

// Run as a script. (No top-level await: CommonJS code may require() this module.)
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const out = args.find((a) => !a.startsWith('--'));
  buildWebview(out, { production: args.includes('--production') }).then(
    ({ script, style }) => console.log(`built ${script} and ${style}`),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

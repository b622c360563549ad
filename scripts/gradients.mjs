// tfjs-core's CommonJS build (the one Node loads) registers no gradient functions, and the ES
// module that registers them cannot be loaded by Node (its imports have no file extensions).
// This bundles that module, with the parts of tfjs-core it uses, to CommonJS as
// tfjs-gradients.js in the given folders. tfjs-core keeps its engine and its kernel and
// gradient registries on the global object, so the gradients it registers are the ones the
// program's own tfjs-core uses.
import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
export async function buildGradients(outDirs) {
  const result = await esbuild.build({
    entryPoints: [require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js')],
    bundle: true,
    write: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
  });
  const { writeFileSync, mkdirSync } = await import('node:fs');
  for (const dir of outDirs) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tfjs-gradients.js'), result.outputFiles[0].contents);
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) await buildGradients(process.argv.slice(2));

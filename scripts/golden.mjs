// Writes test/fixtures/golden.json from the TS validator (compile first: npm run compile): per config, the
// config with its defaults filled in and its kernel layers. Run only for an intended change of either.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
process.chdir(new URL('..', import.meta.url).pathname);
const fs = require('node:fs');
const path = require('node:path');
const root = process.cwd();
const { loadConfigFile, kernelLayerNames, layerSourcePaths } = require(
  path.join(root, 'out/src/engine/config/validate.js'),
);
const files = [
  ...fs
    .readdirSync('examples')
    .filter((f) => f.endsWith('.layerrot.json'))
    .map((f) => `examples/${f}`),
  ...fs.readdirSync('test/fixtures/configs').map((f) => `test/fixtures/configs/${f}`),
  ...['lagging-synthetic', 'lagging', 'long', 'valid'].map((n) => `test/vscode/fixtures/configs/${n}.layerrot.json`),
];
const configs = files.map((file) => {
  const c = loadConfigFile(path.join(root, file));
  if (!c.ok) throw new Error(`${file}: ${JSON.stringify(c.errors)}`);
  const names = kernelLayerNames(c.config.model);
  const paths = layerSourcePaths(c.config.model);
  return { file, resolved: c.config, layers: names.map((n, i) => ({ name: n, configPath: paths[i] })) };
});
const out = {
  about:
    'For each config: the config with every default filled in and its kernel layers (name and the JSON path of the config node defining it), in forward order. Both engines are checked against this file (test/golden.test.ts, python/tests/test_golden.py); regenerate with node scripts/golden.mjs only for an intended change.',
  configs,
};
fs.writeFileSync('test/fixtures/golden.json', `${JSON.stringify(out, null, 1)}\n`);
console.log(configs.map((c) => `${c.file}: ${c.layers.length} layers`).join('\n'));

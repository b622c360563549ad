// The README's main job: builds the extension (.vsix), installs it into a local code-server
// (VS Code in the browser, from test/vscode/) on 127.0.0.1, opens the examples workspace there
// and prints the URL. Ctrl-C stops code-server and every process it started.
//   bash scripts/serve.sh [PORT]     (installs what is missing first)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRunDir, startCodeServer, teardown } from '../test/vscode/harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.argv[2] ?? process.env.PORT_LRM ?? 8321);
const vsix = readdirSync(root)
  .filter((f) => f.endsWith('.vsix'))
  .map((f) => join(root, f))
  .sort()
  .pop();
if (!vsix) throw new Error('no .vsix: run `npm run package` first (scripts/serve.sh does)');

const dirs = createRunDir('serve');
const codeServer = join(root, 'test', 'vscode', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
execFileSync(
  process.execPath,
  [codeServer, '--install-extension', vsix, '--extensions-dir', dirs.extensions, '--user-data-dir', dirs.userData],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      HOME: dirs.home,
      XDG_CONFIG_HOME: dirs.xdgConfig,
      XDG_DATA_HOME: dirs.xdgData,
      EXTENSIONS_GALLERY: '{}',
    },
  },
);
const server = await startCodeServer(dirs, { port, settings: { 'workbench.startupEditor': 'none' } });
const workspace = join(root, 'examples');
console.log(
  `\nLayer Rotation Monitor is running in VS Code at:\n\n  ${server.base}/?folder=${encodeURIComponent(workspace)}\n`,
);
console.log('Open a *.layerrot.json (mnist-default is the default example) and press "Train" above it, or run');
console.log('"Layer Rotation: Start Training" from the command palette (F1). Ctrl-C stops the server.');
const stop = async () => {
  await teardown({ server, dirs }).catch(() => {});
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
if (!existsSync(workspace)) throw new Error(`${workspace} is missing`);
await new Promise(() => {});

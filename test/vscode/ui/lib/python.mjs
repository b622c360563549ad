// The Python a UI test runs outside scripts with (not a test module: run-tests.mjs only runs the
// .mjs files directly in ui/).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../harness.mjs';

/** The environment a script of this repository's Python package runs in: python/ importable
 * first (before an installed copy), Keras on its torch backend, output unbuffered. */
export function pythonEnv() {
  return {
    ...process.env,
    PYTHONPATH: join(repoRoot, 'python'),
    KERAS_BACKEND: 'torch',
    PYTHONUNBUFFERED: '1',
  };
}

/**
 * The first interpreter that imports every one of `modules`, in the order every test of this
 * repository looks (README, "Tests"; test/helpers/python.ts): $LAYER_ROTATION_PYTHON, an active
 * venv's (VIRTUAL_ENV, as .ci/run's), the repository's .venv, Debian's /usr/bin/python3, python3 on PATH. Returns { python, versions } (e.g.
 * "keras 3.15.1, lightning 2.6.6"), or { python: null, why } saying what each one lacked.
 */
export function pythonWith(modules) {
  const candidates = [
    process.env.LAYER_ROTATION_PYTHON,
    process.env.VIRTUAL_ENV && join(process.env.VIRTUAL_ENV, 'bin', 'python'),
    join(repoRoot, '.venv', 'bin', 'python'),
    '/usr/bin/python3',
    'python3',
  ].filter((p, i, all) => p && all.indexOf(p) === i && (p === 'python3' || existsSync(p)));
  const probe = `import importlib\nfor m in ${JSON.stringify(modules)}:\n    print(m, getattr(importlib.import_module(m), "__version__", "?"))`;
  const tried = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', probe], { env: pythonEnv(), encoding: 'utf8', timeout: 120000 });
    if (r.status === 0) return { python, versions: r.stdout.trim().split('\n').join(', ') };
    const missing = /No module named '([^']+)'/.exec(r.stderr ?? '')?.[1];
    tried.push(
      `${python} (${missing ? `no ${missing}` : (r.error?.message ?? r.stderr?.trim().split('\n').pop() ?? `exit ${r.status}`)})`,
    );
  }
  return { python: null, why: `no Python with ${modules.join(', ')}: tried ${tried.join('; ')}` };
}

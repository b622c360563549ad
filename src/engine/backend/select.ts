// Chooses and initializes the tfjs backend that trains the model.
//
// 'auto' tries, in order: @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node (optional packages the
// user installs; each registers the 'tensorflow' backend in tfjs-core's global engine when
// required), 'wasm' (with the training kernels of ./wasm-kernels) and 'cpu'. An explicit name
// that cannot be used throws a BackendError that says what failed and what to do.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs-core';
// A named import, not a bare one: the package's "sideEffects" list omits its Node build, so a
// bundler would drop `import '@tensorflow/tfjs-backend-cpu'` (and with it the cpu backend).
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendName } from '../config/types';
import { BACKEND_NAMES } from './names';
import { registerWasmTrainingKernels } from './wasm-kernels';

export type ConcreteBackendName = Exclude<BackendName, 'auto'>;

export interface BackendInfo {
  /** The config name of the backend in use. */
  name: ConcreteBackendName;
  /** tf.getBackend() after setting it: 'tensorflow', 'wasm' or 'cpu'. */
  tfBackend: string;
  /** For people, e.g. "wasm (SIMD, 1 thread)". */
  description: string;
  /** Backends skipped by 'auto' before this one, with why. Empty for an explicit name. */
  tried: { name: ConcreteBackendName; reason: string }[];
}

export interface SelectBackendOptions {
  /** Folder holding tfjs-backend-wasm's .wasm files. Default: the package's dist folder when it can be resolved, else this module's folder (next to the bundle, when bundled). */
  wasmPath?: string;
  log?: (msg: string) => void;
  /** Folder of the training config: the optional tfjs-node packages are looked up from there too. */
  configDir?: string;
  /**
   * Finds an optional package: returns the file `require` would load for `id`, or undefined
   * when it is not installed. Default: require.resolve from `configDir`, the working directory
   * and this extension's own folder.
   */
  resolve?: (id: string) => string | undefined;
}

/** A backend that was asked for explicitly cannot be used. */
export class BackendError extends Error {
  constructor(
    readonly backend: ConcreteBackendName,
    message: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

const AUTO_ORDER = BACKEND_NAMES.filter((b): b is ConcreteBackendName => b !== 'auto');

const NODE_PACKAGES: Record<'node' | 'node-gpu', string> = {
  node: '@tensorflow/tfjs-node',
  'node-gpu': '@tensorflow/tfjs-node-gpu',
};

/** The tfjs backend that @tensorflow/tfjs-node and -node-gpu register. */
const TENSORFLOW = 'tensorflow';

let selected: BackendInfo | undefined;

export async function selectBackend(name: BackendName, opts: SelectBackendOptions = {}): Promise<BackendInfo> {
  const log = opts.log ?? (() => undefined);
  if (name !== 'auto') {
    if (!AUTO_ORDER.includes(name)) {
      throw new BackendError(name, `unknown backend '${name}': choose auto, node-gpu, node, wasm or cpu`);
    }
    const description = await activate(name, opts);
    return remember({ name, tfBackend: tf.getBackend(), description, tried: [] }, log);
  }
  const tried: BackendInfo['tried'] = [];
  for (const candidate of AUTO_ORDER) {
    try {
      const description = await activate(candidate, opts);
      return remember({ name: candidate, tfBackend: tf.getBackend(), description, tried }, log);
    } catch (err) {
      const reason = err instanceof BackendError ? err.message : `${candidate}: ${errorText(err)}`;
      tried.push({ name: candidate, reason });
      log(`backend ${candidate} skipped: ${reason}`);
    }
  }
  // Unreachable in practice: the cpu backend ships with tfjs.
  throw new BackendError('cpu', `no tfjs backend could be initialized: ${tried.map((t) => t.reason).join('; ')}`);
}

/** One line about the backend in use, for the run-started event and logs. */
export function backendSummary(): string {
  const info = selected;
  const current = tf.getBackend();
  if (!info || info.tfBackend !== current) {
    return `${current ?? 'no backend'} (tfjs-core ${tf.version_core})`;
  }
  const skipped = info.tried.length ? `; skipped ${info.tried.map((t) => t.name).join(', ')}` : '';
  return `${info.description}, tfjs-core ${tf.version_core}${skipped}`;
}

function remember(info: BackendInfo, log: (msg: string) => void): BackendInfo {
  selected = info;
  log(`backend: ${info.description}`);
  return info;
}

/** Makes `name` the active tfjs backend, or throws a BackendError. Returns its description. */
async function activate(name: ConcreteBackendName, opts: SelectBackendOptions): Promise<string> {
  switch (name) {
    case 'node':
    case 'node-gpu':
      return activateNode(name, opts);
    case 'wasm':
      return activateWasm(opts);
    case 'cpu':
      await setTfBackend('cpu', 'cpu');
      return `cpu (plain JavaScript, tfjs-backend-cpu ${version_cpu}; slow, for small models)`;
  }
}

async function activateNode(name: 'node' | 'node-gpu', opts: SelectBackendOptions): Promise<string> {
  const pkg = NODE_PACKAGES[name];
  const hint = `install it with \`npm install ${pkg}\` next to the training config (or in the workspace folder), or choose backend wasm/cpu`;
  const resolve = opts.resolve ?? defaultResolver(opts.configDir);
  const file = resolve(pkg);
  if (file === undefined) throw new BackendError(name, `${pkg} is not installed: ${hint}`);
  try {
    // A runtime require of a resolved path: bundlers leave it alone, and the package stays optional.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(file);
  } catch (err) {
    throw new BackendError(
      name,
      `${pkg} is installed (${file}) but failed to load: ${errorText(err)}; reinstall it, or choose backend wasm/cpu`,
    );
  }
  if (tf.findBackendFactory(TENSORFLOW) == null) {
    throw new BackendError(
      name,
      `${pkg} loaded from ${file} but registered no '${TENSORFLOW}' backend with this tfjs-core; ${hint}`,
    );
  }
  await setTfBackend(name, TENSORFLOW);
  const version = packageVersion(file, pkg);
  const device = name === 'node-gpu' ? 'CUDA GPU' : 'CPU';
  return `${pkg}${version ? ` ${version}` : ''} (TensorFlow C library, ${device})`;
}

async function activateWasm(opts: SelectBackendOptions): Promise<string> {
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const file = simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  let folder: string | undefined;
  if (!wasmInitialized()) {
    // Bundled without node_modules, the .wasm files are expected next to the bundle, which is
    // this module's folder then.
    folder = opts.wasmPath ?? wasmPackageDistFolder() ?? __dirname;
    if (!fs.existsSync(path.join(folder, file))) {
      throw new BackendError(
        'wasm',
        `${file} not found in ${folder}: copy the .wasm files of @tensorflow/tfjs-backend-wasm/dist there, or choose backend cpu`,
      );
    }
    try {
      // tfjs-backend-wasm appends the file name to this prefix as is.
      setWasmPaths(folder.endsWith('/') || folder.endsWith(path.sep) ? folder : folder + path.sep);
    } catch (err) {
      // It refuses once an earlier initialization failed in this process.
      throw new BackendError('wasm', `cannot load the wasm backend from ${folder}: ${errorText(err)}`);
    }
  }
  registerWasmTrainingKernels();
  lessInlining();
  try {
    await setTfBackend('wasm', 'wasm');
  } catch (err) {
    throw new BackendError('wasm', folder ? `${errorText(err)}, loading ${file} from ${folder}` : errorText(err));
  }
  const threads = getThreadsCount();
  return `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`;
}

/**
 * On wasm the arithmetic is in wasm and the JavaScript is tfjs's op dispatch, which V8 keeps
 * optimizing over a runner's first several runs (a warm runner's sweep points): with less inlined
 * into each function it optimizes (100 bytes of bytecode rather than V8's 920), those compilations
 * take about a third less CPU time, on threads beside the run's, and steps run as fast (a sweep of
 * 20 short points with --jobs 2: 5% less wall time; bench/sweep.ts). A V8 option that this V8
 * does not know is ignored.
 */
function lessInlining(): void {
  v8.setFlagsFromString('--max-inlined-bytecode-size-cumulative=100');
}

/**
 * tf.setBackend reports failure by returning false (and logging), and ops would then silently
 * run on the best other backend: check both.
 */
async function setTfBackend(name: ConcreteBackendName, tfName: string): Promise<void> {
  let ok: boolean;
  try {
    // Not followed by tf.ready(): after a failure that would quietly set another backend.
    ok = await tf.setBackend(tfName);
  } catch (err) {
    throw new BackendError(name, `initializing the tfjs '${tfName}' backend failed: ${errorText(err)}`);
  }
  if (!ok)
    throw new BackendError(
      name,
      `initializing the tfjs '${tfName}' backend failed (tfjs logged the cause as a warning)`,
    );
  const actual = tf.getBackend();
  if (actual !== tfName) {
    throw new BackendError(name, `asked tfjs for the '${tfName}' backend but it is using '${actual}'`);
  }
}

function wasmInitialized(): boolean {
  // Engine.registry holds the backends that finished initializing; findBackend() would start
  // initializing wasm instead of answering.
  return tf.engine().registry.wasm != null;
}

function wasmPackageDistFolder(): string | undefined {
  try {
    return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

function defaultResolver(configDir: string | undefined): (id: string) => string | undefined {
  const paths = [configDir, process.cwd(), __dirname].filter((p): p is string => p !== undefined);
  return (id) => {
    try {
      return require.resolve(id, { paths });
    } catch {
      return undefined;
    }
  };
}

/** The version in the package.json of `pkg` that contains `file`, if found. */
function packageVersion(file: string, pkg: string): string | undefined {
  let dir = path.dirname(file);
  for (;;) {
    try {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (json.name === pkg) return json.version;
    } catch {
      // no package.json here: keep going up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

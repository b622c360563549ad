// Finding a Python interpreter that has PyTorch, for the pytorch engine: try each candidate
// (the setting, the Python extension's interpreter, an active virtual environment's python,
// python3 and python on PATH, then the system's python3) with a short probe that imports torch, and say plainly which were tried and what is
// missing when none works. Never hangs: a probe that does not answer in time is killed and counts
// as a failure.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PythonInfo {
  /** The interpreter as given (a path or a command on PATH). */
  python: string;
  /** sys.executable: the interpreter's real path. */
  executable: string;
  pythonVersion: string;
  torch: string;
  cuda: boolean;
  cudaDevices: number;
  /** Files whose modification times tell whether the probe still holds (src/launch/probeCache.ts). */
  stamps?: string[];
}

export type ProbeResult =
  | { ok: true; info: PythonInfo }
  | {
      ok: false;
      python: string;
      problem: 'missing' | 'no-torch' | 'timeout' | 'error';
      message: string;
      /** As PythonInfo's, for a Python without torch. */
      stamps?: string[];
    };

export type FailedProbe = Extract<ProbeResult, { ok: false }>;

export const PROBE_TIMEOUT_MS = 30000;

// Prints one JSON line. torch's import is what takes time (1-5 s); nothing else is loaded. The
// stamps: the interpreter, the folders it imports from (installing or removing torch changes one
// of them; the user's site folder, even if not there yet) and torch's __init__.py (an upgrade).
const PROBE_CODE = [
  'import json, os, sys',
  'info = {"executable": sys.executable, "pythonVersion": sys.version.split()[0]}',
  'stamps = [sys.executable] + [p for p in sys.path if p and os.path.isabs(p)]',
  'try:',
  '    import site',
  '    stamps.append(site.getusersitepackages())',
  'except Exception:',
  '    pass',
  'try:',
  '    import torch',
  '    info.update(torch=torch.__version__, cuda=bool(torch.cuda.is_available()), cudaDevices=torch.cuda.device_count())',
  '    stamps.append(torch.__file__)',
  'except Exception as e:',
  '    info["torchError"] = "%s: %s" % (type(e).__name__, e)',
  'info["stamps"] = [s for s in stamps if isinstance(s, str)]',
  'print(json.dumps(info))',
].join('\n');

/** Runs the probe in one interpreter. */
export function probePython(python: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(
      python,
      ['-c', PROBE_CODE],
      { timeout: timeoutMs, killSignal: 'SIGKILL', windowsHide: true },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        if (e?.code === 'ENOENT') {
          resolve({ ok: false, python, problem: 'missing', message: `${python} was not found` });
          return;
        }
        if (e?.killed) {
          resolve({
            ok: false,
            python,
            problem: 'timeout',
            message: `${python} did not answer within ${Math.round(timeoutMs / 1000)} s (importing torch)`,
          });
          return;
        }
        const line = stdout.trim().split('\n').pop() ?? '';
        let info: Record<string, unknown>;
        try {
          info = JSON.parse(line);
        } catch {
          const why = (stderr || stdout || e?.message || '').trim().split('\n').pop();
          resolve({
            ok: false,
            python,
            problem: 'error',
            message: `${python} could not run the check${why ? `: ${why}` : ''}`,
          });
          return;
        }
        if (typeof info.torch !== 'string') {
          resolve({
            ok: false,
            python,
            problem: 'no-torch',
            message: `${python} (Python ${info.pythonVersion}, ${info.executable}) cannot import torch (${info.torchError ?? 'unknown error'})`,
            stamps: stampsOf(info),
          });
          return;
        }
        resolve({
          ok: true,
          info: {
            python,
            executable: String(info.executable),
            pythonVersion: String(info.pythonVersion),
            torch: info.torch,
            cuda: info.cuda === true,
            cudaDevices: Number(info.cudaDevices) || 0,
            stamps: stampsOf(info),
          },
        });
      },
    );
  });
}

function stampsOf(info: Record<string, unknown>): string[] | undefined {
  const s = info.stamps;
  return Array.isArray(s) && s.every((f) => typeof f === 'string') ? s : undefined;
}

/**
 * "Python 3.11.2 (/usr/bin/python3), torch 1.13.0, no CUDA": what the pytorch engine will run on;
 * with the candidates tried before it, why each was passed over.
 */
export function describePython(info: PythonInfo, tried: readonly ProbeResult[] = []): string {
  const passed = tried.filter((r): r is FailedProbe => !r.ok).map((r) => r.message);
  return `Python ${info.pythonVersion} (${info.executable}), torch ${info.torch}${info.cuda ? `, ${info.cudaDevices} CUDA device(s)` : ', no CUDA'}${passed.length ? ` (tried first: ${passed.join('; ')})` : ''}`;
}

/** How to get torch where it is missing: the CPU wheel (python/layer_rotation/__main__.py's TORCH_PIP says the same). */
export const TORCH_PIP = 'torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu';

/**
 * The system's interpreters, tried after those on PATH: a version manager's python3 (pyenv, asdf,
 * conda) first on PATH may lack torch while the system's has it (e.g. Debian's python3-torch).
 */
export const SYSTEM_PYTHONS = ['/usr/bin/python3', '/usr/local/bin/python3'];

/** The first executable file `name` in the folders of a PATH value. */
export function onPath(name: string, pathEnv: string): string | undefined {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The python of an active virtual environment (VIRTUAL_ENV, as `source .venv/bin/activate` sets
 * it), if that file is there.
 */
export function activeVenvPython(
  virtualEnv = process.env.VIRTUAL_ENV,
  platform = process.platform,
): string | undefined {
  if (!virtualEnv) return undefined;
  const file =
    platform === 'win32' ? path.join(virtualEnv, 'Scripts', 'python.exe') : path.join(virtualEnv, 'bin', 'python');
  return fs.existsSync(file) ? file : undefined;
}

/**
 * The default candidates, by path: an active virtual environment's python (activeVenvPython),
 * python3 and python on PATH, then the system's python3 (SYSTEM_PYTHONS), each interpreter once
 * (two names of the same file are probed once; a venv's python is its own interpreter, though it
 * links to the system's: it imports from the venv). On Windows the venv's, then python, then py.
 * With none of them found, python3 and python, for the message. `virtualEnv` '' means none.
 */
export function defaultPythonCandidates(
  pathEnv = process.env.PATH ?? '',
  platform = process.platform,
  virtualEnv = process.env.VIRTUAL_ENV,
): string[] {
  const venv = activeVenvPython(virtualEnv, platform);
  if (platform === 'win32') return venv ? [venv, 'python', 'py'] : ['python', 'py'];
  const found: string[] = [];
  const seen = new Set<string>();
  // A file is the same interpreter as another when both are in the same folder once links are
  // resolved (venv/bin/python3 -> python) or are the same file outside a venv.
  const identity = (file: string) => {
    const real = fs.realpathSync(file);
    fs.accessSync(real, fs.constants.X_OK);
    const dir = fs.realpathSync(path.dirname(file));
    return fs.existsSync(path.join(dir, '..', 'pyvenv.cfg')) ? `venv:${dir}` : real;
  };
  for (const file of [venv, onPath('python3', pathEnv), onPath('python', pathEnv), ...SYSTEM_PYTHONS]) {
    if (!file) continue;
    let id: string;
    try {
      id = identity(file);
    } catch {
      continue;
    }
    if (seen.has(id)) continue;
    seen.add(id);
    found.push(file);
  }
  return found.length ? found : ['python3', 'python'];
}

/**
 * The first candidate whose probe imports torch, with the candidates tried before it. On failure,
 * the message lists what each candidate said and what to do.
 */
export type PythonSearch =
  | { ok: true; info: PythonInfo; tried: FailedProbe[] }
  | { ok: false; message: string; results: FailedProbe[] };

export async function findPython(
  candidates: string[],
  timeoutMs = PROBE_TIMEOUT_MS,
  probe: (python: string, timeoutMs: number) => Promise<ProbeResult> = probePython,
): Promise<PythonSearch> {
  const results: FailedProbe[] = [];
  for (const python of [...new Set(candidates.filter(Boolean))]) {
    const r = await probe(python, timeoutMs);
    if (r.ok) return { ...r, tried: results };
    results.push(r);
  }
  return { ok: false, message: explainNoPython(results), results };
}

/** What went wrong with every candidate, and what to install or set. */
export function explainNoPython(results: ProbeResult[]): string {
  const failures = results.filter((r): r is FailedProbe => !r.ok);
  const noTorch = failures.find((r) => r.problem === 'no-torch');
  const head = noTorch
    ? `The pytorch engine needs PyTorch: ${noTorch.message}. Install it into that Python (\`${noTorch.python} -m pip install ${TORCH_PIP}\`, the CPU wheel; on Debian/Ubuntu \`apt install python3-torch\`), or choose a Python that has it (setting layerRotation.pythonPath, or --python PATH on the command line).`
    : `The pytorch engine needs Python 3 with PyTorch, and no Python was found. Install Python 3 and torch (\`python3 -m pip install ${TORCH_PIP}\`, the CPU wheel), or set layerRotation.pythonPath (--python PATH on the command line) to an interpreter that has them.`;
  const tried = failures.map((r) => `  - ${r.message}`).join('\n');
  return tried
    ? `${head}\nTried ${failures.length === 1 ? 'one interpreter' : `${failures.length} interpreters`}:\n${tried}`
    : head;
}

/**
 * The folder holding the `layer_rotation` Python package that ships with this code: `python/`
 * next to the bundle (the .vsix and dist/), or in the repository.
 */
export function bundledPythonPackageDir(from = __dirname): string | undefined {
  for (const dir of [
    path.join(from, '..', 'python'),
    path.join(from, '..', '..', 'python'),
    path.join(from, '..', '..', '..', 'python'),
  ]) {
    if (fs.existsSync(path.join(dir, 'layer_rotation', '__init__.py'))) return path.resolve(dir);
  }
  return undefined;
}

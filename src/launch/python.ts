// Finding a Python interpreter that has PyTorch, for the pytorch engine: try each candidate
// (the setting, the Python extension's interpreter, python3 and python on PATH, then the system's
// python3) with a short probe that imports torch, and say plainly which were tried and what is
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
}

export type ProbeResult =
  | { ok: true; info: PythonInfo }
  | { ok: false; python: string; problem: 'missing' | 'no-torch' | 'timeout' | 'error'; message: string };

export type FailedProbe = Extract<ProbeResult, { ok: false }>;

export const PROBE_TIMEOUT_MS = 30000;

// Prints one JSON line. torch's import is what takes time (1-5 s); nothing else is loaded.
const PROBE_CODE = [
  'import json, sys',
  'info = {"executable": sys.executable, "pythonVersion": sys.version.split()[0]}',
  'try:',
  '    import torch',
  '    info.update(torch=torch.__version__, cuda=bool(torch.cuda.is_available()), cudaDevices=torch.cuda.device_count())',
  'except Exception as e:',
  '    info["torchError"] = "%s: %s" % (type(e).__name__, e)',
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
          },
        });
      },
    );
  });
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
function onPath(name: string, pathEnv: string): string | undefined {
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
 * The default candidates, by path: python3 and python on PATH, then the system's python3
 * (SYSTEM_PYTHONS), each interpreter once (two names of the same file are probed once). On
 * Windows python, then py. With none of them found, python3 and python, for the message.
 */
export function defaultPythonCandidates(pathEnv = process.env.PATH ?? '', platform = process.platform): string[] {
  if (platform === 'win32') return ['python', 'py'];
  const found: string[] = [];
  const seen = new Set<string>();
  for (const file of [onPath('python3', pathEnv), onPath('python', pathEnv), ...SYSTEM_PYTHONS]) {
    if (!file) continue;
    let real: string;
    try {
      real = fs.realpathSync(file);
      fs.accessSync(real, fs.constants.X_OK);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    found.push(file);
  }
  return found.length ? found : ['python3', 'python'];
}

/**
 * The first candidate whose probe imports torch, with the candidates tried before it. On failure,
 * the message lists what each candidate said and what to do.
 */
export async function findPython(
  candidates: string[],
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<
  { ok: true; info: PythonInfo; tried: FailedProbe[] } | { ok: false; message: string; results: FailedProbe[] }
> {
  const results: FailedProbe[] = [];
  for (const python of [...new Set(candidates.filter(Boolean))]) {
    const r = await probePython(python, timeoutMs);
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

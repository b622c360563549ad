// Finding a Python interpreter that has PyTorch, for the pytorch engine: try each candidate
// (the setting, the Python extension's interpreter, python3 and python on PATH) with a short
// probe that imports torch, and say plainly what is missing when none works. Never hangs: a
// probe that does not answer in time is killed and counts as a failure.
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

/** "Python 3.11.2 (/usr/bin/python3), torch 1.13.0, no CUDA": what the pytorch engine will run on. */
export function describePython(info: PythonInfo): string {
  return `Python ${info.pythonVersion} (${info.executable}), torch ${info.torch}${info.cuda ? `, ${info.cudaDevices} CUDA device(s)` : ', no CUDA'}`;
}

/** The default candidates: python3, then python (on Windows python, then py). */
export function defaultPythonCandidates(): string[] {
  return process.platform === 'win32' ? ['python', 'py'] : ['python3', 'python'];
}

/**
 * The first candidate whose probe imports torch. On failure, the message lists what each
 * candidate said and what to do.
 */
export async function findPython(
  candidates: string[],
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<{ ok: true; info: PythonInfo } | { ok: false; message: string; results: ProbeResult[] }> {
  const results: ProbeResult[] = [];
  for (const python of [...new Set(candidates.filter(Boolean))]) {
    const r = await probePython(python, timeoutMs);
    if (r.ok) return r;
    results.push(r);
  }
  return { ok: false, message: explainNoPython(results), results };
}

/** What went wrong with every candidate, and what to install or set. */
export function explainNoPython(results: ProbeResult[]): string {
  const failures = results.filter((r): r is Extract<ProbeResult, { ok: false }> => !r.ok);
  const noTorch = failures.find((r) => r.problem === 'no-torch');
  const head = noTorch
    ? `The pytorch engine needs PyTorch: ${noTorch.message}. Install it into that Python (\`${noTorch.python} -m pip install torch\`; on Debian/Ubuntu \`apt install python3-torch\`), or choose a Python that has it (setting layerRotation.pythonPath).`
    : 'The pytorch engine needs Python 3 with PyTorch, and no Python was found. Install Python 3 and torch (https://pytorch.org/get-started/locally/), or set layerRotation.pythonPath to an interpreter that has them.';
  const tried = failures.map((r) => `  - ${r.message}`).join('\n');
  return tried ? `${head}\nTried:\n${tried}` : head;
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

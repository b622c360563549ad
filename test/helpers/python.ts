// Helpers for the tests of the PyTorch engine (python/): finding the interpreter, running it as
// a child process with the repo's python/ folder importable, and waiting for run-log lines.
// The interpreter: $LAYER_ROTATION_PYTHON, else an active virtual environment's (as .ci/run
// activates one with PyPI's torch), else /usr/bin/python3, else `python3` on the PATH.
// Tests fail (not skip) when it has no torch, unless LAYER_ROTATION_SKIP_PYTORCH=1.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activeVenvPython } from '../../src/launch/python';
import { ROOT } from './runs';

export const PYTHON_DIR = path.join(ROOT, 'python');

export function pythonInterpreter(): string {
  if (process.env.LAYER_ROTATION_PYTHON) return process.env.LAYER_ROTATION_PYTHON;
  const venv = activeVenvPython();
  if (venv) return venv;
  if (fs.existsSync('/usr/bin/python3')) return '/usr/bin/python3';
  return 'python3';
}

/** Why the PyTorch tests cannot run (no interpreter, no torch), or undefined when they can. */
export function torchProblem(): string | undefined {
  const python = pythonInterpreter();
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `cannot run ${python}: ${r.error.message}`;
  if (r.status !== 0) return `${python} cannot import torch: ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

/**
 * `{ skip }` for node:test: skip only when LAYER_ROTATION_SKIP_PYTORCH=1 and torch is missing.
 * Without that variable a missing torch is an error (the tests fail, saying why).
 */
export function pytorchTestOptions(timeout: number): { timeout: number; skip?: string } {
  if (process.env.LAYER_ROTATION_SKIP_PYTORCH === '1') {
    const problem = torchProblem();
    if (problem) return { timeout, skip: `${problem} (LAYER_ROTATION_SKIP_PYTORCH=1)` };
  }
  return { timeout };
}

/** Throws when torch is missing (call at the start of each test). */
export function requireTorch(): void {
  const problem = torchProblem();
  if (problem)
    throw new Error(
      `${problem}; set LAYER_ROTATION_PYTHON to an interpreter with torch, or LAYER_ROTATION_SKIP_PYTORCH=1 to skip`,
    );
}

export interface PythonResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface PythonOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Called with the child once it started (e.g. to signal it later). */
  onStart?: (child: ChildProcess) => void;
}

/** The environment of a child interpreter: python/ importable, unbuffered output. */
export function pythonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const pp = process.env.PYTHONPATH ? `${PYTHON_DIR}${path.delimiter}${process.env.PYTHONPATH}` : PYTHON_DIR;
  return { ...process.env, PYTHONPATH: pp, PYTHONUNBUFFERED: '1', ...extra };
}

/** Runs `python ARGS` to completion. */
export function runPython(args: string[], opts: PythonOptions = {}): Promise<PythonResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(pythonInterpreter(), args, {
      cwd: opts.cwd ?? ROOT,
      env: pythonEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`python ${args.join(' ')} timed out after ${opts.timeoutMs} ms; stderr:\n${stderr}`));
    }, opts.timeoutMs ?? 300_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, seconds: (Date.now() - started) / 1000 });
    });
    opts.onStart?.(child);
  });
}

/** Resolves when `file` has a complete line for which `match` is true (polling), or rejects after `timeoutMs`. */
export function waitForLine(file: string, match: (event: any) => boolean, timeoutMs = 60_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        // not there yet
      }
      const lines = text.split('\n');
      lines.pop(); // a last line without \n is still being written
      for (const line of lines) {
        try {
          const e = JSON.parse(line);
          if (match(e)) return resolve(e);
        } catch {
          // not JSON: the test that reads the log will say so
        }
      }
      if (Date.now() > until) return reject(new Error(`no matching line in ${file} after ${timeoutMs} ms`));
      setTimeout(poll, 100);
    };
    poll();
  });
}

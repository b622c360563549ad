// The Python interpreter for the pytorch engine: the setting layerRotation.pythonPath, else the
// interpreter selected in the Python extension, else python3 / python on PATH, then the system's
// python3 (src/launch/python.ts); each checked once
// per window (the check imports torch) and again when the settings change.
import * as vscode from 'vscode';
import { defaultPythonCandidates, type FailedProbe, findPython, type PythonInfo } from '../launch/python';
import type { Config } from './config';

const PYTHON_EXTENSION = 'ms-python.python';

/** The interpreter the Python extension has selected for a file's folder, if it is installed. */
async function pythonExtensionInterpreter(resource: vscode.Uri | undefined): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension(PYTHON_EXTENSION);
  if (!ext) return undefined;
  try {
    const api = (ext.isActive ? ext.exports : await withTimeout(ext.activate(), 10000)) as any;
    const env = api?.environments?.getActiveEnvironmentPath?.(resource);
    if (typeof env?.path === 'string' && env.path) return env.path;
    const exec = api?.settings?.getExecutionDetails?.(resource)?.execCommand;
    if (Array.isArray(exec) && typeof exec[0] === 'string') return exec[0];
  } catch {
    // not usable: fall back to PATH
  }
  return undefined;
}

function withTimeout<T>(p: Thenable<T>, ms: number): Promise<T | undefined> {
  return Promise.race([
    Promise.resolve(p),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms)),
  ]);
}

export class PythonFinder {
  private cache = new Map<
    string,
    Promise<{ ok: true; info: PythonInfo; tried: FailedProbe[] } | { ok: false; message: string }>
  >();

  constructor(private readonly config: Config) {}

  /** Forget the checks (the settings or the Python extension's selection changed). */
  reset(): void {
    this.cache.clear();
  }

  /** The interpreter to use for a config, checked; or why there is none. */
  async find(
    resource: vscode.Uri | undefined,
  ): Promise<{ ok: true; info: PythonInfo; tried: FailedProbe[] } | { ok: false; message: string }> {
    const setting = this.config.pythonPath;
    const candidates = setting
      ? [setting]
      : [(await pythonExtensionInterpreter(resource)) ?? '', ...defaultPythonCandidates()].filter(Boolean);
    const key = candidates.join('\0');
    let found = this.cache.get(key);
    if (!found) {
      const probing = findPython(candidates);
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'Layer Rotation: checking Python and PyTorch' },
        () => probing,
      );
      found = probing;
      this.cache.set(key, found);
    }
    const result = await found;
    if (!result.ok) this.cache.delete(key); // the person may install torch and try again
    return result;
  }
}

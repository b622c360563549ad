// The Python interpreter for the pytorch engine (and for engine auto): the setting
// layerRotation.pythonPath, else the interpreter selected in the Python extension, else an active
// virtual environment's, python3 / python on PATH, then the system's python3
// (src/launch/python.ts). Each probe (it imports torch) is remembered in memory
// (src/launch/probeCache.ts: while the interpreter's files are unchanged) until the settings change.
import * as vscode from 'vscode';
import { memoryStore, ProbeCache } from '../launch/probeCache';
import { defaultPythonCandidates, findPython, PROBE_TIMEOUT_MS, type PythonSearch } from '../launch/python';
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
  /** Searches under way, by candidates (two Start Trainings at once probe once). */
  private searching = new Map<string, Promise<PythonSearch>>();
  private probes = new ProbeCache(memoryStore());

  constructor(private readonly config: Config) {}

  /** Forget the checks (the settings or the Python extension's selection changed). */
  reset(): void {
    this.probes = new ProbeCache(memoryStore());
  }

  /** How many interpreters were probed since the last reset (the rest came from memory). */
  get probeCount(): number {
    return this.probes.probes;
  }

  /** The interpreter to use for a config, checked; or why there is none. */
  async find(resource: vscode.Uri | undefined): Promise<PythonSearch> {
    const setting = this.config.pythonPath;
    const candidates = setting
      ? [setting]
      : [(await pythonExtensionInterpreter(resource)) ?? '', ...defaultPythonCandidates()].filter(Boolean);
    const key = candidates.join('\0');
    let found = this.searching.get(key);
    if (!found) {
      const probing = findPython(candidates, PROBE_TIMEOUT_MS, this.probes.probe);
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'Layer Rotation: checking Python and PyTorch' },
        () => probing,
      );
      found = probing.finally(() => this.searching.delete(key));
      this.searching.set(key, found);
    }
    return found;
  }
}

// Remembering what a Python interpreter's probe found (src/launch/python.ts: importing torch takes
// 1-5 s), so that the engine "auto" does not pay it on every run. An answer is kept per
// interpreter (its absolute path as found, not the file it links to: a venv's python links to the
// system's but imports from the venv) and the environment that changes what it imports
// (PYTHONPATH, PYENV_VERSION). It holds while the modification times of the files the probe named
// are unchanged: the interpreter, the folders it imports from (installing or removing torch
// changes one), the user's site folder, torch's __init__.py. Anything else (a stale or unreadable
// entry, another format) is probed again. Only definite answers are kept (torch found, or
// "cannot import torch"); a missing interpreter, a timeout or an error is asked again each time.
//
// Two stores: in memory (the extension host, for the window's life) and a JSON file (the CLI:
// $LAYER_ROTATION_CACHE_DIR, else $XDG_CACHE_HOME/layer-rotation, else ~/.cache/layer-rotation).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onPath, type ProbeResult, probePython } from './python';

const FORMAT = 1;
export const PROBE_CACHE_FILE = 'python-probes.json';

interface Entry {
  result: ProbeResult;
  /** File to modification time in ms (null: it did not exist). */
  stamps: Record<string, number | null>;
}

export interface ProbeStore {
  load(): Record<string, Entry>;
  save(entries: Record<string, Entry>): void;
}

export function memoryStore(): ProbeStore {
  let entries: Record<string, Entry> = {};
  return {
    load: () => entries,
    save: (e) => {
      entries = e;
    },
  };
}

/** The CLI's cache folder. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LAYER_ROTATION_CACHE_DIR) return env.LAYER_ROTATION_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'layer-rotation');
}

/** A JSON file; unreadable or of another format, it is empty; it is replaced whole (rename), never half-written. */
export function fileStore(file = path.join(defaultCacheDir(), PROBE_CACHE_FILE)): ProbeStore {
  return {
    load() {
      try {
        const data = JSON.parse(fs.readFileSync(file, 'utf8'));
        if (data?.v !== FORMAT || typeof data.entries !== 'object' || data.entries === null) return {};
        return data.entries;
      } catch {
        return {};
      }
    },
    save(entries) {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(tmp, `${JSON.stringify({ v: FORMAT, entries }, null, 1)}\n`);
        fs.renameSync(tmp, file);
      } catch {
        // a cache that cannot be written only means probing again next time
        fs.rmSync(tmp, { force: true });
      }
    },
  };
}

function mtime(file: string): number | null {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

/** The files' modification times now. */
function stampsNow(files: readonly string[]): Record<string, number | null> {
  return Object.fromEntries(files.map((f) => [f, mtime(f)]));
}

function holds(entry: unknown): entry is Entry {
  if (typeof entry !== 'object' || entry === null) return false;
  const e = entry as Entry;
  if (typeof e.result?.ok !== 'boolean' || typeof e.stamps !== 'object' || e.stamps === null) return false;
  const files = Object.keys(e.stamps);
  if (files.length === 0) return false;
  return files.every((f) => mtime(f) === e.stamps[f]);
}

export class ProbeCache {
  /** How many interpreters were actually probed (for tests and the line that says so). */
  probes = 0;

  constructor(
    private readonly store: ProbeStore,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly probeFn: typeof probePython = probePython,
  ) {}

  /** The file of an interpreter as given (a path, or a name on PATH) and its cache key; undefined: not found (not cached). */
  private keyOf(python: string): { file: string; key: string } | undefined {
    const file = /[\\/]/.test(python) ? path.resolve(python) : onPath(python, this.env.PATH ?? '');
    if (!file || !fs.existsSync(file)) return undefined;
    return { file, key: JSON.stringify([file, this.env.PYTHONPATH ?? '', this.env.PYENV_VERSION ?? '']) };
  }

  /** The probe of `python`: remembered if it still holds, else run (and remembered when definite). */
  readonly probe = async (python: string, timeoutMs?: number): Promise<ProbeResult> => {
    const where = this.keyOf(python);
    const cached = where && this.store.load()[where.key];
    if (holds(cached)) return renamed(cached.result, python);
    this.probes++;
    const result = await this.probeFn(python, timeoutMs);
    const stamps = result.ok ? result.info.stamps : result.problem === 'no-torch' ? result.stamps : undefined;
    if (where && stamps?.length) {
      const entries = this.store.load(); // another process may have added its own meanwhile
      entries[where.key] = { result, stamps: stampsNow([where.file, ...stamps]) };
      this.store.save(entries);
    }
    return result;
  };
}

/** A remembered result, for the name it is asked by now. */
function renamed(result: ProbeResult, python: string): ProbeResult {
  return result.ok ? { ok: true, info: { ...result.info, python } } : { ...result, python };
}

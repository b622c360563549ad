// Which engine trains a config: the one decision, for the CLI, the editor and sweeps. The config's
// `engine` (default "auto"), unless an override (--engine, the setting layerRotation.engine) says
// otherwise; "auto" is PyTorch when an interpreter with torch was found (the faster engine) and
// tfjs otherwise. Pure: the caller probes for Python (findPython, through a ProbeCache) only when
// needsPython says so, and shows the decision's line (in its output and as the run log's first
// `log` event).
import type { EngineName, EngineSetting } from '../engine/config/types';
import { describePython, type FailedProbe, type PythonInfo, type PythonSearch, TORCH_PIP } from './python';

export const ENGINE_SETTINGS: readonly EngineSetting[] = ['auto', 'tfjs', 'pytorch'];

export function isEngineSetting(value: unknown): value is EngineSetting {
  return typeof value === 'string' && (ENGINE_SETTINGS as readonly string[]).includes(value);
}

export interface EngineAsk {
  /** The config's `engine`. */
  config: EngineSetting;
  /** An override of it (undefined: none). */
  override?: EngineSetting;
  /** Where the override comes from, for people: "--engine" (a flag) or "layerRotation.engine" (a setting). */
  overrideName: string;
}

export type EngineDecision =
  | { ok: true; engine: 'tfjs'; line: string }
  | { ok: true; engine: 'pytorch'; python: PythonInfo; line: string }
  | { ok: false; message: string };

/** What is asked for: the override, else the config's. */
export function wantedEngine(ask: Pick<EngineAsk, 'config' | 'override'>): EngineSetting {
  return ask.override ?? ask.config;
}

/** Whether deciding needs a search for Python (everything but tfjs does). */
export function needsPython(ask: Pick<EngineAsk, 'config' | 'override'>): boolean {
  return wantedEngine(ask) !== 'tfjs';
}

/** A failed candidate in a few words: "/usr/bin/python3 (no torch)". */
function shortly(r: FailedProbe): string {
  const why = {
    missing: 'not found',
    'no-torch': 'no torch',
    timeout: 'no answer',
    error: 'could not run',
  }[r.problem];
  return `${r.python} (${why})`;
}

/**
 * The engine for a config, and the line that says which and why; or, for the pytorch engine asked
 * for by name without a Python that has torch, the message saying what to install or set.
 * `search` is the Python search's result (required when needsPython(ask)).
 */
export function decideEngine(ask: EngineAsk, search?: PythonSearch): EngineDecision {
  const wanted = wantedEngine(ask);
  const hint = (engine: EngineName) => {
    if (ask.override === undefined) return `set "engine": "${engine}" in the config`;
    return ask.overrideName.startsWith('-')
      ? `pass ${ask.overrideName} ${engine}`
      : `set ${ask.overrideName} to "${engine}"`;
  };
  if (wanted === 'tfjs')
    return {
      ok: true,
      engine: 'tfjs',
      line: `engine tfjs (${ask.override !== undefined ? `from ${ask.overrideName}` : 'from the config\'s "engine"'})`,
    };
  if (!search) throw new Error(`deciding the engine "${wanted}" needs the search for Python`);
  if (wanted === 'pytorch') {
    if (!search.ok) return { ok: false, message: search.message };
    return {
      ok: true,
      engine: 'pytorch',
      python: search.info,
      line: `engine pytorch: ${describePython(search.info, search.tried)}`,
    };
  }
  if (search.ok) {
    const i = search.info;
    return {
      ok: true,
      engine: 'pytorch',
      python: i,
      line: `engine auto: PyTorch ${i.torch} in ${i.executable} (found torch; Python ${i.pythonVersion}, ${i.cuda ? `${i.cudaDevices} CUDA device(s)` : 'no CUDA'}); ${hint('tfjs')} to use tfjs`,
    };
  }
  const tried = search.results.map(shortly).join(', ');
  return {
    ok: true,
    engine: 'tfjs',
    line: `engine auto: tfjs (no Python with torch: tried ${tried || 'none'}); for the faster pytorch engine, install torch (\`python3 -m pip install ${TORCH_PIP}\`) or set layerRotation.pythonPath (--python PATH)`,
  };
}

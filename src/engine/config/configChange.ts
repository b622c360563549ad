// Whether a config still says what it said when a run started: the run's copy of the config (its
// folder's config.layerrot.json) and the config's text now, each resolved (parsed, checked, every
// default filled in) and compared, so that comments, formatting, key order and a default written
// out change nothing. The editor's verdict diagnostics of a run stand only while its config has
// not changed (src/vscode/diagnostics.ts); once it has, they are hints that say which run and
// which values they came from.
import { parseConfigText } from './parse';

/** One value that differs: its path ("optimizer.learningRate", "model.hidden[0]"), then and now (undefined: not set). */
export interface ConfigDifference {
  path: string;
  run: unknown;
  now: unknown;
}

export type ConfigChange =
  | { changed: false }
  /** `differences` is empty when the text now does not resolve (errors): `invalid` says so. */
  | { changed: true; invalid: boolean; differences: ConfigDifference[] };

/** A config text resolved, or undefined when it has errors. `file` names it (the default name is its file's). */
export function resolvedConfig(text: string, file: string): Record<string, unknown> | undefined {
  const checked = parseConfigText(text, file);
  return checked.ok ? (checked.config as unknown as Record<string, unknown>) : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The leaf values that differ between two resolved configs, in the order of `a`'s keys then `b`'s new ones. */
export function configDifferences(a: unknown, b: unknown, at = ''): ConfigDifference[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => configDifferences(a[k], b[k], at ? `${at}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length)
    return a.flatMap((x, i) => configDifferences(x, b[i], `${at}[${i}]`));
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path: at, run: a, now: b }];
}

/**
 * Whether the config changed since the run whose copy is `runText`: the copy's resolved config
 * against `nowText`'s, both as the config at `file`. undefined when the copy does not resolve
 * (nothing to compare with).
 */
export function configChange(runText: string, nowText: string, file: string): ConfigChange | undefined {
  const then = resolvedConfig(runText, file);
  if (!then) return undefined;
  return configChangeFrom(then, nowText, file);
}

/** configChange with the run's config already resolved. */
export function configChangeFrom(then: Record<string, unknown>, nowText: string, file: string): ConfigChange {
  const now = resolvedConfig(nowText, file);
  if (!now) return { changed: true, invalid: true, differences: [] };
  const differences = configDifferences(then, now);
  return differences.length ? { changed: true, invalid: false, differences } : { changed: false };
}

/** A value in a message: JSON, cut at 40 characters; "unset" for none. */
function valueText(v: unknown): string {
  if (v === undefined) return 'unset';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

/** The run's values of what changed: "optimizer.learningRate 0.2 (now 0.1)", at most `max`, then "and 2 more". */
export function changeWords(change: ConfigChange, max = 3): string {
  if (!change.changed) return 'unchanged';
  if (change.invalid) return 'the config has errors now';
  const shown = change.differences
    .slice(0, max)
    .map((d) => `${d.path} ${valueText(d.run)} (now ${valueText(d.now)})`)
    .join(', ');
  const more = change.differences.length - max;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

/** The message of a verdict diagnostic whose config changed since its run: which run, which values, then what it said. */
export function staleMessage(runId: string, change: ConfigChange, message: string): string {
  return `From run ${runId} (${changeWords(change)}), before the config changed: ${message}`;
}

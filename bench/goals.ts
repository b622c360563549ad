// The performance goals of `npm run bench`: each a measured ratio (or time) with its range, the
// target, and whether it is met. The parts of the bench (PyTorch on each BLAS build, the monitor's
// drawing, sweeps) report their figures; this module owns the table printed at the end, written to
// bench-results/goals.json, and shown in the README's Performance section.
import { spawnSync } from 'node:child_process';

export interface Measure {
  /** The median over repetitions. */
  median: number;
  /** The smallest and largest repetition (or an interquartile range: `range` says which). */
  lo: number;
  hi: number;
  /** How many repetitions the median is over. */
  n: number;
}

export interface Goal {
  /** A stable key, e.g. "pytorch.layca.sgd". */
  id: string;
  /** What is measured, in words. */
  what: string;
  /** Where (e.g. "PyTorch 2.13.0, MKL"). */
  where: string;
  measure?: Measure;
  unit: 'x' | 'ms';
  op: '<=' | '>=';
  target: number;
  /** Why there is no measure (not installed, skipped, failed). */
  unavailable?: string;
}

export type GoalStatus = 'met' | 'not met' | 'not measured';

export function status(g: Goal): GoalStatus {
  if (!g.measure || !Number.isFinite(g.measure.median)) return 'not measured';
  return (g.op === '<=' ? g.measure.median <= g.target : g.measure.median >= g.target) ? 'met' : 'not met';
}

function fmt(v: number, unit: Goal['unit']): string {
  if (!Number.isFinite(v)) return String(v);
  if (unit === 'ms') return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return v.toFixed(v >= 10 ? 1 : v >= 1 ? 2 : 3);
}

/** One cell: "0.93 (0.91-0.95, 5 runs)". */
export function formatMeasure(m: Measure, unit: Goal['unit']): string {
  const u = unit === 'ms' ? ' ms' : '';
  return `${fmt(m.median, unit)}${u} (${fmt(m.lo, unit)}-${fmt(m.hi, unit)}, n=${m.n})`;
}

/** The markdown table of every goal, as the README shows it. */
export function goalsTable(goals: readonly Goal[]): string {
  const lines = ['| goal | where | measured: median (range, repetitions) | target | |', '|---|---|---|---|---|'];
  for (const g of goals) {
    const s = status(g);
    const cell = g.measure ? formatMeasure(g.measure, g.unit) : `- (${g.unavailable ?? 'not measured'})`;
    const target = `${g.op === '<=' ? '≤' : '≥'} ${g.target}${g.unit === 'ms' ? ' ms' : ''}`;
    lines.push(
      `| ${g.what} | ${g.where} | ${cell} | ${target} | ${s === 'met' ? 'met' : s === 'not met' ? '**not met**' : 'not measured'} |`,
    );
  }
  return lines.join('\n');
}

/** A Measure from repetitions: median, min, max. */
export function measureOf(values: readonly number[]): Measure | undefined {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const mid = (v.length - 1) / 2;
  const median = (v[Math.floor(mid)] + v[Math.ceil(mid)]) / 2;
  return { median, lo: v[0], hi: v[v.length - 1], n: v.length };
}

/**
 * Runs a bench script that prints one JSON object as its last line of stdout; its stderr (progress)
 * goes through. Returns the object, or why there is none.
 */
export function runJsonScript(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): { ok: true; value: Record<string, unknown> } | { ok: false; problem: string } {
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 900_000,
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    const value = JSON.parse(last);
    if (value && typeof value === 'object' && !Array.isArray(value)) return { ok: true, value };
  } catch {
    // reported below
  }
  const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  return { ok: false, problem: `${[command, ...args].join(' ').slice(0, 120)} gave no JSON result (${why})` };
}

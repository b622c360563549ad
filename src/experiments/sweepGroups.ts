// A list of runs grouped by sweep, as the editor's runs tree shows them (no vscode here). A run
// belongs to a sweep when its folder is <sweep folder>/<point folder>/<run folder>/ and the point
// folder holds the point's config or status file (both written before the point's run starts),
// so runs started here, found on disk or written by a cluster job group alike. A sweep's counts
// take each point's status from its current run when that run is known (live, as its log grows),
// else from the point's status file (src/experiments/sweepRun.ts readSweep).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { axisLabels } from './sweep';
import { POINT_CONFIG, POINT_STATUS, type PointEntry, type PointStatus, type SweepFile } from './sweepRun';

/** The sweep folder a run folder belongs to, or undefined for a run outside any sweep. */
export function sweepDirOf(runDir: string): string | undefined {
  const point = path.dirname(runDir);
  if (point === runDir) return undefined;
  const marked = fs.existsSync(path.join(point, POINT_CONFIG)) || fs.existsSync(path.join(point, POINT_STATUS));
  return marked ? path.dirname(point) : undefined;
}

export type Grouped<R> = { kind: 'run'; run: R } | { kind: 'sweep'; sweepDir: string; runs: R[] };

/** The runs in their order, each sweep's runs gathered into one entry where its first run is. */
export function groupBySweep<R>(runs: readonly R[], sweepOf: (run: R) => string | undefined): Grouped<R>[] {
  const out: Grouped<R>[] = [];
  const sweeps = new Map<string, R[]>();
  for (const run of runs) {
    const dir = sweepOf(run);
    if (dir === undefined) {
      out.push({ kind: 'run', run });
      continue;
    }
    const key = path.resolve(dir);
    const list = sweeps.get(key);
    if (list) list.push(run);
    else {
      const fresh = [run];
      sweeps.set(key, fresh);
      out.push({ kind: 'sweep', sweepDir: key, runs: fresh });
    }
  }
  return out;
}

/** What a run's log says of it (the runs tree's status of a run). */
export type RunState = PointStatus | 'unfinished';

export type SweepCounts = Record<RunState, number>;

/**
 * Each point's status: its current run's state when the run is known (`runState` of the run's
 * absolute folder), else the status file's. A point whose status file says running but whose run
 * is known and no longer growing is `unfinished` (its process is gone).
 */
export function pointStates(
  sweepDir: string,
  sweep: SweepFile,
  runState: (runDir: string) => RunState | undefined,
): Map<number, RunState> {
  const states = new Map<number, RunState>();
  for (const p of sweep.points) {
    const known = p.runDir ? runState(path.resolve(sweepDir, p.runDir)) : undefined;
    states.set(p.index, known ?? p.status);
  }
  return states;
}

export function countStates(states: Iterable<RunState>, total: number): SweepCounts {
  const counts: SweepCounts = { pending: 0, running: 0, completed: 0, failed: 0, stopped: 0, unfinished: 0 };
  let listed = 0;
  for (const s of states) {
    counts[s]++;
    listed++;
  }
  counts.pending += Math.max(0, total - listed); // points no status file lists yet
  return counts;
}

/** "3 done, 1 failed, 1 running of 8", "4 done of 4": the done ones, then the others there are (pending ones not named). */
export function sweepCountsText(counts: SweepCounts, total: number): string {
  const others = (['failed', 'stopped', 'unfinished', 'running'] as const)
    .filter((s) => counts[s] > 0)
    .map((s) => `, ${counts[s]} ${s}`);
  return `${counts.completed} done${others.join('')} of ${total}`;
}

/** A sweep's counts in words as its files say (sweep.json and the points' status files). */
export function sweepFileText(sweep: SweepFile): string {
  return sweepCountsText(
    countStates(
      sweep.points.map((p) => p.status),
      sweep.total,
    ),
    sweep.total,
  );
}

/** The sweep's state in one word: running while a point runs, else failed, stopped, unfinished, completed or pending. */
export function sweepState(counts: SweepCounts, total: number): RunState {
  if (counts.running > 0) return 'running';
  for (const s of ['failed', 'stopped', 'unfinished'] as const) if (counts[s] > 0) return s;
  return counts.completed === total ? 'completed' : 'pending';
}

/** A point's values in words: `learningRate=0.01, layca=true` (the last segment of each path, as in its id). */
export function pointLabel(values: Record<string, unknown>): string {
  const paths = Object.keys(values);
  const labels = axisLabels(paths);
  return paths.map((p, i) => `${labels[i]}=${valueText(values[p])}`).join(', ');
}

function valueText(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

export interface SweepChild<R> {
  run: R;
  /** The point's values in words, or the point folder's name when sweep.json does not list it. */
  label: string;
  /** The point's index (runs of unlisted points last). */
  index: number;
  /** False for an earlier attempt of a point that was rerun. */
  current: boolean;
}

/** A sweep's runs as its children: in grid order, each point's current attempt before its earlier ones. */
export function sweepChildren<R>(
  sweepDir: string,
  sweep: SweepFile | undefined,
  runs: readonly R[],
  runDirOf: (run: R) => string,
): SweepChild<R>[] {
  const byFolder = new Map<string, PointEntry>((sweep?.points ?? []).map((p) => [p.folder, p]));
  const children = runs.map((run) => {
    const runDir = path.resolve(runDirOf(run));
    const folder = path.basename(path.dirname(runDir));
    const point = byFolder.get(folder);
    return {
      run,
      label: point ? pointLabel(point.values) : folder,
      index: point?.index ?? Number.MAX_SAFE_INTEGER,
      current: !point?.runDir || path.resolve(sweepDir, point.runDir) === runDir,
    };
  });
  // A stable sort: runs of one point keep their order (newest first) after the current one.
  return children.sort((a, b) => a.index - b.index || Number(b.current) - Number(a.current));
}

// Running a sweep: one folder for the sweep, one folder per point, each point a normal run
// started through the supervisor. The layout:
//
//   <sweep folder>/sweep.json                 the grid and every point's status (a summary, see below)
//   <sweep folder>/<point id>/point.layerrot.json   the point's config: the base config with its values, no sweep
//   <sweep folder>/<point id>/status.json     the point's status, written only by the process running it
//   <sweep folder>/<point id>/output.log      the engine's stderr and stdout, every attempt appended
//   <sweep folder>/<point id>/<name>-<date>-<time>/   the run folder (events.jsonl, summary.json, config copy)
//
// Several processes may work on one sweep folder at once (shards of a cluster job array, on
// other machines, through a shared filesystem): each point's status.json is the truth and is
// only written by the process running that point (atomically: a temporary file renamed over
// it); sweep.json is rebuilt from all the status files under a lock (a directory made with
// mkdir, which is atomic on local and network filesystems; a lock older than 30 s is taken as
// abandoned), so the last rebuild sees every status written before it. Readers (readSweep)
// take the status files over sweep.json and rebuild it when it is missing or unreadable.
//
// Each job of a tfjs sweep keeps one runner process for its points (a WarmRunner: tfjs and
// wasm loaded once, not once a point); a point that crashes it is failed and the next point
// gets a fresh one. PyTorch points are a process each.
//
// Resuming: a completed point whose config (and overrides) are unchanged is skipped, unless its
// config's engine now resolves to another engine than the one it trained with ("auto" after torch
// was installed or removed: the sweep's points would otherwise mix engines); a failed,
// stopped or unfinished one is rerun into a fresh run folder beside the old ones (nothing is
// deleted); a point running in a live process on this machine is left alone.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EngineName, RunOverrides, TrainingConfig } from '../engine/config/types';
import { formatError, loadConfigFile } from '../engine/config/validate';
import { resolvePath } from '../engine/data/load';
import { parse as parseJsonc } from 'jsonc-parser';
import { shareOfCores } from '../launch/pytorch';
import type { RunRequest } from '../launch/request';
import { type RunHandle, type StartOptions, startRun } from '../launch/supervisor';
import { WarmRunner } from '../launch/tfjs';
import type { RunnerIdle } from '../launch/runnerMessages';
import type { RunEvent } from '../runlog/events';
import { makeFolders } from '../runlog/runfolder';
import { expandSweep, pointConfig, type SweepPoint, shardPoints } from './sweep';

export const SWEEP_FILE = 'sweep.json';
export const POINT_CONFIG = 'point.layerrot.json';
export const POINT_STATUS = 'status.json';
export const POINT_OUTPUT = 'output.log';
const LOCK = 'sweep.json.lock';
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 15_000;

/** The sweep folder's name for a config name: `<name>-sweep`, folder-safe. */
export function sweepFolderName(name: string): string {
  return `${name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'config'}-sweep`;
}

/** A config file as written (JSON with comments), for SweepRun: its sweep block and the values its points change. */
export function readRawConfig(file: string): Record<string, unknown> {
  return parseJsonc(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''), [], { allowTrailingComma: true });
}

export type PointStatus = 'pending' | 'running' | 'completed' | 'failed' | 'stopped';

/** A point as sweep.json lists it (and as its status.json holds it). Paths are relative to the sweep folder. */
export interface PointEntry {
  index: number;
  id: string;
  values: Record<string, unknown>;
  /** The point's folder (its id). */
  folder: string;
  /** The current attempt's run folder, once started. */
  runDir: string | null;
  status: PointStatus;
  testAccuracy: number | null;
  testLoss: number | null;
  /** Why the run ended (the run_finished reason), or why the point did not start. */
  reason: string | null;
  /** Runs started for this point (reruns count). */
  attempts: number;
  /** Who ran it last: host and process id. */
  host: string | null;
  pid: number | null;
  /** ISO time of the last change. */
  updated: string | null;
  /** Hash of the point's config and the overrides it ran with: a changed one is rerun. */
  fingerprint: string | null;
  /** The engine its last run trained with (absent in sweeps written before it was recorded). */
  engine?: EngineName | null;
}

export interface SweepFile {
  version: 1;
  /** The config file the sweep comes from (absolute, as given by the last process that wrote this). */
  config: string;
  name: string;
  /** The sweep block: config path to values, in file order. */
  grid: Record<string, unknown[]>;
  total: number;
  counts: Record<PointStatus, number>;
  updated: string;
  points: PointEntry[];
}

function pendingEntry(p: SweepPoint): PointEntry {
  return {
    index: p.index,
    id: p.id,
    values: p.values,
    folder: p.id,
    runDir: null,
    status: 'pending',
    testAccuracy: null,
    testLoss: null,
    reason: null,
    attempts: 0,
    host: null,
    pid: null,
    updated: null,
    fingerprint: null,
    engine: null,
  };
}

/** A point's status file, or null when it has none or it cannot be read. */
export function readPointStatus(sweepDir: string, folder: string): PointEntry | null {
  try {
    const e = JSON.parse(fs.readFileSync(path.join(sweepDir, folder, POINT_STATUS), 'utf8')) as PointEntry;
    return typeof e?.status === 'string' && typeof e.index === 'number' ? e : null;
  } catch {
    return null;
  }
}

function writeAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${os.hostname()}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/**
 * The sweep folder's state: sweep.json with every point's status file laid over it (they are
 * newer or equal); when sweep.json is missing or unreadable (being replaced, or never written),
 * it is rebuilt from the points' folders. Undefined when neither exists.
 */
export function readSweep(sweepDir: string): SweepFile | undefined {
  let file: SweepFile | undefined;
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(sweepDir, SWEEP_FILE), 'utf8')) as SweepFile;
    if (Array.isArray(parsed?.points)) file = parsed;
  } catch {
    file = undefined;
  }
  const points = new Map<number, PointEntry>((file?.points ?? []).map((p) => [p.index, p]));
  let folders: string[] = [];
  try {
    folders = fs
      .readdirSync(sweepDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    if (!file) return undefined;
  }
  for (const folder of folders) {
    const status = readPointStatus(sweepDir, folder);
    const listed = status && points.get(status.index);
    // Only points of this grid: a folder of an earlier grid has another id at that index.
    if (status && (!file || listed?.id === status.id)) points.set(status.index, status);
  }
  if (!file && points.size === 0) return undefined;
  const list = [...points.values()].sort((a, b) => a.index - b.index);
  return {
    version: 1,
    config: file?.config ?? '',
    name: file?.name ?? path.basename(sweepDir),
    grid: file?.grid ?? {},
    total: file?.total ?? list.length,
    counts: countStatuses(list),
    updated: file?.updated ?? new Date().toISOString(),
    points: list,
  };
}

function countStatuses(points: PointEntry[]): Record<PointStatus, number> {
  const counts: Record<PointStatus, number> = { pending: 0, running: 0, completed: 0, failed: 0, stopped: 0 };
  for (const p of points) counts[p.status]++;
  return counts;
}

/** Runs `f` holding the sweep folder's lock; without it after LOCK_WAIT_MS (a warning says so). */
function withLock<T>(sweepDir: string, f: () => T, warn: (s: string) => void): T {
  const lock = path.join(sweepDir, LOCK);
  const deadline = Date.now() + LOCK_WAIT_MS;
  let held = false;
  while (!held) {
    try {
      fs.mkdirSync(lock);
      held = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > STALE_LOCK_MS) fs.rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) {
        warn(`sweep: ${lock} is still held after ${LOCK_WAIT_MS / 1000} s; updating ${SWEEP_FILE} without it`);
        break;
      }
      sleepSync(20 + Math.random() * 30);
    }
  }
  try {
    return f();
  } finally {
    if (held) fs.rmSync(lock, { recursive: true, force: true });
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface SweepOptions {
  configFile: string;
  sweepDir: string;
  /** Points run at once by this process. */
  jobs: number;
  /** Run only the points with index mod `of` == `index` - 1. */
  shard?: { index: number; of: number };
  /** The overrides every point runs with (part of each point's fingerprint). */
  overrides: RunOverrides & { engine?: string; backend?: string };
  /** The run request of a point, from its config file, its checked config and the folder for its runs. */
  request(configFile: string, config: TrainingConfig, runsDir: string): Promise<RunRequest>;
  /** A line of progress (stderr). */
  log(line: string): void;
  /** Every event of every point's run. */
  onEvent?(point: SweepPoint, e: RunEvent): void;
  /** Starts a point's run (default: the supervisor's startRun; the editor passes its run manager's). */
  startRun?(opts: StartOptions): RunHandle;
  /** Hears a job's runner process after each tfjs point: its live tensors and memory. */
  onRunnerIdle?(m: RunnerIdle): void;
}

export interface SweepOutcome {
  /** This process's points (its shard), as they ended. */
  points: PointEntry[];
  /** Whether every one of them completed. */
  allCompleted: boolean;
  /** Whether the sweep was stopped (Ctrl-C). */
  stopped: boolean;
}

/** One process's work on a sweep folder: start() runs its points, stop() stops the running ones. */
export class SweepRun {
  readonly points: SweepPoint[];
  readonly mine: SweepPoint[];
  readonly name: string;
  private readonly raw: Record<string, unknown>;
  private readonly grid: Record<string, unknown[]>;
  private readonly host = os.hostname();
  private readonly running = new Map<number, RunHandle>();
  private readonly state = new Map<number, PointEntry>();
  /** Milliseconds from each point's startRun to its end, by index (the rest of a sweep's time is its own). */
  readonly runMillis = new Map<number, number>();
  private stopping = false;
  /** Points running at once (the jobs, or fewer when fewer points are left to run). */
  private concurrent = 1;
  /** Whether the PyTorch runs' thread count was said (once a sweep). */
  private threadsSaid = false;
  /** The jobs' runner processes (tfjs), kept from point to point. */
  private readonly warm = new Set<WarmRunner>();

  constructor(
    private readonly opts: SweepOptions,
    raw: Record<string, unknown>,
    name: string,
  ) {
    this.raw = raw;
    this.name = name;
    this.grid = raw.sweep as Record<string, unknown[]>;
    this.points = expandSweep(Object.entries(this.grid).map(([p, values]) => ({ path: p, values })));
    this.mine = opts.shard ? shardPoints(this.points, opts.shard.index, opts.shard.of) : this.points;
  }

  async start(): Promise<SweepOutcome> {
    makeFolders(this.opts.sweepDir, 'sweep folder');
    const queue: SweepPoint[] = [];
    for (const p of this.mine) {
      const entry = readPointStatus(this.opts.sweepDir, p.id);
      const fingerprint = this.fingerprint(p);
      let engineNow: EngineName | null = null;
      if (entry?.status === 'completed' && entry.fingerprint === fingerprint) {
        engineNow = entry.engine ? await this.engineNow(p) : null;
        if (engineNow === null || engineNow === entry.engine) {
          this.state.set(p.index, entry);
          continue;
        }
      }
      if (entry?.status === 'running' && entry.host === this.host && entry.pid !== null && entry.pid !== process.pid) {
        if (pidAlive(entry.pid)) {
          this.opts.log(`${p.id}: running in process ${entry.pid} on this machine; left alone`);
          this.state.set(p.index, entry);
          continue;
        }
      }
      if (entry && entry.status !== 'pending') {
        const why =
          entry.status === 'completed'
            ? engineNow !== null
              ? `it trained with ${entry.engine}; its engine now resolves to ${engineNow}`
              : 'its config or the overrides changed'
            : entry.status === 'running'
              ? `its process (${entry.host}:${entry.pid}) is gone`
              : `it ${entry.status}${entry.reason ? `: ${entry.reason}` : ''}`;
        this.opts.log(`${p.id}: rerunning into a fresh run folder (${why})`);
      }
      this.state.set(p.index, entry ?? pendingEntry(p));
      queue.push(p);
    }
    const skipped = this.mine.length - queue.length;
    const scope = this.opts.shard
      ? `shard ${this.opts.shard.index}/${this.opts.shard.of}: ${this.mine.length} of the grid's ${this.points.length} points`
      : `${this.points.length} points`;
    this.opts.log(
      `sweep ${this.name}: ${scope}, ${this.opts.jobs} at a time, into ${this.opts.sweepDir}` +
        (skipped > 0 ? ` (${skipped} already done or running elsewhere)` : ''),
    );
    this.refresh();
    this.concurrent = Math.max(1, Math.min(this.opts.jobs, queue.length));
    const workers = Array.from({ length: this.concurrent }, async () => {
      const warm = new WarmRunner(this.opts.onRunnerIdle, this.opts.sweepDir);
      this.warm.add(warm);
      try {
        for (let p = queue.shift(); p && !this.stopping; p = queue.shift()) await this.runPoint(p, warm);
      } finally {
        await warm.close(); // no runner outlives the sweep
        this.warm.delete(warm);
      }
    });
    await Promise.all(workers);
    this.refresh();
    const points = this.mine.map((p) => this.state.get(p.index) ?? pendingEntry(p));
    return { points, allCompleted: points.every((p) => p.status === 'completed'), stopped: this.stopping };
  }

  /** Stops every running point after its current step (killed after `graceMs`); starts no more. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.running.values()].map((h) => h.stop(graceMs)));
  }

  /** Kills every running point at once. */
  kill(): void {
    this.stopping = true;
    for (const h of this.running.values()) h.kill();
    for (const w of this.warm) w.kill();
  }

  /**
   * The engine a completed point would train with now (its request made again from its config
   * file, as its run was); null when that cannot be told (its file gone or invalid, no engine found).
   */
  private async engineNow(p: SweepPoint): Promise<EngineName | null> {
    const dir = path.join(this.opts.sweepDir, p.id);
    try {
      const file = path.join(dir, POINT_CONFIG);
      const checked = loadConfigFile(file);
      return checked.ok ? (await this.opts.request(file, checked.config, dir)).engine : null;
    } catch {
      return null;
    }
  }

  /** The fingerprint of a point: its config and the overrides it runs with. */
  private fingerprint(p: SweepPoint): string {
    const text = JSON.stringify({ config: this.configOf(p), overrides: this.opts.overrides });
    return createHash('sha1').update(text).digest('hex').slice(0, 16);
  }

  /** The point's config: the base with its values, named after the sweep and the point, paths made absolute. */
  private configOf(p: SweepPoint): Record<string, unknown> {
    const config = pointConfig(this.raw, p);
    delete config.$schema; // relative to the base config's folder
    config.name = `${this.name}-${p.id.split('-')[0]}`;
    const dataset = config.dataset as Record<string, unknown> | undefined;
    if (typeof dataset?.path === 'string') dataset.path = resolvePath(dataset.path, path.dirname(this.opts.configFile));
    return config;
  }

  private async runPoint(p: SweepPoint, warm: WarmRunner): Promise<void> {
    const dir = path.join(this.opts.sweepDir, p.id);
    const previous = this.state.get(p.index) ?? pendingEntry(p);
    const entry: PointEntry = {
      ...previous,
      values: p.values,
      runDir: null,
      status: 'running',
      testAccuracy: null,
      testLoss: null,
      reason: null,
      attempts: previous.attempts + 1,
      host: this.host,
      pid: process.pid,
      fingerprint: this.fingerprint(p),
    };
    const output = path.join(dir, POINT_OUTPUT);
    let handle: RunHandle | undefined;
    try {
      makeFolders(dir, "sweep point's folder");
      const configFile = path.join(dir, POINT_CONFIG);
      fs.writeFileSync(configFile, `${JSON.stringify(this.configOf(p), null, 2)}\n`);
      const checked = loadConfigFile(configFile);
      if (!checked.ok) throw new Error(`invalid point config:\n${checked.errors.map(formatError).join('\n')}`);
      const made = this.withThreads(await this.opts.request(configFile, checked.config, dir));
      const request: RunRequest = made.engine === 'tfjs' ? { ...made, warm } : made;
      entry.engine = made.engine;
      if (this.stopping) return; // Ctrl-C while the request was being made: the point stays as it was
      fs.appendFileSync(output, `--- attempt ${entry.attempts}, ${new Date().toISOString()}, ${this.host}\n`);
      const t0 = performance.now();
      handle = (this.opts.startRun ?? startRun)({
        ...request,
        onEvent: (e) => this.opts.onEvent?.(p, e),
        onOutput: (text) => fs.appendFileSync(output, text),
      });
      this.running.set(p.index, handle);
      entry.runDir = path.relative(this.opts.sweepDir, handle.runDir);
      this.record(entry);
      this.opts.log(`${p.id}: started, run folder ${handle.runDir} ${this.progress()}`);
      const finished = await handle.done;
      this.runMillis.set(p.index, performance.now() - t0);
      entry.status = finished.status;
      entry.reason = finished.reason;
      entry.testAccuracy = finished.testAccuracy;
      entry.testLoss = finished.testLoss;
    } catch (err) {
      entry.status = 'failed';
      entry.reason = err instanceof Error ? err.message : String(err);
    } finally {
      this.running.delete(p.index);
    }
    this.record(entry);
    const acc = entry.testAccuracy === null ? '' : `, test accuracy ${(100 * entry.testAccuracy).toFixed(2)}%`;
    const why = entry.status === 'completed' ? '' : `: ${entry.reason}${handle ? ` (output: ${output})` : ''}`;
    this.opts.log(`${p.id}: ${entry.status}${acc}${why} ${this.progress()}`);
  }

  /** A PyTorch point's request with its share of the cores (shareOfCores, src/launch/pytorch.ts), unless it has a thread count. */
  private withThreads(request: RunRequest): RunRequest {
    if (request.engine !== 'pytorch' || request.threads !== undefined) return request;
    const { threads, why } = shareOfCores(this.concurrent, request.processes);
    if (!this.threadsSaid) this.opts.log(`sweep ${this.name}: PyTorch runs: ${why}`);
    this.threadsSaid = true;
    return threads === undefined ? request : { ...request, threads };
  }

  /** Writes the point's status file, then sweep.json. */
  private record(entry: PointEntry): void {
    entry.updated = new Date().toISOString();
    this.state.set(entry.index, { ...entry });
    writeAtomic(path.join(this.opts.sweepDir, entry.folder, POINT_STATUS), entry);
    this.refresh();
  }

  /** Rebuilds sweep.json from every point's status file (other processes' points too), under the lock. */
  private refresh(): void {
    withLock(
      this.opts.sweepDir,
      () => {
        const points = this.points.map((p) => {
          const status = readPointStatus(this.opts.sweepDir, p.id);
          return status && status.index === p.index ? status : pendingEntry(p);
        });
        const file: SweepFile = {
          version: 1,
          config: this.opts.configFile,
          name: this.name,
          grid: this.grid,
          total: this.points.length,
          counts: countStatuses(points),
          updated: new Date().toISOString(),
          points,
        };
        writeAtomic(path.join(this.opts.sweepDir, SWEEP_FILE), file);
      },
      this.opts.log,
    );
  }

  /** "[3 done, 1 failed, 2 running of 8]" over this process's points. */
  progress(): string {
    const mine = this.mine.map((p) => this.state.get(p.index)?.status ?? 'pending');
    const n = (s: PointStatus) => mine.filter((x) => x === s).length;
    const stopped = n('stopped') > 0 ? `, ${n('stopped')} stopped` : '';
    return `[${n('completed')} done, ${n('failed')} failed${stopped}, ${n('running')} running of ${mine.length}]`;
  }
}

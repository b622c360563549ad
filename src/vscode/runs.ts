// The runs this window knows: the ones it started (live, a runner child process each) and the
// ones found on disk (past runs in the runs folders, logs that the watcher follows as other
// programs write them, or runs opened by hand). Keeps each run's log in memory (its records sampled
// past MAX_RECORDS, like TensorBoard's sampling, by runlog/read.ts's addEvent, so that a log of
// hundreds of megabytes stays cheap) and tells the views when runs change or events arrive.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  addEvent,
  addSkipped,
  describeSkipped,
  emptyRunLog,
  readRunLog,
  type RunLog,
  skippedCount,
} from '../runlog/read';
import type { RunEvent, RunFinished } from '../runlog/events';
import type { TailChunk } from '../runlog/tail';
import { CONFIG_COPY, EVENTS_FILE } from '../runlog/runfolder';
import { type ConfigChange, configChangeFrom, resolvedConfig } from '../engine/config/configChange';
import { fixed, percent } from '../runlog/format';
import { type RunHandle, type StartOptions, startRun } from '../launch/supervisor';
import type { RunListItem, RunListStatus } from '../../webview/protocol';

export interface Run {
  runId: string;
  runDir: string;
  log: RunLog;
  /** The runner, while this window's run is going. */
  handle?: RunHandle;
  /** Started by this window. */
  live: boolean;
  /** Written by another program (a script with the logger, a job elsewhere), not by this extension's runner. */
  outside: boolean;
  /** Followed by the watcher as its log grows. */
  watched?: boolean;
  /** When its log last grew (ms), for a followed run without run_finished. */
  lastGrowth?: number;
  /** Its config copy (config.layerrot.json in its folder), resolved as its config file; null: it has none that resolves. */
  resolvedCopy?: Record<string, unknown> | null;
}

/** Skipped lines of a log named one by one in the output channel. */
const MAX_SKIPPED_MESSAGES = 20;
/** A followed run whose log has not grown for this long is shown as unfinished, not running. */
export const QUIET_MS = 10 * 60 * 1000;

/** A run without run_finished that goes on: this window's runner, or a followed log that grew lately. */
export function isRunning(run: Run): boolean {
  if (run.log.finished) return false;
  return !!run.handle || (!!run.watched && run.lastGrowth !== undefined && Date.now() - run.lastGrowth < QUIET_MS);
}

/** A log that was not written by this extension's runner (no config): a script with the logger, or any other writer. */
function isOutside(log: RunLog): boolean {
  return !!log.started && !log.started.configFile;
}

function mtimeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** How long a runner may take to stop cleanly before it is terminated. */
export const STOP_GRACE_MS = 4000;

export class RunManager implements vscode.Disposable {
  private readonly runs = new Map<string, Run>();
  private selectedId: string | null = null;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly appended = new vscode.EventEmitter<{ runId: string; events: RunEvent[] }>();
  private readonly finishedEmitter = new vscode.EventEmitter<{ run: Run; finished: RunFinished }>();
  private readonly selectedEmitter = new vscode.EventEmitter<string>();
  /** The list of runs, their status or the selection changed. */
  readonly onDidChange = this.changed.event;
  /** New events of a run. */
  readonly onDidAppend = this.appended.event;
  /** A live run ended. */
  readonly onDidFinish = this.finishedEmitter.event;
  readonly onDidSelect = this.selectedEmitter.event;
  private readonly reloaded = new vscode.EventEmitter<string>();
  /** A run's log was replaced as a whole (a truncated or rewritten file, a thinned-out long log): views reload it. */
  readonly onDidReload = this.reloaded.event;
  private readonly reloadPending = new Set<string>();

  /** Open batches (holdChanges) and whether a change came while one was open. */
  private holds = 0;
  private heldChange = false;

  constructor(private readonly output: vscode.OutputChannel) {}

  /**
   * Holds change notifications until the returned function is called, then sends at most one:
   * reading hundreds of logs at start-up redraws the views once, not once per log.
   */
  holdChanges(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && this.heldChange) {
        this.heldChange = false;
        this.changed.fire();
      }
    };
  }

  private fireChanged(): void {
    if (this.holds > 0) this.heldChange = true;
    else this.changed.fire();
  }

  get all(): Run[] {
    return [...this.runs.values()].sort((a, b) => (b.log.started?.time ?? 0) - (a.log.started?.time ?? 0));
  }

  get(runId: string): Run | undefined {
    return this.runs.get(runId);
  }

  get selected(): Run | undefined {
    return this.selectedId ? this.runs.get(this.selectedId) : undefined;
  }

  get running(): Run[] {
    return this.all.filter((r) => r.handle && !r.log.finished);
  }

  select(runId: string): void {
    if (!this.runs.has(runId)) return;
    this.selectedId = runId;
    this.selectedEmitter.fire(runId);
    this.fireChanged();
  }

  status(run: Run): RunListStatus {
    if (run.log.finished) return run.log.finished.status;
    return isRunning(run) ? 'running' : 'unfinished';
  }

  listItems(): RunListItem[] {
    return this.all.map((r) => ({
      runId: r.runId,
      name: r.log.started?.name ?? r.runId,
      status: this.status(r),
      live: r.live,
      outside: r.outside,
    }));
  }

  /** The run whose log is this file. */
  byFile(file: string): Run | undefined {
    const key = path.resolve(file);
    return [...this.runs.values()].find((r) => r.log.file !== undefined && path.resolve(r.log.file) === key);
  }

  /** The most recent run of a config (by its absolute path), live or on disk. */
  latestFor(configFile: string): Run | undefined {
    const key = path.resolve(configFile);
    return this.all.find((r) => r.log.started?.configFile && path.resolve(r.log.started.configFile) === key);
  }

  /**
   * Whether a run's config changed since the run started: its folder's copy of the config against
   * `nowText` (the config's text now, saved or not), both resolved (src/engine/config/configChange.ts).
   * undefined when it cannot tell: a run without a config file or without a copy that resolves.
   */
  configChange(run: Run, nowText: string): ConfigChange | undefined {
    const file = run.log.started?.configFile;
    if (!file) return undefined;
    if (run.resolvedCopy === undefined) {
      // The copy is written before the run starts and never changes: read once found.
      let text: string;
      try {
        text = fs.readFileSync(path.join(run.runDir, CONFIG_COPY), 'utf8');
      } catch {
        return undefined; // none (yet)
      }
      run.resolvedCopy = resolvedConfig(text, file) ?? null;
    }
    return run.resolvedCopy ? configChangeFrom(run.resolvedCopy, nowText, file) : undefined;
  }

  /** Forgets a run whose folder was deleted (not a running one): the views drop it. */
  remove(runId: string): void {
    const run = this.runs.get(runId);
    if (!run || isRunning(run) || run.handle) return;
    this.runs.delete(runId);
    if (this.selectedId === runId) this.selectedId = this.all[0]?.runId ?? null;
    this.fireChanged();
  }

  /** Starts a runner child process for a config (the request's own onEvent and onOutput hear from it too: a sweep's). */
  start(req: StartOptions): Run {
    const run: Run = { runId: '', runDir: '', log: emptyRunLog(), live: true, outside: false };
    const { onEvent, onOutput } = req;
    const handle = startRun({
      ...req,
      onEvent: (e) => {
        this.onEvent(run, e, req.notes);
        onEvent?.(e);
      },
      onOutput: (text) => {
        this.output.append(text);
        onOutput?.(text);
      },
    });
    run.runId = handle.runId;
    run.runDir = handle.runDir;
    run.handle = handle;
    run.log.file = path.join(handle.runDir, EVENTS_FILE);
    this.runs.set(run.runId, run);
    this.output.appendLine(
      `[${run.runId}] started ${req.configFile} (${req.engine === 'pytorch' ? `pytorch engine, ${req.processes > 1 ? `torchrun with ${req.processes} processes, ` : ''}` : ''}pid ${handle.pid}), logging to ${run.log.file}`,
    );
    // Why this engine (src/launch/engineChoice.ts), said now: its copy in the run's log is not said again.
    for (const note of req.notes ?? []) this.output.appendLine(`[${run.runId}] ${note}`);
    this.select(run.runId);
    return run;
  }

  private onEvent(run: Run, e: RunEvent, said: readonly string[] = []): void {
    addEvent(run.log, e);
    this.appended.fire({ runId: run.runId, events: [e] });
    switch (e.type) {
      case 'run_started':
        this.output.appendLine(
          `[${run.runId}] ${e.dataset.name}: ${e.dataset.train} training samples, ${e.layers.length} kernel layers, ${e.optimizer ?? ''}, backend ${e.backendDescription ?? e.backend}`,
        );
        this.fireChanged();
        break;
      case 'epoch_end':
        this.fireChanged(); // the runs tree and the CodeLens show the epoch
        this.output.appendLine(
          `[${run.runId}] epoch ${e.epoch}: loss ${fixed(e.loss, 4)}, accuracy ${percent(e.accuracy, 2)}` +
            (e.valAccuracy === null ? '' : `, validation accuracy ${percent(e.valAccuracy, 2)}`) +
            `, ${fixed(e.samplesPerSecond, 0)} samples/s`,
        );
        break;
      case 'log':
        if (!(e.level === 'info' && said.includes(e.message)))
          this.output.appendLine(`[${run.runId}] ${e.level}: ${e.message}`);
        break;
      case 'run_finished':
        this.output.appendLine(
          `[${run.runId}] ${e.status}: ${e.reason}` +
            (e.testAccuracy === null ? '' : ` (test accuracy ${(100 * e.testAccuracy).toFixed(2)}%)`),
        );
        run.handle = undefined;
        this.fireChanged();
        this.finishedEmitter.fire({ run, finished: e });
        break;
    }
  }

  /** Asks a live run to stop; it is terminated if it has not within STOP_GRACE_MS. */
  async stop(runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (!run?.handle) return;
    this.output.appendLine(`[${runId}] stop requested`);
    await run.handle.stop(STOP_GRACE_MS);
  }

  /** Loads a run folder (or an events.jsonl) from disk; returns the run, or undefined when there is no log. */
  open(folderOrLog: string): Run | undefined {
    const file = folderOrLog.endsWith('.jsonl') ? folderOrLog : path.join(folderOrLog, EVENTS_FILE);
    if (!fs.existsSync(file)) return undefined;
    const log = readRunLog(file);
    const runDir = path.dirname(file);
    const runId = this.uniqueId(log.started?.runId || path.basename(runDir), file);
    const existing = this.runs.get(runId);
    if (existing?.handle) return existing; // live: its log in memory is current
    for (const line of describeSkipped(log, MAX_SKIPPED_MESSAGES)) this.output.appendLine(line);
    const run: Run = { runId, runDir, log, live: false, outside: isOutside(log) };
    this.runs.set(runId, run);
    this.fireChanged();
    return run;
  }

  /**
   * New content of a log the watcher follows. The first chunk of a file carries what it already
   * held; `reset` (truncated or replaced) starts the run over. Live runs of this window are fed by
   * their supervisor, not here.
   */
  ingest(file: string, chunk: TailChunk, options: { first: boolean }): void {
    let run = this.byFile(file);
    if (run?.live) return; // its supervisor reads it
    const fresh = !run || options.first || chunk.reset;
    if (!run || fresh) {
      const log = emptyRunLog(file);
      if (run) run.log = log;
      else {
        const runDir = path.dirname(file);
        run = { runId: '', runDir, log, live: false, outside: false, watched: true };
      }
    }
    run.watched = true;
    const isNew = !run.runId;
    // Records past the log's cap are sampled: only the samples go to the views (a thinning reloads them).
    const kept = chunk.events.filter((e) => {
      const added = addEvent(run!.log, e);
      if (added === 'thinned' && run!.runId) this.reloadPending.add(run!.runId);
      return added !== 'latest';
    });
    if (chunk.skipped.length) {
      // Each skipped line is named in the output, up to a point (all of them are in Problems).
      const before = skippedCount(run.log);
      for (const s of chunk.skipped) addSkipped(run.log, s);
      for (const s of chunk.skipped.slice(0, Math.max(0, MAX_SKIPPED_MESSAGES - before)))
        this.output.appendLine(`${file}:${s.line}: skipped: ${s.reason}`);
      if (before < MAX_SKIPPED_MESSAGES && skippedCount(run.log) > MAX_SKIPPED_MESSAGES)
        this.output.appendLine(`${file}: more lines skipped; the Problems panel lists them`);
    }
    if (isNew) {
      run.runId = this.uniqueId(run.log.started?.runId || path.basename(run.runDir), file);
      this.runs.set(run.runId, run);
    }
    run.outside = isOutside(run.log);
    // When the file last changed, not when we read it: an old log read now is not a running one.
    run.lastGrowth = mtimeOf(file);
    if (this.reloadPending.delete(run.runId) || fresh) this.reloaded.fire(run.runId);
    else if (kept.length) this.appended.fire({ runId: run.runId, events: kept });
    if (
      isNew ||
      fresh ||
      kept.some((e) => e.type === 'run_started' || e.type === 'epoch_end' || e.type === 'run_finished') ||
      chunk.skipped.length
    )
      this.fireChanged();
  }

  /** The watcher lost a log (deleted, or its folder is no longer watched). */
  forget(file: string): void {
    const run = this.byFile(file);
    if (!run || run.handle || run.live) return;
    this.runs.delete(run.runId);
    if (this.selectedId === run.runId) this.selectedId = this.all[0]?.runId ?? null;
    this.fireChanged();
  }

  private uniqueId(wanted: string, file: string): string {
    const base = wanted.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 180) || 'run';
    for (let i = 1; ; i++) {
      const id = i === 1 ? base : `${base}-${i}`;
      const other = this.runs.get(id);
      if (!other || (other.log.file && path.resolve(other.log.file) === path.resolve(file))) return id;
    }
  }

  /** Stops every live run: asks first, terminates after a short grace. No runner outlives the window. */
  async stopAll(graceMs = 2000): Promise<void> {
    await Promise.all(this.running.map((r) => r.handle!.stop(graceMs)));
  }

  dispose(): void {
    for (const r of this.running) r.handle?.kill();
    this.changed.dispose();
    this.appended.dispose();
    this.finishedEmitter.dispose();
    this.selectedEmitter.dispose();
    this.reloaded.dispose();
  }
}

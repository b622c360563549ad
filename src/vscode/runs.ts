// The runs this window knows: the ones it started (live, a runner child process each) and the
// ones found on disk (past runs in the runs folders, or opened by hand). Keeps each run's log
// in memory and tells the views when runs change or events arrive.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { addEvent, emptyRunLog, readRunLog, RunLog } from '../engine/analysis';
import type { RunEvent, RunFinished } from '../engine/events';
import { EVENTS_FILE } from '../engine/run';
import { PytorchOptions, RunHandle, startRun } from '../engine/supervisor';
import type { RunListItem } from '../shared/protocol';

export interface Run {
  runId: string;
  runDir: string;
  log: RunLog;
  /** The runner, while this window's run is going. */
  handle?: RunHandle;
  /** Started by this window. */
  live: boolean;
}

export interface StartRequest {
  configFile: string;
  name: string;
  runsDir: string;
  runnerScript: string;
  wasmPath: string;
  backend?: 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
  recordsPerEpoch?: number;
  /** Train with the pytorch engine. */
  pytorch?: PytorchOptions;
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

  constructor(private readonly output: vscode.OutputChannel) {}

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
    this.changed.fire();
  }

  status(run: Run): RunListItem['status'] {
    if (run.log.finished) return run.log.finished.status;
    return run.handle ? 'running' : 'unfinished';
  }

  listItems(): RunListItem[] {
    return this.all.map((r) => ({ runId: r.runId, name: r.log.started?.name ?? r.runId, status: this.status(r), live: r.live }));
  }

  /** The most recent run of a config (by its absolute path), live or on disk. */
  latestFor(configFile: string): Run | undefined {
    const key = path.resolve(configFile);
    return this.all.find((r) => r.log.started?.configFile && path.resolve(r.log.started.configFile) === key);
  }

  /** Starts a runner child process for a config. */
  start(req: StartRequest): Run {
    const run: Run = { runId: '', runDir: '', log: emptyRunLog(), live: true };
    const handle = startRun({
      configFile: req.configFile,
      runsDir: req.runsDir,
      name: req.name,
      runnerScript: req.runnerScript,
      wasmPath: req.wasmPath,
      backend: req.backend,
      recordsPerEpoch: req.recordsPerEpoch,
      pytorch: req.pytorch,
      onEvent: (e) => this.onEvent(run, e),
      onOutput: (text) => this.output.append(text),
    });
    run.runId = handle.runId;
    run.runDir = handle.runDir;
    run.handle = handle;
    run.log.file = path.join(handle.runDir, EVENTS_FILE);
    this.runs.set(run.runId, run);
    this.output.appendLine(`[${run.runId}] started ${req.configFile} (${req.pytorch ? `pytorch engine, ${req.pytorch.processes > 1 ? `torchrun with ${req.pytorch.processes} processes, ` : ''}` : ''}pid ${handle.pid}), logging to ${run.log.file}`);
    this.select(run.runId);
    return run;
  }

  private onEvent(run: Run, e: RunEvent): void {
    addEvent(run.log, e);
    this.appended.fire({ runId: run.runId, events: [e] });
    switch (e.type) {
      case 'run_started':
        this.output.appendLine(`[${run.runId}] ${e.dataset.name}: ${e.dataset.train} training samples, ${e.layers.length} kernel layers, ${e.optimizer ?? ''}, backend ${e.backendDescription ?? e.backend}`);
        this.changed.fire();
        break;
      case 'epoch_end':
        this.changed.fire(); // the runs tree and the CodeLens show the epoch
        this.output.appendLine(
          `[${run.runId}] epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, accuracy ${(100 * e.accuracy).toFixed(2)}%` +
            (e.valAccuracy === null ? '' : `, validation accuracy ${(100 * e.valAccuracy).toFixed(2)}%`) +
            `, ${Math.round(e.samplesPerSecond)} samples/s`,
        );
        break;
      case 'log':
        this.output.appendLine(`[${run.runId}] ${e.level}: ${e.message}`);
        break;
      case 'run_finished':
        this.output.appendLine(`[${run.runId}] ${e.status}: ${e.reason}` + (e.testAccuracy === null ? '' : ` (test accuracy ${(100 * e.testAccuracy).toFixed(2)}%)`));
        run.handle = undefined;
        this.changed.fire();
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
    const runId = log.started?.runId ?? path.basename(runDir);
    const existing = this.runs.get(runId);
    if (existing?.handle) return existing; // live: its log in memory is current
    for (const s of log.skipped) this.output.appendLine(`${file}:${s.line}: skipped: ${s.reason}`);
    const run: Run = { runId, runDir, log, live: false };
    this.runs.set(runId, run);
    this.changed.fire();
    return run;
  }

  /** Finds the past runs in the given runs folders (each subfolder with an events.jsonl). */
  scan(runsFolders: string[]): void {
    for (const folder of runsFolders) {
      let entries: string[];
      try {
        entries = fs.readdirSync(folder);
      } catch {
        continue;
      }
      for (const name of entries) {
        const dir = path.join(folder, name);
        if (!this.runs.has(name) && fs.existsSync(path.join(dir, EVENTS_FILE))) {
          try {
            this.open(dir);
          } catch (err) {
            this.output.appendLine(`${dir}: cannot read the run: ${(err as Error).message}`);
          }
        }
      }
    }
    if (!this.selectedId && this.runs.size) this.selectedId = this.all[0].runId;
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
  }
}

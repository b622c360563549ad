// The small views: the runs tree, the CodeLens on configs, and the status-bar item.
import * as path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import * as vscode from 'vscode';
import { sweepAxes } from '../engine/config/validate';
import { buildComparison, type ComparisonModel } from '../experiments/compare';
import { runInput } from '../experiments/compareFolders';
import {
  countStates,
  groupBySweep,
  pointStates,
  sweepChildren,
  sweepCountsText,
  sweepDirOf,
  sweepState,
} from '../experiments/sweepGroups';
import { readSweep, type SweepFile } from '../experiments/sweepRun';
import { optimizerWords, runFactLines, runFacts, type RunState, runRow, shortTime } from '../runlog/runFacts';
import { judgeLog, runStatus } from '../runlog/verdict';
import { skippedCount } from '../runlog/read';
import { COMMANDS, INTERNAL_COMMANDS, RUN_ITEM_CONTEXT } from './ids';
import { isRunning, type Run, type RunManager } from './runs';
import type { SweepManager } from './sweeps';

function percent(x: number | null | undefined): string | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : undefined;
}

/**
 * The verdict on a finished run in a few words (src/runlog/verdict.ts's runStatus): "2 lagging
 * layers" once it fit, else why its layers are not judged ("not fit (...)", "diverged: ...").
 */
export function verdictWords(run: Run): string {
  const v = judgeLog(run.log);
  return v ? runStatus(v) : 'no run_started: not judged';
}

/**
 * The notification of a completed run, its result first: "Training mnist-mlp completed: 97.81%
 * test accuracy, 2 lagging layers (lr 0.1 sgd+Layca, started May 3 14:05)."
 */
export function completedMessage(run: Run): string {
  const f = runFacts(run.log);
  const result = [
    f.testAccuracy === null ? undefined : `${(100 * f.testAccuracy).toFixed(2)}% test accuracy`,
    verdictWords(run),
  ]
    .filter(Boolean)
    .join(', ');
  const how = [optimizerWords(f), f.start === null ? undefined : `started ${shortTime(f.start)}`]
    .filter(Boolean)
    .join(', ');
  return `Training ${run.log.started?.name ?? run.runId} completed: ${result}${how ? ` (${how})` : ''}.`;
}

/** The epoch a running run is in (1-based), from its last rotation record. */
function currentEpoch(run: Run): number {
  const s = run.log.started;
  const step = run.log.rotations[run.log.rotations.length - 1]?.step ?? 0;
  return s?.stepsPerEpoch
    ? Math.min(s.epochs || Infinity, Math.floor(step / s.stepsPerEpoch) + 1)
    : (run.log.epochs[run.log.epochs.length - 1]?.epoch ?? 0) + 1; // the last one ended (records may be sampled)
}

/** Where a run is, for its row (src/runlog/runFacts.ts). */
function runState(run: Run, status: string): RunState {
  return status === 'running'
    ? { status, epoch: currentEpoch(run), epochs: run.log.started?.epochs || null }
    : { status };
}

/** A one-line result of a run: "99.1% test accuracy, 2 lagging layers", "96.9% test accuracy, not fit (...)". */
export function runResult(run: Run): string {
  const f = run.log.finished;
  const s = run.log.started;
  if (!f) {
    if (!isRunning(run)) return 'unfinished';
    return `running, epoch ${currentEpoch(run)} of ${s?.epochs || '?'}`;
  }
  const parts = [
    f.status === 'completed' ? undefined : f.status,
    percent(f.testAccuracy) && `${percent(f.testAccuracy)} test accuracy`,
    verdictWords(run),
  ];
  return parts.filter(Boolean).join(', ');
}

/** A sweep's node in the runs tree: its folder, its sweep.json as read with the tree, and its runs. */
export interface SweepNode {
  sweepDir: string;
  sweep: SweepFile | undefined;
  runs: Run[];
}

export type RunsTreeElement = Run | SweepNode;

export const isSweepNode = (e: RunsTreeElement): e is SweepNode => 'sweepDir' in e;

const ICONS: Record<string, vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('sync~spin'),
  completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  stopped: new vscode.ThemeIcon('debug-stop'),
  unfinished: new vscode.ThemeIcon('question'),
  pending: new vscode.ThemeIcon('circle-large-outline'),
};

/** The runs, a sweep's runs (started here, found on disk or followed) under one node each (src/experiments/sweepGroups.ts). */
export class RunsTree implements vscode.TreeDataProvider<RunsTreeElement> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  /** Run folder to its sweep folder (null: none); a run folder does not move. */
  private readonly sweepOfRun = new Map<string, string | null>();
  /** A sweep's runs as its children show them: the point's values, and whether an earlier attempt. */
  private readonly points = new Map<string, { label: string; current: boolean }>();
  /** sweep.json and the status files as read lately (the tree redraws at every epoch of every run). */
  private readonly sweepFiles = new Map<string, { read: number; sweep: SweepFile | undefined }>();
  /** Each sweep's comparison, and the state of its runs it was built from. */
  private readonly comparisons = new Map<string, { key: string; model: ComparisonModel }>();

  constructor(
    private readonly runs: RunManager,
    private readonly sweeps?: SweepManager,
  ) {
    runs.onDidChange(() => this.changed.fire());
    sweeps?.onDidChange(() => {
      this.sweepFiles.clear(); // a point of this window's sweep changed status: read its files again
      this.changed.fire();
    });
  }

  private sweepDirOf(run: Run): string | undefined {
    let dir = this.sweepOfRun.get(run.runDir);
    if (dir === undefined) {
      dir = sweepDirOf(run.runDir) ?? null;
      this.sweepOfRun.set(run.runDir, dir);
    }
    return dir ?? undefined;
  }

  /** A sweep folder's state, read again when the last read is over a second old. */
  private readSweep(sweepDir: string): SweepFile | undefined {
    const now = Date.now();
    const cached = this.sweepFiles.get(sweepDir);
    if (cached && now - cached.read < 1000) return cached.sweep;
    const sweep = readSweep(sweepDir);
    this.sweepFiles.set(sweepDir, { read: now, sweep });
    return sweep;
  }

  getChildren(element?: RunsTreeElement): RunsTreeElement[] {
    if (!element) {
      const top: RunsTreeElement[] = groupBySweep(this.runs.all, (r) => this.sweepDirOf(r)).map((g) =>
        g.kind === 'run' ? g.run : { sweepDir: g.sweepDir, sweep: this.readSweep(g.sweepDir), runs: g.runs },
      );
      // A sweep of this window whose first point has not started yet.
      for (const a of this.sweeps?.running ?? [])
        if (!top.some((e) => isSweepNode(e) && e.sweepDir === a.sweepDir))
          top.unshift({ sweepDir: a.sweepDir, sweep: this.readSweep(a.sweepDir), runs: [] });
      return top;
    }
    if (!isSweepNode(element)) return [];
    return sweepChildren(element.sweepDir, element.sweep, element.runs, (r) => r.runDir).map((c) => {
      this.points.set(c.run.runId, { label: c.label, current: c.current });
      return c.run;
    });
  }

  getTreeItem(element: RunsTreeElement): vscode.TreeItem {
    return isSweepNode(element) ? this.sweepItem(element) : this.runItem(element);
  }

  /**
   * On hover: what a sweep's runs say of the paper's rule (src/experiments/evidence.ts), on its
   * node, and how a point's run stands among its siblings, on the run's. Built here, not with the
   * tree, which redraws at every epoch of every run.
   */
  resolveTreeItem(item: vscode.TreeItem, element: RunsTreeElement): vscode.TreeItem {
    const dir = isSweepNode(element) ? element.sweepDir : this.sweepDirOf(element);
    const model = dir ? this.sweepComparison(dir) : undefined;
    if (!model || !(item.tooltip instanceof vscode.MarkdownString)) return item;
    const text = isSweepNode(element)
      ? `**What its runs say:** ${model.reading.text}`
      : model.rows.find((r) => r.folder === path.resolve(element.runDir))?.relative?.text;
    if (text) item.tooltip = new vscode.MarkdownString(`${item.tooltip.value}\n\n${text}`);
    return item;
  }

  /** The comparison of a sweep's current runs (earlier attempts aside), cached while none of them moves. */
  sweepComparison(sweepDir: string): ComparisonModel | undefined {
    const dir = path.resolve(sweepDir);
    const runs = this.runs.all.filter((r) => {
      const of = this.sweepDirOf(r);
      return of !== undefined && path.resolve(of) === dir;
    });
    const current = sweepChildren(dir, this.readSweep(dir), runs, (r) => r.runDir)
      .filter((c) => c.current && c.run.log.started)
      .map((c) => c.run);
    if (current.length < 2) return undefined;
    const key = current.map((r) => `${r.runDir}:${r.log.finished ? 'end' : r.log.epochs.length}`).join('|');
    const cached = this.comparisons.get(dir);
    if (cached?.key === key) return cached.model;
    const model = buildComparison(current.map((r) => runInput(r.runDir, r.log)));
    this.comparisons.set(dir, { key, model });
    return model;
  }

  private sweepItem(node: SweepNode): vscode.TreeItem {
    const byDir = new Map(node.runs.map((r) => [path.resolve(r.runDir), r]));
    const total = node.sweep?.total ?? node.runs.length;
    const states = node.sweep
      ? [
          ...pointStates(node.sweepDir, node.sweep, (dir) =>
            byDir.has(dir) ? this.runs.status(byDir.get(dir)!) : undefined,
          ).values(),
        ]
      : node.runs.map((r) => this.runs.status(r));
    const counts = countStates(states, total);
    const active = this.sweeps?.get(node.sweepDir);
    const item = new vscode.TreeItem(
      node.sweep?.name ?? path.basename(node.sweepDir),
      active ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id = `sweep:${node.sweepDir}`;
    item.description = sweepCountsText(counts, total);
    const grid = Object.entries(node.sweep?.grid ?? {})
      .map(([p, values]) => `- \`${p}\`: ${values.map((v) => JSON.stringify(v)).join(', ')}`)
      .join('\n');
    item.tooltip = new vscode.MarkdownString(
      `**sweep ${item.label}**${active ? ' (running in this window)' : ''}: ${item.description}\n\n${grid}\n\n\`${node.sweepDir}\``,
    );
    item.iconPath = ICONS[active ? 'running' : sweepState(counts, total)];
    item.contextValue = active ? RUN_ITEM_CONTEXT.sweepRunning : RUN_ITEM_CONTEXT.sweep;
    return item;
  }

  private runItem(run: Run): vscode.TreeItem {
    const status = this.runs.status(run);
    const point = this.points.get(run.runId);
    const item = new vscode.TreeItem(point?.label ?? run.log.started?.name ?? run.runId);
    item.id = run.runId;
    const facts = runFacts(run.log);
    // The most telling facts first (a narrow side bar cuts the end); all of them in the tooltip.
    item.description = [
      run.outside ? 'outside' : undefined,
      point && !point.current ? 'earlier attempt' : undefined,
      runRow(facts, runState(run, status)),
    ]
      .filter(Boolean)
      .join(' · ');
    const skipped = skippedCount(run.log)
      ? `\n\n${skippedCount(run.log)} line(s) of the log skipped (see Problems)`
      : '';
    const config = run.log.started?.configFile ? `\n\nConfig: \`${run.log.started.configFile}\`` : '';
    item.tooltip = new vscode.MarkdownString(
      `**${run.runId}**${run.outside ? ' (outside run: written by another program)' : ''}\n\n${status === 'running' ? runResult(run) : status}${run.log.finished ? `: ${run.log.finished.reason}` : ''}\n\n` +
        `${runFactLines(facts).join('  \n')}${config}\n\n\`${run.log.file ?? run.runDir}\`${skipped}`,
    );
    item.iconPath = ICONS[status];
    item.contextValue = status === 'running' ? RUN_ITEM_CONTEXT.running : RUN_ITEM_CONTEXT.other;
    item.command = { command: INTERNAL_COMMANDS.showRun, title: 'Show Run', arguments: [run.runId] };
    return item;
  }
}

export class ConfigLenses implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly runs: RunManager) {
    runs.onDidChange(() => this.changed.fire());
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    const sweep = hasSweep(doc.getText())
      ? [new vscode.CodeLens(top, { title: '$(run-all) Sweep', command: COMMANDS.runSweep, arguments: [doc.uri] })]
      : [];
    const lenses = [
      ...sweep,
      new vscode.CodeLens(top, {
        title: '$(play) Train',
        command: COMMANDS.startTraining,
        arguments: [doc.uri],
      }),
      new vscode.CodeLens(top, { title: '$(graph-line) Monitor', command: COMMANDS.showMonitor }),
    ];
    const last = this.runs.latestFor(doc.fileName);
    if (last) {
      // Its result is of the config it started with: say so once the text differs (src/vscode/diagnostics.ts).
      const changed = this.runs.configChange(last, doc.getText())?.changed ? ' (config changed since)' : '';
      lenses.push(
        new vscode.CodeLens(top, {
          title: `Last run: ${runResult(last)}${changed}`,
          command: INTERNAL_COMMANDS.showRun,
          arguments: [last.runId],
        }),
      );
    }
    return lenses;
  }
}

/** Whether a config's text has a sweep block (the Sweep CodeLens; Train offers the sweep on such configs). */
function hasSweep(text: string): boolean {
  return sweepAxes(parseJsonc(text, [], { allowTrailingComma: true })) !== undefined;
}

export class TrainingStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('layerRotation.status', vscode.StatusBarAlignment.Left, 10);
  private lastUpdate = 0;

  constructor(private readonly runs: RunManager) {
    this.item.name = 'Layer Rotation Training';
    this.item.command = COMMANDS.showMonitor;
    runs.onDidChange(() => this.update(true));
    runs.onDidAppend(() => this.update(false));
  }

  private update(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastUpdate < 500) return;
    this.lastUpdate = now;
    const running = this.runs.running;
    if (!running.length) {
      this.item.hide();
      return;
    }
    const run = running[0];
    const s = run.log.started;
    const batch = run.log.batches[run.log.batches.length - 1];
    const epochs = run.log.epochs;
    const sps = epochs.length ? epochs[epochs.length - 1].samplesPerSecond : undefined;
    const epoch = batch ? Math.min(s?.epochs ?? 1, Math.floor(batch.epoch) + 1) : 1;
    const name = s?.name ?? path.basename(run.runDir);
    this.item.text = `$(sync~spin) ${name}: epoch ${epoch}/${s?.epochs ?? '?'}${sps ? `, ${Math.round(sps).toLocaleString('en-US')} samples/s` : ''}${running.length > 1 ? ` (+${running.length - 1})` : ''}`;
    this.item.tooltip = 'Layer Rotation: training. Click to show the monitor.';
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}

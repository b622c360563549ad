// The small views: the runs tree, the CodeLens on configs, and the status-bar item.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { judgeLog, runStatus } from '../runlog/verdict';
import { COMMANDS, INTERNAL_COMMANDS, RUN_ITEM_CONTEXT } from './ids';
import { isRunning, type Run, type RunManager } from './runs';

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

/** A one-line result of a run: "99.1% test accuracy, 2 lagging layers", "96.9% test accuracy, not fit (...)". */
export function runResult(run: Run): string {
  const f = run.log.finished;
  const s = run.log.started;
  if (!f) {
    if (!isRunning(run)) return 'unfinished';
    const step = run.log.rotations[run.log.rotations.length - 1]?.step ?? 0;
    const epoch = s?.stepsPerEpoch
      ? Math.min(s.epochs || Infinity, Math.floor(step / s.stepsPerEpoch) + 1)
      : run.log.epochs.length + 1;
    return `running, epoch ${epoch} of ${s?.epochs || '?'}`;
  }
  const parts = [
    f.status === 'completed' ? undefined : f.status,
    percent(f.testAccuracy) && `${percent(f.testAccuracy)} test accuracy`,
    verdictWords(run),
  ];
  return parts.filter(Boolean).join(', ');
}

export class RunsTree implements vscode.TreeDataProvider<Run> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly runs: RunManager) {
    runs.onDidChange(() => this.changed.fire());
  }

  getChildren(element?: Run): Run[] {
    return element ? [] : this.runs.all;
  }

  getTreeItem(run: Run): vscode.TreeItem {
    const status = this.runs.status(run);
    const item = new vscode.TreeItem(run.log.started?.name ?? run.runId);
    item.id = run.runId;
    item.description = `${run.outside ? 'outside · ' : ''}${runResult(run)}`;
    const skipped = run.log.skipped.length
      ? `\n\n${run.log.skipped.length} line(s) of the log skipped (see Problems)`
      : '';
    item.tooltip = new vscode.MarkdownString(
      `**${run.runId}**${run.outside ? ' (outside run: written by another program)' : ''}\n\n${status}${run.log.finished ? `: ${run.log.finished.reason}` : ''}\n\n` +
        `engine: ${run.log.started?.engine ?? '?'}, backend: ${run.log.started?.backendDescription ?? run.log.started?.backend ?? '?'}\n\n\`${run.log.file ?? run.runDir}\`${skipped}`,
    );
    const icons: Record<string, vscode.ThemeIcon> = {
      running: new vscode.ThemeIcon('sync~spin'),
      completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
      failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
      stopped: new vscode.ThemeIcon('debug-stop'),
      unfinished: new vscode.ThemeIcon('question'),
    };
    item.iconPath = icons[status];
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
    const lenses = [
      new vscode.CodeLens(top, {
        title: '$(play) Train',
        command: COMMANDS.startTraining,
        arguments: [doc.uri],
      }),
      new vscode.CodeLens(top, { title: '$(graph-line) Monitor', command: COMMANDS.showMonitor }),
    ];
    const last = this.runs.latestFor(doc.fileName);
    if (last) {
      lenses.push(
        new vscode.CodeLens(top, {
          title: `Last run: ${runResult(last)}`,
          command: INTERNAL_COMMANDS.showRun,
          arguments: [last.runId],
        }),
      );
    }
    return lenses;
  }
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

// Comparing runs in an editor tab (issue 9): the comparison model of src/experiments/compare.ts,
// built on the host from the runs the run manager holds, sent as plain data to the tab
// (webview/compare/, protocol webview/compareProtocol.ts); exports written here, through a save
// dialog (or to a given path: tests).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { buildComparison, type ComparisonModel, type RunInput, sortRows } from '../experiments/compare';
import { runCurves } from '../experiments/compareCurves';
import { comparisonCsv, curvesCsvChunks } from '../experiments/compareExport';
import { runInput } from '../experiments/compareFolders';
import { accuracyRotationSvg, curvesGridSvg } from '../experiments/compareSvg';
import {
  type CompareHostMessage,
  type CompareTestState,
  type CompareWebviewMessage,
  type ExportKind,
  isCompareWebviewMessage,
  type PngExportKind,
  type RotationAxis,
  type SortOrder,
} from '../../webview/compareProtocol';
import { monitorHtml } from '../../webview/html';
import { COMPARE_PANEL_TYPE, INTERNAL_COMMANDS } from './ids';
import type { RunManager } from './runs';

/** Every export: what the save dialog proposes. */
const FILES: Record<ExportKind | PngExportKind, { name: string; filter: Record<string, string[]> }> = {
  tableCsv: { name: 'comparison.csv', filter: { CSV: ['csv'] } },
  curvesCsv: { name: 'comparison-curves.csv', filter: { CSV: ['csv'] } },
  figureSvg: { name: 'accuracy-rotation.svg', filter: { SVG: ['svg'] } },
  curvesSvg: { name: 'comparison-curves.svg', filter: { SVG: ['svg'] } },
  figurePng: { name: 'accuracy-rotation.png', filter: { PNG: ['png'] } },
  curvesPng: { name: 'comparison-curves.png', filter: { PNG: ['png'] } },
};

/** A comparison is built again at most this often while its runs move on. */
const REFRESH_MS = 1000;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The comparison of runs of the run manager (by id); runs without run_started are left out, with a note. */
export function compareRunsOf(
  runs: RunManager,
  runIds: string[],
): { inputs: RunInput[]; ids: string[]; notes: string[] } {
  const inputs: RunInput[] = [];
  const ids: string[] = [];
  const notes: string[] = [];
  for (const id of [...new Set(runIds)]) {
    const run = runs.get(id);
    if (!run) notes.push(`${id}: no such run`);
    else if (!run.log.started) notes.push(`${id}: left out: its log has no run_started event yet`);
    else {
      inputs.push(runInput(run.runDir, run.log));
      ids.push(id);
    }
  }
  return { inputs, ids, notes };
}

/** The comparison tab: one at a time; Compare Runs again replaces what it shows. */
export class CompareView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private inputs: RunInput[] = [];
  /** What each input's log held when the comparison was built (to see that it moved on). */
  private finished: unknown[] = [];
  private epochs: number[] = [];
  /** The run manager's id of each input (a log's own runId may be shared by two folders). */
  private ids: string[] = [];
  private model: ComparisonModel | undefined;
  private notes: string[] = [];
  private ready = false;
  private lastState: CompareTestState | undefined;
  private readonly distUri: vscode.Uri;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly watch: vscode.Disposable;

  constructor(
    extensionUri: vscode.Uri,
    private readonly runs: RunManager,
    private readonly output: vscode.OutputChannel,
  ) {
    this.distUri = vscode.Uri.joinPath(extensionUri, 'dist');
    // A compared run that moves on (an epoch ends, it finishes): the comparison is built again, at most once a second.
    this.watch = runs.onDidChange(() => {
      if (!this.panel || this.refreshTimer) return;
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = undefined;
        if (this.panel && this.changed()) this.rebuild(this.ids);
      }, REFRESH_MS);
    });
  }

  /** The runs compared have other logs, or more events, than when the comparison was built. */
  private changed(): boolean {
    return this.ids.some((id, i) => {
      const log = this.runs.get(id)?.log;
      const was = this.inputs[i]?.log;
      return log !== was || log?.finished !== this.finished[i] || log?.epochs.length !== this.epochs[i];
    });
  }

  /** Builds the comparison of these runs and sends it to the tab (once it is ready); returns how many runs it holds. */
  private rebuild(runIds: string[]): number {
    const { inputs, ids, notes } = compareRunsOf(this.runs, runIds);
    this.inputs = inputs;
    this.ids = ids;
    this.notes = notes;
    this.finished = inputs.map((r) => r.log.finished);
    this.epochs = inputs.map((r) => r.log.epochs.length);
    this.model = buildComparison(inputs);
    this.send();
    return inputs.length;
  }

  /** What the tab last reported drawing (tests). */
  get testState(): CompareTestState | undefined {
    return this.panel ? this.lastState : undefined;
  }

  /** Opens (or reveals) the tab showing these runs. Returns how many runs it compares (0: none of them can be, no tab). */
  open(runIds: string[]): number {
    const usable = compareRunsOf(this.runs, runIds);
    if (!usable.inputs.length) {
      void vscode.window.showWarningMessage(
        `No run to compare: ${usable.notes.join('; ') || 'none given'}. Compare runs that have started.`,
      );
      return 0;
    }
    this.lastState = undefined;
    const n = this.rebuild(runIds);
    const title = `Compare ${n} Run${n === 1 ? '' : 's'}`;
    if (this.panel) {
      this.panel.title = title;
      this.panel.reveal();
      return n;
    }
    const panel = vscode.window.createWebviewPanel(COMPARE_PANEL_TYPE, title, vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [this.distUri],
    });
    this.panel = panel;
    this.ready = false;
    const nonce = randomBytes(16).toString('base64');
    const asUri = (f: string) => panel.webview.asWebviewUri(vscode.Uri.joinPath(this.distUri, f)).toString();
    panel.webview.html = monitorHtml({
      scriptUri: asUri('compare.js'),
      styleUri: asUri('compare.css'),
      cspSource: panel.webview.cspSource,
      nonce,
      title,
    });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (isCompareWebviewMessage(m)) void this.receive(m);
      }),
      panel.onDidDispose(() => {
        this.panel = undefined;
        this.lastState = undefined;
        this.disposables.splice(0).forEach((d) => d.dispose());
      }),
    );
    return n;
  }

  private send(): void {
    if (!this.panel || !this.ready || !this.model) return;
    const curves = this.inputs.map((r, i) => runCurves(this.model!.rows[i].runId, r.log));
    const m: CompareHostMessage = { type: 'comparison', model: this.model, curves, notes: this.notes };
    void this.panel.webview.postMessage(m);
  }

  private async receive(m: CompareWebviewMessage): Promise<void> {
    try {
      switch (m.type) {
        case 'ready':
          this.ready = true;
          this.send();
          break;
        case 'state':
          this.lastState = m.state;
          break;
        case 'showRun': {
          const i = this.model?.rows.findIndex((r) => r.runId === m.runId) ?? -1;
          if (i >= 0) await vscode.commands.executeCommand(INTERNAL_COMMANDS.showRun, this.ids[i]);
          break;
        }
        case 'export':
          await this.export(m.kind, undefined, { sort: m.sort, x: m.x });
          break;
        case 'png':
          await this.savePng(m.kind, Buffer.from(m.data, 'base64'));
          break;
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.output.appendLine(`compare: ${message}`);
      void vscode.window.showErrorMessage(`Layer Rotation: ${message}`);
    }
  }

  private async target(kind: ExportKind | PngExportKind, file?: string): Promise<string | undefined> {
    if (file) return file;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const picked = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, FILES[kind].name) : undefined,
      filters: FILES[kind].filter,
      title: `Save ${FILES[kind].name}`,
    });
    return picked?.fsPath;
  }

  /**
   * Writes an export of the comparison shown: to `file`, else where the save dialog says. The
   * table's rows in `sort` order, the figure against `x`. Returns the path written.
   */
  async export(
    kind: ExportKind,
    file?: string,
    opts: { sort?: SortOrder | null; x?: RotationAxis } = {},
  ): Promise<string | undefined> {
    const model = this.model;
    if (!model) throw new Error('no comparison is open');
    const dest = await this.target(kind, file);
    if (!dest) return undefined;
    const rows = opts.sort ? sortRows(model.rows, opts.sort.key, opts.sort.descending) : model.rows;
    const logs = this.inputs.map((r, i) => ({ row: model.rows[i], log: r.log }));
    const order = rows.map((row) => logs.find((l) => l.row === row)!);
    if (kind === 'tableCsv') fs.writeFileSync(dest, comparisonCsv(model, rows));
    else if (kind === 'figureSvg') fs.writeFileSync(dest, accuracyRotationSvg(model, opts.x ?? 'min'));
    else if (kind === 'curvesSvg') fs.writeFileSync(dest, curvesGridSvg(order));
    else {
      // Chunk by chunk: 50 runs x 20 layers x 2,000 records are 2,000,000 lines.
      const fd = fs.openSync(dest, 'w');
      try {
        for (const chunk of curvesCsvChunks(order.map((o) => ({ runId: o.row.runId, log: o.log }))))
          fs.writeSync(fd, chunk);
      } finally {
        fs.closeSync(fd);
      }
    }
    this.output.appendLine(`compare: wrote ${dest}`);
    return dest;
  }

  private async savePng(kind: PngExportKind, bytes: Buffer): Promise<void> {
    if (!bytes.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('the tab sent an image that is not a PNG');
    const dest = await this.target(kind);
    if (!dest) return;
    fs.writeFileSync(dest, bytes);
    this.output.appendLine(`compare: wrote ${dest}`);
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.watch.dispose();
    this.panel?.dispose();
  }
}

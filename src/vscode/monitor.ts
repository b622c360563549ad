// The monitor webview, in the side panel (a webview view) and in the editor area (a panel): the
// HTML with a strict CSP and a nonce, resources only from the extension's dist folder, and the
// host side of the one message protocol (webview/protocol.ts): the runs' events out; the chart
// settings in (kept per workspace in workspaceState, sent to every monitor as it opens) and
// exports (the run's records as CSV and its curves as SVG written here from the run log, the PNG
// the webview rendered), through a save dialog or, for tests, to a given path.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { RunEvent } from '../runlog/events';
import { DEFAULT_VIEW } from '../runlog/chartMath';
import { curvesMetaOf, curvesTableOf, type ExportView, monitorCsvChunks, monitorSvg } from '../runlog/runExport';
import {
  type HostMessage,
  isViewSettings,
  isWebviewMessage,
  type MonitorExportKind,
  type ViewSettings,
  type WebviewMessage,
} from '../../webview/protocol';
import { monitorHtml } from '../../webview/html';
import { MONITOR_PANEL_TYPE } from './ids';
import { MonitorFeed } from './monitorFeed';
import type { RunManager } from './runs';

/** Where the chart settings are kept (workspaceState). */
export const SETTINGS_KEY = 'layerRotation.monitorSettings';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** What the save dialog proposes for each export. */
const FILES: Record<MonitorExportKind | 'png', { ext: string; filter: Record<string, string[]> }> = {
  csv: { ext: 'csv', filter: { CSV: ['csv'] } },
  svg: { ext: 'svg', filter: { SVG: ['svg'] } },
  png: { ext: 'png', filter: { PNG: ['png'] } },
};

/** The settings kept for this workspace (the defaults when none, or when they no longer validate). */
export function storedSettings(state: vscode.Memento): ViewSettings {
  const s = state.get<unknown>(SETTINGS_KEY);
  return isViewSettings(s) ? s : DEFAULT_VIEW;
}

/** Appended events are sent in batches, at most this often. */
const FLUSH_MS = 50;

/** One webview showing the monitor: keeps it in sync with the run manager. */
class MonitorSession implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly loaded = new Set<string>();
  private readonly queued = new Map<string, RunEvent[]>();
  /** The messages' events (a run of more than MAX_LAYERS_KEPT layers: only the layers kept). */
  private readonly feed = new MonitorFeed();
  private timer: NodeJS.Timeout | undefined;
  private ready = false;

  constructor(
    private readonly webview: vscode.Webview,
    private readonly distUri: vscode.Uri,
    private readonly runs: RunManager,
    private readonly onMessage: (m: WebviewMessage, from: MonitorSession) => void,
    private readonly settings: () => ViewSettings,
  ) {
    webview.options = { enableScripts: true, localResourceRoots: [distUri] };
    webview.html = this.html();
    this.disposables.push(
      webview.onDidReceiveMessage((m: unknown) => {
        if (!isWebviewMessage(m)) return; // only the protocol's messages get through
        if (m.type === 'ready') {
          this.ready = true;
          this.loaded.clear();
          this.post({ type: 'settings', settings: this.settings() });
          this.sendRuns();
        } else this.onMessage(m, this);
      }),
      runs.onDidChange(() => this.sendRuns()),
      runs.onDidAppend(({ runId, events }) => this.queue(runId, events)),
      runs.onDidReload((runId) => {
        // Sent whole again with the next list, if it is shown.
        this.loaded.delete(runId);
        this.queued.delete(runId);
        this.feed.forget(runId);
        this.sendRuns();
      }),
    );
  }

  private html(): string {
    const nonce = randomBytes(16).toString('base64');
    return monitorHtml({
      scriptUri: this.webview.asWebviewUri(vscode.Uri.joinPath(this.distUri, 'webview.js')).toString(),
      styleUri: this.webview.asWebviewUri(vscode.Uri.joinPath(this.distUri, 'webview.css')).toString(),
      cspSource: this.webview.cspSource,
      nonce,
      title: 'Layer Rotation Monitor',
    });
  }

  post(m: HostMessage): void {
    if (this.ready) void this.webview.postMessage(m);
  }

  private sendRuns(): void {
    if (!this.ready) return;
    const selected = this.runs.selected;
    // Full logs only once per run and webview; appends after that.
    for (const run of this.runs.all) {
      if (!this.loaded.has(run.runId) && (run === selected || run.handle)) {
        this.loaded.add(run.runId);
        this.queued.delete(run.runId);
        this.post(this.feed.load(run.runId, run.log));
      }
    }
    this.post({ type: 'runs', runs: this.runs.listItems(), selected: selected?.runId ?? null });
  }

  private queue(runId: string, events: RunEvent[]): void {
    if (!this.loaded.has(runId)) return; // its full log goes with the next 'load'
    const q = this.queued.get(runId) ?? [];
    this.feed.keep(runId, events, q);
    this.queued.set(runId, q);
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    this.timer = undefined;
    for (const [runId, events] of this.queued) this.post(this.feed.update(runId, events, this.runs.get(runId)?.log));
    this.queued.clear();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.disposables.forEach((d) => d.dispose());
  }
}

export class Monitor implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: MonitorSession | undefined;
  private panel: { panel: vscode.WebviewPanel; session: MonitorSession } | undefined;
  private readonly distUri: vscode.Uri;
  /** What the webview showed when it last asked for an export: the internal command's default. */
  private lastView: ExportView | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private readonly runs: RunManager,
    private readonly onMessage: (m: WebviewMessage) => void,
    private readonly state: vscode.Memento,
    private readonly output: vscode.OutputChannel,
  ) {
    this.distUri = vscode.Uri.joinPath(extensionUri, 'dist');
  }

  /** The chart settings of this workspace. */
  get settings(): ViewSettings {
    return storedSettings(this.state);
  }

  private session(webview: vscode.Webview): MonitorSession {
    return new MonitorSession(
      webview,
      this.distUri,
      this.runs,
      (m, from) => void this.receive(m, from),
      () => this.settings,
    );
  }

  private async receive(m: WebviewMessage, from: MonitorSession): Promise<void> {
    try {
      switch (m.type) {
        case 'settings':
          await this.state.update(SETTINGS_KEY, m.settings);
          // The other monitor (side view or editor panel) follows.
          for (const s of [this.view, this.panel?.session]) if (s && s !== from) s.post(m);
          return;
        case 'export':
          this.lastView = m.view;
          await this.export(m.kind, undefined, m.runId, m.view);
          return;
        case 'png':
          await this.savePng(m.runId, Buffer.from(m.data, 'base64'), m.what ?? 'curves');
          return;
        default:
          this.onMessage(m);
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.output.appendLine(`monitor: ${message}`);
      void vscode.window.showErrorMessage(`Layer Rotation: ${message}`);
    }
  }

  private async target(kind: MonitorExportKind | 'png', runId: string, file?: string): Promise<string | undefined> {
    if (file) return file;
    const name = `${runId}.${FILES[kind].ext}`;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const picked = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: FILES[kind].filter,
      title: `Save ${name}`,
    });
    return picked?.fsPath;
  }

  /**
   * Writes a run's records as CSV, or its curves as SVG as the monitor shows them (`view`: by
   * default what the monitor last exported with, else the workspace's settings, unzoomed, every
   * layer): to `file`, else where the save dialog says. `runId` defaults to the run shown.
   * Returns the path written (undefined: the dialog was cancelled).
   */
  async export(kind: MonitorExportKind, file?: string, runId?: string, view?: ExportView): Promise<string | undefined> {
    const run = runId ? this.runs.get(runId) : this.runs.selected;
    if (!run) throw new Error(runId ? `no run ${runId}` : 'no run is shown');
    if (!run.log.started) throw new Error(`${run.runId} has not started: nothing to export`);
    const dest = await this.target(kind, run.runId, file);
    if (!dest) return undefined;
    if (kind === 'svg') {
      const v = view ?? this.lastView ?? { settings: this.settings, hidden: [], range: null };
      fs.writeFileSync(dest, monitorSvg(curvesTableOf(run.log), curvesMetaOf(run.log), v));
    } else {
      // Chunk by chunk: 200 layers x 20,000 records are 4,000,000 numbers.
      const fd = fs.openSync(dest, 'w');
      try {
        for (const chunk of monitorCsvChunks(run.log)) fs.writeSync(fd, chunk);
      } finally {
        fs.closeSync(fd);
      }
    }
    this.output.appendLine(`monitor: wrote ${dest}`);
    return dest;
  }

  private async savePng(runId: string, bytes: Buffer, what: 'curves' | 'features'): Promise<void> {
    if (!bytes.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('the monitor sent an image that is not a PNG');
    const dest = await this.target('png', what === 'features' ? `${runId}-features` : runId);
    if (!dest) return;
    fs.writeFileSync(dest, bytes);
    this.output.appendLine(`monitor: wrote ${dest}`);
  }

  resolveWebviewView(webviewView: vscode.WebviewView): void {
    this.view?.dispose();
    this.view = this.session(webviewView.webview);
    webviewView.onDidDispose(() => {
      this.view?.dispose();
      this.view = undefined;
    });
  }

  /** Opens (or reveals) the monitor in the editor area, bigger. */
  openInEditor(): void {
    if (this.panel) {
      this.panel.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      MONITOR_PANEL_TYPE,
      'Layer Rotation Monitor',
      vscode.ViewColumn.Active,
      {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [this.distUri],
      },
    );
    panel.iconPath = vscode.Uri.joinPath(this.distUri, '..', 'media', 'layer-rotation.svg');
    const session = this.session(panel.webview);
    this.panel = { panel, session };
    panel.onDidDispose(() => {
      session.dispose();
      this.panel = undefined;
    });
  }

  dispose(): void {
    this.view?.dispose();
    this.panel?.panel.dispose();
  }
}

// The monitor webview, in the side panel (a webview view) and in the editor area (a panel): the
// HTML with a strict CSP and a nonce, resources only from the extension's dist folder, and the
// host side of the one message protocol (webview/protocol.ts).
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { RunLog } from '../runlog/read';
import type { RunEvent } from '../runlog/events';
import { type HostMessage, isWebviewMessage, type WebviewMessage } from '../../webview/protocol';
import { monitorHtml } from '../../webview/html';
import { MONITOR_PANEL_TYPE } from './ids';
import type { RunManager } from './runs';

/** Appended events are sent in batches, at most this often. */
const FLUSH_MS = 50;

/** One webview showing the monitor: keeps it in sync with the run manager. */
class MonitorSession implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly loaded = new Set<string>();
  private readonly queued = new Map<string, RunEvent[]>();
  private timer: NodeJS.Timeout | undefined;
  private ready = false;

  constructor(
    private readonly webview: vscode.Webview,
    private readonly distUri: vscode.Uri,
    private readonly runs: RunManager,
    private readonly onMessage: (m: WebviewMessage) => void,
  ) {
    webview.options = { enableScripts: true, localResourceRoots: [distUri] };
    webview.html = this.html();
    this.disposables.push(
      webview.onDidReceiveMessage((m: unknown) => {
        if (!isWebviewMessage(m)) return; // only the protocol's messages get through
        if (m.type === 'ready') {
          this.ready = true;
          this.loaded.clear();
          this.sendRuns();
        } else this.onMessage(m);
      }),
      runs.onDidChange(() => this.sendRuns()),
      runs.onDidAppend(({ runId, events }) => this.queue(runId, events)),
      runs.onDidReload((runId) => {
        // Sent whole again with the next list, if it is shown.
        this.loaded.delete(runId);
        this.queued.delete(runId);
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

  private post(m: HostMessage): void {
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
        this.post({ type: 'load', runId: run.runId, events: eventsOf(run.log) });
      }
    }
    this.post({ type: 'runs', runs: this.runs.listItems(), selected: selected?.runId ?? null });
  }

  private queue(runId: string, events: RunEvent[]): void {
    if (!this.loaded.has(runId)) return; // its full log goes with the next 'load'
    const q = this.queued.get(runId) ?? [];
    q.push(...events);
    this.queued.set(runId, q);
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    this.timer = undefined;
    for (const [runId, events] of this.queued) this.post({ type: 'append', runId, events });
    this.queued.clear();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.disposables.forEach((d) => d.dispose());
  }
}

/** Every event of a log, in the order a reader would have seen them. */
function eventsOf(log: RunLog): RunEvent[] {
  const all: RunEvent[] = [
    ...(log.started ? [log.started] : []),
    ...log.logs,
    ...log.rotations,
    ...log.batches,
    ...log.epochs,
    ...(log.finished ? [log.finished] : []),
  ];
  return all.sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
}

export class Monitor implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: MonitorSession | undefined;
  private panel: { panel: vscode.WebviewPanel; session: MonitorSession } | undefined;
  private readonly distUri: vscode.Uri;

  constructor(
    extensionUri: vscode.Uri,
    private readonly runs: RunManager,
    private readonly onMessage: (m: WebviewMessage) => void,
  ) {
    this.distUri = vscode.Uri.joinPath(extensionUri, 'dist');
  }

  resolveWebviewView(webviewView: vscode.WebviewView): void {
    this.view?.dispose();
    this.view = new MonitorSession(webviewView.webview, this.distUri, this.runs, this.onMessage);
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
    const session = new MonitorSession(panel.webview, this.distUri, this.runs, this.onMessage);
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

// Following run logs written by any program: the workspace folders, the runs folders, the
// folders of the setting layerRotation.watch.folders and those added with "Monitor Run
// Folder..." are watched (src/runlog/watch.ts) and every log found is fed to the run manager as
// it grows. A run that appears while the window is open is shown at once, unless another one is
// running in the monitor.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RunLogWatcher } from '../runlog/watch';
import type { Config } from './config';
import type { RunManager } from './runs';

const ADDED_FOLDERS_KEY = 'layerRotation.monitoredFolders';

export class LogWatching implements vscode.Disposable {
  private watcher: RunLogWatcher | undefined;
  private readonly seen = new Set<string>();
  private isReady = false;
  private readyPromise: Promise<void> = Promise.resolve();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly config: Config,
    private readonly runs: RunManager,
    private readonly output: vscode.OutputChannel,
    private readonly state: vscode.Memento,
    private readonly runsFolders: () => string[],
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.restart()),
      // The workspace's own watch.* settings (restricted configurations: ignored in Restricted Mode)
      // apply once the folder is trusted.
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.restart()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('layerRotation.watch') || e.affectsConfiguration('layerRotation.runsFolder'))
          void this.restart();
      }),
    );
  }

  /** Folders added with "Monitor Run Folder..." in this workspace. */
  get addedFolders(): string[] {
    return this.state.get<string[]>(ADDED_FOLDERS_KEY, []);
  }

  /** Every folder watched: no folder inside another one (chokidar would watch it twice). */
  roots(): string[] {
    const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const all = [
      ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      ...this.runsFolders(),
      ...this.config.watchFolders(base),
      ...this.addedFolders,
    ].map((f) => path.resolve(f));
    const unique = [...new Set(all)].sort((a, b) => a.length - b.length);
    return unique.filter(
      (f, i) => !unique.slice(0, i).some((outer) => f.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep)),
    );
  }

  start(): Promise<void> {
    const roots = this.roots();
    const watcher = new RunLogWatcher({
      roots,
      glob: this.config.watchGlob,
      ignore: this.config.watchExclude,
      usePolling: this.config.watchUsePolling,
    });
    this.watcher = watcher;
    this.isReady = false;
    watcher.onUpdate(({ file, chunk }) => {
      const first = !this.seen.has(file);
      this.seen.add(file);
      this.runs.ingest(file, chunk, { first });
      // A run born while the window watches: show it, unless the monitor shows one that is running.
      const run = this.runs.byFile(file);
      if (this.isReady && first && run && !run.log.finished && run.log.started) {
        const shown = this.runs.selected;
        if (!shown || this.runs.status(shown) !== 'running') this.runs.select(run.runId);
      }
    });
    watcher.onRemoved((file) => {
      this.seen.delete(file);
      this.runs.forget(file);
    });
    // The logs found by the first scan update the views once, when they have all been read.
    // (At most 5 s: a slow network filesystem must not keep the views from showing what is read.)
    const release = this.runs.holdChanges();
    setTimeout(release, 5000).unref?.();
    this.readyPromise = watcher
      .ready()
      .finally(release)
      .then(() => {
        if (this.watcher === watcher) this.isReady = true;
        this.output.appendLine(
          `watching ${roots.length} folder(s) for run logs (${this.config.watchGlob}): ${watcher.files().length} found`,
        );
      });
    return this.readyPromise;
  }

  /** Resolves when the initial scan has delivered every log found. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  async restart(): Promise<void> {
    const old = this.watcher;
    this.watcher = undefined;
    this.seen.clear();
    await old?.close();
    await this.start();
  }

  /** Watches one more folder in this workspace (remembered across sessions). */
  async addFolder(folder: string): Promise<void> {
    const resolved = path.resolve(folder);
    if (!this.addedFolders.includes(resolved))
      await this.state.update(ADDED_FOLDERS_KEY, [...this.addedFolders, resolved]);
    await this.restart();
  }

  dispose(): void {
    void this.watcher?.close();
    this.watcher = undefined;
    this.disposables.forEach((d) => d.dispose());
  }
}

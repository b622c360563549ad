// The extension's context: the services every feature uses, created once on activation.
import * as vscode from 'vscode';
import { Config } from './config';
import { CompareView } from './compare';
import { COMMANDS } from './ids';
import { Monitor } from './monitor';
import { PythonFinder } from './python';
import { RunManager } from './runs';
import { SweepManager } from './sweeps';
import { LogWatching } from './watching';

export class Ctx implements vscode.Disposable {
  readonly config = new Config();
  readonly output = vscode.window.createOutputChannel('Layer Rotation');
  readonly runs = new RunManager(this.output);
  readonly sweeps = new SweepManager(this.runs, this.output);
  readonly python = new PythonFinder(this.config);
  readonly monitor: Monitor;
  readonly watching: LogWatching;
  readonly compare: CompareView;

  constructor(readonly extension: vscode.ExtensionContext) {
    this.watching = new LogWatching(this.config, this.runs, this.output, extension.workspaceState, () =>
      this.runsFolders(),
    );
    this.monitor = new Monitor(
      extension.extensionUri,
      this.runs,
      (m) => {
        if (m.type === 'select') this.runs.select(m.runId);
        else if (m.type === 'stop') void vscode.commands.executeCommand(COMMANDS.stopTraining, m.runId);
        else if (m.type === 'openConfig') {
          const file = this.runs.get(m.runId)?.log.started?.configFile;
          if (file) void vscode.window.showTextDocument(vscode.Uri.file(file));
        }
      },
      extension.workspaceState,
      this.output,
    );
    this.compare = new CompareView(extension.extensionUri, this.runs, this.output);
  }

  asAbsolutePath(relative: string): string {
    return this.extension.asAbsolutePath(relative);
  }

  /** The runs folders of the workspace folders. */
  runsFolders(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).map((f) => this.config.runsFolder(f.uri.fsPath));
  }

  /** Reads every followed log (the runs folders among them) again. */
  refreshRuns(): Promise<void> {
    return this.watching.restart();
  }

  dispose(): void {
    this.watching.dispose();
    this.compare.dispose();
    this.monitor.dispose();
    this.sweeps.dispose();
    this.runs.dispose();
    this.output.dispose();
  }
}

// Layer Rotation Monitor: activation. The features live in src/vscode/, the engine (which has no
// vscode import) in src/engine/; the runner trains in a child process.
import * as vscode from 'vscode';
import { registerCommands } from './vscode/commands';
import { Ctx } from './vscode/ctx';
import { Diagnostics } from './vscode/diagnostics';
import { INTERNAL_COMMANDS, VIEWS } from './vscode/ids';
import { LogDiagnostics } from './vscode/logDiagnostics';
import { LaggingLayerFixes } from './vscode/quickfix';
import { completedMessage, ConfigLenses, RunsTree, TrainingStatus } from './vscode/views';

let ctx: Ctx | undefined;

const SHOW_RUN = 'Show Run';

const CONFIG_SELECTOR: vscode.DocumentSelector = { scheme: 'file', pattern: '**/*.layerrot.json' };

/** What activate() returns: for the extension-host tests, which read the runs tree as the view does. */
export interface ExtensionApi {
  runsTree: RunsTree;
}

export function activate(context: vscode.ExtensionContext): ExtensionApi {
  ctx = new Ctx(context);
  const c = ctx;
  const runsTree = new RunsTree(c.runs, c.sweeps);
  // The watcher's first scan brings the past runs back (and follows the logs that grow).
  void c.watching.start();
  // `c` is not among the subscriptions: deactivate() disposes it, once the runners have stopped.
  context.subscriptions.push(
    ...registerCommands(c),
    vscode.window.registerWebviewViewProvider(VIEWS.monitor, c.monitor, {
      webviewOptions: { retainContextWhenHidden: true },
    }),
    vscode.window.createTreeView(VIEWS.runs, { treeDataProvider: runsTree, canSelectMany: true }),
    new Diagnostics(c.runs, c.asAbsolutePath('dist/configCheck.js')),
    vscode.languages.registerCodeActionsProvider(CONFIG_SELECTOR, new LaggingLayerFixes(), {
      providedCodeActionKinds: LaggingLayerFixes.kinds,
    }),
    vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, new ConfigLenses(c.runs)),
    new TrainingStatus(c.runs),
    new LogDiagnostics(c.runs),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('layerRotation.pythonPath')) c.python.reset();
    }),
    c.runs.onDidFinish(({ run, finished }) => {
      if (c.sweeps.owns(run.runId)) return; // a sweep's point: its sweep's notification tells
      if (finished.status === 'failed') {
        void vscode.window
          .showErrorMessage(`Training ${run.log.started?.name ?? run.runId} failed: ${finished.reason}`, 'Show Log')
          .then((choice) => {
            if (choice) c.output.show(true);
          });
      } else if (finished.status === 'completed') {
        // With a button, the toast is expanded: its whole message wraps instead of being cut at one line.
        void vscode.window.showInformationMessage(completedMessage(run), SHOW_RUN).then((choice) => {
          if (choice) void vscode.commands.executeCommand(INTERNAL_COMMANDS.showRun, run.runId);
        });
      }
    }),
  );
  return { runsTree };
}

/** Stops every runner (and sweep) this window started: none outlives the window. VS Code disposes the
 * subscriptions right after calling deactivate(), without waiting for it: the run manager (which
 * would kill the runners) and the output channel (which their last events are written to) are
 * disposed here, after the runners have stopped. */
export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  if (!c) return;
  try {
    // The sweeps first: none starts another point while its running ones stop.
    await Promise.all([c.sweeps.stopAll(2000), c.runs.stopAll(2000)]);
  } finally {
    c.dispose();
  }
}

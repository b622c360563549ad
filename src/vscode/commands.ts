// Every command of the extension, registered in one place.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatError, loadConfigFile, sweepNotTrainable } from '../engine/config/validate';
import { describePython } from '../launch/python';
import { pytorchRequest } from '../launch/pytorch';
import type { CommonRequest, RunRequest } from '../launch/request';
import type { Ctx } from './ctx';
import { CONFIG_GLOB, isConfigDocument } from './diagnostics';
import { COMMANDS, focusCommand, INTERNAL_COMMANDS, VIEWS } from './ids';
import { EXPORTS, type ExportKind, type RotationAxis, type SortOrder } from '../../webview/compareProtocol';

const ALL_COMMANDS = { ...COMMANDS, ...INTERNAL_COMMANDS };

/** Reveals the monitor view. */
const focusMonitor = () => vscode.commands.executeCommand(focusCommand(VIEWS.monitor));

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  // One handler per id of ids.ts, no more, no fewer (the type says so).
  const handlers: Record<keyof typeof ALL_COMMANDS, (...args: any[]) => unknown> = {
    startTraining: (uri?: vscode.Uri) => startTraining(ctx, uri),
    // From the palette or the monitor: a run id; from the runs tree's inline Stop: the tree's element (a Run).
    stopTraining: (arg?: string | { runId?: string }) => stopTraining(ctx, typeof arg === 'string' ? arg : arg?.runId),
    showMonitor: focusMonitor,
    openMonitorInEditor: () => ctx.monitor.openInEditor(),
    showRun: (runId: string) => {
      ctx.runs.select(runId);
      return focusMonitor();
    },
    openRun: (folder?: vscode.Uri) => openRun(ctx, folder),
    newConfig: () => newConfig(ctx),
    refreshRuns: () => ctx.refreshRuns(),
    monitorRunFolder: (folder?: vscode.Uri) => monitorRunFolder(ctx, folder),
    // From the runs tree: the clicked item and the selection; from tests: an array of run ids.
    compareRuns: (arg?: unknown, selection?: unknown) => compareRuns(ctx, arg, selection),
    compareExport: (kind: ExportKind, file?: string, opts?: { sort?: SortOrder | null; x?: RotationAxis }) => {
      if (!(EXPORTS as readonly string[]).includes(kind)) throw new Error(`no such export: ${kind}`);
      return ctx.compare.export(kind, file, opts);
    },
    compareState: () => ctx.compare.testState,
  };
  return (Object.keys(handlers) as (keyof typeof ALL_COMMANDS)[]).map((k) =>
    vscode.commands.registerCommand(ALL_COMMANDS[k], handlers[k]),
  );
}

async function pickConfig(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document;
  if (active && isConfigDocument(active)) return active.uri;
  const files = await vscode.workspace.findFiles(CONFIG_GLOB, '**/node_modules/**', 200);
  if (!files.length) {
    const choice = await vscode.window.showInformationMessage(
      'No *.layerrot.json training config in this workspace.',
      'New Training Config...',
    );
    if (choice) await vscode.commands.executeCommand(COMMANDS.newConfig);
    return undefined;
  }
  if (files.length === 1) return files[0];
  const picked = await vscode.window.showQuickPick(
    files.map((f) => ({
      label: path.basename(f.fsPath),
      description: vscode.workspace.asRelativePath(path.dirname(f.fsPath)),
      uri: f,
    })),
    { placeHolder: 'Train which config?' },
  );
  return picked?.uri;
}

export async function startTraining(ctx: Ctx, uri?: vscode.Uri): Promise<string | undefined> {
  if (!vscode.workspace.isTrusted) {
    // Not awaited: the command returns (undefined, no run) without waiting for the notification to be dismissed.
    void vscode.window
      .showWarningMessage(
        'Training is disabled in this untrusted folder: a run executes code and reads data from the folder. Trust the folder to train; monitoring existing runs still works.',
        'Manage Workspace Trust',
      )
      .then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
      });
    return undefined;
  }
  const target = uri ?? (await pickConfig());
  if (!target) return undefined;
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.toString());
  if (doc?.isDirty) await doc.save();
  const checked = loadConfigFile(target.fsPath);
  if (!checked.ok) {
    ctx.output.appendLine(checked.errors.map(formatError).join('\n'));
    // Not awaited either: the command returns undefined at once.
    void vscode.window
      .showErrorMessage(
        `${path.basename(target.fsPath)} has ${checked.errors.filter((e) => e.severity === 'error').length} error(s): ${checked.errors[0].message}`,
        'Show Problems',
        'Open Config',
      )
      .then((choice) => {
        if (choice === 'Show Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
        if (choice === 'Open Config') void vscode.window.showTextDocument(target);
      });
    return undefined;
  }
  if (checked.config.sweep) {
    const command = `npx layer-rotation sweep ${JSON.stringify(target.fsPath)}`;
    void vscode.window
      .showWarningMessage(sweepNotTrainable(path.basename(target.fsPath)), 'Copy Sweep Command')
      .then((choice) => {
        if (choice) void vscode.env.clipboard.writeText(command);
      });
    return undefined;
  }
  const folder = vscode.workspace.getWorkspaceFolder(target)?.uri.fsPath ?? path.dirname(target.fsPath);
  const engine = ctx.config.engine ?? checked.config.engine;
  const common: CommonRequest = {
    configFile: target.fsPath,
    name: checked.config.name,
    runsDir: ctx.config.runsFolder(folder),
    recordsPerEpoch: ctx.config.recordsPerEpoch,
  };
  let request: RunRequest;
  if (engine === 'pytorch') {
    const found = await ctx.python.find(target);
    if (!found.ok) {
      ctx.output.appendLine(found.message);
      void vscode.window
        .showErrorMessage(found.message.split('\n')[0], 'Set Python Interpreter', 'Show Log')
        .then((choice) => {
          if (choice === 'Set Python Interpreter')
            void vscode.commands.executeCommand('workbench.action.openSettings', 'layerRotation.pythonPath');
          if (choice === 'Show Log') ctx.output.show(true);
        });
      return undefined;
    }
    ctx.output.appendLine(`pytorch engine: ${describePython(found.info)}`);
    request = pytorchRequest(
      common,
      checked.config,
      found.info.executable,
      ctx.asAbsolutePath('python'),
      ctx.config.pytorchProcesses,
    );
  } else {
    request = {
      ...common,
      engine: 'tfjs',
      runnerScript: ctx.asAbsolutePath('dist/runner.js'),
      wasmPath: ctx.asAbsolutePath('dist'),
      backend: ctx.config.backend,
    };
  }
  const run = ctx.runs.start(request);
  await focusMonitor();
  return run.runId;
}

async function stopTraining(ctx: Ctx, runId?: string): Promise<void> {
  const running = ctx.runs.running;
  if (!running.length) {
    void vscode.window.showInformationMessage('No training is running.');
    return;
  }
  let id = runId;
  if (!id) {
    id =
      running.length === 1
        ? running[0].runId
        : (
            await vscode.window.showQuickPick(
              running.map((r) => ({ label: r.log.started?.name ?? r.runId, description: r.runId, id: r.runId })),
              { placeHolder: 'Stop which run?' },
            )
          )?.id;
  }
  if (!id) return;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Stopping training...' },
    () => ctx.runs.stop(id!),
  );
}

async function openRun(ctx: Ctx, folder?: vscode.Uri): Promise<void> {
  const picked =
    folder ??
    (
      await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: true,
        canSelectMany: false,
        filters: { 'Run logs': ['jsonl'] },
        openLabel: 'Open Run',
        title: 'A run folder (holding events.jsonl), or an events.jsonl',
      })
    )?.[0];
  if (!picked) return;
  const run = ctx.runs.open(picked.fsPath);
  if (!run) {
    void vscode.window.showErrorMessage(`${picked.fsPath} holds no run log (events.jsonl).`);
    return;
  }
  ctx.runs.select(run.runId);
  await focusMonitor();
}

async function monitorRunFolder(ctx: Ctx, folder?: vscode.Uri): Promise<void> {
  const picked =
    folder ??
    (
      await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        canSelectMany: false,
        openLabel: 'Monitor',
        title: 'A folder where runs write their logs (watched for every events.jsonl below it)',
      })
    )?.[0];
  if (!picked) return;
  if (!fs.existsSync(picked.fsPath) || !fs.statSync(picked.fsPath).isDirectory()) {
    void vscode.window.showErrorMessage(`${picked.fsPath} is not a folder.`);
    return;
  }
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: `Layer Rotation: reading the run logs in ${picked.fsPath}` },
    () => ctx.watching.addFolder(picked.fsPath),
  );
  const found = ctx.runs.all.filter((r) => r.log.file?.startsWith(picked.fsPath + path.sep));
  ctx.output.appendLine(`monitoring ${picked.fsPath}: ${found.length} run log(s) found`);
  if (found.length) {
    ctx.runs.select(found[0].runId);
    await focusMonitor();
  } else {
    void vscode.window.showInformationMessage(
      `Monitoring ${picked.fsPath}: no run log yet; runs that write one below it will show up as they start.`,
    );
  }
}

async function newConfig(ctx: Ctx): Promise<void> {
  const examplesDir = ctx.asAbsolutePath('examples');
  const files = fs.readdirSync(examplesDir).filter((f) => f.endsWith('.layerrot.json'));
  const picked = await vscode.window.showQuickPick(
    files.map((f) => {
      const firstComment = /\/\/\s*(.*)/.exec(fs.readFileSync(path.join(examplesDir, f), 'utf8'))?.[1];
      return { label: f.replace(/\.layerrot\.json$/, ''), detail: firstComment, file: f };
    }),
    { placeHolder: 'Start from which example?', matchOnDetail: true },
  );
  if (!picked) return;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!folder) {
    void vscode.window.showErrorMessage('Open a folder first: the new config is written into the workspace.');
    return;
  }
  let dest = path.join(folder, picked.file);
  for (let i = 2; fs.existsSync(dest); i++)
    dest = path.join(folder, picked.file.replace(/\.layerrot\.json$/, `-${i}.layerrot.json`));
  // The examples point at the schema in the repository; the extension provides it by file name instead.
  const text = fs
    .readFileSync(path.join(examplesDir, picked.file), 'utf8')
    .replace(/^\s*"\$schema":.*\n/m, '')
    .replace(/"\.\.\/data\//g, '"./data/');
  fs.writeFileSync(dest, text);
  await vscode.window.showTextDocument(vscode.Uri.file(dest));
}

/** Run ids in a command's argument: an id, a tree item (a Run), or an array of either. */
function runIdsIn(arg: unknown): string[] {
  if (typeof arg === 'string') return [arg];
  if (Array.isArray(arg)) return arg.flatMap(runIdsIn);
  if (typeof arg === 'object' && arg !== null && typeof (arg as { runId?: unknown }).runId === 'string')
    return [(arg as { runId: string }).runId];
  return [];
}

/**
 * Compare Runs: the runs given (run ids, or the runs tree's selection), else those picked in a
 * multi-select quick pick (a single run from the tree comes pre-selected). Returns how many runs
 * the tab compares.
 */
async function compareRuns(ctx: Ctx, arg?: unknown, selection?: unknown): Promise<number | undefined> {
  const given = runIdsIn(selection ?? arg);
  const fromIds = typeof arg === 'string' || (Array.isArray(arg) && arg.every((a) => typeof a === 'string'));
  let ids = given;
  if (!(given.length >= 2 || (fromIds && given.length > 0))) {
    const candidates = ctx.runs.all.filter((r) => r.log.started);
    if (!candidates.length) {
      void vscode.window.showInformationMessage('No runs to compare yet: train a config, or open a run folder.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      candidates.map((r) => ({
        label: r.log.started?.name ?? r.runId,
        description: `${ctx.runs.status(r)} · ${r.runId}`,
        picked: given.includes(r.runId),
        runId: r.runId,
      })),
      { canPickMany: true, placeHolder: 'Compare which runs? (pick two or more)', matchOnDescription: true },
    );
    if (!picked?.length) return undefined;
    ids = picked.map((p) => p.runId);
  }
  return ctx.compare.open(ids);
}

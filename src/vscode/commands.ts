// Every command of the extension, registered in one place.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConfigError, TrainingConfig } from '../engine/config/types';
import { formatError, loadConfigFile, sweepNotTrainable } from '../engine/config/validate';
import { sweepFileText } from '../experiments/sweepGroups';
import { readRawConfig, readSweep, sweepFolderName } from '../experiments/sweepRun';
import { decideEngine, needsPython } from '../launch/engineChoice';
import { pytorchRequest, threadsBeside } from '../launch/pytorch';
import type { CommonRequest, RunRequest } from '../launch/request';
import type { Ctx } from './ctx';
import { isRunning, type Run } from './runs';
import { CONFIG_GLOB, isConfigDocument } from './diagnostics';
import { COMMANDS, focusCommand, INTERNAL_COMMANDS, VIEWS } from './ids';
import { EXPORTS, type ExportKind, type RotationAxis, type SortOrder } from '../../webview/compareProtocol';
import { MONITOR_EXPORTS, type MonitorExportKind } from '../../webview/protocol';

const ALL_COMMANDS = { ...COMMANDS, ...INTERNAL_COMMANDS };

/** Reveals the monitor view. */
const focusMonitor = () => vscode.commands.executeCommand(focusCommand(VIEWS.monitor));

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  // One handler per id of ids.ts, no more, no fewer (the type says so).
  const handlers: Record<keyof typeof ALL_COMMANDS, (...args: any[]) => unknown> = {
    startTraining: (uri?: vscode.Uri) => startTraining(ctx, uri),
    // From the palette or the monitor: a run id; from the runs tree's inline Stop: the tree's element (a Run, or a sweep's node).
    stopTraining: (arg?: string | { runId?: string; sweepDir?: string }) =>
      typeof arg === 'object' && arg?.sweepDir
        ? stopSweep(ctx, arg.sweepDir)
        : stopTraining(ctx, typeof arg === 'string' ? arg : arg?.runId),
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
    runSweep: (uri?: vscode.Uri) => runSweep(ctx, uri),
    // From the runs tree: the clicked item and the selection; from tests: an array of run ids.
    compareRuns: (arg?: unknown, selection?: unknown) => compareRuns(ctx, arg, selection),
    // From the runs tree: the clicked item (a run, or a sweep's node); from tests: a run id.
    revealRun: (arg?: unknown) => revealRun(ctx, arg),
    // From the runs tree: the clicked item and the selection; from tests: a run id, and the answers (DeleteRunOptions).
    deleteRun: (arg?: unknown, selection?: unknown, options?: DeleteRunOptions) =>
      deleteRuns(ctx, arg, selection, options),
    compareExport: (kind: ExportKind, file?: string, opts?: { sort?: SortOrder | null; x?: RotationAxis }) => {
      if (!(EXPORTS as readonly string[]).includes(kind)) throw new Error(`no such export: ${kind}`);
      return ctx.compare.export(kind, file, opts);
    },
    compareState: () => ctx.compare.testState,
    monitorExport: (kind: MonitorExportKind, file?: string, runId?: string) => {
      if (!(MONITOR_EXPORTS as readonly string[]).includes(kind)) throw new Error(`no such export: ${kind}`);
      return ctx.monitor.export(kind, file, runId);
    },
    monitorSettings: () => ctx.monitor.settings,
  };
  return (Object.keys(handlers) as (keyof typeof ALL_COMMANDS)[]).map((k) =>
    vscode.commands.registerCommand(ALL_COMMANDS[k], handlers[k]),
  );
}

async function pickConfig(placeHolder = 'Train which config?'): Promise<vscode.Uri | undefined> {
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
    { placeHolder },
  );
  return picked?.uri;
}

/** In an untrusted folder: says that `what` (training, sweeps) is disabled and returns true; nothing may run. */
function refuseUntrusted(what: string): boolean {
  if (vscode.workspace.isTrusted) return false;
  // Not awaited: the command returns (undefined, no run) without waiting for the notification to be dismissed.
  void vscode.window
    .showWarningMessage(
      `${what} disabled in this untrusted folder: a run executes code and reads data from the folder. Trust the folder to train; monitoring existing runs still works.`,
      'Manage Workspace Trust',
    )
    .then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  return true;
}

/** Saves the config if it is open with changes, and checks it; on errors they are shown and undefined returned. */
async function checkedConfig(ctx: Ctx, target: vscode.Uri): Promise<TrainingConfig | undefined> {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.toString());
  if (doc?.isDirty) await doc.save();
  const checked = loadConfigFile(target.fsPath);
  if (checked.ok) return checked.config;
  showConfigErrors(ctx, target, checked.errors);
  return undefined;
}

function showConfigErrors(ctx: Ctx, target: vscode.Uri, errors: ConfigError[]): void {
  ctx.output.appendLine(errors.map(formatError).join('\n'));
  // Not awaited: the command returns undefined at once.
  void vscode.window
    .showErrorMessage(
      `${path.basename(target.fsPath)} has ${errors.filter((e) => e.severity === 'error').length} error(s): ${errors[0].message}`,
      'Show Problems',
      'Open Config',
    )
    .then((choice) => {
      if (choice === 'Show Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
      if (choice === 'Open Config') void vscode.window.showTextDocument(target);
    });
}

/** The runs folder for a config: the setting, in the config's workspace folder (else beside it). */
function runsFolderFor(ctx: Ctx, target: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(target)?.uri.fsPath ?? path.dirname(target.fsPath);
  return ctx.config.runsFolder(folder);
}

/**
 * The run request of a checked config (`target` is the file the user chose, for finding its
 * Python), its engine decided by src/launch/engineChoice.ts (the line saying which and why goes
 * with it, into the Output channel and the run's log); or the message saying why there is none:
 * the pytorch engine without a usable Python.
 */
async function buildRequest(
  ctx: Ctx,
  target: vscode.Uri,
  config: TrainingConfig,
  common: CommonRequest,
): Promise<RunRequest | { error: string }> {
  const ask = { config: config.engine, override: ctx.config.engine, overrideName: 'layerRotation.engine' };
  const decision = decideEngine(ask, needsPython(ask) ? await ctx.python.find(target) : undefined);
  if (!decision.ok) return { error: decision.message };
  const withNotes = { ...common, notes: [decision.line] };
  if (decision.engine === 'tfjs') {
    return {
      ...withNotes,
      engine: 'tfjs',
      runnerScript: ctx.asAbsolutePath('dist/runner.js'),
      wasmPath: ctx.asAbsolutePath('dist'),
      backend: ctx.config.backend,
    };
  }
  return pytorchRequest(
    withNotes,
    config,
    decision.python.executable,
    ctx.asAbsolutePath('python'),
    ctx.config.pytorchProcesses,
  );
}

function showPythonError(ctx: Ctx, message: string): void {
  ctx.output.appendLine(message);
  void vscode.window.showErrorMessage(message.split('\n')[0], 'Set Python Interpreter', 'Show Log').then((choice) => {
    if (choice === 'Set Python Interpreter')
      void vscode.commands.executeCommand('workbench.action.openSettings', 'layerRotation.pythonPath');
    if (choice === 'Show Log') ctx.output.show(true);
  });
}

export async function startTraining(ctx: Ctx, uri?: vscode.Uri): Promise<string | undefined> {
  if (refuseUntrusted('Training is')) return undefined;
  const target = uri ?? (await pickConfig());
  if (!target) return undefined;
  const config = await checkedConfig(ctx, target);
  if (!config) return undefined;
  if (config.sweep) {
    // Training trains one config: offer the sweep instead (or its command, for a terminal or a cluster).
    const command = `npx layer-rotation sweep ${JSON.stringify(target.fsPath)}`;
    void vscode.window
      .showWarningMessage(sweepNotTrainable(path.basename(target.fsPath)), 'Run Sweep', 'Copy Sweep Command')
      .then((choice) => {
        if (choice === 'Run Sweep') void vscode.commands.executeCommand(COMMANDS.runSweep, target);
        if (choice === 'Copy Sweep Command') void vscode.env.clipboard.writeText(command);
      });
    return undefined;
  }
  const request = await buildRequest(ctx, target, config, {
    configFile: target.fsPath,
    name: config.name,
    runsDir: runsFolderFor(ctx, target),
    recordsPerEpoch: ctx.config.recordsPerEpoch,
  });
  if ('error' in request) {
    showPythonError(ctx, request.error);
    return undefined;
  }
  // Beside other trainings of this window (runs, a sweep's points): a share of the cores, said in the output.
  const run = ctx.runs.start(threadsBeside(request, ctx.runs.running.length));
  await focusMonitor();
  return run.runId;
}

/**
 * Runs every point of a config's sweep grid in this window (src/experiments/sweepRun.ts, as
 * `layer-rotation sweep`: into <runs folder>/<name>-sweep/, resuming what an earlier sweep left),
 * one at a time, each point a live run; progress in a notification whose Cancel stops the sweep.
 * Returns the sweep's folder once it has started, undefined when nothing started.
 */
export async function runSweep(ctx: Ctx, uri?: vscode.Uri): Promise<string | undefined> {
  if (refuseUntrusted('Sweeps are')) return undefined;
  const target = uri ?? (await pickConfig('Run the sweep of which config?'));
  if (!target) return undefined;
  const config = await checkedConfig(ctx, target);
  if (!config) return undefined;
  const file = path.basename(target.fsPath);
  if (!config.sweep) {
    void vscode.window
      .showWarningMessage(
        `${file} has no sweep block: add one to train a grid of configs (e.g. "sweep": { "optimizer.learningRate": [0.01, 0.1] }), or train it as it is.`,
        'Start Training',
      )
      .then((choice) => {
        if (choice) void vscode.commands.executeCommand(COMMANDS.startTraining, target);
      });
    return undefined;
  }
  const name = config.name;
  const sweepDir = path.join(runsFolderFor(ctx, target), sweepFolderName(name));
  if (ctx.sweeps.get(sweepDir)) {
    void vscode.window
      .showInformationMessage(`The sweep ${name} is already running (${sweepDir}).`, 'Stop Sweep')
      .then((choice) => {
        if (choice) void stopSweep(ctx, sweepDir);
      });
    return undefined;
  }
  // The interpreter is checked once, before any point starts, when a point may use the pytorch
  // engine (every point's decision then reads the same answer): an error only where a point asks
  // for pytorch by name (with auto, those points train with tfjs).
  const engines = ctx.config.engine ? [ctx.config.engine] : [config.engine, ...(config.sweep.engine ?? [])];
  if (engines.some((engine) => engine !== 'tfjs')) {
    const found = await ctx.python.find(target);
    if (!found.ok && engines.includes('pytorch')) {
      showPythonError(ctx, found.message);
      return undefined;
    }
  }
  let report = (_line: string) => {};
  const active = ctx.sweeps.start(
    {
      configFile: target.fsPath,
      sweepDir,
      jobs: 1,
      // As the CLI's --engine and --backend: part of each point's fingerprint (a change reruns completed points).
      overrides: { engine: ctx.config.engine, backend: ctx.config.backend },
      request: async (pointFile, pointConfig, runsDir) => {
        const request = await buildRequest(ctx, target, pointConfig, {
          configFile: pointFile,
          name: pointConfig.name,
          runsDir,
          recordsPerEpoch: ctx.config.recordsPerEpoch,
        });
        if ('error' in request) throw new Error(request.error);
        return request;
      },
    },
    readRawConfig(target.fsPath),
    name,
    (line) => report(line),
  );
  const counts = () => sweepCounts(active.sweepDir);
  void vscode.window
    .withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Sweep ${name}`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => void stopSweep(ctx, sweepDir));
        progress.report({ message: counts() });
        report = () => progress.report({ message: counts() });
        return active.done;
      },
    )
    .then(
      (outcome) => {
        const text = `Sweep ${name}: ${counts()}`;
        const open = (choice: string | undefined) => {
          if (choice === 'Open sweep.json')
            void vscode.window.showTextDocument(vscode.Uri.file(path.join(sweepDir, 'sweep.json')));
          if (choice === 'Show Log') ctx.output.show(true);
        };
        if (outcome.allCompleted) void vscode.window.showInformationMessage(text, 'Open sweep.json').then(open);
        else if (outcome.stopped)
          void vscode.window
            .showInformationMessage(`${text}; stopped. Run Sweep again to resume it.`, 'Open sweep.json')
            .then(open);
        else void vscode.window.showWarningMessage(text, 'Open sweep.json', 'Show Log').then(open);
      },
      (err: unknown) => {
        ctx.output.appendLine(`[sweep ${name}] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        void vscode.window.showErrorMessage(`Sweep ${name} failed: ${err instanceof Error ? err.message : err}`);
      },
    );
  await focusMonitor();
  return active.sweepDir;
}

/** "3 done, 1 failed, 1 running of 8", as the runs tree says it, from the sweep's files. */
function sweepCounts(sweepDir: string): string {
  const sweep = readSweep(sweepDir);
  return sweep ? sweepFileText(sweep) : 'not started';
}

/** Stops a sweep of this window: its running points after their step, no more started. */
async function stopSweep(ctx: Ctx, sweepDir: string): Promise<void> {
  const active = ctx.sweeps.get(sweepDir);
  if (!active) {
    void vscode.window.showInformationMessage(`No sweep is running in ${sweepDir} in this window.`);
    return;
  }
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Stopping sweep ${active.name}...` },
    () => ctx.sweeps.stop(sweepDir),
  );
}

async function stopTraining(ctx: Ctx, runId?: string): Promise<void> {
  const running = ctx.runs.running;
  const sweeps = ctx.sweeps.running;
  if (!running.length && !sweeps.length) {
    void vscode.window.showInformationMessage('No training is running.');
    return;
  }
  let id = runId;
  if (!id) {
    // A sweep's points are stopped with their sweep: the sweep is offered, not its points.
    const choices = [
      ...sweeps.map((s) => ({
        label: `$(layers) ${s.name}`,
        description: `sweep, ${sweepCounts(s.sweepDir)}`,
        sweepDir: s.sweepDir,
      })),
      ...running
        .filter((r) => !ctx.sweeps.owns(r.runId))
        .map((r) => ({ label: r.log.started?.name ?? r.runId, description: r.runId, id: r.runId })),
    ];
    const picked =
      choices.length === 1
        ? choices[0]
        : await vscode.window.showQuickPick(choices, { placeHolder: 'Stop which run?' });
    if (picked && 'sweepDir' in picked) return stopSweep(ctx, picked.sweepDir);
    id = picked?.id;
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
  // A sweep's node in the runs tree stands for its runs.
  if (typeof arg === 'object' && arg !== null && Array.isArray((arg as { runs?: unknown }).runs))
    return runIdsIn((arg as { runs: unknown[] }).runs);
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

/** The folder a runs tree element stands for: a run's (an id, or a Run) or a sweep's node's. */
function folderOf(ctx: Ctx, arg: unknown): string | undefined {
  if (typeof arg === 'string') return ctx.runs.get(arg)?.runDir;
  if (typeof arg !== 'object' || arg === null) return undefined;
  const e = arg as { runId?: unknown; sweepDir?: unknown };
  if (typeof e.sweepDir === 'string') return e.sweepDir;
  return typeof e.runId === 'string' ? ctx.runs.get(e.runId)?.runDir : undefined;
}

/**
 * Reveal in File Explorer/OS: the run's (or sweep's) folder in the OS's file manager (VS Code's
 * revealFileInOS) on a desktop window; where the files are not on this machine (a remote or web
 * window such as code-server, which has no revealFileInOS) in VS Code's Explorer, when the folder
 * is in the workspace. Returns where it was revealed ('os', 'explorer'), or undefined.
 */
async function revealRun(ctx: Ctx, arg: unknown): Promise<'os' | 'explorer' | undefined> {
  const dir = folderOf(ctx, arg);
  if (!dir) return undefined;
  const uri = vscode.Uri.file(dir);
  if (!fs.existsSync(dir)) {
    void vscode.window.showWarningMessage(`The folder ${dir} is gone.`);
    return undefined;
  }
  const local = vscode.env.uiKind === vscode.UIKind.Desktop && !vscode.env.remoteName;
  if (local && (await vscode.commands.getCommands(true)).includes('revealFileInOS')) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
    return 'os';
  }
  if (vscode.workspace.getWorkspaceFolder(uri)) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
    return 'explorer';
  }
  void vscode.window.showInformationMessage(`The folder is ${dir}`, 'Copy Path').then((choice) => {
    if (choice) void vscode.env.clipboard.writeText(dir);
  });
  return undefined;
}

/**
 * The internal argument of layerRotation.deleteRun, for tests (the extension-host suites cannot
 * click a modal dialog): `answers` are the answers to its modal questions in order, given instead
 * of showing them ('Move to Trash', then, where the trash is not available, 'Delete
 * Permanently'; undefined, or no answer left: Cancel).
 */
export interface DeleteRunOptions {
  answers?: (string | undefined)[];
}

export const MOVE_TO_TRASH = 'Move to Trash';
export const DELETE_PERMANENTLY = 'Delete Permanently';

/** The runs a command's tree argument stands for (runs only: not a sweep's node), in order, each once. */
function runsIn(ctx: Ctx, arg: unknown): Run[] {
  const items = Array.isArray(arg) ? arg : [arg];
  const runs = items
    .map((a) => (typeof a === 'string' ? a : (a as { runId?: unknown } | null)?.runId))
    .filter((id): id is string => typeof id === 'string')
    .map((id) => ctx.runs.get(id))
    .filter((r): r is Run => !!r);
  return [...new Set(runs)];
}

/**
 * Delete Run: after a modal confirmation, moves the run folders of the clicked run (or of the
 * selection, when the clicked run is in it) to the trash and drops the runs from the views. A
 * running run is never deleted (it says so: stop it first). Where the file system has no trash (a
 * remote or web window: code-server's has none), a second modal question offers to delete them
 * for good. Returns the ids of the runs deleted.
 */
async function deleteRuns(ctx: Ctx, arg: unknown, selection: unknown, options?: DeleteRunOptions): Promise<string[]> {
  const clicked = runsIn(ctx, arg);
  const selected = runsIn(ctx, selection);
  const runs = selected.length && clicked.every((r) => selected.includes(r)) ? selected : clicked;
  const answers = options?.answers ? [...options.answers] : undefined;
  const ask = async (message: string, detail: string, button: string): Promise<boolean> => {
    const answer = answers
      ? answers.shift()
      : await vscode.window.showWarningMessage(message, { modal: true, detail }, button);
    return answer === button;
  };
  const running = runs.filter((r) => isRunning(r) || r.handle);
  if (running.length)
    void vscode.window.showWarningMessage(
      `${running.map((r) => r.runId).join(', ')} ${running.length === 1 ? 'is' : 'are'} running: stop ${running.length === 1 ? 'it' : 'them'} before deleting.`,
    );
  const targets = runs.filter((r) => !running.includes(r));
  if (!targets.length) return [];
  const what = targets.length === 1 ? `the run ${targets[0].runId}` : `${targets.length} runs`;
  const folders = targets.map((r) => r.runDir).join('\n');
  if (!(await ask(`Delete ${what}?`, `Moves to the trash:\n${folders}`, MOVE_TO_TRASH))) return [];
  const deleted: Run[] = [];
  const failed: { run: Run; reason: string }[] = [];
  for (const run of targets) {
    try {
      await vscode.workspace.fs.delete(vscode.Uri.file(run.runDir), { recursive: true, useTrash: true });
      deleted.push(run);
    } catch (err) {
      if (!fs.existsSync(run.runDir)) deleted.push(run);
      else failed.push({ run, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  if (failed.length) {
    ctx.output.appendLine(failed.map((f) => `cannot move ${f.run.runDir} to the trash: ${f.reason}`).join('\n'));
    const them = failed.length === 1 ? `the run ${failed[0].run.runId}` : `${failed.length} runs`;
    if (
      await ask(
        `Cannot move ${them} to the trash. Delete permanently?`,
        `${failed[0].reason}\n\nDeletes for good:\n${failed.map((f) => f.run.runDir).join('\n')}`,
        DELETE_PERMANENTLY,
      )
    ) {
      for (const { run } of failed) {
        try {
          await vscode.workspace.fs.delete(vscode.Uri.file(run.runDir), { recursive: true, useTrash: false });
          deleted.push(run);
        } catch (err) {
          void vscode.window.showErrorMessage(
            `Cannot delete ${run.runDir}: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
    }
  }
  for (const run of deleted) {
    ctx.output.appendLine(`[${run.runId}] deleted ${run.runDir}`);
    ctx.runs.remove(run.runId);
  }
  return deleted.map((r) => r.runId);
}

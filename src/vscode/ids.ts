// Every id the extension shares with package.json's contributes: commands, views, the views
// container, tree-item context values used in `when` clauses, and the activation events.
// No vscode import: test/ids.test.ts checks them against package.json in plain Node.

export const EXTENSION_PREFIX = 'layerRotation';

/** Commands contributed in package.json (the palette, menus, the welcome view). */
export const COMMANDS = {
  startTraining: 'layerRotation.startTraining',
  stopTraining: 'layerRotation.stopTraining',
  showMonitor: 'layerRotation.showMonitor',
  openMonitorInEditor: 'layerRotation.openMonitorInEditor',
  openRun: 'layerRotation.openRun',
  newConfig: 'layerRotation.newConfig',
  refreshRuns: 'layerRotation.refreshRuns',
  monitorRunFolder: 'layerRotation.monitorRunFolder',
  runSweep: 'layerRotation.runSweep',
  compareRuns: 'layerRotation.compareRuns',
  /** The runs tree's context menu: a run's (or a sweep's) folder in the OS's file manager, or the Explorer. */
  revealRun: 'layerRotation.revealRun',
  /** The runs tree's context menu: a run's folder to the trash, after a modal confirmation; never a running run. */
  deleteRun: 'layerRotation.deleteRun',
} as const;

/** Commands registered but not contributed: invoked by the extension's own items, with arguments. */
export const INTERNAL_COMMANDS = {
  /** Shows a run (its id) in the monitor: the runs tree's items. */
  showRun: 'layerRotation.showRun',
  /** Writes an export of the open comparison (kind, path): tests, instead of the tab's buttons and the save dialog. */
  compareExport: 'layerRotation.compareExport',
  /** What the comparison tab last reported drawing (CompareTestState), or undefined: tests. */
  compareState: 'layerRotation.compareState',
  /** Writes the shown (or a given) run's records as CSV or its curves as SVG (kind, path, run id): tests, instead of the monitor's buttons and the save dialog. */
  monitorExport: 'layerRotation.monitorExport',
  /** The monitor's chart settings kept for this workspace: tests. */
  monitorSettings: 'layerRotation.monitorSettings',
} as const;

export const VIEW_CONTAINER = 'layerRotation';

export const VIEWS = {
  monitor: 'layerRotation.monitor',
  runs: 'layerRotation.runs',
} as const;

/** The command VS Code makes for a view: reveals and focuses it. */
export const focusCommand = (view: (typeof VIEWS)[keyof typeof VIEWS]) => `${view}.focus`;

/** The webview panel type of the monitor in the editor area. */
export const MONITOR_PANEL_TYPE = 'layerRotation.monitorPanel';

/** The webview panel type of the comparison of runs. */
export const COMPARE_PANEL_TYPE = 'layerRotation.comparePanel';

/** contextValue of the runs tree's items (`viewItem == ...` in menus). */
export const RUN_ITEM_CONTEXT = {
  running: 'run.running',
  other: 'run',
  /** A sweep's node: running in this window (Stop stops the whole sweep), or not. */
  sweepRunning: 'sweep.running',
  sweep: 'sweep',
} as const;

export const ACTIVATION_EVENTS = ['workspaceContains:**/*.layerrot.json', 'workspaceContains:**/events.jsonl'] as const;

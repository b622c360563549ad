// The one message protocol between the extension host and the monitor webview, both ways. The
// host sends run-log events (docs/run-log-format.md), normalized once as it read them, as they
// come; the webview keeps its own state and draws. Each side validates what it receives:
// isWebviewMessage on the host, isHostMessage in the webview.
import type { RunEvent, RunStatus } from '../src/runlog/events';
import { RUN_STATUSES } from '../src/runlog/events';
import { isRunEvent } from '../src/runlog/normalize';
import {
  CHART_Y_MODES,
  type ChartKind,
  MAX_SMOOTHING,
  QUANTITIES,
  type ViewSettings,
  X_AXES,
} from '../src/runlog/chartMath';
import type { ExportView } from '../src/runlog/runExport';
import { GROUP_MODES } from '../src/runlog/layerGroups';
import { MAX_LAYERS_DRAWN, MAX_LAYERS_KEPT } from '../src/runlog/layerCap';

// The event types, as the host sends them: normalized (src/runlog/normalize.ts).
export type * from '../src/runlog/events';
export { RUN_STATUSES };
export type { ExportView } from '../src/runlog/runExport';
export type { ChartKind, Quantity, ViewSettings, XAxis, YMode } from '../src/runlog/chartMath';
export { CHART_Y_MODES, DEFAULT_VIEW } from '../src/runlog/chartMath';

/** What the monitor exports: the host writes the CSV and SVG from the run log; the webview renders the PNG. */
export const MONITOR_EXPORTS = ['csv', 'svg'] as const;
export type MonitorExportKind = (typeof MONITOR_EXPORTS)[number];

/** Largest PNG accepted from the webview (base64 characters). */
export const MAX_MONITOR_PNG_BASE64 = 40 * 1024 * 1024;

/** A run id: a run folder's name, as the host and the webview accept it. */
export const RUN_ID = /^[A-Za-z0-9._-]{1,200}$/;

/** What a run's list entry says: running, how it ended, or unfinished (a log without run_finished, no process). */
export const RUN_LIST_STATUSES = ['running', ...RUN_STATUSES, 'unfinished'] as const;
export type RunListStatus = 'running' | RunStatus | 'unfinished';

/** What the monitor lists about a run (the runs it can show). */
export interface RunListItem {
  runId: string;
  name: string;
  status: RunListStatus;
  /** Started by this window (false: a run found on disk, or an outside run). */
  live: boolean;
  /** Written by another program (a script with the layer_rotation logger, a job elsewhere), not by this extension's runner. */
  outside?: boolean;
}

/**
 * Which of a run's layers the events of a message keep (a run of more than MAX_LAYERS_KEPT
 * layers: src/runlog/layerCap.ts's keptLayers): their indices in the run, ascending, and the
 * run's layer count. The run_started's layers and the records' per-layer arrays are those.
 */
export interface LayerSubset {
  total: number;
  indices: number[];
}

export type HostMessage =
  /** The full list of runs, and which one is shown. */
  | { type: 'runs'; runs: RunListItem[]; selected: string | null }
  /** Replace everything known about a run with these events (when a run is first shown). */
  | { type: 'load'; runId: string; events: RunEvent[]; layers?: LayerSubset }
  /** New events of a run, in order, to append. */
  | { type: 'append'; runId: string; events: RunEvent[]; layers?: LayerSubset }
  /** Show this run. */
  | { type: 'select'; runId: string }
  /** The chart settings kept for this workspace (sent before the first list of runs). */
  | { type: 'settings'; settings: ViewSettings };

export type WebviewMessage =
  /** The webview has loaded and wants the state. */
  | { type: 'ready' }
  /** The user picked a run in the monitor. */
  | { type: 'select'; runId: string }
  /** The user pressed Stop for a running run. */
  | { type: 'stop'; runId: string }
  /** The user wants the run's config (or log) in an editor. */
  | { type: 'openConfig'; runId: string }
  /** The user changed the chart settings: the host keeps them for this workspace. */
  | { type: 'settings'; settings: ViewSettings }
  /** Write the run's records (CSV) or its curves as shown (SVG), through a save dialog. */
  | { type: 'export'; runId: string; kind: MonitorExportKind; view: ExportView }
  /** Save a PNG the webview rendered (base64 of the file's bytes): the run's curves, or its first-layer features. */
  | { type: 'png'; runId: string; data: string; what?: 'curves' | 'features' };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isRunId = (v: unknown): v is string => typeof v === 'string' && RUN_ID.test(v);
const hasKeys = (m: Obj, keys: string[]) => Object.keys(m).every((k) => keys.includes(k));

const isStringIn = <T extends string>(list: readonly T[], v: unknown): v is T =>
  typeof v === 'string' && (list as readonly string[]).includes(v);

/** Checks chart settings, strictly: every field, nothing else. */
export function isViewSettings(v: unknown): v is ViewSettings {
  if (!isObj(v) || !hasKeys(v, ['x', 'smoothing', 'quantity', 'y', 'group'])) return false;
  if (!isStringIn(X_AXES, v.x) || !isStringIn(QUANTITIES, v.quantity)) return false;
  if ('group' in v && !isStringIn(GROUP_MODES, v.group)) return false;
  if (typeof v.smoothing !== 'number' || !(v.smoothing >= 0 && v.smoothing <= MAX_SMOOTHING)) return false;
  const y = v.y;
  const kinds = Object.keys(CHART_Y_MODES) as ChartKind[];
  return (
    isObj(y) &&
    Object.keys(y).length === kinds.length &&
    kinds.every((k) => isStringIn(CHART_Y_MODES[k] as readonly string[], y[k]))
  );
}

export function isExportView(v: unknown): v is ExportView {
  return (
    isObj(v) &&
    hasKeys(v, ['settings', 'hidden', 'range', 'shown']) &&
    isViewSettings(v.settings) &&
    (v.shown === undefined ||
      (Array.isArray(v.shown) &&
        v.shown.length <= MAX_LAYERS_DRAWN &&
        v.shown.every((h) => typeof h === 'string' && h.length <= 1000))) &&
    Array.isArray(v.hidden) &&
    v.hidden.length <= 100_000 &&
    v.hidden.every((h) => typeof h === 'string' && h.length <= 1000) &&
    (v.range === null ||
      (Array.isArray(v.range) &&
        v.range.length === 2 &&
        v.range.every((x) => typeof x === 'number' && Number.isFinite(x)) &&
        v.range[0] < v.range[1]))
  );
}

/** Validates a message from the webview: nothing else reaches the extension's commands. */
export function isWebviewMessage(m: unknown): m is WebviewMessage {
  if (!isObj(m)) return false;
  switch (m.type) {
    case 'ready':
      return Object.keys(m).length === 1;
    case 'select':
    case 'stop':
    case 'openConfig':
      return isRunId(m.runId) && Object.keys(m).length === 2;
    case 'settings':
      return hasKeys(m, ['type', 'settings']) && isViewSettings(m.settings);
    case 'export':
      return (
        hasKeys(m, ['type', 'runId', 'kind', 'view']) &&
        isRunId(m.runId) &&
        isStringIn(MONITOR_EXPORTS, m.kind) &&
        isExportView(m.view)
      );
    case 'png':
      return (
        hasKeys(m, ['type', 'runId', 'data', 'what']) &&
        (m.what === undefined || m.what === 'curves' || m.what === 'features') &&
        isRunId(m.runId) &&
        typeof m.data === 'string' &&
        m.data.length > 0 &&
        m.data.length <= MAX_MONITOR_PNG_BASE64 &&
        /^[A-Za-z0-9+/]+={0,2}$/.test(m.data)
      );
    default:
      return false;
  }
}

export function isRunListItem(r: unknown): r is RunListItem {
  return (
    isObj(r) &&
    isRunId(r.runId) &&
    typeof r.name === 'string' &&
    (RUN_LIST_STATUSES as readonly unknown[]).includes(r.status) &&
    typeof r.live === 'boolean' &&
    (r.outside === undefined || typeof r.outside === 'boolean')
  );
}

/**
 * Validates a message from the host before the webview acts on it: a message with a bad run id,
 * a bad list entry or an event that is not a normalized run-log event is rejected whole.
 */
export function isHostMessage(m: unknown): m is HostMessage {
  if (!isObj(m)) return false;
  switch (m.type) {
    case 'runs':
      return (
        hasKeys(m, ['type', 'runs', 'selected']) &&
        Array.isArray(m.runs) &&
        m.runs.every(isRunListItem) &&
        (m.selected === null || isRunId(m.selected))
      );
    case 'load':
    case 'append':
      return (
        hasKeys(m, ['type', 'runId', 'events', 'layers']) &&
        (m.layers === undefined || isLayerSubset(m.layers)) &&
        isRunId(m.runId) &&
        Array.isArray(m.events) &&
        m.events.every(isRunEvent)
      );
    case 'select':
      return hasKeys(m, ['type', 'runId']) && isRunId(m.runId);
    case 'settings':
      return hasKeys(m, ['type', 'settings']) && isViewSettings(m.settings);
    default:
      return false;
  }
}

/** A LayerSubset: at most MAX_LAYERS_KEPT indices, ascending, within the run's layer count. */
export function isLayerSubset(v: unknown): v is LayerSubset {
  if (!isObj(v) || !hasKeys(v, ['total', 'indices'])) return false;
  const { total, indices } = v;
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 0 || !Array.isArray(indices)) return false;
  if (indices.length > Math.min(total, MAX_LAYERS_KEPT)) return false;
  return indices.every(
    (i, k) => typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < total && (k === 0 || i > indices[k - 1]),
  );
}

/** What the webview exposes for tests on `window.__layerRotationMonitor`. */
export interface MonitorTestState {
  /** Run shown. */
  runId: string | null;
  /** Number of layer rotation series drawn (one per layer). */
  seriesCount: number;
  /** Per layer: the last cosine distance drawn. */
  lastValues: number[];
  /** Points per series. */
  points: number;
  /** Number of times the rotation chart has been drawn. */
  draws: number;
  /** Layer names in the layer table, and those marked lagging. */
  tableLayers: string[];
  lagging: string[];
  /** The first-layer features drawn: the current snapshot's step and the tiles drawn; null when the run has none. */
  features?: { step: number; tiles: number } | null;
}

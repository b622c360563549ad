// The one message protocol between the extension host and the monitor webview. The host sends
// run-log events (docs/run-log-format.md) as they come; the webview keeps its own state and
// draws. Messages from the webview are validated by the host (isWebviewMessage).
import type { RunEvent } from '../src/runlog/events';

/** What the monitor lists about a run (the runs it can show). */
export interface RunListItem {
  runId: string;
  name: string;
  /** running, completed, stopped, failed, or unfinished (a log without run_finished, no process). */
  status: 'running' | 'completed' | 'stopped' | 'failed' | 'unfinished';
  /** Started by this window (false: a run found on disk, or an outside run). */
  live: boolean;
  /** Written by another program (a script with the layer_rotation logger, a job elsewhere), not by this extension's runner. */
  outside?: boolean;
}

export type HostMessage =
  /** The full list of runs, and which one is shown. */
  | { type: 'runs'; runs: RunListItem[]; selected: string | null }
  /** Replace everything known about a run with these events (when a run is first shown). */
  | { type: 'load'; runId: string; events: RunEvent[] }
  /** New events of a run, in order, to append. */
  | { type: 'append'; runId: string; events: RunEvent[] }
  /** Show this run. */
  | { type: 'select'; runId: string };

export type WebviewMessage =
  /** The webview has loaded and wants the state. */
  | { type: 'ready' }
  /** The user picked a run in the monitor. */
  | { type: 'select'; runId: string }
  /** The user pressed Stop for a running run. */
  | { type: 'stop'; runId: string }
  /** The user wants the run's config (or log) in an editor. */
  | { type: 'openConfig'; runId: string };

const RUN_ID = /^[A-Za-z0-9._-]{1,200}$/;

/** Validates a message from the webview: nothing else reaches the extension's commands. */
export function isWebviewMessage(m: unknown): m is WebviewMessage {
  if (typeof m !== 'object' || m === null) return false;
  const msg = m as Record<string, unknown>;
  switch (msg.type) {
    case 'ready':
      return Object.keys(msg).length === 1;
    case 'select':
    case 'stop':
    case 'openConfig':
      return typeof msg.runId === 'string' && RUN_ID.test(msg.runId) && Object.keys(msg).length === 2;
    default:
      return false;
  }
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
}

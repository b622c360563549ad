// Reading run logs back: a tolerant parser of events.jsonl (a corrupt line is skipped and
// reported with its line number, never fatal; the others are normalized, runlog/normalize.ts), and the per-layer analysis shown by the CLI's
// report and by the editor.
import * as fs from 'node:fs';
import type {
  BatchEvent,
  EpochEnd,
  LaggingLayer,
  LogEvent,
  RotationEvent,
  RunEvent,
  RunFinished,
  RunStarted,
} from './events';
import { normalizeEvent } from './normalize';

export interface SkippedLine {
  line: number;
  reason: string;
}

export interface RunLog {
  file?: string;
  started?: RunStarted;
  rotations: RotationEvent[];
  batches: BatchEvent[];
  epochs: EpochEnd[];
  logs: LogEvent[];
  finished?: RunFinished;
  /** Lines that were not valid run-log events. */
  skipped: SkippedLine[];
  /** True when the text ended inside a line (a writer still at work): that line was left out. */
  partialLastLine: boolean;
}

/** Adds one event to a log being built. */
export function addEvent(log: RunLog, e: RunEvent): void {
  switch (e.type) {
    case 'run_started':
      log.started = e;
      break;
    case 'rotation':
      log.rotations.push(e);
      break;
    case 'batch':
      log.batches.push(e);
      break;
    case 'epoch_end':
      log.epochs.push(e);
      break;
    case 'log':
      log.logs.push(e);
      break;
    case 'run_finished':
      log.finished = e;
      break;
  }
}

export function emptyRunLog(file?: string): RunLog {
  return { file, rotations: [], batches: [], epochs: [], logs: [], skipped: [], partialLastLine: false };
}

export function parseRunLog(text: string, file?: string): RunLog {
  const log = emptyRunLog(file);
  const lines = text.split('\n');
  // A text that does not end with a newline has a last line still being written.
  if (lines.length && lines[lines.length - 1] !== '') {
    log.partialLastLine = true;
    lines.pop();
  }
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      log.skipped.push({ line: i + 1, reason: `not valid JSON (${(err as Error).message})` });
      return;
    }
    const read = normalizeEvent(value);
    if (read.ok) addEvent(log, read.event);
    else log.skipped.push({ line: i + 1, reason: read.problem });
  });
  return log;
}

export function readRunLog(file: string): RunLog {
  return parseRunLog(fs.readFileSync(file, 'utf8'), file);
}

export function describeSkipped(log: RunLog): string[] {
  return log.skipped.map((s) => `${log.file ?? 'events.jsonl'}:${s.line}: skipped: ${s.reason}`);
}

export interface LayerRow {
  name: string;
  kind: string;
  params: number | null;
  /** Latest cosine distance (final when the run finished). */
  distance: number | null;
  lagging: boolean;
}

/** The per-layer table: latest distances, and which layers lag below target - margin. */
export function layerTable(log: RunLog): LayerRow[] {
  const layers = log.started?.layers ?? [];
  const latest = log.finished?.finalDistances?.length
    ? log.finished.finalDistances
    : (log.rotations[log.rotations.length - 1]?.distances ?? []);
  const target = log.started?.target ?? 1;
  const margin = log.started?.lagMargin ?? 0.2;
  return layers.map((l, i) => {
    const d = latest[i];
    const distance = typeof d === 'number' && Number.isFinite(d) ? d : null;
    return {
      name: l.name,
      kind: l.kind,
      params: l.params,
      distance,
      lagging: distance === null || distance < target - margin,
    };
  });
}

/** The layers whose distance is below target - margin (a NaN or missing distance lags too). */
export function lagBelowTarget(
  names: string[],
  distances: (number | null)[],
  target: number,
  margin: number,
): LaggingLayer[] {
  return names
    .map((name, i) => ({ name, distance: distances[i] as number }))
    .filter((l) => !(typeof l.distance === 'number' && l.distance >= target - margin));
}

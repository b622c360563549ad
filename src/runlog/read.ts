// Reading run logs back: a tolerant parser of events.jsonl (a corrupt line is skipped and
// reported with its line number, never fatal; the others are normalized, runlog/normalize.ts), and the per-layer analysis shown by the CLI's
// report and by the editor.
import * as fs from 'node:fs';
import type {
  BatchEvent,
  EpochEnd,
  FeaturesEvent,
  LogEvent,
  RotationEvent,
  RunEvent,
  RunFinished,
  RunStarted,
} from './events';
import { normalizeEvent } from './normalize';
import { judgeLog, type RunVerdict } from './verdict';

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
  /**
   * The first-layer features snapshots (features events): the first one (at step 0) and the
   * latest. Those between are not kept (a snapshot is up to ~90 KB): read the log for them.
   */
  features?: { first: FeaturesEvent; last: FeaturesEvent };
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
    case 'features':
      log.features = { first: log.features?.first ?? e, last: e };
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
  /** Ended, or is on course to end, below target - lagMargin. */
  lagging: boolean;
}

/** The per-layer table: latest distances (final when finished), and which layers lag (src/runlog/verdict.ts). */
export function layerTable(log: RunLog, verdict: RunVerdict | undefined = judgeLog(log)): LayerRow[] {
  return (log.started?.layers ?? []).map((l, i) => ({
    name: l.name,
    kind: l.kind,
    params: l.params,
    distance: verdict?.layers[i].distance ?? null,
    lagging: verdict?.layers[i].lagging ?? false,
  }));
}

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
import { LogTail, readLine, skipReason } from './tail';
import { judgeLog, type RunVerdict } from './verdict';

export interface SkippedLine {
  line: number;
  reason: string;
}

/** Records of each kind (rotation, batch, epoch_end, log) a log keeps in memory; past this, every other one is dropped and then only every stride-th kept, as TensorBoard samples. */
export const MAX_RECORDS = 20000;
/** Distances (records x layers) of rotation records kept: a run of many layers keeps fewer records. */
export const MAX_VALUES = 4_000_000;
/** Rotation records kept at the least, whatever the layer count (the first and the latest among them). */
export const MIN_RECORDS_KEPT = 4;
/** Skipped lines named one by one; the others are counted (RunLog.skippedTotal). */
export const MAX_SKIPPED_KEPT = 1000;

type SampledKind = 'rotation' | 'batch' | 'epoch_end' | 'log';
/** How a log's records of one kind are sampled once they outgrow their cap. */
interface Sampling {
  /** Every stride-th record is a sample (doubles at each thinning). */
  stride: number;
  /** Records since the last sample. */
  since: number;
  /** The list ends with the latest record, which is not a sample (the next record replaces it). */
  latest: boolean;
  /** Records of this kind read in all. */
  seen: number;
}

export interface RunLog {
  file?: string;
  started?: RunStarted;
  /**
   * The records, in file order: all of them up to their cap (MAX_RECORDS; for rotations also
   * MAX_VALUES / layers), then sampled (the first, every stride-th, and always the latest).
   */
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
  /** Lines that were not valid run-log events (the first MAX_SKIPPED_KEPT). */
  skipped: SkippedLine[];
  /** Lines skipped in all, when more than `skipped` holds. */
  skippedTotal?: number;
  /** True when the text ended inside a line (a writer still at work): that line was left out. */
  partialLastLine: boolean;
  /** Sampling of the records of each kind, once some were dropped (see `rotations`). */
  sampling?: Partial<Record<SampledKind, Sampling>>;
}

/** What addEvent did with an event. */
export type Added =
  /** Kept (every event but the records of a long log). */
  | 'kept'
  /** Kept, and older records of its kind were thinned out: who copied them should read them again. */
  | 'thinned'
  /** Kept only as the latest record of its kind, until the next one replaces it (not a sample). */
  | 'latest';

/** Adds one event to a log being built (memory stays bounded: records are sampled past their cap). */
export function addEvent(log: RunLog, e: RunEvent): Added {
  switch (e.type) {
    case 'run_started':
      log.started = e;
      return 'kept';
    case 'rotation':
      return addRecord(log, 'rotation', log.rotations, e);
    case 'batch':
      return addRecord(log, 'batch', log.batches, e);
    case 'epoch_end':
      return addRecord(log, 'epoch_end', log.epochs, e);
    case 'log':
      return addRecord(log, 'log', log.logs, e);
    case 'run_finished':
      log.finished = e;
      return 'kept';
    case 'features':
      log.features = { first: log.features?.first ?? e, last: e };
      return 'kept';
  }
}

/** The cap of a kind's records: rotations of many layers keep fewer. */
function capOf(log: RunLog, kind: SampledKind, e: RunEvent): number {
  if (kind !== 'rotation') return MAX_RECORDS;
  const layers = Math.max(1, log.started?.layers.length ?? 0, (e as RotationEvent).distances.length);
  return Math.max(MIN_RECORDS_KEPT, Math.min(MAX_RECORDS, Math.floor(MAX_VALUES / layers)));
}

function addRecord<T extends RunEvent>(log: RunLog, kind: SampledKind, list: T[], e: T): Added {
  const s = ((log.sampling ??= {})[kind] ??= { stride: 1, since: 0, latest: false, seen: 0 });
  if (s.latest) list.pop();
  s.latest = false;
  s.seen++;
  if (++s.since < s.stride) {
    list.push(e);
    s.latest = true;
    return 'latest';
  }
  s.since = 0;
  let added: Added = 'kept';
  if (list.length >= capOf(log, kind, e)) {
    // Keep the first record (the initial state) and every other one after it, in place.
    let w = 0;
    for (let i = 0; i < list.length; i += 2) list[w++] = list[i];
    list.length = w;
    s.stride *= 2;
    added = 'thinned';
  }
  list.push(e);
  return added;
}

/** Whether some records of the log were dropped (sampled), and how many of each kind were read. */
export function samplingOf(log: RunLog): { kind: SampledKind; kept: number; seen: number }[] {
  const lists: Record<SampledKind, unknown[]> = {
    rotation: log.rotations,
    batch: log.batches,
    epoch_end: log.epochs,
    log: log.logs,
  };
  const out: { kind: SampledKind; kept: number; seen: number }[] = [];
  for (const [kind, s] of Object.entries(log.sampling ?? {}) as [SampledKind, Sampling][])
    if (s.seen > lists[kind].length) out.push({ kind, kept: lists[kind].length, seen: s.seen });
  return out;
}

/** Notes a skipped line (the first MAX_SKIPPED_KEPT are kept, the others counted). */
export function addSkipped(log: RunLog, s: SkippedLine): void {
  const total = skippedCount(log) + 1;
  if (log.skipped.length < MAX_SKIPPED_KEPT) log.skipped.push(s);
  log.skippedTotal = total;
}

/** Lines of the log skipped in all. */
export function skippedCount(log: RunLog): number {
  return Math.max(log.skippedTotal ?? 0, log.skipped.length);
}

export function emptyRunLog(file?: string): RunLog {
  return { file, rotations: [], batches: [], epochs: [], logs: [], skipped: [], partialLastLine: false };
}

/** Reads the text of a whole log (tests, small logs); readRunLog reads a file in bounded memory. */
export function parseRunLog(text: string, file?: string): RunLog {
  const log = emptyRunLog(file);
  let start = 0;
  let line = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      // A text that does not end with a newline has a last line still being written.
      log.partialLastLine = start < text.length;
      break;
    }
    line++;
    const read = readLine(text.slice(start, nl), line === 1);
    start = nl + 1;
    if (read === undefined) continue;
    if (read.ok) addEvent(log, read.event);
    else addSkipped(log, { line, reason: skipReason(read.problem) });
  }
  return log;
}

/**
 * Reads a run log file chunk by chunk (runlog/tail.ts): memory stays about one chunk plus what
 * the log keeps (records sampled past their cap), whatever the file's size. Throws when there is
 * no file there.
 */
export function readRunLog(file: string): RunLog {
  if (!fs.statSync(file).isFile()) throw new Error(`${file} is not a file`);
  let log = emptyRunLog(file);
  const tail = new LogTail(file);
  for (;;) {
    const chunk = tail.read();
    if (chunk.reset) log = emptyRunLog(file); // rewritten while we read: its new content only
    for (const e of chunk.events) addEvent(log, e);
    for (const s of chunk.skipped) addSkipped(log, s);
    if (!chunk.more) break;
  }
  log.partialLastLine = tail.partial;
  return log;
}

/** The skipped lines as file:line: skipped: why, the first `max` of them, then how many more. */
export function describeSkipped(log: RunLog, max = 50, file = log.file ?? 'events.jsonl'): string[] {
  const out = log.skipped.slice(0, max).map((s) => `${file}:${s.line}: skipped: ${s.reason}`);
  const more = skippedCount(log) - out.length;
  if (more > 0)
    out.push(
      `${file}: ${more.toLocaleString('en-US')} more lines skipped (${skippedCount(log).toLocaleString('en-US')} in all)`,
    );
  return out;
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

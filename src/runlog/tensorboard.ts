// A run log as TensorBoard scalars: the run's events (normalized, runlog/normalize.ts) written as a
// TensorBoard event file (tfevents), so that a team on TensorBoard sees the layer rotation there
// too. One tag per layer (`layer_rotation/<layer>`, the cosine distance to its initial kernel),
// the loss, accuracy and learning rate as the log has them, and a custom-scalars layout that puts
// every layer's curve on one chart (in the run's layer order). No TensorFlow, no protobuf
// library: the few messages needed are encoded here. python/layer_rotation/tensorboard.py writes
// the same bytes for the same events (test/tensorboard.test.ts checks it): change both together.
//
// The tfevents format: a sequence of records, each `uint64 length (LE) | uint32 masked
// crc32c(length) | data | uint32 masked crc32c(data)`, each data an `Event` proto (tensorflow/core/
// util/event.proto): the first has `file_version`, the others a `Summary` of tagged values.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from './events';
import { FileSystemError } from './fsError';
import { addSkipped, describeSkipped, emptyRunLog } from './read';
import { LogTail } from './tail';

// ---- CRC32C (Castagnoli), masked as TFRecord does ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C of the bytes (123456789 gives 0xe3069283). */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The CRC as TFRecord stores it: rotated right by 15 bits plus a constant. */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, the data's masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(data.length + 16);
  out.writeUInt32LE(data.length >>> 0, 0);
  out.writeUInt32LE(Math.floor(data.length / 2 ** 32), 4);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

// ---- protobuf wire format: just what Event, Summary and Layout need ----

class Proto {
  private readonly parts: Uint8Array[] = [];

  private varint(n: number): void {
    const b: number[] = [];
    while (n >= 128) {
      b.push((n % 128) | 128);
      n = Math.floor(n / 128);
    }
    b.push(n);
    this.parts.push(Uint8Array.from(b));
  }
  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  uint(field: number, n: number): this {
    this.key(field, 0);
    this.varint(n);
    return this;
  }
  double(field: number, x: number): this {
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(x);
    this.parts.push(b);
    return this;
  }
  float(field: number, x: number): this {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(x);
    this.parts.push(b);
    return this;
  }
  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2);
    this.varint(data.length);
    this.parts.push(data);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// ---- what a run log becomes ----

/** The tag of each layer's distance: `layer_rotation/<name>`. */
export const LAYER_TAG_PREFIX = 'layer_rotation/';
/** The tag under which TensorBoard's custom-scalars plugin finds its layout. */
export const LAYOUT_TAG = 'custom_scalars__config__';
/** The layout's category (runs' layouts with the same title are merged by TensorBoard). */
export const LAYOUT_TITLE = 'Layer rotation';

/** The tags of a run's layers, in its order: `layer_rotation/<name>`, made unique with ` (N)` (N = the layer's 1-based index). */
export function layerTags(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((name, i) => {
    let tag = `${LAYER_TAG_PREFIX}${name}`;
    while (seen.has(tag)) tag += ` (${i + 1})`;
    seen.add(tag);
    return tag;
  });
}

/** A regular expression (Python's re, which the custom-scalars plugin uses) matching exactly `s`. */
export function exactPattern(s: string): string {
  return `^${s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')}$`;
}

/** The custom-scalars Layout proto: one chart of every layer's distance (in the run's order), one of the losses, one of the accuracies. */
export function layoutProto(tags: readonly string[]): Buffer {
  const chart = (title: string, patterns: string[]) => {
    const content = new Proto();
    for (const p of patterns) content.string(1, p);
    return new Proto().string(1, title).bytes(2, content.done()).done();
  };
  const category = new Proto()
    .string(1, LAYOUT_TITLE)
    .bytes(2, chart('cosine distance to the initial weights, per layer', tags.map(exactPattern)))
    .bytes(2, chart('loss', ['^loss/']))
    .bytes(2, chart('accuracy', ['^accuracy/']))
    .done();
  return new Proto().bytes(2, category).done();
}

/** An Event proto. */
function eventProto(wallTime: number, step: number, what: (p: Proto) => void): Buffer {
  const p = new Proto().double(1, wallTime).uint(2, step);
  what(p);
  return p.done();
}

/** A Summary.Value with a simple_value. */
function scalarValue(tag: string, value: number): Buffer {
  return new Proto().string(1, tag).float(2, value).done();
}

/** The Summary.Value of a custom-scalars layout: a string tensor holding the Layout proto. */
function layoutValue(layout: Buffer): Buffer {
  const pluginData = new Proto().string(1, 'custom_scalars').done();
  const metadata = new Proto().bytes(1, pluginData).done();
  // TensorProto: dtype DT_STRING (7), a scalar shape (empty), string_val.
  const tensor = new Proto().uint(1, 7).bytes(2, new Uint8Array(0)).bytes(8, layout).done();
  return new Proto().string(1, LAYOUT_TAG).bytes(9, metadata).bytes(8, tensor).done();
}

/** Steps as int64: whole, not negative, at most 2^53 - 1. */
function stepOf(n: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(n)));
}

/** The scalars of an event (tag, value), values that are numbers only (null: unknown, left out). */
function scalarsOf(e: RunEvent, tags: readonly string[]): [string, number][] {
  const out: [string, number][] = [];
  const add = (tag: string, v: number | null | undefined) => {
    if (typeof v === 'number' && Number.isFinite(v)) out.push([tag, v]);
  };
  switch (e.type) {
    case 'rotation':
      e.distances.forEach((d, i) => add(tags[i] ?? `${LAYER_TAG_PREFIX}layer ${i + 1}`, d));
      break;
    case 'batch':
      add('loss/batch', e.loss);
      add('accuracy/batch', e.accuracy);
      add('learning_rate', e.learningRate);
      break;
    case 'epoch_end':
      add('loss/train', e.loss);
      add('accuracy/train', e.accuracy);
      add('loss/validation', e.valLoss);
      add('accuracy/validation', e.valAccuracy);
      break;
    case 'run_finished':
      add('loss/test', e.testLoss);
      add('accuracy/test', e.testAccuracy);
      break;
  }
  return out;
}

/**
 * Turns a run's events, in order, into TensorBoard records (tfRecord's): the file version and the
 * layout at run_started, then a Summary per event that has scalars. The wall time of an event
 * without a time is that of the event before it; the step of an epoch_end or run_finished without
 * one is the last step seen.
 */
export class TensorBoardEncoder {
  private tags: string[] = [];
  private wallTime = 0;
  private step = 0;

  /** The records of one event (none for events without scalars). */
  encode(e: RunEvent): Buffer[] {
    if (typeof e.time === 'number' && Number.isFinite(e.time)) this.wallTime = e.time / 1000;
    if (e.type === 'run_started') {
      this.tags = layerTags(e.layers.map((l) => l.name));
      return [
        tfRecord(eventProto(this.wallTime, 0, (p) => p.string(3, 'brain.Event:2'))),
        tfRecord(
          eventProto(this.wallTime, 0, (p) =>
            p.bytes(5, new Proto().bytes(1, layoutValue(layoutProto(this.tags))).done()),
          ),
        ),
      ];
    }
    const step = 'step' in e && typeof e.step === 'number' ? stepOf(e.step) : this.step;
    if (e.type !== 'log' && e.type !== 'features') this.step = step;
    const scalars = scalarsOf(e, this.tags);
    if (scalars.length === 0) return [];
    const summary = new Proto();
    for (const [tag, v] of scalars) summary.bytes(1, scalarValue(tag, v));
    return [tfRecord(eventProto(this.wallTime, step, (p) => p.bytes(5, summary.done())))];
  }
}

/** The event file's name: TensorBoard reads files whose name holds `tfevents`; the same run always gets the same name (a new export replaces the last). */
export function eventsFileName(started: { time: number | null } | undefined): string {
  const seconds = started && typeof started.time === 'number' ? Math.max(0, Math.floor(started.time / 1000)) : 0;
  return `events.out.tfevents.${String(seconds).padStart(10, '0')}.layer-rotation`;
}

export interface TensorBoardExport {
  /** The event file written. */
  file: string;
  /** Rotation records (and other events) written. */
  rotations: number;
  events: number;
  layers: number;
  /** What was wrong with the log (skipped lines, a last line still being written), in report's words. */
  notes: string[];
}

/**
 * Writes the TensorBoard event file of a run log (`eventsFile`) into `outDir` (made if need be),
 * reading the log as a stream (every record, in bounded memory). The file appears whole or not at
 * all (written beside, then renamed). Throws a FileSystemError saying what and where when the log
 * cannot be read or the file cannot be written, and an Error when the log has no run_started.
 */
export function exportTensorBoard(eventsFile: string, outDir: string): TensorBoardExport {
  const tail = new LogTail(eventsFile);
  const skipped = emptyRunLog(eventsFile);
  let tmp: string | undefined;
  let fd: number | undefined;
  let encoder = new TensorBoardEncoder();
  let started: Extract<RunEvent, { type: 'run_started' }> | undefined;
  let rotations = 0;
  let events = 0;
  try {
    for (;;) {
      let chunk: ReturnType<LogTail['read']>;
      try {
        chunk = tail.read();
      } catch (e) {
        throw new FileSystemError(`cannot read the run log ${eventsFile}`, e);
      }
      if (!tail.exists) throw new FileSystemError(`cannot read the run log ${eventsFile}`, { code: 'ENOENT' });
      if (chunk.reset && fd !== undefined) {
        // The log was rewritten while we read it: start over from its new beginning.
        fs.ftruncateSync(fd, 0);
        encoder = new TensorBoardEncoder();
        started = undefined;
        rotations = events = 0;
      }
      for (const e of chunk.events) {
        if (!started) {
          if (e.type !== 'run_started') continue; // records before the run's start have no layers to name
          started = e;
          try {
            fs.mkdirSync(outDir, { recursive: true });
            tmp = path.join(outDir, `.${eventsFileName(e)}.${process.pid}.tmp`);
            fd = fs.openSync(tmp, 'w');
          } catch (err) {
            throw new FileSystemError(`cannot write the TensorBoard event file in ${outDir}`, err);
          }
        }
        const records = encoder.encode(e);
        if (records.length === 0 || fd === undefined) continue;
        try {
          for (const r of records) fs.writeSync(fd, r);
        } catch (err) {
          throw new FileSystemError(`cannot write ${tmp}`, err);
        }
        events++;
        if (e.type === 'rotation') rotations++;
      }
      for (const s of chunk.skipped) addSkipped(skipped, s);
      if (!chunk.more) break;
    }
    if (!started || fd === undefined || tmp === undefined)
      throw new Error(`${eventsFile}: the log has no run_started event, so its layers are unknown`);
    const file = path.join(outDir, eventsFileName(started));
    try {
      fs.closeSync(fd);
      fd = undefined;
      fs.renameSync(tmp, file);
      tmp = undefined;
    } catch (err) {
      throw new FileSystemError(`cannot write ${file}`, err);
    }
    const notes = describeSkipped(skipped, 50, eventsFile);
    if (tail.partial) notes.push(`${eventsFile}: its last line has no line break yet (still being written): left out`);
    return { file, rotations, events, layers: started.layers.length, notes };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    if (tmp !== undefined) fs.rmSync(tmp, { force: true });
  }
}

// Incremental reading of a run log (events.jsonl, docs/run-log-format.md) that another program
// may still be writing: each read() opens the file, checks that it is still the same file (inode,
// device, birth time, first bytes) and not shorter than what was consumed, and reads only the bytes
// added since the last read, in chunks of `chunkBytes`, so that memory stays about one chunk
// whatever the size of the log. Lines are split on the byte 0x0A and decoded whole (a UTF-8
// character split across two chunks is never mangled); a last line without its '\n' is kept back
// (its bytes are buffered) until the writer finishes it. A line that is not a valid event is
// skipped and reported with its 1-based line number; it never stops the reading. A truncated or
// replaced file is read again from its beginning, and the chunk says so (`reset`), so that a
// consumer drops what it had. Why not fs.watch + readFile: a 300 MB log must not be re-read to
// append one line, and a log on a cluster's shared filesystem may be rewritten behind our back.
import * as fs from 'node:fs';
import { type Normalized, normalizeEvent } from './normalize';
import { oneLine } from './sanitize';
import type { RunEvent } from './events';

export interface TailChunk {
  /** Valid events, normalized (runlog/normalize.ts), in file order. */
  events: RunEvent[];
  /** Lines that are not valid run-log events (1-based line numbers in the file). */
  skipped: { line: number; reason: string }[];
  /** The file was truncated or replaced since the last read: these events start from the file's beginning; drop what you had. */
  reset: boolean;
  /** Stopped at maxBytes: call read() again for the rest. */
  more: boolean;
}

const DEFAULT_CHUNK = 4 * 1024 * 1024;
/** Bytes of the file's beginning kept to recognize a file rewritten in place. */
const HEAD_BYTES = 256;
/** A "line" longer than this (e.g. a binary file) is skipped instead of being held in memory. */
const MAX_LINE = 64 * 1024 * 1024;

interface Identity {
  dev: number;
  ino: number;
  birth: number;
}

export class LogTail {
  readonly file: string;
  private readonly chunkBytes: number;
  private _offset = 0;
  private _line = 0;
  private _exists = false;
  private size = 0;
  private id: Identity | undefined;
  private head: Buffer = Buffer.alloc(0);
  /** Bytes read after `_offset` that do not end with '\n' yet (the start of an unfinished line). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside a line longer than MAX_LINE: bytes are dropped until its '\n'. */
  private overlong = false;

  constructor(file: string, opts: { chunkBytes?: number } = {}) {
    this.file = file;
    this.chunkBytes = Math.max(1, Math.floor(opts.chunkBytes ?? DEFAULT_CHUNK));
  }

  /** Bytes consumed: the end of the last complete line. */
  get offset(): number {
    return this._offset;
  }
  /** Complete lines consumed. */
  get line(): number {
    return this._line;
  }
  /** There are bytes after `offset` without a '\n' yet (at the last read). */
  get partial(): boolean {
    return this.size > this._offset;
  }
  get exists(): boolean {
    return this._exists;
  }

  /**
   * Reads what was added since the last read, at most `maxBytes` bytes (default: one chunk);
   * `more` says there is more to read now. Never throws for a missing file (exists becomes false);
   * other I/O errors (e.g. permissions) are thrown.
   */
  read(maxBytes: number = this.chunkBytes): TailChunk {
    const out: TailChunk = { events: [], skipped: [], reset: false, more: false };
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
        this._exists = false;
        this.size = 0;
        return out;
      }
      throw err;
    }
    try {
      this._exists = true;
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return out;
      const id: Identity = { dev: st.dev, ino: st.ino, birth: st.birthtimeMs };
      const scanned = this._offset + this.pendingBytes;
      if (this.id && (this.replaced(id) || st.size < scanned || !this.sameHead(fd))) {
        this.restart();
        out.reset = true;
      }
      this.id = id;
      this.size = st.size;
      if (this.head.length < HEAD_BYTES && st.size > this.head.length)
        this.head = readAt(fd, 0, Math.min(HEAD_BYTES, st.size));

      let pos = this._offset + this.pendingBytes;
      const end = Math.min(st.size, pos + Math.max(1, maxBytes));
      const buf = Buffer.allocUnsafe(Math.min(this.chunkBytes, Math.max(0, end - pos)));
      while (pos < end) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
        if (n <= 0) break;
        this.consume(buf.subarray(0, n), out);
        pos += n;
      }
      out.more = pos < st.size;
      return out;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Reads until the end of the file (for small files and tests: holds all events in memory). */
  readAll(): TailChunk {
    const all = this.read();
    while (all.more) {
      const c = this.read();
      if (c.reset) {
        all.events = [];
        all.skipped = [];
        all.reset = true;
      }
      for (const e of c.events) all.events.push(e);
      for (const s of c.skipped) all.skipped.push(s);
      all.more = c.more;
    }
    return all;
  }

  private replaced(id: Identity): boolean {
    const old = this.id!;
    return old.dev !== id.dev || old.ino !== id.ino || (old.birth > 0 && id.birth > 0 && old.birth !== id.birth);
  }

  /** The file still starts with the bytes it started with (catches a rewrite in place that grew past our offset). */
  private sameHead(fd: number): boolean {
    return this.head.length === 0 || readAt(fd, 0, this.head.length).equals(this.head);
  }

  private restart(): void {
    this._offset = 0;
    this._line = 0;
    this.head = Buffer.alloc(0);
    this.pending = [];
    this.pendingBytes = 0;
    this.overlong = false;
  }

  /** Splits a chunk into lines; the bytes after its last '\n' are kept for the next chunk. */
  private consume(chunk: Buffer, out: TailChunk): void {
    let start = 0;
    let nl = chunk.indexOf(0x0a);
    if (nl >= 0 && (this.pendingBytes > 0 || this.overlong)) {
      // The end of a line begun in an earlier chunk.
      this._line++;
      // Its length decides, not where the chunks happened to end.
      if (this.overlong || this.pendingBytes + nl > MAX_LINE) this.skip(out, `line longer than ${MAX_LINE} bytes`);
      else this.parse(Buffer.concat([...this.pending, chunk.subarray(0, nl)]).toString('utf8'), out);
      this._offset += this.pendingBytes + nl + 1;
      this.pending = [];
      this.pendingBytes = 0;
      this.overlong = false;
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    const last = chunk.lastIndexOf(0x0a);
    if (nl >= 0 && last >= start) {
      // Whole lines: one decode for all of them (0x0A never occurs inside a UTF-8 character).
      const lines = chunk.toString('utf8', start, last).split('\n');
      for (const text of lines) {
        this._line++;
        this.parse(text, out);
      }
      this._offset += last + 1 - start;
      start = last + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (this.overlong || this.pendingBytes + rest > MAX_LINE) {
        this.overlong = true;
        this.pending = [];
      } else this.pending.push(Buffer.from(chunk.subarray(start))); // a copy: `chunk` is reused
      this.pendingBytes += rest;
    }
  }

  private parse(text: string, out: TailChunk): void {
    const read = readLine(text, this._line === 1);
    if (read === undefined) return;
    if (read.ok) out.events.push(read.event);
    else this.skip(out, read.problem);
  }

  /** Reports the line just counted in `_line` as skipped. */
  private skip(out: TailChunk, reason: string): void {
    out.skipped.push({ line: this._line, reason: skipReason(reason) });
  }
}

/** Why a line is skipped, as readers show it: on one line, bounded (it may quote the line's own bytes). */
export function skipReason(reason: string): string {
  return oneLine(reason, MAX_REASON);
}
const MAX_REASON = 300;

/**
 * One line of a run log (without its '\n') read as an event: undefined for a blank line, else the
 * normalized event or why the line is not one. A '\r' before the '\n' is dropped, and so is a
 * byte-order mark at the start of the file's first line.
 */
export function readLine(text: string, first = false): Normalized | undefined {
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!text.trim()) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `not valid JSON (${(err as Error).message})` };
  }
  return normalizeEvent(value);
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  const n = fs.readSync(fd, b, 0, len, pos);
  return n === len ? b : b.subarray(0, n);
}

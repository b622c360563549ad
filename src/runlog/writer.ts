// Appending run-log events to events.jsonl.
import * as fs from 'node:fs';
import { type RunEvent, toJsonLine } from './events';
import { FileSystemError } from './fsError';

/** A line that could not be written to the run log: says which log and why, on one line. */
export class LogWriteError extends FileSystemError {}

/**
 * Appends events to a file, one complete line per write(2) call, flushed by the OS as it
 * goes: a run killed at any moment leaves only whole lines behind. A write that fails part-way
 * (a full disk) is taken back, so that the log never holds a half line followed by more lines;
 * after a failure, or once the file has been removed (its folder deleted), every write throws a
 * LogWriteError that says why. A log that ends in a half line (a writer killed mid-line, in
 * another process) gets a line break before the first new line, so that the new lines stay whole.
 */
export class EventLogWriter {
  private fd: number | undefined;
  private failure: LogWriteError | undefined;
  private needsBreak = false;

  constructor(readonly file: string) {
    try {
      this.fd = fs.openSync(file, 'a+');
      const size = fs.fstatSync(this.fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        fs.readSync(this.fd, last, 0, 1, size - 1);
        this.needsBreak = last[0] !== 0x0a;
      }
    } catch (err) {
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
      throw new LogWriteError(`cannot open the run log ${file}`, err);
    }
  }

  write(e: RunEvent): void {
    if (this.failure) throw this.failure;
    if (this.fd === undefined) throw new Error(`event log ${this.file} is closed`);
    const fd = this.fd;
    const data = Buffer.from((this.needsBreak ? '\n' : '') + toJsonLine(e));
    let written = 0;
    try {
      if (fs.fstatSync(fd).nlink === 0)
        throw new LogWriteError(
          `cannot write the run log ${this.file}`,
          undefined,
          'it was removed (its folder deleted?)',
        );
      while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written);
      this.needsBreak = false;
    } catch (err) {
      // Take back the part of the line that was written, so that no half line stays in the log.
      if (written > 0) {
        try {
          fs.ftruncateSync(fd, fs.fstatSync(fd).size - written);
        } catch {
          // nothing more to do: this writer writes no more, and the next one starts with a line break
        }
      }
      this.failure =
        err instanceof LogWriteError ? err : new LogWriteError(`cannot write the run log ${this.file}`, err);
      throw this.failure;
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

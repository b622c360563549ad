// Appending run-log events to events.jsonl.
import * as fs from 'node:fs';
import { type RunEvent, toJsonLine } from './events';

/**
 * Appends events to a file, one complete line per write(2) call, flushed by the OS as it
 * goes: a run killed at any moment leaves only whole lines behind.
 */
export class EventLogWriter {
  private fd: number | undefined;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a');
  }

  write(e: RunEvent): void {
    if (this.fd === undefined) throw new Error(`event log ${this.file} is closed`);
    fs.writeSync(this.fd, toJsonLine(e));
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

// Checking a config's text without blocking the caller's thread (the extension host's): texts of
// a few kilobytes, every config people write, are checked at once (a few milliseconds at most,
// even when crafted); longer ones in a worker thread (checkWorker.ts), the newest request of each
// file winning, with a time limit after which the worker is replaced and that text gets one error
// saying so. No vscode.
import { Worker } from 'node:worker_threads';
import { parseConfigText } from './parse';
import type { ConfigError } from './types';

/** Texts up to this many characters are checked on the caller's thread. */
export const INLINE_CHECK_CHARS = 8 * 1024;
/** The most a check may take in the worker before it is stopped. */
export const CHECK_TIMEOUT_MS = 10_000;

export interface CheckRequest {
  id: number;
  text: string;
  file: string;
}

export interface CheckReply {
  id: number;
  errors: ConfigError[];
  /** An exception of the checker itself (a bug), as its message. */
  failure?: string;
}

/** One error at 1:1 of a text that could not be checked. */
function uncheckedError(file: string, message: string): ConfigError {
  return { file, message, line: 1, column: 1, offset: 0, length: 1, path: [], severity: 'error' };
}

interface Pending {
  request: CheckRequest;
  resolve: (errors: ConfigError[]) => void;
  timer: NodeJS.Timeout | undefined;
}

export class ConfigChecker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The newest request per file: an older one's answer is dropped. */
  private readonly newest = new Map<string, number>();

  /** `workerScript`: the bundled checkWorker (dist/configCheck.js, or out/.../checkWorker.js). */
  constructor(
    private readonly workerScript: string,
    private readonly inlineChars = INLINE_CHECK_CHARS,
    private readonly timeoutMs = CHECK_TIMEOUT_MS,
  ) {}

  /**
   * The problems of `text` (the config file `file`), or undefined when a newer check of the same
   * file was asked for meanwhile (its answer is the one that counts).
   */
  async check(text: string, file: string): Promise<ConfigError[] | undefined> {
    const id = this.nextId++;
    this.newest.set(file, id);
    // An older check of this file still waiting in the worker's queue is not needed any more.
    for (const [other, p] of this.pending) if (p.request.file === file && other !== id) this.settle(other, []);
    const errors =
      text.length <= this.inlineChars
        ? parseConfigText(text, file).errors
        : await new Promise<ConfigError[]>((resolve) => {
            this.pending.set(id, { request: { id, text, file }, resolve, timer: undefined });
            this.post(id);
          });
    if (this.newest.get(file) !== id) return undefined;
    this.newest.delete(file);
    return errors;
  }

  private post(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      // The worker is stuck on this text: this check fails, the worker is replaced, the others go on.
      this.settle(id, [
        uncheckedError(p.request.file, `the config could not be checked within ${this.timeoutMs / 1000} s`),
      ]);
      this.replaceWorker();
    }, this.timeoutMs);
    try {
      this.ensureWorker().postMessage(p.request);
    } catch (e) {
      this.settle(id, [uncheckedError(p.request.file, `the config could not be checked: ${(e as Error).message}`)]);
    }
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerScript);
    worker.unref();
    worker.on('message', (reply: CheckReply) => {
      const file = this.pending.get(reply.id)?.request.file ?? '';
      this.settle(
        reply.id,
        reply.failure ? [uncheckedError(file, `the config checker failed: ${reply.failure}`)] : reply.errors,
      );
    });
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const [id, p] of [...this.pending])
        this.settle(id, [uncheckedError(p.request.file, `the config could not be checked: ${why}`)]);
    };
    worker.on('error', (e) => lost(e.message));
    worker.on('exit', (code) => lost(`the checker stopped (exit code ${code})`));
    this.worker = worker;
    return worker;
  }

  private settle(id: number, errors: ConfigError[]): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(errors);
  }

  /** A new worker for the checks still waiting (the old one is terminated). */
  private replaceWorker(): void {
    const old = this.worker;
    this.worker = undefined;
    void old?.terminate();
    for (const id of [...this.pending.keys()]) this.post(id);
  }

  /** Stops the worker; checks still waiting resolve with no problems (nobody waits for them). */
  dispose(): void {
    const old = this.worker;
    this.worker = undefined;
    for (const id of [...this.pending.keys()]) this.settle(id, []);
    void old?.terminate();
  }
}

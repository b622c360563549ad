// Watching folders for run logs written by any program (a training started here, a PyTorch script
// on a cluster's shared filesystem, ...) and following each log as it grows. One chokidar 4 watcher
// per root folder (inotify / fs.watch: no CPU while nothing changes; polling only when asked, for
// network filesystems; one per root because chokidar's unwatch does not close the watches below a
// folder, while close() does); its `ignored` callback prunes node_modules, .git, the ignore globs, folders
// the glob cannot match below, and files that do not match the glob, so that no watch is spent on
// them. Every matching file gets a LogTail (src/runlog/tail.ts) that reads only what was appended.
//
// Latency and cost: a change event after an idle period is read at once; further events of the
// same file are coalesced to at most one read per COALESCE_MS. chokidar drops the change events of
// a file that come within 50 ms of the previous one, so a last read is always made CHECK_MS after a
// change event: no append is left unseen. The existing content of a new file (which may be 300 MB)
// is delivered in steps of STEP_BYTES, with a yield to the event loop between steps.
import { watch, type FSWatcher } from 'chokidar';
import * as path from 'node:path';
import picomatch from 'picomatch';
import type { Stats } from 'node:fs';
import { LogTail, type TailChunk } from './tail';

export interface RunLogWatcherOptions {
  /** Absolute folders to watch. */
  roots: string[];
  /** Which files are run logs, relative to each root (picomatch). Default '**\/events.jsonl'. */
  glob?: string;
  /** Paths (relative to the root) never looked into. Default ['**\/node_modules/**', '**\/.git/**']. */
  ignore?: string[];
  /** Poll instead of using file-system events (network filesystems, e.g. NFS). Default false. */
  usePolling?: boolean;
  /** Polling interval (ms) with usePolling. Default 1000. */
  pollIntervalMs?: number;
}

export interface LogUpdate {
  file: string;
  root: string;
  chunk: TailChunk;
}

export interface Disposable {
  dispose(): void;
}

/** At most one read of a file per this many ms while it is being written. */
const COALESCE_MS = 20;
/** A read this long after each change event catches appends whose events chokidar dropped (it throttles to one per 50 ms). */
const CHECK_MS = 60;
/** Bytes read per step; the event loop gets a turn between steps. */
const STEP_BYTES = 1024 * 1024;

interface Entry {
  file: string;
  root: string;
  tail: LogTail;
  /** A read is scheduled (timer) or running (pump). */
  timer?: NodeJS.Timeout;
  check?: NodeJS.Timeout;
  pumping?: Promise<void>;
  again: boolean;
  lastRead: number;
  removed: boolean;
}

type Listener<T extends unknown[]> = (...args: T) => void;

class Emitter<T extends unknown[]> {
  private readonly listeners = new Set<Listener<T>>();
  on(cb: Listener<T>): Disposable {
    this.listeners.add(cb);
    return { dispose: () => void this.listeners.delete(cb) };
  }
  fire(...args: T): void {
    for (const cb of [...this.listeners]) {
      try {
        cb(...args);
      } catch (err) {
        console.error('RunLogWatcher listener failed:', err);
      }
    }
  }
}

/** `p` is strictly inside the folder `dir`. */
const under = (p: string, dir: string) => p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
const slash = (p: string) => (path.sep === '/' ? p : p.split(path.sep).join('/'));

export class RunLogWatcher {
  /** One chokidar watcher per root: removing a root closes all of its watches. */
  private readonly watchers = new Map<string, { watcher: FSWatcher; scanned: Promise<void>; done: () => void }>();
  private readonly entries = new Map<string, Entry>();
  private readonly opts: RunLogWatcherOptions;
  private readonly isLog: (rel: string) => boolean;
  private readonly isIgnored: (rel: string) => boolean;
  /** The glob's fixed leading folders (e.g. 'runs' for 'runs/**\/events.jsonl'): other folders are not entered. */
  private readonly base: string;
  private readonly depth: number | undefined;
  private readonly initial = new Set<Promise<void>>();
  private closed = false;
  private readonly added = new Emitter<[string, string]>();
  private readonly updated = new Emitter<[LogUpdate]>();
  private readonly removedEv = new Emitter<[string]>();

  constructor(opts: RunLogWatcherOptions) {
    this.opts = opts;
    const glob = opts.glob ?? '**/events.jsonl';
    this.isLog = picomatch(glob, { dot: true });
    this.isIgnored = picomatch(opts.ignore ?? ['**/node_modules/**', '**/.git/**'], { dot: true });
    this.base = picomatch.scan(glob).base;
    const segments = glob.split('/');
    this.depth = segments.some((s) => s.includes('**')) ? undefined : segments.length - 1;
    for (const r of opts.roots) this.addRoot(r);
  }

  /** Resolves when the scan of every root is done and the existing contents of the logs found have been delivered. */
  async ready(): Promise<void> {
    for (;;) {
      const pending = [...[...this.watchers.values()].map((w) => w.scanned), ...this.initial];
      await Promise.all(pending);
      if (!this.initial.size) return;
    }
  }

  /** A run log was found (before its first update, which carries its existing content). */
  onAdded(cb: (file: string, root: string) => void): Disposable {
    return this.added.on(cb);
  }
  /** New events, skipped lines, or a reset (truncated/replaced file) of a log. */
  onUpdate(cb: (u: LogUpdate) => void): Disposable {
    return this.updated.on(cb);
  }
  /** A log was deleted, or its root is no longer watched. */
  onRemoved(cb: (file: string) => void): Disposable {
    return this.removedEv.on(cb);
  }

  get roots(): string[] {
    return [...this.watchers.keys()];
  }

  addRoot(root: string): void {
    const r = path.resolve(root);
    if (this.closed || this.watchers.has(r)) return;
    const watcher = watch(r, {
      ignored: (p: string, stats?: Stats) => this.ignored(r, p, stats),
      ignoreInitial: false,
      persistent: true,
      usePolling: this.opts.usePolling ?? false,
      interval: this.opts.pollIntervalMs ?? 1000,
      binaryInterval: this.opts.pollIntervalMs ?? 1000,
      depth: this.depth,
    });
    watcher.on('add', (p) => this.onAdd(r, path.resolve(p)));
    watcher.on('change', (p) => {
      const e = this.entries.get(path.resolve(p));
      if (e) this.changed(e);
    });
    watcher.on('unlink', (p) => this.drop(path.resolve(p)));
    watcher.on('unlinkDir', (p) => this.dropUnder(path.resolve(p), () => true));
    watcher.on('error', () => undefined); // e.g. a folder we may not read: nothing to follow there
    let done!: () => void;
    const scanned = new Promise<void>((resolve) => (done = resolve));
    watcher.once('ready', done);
    this.watchers.set(r, { watcher, scanned, done });
  }

  removeRoot(root: string): void {
    const r = path.resolve(root);
    const w = this.watchers.get(r);
    if (!w) return;
    this.watchers.delete(r);
    w.done();
    void w.watcher.close();
    // Logs found through this root go, unless another root (nested roots) holds them too.
    this.dropUnder(r, (e) => {
      if (e.root !== r) return false;
      const other = this.roots.find((o) => under(e.file, o) && this.matches(o, e.file));
      if (other) e.root = other;
      return !other;
    });
  }

  /** The logs followed now. */
  files(): string[] {
    return [...this.entries.keys()].sort();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.entries.values()) this.stop(e);
    this.entries.clear();
    const all = [...this.watchers.values()];
    this.watchers.clear();
    for (const w of all) w.done();
    await Promise.all(all.map((w) => w.watcher.close()));
  }

  private matches(root: string, file: string): boolean {
    const rel = slash(path.relative(root, file));
    return this.isLog(rel) && !this.isIgnored(rel);
  }

  /** chokidar's filter for the watcher of `root`: true = neither watched nor reported (and, for a folder, not entered). */
  private ignored(root: string, p: string, stats?: Stats): boolean {
    const abs = path.resolve(p);
    if (!under(abs, root)) return false;
    const rel = slash(path.relative(root, abs));
    if (this.isIgnored(rel)) return true;
    if (stats?.isFile()) return !this.isLog(rel);
    if (stats?.isDirectory() && this.base)
      return !(this.base === rel || this.base.startsWith(`${rel}/`) || rel.startsWith(`${this.base}/`));
    return false;
  }

  private onAdd(root: string, file: string): void {
    if (this.closed || !this.watchers.has(root) || !this.matches(root, file)) return;
    const known = this.entries.get(file);
    if (known) {
      if (root.length > known.root.length) known.root = root; // nested roots: the innermost one
      return;
    }
    const e: Entry = { file, root, tail: new LogTail(file), again: false, lastRead: 0, removed: false };
    this.entries.set(file, e);
    this.added.fire(file, root);
    const first = this.pump(e);
    this.initial.add(first);
    void first.finally(() => this.initial.delete(first));
  }

  /** A change event: read now if the file has been quiet, else at most once per COALESCE_MS; and check again after CHECK_MS. */
  private changed(e: Entry): void {
    if (e.removed || this.closed) return;
    if (e.check) clearTimeout(e.check);
    e.check = setTimeout(() => {
      e.check = undefined;
      this.schedule(e);
    }, CHECK_MS);
    this.schedule(e);
  }

  private schedule(e: Entry): void {
    if (e.removed || this.closed) return;
    if (e.pumping) {
      e.again = true;
      return;
    }
    if (e.timer) return;
    const wait = Math.max(0, e.lastRead + COALESCE_MS - performance.now());
    e.timer = setTimeout(() => {
      e.timer = undefined;
      void this.pump(e);
    }, wait);
  }

  /** Reads everything new, a step at a time, yielding between steps; delivers it. */
  private pump(e: Entry): Promise<void> {
    if (e.pumping) return e.pumping;
    const run = async () => {
      for (;;) {
        if (e.removed || this.closed) return;
        e.again = false;
        let chunk: TailChunk;
        try {
          chunk = e.tail.read(STEP_BYTES);
        } catch {
          return; // unreadable (permissions, ...): the next change event tries again
        } finally {
          e.lastRead = performance.now();
        }
        if (chunk.events.length || chunk.skipped.length || chunk.reset)
          this.updated.fire({ file: e.file, root: e.root, chunk });
        if (!chunk.more && !e.again) return;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    e.pumping = run().finally(() => {
      e.pumping = undefined;
      if (e.again) this.schedule(e); // a change event came in as the last read ended
    });
    return e.pumping;
  }

  private stop(e: Entry): void {
    e.removed = true;
    if (e.timer) clearTimeout(e.timer);
    if (e.check) clearTimeout(e.check);
    e.timer = e.check = undefined;
  }

  private drop(file: string): void {
    const e = this.entries.get(file);
    if (!e) return;
    this.stop(e);
    this.entries.delete(file);
    this.removedEv.fire(file);
  }

  private dropUnder(dir: string, which: (e: Entry) => boolean): void {
    const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
    for (const e of [...this.entries.values()]) if (e.file.startsWith(prefix) && which(e)) this.drop(e.file);
  }
}

// Watching folders for run logs written by any program (a training started here, a PyTorch script
// on a cluster's shared filesystem, ...) and following each log as it grows. chokidar 4 watches the
// root folders (inotify / fs.watch: no CPU while nothing changes; polling only when asked, for
// network filesystems); its `ignored` callback prunes node_modules, .git, the ignore globs, folders
// the glob cannot match below, and files that do not match the glob, so that no watch is spent on
// them. Every matching file gets a LogTail (src/engine/tail.ts) that reads only what was appended.
//
// Latency and cost: a change event after an idle period is read at once; further events of the
// same file are coalesced to at most one read per COALESCE_MS. chokidar drops the change events of
// a file that come within 50 ms of the previous one, so a last read is always made CHECK_MS after a
// change event: no append is left unseen. The existing content of a new file (which may be 300 MB)
// is delivered in steps of STEP_BYTES, with a yield to the event loop between steps.
import { watch, type FSWatcher } from 'chokidar';
import * as path from 'path';
import picomatch from 'picomatch';
import type { Stats } from 'fs';
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
const isDir = (stats?: Stats) => stats === undefined || stats.isDirectory();
const slash = (p: string) => (path.sep === '/' ? p : p.split(path.sep).join('/'));

export class RunLogWatcher {
  private readonly watcher: FSWatcher;
  private readonly rootSet = new Set<string>();
  private readonly entries = new Map<string, Entry>();
  private readonly isLog: (rel: string) => boolean;
  private readonly isIgnored: (rel: string) => boolean;
  /** The glob's fixed leading folders (e.g. 'runs' for 'runs/**\/events.jsonl'): other folders are not entered. */
  private readonly base: string;
  private readonly initial = new Set<Promise<void>>();
  private readonly scanned: Promise<void>;
  private closed = false;
  private readonly added = new Emitter<[string, string]>();
  private readonly updated = new Emitter<[LogUpdate]>();
  private readonly removedEv = new Emitter<[string]>();

  constructor(opts: RunLogWatcherOptions) {
    const glob = opts.glob ?? '**/events.jsonl';
    this.isLog = picomatch(glob, { dot: true });
    this.isIgnored = picomatch(opts.ignore ?? ['**/node_modules/**', '**/.git/**'], { dot: true });
    this.base = picomatch.scan(glob).base;
    const segments = glob.split('/');
    const depth = segments.some((s) => s.includes('**')) ? undefined : segments.length - 1;
    for (const r of opts.roots) this.rootSet.add(path.resolve(r));
    this.watcher = watch([...this.rootSet], {
      ignored: (p: string, stats?: Stats) => this.ignored(p, stats),
      ignoreInitial: false,
      persistent: true,
      usePolling: opts.usePolling ?? false,
      interval: opts.pollIntervalMs ?? 1000,
      binaryInterval: opts.pollIntervalMs ?? 1000,
      depth,
    });
    this.watcher.on('add', (p) => this.onAdd(path.resolve(p)));
    this.watcher.on('change', (p) => {
      const e = this.entries.get(path.resolve(p));
      if (e) this.changed(e);
    });
    this.watcher.on('unlink', (p) => this.drop(path.resolve(p)));
    this.watcher.on('unlinkDir', (p) => this.dropUnder(path.resolve(p), () => true));
    this.watcher.on('error', () => undefined); // e.g. a folder we may not read: nothing to follow there
    this.scanned = new Promise((resolve) => this.watcher.once('ready', () => resolve()));
  }

  /** Resolves when the initial scan is done and the existing contents of the logs found have been delivered. */
  async ready(): Promise<void> {
    await this.scanned;
    while (this.initial.size) await Promise.all([...this.initial]);
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
    return [...this.rootSet];
  }

  addRoot(root: string): void {
    const r = path.resolve(root);
    if (this.closed || this.rootSet.has(r)) return;
    this.rootSet.add(r);
    this.watcher.add(r);
  }

  removeRoot(root: string): void {
    const r = path.resolve(root);
    if (!this.rootSet.delete(r)) return;
    // chokidar's unwatch also ignores everything below `r`: not when another root overlaps it (then
    // the watches of `r` stay open until close, and the ignored filter drops what only `r` held).
    if (![...this.rootSet].some((o) => under(o, r) || under(r, o))) this.watcher.unwatch(r);
    // Logs that were found through this root and are not under another one.
    this.dropUnder(r, (e) => {
      const other = this.rootOf(e.file);
      if (!other) return true;
      e.root = other;
      return false;
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
    await this.watcher.close();
  }

  /** The innermost root that holds `p`. */
  private rootOf(p: string): string | undefined {
    let best: string | undefined;
    for (const r of this.rootSet) {
      if ((p === r || under(p, r)) && (!best || r.length > best.length)) best = r;
    }
    return best;
  }

  /** chokidar's filter: true = neither watched nor reported (and, for a folder, not entered). */
  private ignored(p: string, stats?: Stats): boolean {
    const abs = path.resolve(p);
    const root = this.rootOf(abs);
    if (!root) return !isDir(stats) && ![...this.rootSet].some((r) => under(r, abs)); // outside the roots (a removed one), but not an ancestor of one
    if (abs === root) return false;
    const rel = slash(path.relative(root, abs));
    if (this.isIgnored(rel)) return true;
    if (stats?.isFile()) return !this.isLog(rel);
    if (stats?.isDirectory() && this.base) return !(this.base === rel || this.base.startsWith(rel + '/') || rel.startsWith(this.base + '/'));
    return false;
  }

  private onAdd(file: string): void {
    if (this.closed || this.entries.has(file)) return;
    const root = this.rootOf(file);
    if (!root) return;
    const rel = slash(path.relative(root, file));
    if (!this.isLog(rel) || this.isIgnored(rel)) return;
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
        if (chunk.events.length || chunk.skipped.length || chunk.reset) this.updated.fire({ file: e.file, root: e.root, chunk });
        if (!chunk.more && !e.again) return;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    e.pumping = run().finally(() => {
      e.pumping = undefined;
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

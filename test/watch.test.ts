// RunLogWatcher (src/runlog/watch.ts): finding run logs under folders and following them, on real
// files in a temporary folder.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunLogWatcher, type LogUpdate } from '../src/runlog/watch';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'layerrot-watch-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const started = (name: string) =>
  `${JSON.stringify({
    v: 1,
    time: 1,
    type: 'run_started',
    runId: name,
    name,
    engine: 'pytorch',
    backend: 'cuda',
    layers: [{ name: 'fc', kind: 'dense', shape: [2, 2], params: 6 }],
  })}\n`;
const rot = (step: number) =>
  `${JSON.stringify({
    v: 1,
    time: step,
    type: 'rotation',
    step,
    epoch: step / 10,
    distances: [step / 100],
    rotation: [0],
    steps: 1,
  })}\n`;

function write(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** A watcher with everything it reports recorded. */
function recorded(w: RunLogWatcher) {
  const log = {
    added: [] as string[],
    removed: [] as string[],
    updates: [] as (LogUpdate & { at: number })[],
    /** Events per file, as a consumer would keep them (dropped on reset). */
    events: new Map<string, unknown[]>(),
    skipped: new Map<string, number[]>(),
  };
  w.onAdded((f) => log.added.push(f));
  w.onRemoved((f) => log.removed.push(f));
  w.onUpdate((u) => {
    log.updates.push({ ...u, at: performance.now() });
    if (u.chunk.reset) log.events.set(u.file, []);
    const list = log.events.get(u.file) ?? [];
    list.push(...u.chunk.events.map((e) => ('step' in e ? e.step : e.type)));
    log.events.set(u.file, list);
    log.skipped.set(u.file, [...(log.skipped.get(u.file) ?? []), ...u.chunk.skipped.map((s) => s.line)]);
  });
  return log;
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('finds existing logs in nested folders, ignores node_modules, follows appends, new runs, removals', async () => {
  const root = path.join(tmp, 'ws1');
  const a = write(path.join(root, 'runs', 'a', 'events.jsonl'), `${started('a') + rot(1)}garbage\n${rot(2)}`);
  const b = write(path.join(root, 'deep', 'er', 'still', 'b', 'events.jsonl'), started('b'));
  write(path.join(root, 'node_modules', 'pkg', 'events.jsonl'), started('nm'));
  write(path.join(root, '.git', 'events.jsonl'), started('git'));
  write(path.join(root, 'runs', 'a', 'other.jsonl'), started('other'));
  const w = new RunLogWatcher({ roots: [root] });
  try {
    const log = recorded(w);
    await w.ready();
    assert.deepEqual(w.files(), [b, a].sort());
    assert.deepEqual(log.added.sort(), [a, b].sort());
    assert.deepEqual(log.events.get(a), ['run_started', 1, 2]);
    assert.deepEqual(log.skipped.get(a), [3]);
    assert.deepEqual(log.events.get(b), ['run_started']);
    assert.equal(log.updates[0].root, root);

    // An append reaches onUpdate quickly.
    const t0 = performance.now();
    fs.appendFileSync(a, rot(3));
    await waitFor('the append', () => log.events.get(a)!.length === 4);
    const latency = log.updates[log.updates.length - 1].at - t0;
    assert.ok(latency < 1000, `pickup took ${latency.toFixed(0)} ms`);

    // A fast writer: every line arrives, with far fewer reads than lines.
    const before = log.updates.length;
    for (let s = 4; s < 104; s++) {
      fs.appendFileSync(a, rot(s));
      if (s % 10 === 0) await new Promise((r) => setTimeout(r, 3));
    }
    await waitFor('the burst', () => log.events.get(a)!.length === 104);
    assert.deepEqual(log.events.get(a)!.slice(-3), [101, 102, 103]);
    assert.ok(log.updates.length - before < 50, `${log.updates.length - before} updates for 100 lines`);

    // A new run folder.
    const c = write(path.join(root, 'runs', 'c', 'events.jsonl'), started('c') + rot(1));
    await waitFor('the new run', () => log.events.get(c)?.length === 2);
    assert.ok(log.added.includes(c));
    fs.appendFileSync(c, rot(2));
    await waitFor('an append to the new run', () => log.events.get(c)?.length === 3);

    // Replaced by a rename over it: a reset, then the new content.
    const next = `${c}.tmp`;
    fs.writeFileSync(next, started('c2') + rot(1) + rot(2) + rot(3));
    fs.renameSync(next, c);
    await waitFor(
      'the replacement',
      () => log.updates.some((u) => u.file === c && u.chunk.reset) && log.events.get(c)?.length === 4,
    );

    // Removal, of a file and of a whole run folder.
    fs.rmSync(b);
    await waitFor('the removal', () => log.removed.includes(b));
    fs.rmSync(path.dirname(c), { recursive: true });
    await waitFor('the folder removal', () => log.removed.includes(c));
    assert.deepEqual(w.files(), [a]);
  } finally {
    await w.close();
  }
});

test('addRoot of a folder elsewhere, removeRoot, and the glob option', async () => {
  const root = path.join(tmp, 'ws2');
  const outside = path.join(tmp, 'cluster', 'scratch');
  const x = write(path.join(root, 'r1', 'metrics.jsonl'), started('x'));
  write(path.join(root, 'r1', 'notes.txt'), 'not a log\n');
  const y = write(path.join(outside, 'job-17', 'train.jsonl'), started('y') + rot(1));
  const w = new RunLogWatcher({ roots: [root], glob: '**/*.jsonl' });
  try {
    const log = recorded(w);
    await w.ready();
    assert.deepEqual(w.files(), [x]);
    w.addRoot(outside);
    assert.deepEqual(w.roots, [root, outside]);
    await waitFor('the outside log', () => log.events.get(y)?.length === 2);
    assert.deepEqual(w.files(), [x, y].sort());
    fs.appendFileSync(y, rot(2));
    await waitFor('an append outside', () => log.events.get(y)?.length === 3);
    const watches = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    const before = watches();
    w.removeRoot(outside);
    assert.deepEqual(log.removed, [y]);
    await waitFor('the watches of the removed root to close', () => watches() <= before - 3); // its folder, job-17, train.jsonl
    assert.deepEqual(w.files(), [x]);
    const n = log.updates.length;
    fs.appendFileSync(y, rot(3));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(log.updates.length, n, 'nothing from a removed root');
    // Added again: found again, with its whole content.
    w.addRoot(outside);
    await waitFor(
      'the log found again',
      () => log.added.filter((f) => f === y).length === 2 && log.events.get(y)!.length === 7,
    );
    assert.deepEqual(log.events.get(y)!.slice(3), ['run_started', 1, 2, 3]);
  } finally {
    await w.close();
  }
});

test('close() leaves no handles behind', async () => {
  const handles = () =>
    process
      .getActiveResourcesInfo()
      .filter((r) => r !== 'Timeout')
      .sort()
      .join(' ');
  const root = path.join(tmp, 'ws3');
  const f = write(path.join(root, 'a', 'events.jsonl'), started('a'));
  const w = new RunLogWatcher({ roots: [root] });
  const log = recorded(w);
  await w.ready();
  assert.match(handles(), /FSEventWrap/);
  fs.appendFileSync(f, rot(1));
  await waitFor('the append', () => log.events.get(f)?.length === 2);
  await w.close();
  await new Promise((r) => setTimeout(r, 10));
  assert.doesNotMatch(handles(), /FSEventWrap|StatWatcher/);
  fs.appendFileSync(f, rot(2));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(log.events.get(f)?.length, 2, 'nothing after close');
});

test('nested roots: removing the inner one keeps its logs under the outer one; removing the outer keeps the inner', async () => {
  const outer = path.join(tmp, 'ws4');
  const inner = path.join(outer, 'sub');
  const a = write(path.join(outer, 'a', 'events.jsonl'), started('a'));
  const b = write(path.join(inner, 'b', 'events.jsonl'), started('b'));
  const w = new RunLogWatcher({ roots: [outer, inner] });
  try {
    const log = recorded(w);
    await w.ready();
    assert.deepEqual(w.files(), [a, b].sort());
    assert.equal(log.updates.find((u) => u.file === b)?.root, inner);
    w.removeRoot(inner);
    assert.deepEqual(log.removed, []);
    fs.appendFileSync(b, rot(1));
    await waitFor('an append under the outer root', () => log.events.get(b)?.length === 2);
    assert.equal(log.updates[log.updates.length - 1].root, outer);
    w.addRoot(inner);
    w.removeRoot(outer);
    assert.deepEqual(log.removed, [a]);
    fs.appendFileSync(b, rot(2));
    await waitFor('an append under the inner root', () => log.events.get(b)?.length === 3);
    const c = write(path.join(inner, 'c', 'events.jsonl'), started('c'));
    await waitFor('a new run under the inner root', () => log.events.get(c)?.length === 1);
    write(path.join(outer, 'd', 'events.jsonl'), started('d'));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(w.files(), [b, c].sort());
  } finally {
    await w.close();
  }
});

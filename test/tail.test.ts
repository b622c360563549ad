// LogTail (src/runlog/tail.ts): incremental reading of a run log still being written, on real
// files in a temporary folder.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LogTail } from '../src/runlog/tail';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerrot-tail-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const newFile = (text = '') => {
  const f = path.join(dir, `events-${n++}.jsonl`);
  fs.writeFileSync(f, text);
  return f;
};

const started = (name = 'run') =>
  `${JSON.stringify({
    v: 1,
    time: 1,
    type: 'run_started',
    runId: name,
    name,
    engine: 'tfjs',
    backend: 'cpu',
    layers: [{ name: 'dense1', kind: 'dense', shape: [2, 2], params: 6 }],
  })}\n`;
const rot = (step: number, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({
    v: 1,
    time: step,
    type: 'rotation',
    step,
    epoch: step / 10,
    distances: [step / 100],
    rotation: [0],
    steps: 1,
    ...extra,
  })}\n`;
const steps = (c: { events: { type: string }[] }) =>
  c.events.map((e) => ('step' in e ? (e as { step: number }).step : e.type));

test('appends line by line: each read returns only the new lines', () => {
  const f = newFile(started());
  const t = new LogTail(f);
  assert.deepEqual(steps(t.read()), ['run_started']);
  assert.equal(t.line, 1);
  for (let s = 1; s <= 5; s++) {
    fs.appendFileSync(f, rot(s));
    const c = t.read();
    assert.deepEqual(steps(c), [s]);
    assert.equal(c.reset, false);
    assert.equal(c.more, false);
  }
  assert.equal(t.offset, fs.statSync(f).size);
  assert.equal(t.line, 6);
  assert.deepEqual(t.read().events, []);
});

test('a partial last line is kept back until its newline comes', () => {
  const f = newFile(started());
  const t = new LogTail(f);
  const line = rot(1);
  fs.appendFileSync(f, line.slice(0, 20));
  assert.deepEqual(steps(t.read()), ['run_started']);
  assert.equal(t.partial, true);
  const before = t.offset;
  fs.appendFileSync(f, line.slice(20, -1));
  assert.deepEqual(t.read().events, []);
  assert.equal(t.offset, before);
  fs.appendFileSync(f, `\n${rot(2)}`);
  const c = t.read();
  assert.deepEqual(steps(c), [1, 2]);
  assert.deepEqual(c.skipped, []);
  assert.equal(t.partial, false);
});

test('a corrupt line is skipped with its 1-based line number; the lines around it are kept', () => {
  const f = newFile(
    started() +
      rot(1) +
      '{"v":1,"type":"rotation","step":\n' +
      rot(2) +
      '{"type":"rotation"}\n' +
      '\n   \n' +
      rot(3) +
      '[1,2]\n',
  );
  const c = new LogTail(f).readAll();
  assert.deepEqual(steps(c), ['run_started', 1, 2, 3]);
  assert.deepEqual(
    c.skipped.map((s) => s.line),
    [3, 5, 9],
  );
  assert.match(c.skipped[0].reason, /not valid JSON/);
  assert.match(c.skipped[1].reason, /"v"/);
  assert.match(c.skipped[2].reason, /not a JSON object/);
});

test('CRLF line ends', () => {
  const f = newFile((started() + rot(1) + rot(2)).replace(/\n/g, '\r\n'));
  const c = new LogTail(f).readAll();
  assert.deepEqual(steps(c), ['run_started', 1, 2]);
  assert.deepEqual(c.skipped, []);
});

test('UTF-8 characters split across chunks (3-byte chunks) come out whole', () => {
  const msg = 'épreuve ✓ 日本語 🚀 done';
  const text = `${started() + JSON.stringify({ v: 1, type: 'log', level: 'info', message: msg })}\n${rot(1)}`;
  const f = newFile(text);
  for (const chunkBytes of [1, 2, 3, 5, 7]) {
    const t = new LogTail(f, { chunkBytes });
    const c = t.readAll();
    assert.deepEqual(steps(c), ['run_started', 'log', 1], `chunkBytes ${chunkBytes}`);
    assert.equal((c.events[1] as { message: string }).message, msg);
    assert.equal(t.offset, Buffer.byteLength(text));
  }
});

test('a line longer than a chunk, read over several chunks and several read() calls', () => {
  const big = rot(7, { note: 'x'.repeat(5000) });
  const f = newFile(started() + big + rot(8));
  const t = new LogTail(f, { chunkBytes: 64 });
  const c = t.readAll();
  assert.deepEqual(steps(c), ['run_started', 7, 8]);
  // With maxBytes smaller than the line: `more` until it is complete.
  const t2 = new LogTail(f, { chunkBytes: 64 });
  const seen: unknown[] = [];
  let calls = 0;
  for (;;) {
    const r = t2.read(100);
    calls++;
    seen.push(...steps(r));
    if (!r.more) break;
  }
  assert.deepEqual(seen, ['run_started', 7, 8]);
  assert.ok(calls > 40, `${calls} calls`);
});

test('truncation: reset, and the file is read again from its beginning (shrinks, then grows again)', () => {
  const f = newFile(started('a') + rot(1) + rot(2) + rot(3));
  const t = new LogTail(f);
  assert.equal(t.read().events.length, 4);
  fs.truncateSync(f, 0);
  let c = t.read();
  assert.equal(c.reset, true);
  assert.deepEqual(c.events, []);
  assert.equal(t.offset, 0);
  fs.appendFileSync(f, started('b') + rot(1));
  c = t.read();
  assert.equal(c.reset, false);
  assert.deepEqual(steps(c), ['run_started', 1]);
  assert.equal((c.events[0] as { runId: string }).runId, 'b');
  // Rewritten in place (same inode), larger than before: the first bytes differ.
  fs.writeFileSync(f, started('c') + rot(1) + rot(2) + rot(3) + rot(4) + rot(5));
  c = t.read();
  assert.equal(c.reset, true);
  assert.equal((c.events[0] as { runId: string }).runId, 'c');
  assert.equal(c.events.length, 6);
});

test('replacement by renaming a new (larger) file over it: reset', () => {
  const f = newFile(started('old') + rot(1));
  const t = new LogTail(f);
  assert.equal(t.read().events.length, 2);
  const tmp = `${f}.tmp`;
  fs.writeFileSync(tmp, started('old') + rot(1) + rot(2) + rot(3));
  fs.renameSync(tmp, f);
  const c = t.read();
  assert.equal(c.reset, true);
  assert.deepEqual(steps(c), ['run_started', 1, 2, 3]);
  assert.equal(t.line, 4);
});

test('deletion: no events, exists is false; a new file at the same path is read from its beginning', () => {
  const f = newFile(started() + rot(1));
  const t = new LogTail(f);
  t.read();
  assert.equal(t.exists, true);
  fs.unlinkSync(f);
  assert.deepEqual(t.read(), { events: [], skipped: [], reset: false, more: false });
  assert.equal(t.exists, false);
  fs.writeFileSync(f, started('again') + rot(1) + rot(2));
  const c = t.read();
  assert.equal(t.exists, true);
  assert.equal(c.reset, true);
  assert.deepEqual(steps(c), ['run_started', 1, 2]);
  // A file that never existed.
  const missing = new LogTail(path.join(dir, 'nope', 'events.jsonl'));
  assert.deepEqual(missing.read(), { events: [], skipped: [], reset: false, more: false });
  assert.equal(missing.exists, false);
});

test('a 50 MB log is read in bounded chunks with the right event count', () => {
  const layers = 40;
  const line = Buffer.from(
    `${JSON.stringify({
      v: 1,
      time: 1,
      type: 'rotation',
      step: 1,
      epoch: 0.1,
      distances: Array.from({ length: layers }, (_, i) => 0.123456789 + i),
      rotation: Array(layers).fill(0.0123456789),
      steps: 1,
    })}\n`,
  );
  const perBlock = Math.ceil((1 << 20) / line.length);
  const block = Buffer.concat(Array(perBlock).fill(line));
  const blocks = Math.ceil((50 << 20) / block.length);
  const f = path.join(dir, 'big.jsonl');
  const fd = fs.openSync(f, 'w');
  fs.writeSync(fd, started());
  for (let b = 0; b < blocks; b++) fs.writeSync(fd, block);
  fs.closeSync(fd);
  const expected = 1 + blocks * perBlock;

  const chunk = 1 << 20;
  const t = new LogTail(f, { chunkBytes: chunk });
  global.gc?.();
  const base = process.memoryUsage();
  let events = 0;
  let reads = 0;
  let maxExternal = 0;
  let maxPerRead = 0;
  for (;;) {
    const c = t.read(chunk);
    reads++;
    events += c.events.length;
    maxPerRead = Math.max(maxPerRead, c.events.length);
    maxExternal = Math.max(maxExternal, process.memoryUsage().arrayBuffers - base.arrayBuffers);
    assert.deepEqual(c.skipped, []);
    if (!c.more) break;
  }
  assert.equal(events, expected);
  assert.equal(t.offset, fs.statSync(f).size);
  assert.ok(reads >= 50, `${reads} reads`);
  assert.ok(maxPerRead <= perBlock + 1, `at most one chunk of events per read: ${maxPerRead}`);
  assert.ok(maxExternal < 16 << 20, `buffers stay about one chunk: ${(maxExternal / 2 ** 20).toFixed(1)} MiB`);
  fs.rmSync(f);
});

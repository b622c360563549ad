// The run-log fuzzer (issue 11): seeded mutations of real run logs (types, sizes, nesting,
// encodings, control characters, truncation, huge lines, huge layer and record counts), each fed
// to what `layer-rotation report` and `compare` do with a log, and to the editor's incremental
// reader, in a worker thread (test/helpers/fuzzLogWorker.ts) that is timed per input. A crash (an
// exception), a hang (no answer within INPUT_MS), a printed line holding a control character, an
// SVG that is not well-formed XML, an event the webview would reject or readers that disagree
// fails the test, naming the seed and the input, which is saved in a folder that is kept.
//
//   LAYER_ROTATION_FUZZ_SEED=N      the seed (default below); input i uses the generator seeded N + i
//   LAYER_ROTATION_FUZZ_SECONDS=S   how long to generate inputs (default: about 15 s, for CI)
//   LAYER_ROTATION_FUZZ_DEBUG=1     each input's time and mutations as a test diagnostic
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Rng } from '../src/engine/rng';
import { fixtureEvents } from './helpers/logs';
import type { FuzzReply, FuzzRequest } from './helpers/fuzzLogWorker';
import { tempDir } from './helpers/runs';

const SEED = Number(process.env.LAYER_ROTATION_FUZZ_SEED ?? 20261111);
const SECONDS = Number(process.env.LAYER_ROTATION_FUZZ_SECONDS ?? 15);
/** The longest one input may take (the biggest take about a second on this machine). */
const INPUT_MS = 30_000;

// ---- the real logs mutated ----

/** Logs to start from: a finished run, the same run still going (cut), a diverged one, an outside script's. */
function baseLogs(): { name: string; events: any[] }[] {
  const done = fixtureEvents();
  const running = done.slice(0, 20);
  const failed = fixtureEvents();
  const fin = failed[failed.length - 1];
  Object.assign(fin, {
    status: 'failed',
    reason: 'loss is NaN',
    finalDistances: [null, 0.5, null],
    testAccuracy: null,
  });
  const outside = fixtureEvents().map((e) => {
    if (e.type !== 'run_started') return e;
    const { configFile: _c, schedule: _s, ...rest } = e;
    return { ...rest, layers: e.layers.map((l: any) => ({ name: l.name, kind: 'conv2d', shape: [3, 3, 1, 8] })) };
  });
  return [
    { name: 'finished', events: done },
    { name: 'running', events: running },
    { name: 'failed', events: failed },
    { name: 'outside', events: outside },
  ];
}

// ---- values and mutations ----

const CONTROL = [
  '\u0000',
  '\u0007',
  '\u0008',
  '\u000b',
  '\u001b[2J',
  '\u001b]0;x\u0007',
  '\r',
  '\n',
  '\u009b',
  '\u007f',
];
const ODD = ['\ufffe', '\uffff', '\ud800', '\udc00', '\u202e', '\u2028', '\ufeff'];

function evilString(rng: Rng): string {
  const parts: string[] = [];
  const n = 1 + rng.int(6);
  for (let i = 0; i < n; i++) {
    const k = rng.int(4);
    parts.push(
      k === 0
        ? CONTROL[rng.int(CONTROL.length)]
        : k === 1
          ? ODD[rng.int(ODD.length)]
          : k === 2
            ? '<&>"\''
            : String.fromCharCode(rng.int(0x10000)),
    );
  }
  if (rare(rng)) parts.push('x'.repeat(rng.int(200_000)));
  return parts.join('');
}

/** A value nested `depth` levels deep: a marker replaced in the line's text (JSON.stringify would recurse). */
function nested(depth: number): string {
  return `@@NEST:${depth}@@`;
}
function nestedText(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += i % 3 ? '[' : '{"a":';
    close += (depth - 1 - i) % 3 ? ']' : '}';
  }
  return `${open}[]${close}`;
}

function evilValue(rng: Rng): unknown {
  switch (rng.int(22)) {
    case 0:
      return null;
    case 1:
      return rng.int(2) === 0;
    case 2:
      return -1 - rng.int(1000);
    case 3:
      return [1e308, -1e308, 5e-324, -0, 1e21, 2 ** 53 + 1][rng.int(6)];
    case 4:
      return ['NaN', 'Infinity', '-Infinity', '1e999', '0.5', ''][rng.int(6)];
    case 5:
      return evilString(rng);
    case 6:
      return {};
    case 7:
      return [];
    case 8:
      return [null, 'a', {}, [], 1e308];
    case 9:
      return nested(1 + rng.int(rng.int(2) ? 100 : 5000));
    case 10:
      return Array.from({ length: rng.int(rare(rng) ? 50_000 : 500) }, () => rng.next() * 4 - 1);
    case 11:
      return rng.next() * 3 - 0.5;
    case 12:
      return 2 + rng.next();
    case 13:
      return rng.int(1_000_000_000);
    case 14:
      return { name: evilString(rng), kind: evilValue(rng), params: evilValue(rng) };
    case 15:
      return Array.from({ length: rng.int(20) }, () => evilValue(rng));
    case 16:
      return 0;
    case 17:
      return 1;
    case 18:
      return 'completed';
    case 19:
      return [0, 1, 2].map(() => rng.next() * 2);
    case 20:
      return 1e-320;
    default:
      return 'rotation';
  }
}

/** A random place in a value: [container, key] of an object or array inside it (not the value itself). */
function randomSlot(rng: Rng, root: any): [any, string | number] | undefined {
  let node = root;
  let slot: [any, string | number] | undefined;
  for (let depth = 0; depth < 6; depth++) {
    if (node === null || typeof node !== 'object') break;
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (!keys.length) break;
    const key = keys[rng.int(keys.length)];
    slot = [node, key];
    if (rng.int(3) === 0) break;
    node = node[key];
  }
  return slot;
}

const FIELDS = [
  'v',
  'type',
  'time',
  'layers',
  'name',
  'runId',
  'epoch',
  'step',
  'distances',
  'rotation',
  'steps',
  'status',
  'reason',
  'finalDistances',
  'testLoss',
  'testAccuracy',
  'trainAccuracy',
  'target',
  'lagMargin',
  'fitAccuracy',
  'epochs',
  'stepsPerEpoch',
  'totalSteps',
  'schedule',
  'dataset',
  'lagging',
  'message',
  'level',
  'loss',
  'accuracy',
  'params',
];

/** The biggest inputs (hundreds of thousands of layers or records, a 70 MB line) take seconds each: one input in 20 has one. */
const rare = (rng: Rng) => rng.int(20) === 0;

type EventMutation = (rng: Rng, events: any[]) => string;
type TextMutation = (rng: Rng, text: Buffer) => [Buffer, string];

const eventMutations: EventMutation[] = [
  (rng, events) => {
    const e = events[rng.int(events.length)];
    const field = FIELDS[rng.int(FIELDS.length)];
    e[field] = evilValue(rng);
    return `${e.type}.${field} = a ${typeof e[field]}`;
  },
  (rng, events) => {
    const e = events[rng.int(events.length)];
    const slot = randomSlot(rng, e);
    if (!slot) return 'nothing';
    slot[0][slot[1]] = evilValue(rng);
    return `${e.type}: a nested value replaced`;
  },
  (rng, events) => {
    const e = events[rng.int(events.length)];
    const slot = randomSlot(rng, e);
    if (!slot) return 'nothing';
    if (Array.isArray(slot[0])) slot[0].splice(Number(slot[1]), 1);
    else delete slot[0][slot[1]];
    return `${e.type}: a field removed`;
  },
  (rng, events) => {
    const i = rng.int(events.length);
    // At most ~20 MB of copies (a run_started of 200,000 layers is 5 MB).
    const size = JSON.stringify(events[i]).length;
    const copies = Math.min(rare(rng) ? 30_000 : [1, 10, 1000][rng.int(3)], Math.max(1, Math.floor(20e6 / size)));
    events.splice(i, 0, ...Array.from({ length: copies }, () => structuredClone(events[i])));
    return `${events[i].type} repeated ${copies} times`;
  },
  (rng, events) => {
    const layers = rare(rng) ? 200_000 : [50, 500, 5_000][rng.int(3)];
    const started = events.find((e) => e.type === 'run_started');
    if (!started) return 'nothing';
    started.layers = Array.from({ length: layers }, (_, i) => ({ name: `l${i}`, kind: 'dense', params: i }));
    for (const e of events) {
      if (e.type === 'rotation' && rng.int(4) === 0) e.distances = Array.from({ length: layers }, () => rng.next() * 2);
      if (e.type === 'run_finished') e.finalDistances = Array.from({ length: layers }, () => rng.next());
    }
    // Few records of that size: the log stays tens of megabytes.
    let kept = 0;
    for (let i = events.length - 1; i >= 0; i--)
      if (events[i].type === 'rotation' && Array.isArray(events[i].distances) && events[i].distances.length > 100)
        if (++kept > 3) events.splice(i, 1);
    return `${layers} layers`;
  },
  (rng, events) => {
    for (let i = events.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [events[i], events[j]] = [events[j], events[i]];
    }
    return 'events shuffled';
  },
  (rng, events) => {
    const e = events[rng.int(events.length)];
    e.type = ['run_started', 'rotation', 'batch', 'epoch_end', 'run_finished', 'log', 'features', 'x', ''][rng.int(9)];
    return `an event's type made ${e.type}`;
  },
  (rng, events) => {
    const e = events[rng.int(events.length)];
    e[FIELDS[rng.int(FIELDS.length)]] = nested(rare(rng) ? 100_000 : 2_000);
    return 'a field nested deep';
  },
];

const insertAt = (b: Buffer, at: number, what: Buffer) => Buffer.concat([b.subarray(0, at), what, b.subarray(at)]);

const textMutations: TextMutation[] = [
  (rng, t) => {
    const at = rng.int(t.length + 1);
    return [t.subarray(0, at), `cut at byte ${at}`];
  },
  (rng, t) => {
    let out = t;
    const n = 1 + rng.int(20);
    for (let i = 0; i < n; i++) {
      const bytes = Buffer.from(
        Array.from(
          { length: 1 + rng.int(4) },
          () => [0, 7, 8, 0x1b, 0x0d, 0x0a, 0x80, 0xc0, 0xff, 0xfe, 0xed][rng.int(11)],
        ),
      );
      out = insertAt(out, rng.int(out.length + 1), bytes);
    }
    return [out, `${n} runs of control or invalid UTF-8 bytes inserted`];
  },
  (rng, t) => {
    const s = t.toString('latin1');
    const numbers = [...s.matchAll(/-?\d+(\.\d+)?(e[-+]?\d+)?/g)];
    if (!numbers.length) return [t, 'nothing'];
    let out = s;
    for (let k = 0; k < 1 + rng.int(30); k++) {
      const m = numbers[rng.int(numbers.length)];
      const v = ['1e999', '-1e999', '1e308', '-0', '1e-400', '-5', '99999999999999999999999'][rng.int(7)];
      out = out.slice(0, m.index) + v + out.slice((m.index ?? 0) + m[0].length);
    }
    return [Buffer.from(out, 'latin1'), 'numbers replaced by 1e999 and the like'];
  },
  (rng, t) => {
    const k = rng.int(6);
    if (k === 0) return [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), t]), 'a UTF-8 byte-order mark'];
    if (k === 1) return [Buffer.from(t.toString('utf8').replaceAll('\n', '\r\n')), 'CRLF line ends'];
    if (k === 2)
      return [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t.toString('utf8'), 'utf16le')]), 'UTF-16LE'];
    if (k === 3) return [Buffer.from(t.toString('utf8').replaceAll('\n', ' ')), 'no line breaks'];
    if (k === 4) return [Buffer.from(t.toString('utf8').replaceAll('\n', '\n\n  \n')), 'blank lines'];
    const swapped = Buffer.from(t.toString('utf8'), 'utf16le');
    swapped.swap16();
    return [swapped, 'UTF-16BE'];
  },
  (rng, t) => {
    const size = rare(rng) ? 70_000_000 : [1_000, 100_000, 2_000_000][rng.int(3)];
    const line = Buffer.from(
      `{"v":1,"type":"log","level":"info","message":"${'\\u001b'.repeat(8)}${'y'.repeat(size)}"}\n`,
    );
    const lines = t.toString('latin1').split('\n');
    const at = rng.int(lines.length);
    const before = Buffer.from(`${lines.slice(0, at).join('\n')}${at ? '\n' : ''}`, 'latin1');
    return [
      Buffer.concat([before, line, Buffer.from(lines.slice(at).join('\n'), 'latin1')]),
      `a line of ${size} bytes`,
    ];
  },
  (rng, t) => {
    const out = Buffer.from(t);
    const n = 1 + rng.int(50);
    for (let i = 0; i < n && out.length; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
    return [out, `${n} bits flipped`];
  },
];

/** Input i: a base log with 1 to 3 mutations of its events, then 0 to 2 of its bytes. */
function makeInput(i: number): { bytes: Buffer; what: string[] } {
  const rng = new Rng(SEED + i);
  const bases = baseLogs();
  const base = bases[rng.int(bases.length)];
  const what = [base.name];
  const events = base.events;
  for (let k = 1 + rng.int(3); k > 0; k--) what.push(eventMutations[rng.int(eventMutations.length)](rng, events));
  let bytes: Buffer = Buffer.from(
    events
      .map((e) => `${JSON.stringify(e)}\n`)
      .join('')
      .replace(/"@@NEST:(\d+)@@"/g, (_, n) => nestedText(Number(n))),
  );
  for (let k = rng.int(3); k > 0; k--) {
    const [b, w] = textMutations[rng.int(textMutations.length)](rng, bytes);
    bytes = b;
    what.push(w);
  }
  return { bytes, what };
}

// ---- the loop ----

test(`run-log fuzzer: seed ${SEED}, ${SECONDS} s`, { timeout: (SECONDS + 120) * 1000 }, async (t) => {
  const work = tempDir('fuzz-log');
  const worker = new Worker(path.join(__dirname, 'helpers', 'fuzzLogWorker.js'));
  const replies = new Map<number, (r: FuzzReply) => void>();
  worker.on('message', (r: FuzzReply) => replies.get(r.id)?.(r));
  let workerError: Error | undefined;
  worker.on('error', (e) => (workerError = e));
  const ask = (req: FuzzRequest) =>
    new Promise<FuzzReply | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), INPUT_MS);
      replies.set(req.id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    }).finally(() => replies.delete(req.id));

  const start = Date.now();
  let i = 0;
  let failure: string | undefined;
  try {
    while (Date.now() - start < SECONDS * 1000 && !failure) {
      const t0 = Date.now();
      const { bytes, what } = makeInput(i);
      const t1 = Date.now();
      const folder = path.join(work, `input${i}`);
      fs.mkdirSync(folder);
      fs.writeFileSync(path.join(folder, 'events.jsonl'), bytes);
      worker.postMessage({ id: i, folder } satisfies FuzzRequest);
      const reply = await ask({ id: i, folder });
      const problem =
        reply === 'timeout'
          ? `no answer within ${INPUT_MS / 1000} s (a hang)`
          : (reply.problem ?? workerError?.message);
      if (problem) {
        // Kept after the test (not under tempDir, which is removed on exit).
        const kept = fs.mkdtempSync(path.join(os.tmpdir(), `lrm-fuzz-log-failure-${SEED}-${i}-`));
        fs.copyFileSync(path.join(folder, 'events.jsonl'), path.join(kept, 'events.jsonl'));
        failure = `seed ${SEED}, input ${i} (${what.join('; ')}): ${problem}\nthe input: ${path.join(kept, 'events.jsonl')} (LAYER_ROTATION_FUZZ_SEED=${SEED})`;
      }
      fs.rmSync(folder, { recursive: true, force: true });
      if (process.env.LAYER_ROTATION_FUZZ_DEBUG)
        t.diagnostic(
          `${i}: make ${t1 - t0} ms, check ${Date.now() - t1} ms, ${bytes.length} bytes: ${what.join('; ')}`,
        );
      i++;
    }
  } finally {
    await worker.terminate();
  }
  t.diagnostic(`${i} inputs in ${((Date.now() - start) / 1000).toFixed(1)} s (seed ${SEED})`);
  assert.equal(failure, undefined, failure);
  assert.ok(i >= 10, `only ${i} inputs in ${SECONDS} s`);
});

// The config fuzzer (issue 11): seeded mutations of the example configs and of the test fixtures'
// configs (types, sizes, nesting, encodings, control characters, truncation, huge files), each
// checked as `check` and the editor check it (loadConfigFile: read, parse, validate, size
// estimates). Every input must get an answer without an exception, within a time limit, with
// every error placed (line, column, offset in the text); and every config accepted must be one
// whose model can be listed within the size limits.
//
// The batch runs in a child process (this file, with LAYER_ROTATION_FUZZ_CHILD set) under a
// timeout, so that a hang fails the test instead of blocking it; the child saves each input before
// checking it, so the one that hung is named. LAYER_ROTATION_FUZZ_SEED picks the seed (default
// below), LAYER_ROTATION_FUZZ_SECONDS the budget (`npm run fuzz`: 300). A failure names the seed,
// the input's number and mutations, and the folder where the input is saved.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseJsonc } from 'jsonc-parser';
import { MAX_CONFIG_BYTES } from '../src/engine/config/parse';
import { MAX_LISTED } from '../src/engine/config/positions';
import { estimateParameters, inputShapeOf, MAX_DATA_VALUES, MAX_PARAMETERS } from '../src/engine/config/size';
import { MAX_SWEEP_CHECKS } from '../src/engine/config/sweep';
import type { Checked } from '../src/engine/config/types';
import { kernelLayerNames, loadConfigFile, parseConfigText } from '../src/engine/config/validate';
import { Rng } from '../src/engine/rng';
import { EXAMPLES, ROOT } from './helpers/runs';

const SEED = Number(process.env.LAYER_ROTATION_FUZZ_SEED ?? 20110);
const SECONDS = Number(process.env.LAYER_ROTATION_FUZZ_SECONDS ?? 15);
/**
 * This process's CPU time in ms (user and system, all its threads): the time limits below are on
 * the work an input costs, which other processes on a loaded machine (CI runs two test files at
 * once) do not lengthen as they lengthen wall time. A hang is caught by the wall-clock timeout of
 * the child process.
 */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * The most CPU time one input of `bytes` may take: 1 s, plus 2 s more for a file at the size limit
 * (every check is linear in the text; a 1 MB file of 80,000 keys takes about 0.4 s on an idle core,
 * a 0.9 MB sweep block of 60,000 keys about 1.3 s, and a loaded machine adds to CPU time too).
 */
const limitMs = (bytes: number) => 1000 * (1 + (2 * Math.min(bytes, MAX_CONFIG_BYTES)) / MAX_CONFIG_BYTES);
/** The most kernel layers a model within the schema has (ResNet-1202: 1,204; 1,000 hidden layers: 1,001). */
const MAX_LAYERS = 1204;

/** The configs mutated: the examples (sweeps too) and the fixtures of the tests in VS Code. */
function seedConfigs(): { name: string; text: string }[] {
  const dirs = [EXAMPLES, path.join(EXAMPLES, 'sweeps'), path.join(ROOT, 'test', 'vscode', 'fixtures', 'configs')];
  return dirs.flatMap((dir) =>
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.layerrot.json'))
      .map((f) => ({ name: path.relative(ROOT, path.join(dir, f)), text: fs.readFileSync(path.join(dir, f), 'utf8') })),
  );
}

// ---- mutations -------------------------------------------------------------------------------

type Value = unknown;
type Mutation = { name: string; apply(input: Buffer, rng: Rng): Buffer };

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];

const CONTROL = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\b',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\u000c',
  '\u001b',
  '\u001b[2J',
  '\u001b]0;x\u0007',
  '\u007f',
  '\u0085',
  '\u2028',
  '\ufeff',
  '\ufffe',
  '\uffff',
  '\ud800',
  '\udc00',
  '\u202e',
];
const NUMBERS = [
  0,
  -0,
  -1,
  1,
  0.5,
  1e-320,
  5e-324,
  2 ** 31,
  2 ** 32,
  2 ** 53 + 2,
  1e9,
  1e12,
  1e21,
  1e308,
  -1e308,
  600000002,
  65537,
  1048577,
  4294967296,
];

function randomString(rng: Rng, length: number): string {
  let s = '';
  while (s.length < length) s += rng.next() < 0.2 ? pick(rng, CONTROL) : String.fromCharCode(32 + rng.int(0x2ff));
  return s;
}

/** A value of any JSON type, of any size the mutation asks for. */
function randomValue(rng: Rng, size: number): Value {
  switch (rng.int(9)) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
      return pick(rng, NUMBERS);
    case 3:
      return rng.next() < 0.5 ? rng.int(2 ** 31) : rng.uniform(-1e6, 1e6);
    case 4:
      return randomString(rng, rng.int(size) + 1);
    case 5:
      return Array.from({ length: rng.int(size) }, () => (rng.next() < 0.5 ? pick(rng, NUMBERS) : rng.int(64) + 1));
    case 6:
      return Object.fromEntries(
        Array.from({ length: rng.int(Math.min(size, 5000)) }, (_, i) => [`${randomString(rng, 3)}${i}`, rng.int(4)]),
      );
    case 7: {
      let v: Value = rng.int(10);
      const depth = rng.int(size < 100 ? 10 : 200) + 1;
      for (let i = 0; i < depth; i++) v = rng.next() < 0.5 ? [v] : { a: v };
      return v;
    }
    default:
      return Array.from({ length: rng.int(4) + 1 }, () => rng.int(2048) + 1);
  }
}

/** Every path of a JSON value (objects and arrays walked), the root included. */
function paths(v: Value, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function setAt(root: Value, at: (string | number)[], value: Value): Value {
  if (at.length === 0) return value;
  let node = root as Record<string | number, Value>;
  for (const seg of at.slice(0, -1)) node = node[seg] as Record<string | number, Value>;
  node[at[at.length - 1]] = value;
  return root;
}

/** Paths the sweep may vary, and values for them. */
const SWEEP_PATHS = [
  'seed',
  'optimizer.learningRate',
  'optimizer.alpha',
  'optimizer.type',
  'optimizer.layca',
  'model.hidden',
  'model.type',
  'model.depth',
  'model',
  'dataset.name',
  'schedule.epochs',
  'optimizer.layerMultipliers.dense1',
  'engine',
  'backend',
  'nope.x',
  'name',
];

/** A mutation of the config's value (parsed as JSON with comments), written back as JSON. */
function valueMutation(name: string, edit: (v: Value, rng: Rng) => Value): Mutation {
  return {
    name,
    apply(input, rng) {
      // An earlier mutation may have nested the text beyond what a recursive parser or edit takes
      // (the fuzzer's own tools, not the checker under test): such a text is kept as it is.
      try {
        const value = parseJsonc(input.toString('utf8'));
        if (value === undefined) return input;
        const out = edit(value, rng);
        return Buffer.from(rng.next() < 0.5 ? JSON.stringify(out) : JSON.stringify(out, null, 2));
      } catch (e) {
        if (e instanceof RangeError) return input;
        throw e;
      }
    },
  };
}

function textMutation(name: string, edit: (b: Buffer, rng: Rng) => Buffer): Mutation {
  return { name, apply: edit };
}

const MUTATIONS: Mutation[] = [
  valueMutation('replace a value with any type', (v, rng) => setAt(v, pick(rng, paths(v)), randomValue(rng, 20))),
  valueMutation('replace a value with a huge one', (v, rng) =>
    setAt(v, pick(rng, paths(v)), randomValue(rng, 100_000)),
  ),
  valueMutation('replace a number with an extreme one', (v, rng) => {
    const numbers = paths(v).filter((p) => typeof p.reduce((n: any, s) => n?.[s], v) === 'number');
    return numbers.length ? setAt(v, pick(rng, numbers), pick(rng, NUMBERS)) : v;
  }),
  valueMutation('delete a key', (v, rng) => {
    const keys = paths(v).filter((p) => typeof p[p.length - 1] === 'string');
    if (!keys.length) return v;
    const at = pick(rng, keys);
    delete (at.slice(0, -1).reduce((n: any, s) => n[s], v) as Record<string, Value>)[at[at.length - 1] as string];
    return v;
  }),
  valueMutation('add a key', (v, rng) => {
    const objects = paths(v).filter((p) => {
      const n = p.reduce((x: any, s) => x?.[s], v);
      return n && typeof n === 'object' && !Array.isArray(n);
    });
    if (!objects.length) return v;
    const obj = pick(rng, objects).reduce((x: any, s) => x[s], v) as Record<string, Value>;
    obj[
      rng.next() < 0.5
        ? pick(rng, [
            'layerMultipliers',
            'sweep',
            'decay',
            'depth',
            'hidden',
            'convsPerStage',
            '__proto__',
            'constructor',
          ])
        : randomString(rng, 8)
    ] = randomValue(rng, 50);
    return v;
  }),
  valueMutation('nest deeply', (v, rng) => setAt(v, pick(rng, paths(v)), randomValue(rng, 1000))),
  valueMutation('a sweep block', (v, rng) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    const sweep: Record<string, Value> = {};
    const axes = rng.int(6) + 1;
    for (let i = 0; i < axes; i++) {
      const n = pick(rng, [1, 2, 3, 10, 100, 1000, 20_000]);
      sweep[pick(rng, SWEEP_PATHS)] = Array.from({ length: n }, (_, j) =>
        rng.next() < 0.9 ? j + 1 : randomValue(rng, 10),
      );
    }
    (v as Record<string, Value>).sweep = sweep;
    return v;
  }),
  valueMutation('a large model', (v, rng) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    (v as Record<string, Value>).model = pick(rng, [
      { type: 'resnet', depth: pick(rng, [1202, 1196, 600000002, 110]), filters: [16, 32, 64] },
      { type: 'vgg', filters: Array(16).fill(pick(rng, [8, 65536])), convsPerStage: pick(rng, [64, 1e9, 1]) },
      { type: 'mlp', hidden: Array(pick(rng, [1000, 1001, 3])).fill(pick(rng, [1, 1048576, 4096])) },
    ]);
    if (rng.next() < 0.5)
      (v as any).optimizer = {
        type: 'sgd',
        learningRate: 0.1,
        layerMultipliers: rng.next() < 0.5 ? { conv1: 2, nope: 1 } : Array(1205).fill(1),
      };
    return v;
  }),
  textMutation('truncate', (b, rng) => b.subarray(0, rng.int(b.length + 1))),
  textMutation('delete a range', (b, rng) => {
    const i = rng.int(b.length + 1);
    return Buffer.concat([b.subarray(0, i), b.subarray(i + rng.int(50))]);
  }),
  textMutation('repeat a range', (b, rng) => {
    const i = rng.int(b.length + 1);
    const part = b.subarray(i, i + rng.int(200));
    return Buffer.concat([b.subarray(0, i), ...Array(rng.int(20) + 1).fill(part), b.subarray(i)]);
  }),
  textMutation('insert control characters', (b, rng) => {
    const i = rng.int(b.length + 1);
    return Buffer.concat([b.subarray(0, i), Buffer.from(randomString(rng, rng.int(8) + 1)), b.subarray(i)]);
  }),
  textMutation('insert bytes that are no UTF-8', (b, rng) => {
    const i = rng.int(b.length + 1);
    const bad = Buffer.from(
      Array.from({ length: rng.int(6) + 1 }, () =>
        pick(rng, [0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf8, 0xfe, 0xff]),
      ),
    );
    return Buffer.concat([b.subarray(0, i), bad, b.subarray(i)]);
  }),
  textMutation('a byte order mark', (b) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])),
  textMutation('UTF-16 with its BOM', (b, rng) => {
    const text = b.toString('utf8');
    return rng.next() < 0.5
      ? Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
      : Buffer.from(text, 'utf16le').swap16();
  }),
  textMutation('other line ends', (b, rng) =>
    Buffer.from(b.toString('latin1').replace(/\n/g, pick(rng, ['\r', '\r\n', '\u2028', '\n\n\n'])), 'latin1'),
  ),
  textMutation('a huge file', (b, rng) => {
    const target = pick(rng, [MAX_CONFIG_BYTES - 100, MAX_CONFIG_BYTES + 1, 3 * MAX_CONFIG_BYTES]);
    const text = b.toString('utf8');
    const close = text.lastIndexOf('}');
    const filler = pick(rng, [
      () => ' '.repeat(target),
      () => `// ${'x'.repeat(target)}\n`,
      () =>
        `, "pad": [${Array(Math.floor(target / 2))
          .fill(1)
          .join(',')}]`,
      () => `, "name": "${'n'.repeat(target)}"`,
      () => `, ${Array.from({ length: Math.floor(target / 12) }, (_, i) => `"k${i}": 1`).join(', ')}`,
    ])();
    const at = close < 0 ? text.length : close;
    return Buffer.from(`${text.slice(0, at)}${filler}${text.slice(at)}`.slice(0, target + 50));
  }),
  textMutation('brackets deeply nested', (b, rng) => {
    const n = pick(rng, [63, 64, 65, 2000, 100_000]);
    const text = b.toString('utf8');
    const at = Math.max(1, text.indexOf(':') + 1);
    return Buffer.from(`${text.slice(0, at)}${'['.repeat(n)}${rng.next() < 0.5 ? ']'.repeat(n) : ''}${text.slice(at)}`);
  }),
];

// ---- the checks --------------------------------------------------------------------------------

interface Failure {
  index: number;
  mutations: string[];
  seedConfig: string;
  problem: string;
}

/** What is wrong with the answer to one input, or undefined. */
function problemOf(result: Checked, ms: number, text: string): string | undefined {
  const limit = limitMs(text.length);
  if (ms > limit) return `took ${ms.toFixed(0)} ms (limit ${limit.toFixed(0)})`;
  if (result.errors.length > MAX_LISTED + 1) return `${result.errors.length} errors listed (at most ${MAX_LISTED} + 1)`;
  for (const e of result.errors) {
    const placed =
      Number.isInteger(e.line) &&
      e.line >= 1 &&
      Number.isInteger(e.column) &&
      e.column >= 1 &&
      Number.isInteger(e.offset) &&
      e.offset >= 0 &&
      e.offset <= text.length + 1 &&
      e.length >= 0;
    if (!placed) return `an error without a position: ${JSON.stringify(e).slice(0, 300)}`;
    if (typeof e.message !== 'string' || e.message.trim() === '')
      return `an error without a message at ${e.line}:${e.column}`;
    if (/Maximum call stack|is not a function|Cannot read prop|undefined|NaN|\[object Object\]/.test(e.message))
      return `an error that leaks an internal failure: ${e.message.slice(0, 300)}`;
  }
  if (!result.ok) return undefined;
  // Accepted: the model can be listed, within the size limits.
  const { config } = result;
  const t = cpuNow();
  const layers = kernelLayerNames(config.model).length;
  const shape = inputShapeOf(config.dataset as unknown as Record<string, unknown>) ?? [28, 28, 1];
  const classes = config.dataset.name === 'synthetic' ? config.dataset.classes : 10;
  const params = estimateParameters(config.model, shape, classes);
  if (cpuNow() - t > limitMs(0)) return `listing the accepted model took ${(cpuNow() - t).toFixed(0)} ms`;
  if (layers > MAX_LAYERS) return `accepted a model of ${layers} kernel layers (at most ${MAX_LAYERS})`;
  if (!(params <= MAX_PARAMETERS)) return `accepted a model of ${params} parameters (at most ${MAX_PARAMETERS})`;
  if (config.dataset.name === 'synthetic') {
    const values = (config.dataset.samples + config.dataset.testSamples) * shape.reduce((a, b) => a * b, 1);
    if (!(values <= MAX_DATA_VALUES))
      return `accepted a synthetic dataset of ${values} values (at most ${MAX_DATA_VALUES})`;
  }
  return undefined;
}

/** The child: mutates and checks inputs until the budget is spent; writes its failures as JSON to `out`. */
function runChild(dir: string): void {
  const seeds = seedConfigs();
  const rng = new Rng(SEED);
  const failures: Failure[] = [];
  const deadline = Date.now() + SECONDS * 1000;
  const current = path.join(dir, 'current.layerrot.json');
  let index = 0;
  for (; Date.now() < deadline && failures.length < 20; index++) {
    const from = pick(rng, seeds);
    let input: Buffer = Buffer.from(from.text);
    const names: string[] = [];
    for (let k = rng.int(3) + 1; k > 0; k--) {
      const m = pick(rng, MUTATIONS);
      names.push(m.name);
      input = m.apply(input, rng);
    }
    fs.writeFileSync(current, input);
    fs.writeFileSync(
      path.join(dir, 'current.json'),
      JSON.stringify({ index, mutations: names, seedConfig: from.name }),
    );
    let problem: string | undefined;
    try {
      // What `check` does (the file read), and what the editor does (the text as VS Code decodes it).
      const t = cpuNow();
      const loaded = loadConfigFile(current);
      const ms = cpuNow() - t;
      problem = problemOf(loaded, ms, fs.statSync(current).size > MAX_CONFIG_BYTES ? '' : input.toString('utf8'));
      if (!problem && input.length <= MAX_CONFIG_BYTES) {
        const text = input.toString('utf8');
        const t2 = cpuNow();
        const parsed = parseConfigText(text, current);
        problem = problemOf(parsed, cpuNow() - t2, text.startsWith('\ufeff') ? text.slice(1) : text);
      }
    } catch (err) {
      problem = `an exception escaped: ${(err as Error).stack?.slice(0, 600)}`;
    }
    if (problem) {
      const saved = path.join(dir, `failure-${index}.layerrot.json`);
      fs.copyFileSync(current, saved);
      failures.push({ index, mutations: names, seedConfig: from.name, problem: `${problem} (input: ${saved})` });
    }
  }
  fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify({ inputs: index, failures }));
}

if (process.env.LAYER_ROTATION_FUZZ_CHILD) {
  runChild(process.env.LAYER_ROTATION_FUZZ_CHILD);
} else {
  describe('config fuzzer', () => {
    it(`seed ${SEED}, ${SECONDS} s: every input answered in time, every error placed, nothing too large accepted`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-fuzz-config-'));
      const timeoutMs = SECONDS * 1000 + 60_000;
      const code = await new Promise<number | string>((resolve) => {
        const child = spawn(process.execPath, ['--stack-size=984', __filename], {
          env: { ...process.env, LAYER_ROTATION_FUZZ_CHILD: dir },
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve('timeout');
        }, timeoutMs);
        child.on('exit', (c, signal) => {
          clearTimeout(timer);
          resolve(c ?? String(signal));
        });
      });
      const where = `seed ${SEED} (LAYER_ROTATION_FUZZ_SEED=${SEED}), inputs saved in ${dir}`;
      if (code !== 0) {
        const current = fs.existsSync(path.join(dir, 'current.json'))
          ? fs.readFileSync(path.join(dir, 'current.json'), 'utf8')
          : '{}';
        assert.fail(
          `the fuzzer's child ${code === 'timeout' ? `hung (killed after ${timeoutMs / 1000} s)` : `died (${code})`} on input ${current}: ${path.join(dir, 'current.layerrot.json')}; ${where}`,
        );
      }
      const { inputs, failures } = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as {
        inputs: number;
        failures: Failure[];
      };
      const report = failures.map((f) => `#${f.index} ${f.seedConfig} after ${f.mutations.join(' + ')}: ${f.problem}`);
      assert.deepEqual(report, [], `${failures.length} failing inputs of ${inputs}; ${where}`);
      assert.ok(inputs >= 50, `only ${inputs} inputs in ${SECONDS} s`);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });
}

// ---- named regressions (found by the fuzzer or the bounds above) ------------------------------

if (!process.env.LAYER_ROTATION_FUZZ_CHILD)
  describe('config checks found unbounded before', () => {
    const base = parseJsonc(fs.readFileSync(path.join(EXAMPLES, 'mnist-default.layerrot.json'), 'utf8'));
    const timed = (value: object | string) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      const t = cpuNow();
      const r = parseConfigText(text, 'x.layerrot.json');
      return { r, ms: cpuNow() - t, bytes: text.length };
    };
    const under = ({ ms, bytes }: { ms: number; bytes: number }) =>
      assert.ok(ms < limitMs(bytes), `${ms.toFixed(0)} ms`);

    it('a file over 1 MB: one error at 1:1 with its size and the limit, the file not read', () => {
      const text = JSON.stringify({ ...base, name: 'n'.repeat(3 * 2 ** 20) });
      const t = timed(text);
      under(t);
      const { r } = t;
      assert.equal(r.ok, false);
      assert.deepEqual(
        r.errors.map((e) => `${e.line}:${e.column} ${e.message}`),
        [
          `1:1 the config file is 3.0 MB (${text.length.toLocaleString('en-US')} bytes); at most 1.0 MB: a config is a few KB`,
        ],
      );
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-fuzz-big-'));
      try {
        const file = path.join(dir, 'big.layerrot.json');
        fs.writeFileSync(file, Buffer.alloc(3 * 2 ** 20, 0x20));
        assert.match(loadConfigFile(file).errors[0].message, /^the config file is 3\.0 MB .*at most 1\.0 MB/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('80,000 unknown keys (a file just under 1 MB): 200 placed and one more counting the rest, at once', () => {
      const t = timed(`{${Array.from({ length: 80_000 }, (_, i) => `"k${i}": 1`).join(',')}}`);
      under(t);
      const { r } = t;
      assert.equal(r.errors.length, MAX_LISTED + 1);
      assert.match(
        r.errors[MAX_LISTED].message,
        /^79,804 more problems from here on \(79,804 of them errors\) not listed: at most 200 are; the first: unknown key 'k\d+' at the top level/,
      );
    });

    it('100,000 unknown layers in layerMultipliers, 10,000 invalid sweep paths: at once', () => {
      const multipliers = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`x${i}`, 1]));
      under(timed({ ...base, optimizer: { ...base.optimizer, layerMultipliers: multipliers } }));
      const sweep = Object.fromEntries(
        Array.from({ length: 10_000 }, (_, i) => [`optimizer.layerMultipliers.x${i}`, [1]]),
      );
      const t = timed({ ...base, sweep });
      under(t);
      const { r } = t;
      assert.equal(r.ok, false);
      assert.match(
        r.errors[0].message,
        /^sweep point 1 of 1 \(optimizer\.layerMultipliers\.x0=1, .*, and 9990 more\) is invalid: unknown layer 'x0'/,
      );
    });

    it('a sweep of 100 learning rates x 50 seeds over a ResNet-1202: checked per group of coupled keys, at once', () => {
      const config = {
        ...base,
        dataset: { name: 'synthetic', samples: 64, testSamples: 16, inputShape: [8, 8, 3], classes: 4 },
        model: { type: 'resnet', depth: 1202, filters: [4, 4, 4] },
        optimizer: { type: 'sgd', learningRate: 0.1, layerMultipliers: { conv1: 2 } },
        sweep: {
          seed: Array.from({ length: 50 }, (_, i) => i),
          'optimizer.learningRate': Array.from({ length: 100 }, (_, i) => 0.001 * (i + 1)),
        },
      };
      const t = timed(config);
      under(t);
      const { r } = t;
      assert.ok(r.ok, JSON.stringify(r.errors.slice(0, 3)));
      // An invalid value still names its first point and counts every point it is in.
      config.sweep['optimizer.learningRate'][5] = 0;
      const bad = timed(config).r;
      assert.deepEqual(
        bad.errors.map((e) => e.message),
        ['sweep["optimizer.learningRate"][5] must be a number > 0, got 0'],
      );
      config.sweep['optimizer.learningRate'][5] = 0.5;
      (config.optimizer as Record<string, unknown>).layerMultipliers = { conv1: 2 };
      (config.sweep as Record<string, unknown[]>)['model.depth'] = [1202, 9];
      const point = timed(config).r;
      assert.ok(
        point.errors.some((e) =>
          /^sweep point 2 of 10000 \(seed=0, optimizer\.learningRate=0\.001, model\.depth=9\) is invalid: model\.depth 9 is not a valid ResNet depth.* \(and 4999 more points\)$/.test(
            e.message,
          ),
        ),
        point.errors.map((e) => e.message).join(' | '),
      );
    });

    it(`a sweep whose coupled axes need more than ${MAX_SWEEP_CHECKS} checks: one error saying how many`, () => {
      const sweep = Object.fromEntries(
        ['learningRate', 'alpha', 'weightDecay', 'momentum'].map((k, i) => [
          `optimizer.${k}`,
          Array.from({ length: 6 }, (_, j) => (j + 1) / (10 + i)),
        ]),
      );
      const t = timed({ ...base, sweep });
      under(t);
      const { r } = t;
      assert.deepEqual(
        r.errors.map((e) => `${e.line}:${e.column} ${e.message}`),
        [
          `1:${JSON.stringify({ ...base, sweep }).indexOf('"sweep"') + 1} checking the sweep's points takes 1,296 checks (optimizer.learningRate (6) x optimizer.alpha (6) x optimizer.weightDecay (6) x optimizer.momentum (6) vary keys whose checks read one another, so each combination is checked); at most 1,000: fewer values, or split the sweep`,
        ],
      );
    });

    it('a key of a million characters: no did-you-mean table of its size', () => {
      const t = timed({ ...base, [`x${'a'.repeat(900_000)}`]: 1 });
      under(t);
      const { r } = t;
      assert.match(r.errors[0].message, /^unknown key 'xa+' at the top level; allowed keys: name, seed/);
    });
  });

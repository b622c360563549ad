// The WebAssembly SIMD kernel of rotation records (src/engine/backend/wasm-reduce.ts): its three sums
// against float64 references, on a memory of its own and on tfjs-backend-wasm's (also after
// that memory grew), and RotationMonitor on wasm and on cpu against float64 references.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../src/engine/backend/select';
import { Rng } from '../src/engine/rng';
import { cosineDistance, RotationMonitor, type RotationRecord, tanFromCosineDistance } from '../src/engine/rotation';
import {
  createRotationReducer,
  type RotationSums,
  rotationReducerModuleBytes,
  rotationReducerSupported,
  setWasmRotationReducerEnabled,
  wasmBackendMemory,
  type WasmMemory,
  wasmRotationReducer,
} from '../src/engine/backend/wasm-reduce';

// The project's TypeScript lib declares no WebAssembly types: the members used here.
const WebAssembly = (globalThis as unknown as { WebAssembly: TestWasmApi }).WebAssembly;
interface TestWasmApi {
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  RuntimeError: new () => Error;
}

const SIZES = [1, 3, 4, 5, 255, 256, 257, 1000, 200704];

/** Mixed signs and magnitudes: +-10^u, u uniform in [-3, 2]. */
function mixed(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.next() < 0.5 ? -1 : 1) * 10 ** rng.uniform(-3, 2);
  return a;
}

/** The three sums in float64 over the float32 values. */
function reference(w: Float32Array, w0: Float32Array, wp: Float32Array): RotationSums {
  let d0 = 0;
  let sq = 0;
  let dp = 0;
  for (let i = 0; i < w.length; i++) {
    d0 += (w[i] - w0[i]) ** 2;
    sq += w[i] ** 2;
    dp += (w[i] - wp[i]) ** 2;
  }
  return [d0, sq, dp];
}

function assertSums(got: RotationSums, want: RotationSums, what: string, rtol = 1e-6): void {
  assert.equal(got.length, 3, `${what}: three sums`);
  for (let k = 0; k < 3; k++) {
    const err = Math.abs(got[k] - want[k]);
    assert.ok(err <= rtol * want[k], `${what}, sum ${k}: ${got[k]} vs ${want[k]} (relative ${err / want[k]})`);
  }
}

function assertNear(got: number, want: number, what: string, rtol: number): void {
  assert.ok(Math.abs(got - want) <= rtol * Math.max(Math.abs(want), 1e-3), `${what}: ${got} vs ${want}`);
}

describe('the SIMD rotation kernel on a memory of its own', () => {
  it('is a small valid module this engine runs', () => {
    const bytes = rotationReducerModuleBytes();
    assert.ok(bytes.length < 2048, `${bytes.length} bytes`);
    assert.ok(WebAssembly.validate(bytes));
    assert.ok(WebAssembly.validate(rotationReducerModuleBytes(true)));
    assert.ok(rotationReducerSupported());
  });

  it('matches float64 sums for every tail and chunk boundary, at unaligned offsets', () => {
    const rng = new Rng(5);
    const largest = Math.max(...SIZES);
    const memory = new WebAssembly.Memory({ initial: Math.ceil((3 * 4 * largest + 64) / 65536) });
    const reduce = createRotationReducer(memory);
    for (const n of SIZES) {
      const w = mixed(rng, n);
      const w0 = mixed(rng, n);
      // wp close to w, as between two records: small differences in the third sum.
      const wp = w.map((x) => x * (1 + 1e-3 * rng.normal()));
      // Byte offsets 4, 8 and 12 past 16-byte boundaries.
      const offsets = [4, 4 * n + 24, 8 * n + 44];
      const heap = new Float32Array(memory.buffer);
      heap.fill(0);
      [w, w0, wp].forEach((a, k) => heap.set(a, offsets[k] / 4));
      const sums = reduce(offsets[0], offsets[1], offsets[2], n);
      assertSums(sums, reference(w, w0, wp), `n = ${n}`);
      // The copying variant: the same sums, then wp holds w, and w and w0 are untouched.
      assert.deepEqual(reduce(offsets[0], offsets[1], offsets[2], n, true), sums, `n = ${n}, copying`);
      const after = new Float32Array(memory.buffer);
      assert.deepEqual(after.slice(offsets[2] / 4, offsets[2] / 4 + n), w, `n = ${n}: wp holds w`);
      assert.deepEqual(after.slice(offsets[0] / 4, offsets[0] / 4 + n), w, `n = ${n}: w untouched`);
      assert.deepEqual(after.slice(offsets[1] / 4, offsets[1] / 4 + n), w0, `n = ${n}: w0 untouched`);
      assert.equal(after[offsets[2] / 4 + n], 0, `n = ${n}: nothing written past wp`);
      assert.equal(after[offsets[2] / 4 - 1], 0, `n = ${n}: nothing written before wp`);
      // Same arrays: differences exactly 0.
      const same = reduce(offsets[0], offsets[0], offsets[0], n);
      assert.equal(same[0], 0);
      assert.equal(same[2], 0);
      assertSums(same, [0, reference(w, w0, wp)[1], 0], `n = ${n}, one array`);
    }
    assert.deepEqual(reduce(0, 0, 0, 0), [0, 0, 0]);
  });

  it('keeps float64-like precision over a million elements of one sign and size', () => {
    // The worst case for float32 accumulation: every term the same, 1e6 of them.
    const n = 1_000_000;
    const memory = new WebAssembly.Memory({ initial: Math.ceil((3 * 4 * n) / 65536) });
    const heap = new Float32Array(memory.buffer);
    heap.fill(0.1, 0, n);
    heap.fill(0.3, n, 2 * n);
    heap.fill(-0.2, 2 * n, 3 * n);
    const want = reference(heap.subarray(0, n), heap.subarray(n, 2 * n), heap.subarray(2 * n, 3 * n));
    assertSums(createRotationReducer(memory)(0, 4 * n, 8 * n, n), want, 'constant arrays', 1e-6);
  });

  it('links to a shared memory and to any size, and sees it grow', () => {
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    new Float32Array(shared.buffer).fill(2, 0, 7);
    assert.deepEqual(createRotationReducer(shared)(0, 0, 64, 7), [0, 28, 28]);

    const memory = new WebAssembly.Memory({ initial: 1 });
    const reduce = createRotationReducer(memory);
    memory.grow(3);
    const heap = new Float32Array(memory.buffer);
    const at = 3 * 65536 + 12;
    heap.fill(3, at / 4, at / 4 + 9);
    assert.deepEqual(reduce(at, 0, 0, 9), [81, 81, 81]);
  });

  it('refuses out-of-range arguments and traps on reads out of bounds', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const reduce = createRotationReducer(memory);
    assert.throws(() => reduce(0, 0, 0, -1), RangeError);
    assert.throws(() => reduce(0, 0, 0, 1.5), RangeError);
    assert.throws(() => reduce(-4, 0, 0, 1), RangeError);
    assert.throws(() => reduce(0, 0, 65536 - 8, 4), WebAssembly.RuntimeError);
    assert.throws(() => reduce(0, 65536 - 4, 0, 3), WebAssembly.RuntimeError);
    assert.throws(() => reduce(0, 0, 65536 - 4, 3, true), WebAssembly.RuntimeError);
  });
});

describe('the SIMD rotation kernel on tfjs-backend-wasm', () => {
  let backend: BackendWasm;
  let memory: WasmMemory;

  before(async () => {
    await selectBackend('wasm');
    backend = tf.backend() as unknown as BackendWasm;
    const found = wasmBackendMemory(backend);
    assert.ok(found, 'the wasm backend memory is found');
    memory = found;
    assert.equal(memory.buffer, (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer);
    assert.ok(wasmRotationReducer(backend), 'the kernel runs on it');
  });

  it('reads tensors in place, before and after the memory grew', () => {
    const rng = new Rng(9);
    const reduce = wasmRotationReducer(backend)!;
    const arrays = SIZES.map((n) => [mixed(rng, n), mixed(rng, n), mixed(rng, n)]);
    const tensors = arrays.map((abc) => abc.map((a) => tf.tensor1d(a)));
    const check = (what: string) =>
      tensors.forEach((t, i) => {
        const [w, w0, wp] = t.map((x) => backend.getMemoryOffset(x.dataId));
        const [a, b, c] = arrays[i];
        assertSums(reduce(w, w0, wp, a.length), reference(a, b, c), `${what}, n = ${a.length}`);
      });
    check('before growth');
    const before = memory.buffer.byteLength;
    const big = tf.zeros([before / 4 + 1]);
    assert.ok(memory.buffer.byteLength > before, 'the memory grew');
    check('after growth');
    // Tensors allocated after the big one lie beyond the old end of the memory.
    const late = arrays[8].map((a) => tf.tensor1d(a));
    const offsets = late.map((t) => backend.getMemoryOffset(t.dataId));
    assert.ok(Math.max(...offsets) >= before, 'a tensor lies beyond the old end');
    assertSums(
      reduce(offsets[0], offsets[1], offsets[2], arrays[8][0].length),
      reference(arrays[8][0], arrays[8][1], arrays[8][2]),
      'late tensors',
    );
    big.dispose();
    tf.dispose([...tensors.flat(), ...late]);
  });
});

describe('RotationMonitor on wasm (SIMD kernel) and cpu (a JS loop) agrees with float64', () => {
  const SHAPES = [[31, 17], [256, 10], [3], [64, 64, 3], [784, 256]];
  /** Relative size of each record's random step, per kernel. */
  const STEP = [0.5, 0.1, 0.3, 0.05, 0.03];
  const RECORDS = 4;

  interface Run {
    records: RotationRecord[];
    /** The monitor kept the same previous copies, updated in place by the kernel. */
    inPlace: boolean;
    /** The float64 reference, from the float32 values the run used. */
    reference: RotationRecord[];
  }

  /** The kernel values at each record: the initial ones then random steps. */
  function trajectory(): Float32Array[][] {
    const rng = new Rng(21);
    const values = [
      SHAPES.map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => 0.1 * rng.normal())),
    ];
    for (let r = 1; r <= RECORDS; r++) {
      values.push(values[r - 1].map((w, i) => w.map((x) => x + STEP[i] * 0.1 * rng.normal())));
    }
    return values;
  }

  function referenceRecords(values: Float32Array[][]): RotationRecord[] {
    return values.slice(1).map((now, r) => {
      const distances: number[] = [];
      const rotation: number[] = [];
      now.forEach((w, i) => {
        const [d0, sq, dp] = reference(w, values[0][i], values[r][i]);
        const sq0 = reference(values[0][i], values[0][i], values[0][i])[1];
        const sqPrev = reference(values[r][i], values[r][i], values[r][i])[1];
        distances.push(cosineDistance(d0, sq, sq0));
        rotation.push(tanFromCosineDistance(cosineDistance(dp, sq, sqPrev)));
      });
      return { distances, rotation };
    });
  }

  /** Records RECORDS times; on wasm, grows the memory between records 1 and 2 and keeps it grown. */
  async function run(backendName: 'cpu' | 'wasm', values: Float32Array[][]): Promise<Run> {
    await selectBackend(backendName);
    const vars = values[0].map((a, i) => tf.variable(tf.tensor(a, SHAPES[i]), true));
    const monitor = new RotationMonitor(vars);
    const previous = () => (monitor as unknown as { previous: tf.Tensor[] }).previous;
    const firstPrevious = previous();
    const records: RotationRecord[] = [];
    let big: tf.Tensor | undefined;
    for (let r = 1; r <= RECORDS; r++) {
      if (backendName === 'wasm' && r === 2) {
        const memory = wasmBackendMemory(tf.backend() as unknown as BackendWasm)!;
        const size = memory.buffer.byteLength;
        big = tf.zeros([size / 4 + 1]);
        assert.ok(memory.buffer.byteLength > size, 'the memory grew');
      }
      vars.forEach((v, i) => v.assign(tf.tensor(values[r][i], SHAPES[i])));
      records.push(monitor.record());
      if (r === 3) big?.dispose();
    }
    const inPlace = previous() === firstPrevious;
    const tensors = tf.memory().numTensors;
    monitor.dispose();
    assert.equal(tf.memory().numTensors, tensors - 2 * SHAPES.length, 'the monitor holds two copies per kernel');
    vars.forEach((v) => v.dispose());
    return { records, inPlace, reference: referenceRecords(values) };
  }

  const values = trajectory();
  let cpu: Run;
  let simd: Run;
  let js: Run;

  before(async () => {
    cpu = await run('cpu', values);
    simd = await run('wasm', values);
    assert.ok(wasmRotationReducer(tf.backend() as unknown as BackendWasm), 'the SIMD kernel was used');
    setWasmRotationReducerEnabled(false);
    try {
      js = await run('wasm', values);
    } finally {
      setWasmRotationReducerEnabled(true);
    }
  });

  after(async () => {
    await selectBackend('cpu');
  });

  function compare(got: Run, want: RotationRecord[], what: string, rtol: number): void {
    got.records.forEach((rec, r) => {
      SHAPES.forEach((_, i) => {
        assertNear(rec.distances[i], want[r].distances[i], `${what}, record ${r + 1}, layer ${i} distance`, rtol);
        assertNear(rec.rotation[i], want[r].rotation[i], `${what}, record ${r + 1}, layer ${i} rotation`, rtol);
      });
    });
  }

  it('on wasm, the SIMD kernel updates the previous copies in place; other paths clone', () => {
    assert.equal(simd.inPlace, true);
    assert.equal(js.inPlace, false);
    assert.equal(cpu.inPlace, false);
  });

  it('the records are not trivial', () => {
    for (const rec of simd.reference) {
      for (const d of [...rec.distances, ...rec.rotation]) assert.ok(d > 1e-5 && d < 10, `${d}`);
    }
  });

  it('wasm (SIMD) equals cpu to 1e-5, including after the memory grew', () => {
    compare(simd, cpu.records, 'wasm SIMD vs cpu', 1e-5);
  });

  it('wasm (SIMD) equals the float64 reference to 1e-6', () => {
    // Observed: under 1e-7.
    compare(simd, simd.reference, 'wasm SIMD vs float64', 1e-6);
  });

  it('cpu equals the float64 reference to 1e-9 (its sums in float64, not a tfjs Sum in float32)', () => {
    compare(cpu, cpu.reference, 'cpu vs float64', 1e-9);
  });

  it("wasm's JS fallback equals the float64 reference and the SIMD kernel", () => {
    compare(js, js.reference, 'wasm JS vs float64', 1e-9);
    compare(simd, js.records, 'wasm SIMD vs wasm JS', 1e-6);
  });
});

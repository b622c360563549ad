// A hand-assembled WebAssembly SIMD kernel for the three sums of a layer rotation record,
// run in place on tfjs-backend-wasm's own memory: for float32 arrays w, w0, wp of length n,
//   |w - w0|^2, |w|^2, |w - wp|^2
// in one pass, returned as three float64 values (wasm multi-value results: no scratch memory).
//
// Precision: the vector loop accumulates f32x4 partial sums over chunks of CHUNK floats
// (CHUNK / 4 terms per lane), then adds each chunk's lanes into f64x2 accumulators; the
// n mod 4 tail is summed in float64. A chunk's float32 rounding is about 1e-7 relative and
// independent between chunks, so large kernels sum to near float64 precision (measured: up to
// 1.2e-7 relative for one chunk, ~1e-8 for 1000 and more elements; the float32 products and
// differences themselves round at 6e-8).
//
// The module imports the memory as "env" "memory" (min 1 page, no maximum, or shared with
// the 4 GiB maximum when the memory is a SharedArrayBuffer one), so it links to the tfjs memory
// whatever its size; the memory may grow between calls, which needs nothing here (no views).
//
// A second export does the same and also copies w over wp as it goes: RotationMonitor keeps
// its own "previous" copy of each kernel up to date in the same pass, instead of a tfjs clone
// (one more read and write of every kernel, and an allocation) at every record.
//
// The encoder below writes the binary directly (about 1.1 kB): header, type, import,
// function, export and code sections.

import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** [|w - w0|^2, |w|^2, |w - wp|^2]. */
export type RotationSums = [diffInitialSq: number, sq: number, diffPreviousSq: number];

/**
 * The three sums over n float32 values at byte offsets w, w0 and wp of the memory the reducer
 * was created for; with `copyToPrevious`, the n values at w are also copied over those at wp,
 * in the same pass, once read (wp must then not overlap w0, nor w unless equal to it). Offsets
 * are read afresh by the caller at each call (tensors' offsets are stable, views of a growing
 * memory are not; nothing is cached here). Out-of-bounds accesses trap (a
 * WebAssembly.RuntimeError) instead of returning garbage.
 */
export type RotationReducer = (w: number, w0: number, wp: number, n: number, copyToPrevious?: boolean) => RotationSums;

/** Floats per float32 chunk before its lane sums go into the float64 accumulators. */
export const CHUNK = 256;

// ---- binary encoding ------------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function str(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;
const FUNC_TYPE = 0x60;
const EMPTY = 0x40;

// Core instructions.
const block = [0x02, EMPTY];
const loop = [0x03, EMPTY];
const end = [0x0b];
const brIf = (depth: number) => [0x0d, ...uleb(depth)];
const select = [0x1b];
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32Const = (v: number) => [0x41, ...sleb(v)];
const i32Add = [0x6a];
const i32Sub = [0x6b];
const i32And = [0x71];
const i32Shl = [0x74];
const i32LtU = [0x49];
const i32GtU = [0x4b];
const i32GeU = [0x4f];
/** memarg: log2 of the alignment hint (4 bytes: float32 arrays), offset 0. */
const memarg = [2, 0];
const f32Load = [0x2a, ...memarg];
const f32Store = [0x38, ...memarg];
const f64Add = [0xa0];
const f64Sub = [0xa1];
const f64Mul = [0xa2];
const f64PromoteF32 = [0xbb];

// SIMD instructions: the 0xfd prefix and a LEB128 opcode.
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const v128Load = simd(0x00, ...memarg);
const v128Store = simd(0x0b, ...memarg);
const v128Zero = simd(0x0c, ...new Array<number>(16).fill(0));
/** Lanes 2 and 3 of an f32x4 moved to lanes 0 and 1. */
const f32x4High = simd(0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
const f64x2ExtractLane = (lane: number) => simd(0x21, lane);
const f64x2PromoteLow = simd(0x5f);
const f32x4Add = simd(0xe4);
const f32x4Sub = simd(0xe5);
const f32x4Mul = simd(0xe6);
const f64x2Add = simd(0xf0);

// Locals: the four parameters, then the declared ones.
const W = 0; // byte pointer into w, advanced
const W0 = 1; // into w0
const WP = 2; // into wp
const N = 3;
const VEC_END = 4; // end of the whole-vector part of w
const CHUNK_END = 5;
const END = 6; // end of w
const ACC = [7, 8, 9]; // f32x4 chunk sums
const SUM = [10, 11, 12]; // f64x2 totals of the vector part
const X = 13; // v128 temporaries
const D = 14;
const TAIL = [15, 16, 17]; // f64 sums of the tail
const XS = 18; // f64 temporaries
const DS = 19;
const LOCALS = [
  [3, I32],
  [8, V128],
  [5, F64],
];

/** The function's body; with `copy`, it also stores each w value over wp once read. */
function reduceBody(copy: boolean): number[] {
  const chunkBytes = 4 * CHUNK;
  const advance = (bytes: number) => [W, W0, WP].flatMap((p) => [...get(p), ...i32Const(bytes), ...i32Add, ...set(p)]);
  /** acc += d * d, d on the stack. */
  const accumulateSquare = (acc: number) => [...tee(D), ...get(D), ...f32x4Mul, ...get(acc), ...f32x4Add, ...set(acc)];
  /** sum += f64(acc lanes 0, 1) + f64(acc lanes 2, 3). */
  const fold = (acc: number, sum: number) => [
    ...get(sum),
    ...get(acc),
    ...f64x2PromoteLow,
    ...f64x2Add,
    ...get(acc),
    ...get(acc),
    ...f32x4High,
    ...f64x2PromoteLow,
    ...f64x2Add,
    ...set(sum),
  ];
  const tailSquare = (sum: number) => [...tee(DS), ...get(DS), ...f64Mul, ...get(sum), ...f64Add, ...set(sum)];
  const loadF64 = (p: number) => [...get(p), ...f32Load, ...f64PromoteF32];
  const result = (i: number) => [
    ...get(TAIL[i]),
    ...get(SUM[i]),
    ...f64x2ExtractLane(0),
    ...f64Add,
    ...get(SUM[i]),
    ...f64x2ExtractLane(1),
    ...f64Add,
  ];

  return [
    // VEC_END = w + 4 * (n & ~3); END = w + 4 * n
    ...get(W),
    ...get(N),
    ...i32Const(-4),
    ...i32And,
    ...i32Const(2),
    ...i32Shl,
    ...i32Add,
    ...set(VEC_END),
    ...get(W),
    ...get(N),
    ...i32Const(2),
    ...i32Shl,
    ...i32Add,
    ...set(END),

    // Vector part, chunk by chunk.
    ...block,
    ...get(W),
    ...get(VEC_END),
    ...i32GeU,
    ...brIf(0),
    ...loop,
    // CHUNK_END = VEC_END - w > chunkBytes ? w + chunkBytes : VEC_END (no overflow)
    ...get(W),
    ...i32Const(chunkBytes),
    ...i32Add,
    ...get(VEC_END),
    ...get(VEC_END),
    ...get(W),
    ...i32Sub,
    ...i32Const(chunkBytes),
    ...i32GtU,
    ...select,
    ...set(CHUNK_END),
    ...ACC.flatMap((acc) => [...v128Zero, ...set(acc)]),
    ...loop,
    ...get(W),
    ...v128Load,
    ...set(X),
    ...get(X),
    ...get(W0),
    ...v128Load,
    ...f32x4Sub,
    ...accumulateSquare(ACC[0]),
    ...get(X),
    ...accumulateSquare(ACC[1]),
    ...get(X),
    ...get(WP),
    ...v128Load,
    ...f32x4Sub,
    ...accumulateSquare(ACC[2]),
    ...(copy ? [...get(WP), ...get(X), ...v128Store] : []),
    ...advance(16),
    ...get(W),
    ...get(CHUNK_END),
    ...i32LtU,
    ...brIf(0),
    ...end,
    ...fold(ACC[0], SUM[0]),
    ...fold(ACC[1], SUM[1]),
    ...fold(ACC[2], SUM[2]),
    ...get(W),
    ...get(VEC_END),
    ...i32LtU,
    ...brIf(0),
    ...end,
    ...end,

    // Scalar tail (n mod 4 elements), in float64.
    ...block,
    ...get(W),
    ...get(END),
    ...i32GeU,
    ...brIf(0),
    ...loop,
    ...loadF64(W),
    ...set(XS),
    ...get(XS),
    ...loadF64(W0),
    ...f64Sub,
    ...tailSquare(TAIL[0]),
    ...get(XS),
    ...tailSquare(TAIL[1]),
    ...get(XS),
    ...loadF64(WP),
    ...f64Sub,
    ...tailSquare(TAIL[2]),
    ...(copy ? [...get(WP), ...get(W), ...f32Load, ...f32Store] : []),
    ...advance(4),
    ...get(W),
    ...get(END),
    ...i32LtU,
    ...brIf(0),
    ...end,
    ...end,

    ...result(0),
    ...result(1),
    ...result(2),
    ...end,
  ];
}

/**
 * The module's bytes. It imports "env" "memory" (shared when `shared`, which a
 * SharedArrayBuffer-backed memory requires) and exports two functions of type
 * (w: i32, w0: i32, wp: i32, n: i32) -> (f64, f64, f64): "reduce", and "reduceAndCopy", which
 * also copies w over wp in the same pass (the next record's "previous" at no extra pass).
 */
export function rotationReducerModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  const type = [FUNC_TYPE, ...vec([[I32], [I32], [I32], [I32]]), ...vec([[F64], [F64], [F64]])];
  // Limits: 0x00 = min only; 0x03 = min and max, shared (a shared memory must declare a max).
  const limits = shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  const memoryImport = [...str('env'), ...str('memory'), 0x02, ...limits];
  const exports = [
    [...str('reduce'), 0x00, ...uleb(0)],
    [...str('reduceAndCopy'), 0x00, ...uleb(1)],
  ];
  const code = [false, true].map((copy) => {
    const body = [...vec(LOCALS), ...reduceBody(copy)];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([type])),
    ...section(2, vec([memoryImport])),
    ...section(3, vec([uleb(0), uleb(0)])),
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
  ]);
}

// ---- loading ---------------------------------------------------------------------------------

// The project's TypeScript lib (ES2022, no DOM) declares no WebAssembly types: the few members
// used here are typed locally, and the global is looked up at run time.

/** A WebAssembly.Memory (the members used here). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

interface WasmApi {
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => WasmMemory;
}

function wasmApi(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

const compiled = new Map<boolean, object | null>();

/** The compiled module, or null when this engine cannot run it (no wasm SIMD or multi-value). */
function compiledModule(shared: boolean): object | null {
  let module = compiled.get(shared);
  if (module === undefined) {
    module = null;
    try {
      const api = wasmApi();
      const bytes = rotationReducerModuleBytes(shared);
      if (api?.validate(bytes)) module = new api.Module(bytes);
    } catch {
      module = null;
    }
    compiled.set(shared, module);
  }
  return module;
}

function isShared(memory: WasmMemory): boolean {
  return typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
}

/** Whether this engine validates the kernel (WebAssembly with SIMD and multi-value). */
export function rotationReducerSupported(): boolean {
  return compiledModule(false) !== null;
}

/**
 * The kernel linked to `memory`. Throws when the engine cannot run it (see
 * rotationReducerSupported) or the memory cannot be imported.
 */
export function createRotationReducer(memory: WasmMemory): RotationReducer {
  const module = compiledModule(isShared(memory));
  const api = wasmApi();
  if (module === null || !api)
    throw new Error('this JavaScript engine does not validate the WebAssembly SIMD rotation kernel');
  const instance = new api.Instance(module, { env: { memory } });
  type Kernel = (w: number, w0: number, wp: number, n: number) => RotationSums;
  const reduce = instance.exports.reduce as Kernel;
  const reduceAndCopy = instance.exports.reduceAndCopy as Kernel;
  return (w, w0, wp, n, copyToPrevious = false) => {
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 30) throw new RangeError(`element count ${n} out of range`);
    for (const p of [w, w0, wp]) {
      if (!Number.isInteger(p) || p < 0 || p >= 2 ** 32) throw new RangeError(`byte offset ${p} out of range`);
    }
    return (copyToPrevious ? reduceAndCopy : reduce)(w, w0, wp, n);
  };
}

/**
 * The WebAssembly.Memory of a tfjs wasm backend: the Emscripten module's exported memory
 * (`wasm.asm.memory`), or the one it imported (`wasm.wasmMemory`, threaded builds).
 */
export function wasmBackendMemory(backend: BackendWasm): WasmMemory | undefined {
  const api = wasmApi();
  const module = backend.wasm as unknown as { asm?: { memory?: unknown }; wasmMemory?: unknown } | undefined;
  for (const candidate of [module?.asm?.memory, module?.wasmMemory]) {
    if (api && candidate instanceof api.Memory) return candidate;
  }
  return undefined;
}

const perBackend = new WeakMap<object, RotationReducer | null>();
let enabled = true;

/**
 * Turns the kernel off (RotationMonitor then uses its JS loop) or back on, for tests and
 * measurements. Returns the previous setting.
 */
export function setWasmRotationReducerEnabled(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/**
 * The kernel on a tfjs wasm backend's memory, created once per backend; undefined when the
 * memory cannot be found, the engine cannot run the kernel, or it was turned off (see
 * setWasmRotationReducerEnabled); callers then fall back to JS.
 */
export function wasmRotationReducer(backend: BackendWasm): RotationReducer | undefined {
  if (!enabled) return undefined;
  let reducer = perBackend.get(backend);
  if (reducer === undefined) {
    reducer = null;
    const memory = wasmBackendMemory(backend);
    if (memory) {
      try {
        reducer = createRotationReducer(memory);
      } catch {
        reducer = null;
      }
    }
    perBackend.set(backend, reducer);
  }
  return reducer ?? undefined;
}

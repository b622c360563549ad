// The IDX file format of MNIST: a 4-byte magic number (two zero bytes, the data type, the
// number of dimensions), one big-endian uint32 per dimension, then the data, row-major.
// Only unsigned-byte data (type 0x08) is supported: that is all MNIST uses.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DataError } from './types';

export const IDX_UBYTE = 0x08;
/** Magic number of an unsigned-byte IDX file of `rank` dimensions: 0x00000803 images, 0x00000801 labels. */
export const idxMagic = (rank: number): number => (IDX_UBYTE << 8) | rank;
export const IDX_IMAGES_MAGIC = idxMagic(3);
export const IDX_LABELS_MAGIC = idxMagic(1);

export interface IdxArray {
  dims: number[];
  /** prod(dims) bytes, row-major (a view into the file's buffer, not a copy). */
  data: Uint8Array;
}

/**
 * Parse an unsigned-byte IDX file of `rank` dimensions. `name` names the file in errors.
 * Throws a DataError when the magic number, the data type, the rank or the size is wrong.
 */
export function parseIdx(buf: Uint8Array, name: string, rank: number): IdxArray {
  const headerBytes = 4 + 4 * rank;
  if (buf.length < 4) {
    throw idxError(name, `truncated: ${buf.length} bytes, too short for an IDX header`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0);
  checkMagic(buf, magic, idxMagic(rank), name);
  if (buf.length < headerBytes) {
    throw idxError(
      name,
      `truncated: the header of ${rank} dimensions needs ${headerBytes} bytes, file has ${buf.length}`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  checkDataSize(dims, buf.length - headerBytes, name);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, buf.length - headerBytes) };
}

/** Read and parse an IDX file; a path ending in `.gz` is gunzipped first. */
export function readIdxFile(file: string, rank: number): IdxArray {
  return parseIdx(readMaybeGzipped(file), file, rank);
}

/**
 * The path of an IDX file in `folder`, trying `baseName`, then `baseName.gz`, then the
 * variant with a dot before "idx" (train-images.idx3-ubyte, as some mirrors name it).
 * Undefined when none exists.
 */
export function findIdxFile(folder: string, baseName: string): string | undefined {
  const dotted = baseName.replace(/-idx(\d)/, '.idx$1');
  const candidates = [baseName, `${baseName}.gz`, dotted, `${dotted}.gz`];
  for (const candidate of candidates) {
    const file = path.join(folder, candidate);
    if (isFile(file)) return file;
  }
  return undefined;
}

function checkMagic(buf: Uint8Array, magic: number, expected: number, name: string): void {
  if (magic === expected) return;
  const got = `wrong magic number ${hex(magic)}, expected ${hex(expected)}`;
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    throw idxError(name, `${got}: the file is gzip-compressed; name it with a .gz extension or gunzip it`);
  }
  if (magic >>> 16 !== 0) throw idxError(name, `${got}: not an IDX file`);
  const dtype = (magic >>> 8) & 0xff;
  if (dtype !== IDX_UBYTE) {
    throw idxError(
      name,
      `${got}: data type 0x${dtype.toString(16).padStart(2, '0')} is not supported (only 0x08, unsigned bytes)`,
    );
  }
  const rank = magic & 0xff;
  const wanted = expected & 0xff;
  throw idxError(
    name,
    `${got}: ${rank} dimension${rank === 1 ? '' : 's'} instead of ${wanted} (${describeRank(wanted)} file expected)`,
  );
}

function checkDataSize(dims: number[], actual: number, name: string): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (actual === expected) return;
  const says = dims.length === 1 ? `${expected}` : `${dims.join(' x ')} = ${expected}`;
  const problem = actual < expected ? 'truncated' : `${actual - expected} extra bytes`;
  throw idxError(name, `${problem}: header says ${says} bytes of data, file has ${actual}`);
}

function readMaybeGzipped(file: string): Buffer {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`${file}: cannot read the file (${(e as Error).message})`, file);
  }
  if (!file.endsWith('.gz')) return buf;
  try {
    return zlib.gunzipSync(buf);
  } catch (e) {
    throw new DataError(`${file}: not a valid gzip file (${(e as Error).message})`, file);
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function describeRank(rank: number): string {
  if (rank === 3) return 'an images';
  if (rank === 1) return 'a labels';
  return `a ${rank}-dimension`;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function idxError(file: string, problem: string): DataError {
  return new DataError(`${file}: ${problem}`, file);
}

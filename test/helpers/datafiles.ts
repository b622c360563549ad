// Writes small data files in the real formats (IDX, CIFAR-10 binary batches) for tests.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { idxMagic } from '../../src/engine/data/idx';
import { CIFAR10_PIXELS, CIFAR10_RECORD_BYTES, CIFAR10_SIDE } from '../../src/engine/data/cifar10';
import { MNIST_FILES } from '../../src/engine/data/mnist';

/** A fresh temporary folder; remove it with removeDir. */
export function makeTempDir(prefix = 'lrm-data-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** An unsigned-byte IDX file: magic (by default the right one for the rank), dims, data. */
export function idxBuffer(dims: number[], data: ArrayLike<number>, magic = idxMagic(dims.length)): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(Uint8Array.from(data))]);
}

export function writeIdx(
  file: string,
  dims: number[],
  data: ArrayLike<number>,
  opts: { magic?: number; gzip?: boolean } = {},
): string {
  const buf = idxBuffer(dims, data, opts.magic);
  const target = opts.gzip ? `${file}.gz` : file;
  fs.writeFileSync(target, opts.gzip ? zlib.gzipSync(buf) : buf);
  return target;
}

/** The byte of pixel (row, col) of image i in the small MNIST-like files. */
export const mnistPixel = (i: number, row: number, col: number): number => (i * 13 + row * 7 + col * 3) & 255;
export const mnistLabel = (i: number): number => (i * 7 + 3) % 10;

/** The four MNIST IDX files with nTrain / nTest images of side x side pixels (patterns above). */
export function writeMnistFolder(
  dir: string,
  opts: { nTrain: number; nTest: number; side?: number; gzip?: boolean },
): void {
  const side = opts.side ?? 28;
  const write = (images: string, labels: string, n: number) => {
    const pixels: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) pixels.push(mnistPixel(i, r, c));
    }
    const y = Array.from({ length: n }, (_, i) => mnistLabel(i));
    writeIdx(path.join(dir, images), [n, side, side], pixels, { gzip: opts.gzip });
    writeIdx(path.join(dir, labels), [n], y, { gzip: opts.gzip });
  };
  fs.mkdirSync(dir, { recursive: true });
  write(MNIST_FILES.trainImages, MNIST_FILES.trainLabels, opts.nTrain);
  write(MNIST_FILES.testImages, MNIST_FILES.testLabels, opts.nTest);
}

/** The value of a pixel of a CIFAR-10 record; `channel` 0 red, 1 green, 2 blue. */
export type CifarPixel = (record: number, channel: number, row: number, col: number) => number;

/** A default pattern: distinct in record, channel, row and column. */
export const cifarPixel: CifarPixel = (record, channel, row, col) => (record * 11 + channel * 85 + row * 5 + col) & 255;

/** A CIFAR-10 binary batch: per record, the label byte then the R, G and B planes (row-major). */
export function cifarBatch(labels: number[], pixel: CifarPixel = cifarPixel): Buffer {
  const buf = Buffer.alloc(labels.length * CIFAR10_RECORD_BYTES);
  labels.forEach((label, r) => {
    const base = r * CIFAR10_RECORD_BYTES;
    buf[base] = label;
    for (let ch = 0; ch < 3; ch++) {
      for (let row = 0; row < CIFAR10_SIDE; row++) {
        for (let col = 0; col < CIFAR10_SIDE; col++) {
          buf[base + 1 + ch * CIFAR10_PIXELS + row * CIFAR10_SIDE + col] = pixel(r, ch, row, col);
        }
      }
    }
  });
  return buf;
}

export const cifarLabel = (batch: number, record: number): number => (batch * 3 + record) % 10;

/**
 * CIFAR-10 batches of `records` records each in `dir`: data_batch_<b>.bin for b in `batches`,
 * and test_batch.bin (batch number 0 in cifarLabel) unless `test` is false.
 */
export function writeCifarFolder(
  dir: string,
  opts: { batches: number[]; records: number; test?: boolean; pixel?: CifarPixel },
): void {
  fs.mkdirSync(dir, { recursive: true });
  const labels = (b: number) => Array.from({ length: opts.records }, (_, r) => cifarLabel(b, r));
  for (const b of opts.batches) {
    fs.writeFileSync(path.join(dir, `data_batch_${b}.bin`), cifarBatch(labels(b), opts.pixel));
  }
  if (opts.test ?? true) fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarBatch(labels(0), opts.pixel));
}

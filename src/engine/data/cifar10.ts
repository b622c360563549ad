// CIFAR-10, "binary version": each record is 1 label byte then 3072 pixel bytes
// (the 1024 red, 1024 green, 1024 blue values of a 32x32 image, each plane row-major).
// Converted to NHWC bytes (the loader scales and normalizes).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, type RawImages } from './types';

export const CIFAR10_SIDE = 32;
export const CIFAR10_CHANNELS = 3;
export const CIFAR10_PIXELS = CIFAR10_SIDE * CIFAR10_SIDE;
export const CIFAR10_IMAGE_BYTES = CIFAR10_PIXELS * CIFAR10_CHANNELS;
export const CIFAR10_RECORD_BYTES = 1 + CIFAR10_IMAGE_BYTES;
export const CIFAR10_CLASSES = 10;
export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILE = 'test_batch.bin';
/** The folder that cifar-10-binary.tar.gz extracts to. */
export const CIFAR10_SUBFOLDER = 'cifar-10-batches-bin';

/** CIFAR-10's images: 32 x 32 x 3. */
export interface Cifar10Data extends RawImages {
  /** E.g. that some training batches are missing. */
  warnings: string[];
}

const ALL_FILES = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];

const HOW_TO_GET =
  'Download the CIFAR-10 binary version, cifar-10-binary.tar.gz, from the CIFAR-10 page of the ' +
  'University of Toronto (www.cs.toronto.edu/~kriz/cifar.html), and extract it (tar xzf cifar-10-binary.tar.gz) ' +
  'so that `dataset.path` is the folder holding data_batch_1.bin ... data_batch_5.bin and test_batch.bin ' +
  `(the archive extracts to a ${CIFAR10_SUBFOLDER} folder; its parent folder works too).`;

/** Load CIFAR-10 from the folder holding the .bin batches, or from its parent. */
export function loadCifar10(folder: string): Cifar10Data {
  const dir = resolveCifar10Folder(folder);
  const trainFiles = CIFAR10_TRAIN_FILES.filter((f) => isFile(path.join(dir, f)));
  const testFile = path.join(dir, CIFAR10_TEST_FILE);
  if (trainFiles.length === 0) {
    throw new DataError(
      `CIFAR-10: no training batch (data_batch_1.bin ... data_batch_5.bin) in ${dir}. ${HOW_TO_GET}`,
      dir,
    );
  }
  if (!isFile(testFile)) {
    throw new DataError(`CIFAR-10: the test batch ${testFile} is missing. ${HOW_TO_GET}`, testFile);
  }
  const train = readBatches(trainFiles.map((f) => path.join(dir, f)));
  const test = readBatches([testFile]);
  return {
    trainX: train.x,
    trainY: train.y,
    testX: test.x,
    testY: test.y,
    nTrain: train.n,
    nTest: test.n,
    height: CIFAR10_SIDE,
    width: CIFAR10_SIDE,
    channels: CIFAR10_CHANNELS,
    classes: CIFAR10_CLASSES,
    folder: dir,
    warnings: missingBatchWarnings(trainFiles, dir, train.n),
  };
}

/** The folder holding the batches: `folder` itself or its cifar-10-batches-bin subfolder. */
export function resolveCifar10Folder(folder: string): string {
  if (holdsBatches(folder)) return folder;
  const sub = path.join(folder, CIFAR10_SUBFOLDER);
  if (holdsBatches(sub)) return sub;
  throw new DataError(
    `CIFAR-10 not found: no data_batch_1.bin ... test_batch.bin in ${folder}${whyNotFound(folder)}. ${HOW_TO_GET}`,
    folder,
  );
}

function holdsBatches(folder: string): boolean {
  return ALL_FILES.some((f) => isFile(path.join(folder, f)));
}

function whyNotFound(folder: string): string {
  if (!fs.existsSync(folder)) return ' (the folder does not exist)';
  if (isFile(folder)) return ' (it is a file, not a folder)';
  if (fs.existsSync(path.join(folder, 'cifar-10-binary.tar.gz')))
    return ' (it holds cifar-10-binary.tar.gz: extract it)';
  if (fs.existsSync(path.join(folder, 'cifar-10-batches-py'))) {
    return ' (it holds cifar-10-batches-py, the Python version: the binary version is needed)';
  }
  return '';
}

function missingBatchWarnings(present: string[], dir: string, n: number): string[] {
  if (present.length === CIFAR10_TRAIN_FILES.length) return [];
  const missing = CIFAR10_TRAIN_FILES.filter((f) => !present.includes(f));
  return [
    `CIFAR-10: only ${present.length} of ${CIFAR10_TRAIN_FILES.length} training batches in ${dir} ` +
      `(missing ${missing.join(', ')}); training on the ${n} samples of ${present.join(', ')}.`,
  ];
}

interface Batches {
  x: Uint8Array;
  y: Uint8Array;
  n: number;
}

/** Read and concatenate batch files, converting each image to NHWC. */
export function readBatches(files: string[]): Batches {
  const buffers = files.map((file) => readBatchFile(file));
  const n = buffers.reduce((sum, buf) => sum + buf.length / CIFAR10_RECORD_BYTES, 0);
  const out: Batches = { x: new Uint8Array(n * CIFAR10_IMAGE_BYTES), y: new Uint8Array(n), n };
  let offset = 0;
  buffers.forEach((buf, i) => {
    offset += decodeRecords(buf, files[i], out, offset);
  });
  return out;
}

function readBatchFile(file: string): Buffer {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`${file}: cannot read the file (${(e as Error).message})`, file);
  }
  if (buf.length === 0 || buf.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new DataError(
      `${file}: ${buf.length} bytes is not a whole number of CIFAR-10 records ` +
        `(${CIFAR10_RECORD_BYTES} bytes each: 1 label byte + ${CIFAR10_IMAGE_BYTES} pixel bytes)${sizeHint(buf.length)}`,
      file,
    );
  }
  return buf;
}

function sizeHint(bytes: number): string {
  if (bytes > 0 && bytes % (CIFAR10_RECORD_BYTES + 1) === 0) {
    return '; it looks like CIFAR-100 (2 label bytes per record), which is not supported';
  }
  return '; the file is truncated or not a CIFAR-10 binary batch';
}

/** Decode the records of one batch into `out` from sample `offset` on; returns the record count. */
function decodeRecords(buf: Uint8Array, file: string, out: Batches, offset: number): number {
  const records = buf.length / CIFAR10_RECORD_BYTES;
  const { x, y } = out;
  const P = CIFAR10_PIXELS;
  for (let r = 0; r < records; r++) {
    const src = r * CIFAR10_RECORD_BYTES;
    const label = buf[src];
    if (label >= CIFAR10_CLASSES) {
      throw new DataError(`${file}: record ${r} has label ${label}, expected 0..9`, file);
    }
    y[offset + r] = label;
    const dst = (offset + r) * CIFAR10_IMAGE_BYTES;
    for (let p = 0; p < P; p++) {
      const o = dst + 3 * p;
      x[o] = buf[src + 1 + p];
      x[o + 1] = buf[src + 1 + P + p];
      x[o + 2] = buf[src + 1 + 2 * P + p];
    }
  }
  return records;
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

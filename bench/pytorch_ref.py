"""PyTorch reference for `npm run bench`: trains the bench's two models on random data and
prints training samples/s as one JSON object on stdout.

    python3 bench/pytorch_ref.py '{"mlp": {...}, "cnn": {...}, "rounds": 5, "threads": [2, 1]}'

Models (the same shapes as the tfjs bench builds with the engine's MLP and VGG builders):
  mlp: Linear layers of `sizes` with ReLU between them.
  cnn: per stage a 3x3 'same' conv + ReLU, 2x2 max pooling between stages, global average
       pooling, Linear to the classes.
Each step: gather a random batch from a pool of samples, forward, cross-entropy, backward,
plain SGD, and read back the loss and the number of correct predictions (as the tfjs step does).
Variants (model x thread count) alternate in rounds; a figure is the median over rounds.
"""
import json
import statistics
import sys
import time

import torch
from torch import nn

POOL = 1024
WARMUP = 3


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def cnn(input_shape, filters, classes):
    layers, channels = [], input_shape[2]
    for s, f in enumerate(filters):
        layers += [nn.Conv2d(channels, f, 3, padding=1), nn.ReLU()]
        if s < len(filters) - 1:
            layers.append(nn.MaxPool2d(2))
        channels = f
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, classes)]
    return nn.Sequential(*layers)


class Variant:
    def __init__(self, name, model, sample_shape, classes, spec, threads):
        self.name, self.model, self.batch, self.threads, self.steps = name, model, spec["batch"], threads, spec["steps"]
        self.x = torch.rand(POOL, *sample_shape)
        self.y = torch.randint(0, classes, (POOL,))
        self.opt = torch.optim.SGD(
            model.parameters(), lr=spec["lr"], momentum=spec.get("momentum", 0), nesterov=spec.get("nesterov", False)
        )
        self.rates = []

    def step(self):
        idx = torch.randint(0, POOL, (self.batch,))
        x, y = self.x[idx], self.y[idx]
        logits = self.model(x)
        loss = nn.functional.cross_entropy(logits, y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        correct = (logits.argmax(1) == y).sum()
        return loss.item(), correct.item()

    def block(self, steps):
        torch.set_num_threads(self.threads)
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
        return self.batch * steps / (time.perf_counter() - t0)


def blas_libraries():
    """Shared libraries with 'blas' in their name mapped into this process, resolved."""
    import os

    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "blas" in os.path.basename(path).lower() or "mkl" in os.path.basename(path).lower():
                libs.add(os.path.realpath(path))
    return sorted(libs)


def blas_summary(libs):
    joined = " ".join(libs).lower()
    if "openblas" in joined:
        return "OpenBLAS"
    if "mkl" in joined:
        return "MKL"
    if "/blas/libblas.so" in joined:
        return "reference BLAS (netlib libblas3)"
    return "unknown (" + ", ".join(libs) + ")" if libs else "none found"


def main():
    cfg = json.loads(sys.argv[1])
    torch.manual_seed(0)
    variants = []
    for threads in cfg["threads"]:
        m = cfg["mlp"]
        variants.append(Variant(f"mlp/{threads}", mlp(m["sizes"]), [m["sizes"][0]], m["sizes"][-1], m, threads))
        c = cfg["cnn"]
        h, w, ch = c["inputShape"]
        variants.append(
            Variant(
                f"cnn/{threads}", cnn(c["inputShape"], c["filters"], c["classes"]), [ch, h, w], c["classes"], c, threads
            )
        )
    for v in variants:
        v.block(WARMUP)
    for _ in range(cfg["rounds"]):
        for v in variants:
            v.rates.append(v.block(v.steps))
    config = torch.__config__.show()
    blas_info = next((part.strip() for part in config.replace(",", " ").split() if part.startswith("BLAS_INFO")), "")
    libs = blas_libraries()
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "pythonVersion": sys.version.split()[0],
                "blasInfo": blas_info,
                "blasLibraries": libs,
                "blas": blas_summary(libs),
                "mkldnn": torch.backends.mkldnn.is_available(),
                "samplesPerSecond": {v.name: statistics.median(v.rates) for v in variants},
                "rates": {v.name: v.rates for v in variants},
            }
        )
    )


if __name__ == "__main__":
    main()

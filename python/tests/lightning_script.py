"""A tiny LightningModule on fixed synthetic data with a RotationCallback, for test_lightning.py.

    python tests/lightning_script.py --devices 2 --runs-dir DIR [--global-batch 16] [--epochs 2] ...

runs one fit (and a test) in this process, or, with --devices 2, under Lightning's DDP strategy
on CPU (gloo): Lightning starts this script again as rank 1. The data is not shuffled and each of
N processes takes global_batch / N samples a step (Lightning's DistributedSampler: rank r gets
samples r, r + N, ...), so the N processes' batches of a step make the one process's batch, and
DDP's averaged gradient is the one process's: the runs turn the kernels alike. import it to call
fit() in the test's own process.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import lightning as L  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from layer_rotation import LaycaSGD, layca_param_groups  # noqa: E402
from layer_rotation.lightning import RotationCallback  # noqa: E402

LAYERS = ["features.0", "features.3", "head"]  # module paths, in forward order


class Broken(RuntimeError):
    pass


class Tiny(L.LightningModule):
    """Conv2d on 1-channel 6x6 images -> Linear -> Linear (head), trained by LaycaSGD."""

    def __init__(self, lr=0.1, fail_at_step=None, interrupt_at_step=None, decay=None):
        super().__init__()
        self.decay = decay  # a factor per step: the rate decays through a scheduler
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 16), nn.ReLU())
        self.head = nn.Linear(16, 3)
        self.lr = lr
        self.fail_at_step = fail_at_step
        self.interrupt_at_step = interrupt_at_step

    def forward(self, x):
        return self.head(self.features(x))

    def _metrics(self, batch):
        x, y = batch
        logits = self(x)
        return F.cross_entropy(logits, y), (logits.argmax(1) == y).float().mean()

    def training_step(self, batch, batch_idx):
        if self.global_step == self.fail_at_step:
            raise Broken("the batch at step %d is broken" % self.global_step)
        if self.global_step == self.interrupt_at_step:
            raise KeyboardInterrupt()
        loss, acc = self._metrics(batch)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        self.log("train_acc", acc, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        loss, acc = self._metrics(batch)
        self.log("val_loss", loss)
        self.log("val_acc", acc)

    def test_step(self, batch, batch_idx):
        loss, acc = self._metrics(batch)
        self.log("test_loss", loss)
        self.log("test_acc", acc)

    def configure_optimizers(self):
        # Layca through configure_optimizers: one group per kernel layer; the head turns half as fast.
        groups = layca_param_groups(self, self.lr, multipliers={"head": 0.5})
        optimizer = LaycaSGD(groups, lr=self.lr, momentum=0.9)
        if self.decay is None:
            return optimizer
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: self.decay**step)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def kernels(model):
    """The kernels of LAYERS, in that order."""
    return [model.features[0].weight, model.features[3].weight, model.head.weight]


def data(n, seed):
    """n 6x6 images and their labels: which of three fixed patterns each is closest to."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 6, 6, generator=gen)
    patterns = torch.randn(3, 36, generator=torch.Generator().manual_seed(99))
    return torch.utils.data.TensorDataset(x, (x.flatten(1) @ patterns.T).argmax(1))


class Data(L.LightningDataModule):
    """Fixed synthetic splits. Training batches of global_batch / N samples on each of N
    processes, in order: rank r takes samples r, r + N, ... (a DistributedSampler without the
    shuffling Lightning's own would add), so a step's N batches are the one process's batch."""

    def __init__(self, global_batch, train, seed):
        super().__init__()
        self.global_batch = global_batch
        self.splits = {"train": data(train, seed + 1), "val": data(32, seed + 2), "test": data(32, seed + 3)}

    def _loader(self, split):
        world = self.trainer.world_size
        sampler = None
        if split == "train" and world > 1:
            sampler = torch.utils.data.DistributedSampler(
                self.splits[split], num_replicas=world, rank=self.trainer.global_rank, shuffle=False
            )
        return torch.utils.data.DataLoader(self.splits[split], batch_size=self.global_batch // world, sampler=sampler)

    def train_dataloader(self):
        return self._loader("train")

    def val_dataloader(self):
        return self._loader("val")

    def test_dataloader(self):
        return self._loader("test")


def fit(
    devices=1,
    global_batch=16,
    epochs=2,
    train=64,
    seed=0,
    test=True,
    accumulate=1,
    model_options=None,
    max_steps=-1,
    run_test=None,
    **callback_options,
):
    """One fit of Tiny, then a test (run_test, default `test`: the callback's option); returns
    (trainer, model, datamodule, callback, the initial kernels)."""
    torch.set_num_threads(1)
    L.seed_everything(seed, verbose=False)
    model = Tiny(**(model_options or {}))
    initial = [w.detach().clone() for w in kernels(model)]
    callback = RotationCallback(every=2, test=test, **callback_options)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=devices,
        strategy="ddp" if devices > 1 else "auto",
        max_epochs=epochs,
        max_steps=max_steps,
        accumulate_grad_batches=accumulate,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=1,
        use_distributed_sampler=False,  # Data's own, which does not shuffle
        callbacks=[callback],
    )
    datamodule = Data(global_batch, train, seed)
    trainer.fit(model, datamodule=datamodule)
    if test if run_test is None else run_test:
        trainer.test(model, datamodule=datamodule, verbose=False)
    return trainer, model, datamodule, callback, initial


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=1)
    p.add_argument("--runs-dir", required=True)
    p.add_argument("--global-batch", type=int, default=16)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-test", action="store_true", help="RotationCallback(test=True), but no trainer.test()")
    args = p.parse_args(argv)
    fit(
        args.devices,
        args.global_batch,
        args.epochs,
        seed=args.seed,
        runs_dir=args.runs_dir,
        name="tiny",
        run_test=not args.no_test,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

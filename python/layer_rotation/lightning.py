"""RotationCallback: the Layer Rotation Monitor's run log from a PyTorch Lightning Trainer.

    from layer_rotation.lightning import RotationCallback

    trainer = lightning.Trainer(max_epochs=10, callbacks=[RotationCallback(every=50)])
    trainer.fit(model, datamodule)

A RotationLogger (logger.py) writes the log: the kernels of the LightningModule's nn.Linear and
nn.Conv1d/2d/3d layers, named by module path (`encoder.0`, `head`), a rotation record every
`every` optimizer steps (trainer.global_step: gradient accumulation counts one step per
optimizer step), batch events with the loss and accuracy the module already logs (self.log: the
names looked for in trainer.callback_metrics are the `loss`, `accuracy`, ... arguments; the
loss returned by training_step when none is logged), an epoch_end per training epoch with the
validation metrics of that epoch, and run_finished when fit ends (or, with test=True, when the
trainer.test() that follows it ends, with the test metrics). An exception that interrupts fit
(or that test) ends the run as failed with the error; Ctrl+C (KeyboardInterrupt) and SIGTERM as
stopped.

Only global rank zero writes: under the DDP strategy (any number of processes) the run has one
log. The run starts at on_train_start, so its initial weights are those training starts from
(DDP has broadcast rank zero's; a resumed fit starts a new run from the checkpoint's weights).

Named like Keras's callbacks (layer_rotation.keras has a RotationCallback too): Lightning users
list it in Trainer(callbacks=[...]) beside ModelCheckpoint and LearningRateMonitor, and the
import path says which framework it is for.
"""
import atexit

try:
    from lightning.pytorch.callbacks import Callback
except ImportError:  # the older package name
    try:
        from pytorch_lightning.callbacks import Callback
    except ImportError:
        raise ImportError(
            "layer_rotation.lightning needs PyTorch Lightning: pip install lightning "
            "(or the older package, pytorch-lightning)"
        ) from None

from . import events
from .logger import RotationLogger
from .optim import kernel_layers
from .plan import group_rate, optimizer_plan, unwrap_optimizer

__all__ = ["RotationCallback"]

# The names looked up in trainer.callback_metrics, by default (each also with Lightning's
# "_step" / "_epoch" suffixes, which it adds to a metric logged with on_step and on_epoch).
DEFAULT_NAMES = {
    "loss": ("train_loss", "loss"),
    "accuracy": ("train_acc", "train_accuracy", "acc", "accuracy"),
    "val_loss": ("val_loss",),
    "val_accuracy": ("val_acc", "val_accuracy"),
    "test_loss": ("test_loss",),
    "test_accuracy": ("test_acc", "test_accuracy"),
}


def _names(value, default):
    if value is None:
        return default
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _metric(metrics, names, suffix):
    """The first of `names` (with `suffix`, then without) in `metrics`, or None."""
    for name in names:
        for key in (name + suffix, name):
            if key in metrics:
                return metrics[key]
    return None


def _first_optimizer(trainer):
    optimizers = getattr(trainer, "optimizers", None) or []
    return optimizers[0] if optimizers else None


def _batch_size(trainer):
    """Samples per optimizer step over every process, when the train loader says its batch size."""
    loader = getattr(trainer, "train_dataloader", None)
    size = getattr(loader, "batch_size", None)
    if not isinstance(size, int):
        return 0
    return size * int(getattr(trainer, "world_size", 1) or 1) * int(trainer.accumulate_grad_batches or 1)


def _finished_reason(trainer, steps):
    """Why fit ended, in the engines' words."""
    max_steps = getattr(trainer, "max_steps", -1)
    if max_steps is not None and max_steps > 0 and trainer.global_step >= max_steps:
        return events.step_limit(max_steps)
    max_epochs = getattr(trainer, "max_epochs", None)
    if max_epochs is not None and max_epochs > 0 and trainer.current_epoch >= max_epochs:
        return events.trained_epochs(max_epochs)
    if trainer.should_stop:
        return "stopped early after %d epochs (trainer.should_stop, e.g. by EarlyStopping)" % trainer.current_epoch
    return events.trained_steps(steps)


class RotationCallback(Callback):
    """Writes the Layer Rotation Monitor's run log (events.jsonl, summary.json) of a Lightning fit.

    Arguments:
      run_dir: the run folder; default a new `<name>-YYYYMMDD-HHMMSS` under `runs_dir`.
      every: a rotation record every `every` optimizer steps (and at the end).
      name: the run's name (default: the LightningModule's class name).
      layers: module paths to watch (default: every Linear and Conv layer).
      loss, accuracy, val_loss, val_accuracy, test_loss, test_accuracy: the names (a string or a
        list, the first found wins) of the metrics logged by the module (self.log) to forward;
        each is also looked for with "_step" (batch events) or "_epoch" (epoch ends) appended.
      test: True when trainer.test() follows trainer.fit(): the run ends when that test ends,
        with its test metrics (or at the process's exit, if no test comes). False: at fit's end.
      **options: passed to RotationLogger (dataset, target, lag_margin, batch_every, features,
        flatten_order, seed, learning_rate, layca, multipliers, optimizer, extra, ...). The plan
        (epochs, steps per epoch, total steps, batch size) comes from the trainer; the optimizer,
        rate, Layca flag and per-layer multipliers from its first optimizer unless given.
    """

    def __init__(
        self,
        run_dir=None,
        every=10,
        name=None,
        runs_dir="runs",
        layers=None,
        loss=None,
        accuracy=None,
        val_loss=None,
        val_accuracy=None,
        test_loss=None,
        test_accuracy=None,
        test=False,
        **options,
    ):
        super().__init__()
        for fixed in ("epochs", "steps_per_epoch", "model"):
            if fixed in options:
                raise TypeError("RotationCallback: %s comes from the trainer, it is not an option" % fixed)
        self.run_dir = run_dir
        self.every = every
        self.name = name
        self.runs_dir = runs_dir
        self.layers = layers
        given = dict(
            loss=loss,
            accuracy=accuracy,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            test_loss=test_loss,
            test_accuracy=test_accuracy,
        )
        self.names = {k: _names(v, DEFAULT_NAMES[k]) for k, v in given.items()}
        self.test = bool(test)
        self.options = options
        self.logger = None  # the RotationLogger of the current run (global rank zero only)
        self._global_step = 0
        self._val = None  # (epoch, loss, accuracy) of the latest validation in a training epoch
        self._groups = None  # the fit's first optimizer's param_groups: the first one's rate is read at every step
        self._at_exit = None

    # -- the run -----------------------------------------------------------------------------------

    def on_train_start(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        self._finish_without_test()  # a run of an earlier fit still waiting for its test
        self._forget_exit()
        options = dict(self.options)
        if self.layers is not None:
            options["layers"] = self.layers
        accumulate = max(1, int(trainer.accumulate_grad_batches or 1))
        batches = trainer.num_training_batches
        steps_per_epoch = -(-int(batches) // accumulate) if batches not in (None, float("inf")) else 0
        epochs = trainer.max_epochs if trainer.max_epochs is not None and trainer.max_epochs > 0 else 0
        total = trainer.estimated_stepping_batches
        extra = dict(options.pop("extra", None) or {})
        if total not in (None, float("inf")):
            extra.setdefault("totalSteps", int(total))
        options.setdefault("batch_size", _batch_size(trainer))
        names = self.layers if self.layers is not None else [n for n, _ in kernel_layers(pl_module)]
        # The first optimizer, unwrapped once, and its list of param groups: the first group's rate
        # is read at every step (plan.base_rate's, by group_rate; schedulers set it in place).
        optimizer = unwrap_optimizer(_first_optimizer(trainer))
        self._groups = None if optimizer is None else optimizer.param_groups
        for key, value in optimizer_plan(optimizer, names).items():
            options.setdefault(key, value)
        self.logger = RotationLogger(
            pl_module,
            self.run_dir,
            every=self.every,
            name=self.name,
            runs_dir=self.runs_dir,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            extra=extra,
            **options,
        )
        self._global_step = trainer.global_step
        self._val = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        logger = self.logger
        if logger is None or logger.finished is not None:
            return
        global_step = trainer.global_step
        steps = global_step - self._global_step
        if steps <= 0:  # accumulating gradients: no optimizer step yet
            return
        self._global_step = global_step
        metrics = trainer.callback_metrics
        loss = _metric(metrics, self.names["loss"], "_step")
        if loss is None:
            loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        accuracy = _metric(metrics, self.names["accuracy"], "_step")
        for _ in range(steps - 1):
            logger.step()
        groups = self._groups
        logger.step(loss=loss, accuracy=accuracy, lr=group_rate(groups[0]) if groups else None)

    def on_validation_end(self, trainer, pl_module):
        if self.logger is None or trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        self._val = (
            trainer.current_epoch,
            _metric(metrics, self.names["val_loss"], "_epoch"),
            _metric(metrics, self.names["val_accuracy"], "_epoch"),
        )

    def on_train_epoch_end(self, trainer, pl_module):
        logger = self.logger
        if logger is None or logger.finished is not None:
            return
        metrics = trainer.callback_metrics
        val = self._val if self._val is not None and self._val[0] == trainer.current_epoch else (None, None, None)
        logger.epoch_end(
            loss=_metric(metrics, self.names["loss"], "_epoch"),
            accuracy=_metric(metrics, self.names["accuracy"], "_epoch"),
            val_loss=val[1],
            val_accuracy=val[2],
        )

    def on_fit_end(self, trainer, pl_module):
        logger = self.logger
        if logger is None or logger.finished is not None:
            return
        self._reason = _finished_reason(trainer, logger.steps)
        if self.test:
            logger.log("fit ended (%s); the run ends when trainer.test() does" % self._reason)
            self._at_exit = self._finish_without_test
            atexit.register(self._at_exit)
            return
        logger.finish("completed", self._reason)

    def _finish_without_test(self):
        if self.logger is not None and self.logger.finished is None:
            self.logger.finish("completed", self._reason + "; no trainer.test() followed")

    def on_test_end(self, trainer, pl_module):
        logger = self.logger
        if logger is None or logger.finished is not None or not self.test or trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        logger.finish(
            "completed",
            self._reason,
            test_loss=_metric(metrics, self.names["test_loss"], "_epoch"),
            test_accuracy=_metric(metrics, self.names["test_accuracy"], "_epoch"),
        )
        self._forget_exit()

    def on_exception(self, trainer, pl_module, exception):
        logger = self.logger
        if logger is None or logger.finished is not None:
            return
        if type(exception).__name__ == "SIGTERMException":  # Lightning's, on SIGTERM
            logger.finish("stopped", "stopped on request (SIGTERM) at step %d" % logger.steps)
        else:  # RotationLogger's words: stopped on KeyboardInterrupt, else failed with the error
            logger.__exit__(type(exception), exception, exception.__traceback__)
        self._forget_exit()

    def _forget_exit(self):
        if self._at_exit is not None:
            atexit.unregister(self._at_exit)
            self._at_exit = None

"""RotationCallback: the Layer Rotation Monitor's run log from a Hugging Face Transformers Trainer.

    from layer_rotation.hf import RotationCallback

    trainer = Trainer(model, args, train_dataset=..., eval_dataset=..., callbacks=[RotationCallback(every=50)])
    trainer.train()

(The module is `layer_rotation.hf`, not `layer_rotation.transformers`, so that it never shadows
the `transformers` package.) A RotationLogger (logger.py) writes the log: the kernels of the
model's nn.Linear, nn.Conv1d/2d/3d and transformers' Conv1D (GPT-2's, whose weight is already
[in, out]) layers and, with embeddings=True, its nn.Embedding tables (kind "embedding", shape
[vocabulary, dim]), named by module path (`bert.encoder.layer.0.attention.self.query`) in module
registration order (model.named_modules(): the forward order of Transformers' models). A weight
tied to an embedding (GPT-2's and BERT's LM heads share the token embedding) is that embedding:
watched once, under the embedding's name, and only with embeddings=True.

A rotation record every `every` optimizer steps (state.global_step: gradient accumulation counts
one step per optimizer step); batch events with the training loss Trainer logs (every
`logging_steps`), an epoch_end per epoch with the epoch's mean logged loss and the evaluation
metrics of that epoch (`eval_loss`, `eval_accuracy` when compute_metrics returns `accuracy`), and
run_finished when train() ends (or, with test=True, when a trainer.evaluate(metric_key_prefix=
"test") or trainer.predict() that follows it ends, with its test metrics). An exception that
interrupts trainer.train() ends the run as failed with the error, Ctrl+C (KeyboardInterrupt) as
stopped: the callback wraps the train() of the Trainer it is given to (Trainer(callbacks=[...]));
one added later by trainer.add_callback() ends such a run as failed at the process's exit.

Only the world's process zero writes: under distributed training (torchrun, accelerate launch)
the run has one log. The run starts at on_train_begin, so its initial weights are those training
starts from (a train() resumed from a checkpoint starts a new run from the checkpoint's weights).
"""
import atexit
import functools
import sys

try:
    from transformers import Trainer, TrainerCallback
except ImportError:
    raise ImportError("layer_rotation.hf needs Hugging Face Transformers: pip install transformers") from None

from . import events
from .logger import RotationLogger, watch_entry
from .optim import kernel_layers
from .plan import base_rate, group_rate, optimizer_plan, unwrap_optimizer

__all__ = ["RotationCallback", "kernel_layers"]


def _watch(model, layers=None, embeddings=False):
    found = kernel_layers(model, embeddings)
    if layers is not None:
        by_name = dict(found)
        missing = [n for n in layers if n not in by_name]
        if missing:
            hint = "" if embeddings else " (embeddings are watched with embeddings=True)"
            raise ValueError(
                "RotationCallback: no kernel layer named %s%s; the model's are %s"
                % (", ".join(missing), hint, ", ".join(by_name) or "none")
            )
        found = [(n, by_name[n]) for n in layers]
    if not found:
        raise ValueError(
            "RotationCallback: the model %s has no nn.Linear, convolution or Conv1D layer to watch"
            % type(model).__name__
        )
    return [watch_entry(n, m) for n, m in found]


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _steps_per_epoch(args, train_dataloader):
    """Optimizer steps per epoch as Trainer counts them (the last partial accumulation is a step)."""
    try:
        batches = len(train_dataloader)
    except TypeError:  # an iterable dataset, or no loader
        return 0
    accumulate = max(1, int(args.gradient_accumulation_steps or 1))
    return max(-(-batches // accumulate), 1)


def _finished_reason(args, state, control):
    """Why train() ended, in the engines' words."""
    if args.max_steps is not None and args.max_steps > 0 and state.global_step >= args.max_steps:
        return events.step_limit(args.max_steps)
    if state.max_steps and state.global_step >= state.max_steps:
        return events.trained_epochs(int(state.num_train_epochs))
    if control.should_training_stop:
        return (
            "stopped early at step %d (control.should_training_stop, e.g. by EarlyStoppingCallback)" % state.global_step
        )
    return events.trained_steps(state.global_step)


def _calling_trainer():
    """The Trainer whose __init__ (or method) calls the current callback event, if any."""
    frame = sys._getframe(2)
    for _ in range(12):
        if frame is None:
            return None
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, Trainer):
            return candidate
        frame = frame.f_back
    return None


class RotationCallback(TrainerCallback):
    """Writes the Layer Rotation Monitor's run log (events.jsonl, summary.json) of a Trainer's train().

    Arguments:
      run_dir: the run folder; default a new `<name>-YYYYMMDD-HHMMSS` under `runs_dir`.
      every: a rotation record every `every` optimizer steps (and at the end).
      name: the run's name (default: the model's class name).
      layers: module paths to watch, in the log's order (default: every kernel layer, see kernel_layers).
      embeddings: also watch the nn.Embedding tables (default False).
      accuracy: the name of the accuracy metric compute_metrics returns ("accuracy"): epoch ends
        carry `eval_<accuracy>`, the test's end `test_<accuracy>`.
      test: True when a trainer.evaluate(test_set, metric_key_prefix="test") or trainer.predict()
        follows train(): the run ends when it does, with its test metrics (or at the process's exit,
        if none comes). False: at train()'s end.
      **options: passed to RotationLogger (dataset, target, lag_margin, batch_every, features, seed,
        learning_rate, layca, multipliers, optimizer, extra, ...). The plan (epochs, steps per
        epoch, total steps, batch size) comes from the trainer; the optimizer, rate, Layca flag and
        per-layer multipliers from its optimizer unless given.
    """

    def __init__(
        self,
        run_dir=None,
        every=10,
        name=None,
        runs_dir="runs",
        layers=None,
        embeddings=False,
        accuracy="accuracy",
        test=False,
        **options,
    ):
        for fixed in ("epochs", "steps_per_epoch", "model", "watch"):
            if fixed in options:
                raise TypeError("RotationCallback: %s comes from the trainer, it is not an option" % fixed)
        self.run_dir = run_dir
        self.every = every
        self.name = name
        self.runs_dir = runs_dir
        self.layers = list(layers) if layers is not None else None
        self.embeddings = bool(embeddings)
        self.accuracy = accuracy
        self.test = bool(test)
        self.options = options
        self.logger = None  # the RotationLogger of the current run (world process zero only)
        self._at_exit = None
        self._reason = None
        self._wrapper = self._rate_group = None  # the optimizer last given to a step hook, its rate's group

    # -- the run -----------------------------------------------------------------------------------

    def on_init_end(self, args, state, control, **kwargs):
        trainer = _calling_trainer()
        if trainer is not None and not getattr(trainer.train, "_layer_rotation", False):
            self._wrap_train(trainer)

    def _wrap_train(self, trainer):
        """trainer.train ends this callback's run as failed (or stopped) when an exception interrupts it."""
        train = trainer.train

        @functools.wraps(train)
        def wrapped(*args, **kwargs):
            try:
                return train(*args, **kwargs)
            except BaseException as e:
                self._interrupted(e)
                raise

        wrapped._layer_rotation = True
        trainer.train = wrapped

    def on_train_begin(self, args, state, control, model=None, optimizer=None, train_dataloader=None, **kwargs):
        if not state.is_world_process_zero:
            return
        self._at_exit_now("a new train() began before the previous one ended")  # a run of an earlier train() still open
        self._forget_exit()
        watch = _watch(model, self.layers, self.embeddings)
        options = dict(self.options)
        extra = dict(options.pop("extra", None) or {})
        if state.max_steps:
            extra.setdefault("totalSteps", int(state.max_steps))
        accumulate = max(1, int(args.gradient_accumulation_steps or 1))
        options.setdefault("batch_size", args.per_device_train_batch_size * max(1, args.world_size) * accumulate)
        options.setdefault("batch_every", 1)  # a batch event at each step whose loss Trainer logged
        for key, value in optimizer_plan(optimizer, [w[0] for w in watch]).items():
            options.setdefault(key, value)
        self.logger = RotationLogger(
            model,
            self.run_dir,
            every=self.every,
            name=self.name,
            runs_dir=self.runs_dir,
            epochs=int(state.num_train_epochs or 0),
            steps_per_epoch=_steps_per_epoch(args, train_dataloader),
            extra=extra,
            watch=watch,
            **options,
        )
        self._global_step = state.global_step  # where this train() starts (a resumed one: not 0)
        self._last_logged = state.global_step
        self._lr = base_rate(optimizer)
        self._epoch_ended = False  # on_epoch_end came: its epoch_end waits for the epoch's eval
        self._epoch_loss = [0.0, 0]  # logged losses x the steps each covers, and those steps
        self._val = None  # (epoch, loss, accuracy) of the latest evaluation in a training epoch
        self._reason = None  # why train() ended, once it has
        self._at_exit = self._at_exit_now  # a process that exits inside train() ends the run
        atexit.register(self._at_exit)

    def _running(self):
        return self.logger is not None and self.logger.finished is None

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        if self._running():
            group = self._group_of(optimizer)
            self._lr = None if group is None else group_rate(group)  # the rate of the step about to be taken

    def _group_of(self, optimizer):
        """base_rate's param group of the optimizer given, found once for each optimizer given (it
        is the same at every step: unwrapping it again was most of the hook's time)."""
        if optimizer is not self._wrapper:
            self._wrapper = optimizer
            self._rate_group = None if optimizer is None else unwrap_optimizer(optimizer).param_groups[0]
        return self._rate_group

    def on_step_end(self, args, state, control, **kwargs):
        """The record of the step just taken, while its weights are fresh in the cache; its loss
        comes later, in on_log (Trainer logs after this hook)."""
        if not self._running():
            return
        logger = self.logger
        for _ in range(state.global_step - self._global_step):
            logger.step(lr=self._lr, metrics_follow=True)
        self._global_step = state.global_step

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not self._running() or not logs or "loss" not in logs:
            return
        loss = _number(logs["loss"])  # the mean loss of the steps since the last log
        steps = state.global_step - self._last_logged
        self._last_logged = state.global_step
        if loss is None:
            return
        self.logger.step_metrics(loss=loss)  # the batch line of the latest step
        if steps > 0:
            self._epoch_loss[0] += loss * steps
            self._epoch_loss[1] += steps

    def on_epoch_end(self, args, state, control, **kwargs):
        if self._running():
            self._epoch_ended = True

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        metrics = metrics or {}
        if self._running() and not self._waiting_for_test() and "eval_loss" in metrics:
            self._val = (
                self.logger.epochs_done + 1,  # the epoch that ended (its epoch_end waits) or runs
                _number(metrics.get("eval_loss")),
                _number(metrics.get("eval_" + self.accuracy)),
            )
        self._test_ended(metrics)

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        self._test_ended(metrics or {})

    def _flush_epoch(self):
        if not self._epoch_ended:
            return
        self._epoch_ended = False
        total, steps = self._epoch_loss
        self._epoch_loss = [0.0, 0]
        epoch = self.logger.epochs_done + 1
        val = self._val if self._val is not None and self._val[0] == epoch else (None, None, None)
        self.logger.epoch_end(loss=total / steps if steps else None, val_loss=val[1], val_accuracy=val[2])

    def on_epoch_begin(self, args, state, control, **kwargs):
        if self._running():
            self._flush_epoch()

    def on_train_end(self, args, state, control, **kwargs):
        if not self._running():
            return
        self._flush_epoch()
        self._reason = _finished_reason(args, state, control)
        if self.test:
            self.logger.log("train() ended (%s); the run ends when the test that follows does" % self._reason)
            return  # or at exit (_at_exit_now)
        self.logger.finish("completed", self._reason)
        self._forget_exit()

    def _waiting_for_test(self):
        return self.test and self._reason is not None and self._running()

    def _test_ended(self, metrics):
        if not self._waiting_for_test() or "test_loss" not in metrics:
            return
        self.logger.finish(
            "completed",
            self._reason,
            test_loss=metrics.get("test_loss"),
            test_accuracy=metrics.get("test_" + self.accuracy),
        )
        self._forget_exit()

    def _at_exit_now(self, why="the process exited before train() ended"):
        """A run still open: completed when train() had ended (no test came), else failed."""
        if not self._running():
            return
        if self._reason is not None:
            self.logger.finish("completed", self._reason + "; no test followed")
        else:
            self._flush_epoch()
            self.logger.finish(
                "failed",
                "%s, at step %d (the error is unknown: a RotationCallback given to Trainer(callbacks=[...]) "
                "records it)" % (why, self.logger.steps),
            )

    def _interrupted(self, exception):
        """train() raised: the run ends stopped (KeyboardInterrupt) or failed with the error."""
        if not self._running() or self._reason is not None:
            return
        self._flush_epoch()
        # RotationLogger's words: stopped on KeyboardInterrupt, else failed with the error
        self.logger.__exit__(type(exception), exception, exception.__traceback__)
        self._forget_exit()

    def _forget_exit(self):
        if self._at_exit is not None:
            atexit.unregister(self._at_exit)
            self._at_exit = None

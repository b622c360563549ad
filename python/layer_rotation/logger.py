"""RotationLogger: the run log of the Layer Rotation Monitor from your own PyTorch training loop.

    logger = RotationLogger(model, "runs/my-run", every=50, epochs=10, steps_per_epoch=len(loader))
    with logger:
        for epoch in range(10):
            for x, y in loader:
                ...; optimizer.step()
                logger.step(loss=loss, accuracy=acc, lr=scheduler.get_last_lr()[0])
            logger.epoch_end(loss=train_loss, val_loss=..., val_accuracy=...)
        logger.finish(test_loss=..., test_accuracy=...)

The kernels are the weights of nn.Linear, nn.Conv1d/2d/3d and Transformers' Conv1D (optim.kernel_layers;
biases, norm layers and embeddings are left out, as in the paper), named after the modules
(model.named_modules()). Open the run folder (or its parent) in the editor to watch it live. Under
torch.distributed only rank 0 writes.

First-layer features (`features` events: the first watched layer's first units as images, at
step 0, at epoch ends and at finish(); docs/run-log-format.md) are on by default when that layer
looks at images: an nn.Conv2d on 1 or 3 channels (each filter a kh x kw patch), or an nn.Linear
whose inputs are the images of `dataset["inputShape"]` = [h, w, c] (c 1 or 3, h w c its
in_features), flattened as `flatten_order` says ("chw": x.flatten(1) of NCHW batches, torch's
usual; "hwc": channels last). features=(h, w, c) names the image of a Linear's inputs,
features=False turns them off, features=True insists (an error says why it cannot).
"""
import os
import time
import warnings

import torch

from . import events
from .config import schema_default
from .events import (
    CONFIG_COPY,
    EVENTS_FILE,
    EventWriter,
    claim_run_dir,
    create_run_dir,
    make_summary,
    stamp,
    write_summary,
)
from .features import FeatureSnapshots
from .optim import is_transformers_conv1d, kernel_layers
from .rotation import RotationTracker
from .tensorboard import TensorBoardWriter, tensorboard_dir


def _is_main_rank():
    try:
        import torch.distributed as dist

        return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
    except Exception:  # noqa: BLE001
        return True


EMBEDDING = "embedding"


def _kind(module):
    if isinstance(module, torch.nn.Linear) or is_transformers_conv1d(module):
        return "dense"
    if isinstance(module, torch.nn.Embedding):
        return EMBEDDING
    return type(module).__name__.lower()  # conv1d, conv2d, conv3d


def _torch_layout(module):
    """The kernel in torch's layout, out first (a view): Transformers' Conv1D keeps [in, out], an
    embedding [vocabulary, dim] (a dense layer on one-hot tokens): both transposed."""
    w = module.weight
    return w.t() if is_transformers_conv1d(module) or isinstance(module, torch.nn.Embedding) else w


def _shape(module):
    """The kernel shape in the TS engine's convention: dense [in, out], conv [k..., in, out]
    (an embedding: [vocabulary, dim])."""
    w = _torch_layout(module)
    if w.dim() == 2:
        return [int(w.shape[1]), int(w.shape[0])]
    return [int(s) for s in w.shape[2:]] + [int(w.shape[1]), int(w.shape[0])]


def watch_entry(name, module):
    """RotationLogger's watch entry of a kernel layer (see kernel_layers): (name, kind, shape, params,
    the kernel in torch's layout)."""
    bias = getattr(module, "bias", None)
    params = module.weight.numel() + (bias.numel() if isinstance(bias, torch.Tensor) else 0)
    return (name, _kind(module), _shape(module), params, _torch_layout(module))


def _number(x):
    if x is None:
        return None
    if torch.is_tensor(x):
        return float(x.detach().float().mean().item())
    return float(x)


def _feature_snapshots(found, info, input_shape, features, flatten_order):
    """The FeatureSnapshots of the first watched layer, as `features` asks (see RotationLogger)."""
    if features is False:
        return None
    if flatten_order not in ("chw", "hwc"):
        raise ValueError('RotationLogger: flatten_order must be "chw" or "hwc", not %r' % (flatten_order,))
    name, module = found
    if isinstance(features, (tuple, list)):
        sample = [int(d) for d in features]
    else:
        sample = list(input_shape) if isinstance(input_shape, (list, tuple)) else None
    why = None
    if isinstance(module, torch.nn.Conv2d):
        if module.in_channels not in (1, 3):
            why = "its first layer, the Conv2d %s, has %d input channels (1 or 3 make an image)" % (
                name,
                module.in_channels,
            )
    elif isinstance(module, torch.nn.Linear):
        if sample is None:
            why = (
                "the images of its first layer, the Linear %s, are unknown: pass features=(h, w, c) or "
                "dataset={'inputShape': [h, w, c]}" % name
            )
    else:
        why = "its first layer, %s, is neither a Linear nor a Conv2d" % name
    snapshots = None
    if why is None:
        snapshots = FeatureSnapshots.of(info, module.weight, sample, flatten_order)
        if snapshots is None:
            why = "the inputs of its first layer, %s %s, are not images of %s with 1 or 3 channels that fit" % (
                info["kind"],
                info["shape"],
                sample,
            )
    if why is not None and features is not None:
        raise ValueError("RotationLogger: no first-layer features: " + why)
    return snapshots


class RotationLogger:
    """Writes events.jsonl (and summary.json at the end) for a model trained by your own code.

    Arguments:
      model: the nn.Module (DDP/DataParallel wrappers are unwrapped).
      run_dir: the run folder to write; default a new `<name>-YYYYMMDD-HHMMSS` under `runs_dir`. One
        that holds a run already is left as it is: the run goes to `run_dir-2` (-3, ...), with a warning.
      every: a rotation record every `every` optimizer steps (and at finish()).
      name: the run's name (default: the model's class name).
      epochs, steps_per_epoch, batch_size: the plan, when known (0 = unknown).
      dataset: a dict {name, train, validation, test, inputShape, classes} or a name.
      target, lag_margin: a layer lags when its final distance is below target - lag_margin
        (default: the configs' defaults, monitoring.target and monitoring.lagMargin).
      batch_every: a batch event every N steps (default: every, or steps_per_epoch / 50 if smaller).
      layers: module names to watch (default: every Linear and Conv layer).
      learning_rate, multipliers, layca, seed, config_file, optimizer, extra: written into run_started.
      features: first-layer features snapshots: None (default: when the first watched layer looks at
        images), False, True (required), or (h, w, c), the image of a first nn.Linear's inputs.
      flatten_order: how your code flattens images into that nn.Linear: "chw" (default) or "hwc".
      watch: the kernels to watch instead of the model's Linear and Conv modules (for models that are
        not torch modules, e.g. layer_rotation.keras): [(name, kind, shape, params, tensor)] in forward
        order, kind and shape as run_started's layers (dense [in, out], conv [k..., in, out]), params
        counting kernel and bias, tensor the live kernel in torch's layout (out first: dense [out, in],
        conv [out, in, k...]; a view is fine). Features snapshot the first one (flatten_order applies).
      tensorboard: a TensorBoard log folder: the events also go, as scalars (a tag per layer) and a
        custom-scalars chart, to TENSORBOARD/<run folder's name>/ (True: the run folder); tensorboard.py.
      before_read: called right before the logger reads the watched tensors, with how many of them it
        reads (None: all, for a record; 1: the first, for a features snapshot): for `watch` tensors
        that are copies of another framework's kernels (layer_rotation.keras on TensorFlow refreshes them).
    """

    def __init__(
        self,
        model,
        run_dir=None,
        every=10,
        name=None,
        runs_dir="runs",
        epochs=0,
        steps_per_epoch=0,
        batch_size=0,
        dataset=None,
        target=None,
        lag_margin=None,
        batch_every=None,
        layers=None,
        learning_rate=None,
        multipliers=None,
        layca=None,
        seed=None,
        config_file=None,
        optimizer=None,
        run_id=None,
        extra=None,
        features=None,
        flatten_order="chw",
        watch=None,
        tensorboard=None,
        before_read=None,
    ):
        self.model = model.module if isinstance(getattr(model, "module", None), torch.nn.Module) else model
        self.every = max(1, int(every))
        self.name = name or type(self.model).__name__
        self.epochs = int(epochs or 0)
        self.steps_per_epoch = int(steps_per_epoch or 0)
        self.target = float(schema_default("monitoring", "target") if target is None else target)
        self.lag_margin = float(schema_default("monitoring", "lagMargin") if lag_margin is None else lag_margin)
        if batch_every is None:
            batch_every = min(self.every, self.steps_per_epoch // 50) if self.steps_per_epoch >= 50 else self.every
        self.batch_every = max(1, int(batch_every))
        modules = dict(kernel_layers(self.model)) if watch is None else {}
        if watch is None:
            watch = [watch_entry(n, m) for n, m in modules.items()]
        watch = [(str(n), str(k), [int(d) for d in s], int(p), t) for n, k, s, p, t in watch]
        if layers is not None:
            by_name = {w[0]: w for w in watch}
            missing = [n for n in layers if n not in by_name]
            if missing:
                raise ValueError(
                    "RotationLogger: no kernel layer named %s (the model's are %s)"
                    % (", ".join(missing), ", ".join(by_name))
                )
            watch = [by_name[n] for n in layers]
        if not watch:
            raise ValueError("RotationLogger: the model has no nn.Linear or nn.Conv layer to watch")
        self.layer_names = [w[0] for w in watch]
        self._before_read = before_read
        self.tracker = RotationTracker([w[4] for w in watch])
        self.steps = 0
        self.epochs_done = 0
        self._last_record = 0
        self._last_batch = 0
        self._window = [0.0, 0.0, 0, 0]  # loss sum, accuracy sum, loss count, accuracy count
        self._lr = learning_rate
        self._started_at = time.time()
        self._epoch_started_at = self._started_at
        self._epoch_steps = 0
        self._last_distances = [0.0] * len(watch)
        self.finished = None
        self.main = _is_main_rank()
        self.writer = None
        self.run_dir = None
        # FeatureSnapshots of the first layer, or None; checked on every rank, before any file is made.
        infos = [{"name": n, "kind": k, "shape": s, "params": p} for n, k, s, p, _ in watch]
        shape = dataset.get("inputShape") if isinstance(dataset, dict) else None
        if modules:
            self.features = _feature_snapshots(
                (infos[0]["name"], modules[infos[0]["name"]]), infos[0], shape, features, flatten_order
            )
        else:  # watched kernels: snapshots when the first one's inputs are images (features=True insists)
            sample = list(features) if isinstance(features, (tuple, list)) else shape
            self.features = (
                None if features is False else FeatureSnapshots.of(infos[0], watch[0][4], sample, flatten_order)
            )
            if self.features is None and features not in (None, False):
                raise ValueError(
                    "RotationLogger: no first-layer features: the inputs of %s %s are not images of %s with 1 "
                    "or 3 channels" % (infos[0]["name"], infos[0]["shape"], sample)
                )
        if not self.main:
            return
        if run_dir is None:
            run_id, run_dir = create_run_dir(runs_dir, self.name, config_file)
        else:
            asked = run_dir
            run_dir, same = claim_run_dir(asked)
            if not same:
                warnings.warn(
                    "RotationLogger: %s holds a run already (%s); this run writes to %s (a run folder "
                    "holds one run: give each run its own run_dir, or runs_dir= for a new folder each time)"
                    % (asked, EVENTS_FILE, run_dir),
                    stacklevel=2,
                )
            if config_file and not os.path.exists(os.path.join(run_dir, CONFIG_COPY)):
                import shutil

                shutil.copyfile(config_file, os.path.join(run_dir, CONFIG_COPY))
        self.run_dir = run_dir
        self.run_id = run_id or os.path.basename(os.path.abspath(run_dir))
        self._tensorboard = TensorBoardWriter(tensorboard_dir(tensorboard, run_dir)) if tensorboard else None
        self.writer = EventWriter(os.path.join(run_dir, EVENTS_FILE))
        device = watch[0][4].device
        if isinstance(dataset, dict):
            ds = {"name": "unknown", "train": 0, "validation": 0, "test": 0, "inputShape": [], "classes": 0}
            ds.update(dataset)
        else:
            ds = {"name": dataset or "unknown", "train": 0, "validation": 0, "test": 0, "inputShape": [], "classes": 0}
        self.layers = infos
        schedule = None
        if learning_rate is not None:
            schedule = {
                "learningRate": float(learning_rate),
                "warmupEpochs": 0,
                "layca": bool(layca),
                "multipliers": list(multipliers) if multipliers is not None else [1.0] * len(infos),
            }
        started = events.run_started(
            self.run_id,
            self.name,
            config_file,
            device.type,
            events.backend_description(device.type),
            ds,
            infos,
            self.epochs,
            self.steps_per_epoch,
            int(batch_size or 0),
            self.epochs * self.steps_per_epoch,
            self.target,
            self.lag_margin,
            optimizer=optimizer or None,
            seed=seed,
            schedule=schedule,
        )
        if extra:
            started.update(extra)
        self._started = started
        self._last_epoch = None
        self._emit(started)
        self._record(0)
        self._snapshot_features()

    # -- events ------------------------------------------------------------------------------------

    def _emit(self, event):
        if self.writer is not None:
            self.writer.write(self._to_tensorboard(event))

    def _to_tensorboard(self, event):
        """The event stamped, after it went to the TensorBoard writer (a failure there: a warning, once)."""
        event = stamp(event)
        why = self._tensorboard.follow(event) if getattr(self, "_tensorboard", None) else None
        if why:
            self.log(why, level="warning")
        return event

    def log(self, message, level="info"):
        """A `log` event: a message for people."""
        self._emit(events.log(level, message))

    def _epoch(self):
        if self.steps_per_epoch:
            return self.steps / self.steps_per_epoch
        return float(self.epochs_done)

    def _record(self, steps_since):
        if not self.main:
            return
        if self._before_read is not None:
            self._before_read(None)
        d, r = self.tracker.record()
        self._last_distances = d
        self._emit(events.rotation(self.steps, self._epoch(), d, r, steps_since))

    def _snapshot_features(self):
        """A features event of the first layer now (none when a weight is not finite)."""
        if self.features is None or self.writer is None:
            return
        if self._before_read is not None:
            self._before_read(1)
        e = self.features.snapshot(self.steps, self._epoch())
        if e is not None:
            self._emit(e)

    def _flush_batch(self):
        loss_sum, acc_sum, nl, na = self._window
        if self.steps == self._last_batch or (nl == 0 and na == 0):
            return
        loss = _number(loss_sum) / nl if nl else None
        acc = _number(acc_sum) / na if na else None
        self._emit(events.batch(self.steps, self._epoch(), loss, acc, self._lr))
        self._window = [0.0, 0.0, 0, 0]
        self._last_batch = self.steps

    def step(self, loss=None, accuracy=None, lr=None, metrics_follow=False):
        """Call after each optimizer step. loss/accuracy may be tensors (read only every batch_every steps).
        metrics_follow=True: this step's metrics come later, through step_metrics(), which then writes
        the batch line when one is due (a framework that logs them after its step hook)."""
        self.steps += 1
        self._epoch_steps += 1
        if lr is not None:
            self._lr = _number(lr)
        self._add_metrics(loss, accuracy)
        if not metrics_follow and self.steps - self._last_batch >= self.batch_every:
            self._flush_batch()
        if self.steps - self._last_record >= self.every:
            self._record(self.steps - self._last_record)
            self._last_record = self.steps

    def step_metrics(self, loss=None, accuracy=None):
        """The latest step's loss/accuracy, when they arrive after its step(metrics_follow=True) (as
        Transformers' Trainer logs them after its step hook): they join the batch window, and the
        batch line is written when one is due."""
        self._add_metrics(loss, accuracy)
        if self.steps - self._last_batch >= self.batch_every:
            self._flush_batch()

    def _add_metrics(self, loss, accuracy):
        if loss is not None:
            self._window[0] = self._window[0] + (loss.detach().float().mean() if torch.is_tensor(loss) else float(loss))
            self._window[2] += 1
        if accuracy is not None:
            self._window[1] = self._window[1] + (
                accuracy.detach().float().mean() if torch.is_tensor(accuracy) else float(accuracy)
            )
            self._window[3] += 1

    def epoch_end(self, loss=None, accuracy=None, val_loss=None, val_accuracy=None, samples=None):
        """Call at the end of each epoch with the epoch's training metrics (and validation ones)."""
        self.epochs_done += 1
        if not self.steps_per_epoch and self.epochs_done == 1:
            self.steps_per_epoch = self.steps  # learned from the first epoch
        self._flush_batch()
        now = time.time()
        seconds = now - self._epoch_started_at
        self._last_epoch = events.epoch_end(
            self.epochs_done,
            self.steps,
            _number(loss),
            _number(accuracy),
            _number(val_loss),
            _number(val_accuracy),
            seconds,
            (samples / seconds) if samples and seconds > 0 else None,
        )
        self._emit(self._last_epoch)
        if self.features is not None and self.features.due(self.epochs_done):
            self._snapshot_features()
        self._epoch_started_at = now
        self._epoch_steps = 0

    def finish(self, status="completed", reason=None, test_loss=None, test_accuracy=None):
        """The final rotation record, run_finished and summary.json; later calls do nothing."""
        if self.finished is not None:
            return self.finished
        if self.main:
            self._flush_batch()
            if self.steps != self._last_record or self.steps == 0:
                self._record(self.steps - self._last_record)
                self._last_record = self.steps
            if self.features is not None and self.features.last_step != self.steps:
                self._snapshot_features()
        if reason is None:
            reason = {
                "completed": events.trained_steps(self.steps),
                "stopped": "stopped on request",
                "failed": "failed",
            }.get(status, status)
        last = getattr(self, "_last_epoch", None) or {}
        e = events.run_finished(
            status,
            reason,
            self.steps,
            self._epoch(),
            time.time() - self._started_at,
            final_distances=self._last_distances,
            started=getattr(self, "_started", None),
            test_loss=_number(test_loss),
            test_accuracy=_number(test_accuracy),
            train_loss=last.get("loss"),
            train_accuracy=last.get("accuracy"),
        )
        self.finished = e
        if self.writer is not None:
            stamped = self.writer.write(self._to_tensorboard(e))
            if self._tensorboard:
                self._tensorboard.close()
            write_summary(self.run_dir, make_summary(self.run_id, self.writer.started, stamped))
            self.writer.close()
        return e

    def distances(self):
        """The latest recorded distances, per layer."""
        return list(self._last_distances)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.finished is None:
            if exc_type is None:
                self.finish("completed")
            elif issubclass(exc_type, KeyboardInterrupt):
                self.finish("stopped", "stopped on request (KeyboardInterrupt) at step %d" % self.steps)
            else:
                self.finish("failed", "%s: %s" % (exc_type.__name__, exc) if str(exc) else exc_type.__name__)
        return False

"""Layer rotation for Keras 3 on its torch or TensorFlow backend (KERAS_BACKEND=torch or
tensorflow): a callback that writes the Layer Rotation Monitor's run log, and Layca for SGD, Adam,
RMSprop and Adagrad.

    from layer_rotation.keras import LaycaSGD, RotationCallback

    model.compile(optimizer=LaycaSGD(0.1, momentum=0.9, model=model, multipliers={"conv1": 0.1}), ...)
    model.fit(x, y, epochs=5, callbacks=[RotationCallback("runs/my-run", every=20)])

RotationCallback writes events.jsonl and summary.json through RotationLogger (logger.py), the
same run log as a PyTorch loop's: the kernels of Dense and Conv1D/2D/3D layers (biases and norm
layers left out, as in the paper), in the model's layer order, named by layer name ("block/dense"
inside a nested model), shapes as Keras keeps them (dense [in, out], conv [k..., in, out]). On the
torch backend the records read the live kernels; on TensorFlow each kernel is copied to the host
(one copy, into the same buffer each time) right before a record or features snapshot reads it
(torch, CPU build, stays the package's dependency: the records are computed with it).

The Layca optimizers compute each step direction as the PyTorch package (optim.py) and the tfjs
engine do (torch.optim's forms: Adam's m_hat / (sqrt(v_hat) + epsilon), RMSprop's and Adagrad's
g / (sqrt(.) + epsilon)), with Keras's argument names and defaults, and turn each kernel by Layca
(optim.layca_update_): exactly atan(learning_rate x multiplier) per step. On the torch backend
they update with torch's in-place ops; on TensorFlow with keras.ops in update_step, so the step
runs inside Keras's compiled (XLA) train function.
"""
import atexit
import math
import os
import re
import sys

import keras
import numpy as np
import torch
from keras import ops

from . import events
from .events import EVENTS_FILE
from .optim import LAYCA_EPS, layca_update_
from .schedule import layer_multipliers

KERNEL_LAYERS = (
    (keras.layers.Dense, "dense"),
    (keras.layers.Conv1D, "conv1d"),
    (keras.layers.Conv2D, "conv2d"),
    (keras.layers.Conv3D, "conv3d"),
)
ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy")

__all__ = ["RotationCallback", "LaycaSGD", "LaycaAdam", "LaycaRMSprop", "LaycaAdagrad", "kernel_layers"]


BACKENDS = ("torch", "tensorflow")


def _on_torch():
    return keras.backend.backend() == "torch"


def _require_backend(what):
    backend = keras.backend.backend()
    if backend not in BACKENDS:
        raise RuntimeError(
            "layer_rotation.keras: %s needs Keras's torch or tensorflow backend (set KERAS_BACKEND=torch or "
            "KERAS_BACKEND=tensorflow before importing keras); this process uses the %s backend" % (what, backend)
        )


def _kind(layer):
    for cls, kind in KERNEL_LAYERS:
        if type(layer) is cls:  # subclasses (e.g. Conv2DTranspose's relatives) keep other layouts
            return kind
    return None


def _sublayers(layer):
    flatten = getattr(layer, "_flatten_layers", None)
    if flatten is not None:
        return list(flatten(include_self=False, recursive=False))
    return list(getattr(layer, "layers", []))


def kernel_layers(model):
    """[(name, layer)] of the model's Dense and Conv1D/2D/3D layers in the model's layer order (its
    forward order for Sequential and functional models), nested models and layers included; a
    nested layer is named by its path ("block/dense")."""
    found = []

    def walk(layer, prefix):
        for sub in _sublayers(layer):
            name = prefix + sub.name
            if _kind(sub) is not None:
                found.append((name, sub))
            else:
                walk(sub, name + "/")

    walk(model, "")
    return found


def _torch_layout(w):
    """A torch tensor in Keras's layout (dense [in, out], conv [k..., in, out]) as torch lays it out,
    out first (a view): dense [out, in], conv [out, in, k...]."""
    n = w.dim()
    return w.permute(n - 1, n - 2, *range(n - 2))


class _HostKernels:
    """The kernels of a backend whose variables are not torch tensors (TensorFlow), for the records:
    each kernel's value copied into a host array (Keras's layout) that a torch tensor shares, right
    before the logger reads it (refresh, RotationLogger's before_read). One copy per kernel and read,
    into the same buffer each time (so RotationTracker's compiled pass, which reads a kernel at a
    fixed address, applies)."""

    COPIED = ("float16", "float32", "float64")  # copied as they are; other dtypes (bfloat16) as float32

    def __init__(self, kernels):
        self.kernels = list(kernels)
        self.arrays = [
            np.empty(tuple(k.shape), dtype=k.dtype if k.dtype in self.COPIED else "float32") for k in self.kernels
        ]
        self.tensors = [torch.from_numpy(a) for a in self.arrays]
        self.refresh()

    def refresh(self, count=None):
        """Copy the first `count` kernels (all by default) to their host arrays."""
        for k, a in zip(self.kernels[:count], self.arrays):
            if k.dtype in self.COPIED:
                # memoryview: the value read on the host without a copy (on a GPU: its one transfer).
                np.copyto(a, memoryview(k.value.value()))
            else:
                np.copyto(a, k.numpy(), casting="unsafe")

    def device(self):
        """ "gpu" or "cpu": where the first kernel lives."""
        return "gpu" if ":GPU:" in str(getattr(self.kernels[0].value, "device", "")).upper() else "cpu"


def _watch(model, layers=None):
    """RotationLogger's watch list of the model's kernel layers (all, or those named in `layers`),
    and their _HostKernels on a backend other than torch (else None)."""
    found = kernel_layers(model)
    if layers is not None:
        by_name = dict(found)
        missing = [n for n in layers if n not in by_name]
        if missing:
            raise ValueError(
                "RotationCallback: no Dense or Conv layer named %s (the model's are %s)"
                % (", ".join(missing), ", ".join(by_name) or "none")
            )
        found = [(n, by_name[n]) for n in layers]
    if not found:
        raise ValueError(
            "RotationCallback: the model %r has no Dense or Conv1D/2D/3D layer to watch (is it built?)" % model.name
        )
    host = None if _on_torch() else _HostKernels([layer.kernel for _, layer in found])
    watch = []
    for i, (name, layer) in enumerate(found):
        kernel = layer.kernel
        params = int(math.prod(kernel.shape)) + (int(math.prod(layer.bias.shape)) if layer.bias is not None else 0)
        tensor = _torch_layout(kernel.value if host is None else host.tensors[i])
        watch.append((name, _kind(layer), [int(d) for d in kernel.shape], params, tensor))
    return watch, host


def _number(value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v


def _accuracy(logs, prefix=""):
    for key in ACCURACY_KEYS:
        if prefix + key in logs:
            return _number(logs[prefix + key])
    return None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Keras wraps an error raised in a layer's call: "Exception encountered when calling L.call().\n\n
# <the message, in bold>\n\nArguments received by L.call(): ...".
_LAYER_CALL = re.compile(r"Exception encountered when calling (\S+?)\.?\n\n(.*?)\n\nArguments received", re.S)


# TensorFlow's error from a compiled function: "Graph execution error:\n\nDetected at node N defined
# at (most recent call last):\n  File "f.py", line 9, in call\n\n<the message>\n\t [[{{node N}}]] [Op:...]".
_GRAPH_ERROR = "Graph execution error:"
_FRAME = re.compile(r'^  File "([^"]*)", line (\d+), in (\S+)\n', re.M)


def _error_text(exc_type, exc):
    """ "ValueError: bad batch (in FailsAt.call())": the error, without Keras's wrapping and bold;
    a TensorFlow graph's error as its message and where it was defined ("InvalidArgumentError:
    assertion failed: ... (in call, train.py:9)"), without the stack of frames."""
    text = _ANSI.sub("", str(exc))
    m = _LAYER_CALL.match(text)
    if m:
        text = "%s (in %s)" % (m.group(2).strip(), m.group(1))
    elif text.startswith(_GRAPH_ERROR):
        frames = list(_FRAME.finditer(text))
        if frames:
            message = text[frames[-1].end() :].split("\n\t [[", 1)[0].strip()
            file, line, function = frames[-1].groups()
            text = "%s (in %s, %s:%s)" % (message, function, os.path.basename(file), line)
    return "%s: %s" % (exc_type.__name__, text) if text else exc_type.__name__


def _optimizer_name(optimizer):
    if isinstance(optimizer, _LaycaOptimizer):
        return optimizer.kind + "-layca" if optimizer.layca is not False else optimizer.kind
    return type(optimizer).__name__.lower() if optimizer is not None else None


class RotationCallback(keras.callbacks.Callback):
    """Writes the run log of `model.fit` (events.jsonl, then summary.json) for the Layer Rotation
    Monitor: a rotation record every `every` optimizer steps, training metrics, epoch ends and the
    end of the run. Open the run folder (or its parent) in the editor to watch it live.

    Arguments (as RotationLogger's): run_dir (default a new `<model name>-YYYYMMDD-HHMMSS` under
    runs_dir), every, name (default the model's name), runs_dir, layers (layer names to watch,
    default every Dense and Conv layer), dataset (a name or a dict; its inputShape defaults to the
    model's input shape), batch_size, target, lag_margin, batch_every, features, flatten_order
    ("hwc": Keras's channels-last images), seed, config_file, run_id, extra, tensorboard (a
    TensorBoard log folder that also gets the rotation scalars and curves, see RotationLogger).
      test_data: (x, y) evaluated at the end of training: the run's test loss and accuracy.
      stop_on_nan: a loss that is not finite ends the run as failed and stops training (True).

    The run ends when fit returns ("completed"; with the test metrics when test_data is given). A
    failure inside fit ends it as "failed" with the error: used as a context manager (`with
    RotationCallback(...) as rotation: model.fit(..., callbacks=[rotation])`) at once, else when
    the process exits (a KeyboardInterrupt as "stopped").
    """

    def __init__(
        self,
        run_dir=None,
        every=10,
        name=None,
        runs_dir="runs",
        layers=None,
        dataset=None,
        batch_size=0,
        target=None,
        lag_margin=None,
        batch_every=None,
        features=None,
        flatten_order="hwc",
        seed=None,
        config_file=None,
        extra=None,
        test_data=None,
        stop_on_nan=True,
        run_id=None,
        tensorboard=None,
    ):
        super().__init__()
        _require_backend("RotationCallback")
        self.options = {
            "run_dir": run_dir,
            "every": every,
            "name": name,
            "runs_dir": runs_dir,
            "batch_size": batch_size,
            "target": target,
            "lag_margin": lag_margin,
            "batch_every": batch_every,
            "features": features,
            "flatten_order": flatten_order,
            "seed": seed,
            "config_file": config_file,
            "run_id": run_id,
            "tensorboard": tensorboard,
        }
        self.layers = list(layers) if layers is not None else None
        self.dataset = dataset
        self.extra = extra
        self.test_data = test_data
        self.stop_on_nan = stop_on_nan
        self.logger = None
        self._begin = 0
        self._epoch = None  # the epoch fit is in (0-based, as Keras counts)
        self._epochs_done = 0  # epochs this fit has ended
        self._means = {}  # metric -> (batches it averages, running mean) within the epoch

    # -- the run -----------------------------------------------------------------------------------

    def _dataset(self):
        ds = dict(self.dataset) if isinstance(self.dataset, dict) else {"name": self.dataset or "unknown"}
        if "inputShape" not in ds:
            try:
                shape = list(self.model.input_shape[1:])
            except (AttributeError, ValueError, TypeError):
                shape = []
            if shape and all(isinstance(d, int) for d in shape):
                ds["inputShape"] = shape
        return ds

    def on_train_begin(self, logs=None):
        from .logger import RotationLogger

        if self.logger is not None and self.logger.finished is None:
            raise RuntimeError(
                "RotationCallback: its run %s is still open (one fit per callback)" % self.logger.run_dir
            )
        run_dir = self.options["run_dir"]
        if run_dir is not None and os.path.exists(os.path.join(run_dir, EVENTS_FILE)):
            raise ValueError(
                "RotationCallback: %s already holds a run (%s): give each fit its own run_dir, or leave run_dir "
                "out for a new folder under runs_dir" % (run_dir, EVENTS_FILE)
            )
        optimizer = getattr(self.model, "optimizer", None)
        options = dict(self.options)
        schedule = {}
        layca = isinstance(optimizer, _LaycaOptimizer)
        rate = _number(getattr(optimizer, "learning_rate", None))
        if rate is not None:  # any Keras optimizer's rate (a schedule's current one), Layca's or not
            schedule = {"learning_rate": rate, "layca": layca and optimizer.layca is not False}
        if layca and optimizer.model is not None:
            found = self.layers or [n for n, _ in kernel_layers(self.model)]
            mults = dict(zip([n for n, _ in kernel_layers(self.model)], optimizer.layer_multipliers()))
            schedule["multipliers"] = [mults[n] for n in found]
        watch, host = _watch(self.model, self.layers)
        if host is None:
            description = events.backend_description(watch[0][4].device.type)
            extra = {
                "engine": "keras",
                "backendDescription": "Keras %s (torch backend), %s" % (keras.__version__, description),
            }
        else:
            import tensorflow as tf

            extra = {
                "engine": "keras",
                "backend": host.device(),
                "backendDescription": "Keras %s (tensorflow backend), TensorFlow %s, %s"
                % (keras.__version__, tf.__version__, host.device()),
            }
        self.logger = RotationLogger(
            self.model,
            watch=watch,
            name=options.pop("name") or self.model.name,
            epochs=self.params.get("epochs") or 0,
            steps_per_epoch=self.params.get("steps") or 0,
            dataset=self._dataset(),
            optimizer=_optimizer_name(optimizer),
            extra=dict(extra, **(self.extra or {})),
            **schedule,
            **options,
            before_read=host.refresh if host is not None else None,
        )
        self._means = {}
        self._epoch, self._epochs_done = None, 0
        atexit.register(self._at_exit)

    def _batch_mean(self, key, logs, begin, end):
        """The mean of metric `key` over batches begin..end of the epoch, from Keras's running
        epoch mean (logs) after batch end and the one before batch begin."""
        mean = _number(logs.get(key)) if key in logs else None
        if mean is None:
            return None
        count, before = self._means.get(key, (0, 0.0))
        self._means[key] = (end + 1, mean)
        if begin == 0:
            return mean
        if count != begin:  # a batch this callback did not see
            return None
        return ((end + 1) * mean - begin * before) / (end + 1 - begin)

    def on_train_batch_begin(self, batch, logs=None):
        self._begin = batch

    def on_epoch_begin(self, epoch, logs=None):
        self._means = {}
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logger = self.logger
        if logger is None or logger.finished is not None:
            return
        logs = logs or {}
        begin = min(self._begin, batch)
        loss = self._batch_mean("loss", logs, begin, batch)
        acc_key = next((k for k in ACCURACY_KEYS if k in logs), None)
        accuracy = self._batch_mean(acc_key, logs, begin, batch) if acc_key else None
        lr = _number(getattr(self.model.optimizer, "learning_rate", None))
        for _ in range(batch - begin):  # steps_per_execution > 1: the steps before the last
            logger.step(lr=lr)
        logger.step(loss=loss, accuracy=accuracy, lr=lr)
        if self.stop_on_nan and loss is not None and not math.isfinite(loss):
            self.model.stop_training = True
            self.finish("failed", "the training loss is %s at step %d" % (loss, logger.steps))

    def on_epoch_end(self, epoch, logs=None):
        if self.logger is None or self.logger.finished is not None:
            return
        self._epochs_done += 1
        logs = logs or {}
        self.logger.epoch_end(
            loss=_number(logs.get("loss")),
            accuracy=_accuracy(logs),
            val_loss=_number(logs.get("val_loss")),
            val_accuracy=_accuracy(logs, "val_"),
        )

    def on_train_end(self, logs=None):
        if self.logger is None or self.logger.finished is not None:
            return
        test = {}
        if self.test_data is not None:
            x, y = self.test_data
            result = self.model.evaluate(x, y, verbose=0, return_dict=True)
            test = {"test_loss": _number(result.get("loss")), "test_accuracy": _accuracy(result)}
        reason = None
        if self.model.stop_training:
            reason = "trained %d steps (a callback stopped training)" % self.logger.steps
        elif self._epochs_done and self._epoch + 1 == self.params.get("epochs"):  # fit ran its last epoch
            reason = events.trained_epochs(self._epochs_done)
        self.finish("completed", reason, **test)

    def finish(self, status="completed", reason=None, test_loss=None, test_accuracy=None):
        """Ends the run (RotationLogger.finish); later calls do nothing."""
        if self.logger is None:
            return None
        atexit.unregister(self._at_exit)
        return self.logger.finish(status, reason, test_loss=test_loss, test_accuracy=test_accuracy)

    def _end_with(self, exc_type, exc):
        if self.logger is None or self.logger.finished is not None:
            return
        if issubclass(exc_type, KeyboardInterrupt):
            self.finish("stopped", "stopped on request (KeyboardInterrupt) at step %d" % self.logger.steps)
        else:
            self.finish("failed", _error_text(exc_type, exc))

    def _at_exit(self):
        if self.logger is None or self.logger.finished is not None:
            return
        exc = getattr(sys, "last_value", None)  # the uncaught exception that ends the process
        if exc is not None:
            self._end_with(type(exc), exc)
        else:
            self.finish("failed", "the process exited during training, at step %d" % self.logger.steps)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._end_with(exc_type, exc)
        elif self.logger is not None:
            self.finish()
        return False


# ---------------------------------------------------------------------------------------------
# Layca optimizers


def _ops_layca(w, s, rate):
    """optim.layca_update_ in keras.ops (the TensorFlow backend's compiled step): w turned by
    atan(rate) along s projected onto w's tangent space, its norm kept; the new w."""
    tiny = float(np.finfo(keras.backend.standardize_dtype(w.dtype)).tiny)  # XLA flushes subnormals to 0
    w2 = ops.sum(w * w)
    w_norm = ops.sqrt(w2)
    projected = s - (ops.sum(s * w) / ops.maximum(w2, tiny)) * w
    s_norm = ops.sqrt(ops.sum(projected * projected))
    scale = ops.where(s_norm > LAYCA_EPS, w_norm / ops.maximum(s_norm, LAYCA_EPS), ops.zeros_like(s_norm))
    stepped = w - projected * (scale * rate)
    new_norm = ops.sqrt(ops.sum(stepped * stepped))
    return stepped * (w_norm / ops.maximum(new_norm, tiny))


class _LaycaOptimizer(keras.optimizers.Optimizer):
    """A Keras optimizer whose kernels turn by Layca. Per variable: the gradient (plus L2
    `weight_decay` x w on kernels, as layca_param_groups does), the subclass's direction s, then
    Layca of rate lr x multiplier on kernels (`layca`), the plain step w - lr x multiplier x s on
    the rest (a layer's bias takes its layer's multiplier; other variables 1).

    model: the Keras model, whose kernel layers (kernel_layers) are the kernels; without it, the
      variables of 2 or more dimensions are. `alpha` (the paper's, schedule.alpha_multipliers) and
      `multipliers` (a list in layer order, or a dict by layer name) need it.
    layca: None or True (Layca on the kernels) or False (the plain optimizer).
    """

    kind = None

    def __init__(
        self, learning_rate, *, model=None, alpha=0.0, multipliers=None, layca=None, weight_decay=0.0, name, **kwargs
    ):
        _require_backend(type(self).__name__)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if model is None and (alpha or multipliers is not None):
            raise ValueError(
                "%s: alpha and multipliers apply to the model's kernel layers: pass model=" % type(self).__name__
            )
        self.model = model
        self.alpha = float(alpha or 0.0)
        self.multipliers = multipliers
        self.layca = layca
        self.l2 = float(weight_decay or 0.0)
        if model is not None:
            self.layer_multipliers()  # an unknown layer name is an error now, not at the first step

    def layer_multipliers(self):
        """The multiplier of each kernel layer of the model, in its layer order."""
        names = [n for n, _ in kernel_layers(self.model)]
        return layer_multipliers(self.alpha, self.multipliers, names)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        settings = {}  # id(variable) -> (kernel, multiplier)
        if self.model is not None:
            for (_, layer), mult in zip(kernel_layers(self.model), self.layer_multipliers()):
                settings[id(layer.kernel)] = (True, mult)
                if layer.bias is not None:
                    settings[id(layer.bias)] = (False, mult)
        self._settings = [settings.get(id(v), (self.model is None and len(v.shape) >= 2, 1.0)) for v in variables]
        self._slots = [self._make_slots(v) for v in variables]

    def _slot(self, variable, name, initializer="zeros"):
        return self.add_variable_from_reference(variable, name, initializer=initializer)

    def _make_slots(self, variable):  # pragma: no cover - each subclass defines it
        raise NotImplementedError

    def _direction(self, slots, g, t):  # pragma: no cover - each subclass defines it
        """The step direction from the gradient g (torch, in place on the slots' tensors)."""
        raise NotImplementedError

    def _ops_direction(self, slots, g, t):  # pragma: no cover - each subclass defines it
        """_direction in keras.ops: the slots (Keras variables) assigned their new values."""
        raise NotImplementedError

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if not _on_torch():  # TensorFlow's: update_step per variable (in its distribution strategy)
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        with torch.no_grad():
            lr = float(learning_rate.value if hasattr(learning_rate, "value") else learning_rate)
            t = float(int(self._iterations.value) + 1)
            for g, variable in zip(grads, trainable_variables):
                i = self._get_variable_index(variable)
                kernel, mult = self._settings[i]
                w = variable.value
                g = g.to(w.dtype)
                if kernel and self.l2:
                    g = g.add(w, alpha=self.l2)
                s = self._direction([slot.value for slot in self._slots[i]], g, t)
                rate = lr * mult
                if kernel and self.layca is not False:
                    layca_update_(w, s, rate)
                else:
                    w.add_(s, alpha=-rate)

    def update_step(self, gradient, variable, learning_rate):
        if _on_torch():
            self._backend_update_step([gradient], [variable], learning_rate)
            return
        i = self._get_variable_index(variable)
        kernel, mult = self._settings[i]
        dtype = variable.dtype
        w = ops.convert_to_tensor(variable)
        g = ops.cast(ops.convert_to_tensor(gradient), dtype)
        if kernel and self.l2:
            g = g + self.l2 * w
        t = ops.cast(self.iterations + 1, dtype)
        s = self._ops_direction(self._slots[i], g, t)
        rate = ops.cast(learning_rate, dtype) * mult
        if kernel and self.layca is not False:
            self.assign(variable, _ops_layca(w, s, rate))
        else:
            self.assign_sub(variable, s * rate)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"alpha": self.alpha, "multipliers": self.multipliers, "layca": self.layca, "weight_decay": self.l2}
        )
        return config


class LaycaSGD(_LaycaOptimizer):
    """SGD (momentum, Nesterov) with Layca, as optim.LaycaSGD: buf = momentum buf + g; the step
    s = buf, g + momentum buf with Nesterov, g without momentum. Keras's defaults."""

    kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="layca_sgd", **kwargs):
        if not 0 <= momentum <= 1:
            raise ValueError("LaycaSGD: momentum must be in [0, 1], not %r" % (momentum,))
        super().__init__(learning_rate, name=name, **kwargs)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _make_slots(self, variable):
        return [self._slot(variable, "momentum")] if self.momentum > 0 else []

    def _direction(self, slots, g, t):
        if self.momentum == 0:
            return g
        buf = slots[0]
        buf.mul_(self.momentum).add_(g)
        return g.add(buf, alpha=self.momentum) if self.nesterov else buf

    def _ops_direction(self, slots, g, t):
        if self.momentum == 0:
            return g
        buf = slots[0] * self.momentum + g
        self.assign(slots[0], buf)
        return g + buf * self.momentum if self.nesterov else buf

    def get_config(self):
        return dict(super().get_config(), momentum=self.momentum, nesterov=self.nesterov)


class LaycaAdam(_LaycaOptimizer):
    """Adam with Layca, as optim.LaycaAdam: s = m_hat / (sqrt(v_hat) + epsilon) (amsgrad: the
    running maximum of v). Keras's defaults."""

    kind = "adam"

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name="layca_adam", **kwargs
    ):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = float(beta_1), float(beta_2), float(epsilon), amsgrad

    def _make_slots(self, variable):
        names = ["m", "v"] + (["v_max"] if self.amsgrad else [])
        return [self._slot(variable, n) for n in names]

    def _direction(self, slots, g, t):
        b1, b2 = self.beta_1, self.beta_2
        m, v = slots[0], slots[1]
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        if self.amsgrad:
            torch.maximum(slots[2], v, out=slots[2])
            v = slots[2]
        return (m / (1 - b1**t)) / (torch.sqrt(v / (1 - b2**t)) + self.epsilon)

    def _ops_direction(self, slots, g, t):
        b1, b2 = self.beta_1, self.beta_2
        m = slots[0] * b1 + g * (1 - b1)
        v = slots[1] * b2 + g * g * (1 - b2)
        self.assign(slots[0], m)
        self.assign(slots[1], v)
        if self.amsgrad:
            v = ops.maximum(slots[2], v)
            self.assign(slots[2], v)
        return (m / (1 - ops.power(b1, t))) / (ops.sqrt(v / (1 - ops.power(b2, t))) + self.epsilon)

    def get_config(self):
        return dict(
            super().get_config(), beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, amsgrad=self.amsgrad
        )


class LaycaRMSprop(_LaycaOptimizer):
    """RMSprop with Layca, as optim.LaycaRMSprop: v = rho v + (1 - rho) g^2; s = g / (sqrt(v) +
    epsilon) (centered: v - mean(g)^2); with momentum, buf = momentum buf + s and s = buf."""

    kind = "rmsprop"

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        name="layca_rmsprop",
        **kwargs,
    ):
        super().__init__(learning_rate, name=name, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = float(rho), float(momentum), float(epsilon), centered

    def _make_slots(self, variable):
        names = ["velocity"] + (["average_gradient"] if self.centered else [])
        names += ["momentum"] if self.momentum > 0 else []
        return [self._slot(variable, n) for n in names]

    def _direction(self, slots, g, t):
        v = slots[0]
        v.mul_(self.rho).addcmul_(g, g, value=1 - self.rho)
        if self.centered:
            ga = slots[1]
            ga.mul_(self.rho).add_(g, alpha=1 - self.rho)
            avg = v.addcmul(ga, ga, value=-1).sqrt_().add_(self.epsilon)
        else:
            avg = torch.sqrt(v).add_(self.epsilon)
        if self.momentum > 0:
            buf = slots[-1]
            buf.mul_(self.momentum).addcdiv_(g, avg)
            return buf
        return g / avg

    def _ops_direction(self, slots, g, t):
        v = slots[0] * self.rho + g * g * (1 - self.rho)
        self.assign(slots[0], v)
        if self.centered:
            ga = slots[1] * self.rho + g * (1 - self.rho)
            self.assign(slots[1], ga)
            avg = ops.sqrt(v - ga * ga) + self.epsilon
        else:
            avg = ops.sqrt(v) + self.epsilon
        if self.momentum > 0:
            buf = slots[-1] * self.momentum + g / avg
            self.assign(slots[-1], buf)
            return buf
        return g / avg

    def get_config(self):
        return dict(
            super().get_config(), rho=self.rho, momentum=self.momentum, epsilon=self.epsilon, centered=self.centered
        )


class LaycaAdagrad(_LaycaOptimizer):
    """Adagrad with Layca, as optim.LaycaAdagrad: acc += g^2; s = g / (sqrt(acc) + epsilon), acc
    starting at initial_accumulator_value. Keras's defaults."""

    kind = "adagrad"

    def __init__(
        self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name="layca_adagrad", **kwargs
    ):
        super().__init__(learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _make_slots(self, variable):
        init = keras.initializers.Constant(self.initial_accumulator_value)
        return [self._slot(variable, "accumulator", initializer=init)]

    def _direction(self, slots, g, t):
        acc = slots[0]
        acc.addcmul_(g, g, value=1)
        return g / (torch.sqrt(acc) + self.epsilon)

    def _ops_direction(self, slots, g, t):
        acc = slots[0] + g * g
        self.assign(slots[0], acc)
        return g / (ops.sqrt(acc) + self.epsilon)

    def get_config(self):
        return dict(
            super().get_config(),
            initial_accumulator_value=self.initial_accumulator_value,
            epsilon=self.epsilon,
        )

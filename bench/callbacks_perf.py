"""The frameworks' callbacks' cost per rotation record (issue 13) for `npm run bench`, printed as one
JSON line on stdout:

    python bench/callbacks_perf.py ['{"reps": 3, "steps": 40, "threads": 2}']

Each callback (layer_rotation.keras, .lightning and .hf RotationCallback, every=1: a record each
optimizer step) is set beside RotationLogger's own record path on the same model, an MLP
256-256-256-256-10 (Keras: Dense layers of the same shapes), batch 32 of random data.

Method: one real training per framework and repetition (model.fit, Trainer.fit, Trainer.train of
`steps` optimizer steps), with two callbacks given to it: the framework's RotationCallback, and a
baseline callback of that framework doing what a hand-written loop does with RotationLogger
(logger.step(loss=..., lr=...) after each optimizer step: the fields every callback logs; Lightning
and Transformers: a RotationLogger on the model being trained; Keras, whose kernels are not torch
modules: on a torch MLP of the same shapes). Every per-step hook either callback defines is wrapped
in a timer (the training thread's CPU time around the call, inside the framework's own loop: other
processes' load does not count, as wall time would on a shared machine), so each side's time
is exactly what it adds on top of the framework's step (its hooks; the framework's loop, forward,
backward and optimizer step are not counted). Cost per record = the hooks' time over the steps (the
first `warmup` steps left out). The two are called at each step, one after the other; whichever goes
first pays for bringing the weights and the step's state into the cache (measured: 20-30% of a record
on this MLP, for either side), so a repetition is a pair of trainings, one in each order, and its ratio
callback / RotationLogger is the geometric mean of the two orders' ratios. Medians and ranges over
`reps` pairs.
Goal: each ratio <= 1.10. A framework that is not installed: its entry says so.
"""
import json
import math
import os
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from layer_rotation.logger import RotationLogger  # noqa: E402

WIDTHS = [256, 256, 256, 256, 10]  # inputs, then each Linear's outputs
BATCH = 32
GOAL = 1.10
CLOCK = time.thread_time  # the calling thread's CPU time; the records' work runs on it


def mlp():
    layers = []
    for i in range(len(WIDTHS) - 1):
        layers.append(torch.nn.Linear(WIDTHS[i], WIDTHS[i + 1]))
        if i < len(WIDTHS) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def data(n):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, WIDTHS[0], generator=g), torch.randint(0, WIDTHS[-1], (n,), generator=g)


class Timer:
    """Seconds spent in the wrapped hooks, per step (the first `warmup` steps left out)."""

    def __init__(self, warmup):
        self.warmup = warmup
        self.steps = 0
        self.seconds = 0.0

    def wrap(self, obj, names, base):
        """Wraps obj's hooks among `names` that its class defines (not `base`'s no-ops)."""
        for name in names:
            if getattr(type(obj), name) is getattr(base, name):
                continue
            hook = getattr(obj, name)

            def timed(*args, _hook=hook, **kwargs):
                t0 = CLOCK()
                try:
                    return _hook(*args, **kwargs)
                finally:
                    if self.steps >= self.warmup:
                        self.seconds += CLOCK() - t0

            setattr(obj, name, timed)

    def per_step(self):
        return self.seconds / max(1, self.steps - self.warmup)


def unavailable(err):
    return {"unavailable": "%s: %s" % (type(err).__name__, err)}


# -- Keras 3 (torch backend) -------------------------------------------------------------------------


def keras_rep(runs, steps, warmup, callback_first):
    import keras

    from layer_rotation.keras import RotationCallback

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((WIDTHS[0],))]
        + [keras.layers.Dense(w, activation="relu" if i < len(WIDTHS) - 2 else None) for i, w in enumerate(WIDTHS[1:])]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.01), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    twin = mlp()
    ours, base = Timer(warmup), Timer(warmup)

    class Baseline(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.logger = RotationLogger(twin, os.path.join(runs, "keras-logger"), every=1, features=False)

        def on_train_batch_end(self, batch, logs=None):
            lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
            self.logger.step(loss=(logs or {}).get("loss"), lr=lr)

        def on_train_end(self, logs=None):
            self.logger.finish()

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            ours.steps += 1
            base.steps += 1

    callback = RotationCallback(os.path.join(runs, "keras-callback"), every=1, features=False)
    hooks = ["on_train_batch_begin", "on_train_batch_end"]
    ours.wrap(callback, hooks, keras.callbacks.Callback)
    baseline = Baseline()
    base.wrap(baseline, hooks, keras.callbacks.Callback)
    pair = [callback, baseline] if callback_first else [baseline, callback]
    x, y = data(BATCH * steps)
    model.fit(x.numpy(), y.numpy(), batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=pair + [Count()])
    return ours.per_step(), base.per_step(), "Keras %s (torch backend)" % keras.__version__


# -- PyTorch Lightning ---------------------------------------------------------------------------------


def lightning_rep(runs, steps, warmup, callback_first):
    import lightning as L

    from layer_rotation.lightning import RotationCallback

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.net = mlp()

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.cross_entropy(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    ours, base = Timer(warmup), Timer(warmup)

    class Baseline(L.Callback):
        def on_train_start(self, trainer, pl_module):
            self.logger = RotationLogger(pl_module, os.path.join(runs, "lightning-logger"), every=1, features=False)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            lr = trainer.optimizers[0].param_groups[0]["lr"]
            self.logger.step(loss=outputs["loss"] if isinstance(outputs, dict) else outputs, lr=lr)

        def on_train_end(self, trainer, pl_module):
            self.logger.finish()

    class Count(L.Callback):
        def on_train_batch_end(self, *args):
            ours.steps += 1
            base.steps += 1

    callback = RotationCallback(os.path.join(runs, "lightning-callback"), every=1, features=False)
    hooks = [
        "on_train_batch_start",
        "on_train_batch_end",
        "on_before_backward",
        "on_after_backward",
        "on_before_optimizer_step",
        "on_before_zero_grad",
    ]
    ours.wrap(callback, hooks, L.Callback)
    baseline = Baseline()
    base.wrap(baseline, hooks, L.Callback)
    pair = [callback, baseline] if callback_first else [baseline, callback]
    x, y = data(BATCH * steps)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=pair + [Count()],
    )
    trainer.fit(Module(), loader)
    return ours.per_step(), base.per_step(), "Lightning %s" % L.__version__


# -- Hugging Face Transformers ---------------------------------------------------------------------------


def hf_rep(runs, steps, warmup, callback_first):
    import transformers
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from layer_rotation.hf import RotationCallback

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.net = mlp()

        def forward(self, x, labels=None):
            logits = self.net(x)
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}

    class Data(torch.utils.data.Dataset):
        def __init__(self, n):
            self.x, self.y = data(n)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return {"x": self.x[i], "labels": self.y[i]}

    ours, base = Timer(warmup), Timer(warmup)

    class Baseline(TrainerCallback):
        loss = None

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.logger = RotationLogger(model, os.path.join(runs, "hf-logger"), every=1, features=False)

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.loss = (logs or {}).get("loss", self.loss)

        def on_step_end(self, args, state, control, optimizer=None, **kwargs):
            self.logger.step(loss=self.loss, lr=optimizer.param_groups[0]["lr"] if optimizer else None)

        def on_train_end(self, args, state, control, **kwargs):
            self.logger.finish()

    class Count(TrainerCallback):
        def on_step_end(self, *args, **kwargs):
            ours.steps += 1
            base.steps += 1

    callback = RotationCallback(os.path.join(runs, "hf-callback"), every=1, features=False)
    hooks = ["on_step_begin", "on_pre_optimizer_step", "on_optimizer_step", "on_substep_end", "on_step_end", "on_log"]
    ours.wrap(callback, hooks, TrainerCallback)
    baseline = Baseline()
    base.wrap(baseline, hooks, TrainerCallback)
    pair = [callback, baseline] if callback_first else [baseline, callback]
    args = TrainingArguments(
        output_dir=os.path.join(runs, "hf-trainer"),
        per_device_train_batch_size=BATCH,
        num_train_epochs=1,
        learning_rate=0.01,
        logging_steps=1,  # the loss reaches both loggers at every step
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    trainer = Trainer(model=Net(), args=args, train_dataset=Data(BATCH * steps), callbacks=pair + [Count()])
    trainer.train()  # the callback records step k at step k + 1's on_pre_optimizer_step: as many timed
    return ours.per_step(), base.per_step(), "Transformers %s" % transformers.__version__


FRAMEWORKS = [("keras", keras_rep), ("lightning", lightning_rep), ("hf", hf_rep)]


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main():
    args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    reps, steps = max(3, int(args.get("reps", 3))), int(args.get("steps", 40))
    warmup = int(args.get("warmup", 5))
    if args.get("threads"):
        torch.set_num_threads(int(args["threads"]))
    only = args.get("only")
    results, goals = {}, []
    for key, rep in FRAMEWORKS:
        if only and key not in only:
            continue
        ours, base, ratios, where, problem = [], [], [], None, None
        try:
            for i in range(reps):
                pair = []
                for callback_first in (i % 2 == 0, i % 2 != 0):
                    # The frameworks print progress (Trainer's logs) to stdout: stdout is the JSON line's.
                    with tempfile.TemporaryDirectory(prefix="callbacks-perf-") as runs, redirect_stdout(sys.stderr):
                        a, b, where = rep(runs, steps, warmup, callback_first=callback_first)
                    ours.append(a)
                    base.append(b)
                    pair.append(a / b)
                ratios.append(math.sqrt(pair[0] * pair[1]))
                print(key, "pair %d: %.3f, %.3f" % (i, pair[0], pair[1]), file=sys.stderr)
        except ImportError as err:
            problem = unavailable(err)
        if problem:
            results[key] = problem
            goals.append({"id": key, "goal": "%s callback record <= %.2f x RotationLogger's" % (key, GOAL)})
            goals[-1].update(problem, target=GOAL, atMost=True)
            continue
        r = spread(ratios)
        results[key] = {
            "framework": where,
            "callbackMs": spread([a * 1e3 for a in ours]),
            "loggerMs": spread([b * 1e3 for b in base]),
            "ratio": r,
        }
        goals.append(
            {
                "id": key,
                "goal": "%s callback record <= %.2f x RotationLogger's" % (where, GOAL),
                "value": r["median"],
                "lo": r["min"],
                "hi": r["max"],
                "n": reps,
                "target": GOAL,
                "atMost": True,
                "met": r["median"] <= GOAL,
            }
        )
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "python": sys.executable,
                "threads": torch.get_num_threads(),
                "model": "mlp %s, batch %d, a record every step" % ("-".join(str(w) for w in WIDTHS), BATCH),
                "reps": reps,
                "trainingsPerRep": 2,
                "steps": steps,
                "warmup": warmup,
                "callbacks": results,
                "goals": goals,
            }
        )
    )


if __name__ == "__main__":
    main()

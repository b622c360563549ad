"""layer_rotation.keras on Keras 3's torch backend (or the one KERAS_BACKEND names: test_keras_tf.py
runs these tests again with KERAS_BACKEND=tensorflow, in a subprocess): RotationCallback's run log
(read back by the extension's own parser, out/src/runlog/read.js, with no skipped line), its
layers, distances and features, a failure inside fit ending the run as failed; Layca for Keras's
SGD, Adam, RMSprop and Adagrad equal to the PyTorch package's (optim.py) on identical weights and
gradients (on TensorFlow through an XLA-compiled function, as model.fit runs it)."""
import base64
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.join(HERE, "..")
ROOT = os.path.join(PYTHON_DIR, "..")
sys.path.insert(0, PYTHON_DIR)

sys.path.insert(0, HERE)
from test_keras_tf import SKIP_EXIT, SKIP_EXIT_ENV  # noqa: E402

os.environ.setdefault("KERAS_BACKEND", "torch")
BACKEND = os.environ["KERAS_BACKEND"]
SKIP = None
if BACKEND not in ("torch", "tensorflow"):
    SKIP = "layer_rotation.keras needs KERAS_BACKEND=torch or tensorflow (this environment sets %s)" % BACKEND
else:
    try:
        import keras
        import numpy as np
        import torch
    except Exception as err:  # noqa: BLE001 - keras or its backend missing, or a torch its backend does not take
        SKIP = "keras 3 with its %s backend is not installed here (%s: %s)" % (BACKEND, type(err).__name__, err)
if SKIP is not None and os.environ.get(SKIP_EXIT_ENV):  # test_keras_tf.py's subprocess: it says why
    print(SKIP, file=sys.stderr)
    sys.exit(SKIP_EXIT)
if SKIP is None:
    from layer_rotation import optim as torch_optim
    from layer_rotation.keras import (
        LaycaAdagrad,
        LaycaAdam,
        LaycaRMSprop,
        LaycaSGD,
        RotationCallback,
        kernel_layers,
    )
    from layer_rotation.report import read_run_log

READ_JS = os.path.join(ROOT, "out", "src", "runlog", "read.js")
BACKEND_DESCRIPTION = {
    "torch": r"^Keras 3\.\S+ \(torch backend\), PyTorch 2\.",
    "tensorflow": r"^Keras 3\.\S+ \(tensorflow backend\), TensorFlow 2\.\S+, cpu$",
}


def extension_read(events_file):
    """The run log as the extension's parser reads it (readRunLog of out/src/runlog/read.js)."""
    script = (
        "const r = require(process.argv[1]); const log = r.readRunLog(process.argv[2]);"
        "console.log(JSON.stringify({skipped: log.skipped, partial: log.partialLastLine, started: log.started,"
        " finished: log.finished, rotations: log.rotations, epochs: log.epochs.length,"
        " batches: log.batches.length, features: log.features ? log.features.first.layer : null}))"
    )
    out = subprocess.run(
        ["node", "-e", script, READ_JS, events_file], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout)


def read_events(run_dir):
    with open(os.path.join(run_dir, "events.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


FAILING_LAYER = '''
class FailsAt(keras.layers.Layer):
    """Passes its input through, until training call `at`: then raises (or returns NaN)."""

    def __init__(self, at, nan=False, **kwargs):
        super().__init__(**kwargs)
        self.at, self.nan, self.calls = at, nan, 0

    def call(self, x, training=False):
        if training:
            self.calls += 1
            if self.calls >= self.at:
                if self.nan:
                    return x * float("nan")
                raise ValueError("bad batch %d" % self.calls)
        return x
'''


def tiny_model(failing=None):
    """conv (3x3, 1 -> 4 channels) -> block (a nested Sequential: hidden) -> out, on 8x8x1 images."""
    keras.utils.set_random_seed(0)
    layers = [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu", name="conv")]
    if failing is not None:
        layers.append(failing)
    block = keras.Sequential([keras.layers.Dense(6, activation="relu", name="hidden")], name="block")
    layers += [keras.layers.Flatten(), block, keras.layers.Dense(3, name="out")]
    return keras.Sequential(layers, name="tiny")


def tiny_data(n=64):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 8, 8, 1)).astype("float32"), rng.integers(0, 3, n)


def compile_model(model, optimizer, run_eagerly=False):
    """run_eagerly for FailsAt, which counts its calls in Python (a compiled TensorFlow step runs it once)."""
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        run_eagerly=run_eagerly,
    )


def cosine_distance(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return 1 - float(a @ b) / math.sqrt(float(a @ a) * float(b @ b))


@unittest.skipIf(SKIP is not None, SKIP)
class Callback(unittest.TestCase):
    def test_run_log(self):
        model = tiny_model()
        compile_model(model, LaycaSGD(0.1, momentum=0.9, model=model, multipliers={"conv": 0.1}))
        x, y = tiny_data()
        initial = [layer.kernel.numpy().copy() for _, layer in kernel_layers(model)]
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            callback = RotationCallback(run, every=3, test_data=(x, y))
            model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0, callbacks=[callback])
            events = read_events(run)
            # Python's reader (the report command's) and, when compiled, the extension's: no skipped line.
            self.assertEqual(read_run_log(os.path.join(run, "events.jsonl")).skipped, [])
            started = events[0]
            self.assertEqual(started["type"], "run_started")
            self.assertEqual(started["engine"], "keras")
            self.assertEqual(started["name"], "tiny")
            self.assertRegex(started["backendDescription"], BACKEND_DESCRIPTION[BACKEND])
            # Forward order, kinds and shapes as the tfjs engine writes them (dense [in, out], conv [kh, kw, in, out]).
            self.assertEqual(
                started["layers"],
                [
                    {"name": "conv", "kind": "conv2d", "shape": [3, 3, 1, 4], "params": 40},
                    {"name": "block/hidden", "kind": "dense", "shape": [144, 6], "params": 870},
                    {"name": "out", "kind": "dense", "shape": [6, 3], "params": 21},
                ],
            )
            self.assertEqual(started["epochs"], 3)
            self.assertEqual(started["stepsPerEpoch"], 3)  # 48 training samples in batches of 16
            self.assertEqual(started["dataset"]["inputShape"], [8, 8, 1])
            self.assertEqual(started["optimizer"], "sgd-layca")
            self.assertEqual(started["schedule"]["multipliers"], [0.1, 1.0, 1.0])
            self.assertTrue(started["schedule"]["layca"])
            rotations = [e for e in events if e["type"] == "rotation"]
            self.assertEqual([r["step"] for r in rotations], [0, 3, 6, 9])
            final = [layer.kernel.numpy() for _, layer in kernel_layers(model)]
            for got, w0, w in zip(rotations[-1]["distances"], initial, final):
                self.assertAlmostEqual(got, cosine_distance(w0, w), delta=1e-6)
                # Layca (inside fit's compiled step on TensorFlow) kept each kernel's norm.
                self.assertAlmostEqual(
                    float(np.linalg.norm(w)), float(np.linalg.norm(w0)), delta=2e-5 * np.linalg.norm(w0)
                )
            self.assertTrue(all(d > 0 for d in rotations[-1]["distances"]))
            # conv's multiplier 0.1: it turns about ten times less than the others.
            r = rotations[1]["rotation"]
            self.assertLess(r[0], 0.2 * r[2])
            epochs = [e for e in events if e["type"] == "epoch_end"]
            self.assertEqual([e["epoch"] for e in epochs], [1, 2, 3])
            self.assertTrue(all(e["valLoss"] > 0 and 0 <= e["valAccuracy"] <= 1 for e in epochs))
            fin = events[-1]
            self.assertEqual(fin["type"], "run_finished")
            self.assertEqual(fin["status"], "completed")
            self.assertEqual(fin["reason"], "trained 3 epochs")  # as the engines and Lightning's callback say it
            self.assertEqual(fin["step"], 9)
            self.assertEqual(fin["testAccuracy"], model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"])
            with open(os.path.join(run, "summary.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f)["status"], "completed")
            if not (os.path.exists(READ_JS) and shutil.which("node")):
                self.skipTest("the extension's parser is not compiled (npm run compile) or node is missing")
            log = extension_read(os.path.join(run, "events.jsonl"))
            self.assertEqual(log["skipped"], [])
            self.assertFalse(log["partial"])
            self.assertEqual([l["name"] for l in log["started"]["layers"]], ["conv", "block/hidden", "out"])
            self.assertEqual(len(log["rotations"]), 4)
            self.assertEqual(log["epochs"], 3)
            self.assertEqual(log["finished"]["status"], "completed")
            self.assertEqual(log["features"], "conv")

    def test_a_run_dir_holds_one_run(self):
        model = tiny_model()
        compile_model(model, "sgd")
        x, y = tiny_data(16)
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            model.fit(x, y, verbose=0, callbacks=[RotationCallback(run)])
            with open(os.path.join(run, "events.jsonl"), "rb") as f:
                before = f.read()
            with self.assertRaisesRegex(ValueError, "%s already holds a run" % re.escape(run)):
                model.fit(x, y, verbose=0, callbacks=[RotationCallback(run)])
            with open(os.path.join(run, "events.jsonl"), "rb") as f:
                self.assertEqual(f.read(), before)

    def test_a_plain_optimizer_rate_is_in_the_plan(self):
        """A Keras SGD's rate is in run_started (the runs list shows it), Layca off, multipliers 1."""
        model = tiny_model()
        compile_model(model, keras.optimizers.SGD(0.05, momentum=0.9))
        x, y = tiny_data(16)
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            model.fit(x, y, verbose=0, callbacks=[RotationCallback(run)])
            started = read_events(run)[0]
            self.assertEqual(started["optimizer"], "sgd")
            self.assertAlmostEqual(started["schedule"]["learningRate"], 0.05, places=7)
            self.assertEqual((started["schedule"]["layca"], started["schedule"]["multipliers"]), (False, [1.0] * 3))

    def test_batch_loss_is_the_mean_over_its_steps(self):
        """Keras's logs hold the epoch's running mean; batch events hold the mean since the last one."""
        model = tiny_model()
        compile_model(model, keras.optimizers.SGD(0.05))
        x, y = tiny_data()
        losses = []

        class Record(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                losses.append(logs["loss"] * (batch + 1))  # the sum of this epoch's losses so far

        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[RotationCallback(run, every=2), Record()])
            batches = [e for e in read_events(run) if e["type"] == "batch"]
            per_step = [losses[0]] + [b - a for a, b in zip(losses, losses[1:])]
            self.assertEqual([b["step"] for b in batches], [2, 4])
            self.assertAlmostEqual(batches[0]["loss"], (per_step[0] + per_step[1]) / 2, places=5)
            self.assertAlmostEqual(batches[1]["loss"], (per_step[2] + per_step[3]) / 2, places=5)
            self.assertNotAlmostEqual(batches[1]["loss"], losses[3] / 4, places=5)  # not the running mean

    def test_features_are_the_kernel(self):
        """The first layer's features event holds the Keras kernel's filters, channels last."""
        model = tiny_model()
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            callback = RotationCallback(run)
            compile_model(model, "sgd")
            x, y = tiny_data(16)
            model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[callback])
            last = [e for e in read_events(run) if e["type"] == "features"][-1]
            kernel = model.get_layer("conv").kernel.numpy()  # [3, 3, 1, 4]
            self.assertEqual((last["layer"], last["image"], last["units"]), ("conv", [3, 3, 1], 4))
            q = np.frombuffer(base64.b64decode(last["data"]), dtype=np.int8).reshape(4, 9).astype(np.float64)
            decoded = q * np.asarray(last["scales"])[:, None]
            expected = kernel.reshape(9, 4).T  # unit j: kernel[:, :, 0, j] row by row
            np.testing.assert_allclose(decoded, expected, atol=float(np.abs(kernel).max()) / 127)

    def test_failure_in_fit_ends_the_run_failed(self):
        namespace = {"keras": keras}
        exec(FAILING_LAYER, namespace)  # noqa: S102 - the same layer the subprocess test uses
        model = tiny_model(namespace["FailsAt"](4, name="fails"))
        compile_model(model, "sgd", run_eagerly=True)
        x, y = tiny_data()
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            with self.assertRaisesRegex(ValueError, "bad batch 4"):
                with RotationCallback(run, every=2) as callback:
                    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[callback])
            events = read_events(run)
            fin = events[-1]
            self.assertEqual(fin["type"], "run_finished")
            self.assertEqual(
                (fin["status"], fin["reason"], fin["step"]),
                ("failed", "ValueError: bad batch 4 (in FailsAt.call())", 3),
            )
            self.assertEqual(read_run_log(os.path.join(run, "events.jsonl")).skipped, [])

    def test_uncaught_failure_in_a_script_ends_the_run_failed(self):
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            script = os.path.join(d, "train.py")
            with open(script, "w", encoding="utf-8") as f:
                f.write("import numpy as np\nimport keras\nfrom layer_rotation.keras import RotationCallback\n")
                f.write(FAILING_LAYER)
                f.write(
                    textwrap.dedent(
                        """
                        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d"), FailsAt(3)])
                        model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
                        x = np.ones((32, 4), "float32")
                        model.fit(x, x[:, :3], batch_size=8, epochs=2, verbose=0, callbacks=[RotationCallback(%r)])
                        """
                        % run
                    )
                )
            env = dict(os.environ, KERAS_BACKEND=BACKEND, PYTHONPATH=PYTHON_DIR)
            r = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env, timeout=120)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("bad batch 3", r.stderr)
            fin = read_events(run)[-1]
            self.assertEqual((fin["type"], fin["status"]), ("run_finished", "failed"))
            self.assertEqual((fin["reason"], fin["step"]), ("ValueError: bad batch 3 (in FailsAt.call())", 2))

    @unittest.skipUnless(BACKEND == "tensorflow", "TensorFlow's compiled train step (torch's fit runs eagerly)")
    def test_failure_in_a_compiled_step_ends_the_run_failed(self):
        """An error raised inside TensorFlow's compiled step (a failed assertion at the 4th batch):
        the run ends failed with the error's message and where the op was defined, without TF's
        stack of frames."""
        import tensorflow as tf

        class AssertsBelow(keras.layers.Layer):
            def build(self, shape):
                self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False, name="calls")

            def call(self, x, training=False):
                if training:
                    self.calls.assign_add(1.0)
                    tf.debugging.assert_less(self.calls, 4.0, message="bad batch")
                return x

        model = tiny_model(AssertsBelow(name="asserts"))
        compile_model(model, LaycaSGD(0.1, model=model))
        x, y = tiny_data()
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            with self.assertRaises(tf.errors.InvalidArgumentError):
                with RotationCallback(run, every=2) as callback:
                    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[callback])
            self.assertEqual(read_run_log(os.path.join(run, "events.jsonl")).skipped, [])
            fin = read_events(run)[-1]
            self.assertEqual((fin["type"], fin["status"], fin["step"]), ("run_finished", "failed", 3))
            self.assertRegex(
                fin["reason"],
                r"^InvalidArgumentError: assertion failed: \[bad batch\] .* \(in call, test_keras\.py:\d+\)$",
            )
            self.assertNotIn("\n", fin["reason"])

    def test_nan_loss_ends_the_run_failed(self):
        namespace = {"keras": keras}
        exec(FAILING_LAYER, namespace)  # noqa: S102
        model = tiny_model(namespace["FailsAt"](3, nan=True, name="nan"))
        compile_model(model, "sgd", run_eagerly=True)
        x, y = tiny_data()
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[RotationCallback(run)])
            fin = read_events(run)[-1]
            self.assertEqual((fin["status"], fin["step"]), ("failed", 3))
            self.assertEqual(fin["reason"], "the training loss is nan at step 3")
            self.assertEqual(len(history.epoch), 1)  # training stopped

    def test_bad_layer_names(self):
        model = tiny_model()
        compile_model(model, "sgd")
        x, y = tiny_data(16)
        with tempfile.TemporaryDirectory() as d:
            callback = RotationCallback(os.path.join(d, "run"), layers=["conv", "dense_9"])
            with self.assertRaisesRegex(ValueError, r"no Dense or Conv layer named dense_9 \(the model's are conv, "):
                model.fit(x, y, verbose=0, callbacks=[callback])
            self.assertFalse(os.path.exists(os.path.join(d, "run")))
        with self.assertRaisesRegex(ValueError, "layer multipliers name 'conv9', which is not a kernel layer"):
            LaycaSGD(0.1, model=model, multipliers={"conv9": 0.5})
        with self.assertRaisesRegex(ValueError, "alpha and multipliers apply to the model's kernel layers"):
            LaycaAdam(0.1, alpha=0.5)


def twin_models():
    """A Keras model and a torch one with the same kernels and biases (torch's layouts), and the
    layout maps from Keras's variables to torch's parameters."""
    keras.utils.set_random_seed(1)
    km = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(4, 3, name="conv"),
            keras.layers.Flatten(),
            keras.layers.Dense(5, name="hidden"),
            keras.layers.Dense(3, name="out"),
        ]
    )
    tm = torch.nn.Sequential(
        OrderedDict(
            conv=torch.nn.Conv2d(2, 4, 3),
            flat=torch.nn.Flatten(),
            hidden=torch.nn.Linear(64, 5),
            out=torch.nn.Linear(5, 3),
        )
    )

    def to_torch(a):
        a = torch.as_tensor(np.asarray(a))
        return a.permute(a.dim() - 1, a.dim() - 2, *range(a.dim() - 2)).contiguous() if a.dim() >= 2 else a.clone()

    pairs = []
    for name in ("conv", "hidden", "out"):
        layer, module = km.get_layer(name), getattr(tm, name)
        pairs += [(layer.kernel, module.weight), (layer.bias, module.bias)]
    with torch.no_grad():
        for kv, tp in pairs:
            tp.copy_(to_torch(kv.numpy()))
    return km, tm, pairs, to_torch


CASES = [
    (
        "sgd nesterov, alpha, multipliers, L2",
        lambda km: LaycaSGD(
            0.1, momentum=0.9, nesterov=True, model=km, alpha=0.5, multipliers={"conv": 0.3}, weight_decay=1e-3
        ),
        lambda g: torch_optim.LaycaSGD(g, lr=0.1, momentum=0.9, nesterov=True),
        dict(lr=0.1, alpha=0.5, multipliers={"conv": 0.3}, weight_decay=1e-3),
    ),
    (
        "sgd plain, list multipliers",
        lambda km: LaycaSGD(0.2, model=km, multipliers=[1.0, 0.5, 2.0]),
        lambda g: torch_optim.LaycaSGD(g, lr=0.2),
        dict(lr=0.2, multipliers=[1.0, 0.5, 2.0]),
    ),
    (
        "adam amsgrad, alpha",
        lambda km: LaycaAdam(0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-7, amsgrad=True, model=km, alpha=-0.4),
        lambda g: torch_optim.LaycaAdam(g, lr=0.05, betas=(0.8, 0.99), eps=1e-7, amsgrad=True),
        dict(lr=0.05, alpha=-0.4),
    ),
    (
        "adam, multipliers, L2",
        lambda km: LaycaAdam(0.02, model=km, multipliers={"out": 0.1}, weight_decay=1e-2),
        lambda g: torch_optim.LaycaAdam(g, lr=0.02, eps=1e-7),
        dict(lr=0.02, multipliers={"out": 0.1}, weight_decay=1e-2),
    ),
    (
        "rmsprop centered, momentum, alpha, multipliers",
        lambda km: LaycaRMSprop(0.03, rho=0.8, momentum=0.5, centered=True, model=km, alpha=0.3, multipliers=[2, 1, 1]),
        lambda g: torch_optim.LaycaRMSprop(g, lr=0.03, alpha=0.8, eps=1e-7, momentum=0.5, centered=True),
        dict(lr=0.03, alpha=0.3, multipliers=[2, 1, 1]),
    ),
    (
        "rmsprop",
        lambda km: LaycaRMSprop(0.01, model=km, multipliers={"hidden": 3.0}),
        lambda g: torch_optim.LaycaRMSprop(g, lr=0.01, alpha=0.9, eps=1e-7),
        dict(lr=0.01, multipliers={"hidden": 3.0}),
    ),
    (
        "adagrad, alpha, multipliers",
        lambda km: LaycaAdagrad(0.1, initial_accumulator_value=0.1, model=km, alpha=0.6, multipliers={"conv": 0.5}),
        lambda g: torch_optim.LaycaAdagrad(g, lr=0.1, initial_accumulator_value=0.1, eps=1e-7),
        dict(lr=0.1, alpha=0.6, multipliers={"conv": 0.5}),
    ),
    (
        "adagrad from 0, L2",
        lambda km: LaycaAdagrad(0.05, initial_accumulator_value=0.0, epsilon=1e-10, model=km, weight_decay=1e-3),
        lambda g: torch_optim.LaycaAdagrad(g, lr=0.05, initial_accumulator_value=0.0, eps=1e-10),
        dict(lr=0.05, weight_decay=1e-3),
    ),
]


def compiled_apply(optimizer, variables):
    """optimizer.apply(grads, variables) as model.fit runs it: on TensorFlow in a function compiled
    by XLA (the optimizer built first, outside it), on torch as it is."""
    if BACKEND != "tensorflow":
        return lambda grads: optimizer.apply(grads, variables)
    import tensorflow as tf

    optimizer.build(variables)
    return tf.function(lambda grads: optimizer.apply(grads, variables), jit_compile=True)


@unittest.skipIf(SKIP is not None, SKIP)
class Layca(unittest.TestCase):
    def test_equals_the_pytorch_package(self):
        """Six steps of identical random gradients: the same kernels and biases to 1e-5."""
        for label, make_keras, make_torch, groups in CASES:
            with self.subTest(label):
                km, tm, pairs, to_torch = twin_models()
                kopt = make_keras(km)
                topt = make_torch(torch_optim.layca_param_groups(tm, **groups))
                initial = [tp.detach().clone() for _, tp in pairs]
                rng = np.random.default_rng(2)
                variables = [kv for kv, _ in pairs]
                apply = compiled_apply(kopt, variables)
                for _ in range(6):
                    grads = [rng.standard_normal(tuple(kv.shape)).astype("float32") for kv in variables]
                    apply([keras.ops.convert_to_tensor(g) for g in grads])
                    for g, (_, tp) in zip(grads, pairs):
                        tp.grad = to_torch(g)
                    topt.step()
                for kv, tp in pairs:
                    got, expected = to_torch(kv.numpy()), tp.detach()
                    self.assertLess(float((got - expected).abs().max()), 1e-5, "%s of %s" % (kv.path, label))
                for (_, tp), w0 in zip(pairs, initial):  # both moved: the comparison is not of two idle models
                    self.assertGreater(float((tp.detach() - w0).abs().max()), 1e-4)

    def test_each_step_turns_each_kernel_by_atan_of_its_rate(self):
        km, _, pairs, _ = twin_models()
        opt = LaycaAdam(0.05, model=km, alpha=0.5)
        rates = [0.05 * m for m in opt.layer_multipliers()]
        self.assertAlmostEqual(rates[0], 0.05 * 0.5**5)  # the first of 3 layers: (1 - alpha)^(5 (L-1) / (L-1))
        kernels = [kv for kv, _ in pairs[::2]]
        variables = [kv for kv, _ in pairs]
        rng = np.random.default_rng(3)
        for _ in range(3):
            before = [k.numpy().copy() for k in kernels]
            opt.apply(
                [keras.ops.convert_to_tensor(rng.standard_normal(tuple(v.shape)).astype("float32")) for v in variables],
                variables,
            )
            for k, w0, rate in zip(kernels, before, rates):
                w = k.numpy()
                self.assertAlmostEqual(np.linalg.norm(w), np.linalg.norm(w0), delta=1e-5 * np.linalg.norm(w0))
                u, u0 = w.ravel() / np.linalg.norm(w), w0.ravel() / np.linalg.norm(w0)
                angle = 2 * math.asin(np.linalg.norm(u - u0) / 2)
                self.assertAlmostEqual(angle, math.atan(rate), delta=1e-5 + 1e-3 * rate)


@unittest.skipIf(SKIP is not None, SKIP)
class Example(unittest.TestCase):
    def test_the_worked_example_runs(self):
        """examples/keras/train_cnn.py as a user runs it, shortened: one epoch on 640 samples."""
        example = os.path.join(ROOT, "examples", "keras", "train_cnn.py")
        with tempfile.TemporaryDirectory(prefix="lr-keras-example-") as d:
            env = dict(os.environ, KERAS_BACKEND=BACKEND)
            args = [sys.executable, example, "--epochs", "1", "--train-samples", "640", "--test-samples", "128"]
            r = subprocess.run(args + ["--runs-dir", d], capture_output=True, text=True, timeout=600, env=env, cwd=d)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            (run,) = os.listdir(d)
            run_dir = os.path.join(d, run)
            self.assertIn("run folder: %s" % run_dir, r.stdout)
            log = read_run_log(os.path.join(run_dir, "events.jsonl"))
            self.assertEqual(log.skipped, [])
            with open(os.path.join(run_dir, "events.jsonl")) as f:
                events = [json.loads(line) for line in f]
            names = [layer["name"] for layer in events[0]["layers"]]
            self.assertEqual(names, ["conv1", "conv2", "conv3", "fc1", "output"])
            self.assertEqual(events[-1]["type"], "run_finished")
            self.assertEqual(events[-1]["status"], "completed")
            self.assertIsNotNone(events[-1]["testAccuracy"])
            # The lagging layer's tiny multiplier shows: conv1 turns least.
            rotations = [e for e in events if e["type"] == "rotation"]
            last = rotations[-1]["distances"]
            self.assertEqual(min(range(len(last)), key=last.__getitem__), 0, last)


if __name__ == "__main__":
    unittest.main()

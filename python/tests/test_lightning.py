"""layer_rotation.lightning.RotationCallback under a real Lightning Trainer (tests/lightning_script.py:
a tiny Conv2d + Linear model on synthetic images, LaycaSGD from configure_optimizers): a log the
readers take whole, its layers and plan, validation and test metrics, a failure or Ctrl+C inside
fit, and DDP with 2 CPU processes (gloo) writing one log whose distances are the 1-process run's."""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from layer_rotation.report import read_run_log  # noqa: E402
from test_logger import read_events  # noqa: E402

HAVE_LIGHTNING = importlib.util.find_spec("lightning") is not None
NO_LIGHTNING = "PyTorch Lightning is not installed (pip install lightning)"
SCRIPT = os.path.join(HERE, "lightning_script.py")


def one_run(runs_dir):
    """The single run folder under runs_dir, its events (checked whole by the readers' parser)."""
    (run,) = os.listdir(runs_dir)
    run_dir = os.path.join(runs_dir, run)
    log = read_run_log(os.path.join(run_dir, "events.jsonl"))
    assert log.skipped == [], log.skipped
    return run_dir, read_events(run_dir)


def of_type(events, kind):
    return [e for e in events if e["type"] == kind]


def distance(w0, w):
    """1 - cos(w0, w) of the flattened kernels, in float64."""
    a, b = w0.double().flatten(), w.detach().double().flatten()
    return 1.0 - float(a @ b / (a.norm() * b.norm()))


def evaluate(model, dataset):
    x, y = dataset.tensors
    with torch.no_grad():
        logits = model(x)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


@unittest.skipUnless(HAVE_LIGHTNING, NO_LIGHTNING)
class Callback(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import lightning_script

        cls.S = lightning_script

    def fit(self, **options):
        d = tempfile.mkdtemp(prefix="lr-lightning-")
        out = self.S.fit(runs_dir=d, name="tiny", **options)
        return (d,) + out

    def test_batch_lines_carry_the_scheduled_rate(self):
        # A LambdaLR stepped every step: each batch line's rate is the first group's rate over its
        # multiplier at that step (read at every step from the group a scheduler sets in place).
        d, *_ = self.fit(test=False, model_options={"decay": 0.5})
        _, events = one_run(d)
        batches = of_type(events, "batch")
        self.assertEqual([b["step"] for b in batches], [2, 4, 6, 8])
        rates = [b["learningRate"] for b in batches]
        # Lightning steps the scheduler after the step's on_train_batch_end or before it.
        after = [0.1 * 0.5 ** (b["step"] - 1) for b in batches]
        before = [0.1 * 0.5 ** b["step"] for b in batches]
        self.assertTrue(
            all(abs(r - e) < 1e-9 * e for r, e in zip(rates, after))
            or all(abs(r - e) < 1e-9 * e for r, e in zip(rates, before)),
            rates,
        )

    def test_fit_then_test_writes_one_valid_log(self):
        d, trainer, model, datamodule, callback, initial = self.fit(test=True, run_test=False)
        run_dir, events = one_run(d)
        # fit has ended, the test is still to come: the run is not finished yet.
        self.assertNotIn("run_finished", [e["type"] for e in events])
        self.assertFalse(os.path.exists(os.path.join(run_dir, "summary.json")))
        trainer.test(model, datamodule=datamodule, verbose=False)
        run_dir, events = one_run(d)

        started = events[0]
        self.assertEqual(started["type"], "run_started")
        self.assertEqual([l["name"] for l in started["layers"]], self.S.LAYERS)
        self.assertEqual([l["kind"] for l in started["layers"]], ["conv2d", "dense", "dense"])
        self.assertEqual([l["shape"] for l in started["layers"]], [[3, 3, 1, 4], [64, 16], [16, 3]])
        self.assertEqual(
            (started["epochs"], started["stepsPerEpoch"], started["totalSteps"], started["batchSize"]), (2, 4, 8, 16)
        )
        self.assertEqual(started["optimizer"], "sgd-layca")
        self.assertEqual(started["schedule"]["multipliers"], [1.0, 1.0, 0.5])
        self.assertAlmostEqual(started["schedule"]["learningRate"], 0.1)
        self.assertIsNone(started["configFile"])  # an outside run

        rotations = of_type(events, "rotation")
        self.assertEqual([r["step"] for r in rotations], [0, 2, 4, 6, 8])
        self.assertEqual([r["epoch"] for r in rotations], [0, 0.5, 1, 1.5, 2])
        # The distances are those of the kernels the model ends with, from those it started with.
        final = [distance(w0, w) for w0, w in zip(initial, self.S.kernels(model))]
        for got, expected in zip(rotations[-1]["distances"], final):
            self.assertAlmostEqual(got, expected, places=6)
        self.assertTrue(all(x > 0.01 for x in final))
        # The head's multiplier is 0.5: it turns about half as much per record (tan of the angle).
        r = rotations[1]["rotation"]
        self.assertAlmostEqual(r[2] / r[1], 0.5, delta=0.05)

        batches = of_type(events, "batch")
        self.assertEqual([b["step"] for b in batches], [2, 4, 6, 8])
        self.assertTrue(all(b["accuracy"] is not None and b["learningRate"] == 0.1 for b in batches))
        epochs = of_type(events, "epoch_end")
        self.assertEqual([(e["epoch"], e["step"]) for e in epochs], [(1, 4), (2, 8)])
        for e, (b1, b2) in zip(epochs, [batches[0:2], batches[2:4]]):
            # the epoch's loss as Lightning logged it (on_epoch=True): the mean of its steps' losses
            self.assertAlmostEqual(e["loss"], (b1["loss"] + b2["loss"]) / 2, places=5)
        # The last validation ran on the final weights: its metrics are the model's on the validation set.
        val_loss, val_acc = evaluate(model, datamodule.splits["val"])
        self.assertAlmostEqual(epochs[-1]["valLoss"], val_loss, places=5)
        self.assertAlmostEqual(epochs[-1]["valAccuracy"], val_acc, places=6)
        self.assertNotEqual(epochs[0]["valLoss"], epochs[1]["valLoss"])

        fin = events[-1]
        self.assertEqual(
            (fin["type"], fin["status"], fin["reason"], fin["step"]),
            ("run_finished", "completed", "trained 2 epochs", 8),
        )
        test_loss, test_acc = evaluate(model, datamodule.splits["test"])
        self.assertAlmostEqual(fin["testLoss"], test_loss, places=5)
        self.assertAlmostEqual(fin["testAccuracy"], test_acc, places=6)
        self.assertEqual(fin["finalDistances"], rotations[-1]["distances"])
        with open(os.path.join(run_dir, "summary.json")) as f:
            self.assertEqual(json.load(f)["status"], "completed")

    def test_without_test_the_run_ends_with_fit(self):
        # accuracy names a metric the module does not log: batches have none; max_steps ends fit.
        d, trainer, *_ = self.fit(test=False, accumulate=2, max_steps=3, accuracy="no_such_metric")
        _, events = one_run(d)
        started, fin = events[0], events[-1]
        # Two batches a step: 2 optimizer steps an epoch, 3 in all (max_steps), 32 samples a step.
        self.assertEqual((started["stepsPerEpoch"], started["totalSteps"], started["batchSize"]), (2, 3, 32))
        self.assertEqual([r["step"] for r in of_type(events, "rotation")], [0, 2, 3])
        self.assertTrue(all(b["accuracy"] is None and b["loss"] > 0 for b in of_type(events, "batch")))
        self.assertEqual(
            (fin["status"], fin["reason"], fin["step"]), ("completed", "reached the step limit (3 steps)", 3)
        )
        self.assertIsNone(fin["testAccuracy"])

    def test_a_failure_inside_training_ends_the_run_failed(self):
        d = tempfile.mkdtemp(prefix="lr-lightning-")
        with self.assertRaises(self.S.Broken):
            self.S.fit(runs_dir=d, model_options={"fail_at_step": 3})
        run_dir, events = one_run(d)
        fin = events[-1]
        self.assertEqual((fin["type"], fin["status"], fin["step"]), ("run_finished", "failed", 3))
        self.assertEqual(fin["reason"], "Broken: the batch at step 3 is broken")
        self.assertEqual([r["step"] for r in of_type(events, "rotation")], [0, 2, 3])
        with open(os.path.join(run_dir, "summary.json")) as f:
            self.assertEqual(json.load(f)["status"], "failed")

    def test_ctrl_c_ends_the_run_stopped(self):
        d = tempfile.mkdtemp(prefix="lr-lightning-")
        handler = signal.getsignal(signal.SIGINT)
        try:
            with self.assertRaises(SystemExit):  # Lightning's graceful shutdown on KeyboardInterrupt
                self.S.fit(runs_dir=d, model_options={"interrupt_at_step": 5})
        finally:
            signal.signal(signal.SIGINT, handler)  # Lightning ignores SIGINT from then on
        _, events = one_run(d)
        fin = events[-1]
        self.assertEqual((fin["status"], fin["step"]), ("stopped", 5))
        self.assertIn("KeyboardInterrupt", fin["reason"])

    def test_a_test_that_never_comes_ends_the_run_at_exit(self):
        d = tempfile.mkdtemp(prefix="lr-lightning-")
        r = subprocess.run(
            [sys.executable, SCRIPT, "--runs-dir", d, "--epochs", "1", "--no-test"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        _, events = one_run(d)
        fin = events[-1]
        self.assertEqual((fin["status"], fin["step"]), ("completed", 4))
        self.assertEqual(fin["reason"], "trained 1 epoch; no trainer.test() followed")
        self.assertIsNone(fin["testAccuracy"])

    def test_bad_options_say_what_is_wrong(self):
        from layer_rotation.lightning import RotationCallback

        with self.assertRaisesRegex(TypeError, "RotationCallback: epochs comes from the trainer"):
            RotationCallback(epochs=3)
        d = tempfile.mkdtemp(prefix="lr-lightning-")
        with self.assertRaisesRegex(ValueError, r"no kernel layer named body\.1 \(the model's are features\.0"):
            self.S.fit(runs_dir=d, layers=["body.1"])
        self.assertEqual(os.listdir(d), [])


@unittest.skipUnless(HAVE_LIGHTNING, NO_LIGHTNING)
class Ddp(unittest.TestCase):
    def test_two_processes_write_one_log_with_the_one_process_distances(self):
        import lightning_script as S

        single = tempfile.mkdtemp(prefix="lr-lightning-1-")
        S.fit(runs_dir=single, name="tiny")
        ddp = tempfile.mkdtemp(prefix="lr-lightning-2-")
        r = subprocess.run(
            [sys.executable, SCRIPT, "--devices", "2", "--runs-dir", ddp],
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertIn("distributed_backend=gloo", r.stdout + r.stderr)
        self.assertIn("Starting with 2 processes", r.stdout + r.stderr)
        _, events1 = one_run(single)
        _, events2 = one_run(ddp)  # one folder: rank 1 wrote nothing
        self.assertEqual(events2[0]["batchSize"], 16)
        self.assertEqual(events2[-1]["status"], "completed")
        rot1, rot2 = of_type(events1, "rotation"), of_type(events2, "rotation")
        self.assertEqual([r["step"] for r in rot2], [r["step"] for r in rot1])
        for a, b in zip(rot1, rot2):
            for x, y in zip(a["distances"], b["distances"]):
                self.assertAlmostEqual(x, y, delta=1e-5)
        self.assertGreater(min(rot2[-1]["distances"]), 0.01)
        # Validation and test ran on every rank over the whole sets: the same metrics.
        for e1, e2 in zip(of_type(events1, "epoch_end"), of_type(events2, "epoch_end")):
            self.assertAlmostEqual(e1["valLoss"], e2["valLoss"], places=4)
        self.assertAlmostEqual(events1[-1]["testLoss"], events2[-1]["testLoss"], places=4)


@unittest.skipUnless(HAVE_LIGHTNING, NO_LIGHTNING)
class Example(unittest.TestCase):
    def test_the_worked_example_runs(self):
        example = os.path.join(HERE, "..", "..", "examples", "lightning", "train_lightning.py")
        d = tempfile.mkdtemp(prefix="lr-lightning-example-")
        r = subprocess.run(
            [
                sys.executable,
                example,
                "--epochs",
                "1",
                "--train-samples",
                "1000",
                "--test-samples",
                "200",
                "--runs-dir",
                d,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        run_dir, events = one_run(d)
        self.assertIn("run folder: %s" % run_dir, r.stdout)
        self.assertEqual([l["name"] for l in events[0]["layers"]], ["dense1", "dense2", "output"])
        self.assertEqual(events[0]["schedule"]["multipliers"], [0.1, 1.0, 1.0])
        self.assertEqual(events[0]["dataset"]["validation"], 100)
        fin = events[-1]
        self.assertEqual(fin["status"], "completed")
        self.assertIsNotNone(fin["testAccuracy"])
        self.assertIsNotNone(of_type(events, "epoch_end")[0]["valAccuracy"])


if __name__ == "__main__":
    unittest.main()

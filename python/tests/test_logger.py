"""RotationLogger writes a valid run log; an exception marks the run failed. The engine's CLI on a
tiny synthetic config: a complete log, and a NaN loss ends the run failed."""
import json
import os
import sys
import tempfile
import unittest
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from layer_rotation import LaycaSGD, RotationLogger, layca_param_groups  # noqa: E402
from layer_rotation.__main__ import main  # noqa: E402


def read_events(run_dir):
    with open(os.path.join(run_dir, "events.jsonl"), encoding="utf-8") as f:
        text = f.read()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def small_model():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3)
    )


class Logger(unittest.TestCase):
    def test_valid_log(self):
        torch.manual_seed(0)
        model = small_model()
        opt = LaycaSGD(layca_param_groups(model, 0.1, multipliers={"0": 0.1}), lr=0.1, momentum=0.9)
        x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 3, (32,))
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            with RotationLogger(
                model, run, every=3, name="tiny", epochs=2, steps_per_epoch=5, batch_size=32, dataset="random"
            ) as logger:
                for epoch in range(2):
                    for _ in range(5):
                        opt.zero_grad()
                        loss = torch.nn.functional.cross_entropy(model(x), y)
                        loss.backward()
                        opt.step()
                        logger.step(loss=loss, accuracy=0.5, lr=0.1)
                    logger.epoch_end(loss=loss.item(), accuracy=0.5)
                logger.finish(test_loss=1.0, test_accuracy=0.4)
            events = read_events(run)
            self.assertTrue(all(e["v"] == 1 and isinstance(e["time"], int) for e in events))
            self.assertEqual(events[0]["type"], "run_started")
            self.assertEqual(events[-1]["type"], "run_finished")
            started = events[0]
            self.assertEqual(started["engine"], "pytorch")
            self.assertEqual(started["backend"], "cpu")
            self.assertEqual([l["name"] for l in started["layers"]], ["0", "3"])
            self.assertEqual(started["layers"][0], {"name": "0", "kind": "conv2d", "shape": [3, 3, 1, 4], "params": 40})
            self.assertEqual(started["layers"][1]["shape"], [144, 3])
            rotations = [e for e in events if e["type"] == "rotation"]
            self.assertEqual([r["step"] for r in rotations], [0, 3, 6, 9, 10])
            self.assertEqual(rotations[0]["distances"], [0.0, 0.0])
            self.assertEqual(rotations[-1]["steps"], 1)
            self.assertAlmostEqual(rotations[-1]["epoch"], 2.0)
            # The first layer's multiplier is 0.1: it turns ten times less per step (tan of the angle).
            r = rotations[1]["rotation"]
            self.assertAlmostEqual(r[0] / r[1], 0.1, delta=0.01)
            self.assertEqual(sum(e["type"] == "epoch_end" for e in events), 2)
            self.assertTrue(any(e["type"] == "batch" and e["loss"] > 0 for e in events))
            fin = events[-1]
            self.assertEqual(fin["status"], "completed")
            self.assertEqual(fin["finalDistances"], rotations[-1]["distances"])
            self.assertEqual(fin["testAccuracy"], 0.4)
            with open(os.path.join(run, "summary.json")) as f:
                summary = json.load(f)
            self.assertEqual(summary["status"], "completed")
            self.assertEqual([l["name"] for l in summary["layers"]], ["0", "3"])

    def test_metrics_that_follow_the_step(self):
        """step(metrics_follow=True) then step_metrics(): the rotation record is taken at the step, the
        batch line waits for its metrics (Transformers' Trainer logs the loss after its step hook):
        a line only at steps whose loss came, with the mean of the losses since the last line."""
        torch.manual_seed(0)
        model = small_model()
        for batch_every, want in ((1, [(2, 1.0), (4, 3.0), (6, 5.0)]), (3, [(4, 2.0), (6, 5.0)])):
            with tempfile.TemporaryDirectory() as d:
                run = os.path.join(d, "run")
                with RotationLogger(model, run, every=1, batch_every=batch_every, features=False) as logger:
                    for step in range(1, 7):
                        logger.step(lr=0.1 * step, metrics_follow=True)
                        self.assertEqual(logger.steps, step)
                        if step % 2 == 0:  # logged every 2 steps, as Trainer(logging_steps=2)
                            logger.step_metrics(loss=float(step - 1))
                    logger.finish()
                events = read_events(run)
                batches = [(e["step"], e["loss"]) for e in events if e["type"] == "batch"]
                self.assertEqual(batches, want, "batch_every=%d" % batch_every)
                lrs = [e["learningRate"] for e in events if e["type"] == "batch"]
                self.assertEqual(lrs, [0.1 * s for s, _ in want])
                steps = [e["step"] for e in events if e["type"] == "rotation"]
                self.assertEqual(steps, [0, 1, 2, 3, 4, 5, 6])
                kinds = [e["type"] for e in events if e["type"] in ("batch", "rotation") and e["step"] == 2]
                self.assertEqual(kinds, ["rotation", "batch"] if batch_every == 1 else ["rotation"])

    def test_second_run_in_the_same_run_dir(self):
        """A run_dir that holds a run already: the first log stays as it was, the new run writes to
        run_dir-2 (then -3) with a warning that names both; each log holds one run."""
        torch.manual_seed(0)
        model = small_model()
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run")
            dirs = []
            for i in range(3):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    with RotationLogger(model, run, every=1, features=False, name="try%d" % i) as logger:
                        logger.step(loss=1.0)
                        logger.finish()
                dirs.append(logger.run_dir)
                messages = [str(w.message) for w in caught]
                if i == 0:
                    self.assertEqual(messages, [])
                else:
                    self.assertEqual(len(messages), 1)
                    self.assertIn(run, messages[0])
                    self.assertIn(logger.run_dir, messages[0])
            self.assertEqual(dirs, [run, run + "-2", run + "-3"])
            for i, folder in enumerate(dirs):
                events = read_events(folder)
                self.assertEqual([e["type"] for e in events].count("run_started"), 1)
                self.assertEqual(events[0]["name"], "try%d" % i)
                self.assertEqual(events[-1]["type"], "run_finished")
                with open(os.path.join(folder, "summary.json"), encoding="utf-8") as f:
                    self.assertEqual(json.load(f)["runId"], os.path.basename(folder))

    def test_exception_marks_failed(self):
        model = small_model()
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(RuntimeError):
                with RotationLogger(model, os.path.join(d, "r"), every=1) as logger:
                    logger.step(loss=1.0)
                    raise RuntimeError("the data loader broke")
            events = read_events(os.path.join(d, "r"))
            self.assertEqual(events[-1]["type"], "run_finished")
            self.assertEqual(events[-1]["status"], "failed")
            self.assertIn("the data loader broke", events[-1]["reason"])
            with self.assertRaises(KeyboardInterrupt):
                with RotationLogger(model, os.path.join(d, "k"), every=1):
                    raise KeyboardInterrupt()
            self.assertEqual(read_events(os.path.join(d, "k"))[-1]["status"], "stopped")

    def test_runs_dir(self):
        with tempfile.TemporaryDirectory() as d:
            logger = RotationLogger(small_model(), runs_dir=d, name="my net")
            logger.finish()
            (run,) = os.listdir(d)
            self.assertRegex(run, r"^my-net-\d{8}-\d{6}$")


SYNTH = {
    "name": "engine-test",
    "seed": 2,
    "dataset": {
        "name": "synthetic",
        "samples": 600,
        "testSamples": 200,
        "inputShape": [16],
        "classes": 3,
        "validationSplit": 0.1,
    },
    "model": {"type": "mlp", "hidden": [32]},
    "optimizer": {"type": "adam", "learningRate": 0.01, "layca": True},
    "schedule": {"epochs": 2, "batchSize": 50},
    "monitoring": {"everySteps": 4},
}


class Engine(unittest.TestCase):
    def run_config(self, config, *extra):
        d = tempfile.mkdtemp(prefix="lr-engine-")
        f = os.path.join(d, "c.layerrot.json")
        with open(f, "w") as fh:
            json.dump(config, fh)
        code = main(["train", f, "--run-dir", os.path.join(d, "run"), "--threads", "1", "--quiet", *extra])
        return code, read_events(os.path.join(d, "run")), d

    def test_synthetic_run(self):
        code, events, d = self.run_config(SYNTH)
        self.assertEqual(code, 0)
        self.assertEqual(events[0]["type"], "run_started")
        self.assertEqual(events[0]["stepsPerEpoch"], 11)
        self.assertEqual(events[0]["dataset"]["train"], 540)
        steps = [e["step"] for e in events if e["type"] == "rotation"]
        self.assertEqual(steps, [0, 4, 8, 11, 15, 19, 22])
        fin = events[-1]
        self.assertEqual(fin["status"], "completed")
        self.assertEqual(fin["reason"], "trained 2 epochs")
        self.assertGreater(fin["testAccuracy"], 0.6)
        self.assertTrue(os.path.isfile(os.path.join(d, "run", "config.layerrot.json")))
        self.assertTrue(os.path.isfile(os.path.join(d, "run", "summary.json")))

    def test_nan_loss_fails(self):
        cfg = json.loads(json.dumps(SYNTH))
        cfg["optimizer"] = {"type": "sgd", "learningRate": 1e30}
        code, events, _ = self.run_config(cfg)
        self.assertEqual(code, 1)
        self.assertEqual(events[-1]["status"], "failed")
        self.assertRegex(events[-1]["reason"], r"the loss became (NaN|inf)")

    def test_max_steps(self):
        code, events, _ = self.run_config(SYNTH, "--max-steps", "5")
        self.assertEqual(code, 0)
        self.assertEqual(events[-1]["step"], 5)
        self.assertEqual(events[-1]["reason"], "reached the step limit (5 steps)")


if __name__ == "__main__":
    unittest.main()

"""The events of the run log, built in one module for the engine and RotationLogger: field order,
optional fields, non-finite numbers as null, and the rule of which layers lag."""
import json
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from layer_rotation import events  # noqa: E402


class Events(unittest.TestCase):
    def test_lagging_layers(self):
        names = ["a", "b", "c", "d", "e", "f", "g"]
        layers = [{"name": n, "kind": "dense", "params": 3} for n in names]
        started = events.run_started("id", "n", None, "cpu", "d", {"classes": 10}, layers, 3, 1, 1, 3, 1, 0.2)
        fit = {"status": "completed", "trainAccuracy": 1.0}
        distances = [0.9, 0.8, 0.79, math.nan, math.inf, None]  # g has no distance at all
        v = events.judge_finished(started, dict(fit, finalDistances=distances))
        self.assertEqual(v["run"], "judged")
        self.assertEqual(v["lagging"], [False, False, True, True, True, True, True])
        self.assertEqual(v["finals"], [0.9, 0.8, 0.79, None, None, None, None])
        lagging = events.run_finished("completed", "done", 3, 3, 1, distances, started, train_accuracy=1.0)["lagging"]
        self.assertEqual([l["name"] for l in lagging], ["c", "d", "e", "f", "g"])
        self.assertEqual(lagging[0], {"name": "c", "distance": 0.79})
        # A layer without a final distance takes its last record's (a log's reader).
        v = events.judge_finished(started, dict(fit, finalDistances=[]), last_distances=[0.1] * 7)
        self.assertEqual(v["finals"], [0.1] * 7)
        at = events.run_started("id", "n", None, "cpu", "d", {"classes": 10}, layers[:1], 3, 1, 1, 3, 0.5, 0)
        self.assertEqual(events.judge_finished(at, dict(fit, finalDistances=[0.5]))["lagging"], [False])

    def _started(self, names=("x", "y"), **kw):
        layers = [{"name": n, "kind": "dense", "params": 3} for n in names]
        return events.run_started("id", "n", None, "cpu", "d", {"classes": 10}, layers, 3, 1, 1, 3, 1, 0.2, **kw)

    def test_run_finished_decides_lagging_only_when_the_run_fit(self):
        started = self._started()
        e = events.run_finished(
            "completed", "done", 10, 2.0, 1.5, [1.0, 0.1], started, 0.3, 0.9, train_loss=0.02, train_accuracy=0.995
        )
        self.assertEqual(
            list(e),
            [
                "type",
                "status",
                "reason",
                "step",
                "epoch",
                "finalDistances",
                "testLoss",
                "testAccuracy",
                "trainLoss",
                "trainAccuracy",
                "lagging",
                "seconds",
            ],
        )
        self.assertEqual(e["lagging"], [{"name": "y", "distance": 0.1}])
        # Not fit (below fitAccuracy 0.99): nothing lags.
        not_fit = events.run_finished("completed", "done", 10, 2.0, 1.5, [1.0, 0.1], started, 0.3, 0.9, 0.1, 0.97)
        self.assertEqual((events.run_verdict(started, not_fit), not_fit["lagging"]), ("not-fit", []))
        # Fit by stopping.lossBelow.
        by_loss = self._started(stopping={"lossBelow": 0.01, "plateau": {"epochs": 1, "tolerance": 0}})
        self.assertEqual(by_loss["stopping"], {"lossBelow": 0.01})
        e = events.run_finished("completed", "done", 10, 2.0, 1.5, [1.0, 0.1], by_loss, 0.3, 0.9, 0.005, 0.97)
        self.assertEqual([l["name"] for l in e["lagging"]], ["y"])
        failed = events.run_finished("failed", "bad config", 0, 0, 0)
        self.assertEqual((failed["finalDistances"], failed["lagging"], failed["testLoss"]), ([], [], None))

    def test_run_verdict_no_learning(self):
        started = self._started()
        # At chance (1/10) with every layer at the target: the default example at 3x its rate.
        chance = {"status": "completed", "finalDistances": [1.0, 0.99], "trainAccuracy": 0.104, "testAccuracy": 0.11}
        self.assertEqual(events.run_verdict(started, chance), "no-learning")
        # Diverged: failed with a distance that is not finite, whatever the accuracy before.
        diverged = {"status": "failed", "finalDistances": [None, 0.5], "trainAccuracy": 0.9}
        self.assertEqual(events.run_verdict(started, diverged), "no-learning")
        self.assertEqual(events.run_finished("failed", "NaN", 1, 1, 1, [math.nan, 0.5], started)["lagging"], [])
        # Test accuracy at chance counts only when the run did not fit; the margin is at least 0.02,
        # or stopping.chance.margin.
        self.assertEqual(
            events.run_verdict(started, {"status": "completed", "trainAccuracy": 0.5, "testAccuracy": 0.12}),
            "no-learning",
        )
        self.assertEqual(
            events.run_verdict(started, {"status": "completed", "trainAccuracy": 1.0, "testAccuracy": 0.1}), "judged"
        )
        wide = self._started(stopping={"chance": {"epochs": 1, "margin": 0.1}})
        self.assertEqual(events.run_verdict(wide, {"status": "completed", "trainAccuracy": 0.19}), "no-learning")
        # No training accuracy in run_finished: the last epoch_end's.
        self.assertEqual(
            events.run_verdict(started, {"status": "completed"}, {"accuracy": 0.995, "loss": 0.01}), "judged"
        )
        self.assertEqual(events.run_verdict(started, {"status": "completed"}), "not-fit")

    def test_run_started_optional_fields(self):
        args = ("id", "n", None, "cpu", "PyTorch", {"name": "d"}, [], 1, 2, 3, 2, 1, 0.2)
        e = events.run_started(*args)
        self.assertNotIn("model", e)
        self.assertNotIn("schedule", e)
        self.assertIsNone(e["configFile"])
        e = events.run_started(*args, model="mlp", optimizer="sgd", seed=0, schedule={"learningRate": 0.1})
        self.assertEqual(list(e)[7:10], ["dataset", "model", "optimizer"])
        self.assertEqual(list(e)[-2:], ["seed", "schedule"])

    def test_lines(self):
        line = events.to_json_line(events.stamp(events.rotation(3, 0.5, [0.1, math.nan], [0.0, math.inf], 3)))
        self.assertTrue(line.endswith("\n"))
        e = json.loads(line)
        self.assertEqual(e["v"], 1)
        self.assertEqual(list(e)[2:], ["type", "step", "epoch", "distances", "rotation", "steps"])
        self.assertEqual((e["distances"], e["rotation"]), ([0.1, None], [0.0, None]))
        self.assertEqual(
            events.batch(1, 0.1, 2.0, 0.5, 0.01),
            {"type": "batch", "step": 1, "epoch": 0.1, "loss": 2.0, "accuracy": 0.5, "learningRate": 0.01},
        )
        self.assertEqual(events.log("warning", 3), {"type": "log", "level": "warning", "message": "3"})

    def test_summary(self):
        started = self._started(["x"])
        self.assertEqual(started["fitAccuracy"], 0.99)
        finished = events.run_finished("completed", "ok", 1, 1.0, 2.0, [0.5], started, train_accuracy=1.0)
        s = events.make_summary("id", started, finished)
        self.assertEqual(
            s["layers"], [{"name": "x", "kind": "dense", "params": 3, "finalDistance": 0.5, "lagging": True}]
        )
        self.assertEqual((s["verdict"], s["trainAccuracy"], s["lagging"]), ("judged", 1.0, ["x"]))
        not_fit = events.run_finished("completed", "ok", 1, 1.0, 2.0, [0.5], started, train_accuracy=0.9)
        s = events.make_summary("id", started, not_fit)
        self.assertEqual((s["verdict"], s["lagging"], s["layers"][0]["lagging"]), ("not-fit", [], False))


if __name__ == "__main__":
    unittest.main()

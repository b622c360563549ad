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
        distances = [0.9, 0.8, 0.79, math.nan, math.inf, None]  # g has no distance at all
        lagging = events.lagging_layers(names, distances, 1, 0.2)
        self.assertEqual([l["name"] for l in lagging], ["c", "d", "e", "f", "g"])
        self.assertEqual(lagging[0], {"name": "c", "distance": 0.79})
        self.assertEqual(events.lagging_layers(["a"], [0.5], 0.5, 0), [])

    def test_run_finished_decides_lagging(self):
        e = events.run_finished("completed", "done", 10, 2.0, 1.5, [1.0, 0.1], ["x", "y"], 1, 0.2, 0.3, 0.9)
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
                "lagging",
                "seconds",
            ],
        )
        self.assertEqual(e["lagging"], [{"name": "y", "distance": 0.1}])
        failed = events.run_finished("failed", "bad config", 0, 0, 0)
        self.assertEqual((failed["finalDistances"], failed["lagging"], failed["testLoss"]), ([], [], None))

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
        started = events.run_started(
            "id", "n", None, "cpu", "d", {}, [{"name": "x", "kind": "dense", "params": 3}], 1, 1, 1, 1, 1, 0.2
        )
        finished = events.run_finished("completed", "ok", 1, 1.0, 2.0, [0.5], ["x"], 1, 0.2)
        s = events.make_summary("id", started, finished)
        self.assertEqual(
            s["layers"], [{"name": "x", "kind": "dense", "params": 3, "finalDistance": 0.5, "lagging": True}]
        )
        self.assertEqual(s["lagging"], ["x"])


if __name__ == "__main__":
    unittest.main()

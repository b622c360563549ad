"""The Python engine against test/fixtures/golden.json, written from the TS validator (the
reference): for every example and fixture config, the resolved config (every default filled in),
the kernel layers' names and config paths, and the names of the torch model's kernel layers."""
import json
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from layer_rotation.config import kernel_layer_sources, load_config  # noqa: E402
from layer_rotation.models import build_model  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GOLDEN = os.path.join(ROOT, "test", "fixtures", "golden.json")

# A small image for the CNNs of mnist and cifar10 (the layers' names do not depend on the size).
CHANNELS = {"mnist": 1, "cifar10": 3}


def same_json(a, b):
    """Equal as JSON values: numbers compare as floats (1e-8 and 1e-08, 1 and 1.0), booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def model_input(config):
    ds = config["dataset"]
    if ds["name"] == "synthetic":
        return ds["inputShape"], ds["classes"]
    if config["model"]["type"] == "mlp":
        return [28 * 28 * CHANNELS[ds["name"]]], 10
    return [8, 8, CHANNELS[ds["name"]]], 10


class Golden(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(GOLDEN, encoding="utf-8") as f:
            cls.golden = json.load(f)["configs"]

    def test_covers_the_examples_and_fixtures(self):
        files = {c["file"] for c in self.golden}
        examples = os.listdir(os.path.join(ROOT, "examples"))
        examples = {"examples/" + f for f in examples if f.endswith(".layerrot.json")}
        self.assertTrue(examples)
        self.assertLessEqual(examples, files)
        self.assertTrue(any(f.startswith("test/fixtures/configs/") for f in files))

    def test_resolved_configs(self):
        for entry in self.golden:
            with self.subTest(config=entry["file"]):
                config, _ = load_config(os.path.join(ROOT, entry["file"]))
                self.assertTrue(
                    same_json(config, entry["resolved"]),
                    "%s\nPython: %s\nTS:     %s"
                    % (
                        entry["file"],
                        json.dumps(config, sort_keys=True),
                        json.dumps(entry["resolved"], sort_keys=True),
                    ),
                )

    def test_kernel_layers(self):
        for entry in self.golden:
            with self.subTest(config=entry["file"]):
                model = entry["resolved"]["model"]
                self.assertEqual(
                    [{"name": n, "configPath": p} for n, p in kernel_layer_sources(model)], entry["layers"]
                )

    def test_torch_models(self):
        for entry in self.golden:
            with self.subTest(config=entry["file"]):
                config = entry["resolved"]
                shape, classes = model_input(config)
                m = build_model(config["model"], shape, classes, seed=0)
                names = [l["name"] for l in entry["layers"]]
                self.assertEqual([l["name"] for l in m.layers], names)
                self.assertEqual([l["configPath"] for l in m.layers], [l["configPath"] for l in entry["layers"]])
                by_name = dict(m.named_modules())
                self.assertEqual([by_name[n] for n in names], m.kernel_modules)


class SameJson(unittest.TestCase):
    def test_numbers_as_floats(self):
        self.assertTrue(same_json({"a": [1e-8, 1]}, {"a": [1e-08, 1.0]}))
        self.assertFalse(same_json({"a": 1}, {"a": True}))
        self.assertFalse(same_json({"a": 1}, {"a": 1, "b": 2}))
        self.assertFalse(same_json([0.1], [0.10001]))


if __name__ == "__main__":
    unittest.main()

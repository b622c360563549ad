"""Config parsing: comments, trailing commas, the defaults of CONFIG_DEFAULTS, errors naming the field."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from layer_rotation.config import (  # noqa: E402
    ConfigError,
    kernel_layer_names,
    load_config,
    parse_config_text,
    with_model_defaults,
)  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

TEXT = """{
  // a comment with "quotes" and a /* in it
  "name": "t",
  "dataset": { "name": "synthetic", "samples": 100, "testSamples": 10, "inputShape": [8], "classes": 3, },
  /* block
     comment */
  "model": { "type": "mlp", "hidden": [16, 8] },
  "optimizer": { "type": "sgd", "learningRate": 0.1, "layca": true },
  "schedule": { "epochs": 2, "batchSize": 16 }, // trailing comma next
}"""


class Parsing(unittest.TestCase):
    def test_comments_trailing_commas_and_defaults(self):
        c, warnings = parse_config_text(TEXT, "/x/t.layerrot.json")
        self.assertEqual(warnings, [])
        self.assertEqual(c["seed"], 0)
        self.assertEqual(c["dataset"]["validationSplit"], 0)
        self.assertTrue(c["dataset"]["normalize"])
        self.assertEqual(c["model"]["kernelInitializer"], "he_normal")
        self.assertEqual(c["model"]["activation"], "relu")
        self.assertTrue(c["model"]["useBias"])
        self.assertEqual(c["optimizer"]["momentum"], 0)
        self.assertEqual(c["optimizer"]["rho"], 0.9)
        self.assertEqual(c["optimizer"]["initialAccumulatorValue"], 0.1)
        self.assertEqual(c["optimizer"]["epsilon"], 1e-8)
        self.assertEqual(c["monitoring"], {"recordsPerEpoch": 10, "target": 1, "lagMargin": 0.2})
        self.assertEqual(c["schedule"]["warmupEpochs"], 0)
        self.assertEqual(c["stopping"], {})

    def test_name_from_the_file(self):
        text = TEXT.replace('"name": "t",', "")
        c, _ = parse_config_text(text, "/x/my-run.layerrot.json")
        self.assertEqual(c["name"], "my-run")

    def test_examples_parse(self):
        for f in sorted(os.listdir(os.path.join(ROOT, "examples"))):
            if f.endswith(".layerrot.json"):
                with self.subTest(example=f):
                    c, _ = load_config(os.path.join(ROOT, "examples", f))
                    self.assertTrue(kernel_layer_names(c["model"]))

    def errors(self, text):
        with self.assertRaises(ConfigError) as cm:
            parse_config_text(text, "bad.layerrot.json")
        return "\n".join(cm.exception.errors)

    def test_errors_name_the_field(self):
        self.assertIn(
            "dataset.name: unknown dataset 'foo' (expected mnist, cifar10, synthetic)",
            self.errors(TEXT.replace('"name": "synthetic"', '"name": "foo"')),
        )
        self.assertIn(
            "optimizer.learningRate must be a number > 0",
            self.errors(TEXT.replace('"learningRate": 0.1', '"learningRate": -1')),
        )
        self.assertIn(
            "missing required key 'schedule'",
            self.errors(TEXT.replace('"schedule": { "epochs": 2, "batchSize": 16 },', "")),
        )
        self.assertIn(
            "optimizer.lr: unknown key 'lr'",
            self.errors(TEXT.replace('"learningRate": 0.1', '"learningRate": 0.1, "lr": 1')),
        )
        self.assertIn(
            "model.depth 21 is not a valid ResNet depth",
            self.errors(TEXT.replace('"type": "mlp", "hidden": [16, 8]', '"type": "resnet", "depth": 21')),
        )
        self.assertIn(
            "optimizer.layerMultipliers has 1 entries but the model has 3 kernel layers",
            self.errors(TEXT.replace('"layca": true', '"layca": true, "layerMultipliers": [1]')),
        )
        self.assertIn("not valid JSON", self.errors("{ nope"))

    def test_layer_names_as_ts(self):
        self.assertEqual(
            kernel_layer_names(with_model_defaults({"type": "mlp", "hidden": [3, 4]})), ["dense1", "dense2", "output"]
        )
        self.assertEqual(
            kernel_layer_names(
                with_model_defaults({"type": "vgg", "filters": [8, 16], "convsPerStage": [1, 2], "dense": [10]})
            ),
            ["conv1_1", "conv2_1", "conv2_2", "fc1", "output"],
        )
        names = kernel_layer_names(with_model_defaults({"type": "resnet", "depth": 20}))
        self.assertEqual(len(names), 1 + 3 * 3 * 2 + 2 + 1)
        self.assertEqual(names[:3], ["conv1", "s1b1_conv1", "s1b1_conv2"])
        self.assertIn("s2b1_shortcut", names)
        self.assertIn("s3b1_shortcut", names)
        self.assertNotIn("s1b1_shortcut", names)

    def test_check_command(self):
        from layer_rotation.__main__ import main

        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "x.layerrot.json")
            with open(f, "w") as fh:
                fh.write(TEXT.replace('"classes": 3', '"classes": 1'))
            self.assertEqual(main(["check", f]), 1)
            with open(f, "w") as fh:
                json.dump(
                    {
                        "dataset": {"name": "mnist"},
                        "model": {"type": "mlp", "hidden": []},
                        "optimizer": {"type": "adam", "learningRate": 1e-3},
                        "schedule": {"epochs": 1, "batchSize": 8},
                    },
                    fh,
                )
            self.assertEqual(main(["check", f]), 0)


if __name__ == "__main__":
    unittest.main()

"""Config parsing: comments, trailing commas, the schema's defaults, errors naming the field, the rules the schema
cannot say, and jsonschema needed only for raw configs."""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from layer_rotation.config import (  # noqa: E402
    SCHEMA_FILE,
    ConfigError,
    JsonschemaMissing,
    kernel_layer_names,
    load_config,
    load_resolved,
    parse_config_text,
    strip_jsonc,
    with_model_defaults,
)  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

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
        self.assertEqual(
            c["monitoring"],
            {"recordsPerEpoch": 10, "target": 1, "lagMargin": 0.2, "fitAccuracy": 0.99, "features": True},
        )
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
            "dataset.name must be one of 'mnist', 'cifar10', 'synthetic', got 'foo'",
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

    def test_a_sweep_block_is_accepted_and_kept(self):
        sweep = {"optimizer.learningRate": [0.01, 0.1], "seed": [1, 2]}
        text = TEXT.replace('"name": "t",', '"name": "t", "sweep": %s,' % json.dumps(sweep))
        config, warnings = parse_config_text(text, "s.layerrot.json")
        self.assertEqual(config["sweep"], sweep)
        self.assertEqual(warnings, [])
        self.assertNotIn("sweep", parse_config_text(TEXT, "t.layerrot.json")[0])  # no empty one added
        with self.assertRaises(ConfigError) as cm:
            parse_config_text(TEXT.replace('"name": "t",', '"name": "t", "sweep": {"seed": []},'), "e.layerrot.json")
        self.assertTrue(any(e.startswith("sweep") for e in cm.exception.errors), cm.exception.errors)

    def test_train_refuses_a_sweep_as_the_ts_cli_does(self):
        from layer_rotation.__main__ import main

        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "s.layerrot.json")
            with open(f, "w") as fh:
                fh.write(TEXT.replace('"name": "t",', '"name": "t", "sweep": {"seed": [1, 2]},'))
            runs = os.path.join(d, "runs")
            with mock.patch("sys.stderr") as stderr:
                self.assertEqual(main(["train", f, "--runs-dir", runs, "--quiet"]), 2)
            said = "".join(c.args[0] for c in stderr.write.call_args_list)
            self.assertIn("has a sweep block", said)
            self.assertIn("layer-rotation sweep", said)
            self.assertFalse(os.path.exists(runs), "no run folder for a refused config")
            self.assertEqual(main(["check", f]), 0)

    def warnings(self, text):
        return parse_config_text(text, "w.layerrot.json")[1]

    def test_rules_the_schema_cannot_say(self):
        decay = '"schedule": { "epochs": 5, "batchSize": 16, "decay": { "factor": 0.1, "epochs": [%s] } }'
        self.assertIn(
            "schedule.decay.epochs must be strictly increasing: 2 comes after 3",
            self.errors(TEXT.replace('"schedule": { "epochs": 2, "batchSize": 16 }', decay % "3, 2")),
        )
        self.assertEqual(
            self.warnings(TEXT.replace('"schedule": { "epochs": 2, "batchSize": 16 }', decay % "2, 5")),
            ["schedule.decay.epochs[1] = 5 never applies: training stops after schedule.epochs = 5 epochs"],
        )
        self.assertEqual(
            self.warnings(TEXT.replace('"batchSize": 16 }', '"batchSize": 16, "warmupEpochs": 2 }')),
            ["schedule.warmupEpochs 2 is not below schedule.epochs 2: the warmup never ends"],
        )
        self.assertEqual(
            self.warnings(TEXT.replace('"layca": true', '"layca": true, "beta1": 0.5, "nesterov": true')),
            [
                "optimizer.beta1 is ignored by sgd (it applies to adam)",
                "optimizer.nesterov has no effect without momentum: set optimizer.momentum > 0",
            ],
        )
        self.assertEqual(
            self.warnings(TEXT.replace('"name": "t",', '"name": "t", "engine": "pytorch", "backend": "wasm",')),
            ["backend chooses the tfjs backend and is ignored by the pytorch engine (its device is pytorch.device)"],
        )
        self.assertEqual(
            self.warnings(
                TEXT.replace('"name": "t",', '"name": "t", "engine": "tfjs", "pytorch": { "device": "cpu" },')
            ),
            ['pytorch options apply to the pytorch engine only: set "engine": "pytorch" to use them'],
        )
        # engine auto (the default) may train with either: the options of both apply.
        self.assertEqual(
            self.warnings(
                TEXT.replace('"name": "t",', '"name": "t", "backend": "wasm", "pytorch": { "device": "cpu" },')
            ),
            [],
        )
        self.assertIn(
            "optimizer.layerMultipliers.dense9: unknown layer 'dense9'; the model's kernel layers are dense1, dense2, "
            "output",
            self.errors(TEXT.replace('"layca": true', '"layca": true, "layerMultipliers": { "dense9": 2 }')),
        )
        self.assertIn(
            "model.convsPerStage has 1 entries but filters has 2 stages",
            self.errors(
                TEXT.replace(
                    '"type": "mlp", "hidden": [16, 8]', '"type": "vgg", "filters": [4, 8], "convsPerStage": [1]'
                ).replace('"inputShape": [8]', '"inputShape": [8, 8, 1]')
            ),
        )
        self.assertIn(
            "a vgg model needs image inputs: dataset.inputShape must be [height, width, channels], got 1 dimension",
            self.errors(TEXT.replace('"type": "mlp", "hidden": [16, 8]', '"type": "vgg", "filters": [4]')),
        )

    def test_schema_errors_say_what_is_expected(self):
        errors = self.errors(
            TEXT.replace('"hidden": [16, 8]', '"hidden": [16, 0], "activation": "gelu"')
            .replace('"name": "t",', '"name": "t", "seed": -1, "bogus": true,')
            .replace('"classes": 3,', "")
        )
        self.assertIn("model.hidden[1] must be an integer in [1, 1048576], got 0", errors)
        self.assertIn("model.activation must be one of 'relu', 'tanh', 'sigmoid', 'linear', got 'gelu'", errors)
        self.assertIn("seed must be an integer in [0, 4294967295], got -1", errors)
        self.assertIn("bogus: unknown key 'bogus' at the top level; allowed keys: name, seed, engine,", errors)
        self.assertIn(
            "missing required key 'classes' in dataset: Number of classes, an integer in [2, 100000].", errors
        )
        self.assertNotIn("$schema", errors)

    def test_defaults_are_the_schemas(self):
        with open(SCHEMA_FILE, encoding="utf-8") as f:
            schema = json.load(f)
        props = schema["properties"]
        c, _ = parse_config_text(TEXT, "/x/t.layerrot.json")
        given = json.loads(strip_jsonc(TEXT))
        for section in ("optimizer", "monitoring", "pytorch", "schedule"):
            expected = {
                k: p["default"]
                for k, p in props[section]["properties"].items()
                if "default" in p and k not in given.get(section, {})
            }
            self.assertTrue(expected)
            self.assertEqual({k: c[section][k] for k in expected}, expected, section)
        for key in ("seed", "engine", "backend"):
            self.assertEqual(c[key], props[key]["default"])
        self.assertEqual(
            with_model_defaults({"type": "resnet", "depth": 8})["filters"],
            schema["definitions"]["resnetModel"]["properties"]["filters"]["default"],
        )


RESOLVED = {
    "name": "no-jsonschema",
    "seed": 1,
    "dataset": {"name": "synthetic", "samples": 64, "testSamples": 16, "inputShape": [4], "classes": 2},
    "model": {"type": "mlp", "hidden": [4]},
    "optimizer": {"type": "sgd", "learningRate": 0.1},
    "schedule": {"epochs": 1, "batchSize": 16},
}

# Runs the engine's command line with the import of jsonschema blocked; prints the exit code.
WITHOUT_JSONSCHEMA = """
import sys
sys.modules["jsonschema"] = None
sys.path.insert(0, sys.argv[1])
from layer_rotation.__main__ import main
print("exit", main(sys.argv[2:]))
"""


class WithoutJsonschema(unittest.TestCase):
    def test_raw_configs_need_it(self):
        with mock.patch.dict(sys.modules, {"jsonschema": None}):
            with self.assertRaises(JsonschemaMissing) as cm:
                parse_config_text(TEXT, "/x/t.layerrot.json")
        self.assertIsInstance(cm.exception, ConfigError)
        self.assertEqual(cm.exception.file, "/x/t.layerrot.json")
        (message,) = cm.exception.errors
        self.assertIn("jsonschema", message)
        self.assertIn("pip install jsonschema", message)
        self.assertIn("apt install python3-jsonschema", message)
        parse_config_text(TEXT, "/x/t.layerrot.json")  # and with it, fine again

    def test_resolved_configs_do_not(self):
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "resolved.json")
            resolved, _ = parse_config_text(json.dumps(RESOLVED), os.path.join(d, "r.layerrot.json"))
            with open(f, "w") as fh:
                json.dump(resolved, fh)
            with mock.patch.dict(sys.modules, {"jsonschema": None}):
                self.assertEqual(load_resolved(f, os.path.join(d, "r.layerrot.json")), resolved)
                broken = copy.deepcopy(resolved)
                del broken["optimizer"]
                broken["model"]["depth"] = 9
                broken["model"]["type"] = "resnet"
                with open(f, "w") as fh:
                    json.dump(broken, fh)
                with self.assertRaises(ConfigError) as cm:
                    load_resolved(f, os.path.join(d, "r.layerrot.json"))
            self.assertEqual(cm.exception.errors, ["missing required key 'optimizer' at the top level"])

    def cli(self, *args):
        r = subprocess.run(
            [sys.executable, "-c", WITHOUT_JSONSCHEMA, os.path.join(HERE, ".."), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout, r.stderr

    def test_command_line(self):
        with tempfile.TemporaryDirectory() as d:
            config = os.path.join(d, "r.layerrot.json")
            with open(config, "w") as fh:
                json.dump(RESOLVED, fh)
            resolved = os.path.join(d, "resolved.json")
            with open(resolved, "w") as fh:
                json.dump(parse_config_text(json.dumps(RESOLVED), config)[0], fh)
            # The editor's way: the resolved config trains.
            run = os.path.join(d, "run")
            out, err = self.cli("train", config, "--resolved-config", resolved, "--run-dir", run, "--quiet")
            self.assertIn("exit 0", out, err)
            with open(os.path.join(run, "events.jsonl")) as fh:
                events = [json.loads(line) for line in fh]
            self.assertEqual(events[0]["name"], "no-jsonschema")
            self.assertEqual(events[-1]["status"], "completed")
            # A raw config: a clear failure.
            out, _ = self.cli("check", config)
            self.assertIn("exit 1", out)
            self.assertIn("%s: checking a config needs the Python package jsonschema" % config, out)
            run = os.path.join(d, "run2")
            out, err = self.cli("train", config, "--run-dir", run, "--quiet")
            self.assertIn("exit 1", out)
            with open(os.path.join(run, "events.jsonl")) as fh:
                (finished,) = [json.loads(line) for line in fh]
            self.assertEqual(finished["status"], "failed")
            self.assertIn("pip install jsonschema", finished["reason"])


if __name__ == "__main__":
    unittest.main()

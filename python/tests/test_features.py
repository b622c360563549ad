"""First-layer features (the `features` event): the encoding and the layout (as the TS engine's),
what readers skip, the PyTorch engine's snapshots against its model's first kernel at step 0,
epoch ends and the end, and RotationLogger's (on by default for image inputs, off, required,
an explicit image, channels-first flattening)."""
import base64
import json
import os
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from layer_rotation import RotationLogger, engine, events  # noqa: E402
from layer_rotation import features as F  # noqa: E402
from layer_rotation.__main__ import main  # noqa: E402
from layer_rotation.report import read_run_log  # noqa: E402


def read_events(run_dir):
    with open(os.path.join(run_dir, "events.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f.read().splitlines()]


def decode(e):
    """units x (h w c) floats, as decodeFeatures in TS."""
    q = torch.tensor(list(base64.b64decode(e["data"])), dtype=torch.int16)
    q = torch.where(q > 127, q - 256, q).to(torch.float64).reshape(e["units"], -1)
    return q * torch.tensor(e["scales"], dtype=torch.float64).unsqueeze(1)


class Encoding(unittest.TestCase):
    def test_rounds_half_away_from_zero_in_int8(self):
        scales, data = F.quantize_units(torch.tensor([[127.0, -0.5, 0.5, 1.5], [0.0, 0.0, 0.0, 0.0]]))
        self.assertEqual(scales, [1.0, 0.0])
        self.assertEqual(list(base64.b64decode(data)), [127, 255, 1, 2, 0, 0, 0, 0])
        self.assertIsNone(F.quantize_units(torch.tensor([[1.0, float("nan")]])))

    def test_within_half_a_scale_and_scales_with_6_digits(self):
        torch.manual_seed(0)
        w = torch.randn(64, 784) * 0.05
        scales, data = F.quantize_units(w)
        e = events.features(0, 0, "dense1", "dense", [28, 28, 1], 64, 256, scales, data)
        self.assertIsNone(events.features_problem(e))
        self.assertEqual(len(e["data"]), 66904)
        for s, m in zip(scales, w.abs().amax(1).tolist()):
            self.assertEqual(s, float("%.6g" % (m / 127)))
        err = (decode(e) - w.double()).abs()
        self.assertTrue(bool((err <= 0.501 * torch.tensor(scales, dtype=torch.float64).unsqueeze(1)).all()))

    def test_due_every_epoch_to_8_then_4_per_doubling(self):
        due = [e for e in range(1, 71) if F.features_due(e)]
        self.assertEqual(due, [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64])
        self.assertFalse(F.features_due(0))

    def test_bounds(self):
        self.assertEqual(F.feature_image("dense", [784, 256], [28, 28, 1]), [28, 28, 1])
        self.assertIsNone(F.feature_image("dense", [32, 8], [32]))
        self.assertIsNone(F.feature_image("dense", [128, 8], [8, 8, 2]))
        self.assertEqual(F.feature_image("conv2d", [3, 3, 3, 64], None), [3, 3, 3])
        self.assertIsNone(F.feature_image("conv2d", [3, 3, 16, 16], None))
        self.assertEqual(F.feature_units([28, 28, 1], 256), 64)
        self.assertEqual(F.feature_units([32, 32, 3], 512), 21)
        self.assertEqual(F.feature_units([256, 256, 3], 64), 0)

    def test_layouts_are_the_tfjs_engines(self):
        # Linear [out, in]: unit j is row j; tfjs [in, out] = its transpose, unit j the column.
        lin = torch.arange(6 * 4, dtype=torch.float32).reshape(4, 6)
        self.assertTrue(torch.equal(F.unit_images(lin, "dense", 2, [2, 3, 1]), lin[:2]))
        # Conv2d [cout, cin, kh, kw]; tfjs [kh, kw, cin, cout]: filter j's (y, x, c) is K[y, x, c, j].
        conv = torch.arange(5 * 3 * 2 * 2, dtype=torch.float32).reshape(5, 3, 2, 2)
        k = conv.permute(2, 3, 1, 0)
        units = F.unit_images(conv, "conv2d", 4, [2, 2, 3])
        for j in range(4):
            expected = [k[y, x, c, j].item() for y in range(2) for x in range(2) for c in range(3)]
            self.assertEqual(units[j].tolist(), expected)
        # A Linear on images flattened channels first (x.flatten(1) of NCHW): made channels last.
        chw = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 12)
        units = F.unit_images(chw, "dense", 2, [2, 2, 3], "chw")
        for j in range(2):
            expected = [chw[j, c * 4 + y * 2 + x].item() for y in range(2) for x in range(2) for c in range(3)]
            self.assertEqual(units[j].tolist(), expected)

    def test_readers_skip_a_malformed_snapshot_with_the_reason(self):
        scales, data = F.quantize_units(torch.randn(4, 25))
        good = dict(v=1, **events.features(0, 0, "dense1", "dense", [5, 5, 1], 4, 4, scales, data))
        cases = [
            ({"step": "x"}, 'numeric "step"'),
            ({"encoding": "float16"}, 'unknown features encoding "float16"'),
            ({"image": [5, 5, 2]}, "channels must be 1 or 3, not 2"),
            ({"units": 65}, '"units"'),
            ({"image": [256, 256, 1], "units": 2}, "more than 65536"),
            ({"scales": [1, 1, 1]}, '"scales"'),
            ({"data": data[4:]}, "base64 of 100 int8"),
            ({"totalUnits": 3}, '"totalUnits"'),
        ]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "events.jsonl")
            started = {"v": 1, "type": "run_started", "runId": "r", "layers": [{"name": "dense1"}]}
            lines = [started, good] + [dict(good, **change) for change, _ in cases] + [dict(good, step=9)]
            with open(path, "w") as f:
                f.write("".join(json.dumps(x) + "\n" for x in lines))
            log = read_run_log(path)
            self.assertEqual([line for line, _ in log.skipped], list(range(3, 3 + len(cases))))
            for (line, reason), (_, expected) in zip(log.skipped, cases):
                self.assertIn(expected, reason, line)
            self.assertEqual((log.features[0]["step"], log.features[1]["step"]), (0, 9))


class Recording(F.FeatureSnapshots):
    """FeatureSnapshots that also keep the kernel as it was at each snapshot."""

    kernels = []

    def snapshot(self, step, epoch):
        Recording.kernels.append((step, self.weight.detach().clone()))
        return super().snapshot(step, epoch)


def synthetic(shape, model, epochs=3):
    return {
        "name": "features",
        "seed": 4,
        "dataset": {"name": "synthetic", "samples": 400, "testSamples": 100, "inputShape": shape, "classes": 4},
        "model": model,
        "optimizer": {"type": "sgd", "learningRate": 0.05},
        "schedule": {"epochs": epochs, "batchSize": 50},
    }


class Engine(unittest.TestCase):
    def run_config(self, config, *extra):
        d = tempfile.mkdtemp(prefix="lr-features-")
        f = os.path.join(d, "c.layerrot.json")
        with open(f, "w") as fh:
            json.dump(config, fh)
        Recording.kernels = []
        saved = engine.FeatureSnapshots
        engine.FeatureSnapshots = Recording
        try:
            code = main(["train", f, "--run-dir", os.path.join(d, "run"), "--threads", "1", "--quiet", *extra])
        finally:
            engine.FeatureSnapshots = saved
        return code, read_events(os.path.join(d, "run")), os.path.join(d, "run")

    def check_against_kernels(self, snaps, kind):
        self.assertEqual([s["step"] for s in snaps], [step for step, _ in Recording.kernels])
        for s, (_, w) in zip(snaps, Recording.kernels):
            self.assertIsNone(events.features_problem(s))
            units = w[: s["units"]]
            expected = units if kind == "dense" else units.permute(0, 2, 3, 1)
            err = (decode(s) - expected.reshape(s["units"], -1).double()).abs()
            bound = 0.501 * torch.tensor(s["scales"], dtype=torch.float64).unsqueeze(1)
            self.assertTrue(bool((err <= bound).all()), "step %d" % s["step"])

    def test_mlp_on_28x28_images(self):
        code, evs, run_dir = self.run_config(synthetic([28, 28, 1], {"type": "mlp", "hidden": [80, 16]}))
        self.assertEqual(code, 0)
        snaps = [e for e in evs if e["type"] == "features"]
        self.assertEqual([(s["step"], s["epoch"]) for s in snaps], [(0, 0), (8, 1), (16, 2), (24, 3)])
        for s in snaps:
            self.assertEqual(
                (s["layer"], s["kind"], s["image"], s["units"], s["totalUnits"], s["encoding"]),
                ("dense1", "dense", [28, 28, 1], 64, 80, "int8"),
            )
        types = [e["type"] for e in evs]
        self.assertEqual(types[types.index("features") - 1], "rotation")
        self.assertTrue(all(types[i] == "features" for i in range(1, len(types)) if types[i - 1] == "epoch_end"))
        self.check_against_kernels(snaps, "dense")
        self.assertNotEqual(snaps[0]["data"], snaps[-1]["data"])
        self.assertEqual(read_run_log(os.path.join(run_dir, "events.jsonl")).skipped, [])

    def test_step_limit_mid_epoch_gets_a_last_snapshot(self):
        code, evs, _ = self.run_config(synthetic([28, 28, 1], {"type": "mlp", "hidden": [16]}), "--max-steps", "12")
        self.assertEqual(code, 0)
        snaps = [e for e in evs if e["type"] == "features"]
        self.assertEqual([(s["step"], s["epoch"], s["units"]) for s in snaps], [(0, 0, 16), (8, 1, 16), (12, 1.5, 16)])
        self.assertEqual(evs[-1]["type"], "run_finished")
        self.check_against_kernels(snaps, "dense")

    def test_cnn_on_rgb(self):
        model = {"type": "vgg", "filters": [6, 8], "convsPerStage": [1, 1], "dense": [], "batchNorm": False}
        cfg = synthetic([8, 8, 3], model, epochs=2)
        cfg["dataset"]["samples"] = 64
        cfg["schedule"]["batchSize"] = 16
        code, evs, _ = self.run_config(cfg)
        self.assertEqual(code, 0)
        snaps = [e for e in evs if e["type"] == "features"]
        self.assertEqual(
            [(s["step"], s["layer"], s["kind"], s["image"], s["units"]) for s in snaps],
            [(0, "conv1_1", "conv2d", [3, 3, 3], 6), (4, "conv1_1", "conv2d", [3, 3, 3], 6)]
            + [(8, "conv1_1", "conv2d", [3, 3, 3], 6)],
        )
        self.check_against_kernels(snaps, "conv2d")

    def test_not_images_get_none(self):
        code, evs, _ = self.run_config(synthetic([32], {"type": "mlp", "hidden": [8]}, epochs=1))
        self.assertEqual(code, 0)
        self.assertFalse(any(e["type"] == "features" for e in evs))


class Logger(unittest.TestCase):
    def train(self, model, x, run, epochs=2, steps=3, **kw):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        y = torch.randint(0, 3, (x.shape[0],))
        with RotationLogger(model, run, every=2, epochs=epochs, steps_per_epoch=steps, **kw) as logger:
            for _ in range(epochs):
                for _ in range(steps):
                    opt.zero_grad()
                    torch.nn.functional.cross_entropy(model(x), y).backward()
                    opt.step()
                    logger.step()
                logger.epoch_end()
        return [e for e in read_events(run) if e["type"] == "features"], logger

    def test_conv_on_grey_images_by_default(self):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3))
        with tempfile.TemporaryDirectory() as d:
            snaps, _ = self.train(model, torch.randn(8, 1, 8, 8), os.path.join(d, "r"))
            self.assertEqual([s["step"] for s in snaps], [0, 3, 6])
            self.assertEqual([s["epoch"] for s in snaps], [0, 1, 2])
            s = snaps[-1]
            self.assertEqual(
                (s["layer"], s["kind"], s["image"], s["units"], s["totalUnits"]), ("0", "conv2d", [3, 3, 1], 4, 4)
            )
            expected = model[0].weight.detach().permute(0, 2, 3, 1).reshape(4, -1).double()
            self.assertLessEqual(float((decode(s) - expected).abs().max()), 0.501 * max(s["scales"]))

    def test_linear_on_rgb_images_flattened_channels_first(self):
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 5, 70), torch.nn.Linear(70, 3))
        x = torch.randn(8, 3, 4, 5)  # NCHW
        with tempfile.TemporaryDirectory() as d:
            snaps, _ = self.train(model, x, os.path.join(d, "r"), dataset={"name": "rgb", "inputShape": [4, 5, 3]})
            s = snaps[-1]
            self.assertEqual((s["layer"], s["image"], s["units"], s["totalUnits"]), ("1", [4, 5, 3], 64, 70))
            w = model[1].weight.detach()[:64].reshape(64, 3, 4, 5).permute(0, 2, 3, 1).reshape(64, -1).double()
            self.assertLessEqual(float((decode(s) - w).abs().max()), 0.501 * max(s["scales"]))
            # The same with the image given, channels last.
            snaps, _ = self.train(
                model, x.permute(0, 2, 3, 1), os.path.join(d, "h"), features=(4, 5, 3), flatten_order="hwc"
            )
            w = model[1].weight.detach()[:64].double()
            self.assertLessEqual(float((decode(snaps[-1]) - w).abs().max()), 0.501 * max(snaps[-1]["scales"]))

    def test_off_unless_images_and_when_asked(self):
        mlp = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.Linear(8, 3))
        with tempfile.TemporaryDirectory() as d:
            snaps, logger = self.train(mlp, torch.randn(4, 16), os.path.join(d, "a"))
            self.assertEqual(snaps, [])
            self.assertIsNone(logger.features)
            conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(2 * 4 * 4, 3))
            snaps, _ = self.train(conv, torch.randn(4, 1, 6, 6), os.path.join(d, "b"), features=False)
            self.assertEqual(snaps, [])
            with self.assertRaisesRegex(ValueError, r"pass features=\(h, w, c\)"):
                RotationLogger(mlp, os.path.join(d, "c"), features=True)
            with self.assertRaisesRegex(ValueError, r"not images of \[4, 4, 2\]"):
                RotationLogger(mlp, os.path.join(d, "e"), features=(4, 4, 2))
            with self.assertRaisesRegex(ValueError, "flatten_order"):
                RotationLogger(conv, os.path.join(d, "f"), flatten_order="nchw")


if __name__ == "__main__":
    unittest.main()

"""The models' kernel layers against the TS engine's naming, kinds, shapes, params and configPaths."""
import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from layer_rotation.config import kernel_layer_names, with_model_defaults  # noqa: E402
from layer_rotation.models import build_model, fans  # noqa: E402


class Models(unittest.TestCase):
    def test_mlp(self):
        m = build_model(with_model_defaults({"type": "mlp", "hidden": [256, 128]}), [784], 10, seed=0)
        self.assertEqual([l["name"] for l in m.layers], ["dense1", "dense2", "output"])
        self.assertEqual(
            m.layers[0],
            {
                "name": "dense1",
                "kind": "dense",
                "shape": [784, 256],
                "params": 784 * 256 + 256,
                "configPath": ["model", "hidden", 0],
            },
        )
        self.assertEqual(m.layers[2]["configPath"], ["model"])
        self.assertEqual(list(m(torch.zeros(3, 784)).shape), [3, 10])
        names = [n for n, mod in m.named_modules() if isinstance(mod, torch.nn.Linear)]
        self.assertEqual(names, ["dense1", "dense2", "output"])

    def test_vgg(self):
        spec = with_model_defaults({"type": "vgg", "filters": [16, 32], "dense": [64], "useBias": False})
        m = build_model(spec, [32, 32, 3], 10, seed=0)
        self.assertEqual([l["name"] for l in m.layers], kernel_layer_names(spec))
        self.assertEqual([l["name"] for l in m.layers], ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "fc1", "output"])
        self.assertEqual(m.layers[0]["shape"], [3, 3, 3, 16])
        self.assertEqual(m.layers[0]["params"], 3 * 3 * 3 * 16)
        self.assertEqual(m.layers[2]["configPath"], ["model", "filters", 1])
        self.assertEqual(m.layers[4]["configPath"], ["model", "dense", 0])
        self.assertEqual(sum(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules()), 4)
        self.assertEqual(list(m(torch.zeros(2, 3, 32, 32)).shape), [2, 10])

    def test_resnet20(self):
        spec = with_model_defaults({"type": "resnet", "depth": 20})
        m = build_model(spec, [32, 32, 3], 10, seed=0)
        names = [l["name"] for l in m.layers]
        self.assertEqual(names, kernel_layer_names(spec))
        self.assertEqual(len(names), 22)
        self.assertEqual(names[7:10], ["s2b1_conv1", "s2b1_conv2", "s2b1_shortcut"])
        info = {l["name"]: l for l in m.layers}
        self.assertEqual(info["s2b1_shortcut"]["shape"], [1, 1, 16, 32])
        self.assertEqual(info["s2b1_conv1"]["params"], 3 * 3 * 16 * 32 + 32)
        self.assertEqual(info["output"]["shape"], [64, 10])
        self.assertTrue(all(l["configPath"] == ["model", "depth"] for l in m.layers[:-1]))
        # 0.27M parameters, as the paper's ResNet-20 (kernels and biases; batch norm adds a few).
        self.assertEqual(sum(l["params"] for l in m.layers), 271690)
        self.assertEqual(list(m(torch.zeros(2, 3, 32, 32)).shape), [2, 10])

    def test_initializers(self):
        self.assertEqual(fans([3, 3, 16, 32]), (144, 288))
        for kind in ("he_normal", "he_uniform", "glorot_uniform"):
            m = build_model(
                with_model_defaults({"type": "mlp", "hidden": [500], "kernelInitializer": kind}), [400], 10, seed=0
            )
            w = m.dense1.weight.detach()
            expected = {
                "he_normal": (2 / 400) ** 0.5,
                "he_uniform": (2 / 400) ** 0.5,
                "glorot_uniform": (2 / 900) ** 0.5,
            }[kind]
            self.assertAlmostEqual(float(w.std()), expected, delta=0.03 * expected, msg=kind)
            self.assertEqual(float(m.dense1.bias.abs().sum()), 0.0)
        a = build_model(with_model_defaults({"type": "mlp", "hidden": [5]}), [4], 2, seed=7).dense1.weight
        b = build_model(with_model_defaults({"type": "mlp", "hidden": [5]}), [4], 2, seed=7).dense1.weight
        torch.testing.assert_close(a, b)


if __name__ == "__main__":
    unittest.main()

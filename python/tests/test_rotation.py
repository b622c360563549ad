"""Cosine distances: 0 at the start, 1 orthogonal, 2 opposite, and the careful formula near 0."""
import math
import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from layer_rotation.rotation import (  # noqa: E402
    RotationTracker,
    cosine_distance,
    tan_from_cosine_distance,
    tensor_cosine_distance,
)  # noqa: E402


class Distances(unittest.TestCase):
    def test_known_angles(self):
        a = torch.tensor([1.0, 0.0, 0.0])
        self.assertEqual(tensor_cosine_distance(a, a), 0.0)
        self.assertAlmostEqual(tensor_cosine_distance(a, torch.tensor([0.0, 3.0, 0.0])), 1.0, places=12)
        self.assertAlmostEqual(tensor_cosine_distance(a, -2 * a), 2.0, places=12)
        self.assertEqual(cosine_distance(1.0, 0.0, 1.0), 0.0)  # a zero norm

    def test_small_angles_keep_precision(self):
        # float32 vectors a tiny angle apart: the careful form recovers 1 - cos(theta) ~ theta^2 / 2.
        torch.manual_seed(0)
        a = torch.randn(10000)
        b = torch.randn(10000)
        b = b - (b @ a) / (a @ a) * a
        b = b / b.norm() * a.norm()
        theta = 1e-4
        w = (a * math.cos(theta) + b * math.sin(theta)).float()
        d = tensor_cosine_distance(w, a)
        self.assertAlmostEqual(d / (1 - math.cos(theta)), 1.0, delta=2e-2)
        naive = 1 - float((w @ a) / (w.norm() * a.norm()))
        self.assertGreater(abs(naive - (1 - math.cos(theta))), abs(d - (1 - math.cos(theta))))

    def test_tan(self):
        self.assertAlmostEqual(tan_from_cosine_distance(1 - math.cos(0.3)), math.tan(0.3), places=12)
        self.assertEqual(tan_from_cosine_distance(1.0), math.inf)

    def test_tracker(self):
        w = torch.nn.Parameter(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
        v = torch.nn.Parameter(torch.tensor([2.0, 0.0, 0.0]))
        t = RotationTracker([w, v])
        d, r = t.record()
        self.assertEqual(d, [0.0, 0.0])
        self.assertEqual(r, [0.0, 0.0])
        with torch.no_grad():
            w.copy_(torch.tensor([[math.cos(0.2), math.sin(0.2)], [0.0, 0.0]]))
            v.copy_(torch.tensor([0.0, 5.0, 0.0]))
        d, r = t.record()
        self.assertAlmostEqual(d[0], 1 - math.cos(0.2), places=6)
        self.assertAlmostEqual(d[1], 1.0, places=12)
        self.assertAlmostEqual(r[0], math.tan(0.2), places=5)
        with torch.no_grad():
            w.copy_(torch.tensor([[math.cos(0.5), math.sin(0.5)], [0.0, 0.0]]))
            v.copy_(torch.tensor([-1.0, 0.0, 0.0]))
        d, r = t.record()
        self.assertAlmostEqual(d[0], 1 - math.cos(0.5), places=6)
        self.assertAlmostEqual(r[0], math.tan(0.3), places=5)  # since the previous record
        self.assertAlmostEqual(d[1], 2.0, places=12)


if __name__ == "__main__":
    unittest.main()

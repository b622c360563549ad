"""Cosine distances: 0 at the start, 1 orthogonal, 2 opposite, and the careful formula near 0."""
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from layer_rotation import native  # noqa: E402
from layer_rotation.rotation import (  # noqa: E402
    RotationTracker,
    _storage_flat,
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


def _reference(a, b):
    """1 - cos(a, b) in float64 with the careful formula: the float64 truth for float32 kernels."""
    a, b = a.detach().double().flatten(), b.detach().double().flatten()
    na, nb = float(a.norm()), float(b.norm())
    if na == 0 or nb == 0:
        return 0.0
    return min(2.0, max(0.0, (float((a - b).pow(2).sum()) - (na - nb) ** 2) / (2 * na * nb)))


def _turned(w, theta, gen):
    """w turned by theta radians towards a random direction orthogonal to it, same norm (float64)."""
    w = w.double()
    u = torch.randn(w.shape, dtype=torch.float64, generator=gen)
    u = u - (u.flatten() @ w.flatten()) / (w.flatten() @ w.flatten()) * w
    u = u / u.norm() * w.norm()
    return w * math.cos(theta) + u * math.sin(theta)


class TrackerAgainstFloat64(unittest.TestCase):
    """RotationTracker.record equals the float64 careful formula on the same float32 kernels
    (here with the compiled record, native.py; TorchOpsAgainstFloat64 with torch's ops)."""

    NATIVE = True

    def tracker(self, kernels):
        t = RotationTracker(kernels, native=self.NATIVE)
        # The compiled pass is taken wherever a C compiler is (CI has one); torch's ops when asked.
        self.assertEqual(t.native, self.NATIVE and native.library() is not None)
        if native._compiler() is not None and os.environ.get("LAYER_ROTATION_NATIVE") != "0":
            self.assertIsNotNone(native.library(), "a C compiler is installed, yet native.py did not build")
        return t

    SHAPES = [(256, 784), (256, 256), (10, 256), (16, 3, 3, 3), (5,)]

    def check(self, tracker, kernels, initial, previous, rel):
        d, r = tracker.record()
        for i, k in enumerate(kernels):
            want_d = _reference(k, initial[i])
            want_r = tan_from_cosine_distance(_reference(k, previous[i]))
            self.assertLessEqual(abs(d[i] - want_d), 1e-12 + rel * want_d, "layer %d distance" % i)
            self.assertLessEqual(abs(r[i] - want_r), 1e-9 + rel * want_r, "layer %d rotation" % i)
        return d, r

    def test_angles_from_tiny_to_large(self):
        gen = torch.Generator().manual_seed(7)
        kernels = [torch.nn.Parameter(torch.randn(s, generator=gen) * 0.05) for s in self.SHAPES]
        initial = [k.detach().clone() for k in kernels]
        tracker = self.tracker(kernels)
        d, r = tracker.record()
        self.assertEqual(d, [0.0] * len(kernels))
        self.assertEqual(r, [0.0] * len(kernels))
        # Each record turns every kernel by theta from the previous one (steps of one record).
        for theta, rel in [(1e-4, 1e-4), (1e-3, 2e-5), (1e-2, 1e-5), (0.3, 1e-5), (1.2, 1e-5), (1e-4, 1e-4)]:
            with self.subTest(theta=theta):
                previous = [k.detach().clone() for k in kernels]
                with torch.no_grad():
                    for k in kernels:
                        k.copy_(_turned(k.detach(), theta, gen).float())
                d, r = self.check(tracker, kernels, initial, previous, rel)
                for x in r:
                    self.assertAlmostEqual(x, math.tan(theta), delta=max(1e-7, 2e-2 * theta))

    def test_zero_kernel_and_return_to_start(self):
        gen = torch.Generator().manual_seed(8)
        w = torch.nn.Parameter(torch.randn(64, 32, generator=gen))
        z = torch.nn.Parameter(torch.zeros(8, 4))
        start = w.detach().clone()
        tracker = self.tracker([w, z])
        with torch.no_grad():
            w.copy_(_turned(start, 0.5, gen).float())
            z.copy_(torch.randn(8, 4, generator=gen))  # from zero: no angle to measure
        d, r = tracker.record()
        self.assertAlmostEqual(d[0], 1 - math.cos(0.5), delta=1e-6)
        self.assertEqual((d[1], r[1]), (0.0, 0.0))
        with torch.no_grad():
            w.copy_(start)
            z.zero_()
        d, r = tracker.record()
        self.assertEqual(d, [0.0, 0.0])  # back at the start exactly: no float32 noise
        self.assertAlmostEqual(r[0], math.tan(0.5), delta=1e-5)
        self.assertEqual(r[1], 0.0)
        d, r = tracker.record()  # nothing moved since
        self.assertEqual((d, r), ([0.0, 0.0], [0.0, 0.0]))

    def test_kernels_are_read_never_changed_and_records_allocate_no_copies(self):
        gen = torch.Generator().manual_seed(9)
        w = torch.nn.Parameter(torch.randn(32, 16, 3, 3, generator=gen).to(memory_format=torch.channels_last))
        before = w.detach().clone()
        tracker = self.tracker([w])
        buffers = [t.data_ptr() for t in tracker.previous + [s for s in tracker._scratch if s is not None]]
        with torch.no_grad():
            w.copy_(_turned(before, 0.2, gen).float())
        previous = [before]
        self.check(tracker, [w], [before], previous, 1e-5)
        scratch = [s for s in tracker._scratch if s is not None]
        self.assertEqual([t.data_ptr() for t in tracker.previous + scratch], buffers + [s.data_ptr() for s in scratch])
        self.assertEqual(len(scratch), 0 if self.NATIVE else 1)  # the compiled pass needs none
        # channels_last: read in memory order (N, H, W, C), with no copy of the kernel.
        torch.testing.assert_close(tracker.previous[0], w.detach().permute(0, 2, 3, 1).reshape(-1), rtol=0, atol=0)
        addresses = [t.data_ptr() for t in tracker.previous + scratch]
        self.check(tracker, [w], [before], [w.detach().clone()], 1e-5)  # nothing moved since
        self.assertEqual([t.data_ptr() for t in tracker.previous + scratch], addresses)

    def test_a_kernel_given_new_memory_is_still_measured(self):
        # model.to(...), or .data replaced: the tracker follows the tensor, not its old address.
        # (The other kernel keeps its memory: the compiled record for it, torch's ops for the moved one.)
        gen = torch.Generator().manual_seed(11)
        w = torch.nn.Parameter(torch.randn(40, 30, generator=gen))
        v = torch.nn.Parameter(torch.randn(20, 30, generator=gen))
        start, v0 = w.detach().clone(), v.detach().clone()
        tracker = self.tracker([w, v])
        w.data = _turned(start, 0.3, gen).float()
        with torch.no_grad():
            v.copy_(_turned(v0, 0.2, gen).float())
        self.check(tracker, [w, v], [start, v0], [start, v0], 1e-5)
        previous, v1 = w.detach().clone(), v.detach().clone()
        with torch.no_grad():
            w.copy_(_turned(previous, 0.1, gen).float())
            v.copy_(_turned(v1, 0.1, gen).float())
        self.check(tracker, [w, v], [start, v0], [previous, v1], 1e-5)

    def test_the_same_records_on_one_thread_or_two(self):
        # The compiled records share the kernels out over torch's threads (each whole on one).
        if not self.NATIVE or native.library() is None:
            self.skipTest("no compiled records here")
        self.addCleanup(torch.set_num_threads, torch.get_num_threads())
        gen = torch.Generator().manual_seed(12)
        start = [torch.randn(s, generator=gen) for s in self.SHAPES]
        turns = [[_turned(k, theta, gen).float() for k in start] for theta in (0.01, 0.2)]
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            kernels = [torch.nn.Parameter(k.clone()) for k in start]
            tracker = self.tracker(kernels)
            records = []
            for turned in turns:
                with torch.no_grad():
                    for k, t in zip(kernels, turned):
                        k.copy_(t)
                tracker.record()
                # The compiled passes' sums (the records also use |w0|^2, from torch's own sum,
                # whose order of summation follows torch's thread count).
                records.append(tracker._sums.tolist())
            self.assertEqual(tracker._compiled_threads, threads if native.threads_shared() else 1)
            results.append((records, [p.clone() for p in tracker.previous]))
        self.assertEqual(results[0][0], results[1][0])
        for a, b in zip(results[0][1], results[1][1]):
            self.assertTrue(torch.equal(a, b))

    def test_permuted_views_are_read_in_place_with_the_same_measures(self):
        # Keras's kernels seen out first ([in, out] -> [out, in]; conv [kh, kw, in, out] -> [out, in, kh, kw])
        # and Transformers' Conv1D transposed: tracked as views, measured as their contiguous copies are.
        gen = torch.Generator().manual_seed(4)
        bases = [torch.randn(48, 24, generator=gen), torch.randn(3, 3, 2, 8, generator=gen)]
        views = [bases[0].t(), bases[1].permute(3, 2, 0, 1)]
        self.assertFalse(any(v.is_contiguous() for v in views))
        tracker = self.tracker(views)
        self.assertEqual([_storage_flat(v).data_ptr() for v in views], [b.data_ptr() for b in bases])
        copies = RotationTracker([v.contiguous() for v in views])
        for turn in (0.05, 0.3, 1.2):
            with torch.no_grad():
                for b, v in zip(bases, views):
                    b.copy_(_turned(b.double(), turn, gen).float())
            copies.kernels = [v.contiguous() for v in views]
            got, want = tracker.record(), copies.record()
            for a, b in zip(got[0] + got[1], want[0] + want[1]):
                self.assertAlmostEqual(a, b, delta=1e-6 * max(1.0, abs(b)))
            self.assertTrue(all(d > 1e-4 for d in got[0]))


class TorchOpsAgainstFloat64(TrackerAgainstFloat64):
    NATIVE = False


def _in_subprocess(env, code):
    """Runs code in a fresh interpreter (native.library() is computed once a process) with env added."""
    python = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    full = dict(os.environ, PYTHONPATH=python, **env)
    r = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    return r.stdout.strip().splitlines()


# Records of a turning kernel, in a fresh interpreter: whether the compiled pass was used, and the figures.
_RECORDS = """
import math, torch
from layer_rotation import native
from layer_rotation.rotation import RotationTracker
gen = torch.Generator().manual_seed(3)
w = torch.nn.Parameter(torch.randn(64, 48, generator=gen))
t = RotationTracker([w])
out = []
for theta in (1e-3, 0.2):
    with torch.no_grad():
        w.mul_(math.cos(theta)).add_(torch.randn(64, 48, generator=gen), alpha=theta * 0.1)
    out += [x for pair in t.record() for x in pair]
print(t.native, native.library() is not None)
print(" ".join(repr(x) for x in out))
"""


class CompiledLibrary(unittest.TestCase):
    """native.py compiles once into the cache folder, reuses it, and falls back to torch silently."""

    def test_built_once_then_loaded_from_the_cache(self):
        if native._compiler() is None:
            self.skipTest("no C compiler")
        with tempfile.TemporaryDirectory() as tmp:
            env = {"LAYER_ROTATION_CACHE_DIR": os.path.join(tmp, "cache"), "LAYER_ROTATION_NATIVE": "1"}
            first = _in_subprocess(env, _RECORDS)
            self.assertEqual(first[0], "True True")
            folder = os.path.join(tmp, "cache", "native")
            built = os.listdir(folder)
            self.assertEqual(len(built), 1, "one library, no temporary left: %s" % built)
            stamp = os.stat(os.path.join(folder, built[0])).st_mtime_ns
            # Another process (no PATH): the cached library is loaded, not rebuilt.
            again = _in_subprocess(dict(env, CC=native._compiler(), PATH=""), _RECORDS)
            self.assertEqual(again, first)
            self.assertEqual(os.listdir(folder), built)
            self.assertEqual(os.stat(os.path.join(folder, built[0])).st_mtime_ns, stamp)
            # Without it, the same figures from torch's ops (float32 sums: to ~1e-6).
            off = _in_subprocess(dict(env, LAYER_ROTATION_NATIVE="0"), _RECORDS)
            self.assertEqual(off[0], "False False")
            for a, b in zip(map(float, first[1].split()), map(float, off[1].split())):
                self.assertAlmostEqual(a, b, delta=1e-6 * max(1.0, abs(b)))

    def test_no_compiler_or_a_failing_one_falls_back_to_torch(self):
        with tempfile.TemporaryDirectory() as tmp:
            for cc in (os.path.join(tmp, "no-such-cc"), "false"):
                with self.subTest(cc=cc):
                    env = {"XDG_CACHE_HOME": tmp, "TMPDIR": tmp, "CC": cc, "LAYER_ROTATION_NATIVE": "1"}
                    env["LAYER_ROTATION_CACHE_DIR"] = ""
                    out = _in_subprocess(env, _RECORDS)
                    self.assertEqual(out[0], "False False")
                    values = [float(x) for x in out[1].split()]
                    self.assertTrue(all(math.isfinite(v) and v > 0 for v in values), values)
            self.assertEqual(os.listdir(os.path.join(tmp, "layer-rotation", "native")), [])  # no leftovers

    def test_a_library_others_can_write_is_never_loaded(self):
        if native._compiler() is None or not hasattr(os, "getuid"):
            self.skipTest("no C compiler, or no file owners here")
        which = "from layer_rotation import native\nlib = native.library()\nprint(lib._name if lib else None)"
        with tempfile.TemporaryDirectory() as tmp:
            private = os.path.join(tmp, "private")
            (built,) = _in_subprocess({"LAYER_ROTATION_CACHE_DIR": private, "LAYER_ROTATION_NATIVE": "1"}, which)
            self.assertTrue(built.startswith(os.path.join(private, "native")), built)
            # The same library, planted where anyone may write (a shared temp folder's kind).
            shared = os.path.join(tmp, "shared", "native")
            os.makedirs(shared)
            planted = os.path.join(shared, os.path.basename(built))
            shutil.copy(built, planted)
            os.chmod(shared, 0o777)
            env = {"LAYER_ROTATION_CACHE_DIR": os.path.join(tmp, "shared"), "TMPDIR": os.path.join(tmp, "t")}
            os.makedirs(env["TMPDIR"])
            (loaded,) = _in_subprocess(dict(env, LAYER_ROTATION_NATIVE="1"), which)
            self.assertNotEqual(loaded, planted)
            self.assertTrue(loaded.startswith(os.path.join(tmp, "t", "layer-rotation-native")), loaded)
            # A folder of this user's alone, with a library others may write: not loaded either.
            os.chmod(shared, 0o700)
            os.chmod(planted, 0o666)
            (loaded,) = _in_subprocess(dict(env, LAYER_ROTATION_NATIVE="1"), which)
            self.assertNotEqual(loaded, planted)


if __name__ == "__main__":
    unittest.main()

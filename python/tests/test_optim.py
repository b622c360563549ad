"""Layca keeps each kernel's norm and turns it by atan(lr x multiplier) per step, for the four
optimizers; biases take the ordinary step; param groups as the TS engine's."""
import math
import os
import sys
import unittest
from unittest import mock

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from layer_rotation import LaycaAdagrad, LaycaAdam, LaycaRMSprop, LaycaSGD, layca_param_groups, native  # noqa: E402
from layer_rotation.schedule import alpha_multipliers, layer_multipliers, learning_rate_at  # noqa: E402


def angle(a, b):
    a = a.double().flatten()
    b = b.double().flatten()
    return math.acos(max(-1.0, min(1.0, float(a @ b / (a.norm() * b.norm())))))


CASES = [
    ("sgd", LaycaSGD, dict(momentum=0.9, nesterov=True, weight_decay=1e-3), torch.optim.SGD),
    ("sgd-plain", LaycaSGD, dict(), torch.optim.SGD),
    ("adam", LaycaAdam, dict(betas=(0.8, 0.99), weight_decay=1e-3), torch.optim.Adam),
    ("rmsprop", LaycaRMSprop, dict(alpha=0.9, momentum=0.5, weight_decay=1e-3), torch.optim.RMSprop),
    ("adagrad", LaycaAdagrad, dict(initial_accumulator_value=0.1, weight_decay=1e-3), torch.optim.Adagrad),
]


class LaycaTurnsByAtanLr(unittest.TestCase):
    def test_every_optimizer(self):
        for label, cls, kwargs, plain_cls in CASES:
            with self.subTest(optimizer=label):
                torch.manual_seed(0)
                model = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
                reference = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
                reference.load_state_dict(model.state_dict())
                lr, mult = 0.02, 0.25
                wd = kwargs.get("weight_decay", 0.0)
                groups = layca_param_groups(model, lr, multipliers={"2": mult}, weight_decay=wd)
                opt = cls(groups, lr=lr, **kwargs)
                # The biases' plain steps are torch's own optimizer's, same groups without Layca.
                ref_groups = [
                    {"params": [p], "lr": g["lr"], "weight_decay": 0.0}
                    for g in groups
                    for p in g["params"]
                    if p.dim() == 1
                ]
                ref_opt = plain_cls(ref_groups, lr=lr, **kwargs)
                x = torch.randn(64, 20)
                y = torch.randint(0, 4, (64,))
                for _ in range(4):
                    w_before = [model[0].weight.detach().clone(), model[2].weight.detach().clone()]
                    for net, o in ((model, opt), (reference, ref_opt)):
                        o.zero_grad()
                        torch.nn.functional.cross_entropy(net(x), y).backward()
                    opt.step()
                    ref_opt.step()
                    for w0, layer, m in zip(w_before, (model[0], model[2]), (1.0, mult)):
                        self.assertAlmostEqual(
                            float(layer.weight.norm()), float(w0.norm()), delta=2e-6 * float(w0.norm())
                        )
                        self.assertAlmostEqual(angle(layer.weight.detach(), w0), math.atan(lr * m), delta=2e-5)
                    for layer, ref in ((model[0], reference[0]), (model[2], reference[2])):
                        torch.testing.assert_close(layer.bias.detach(), ref.bias.detach(), rtol=1e-5, atol=1e-6)
                    # Same gradient sequence for both: keep the kernels in step.
                    with torch.no_grad():
                        reference[0].weight.copy_(model[0].weight)
                        reference[2].weight.copy_(model[2].weight)

    def test_scheduler_changes_the_turn(self):
        torch.manual_seed(1)
        model = torch.nn.Linear(10, 5)
        opt = LaycaSGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        x = torch.randn(8, 10)
        for lr in (0.1, 0.05, 0.025):
            w0 = model.weight.detach().clone()
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
            sched.step()
            self.assertAlmostEqual(angle(model.weight.detach(), w0), math.atan(lr), delta=2e-5)

    def test_default_layca_is_kernels_only(self):
        torch.manual_seed(2)
        model = torch.nn.Linear(6, 3)
        opt = LaycaSGD(model.parameters(), lr=0.5)
        b0 = model.bias.detach().clone()
        opt.zero_grad()
        model(torch.randn(4, 6)).sum().backward()
        g = model.bias.grad.clone()
        opt.step()
        torch.testing.assert_close(model.bias.detach(), b0 - 0.5 * g)
        off = LaycaSGD(model.parameters(), lr=0.5, layca=False)
        w0 = model.weight.detach().clone()
        off.zero_grad()
        model(torch.randn(4, 6)).sum().backward()
        gw = model.weight.grad.clone()
        off.step()
        torch.testing.assert_close(model.weight.detach(), w0 - 0.5 * gw)

    def test_small_lr_keeps_precision(self):
        # A direction computed from the state, not as a weight difference: atan(1e-5) is still exact.
        torch.manual_seed(3)
        w = torch.nn.Parameter(torch.randn(200, 100))
        opt = LaycaAdam([w], lr=1e-5)
        w0 = w.detach().clone()
        w.grad = torch.randn_like(w)
        opt.step()
        d = (w.detach().double() - w0.double()).norm() / w0.double().norm()
        self.assertAlmostEqual(float(d), 2 * math.sin(math.atan(1e-5) / 2), delta=1e-7)


class CompiledOrTorchOps(unittest.TestCase):
    """Runs its tests with Layca's compiled loops (native.py, where a C compiler is: CI has one);
    the subclasses named ...TorchOps run them again with torch's ops (no compiler)."""

    NATIVE = True

    def setUp(self):
        if not self.NATIVE:
            patch = mock.patch.object(native, "optimizer_step", lambda dtype: None)
            patch.start()
            self.addCleanup(patch.stop)
        elif native._compiler() is not None and os.environ.get("LAYER_ROTATION_NATIVE") != "0":
            self.assertIsNotNone(
                native.optimizer_step(torch.float32), "a C compiler is installed, yet native.py did not build"
            )


class FastStep(CompiledOrTorchOps):
    """The in-place step of three inner products (CPU) equals the explicit projection's to 1e-5."""

    def test_equals_the_explicit_projection(self):
        # Whatever torch's BLAS (blas.dot sums in blocks on the reference BLAS too).
        from layer_rotation.optim import layca_update_, layca_updates_

        torch.manual_seed(5)
        for shape in [(256, 784), (16, 3, 3, 3), (10, 256), (7,)]:
            for lr in (1e-5, 0.01, 0.3):
                for tilt in (0.0, 0.9, 0.99999):  # the step direction's share along w (last: the fallback)
                    with self.subTest(shape=shape, lr=lr, tilt=tilt):
                        w = torch.randn(shape)
                        s = torch.randn(shape) + tilt / (1 - tilt + 1e-12) * w
                        # The reference in float64: near +-w (the last tilt) float32's projection
                        # misplaces the small tangent part; the step takes it in float64 there.
                        a, b = w.double(), w.clone()
                        layca_update_(a, s.double(), lr)
                        a = a.float()
                        layca_updates_([(b, s, lr)])
                        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6 * float(w.abs().max()))
                        self.assertAlmostEqual(float(b.norm()), float(w.norm()), delta=2e-6 * float(w.norm()))
                        if tilt < 0.99:  # beyond, float32 cannot place the tangent step (both forms)
                            self.assertAlmostEqual(angle(b, w), math.atan(lr), delta=2e-5)

    def test_zero_and_odd_directions(self):
        from layer_rotation.optim import layca_updates_

        torch.manual_seed(6)
        w = torch.randn(5, 4)
        b = w.clone()
        layca_updates_([(b, torch.zeros_like(w), 0.1)])  # no direction: no turn
        torch.testing.assert_close(b, w)
        t = w.t()  # not contiguous: the explicit form
        b = t.clone().t()
        layca_updates_([(b, torch.randn_like(b), 0.1)])
        self.assertAlmostEqual(angle(b, w), math.atan(0.1), delta=2e-5)


# Torch's own optimizer of each kind, for the reference directions (same hyperparameters).
PLAIN = {LaycaSGD: torch.optim.SGD, LaycaAdam: torch.optim.Adam, LaycaRMSprop: torch.optim.RMSprop}
PLAIN[LaycaAdagrad] = torch.optim.Adagrad


class AgainstTheReference(CompiledOrTorchOps):
    """Every optimizer's step (directions, then all Layca turns at once) equals, over several steps,
    the explicit layca_update_ (float64) along the direction torch's own optimizer takes (float64,
    read off as (w - w_after) / rate), with the engine's param groups: per-layer multipliers, alpha,
    weight decay; biases as torch's own optimizer. The optimizer's state equals torch's too."""

    CASES = [
        (LaycaSGD, dict(momentum=0.9, nesterov=True)),
        (LaycaSGD, dict(momentum=0.9, dampening=0.1)),
        (LaycaSGD, dict()),
        (LaycaAdam, dict(betas=(0.8, 0.99), eps=1e-6)),
        (LaycaAdam, dict(amsgrad=True)),
        (LaycaRMSprop, dict(alpha=0.9, momentum=0.5, centered=True)),
        (LaycaRMSprop, dict(alpha=0.95)),
        (LaycaAdagrad, dict(initial_accumulator_value=0.1, lr_decay=0.05)),
        (LaycaAdagrad, dict(maximize=True, eps=1e-3)),
        (LaycaSGD, dict(momentum=0.5, maximize=True)),
        (LaycaAdam, dict(maximize=True)),
    ]

    def test_several_steps(self):
        from layer_rotation.optim import layca_update_

        for cls, kwargs in self.CASES:
            with self.subTest(optimizer=cls.__name__, **{k: str(v) for k, v in kwargs.items()}):
                gen = torch.Generator().manual_seed(11)
                model = torch.nn.Sequential(
                    torch.nn.Linear(64, 48), torch.nn.ReLU(), torch.nn.Linear(48, 32), torch.nn.Linear(32, 10)
                )
                groups = layca_param_groups(model, 0.05, alpha=0.5, multipliers=[1.0, 2.0, 0.5], weight_decay=1e-3)
                ref_groups = [
                    dict(g, params=[p.detach().double().clone().requires_grad_() for p in g["params"]]) for g in groups
                ]
                opt = cls(groups, lr=0.05, **kwargs)
                plain = PLAIN[cls](ref_groups, lr=0.05, **kwargs)
                ref = [p for g in ref_groups for p in g["params"]]
                mine = [p for g in groups for p in g["params"]]
                for step in range(1, 6):
                    grads = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in ref]
                    for p, q, gr in zip(mine, ref, grads):
                        p.grad = gr.float()
                        q.grad = gr.clone()
                    opt.step()
                    # The reference: torch's step on a copy gives the direction; Layca turns along it.
                    before = [q.detach().clone() for q in ref]
                    plain.step()
                    with torch.no_grad():
                        for g in ref_groups:
                            rate = g["lr"] / (1 + (step - 1) * kwargs.get("lr_decay", 0))
                            for q in g["params"]:
                                if g["layca"]:
                                    w = before[[id(r) for r in ref].index(id(q))]
                                    s = (w - q) / rate
                                    q.copy_(w)
                                    layca_update_(q, s, rate)
                    for p, q in zip(mine, ref):
                        # The optimizer's state (torch's names: square_avg, sum, exp_avg, momentum_buffer, ...)
                        # as torch's own keeps it: Layca normalizes the direction, the state is not.
                        state, want = opt.state[p], plain.state[q]
                        names = [k for k in want if torch.is_tensor(want[k]) and want[k].dim() > 0]
                        self.assertTrue(names or cls is LaycaSGD and not kwargs)
                        for name in names:
                            top = float(want[name].abs().max())
                            torch.testing.assert_close(state[name].double(), want[name], rtol=1e-5, atol=1e-5 * top)
                        q = q.detach()
                        torch.testing.assert_close(p.detach().double(), q, rtol=1e-5, atol=1e-5 * float(q.abs().max()))

    def test_mixed_tensors_in_one_step(self):
        # Contiguous, transposed (explicit form), zero-direction and float64 kernels in one batch.
        from layer_rotation.optim import layca_update_, layca_updates_

        gen = torch.Generator().manual_seed(12)
        ws = [
            torch.randn(40, 30, generator=gen),
            torch.randn(30, 40, generator=gen).t(),
            torch.randn(16, 3, 3, 3, generator=gen),
            torch.randn(20, 10, generator=gen, dtype=torch.float64),
        ]
        ss = [torch.randn(w.shape, generator=gen, dtype=w.dtype) for w in ws]
        ss[2].zero_()
        lrs = [0.01, 0.1, 0.3, 0.02]
        want = [w.clone() for w in ws]
        for w, s, lr in zip(want, ss, lrs):
            layca_update_(w, s, lr)
        layca_updates_(list(zip(ws, ss, lrs)))
        for w, v in zip(ws, want):
            torch.testing.assert_close(w, v, rtol=1e-5, atol=1e-6 * float(v.abs().max()))


class DirectionAlongTheKernel(CompiledOrTorchOps):
    def test_the_explicit_form_where_the_fast_one_cancels(self):
        # A direction within a degree of the kernel: the step takes the explicit projection, on the
        # fused loop's direction (there in a scratch buffer larger than the second kernel: maximize
        # makes the direction -g, exact in float32, so that the reference has the very same one).
        from layer_rotation.optim import layca_update_

        gen = torch.Generator().manual_seed(13)
        ws = [
            torch.nn.Parameter(torch.randn(30, 20, generator=gen)),
            torch.nn.Parameter(torch.randn(8, 5, generator=gen)),
        ]
        want = [w.detach().double() for w in ws]
        opt = LaycaSGD(ws, lr=0.05, maximize=True)
        for w, v in zip(ws, want):
            w.grad = -3 * w.detach() + 1e-5 * torch.randn(w.shape, generator=gen)
            # The reference in float64: s is the sum of a large part along w and a small one
            # across, which float32's projection would misplace.
            layca_update_(v, -w.grad.double(), 0.05)
        opt.step()
        for w, v in zip(ws, [v.float() for v in want]):
            torch.testing.assert_close(w.detach(), v, rtol=1e-5, atol=1e-6)
            self.assertAlmostEqual(float(w.detach().norm()), float(v.norm()), delta=2e-6 * float(v.norm()))


class Threads(unittest.TestCase):
    """The compiled step shares its parameters out over torch's threads (native.py lr_step, OpenMP:
    torch's own runtime); each parameter is stepped whole by one thread, so the step is the same,
    bit for bit, on one thread or two."""

    def setUp(self):
        if native._compiler() is None or os.environ.get("LAYER_ROTATION_NATIVE") == "0":
            self.skipTest("no compiled loops here")
        self.addCleanup(torch.set_num_threads, torch.get_num_threads())

    def test_one_openmp_runtime(self):
        # GCC builds the loops with OpenMP; its libgomp.so.1 is torch's own (no second runtime).
        lib = native.library()
        self.assertIsNotNone(lib)
        if "gcc" in os.path.basename(os.path.realpath(native._compiler())):
            self.assertEqual(lib.lr_openmp(), 1)
        if lib.lr_openmp() and sys.platform.startswith("linux"):
            with open("/proc/self/maps", encoding="utf-8") as f:
                runtimes = {os.path.realpath(line.split()[-1]) for line in f if "libgomp" in line}
            self.assertEqual(len(runtimes), 1, runtimes)
            self.assertTrue(native.threads_shared())

    def test_the_same_on_one_thread_or_two(self):
        for cls, kwargs in AgainstTheReference.CASES + [(LaycaRMSprop, dict(alpha=0.9))]:
            with self.subTest(optimizer=cls.__name__, **{k: str(v) for k, v in kwargs.items()}):
                # Large enough to be worth a second thread (native.py: LR_PARALLEL_MIN elements).
                shapes = [(256, 128), (128, 128), (10, 128)]
                runs = []
                for threads in (1, 2):
                    torch.set_num_threads(threads)
                    model = torch.nn.Sequential(*[torch.nn.Linear(i, o) for o, i in shapes])
                    with torch.no_grad():
                        for p in model.parameters():
                            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
                    opt = cls(layca_param_groups(model, 0.05, weight_decay=1e-3), lr=0.05, **kwargs)
                    step_gen = torch.Generator().manual_seed(22)
                    for _ in range(3):
                        for p in model.parameters():
                            p.grad = torch.randn(p.shape, generator=step_gen)
                        opt.step()
                    want = threads if native.threads_shared() else 1
                    self.assertEqual(opt._compiled_threads, want)
                    state = [t for p in model.parameters() for t in opt.state[p].values() if torch.is_tensor(t)]
                    runs.append([p.detach().clone() for p in model.parameters()] + state)
                for a, b in zip(*runs):
                    self.assertTrue(torch.equal(a, b))


class NothingCompiled(unittest.TestCase):
    def test_a_step_with_nothing_for_the_compiled_loops_never_builds_them(self):
        # (As on a GPU: no CPU parameter, so the library is not asked for, nor built.) Here every
        # parameter is a transposed view: the torch path.
        torch.manual_seed(4)
        w = torch.nn.Parameter(torch.randn(8, 6).t())
        w.grad = torch.randn(8, 6).t()
        w0 = w.detach().clone()
        asked = AssertionError("the compiled loops asked for")
        with mock.patch.multiple(native, library=mock.DEFAULT, threads_shared=mock.DEFAULT) as fns:
            for fn in fns.values():
                fn.side_effect = asked
            opt = LaycaSGD([w], lr=0.1, momentum=0.9)
            opt.step()
        self.assertEqual(opt._compiled_threads, 0)
        self.assertAlmostEqual(angle(w.detach(), w0), math.atan(0.1), delta=2e-5)


class DirectionAlongTheKernelTorchOps(DirectionAlongTheKernel):
    NATIVE = False


class FastStepTorchOps(FastStep):
    NATIVE = False


class AgainstTheReferenceTorchOps(AgainstTheReference):
    NATIVE = False


class Groups(unittest.TestCase):
    def test_param_groups(self):
        model = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(16, 2)
        )
        groups = layca_param_groups(model, 0.1, alpha=0.5, multipliers=[1.0, 2.0], weight_decay=1e-4)
        names = [g["name"] for g in groups]
        self.assertEqual(names, ["0", "0.bias", "3", "3.bias", "other"])
        m = alpha_multipliers(0.5, 2)
        self.assertAlmostEqual(groups[0]["lr"], 0.1 * m[0])
        self.assertAlmostEqual(groups[2]["lr"], 0.1 * m[1] * 2.0)
        self.assertEqual([g["layca"] for g in groups], [True, False, True, False, False])
        self.assertEqual([g["weight_decay"] for g in groups], [1e-4, 0.0, 1e-4, 0.0, 0.0])
        self.assertEqual(len(groups[-1]["params"]), 2)  # batch norm weight and bias
        with self.assertRaisesRegex(ValueError, "not a kernel layer"):
            layca_param_groups(model, 0.1, multipliers={"nope": 2})

    def test_schedule_as_ts(self):
        self.assertEqual(alpha_multipliers(0, 3), [1.0, 1.0, 1.0])
        m = alpha_multipliers(0.5, 6)
        self.assertAlmostEqual(m[-1], 1.0)
        self.assertAlmostEqual(m[0], 0.5**5)
        m = alpha_multipliers(-0.5, 6)
        self.assertAlmostEqual(m[0], 1.0)
        self.assertAlmostEqual(m[-1], 0.5**5)
        self.assertEqual(layer_multipliers(0, {"b": 3}, ["a", "b"]), [1.0, 3.0])
        decay = {"factor": 0.2, "epochs": [2, 4]}
        self.assertAlmostEqual(learning_rate_at(1.0, decay, 0, 3.0), 0.2)
        self.assertAlmostEqual(learning_rate_at(1.0, decay, 0, 4.0), 0.04)
        self.assertAlmostEqual(learning_rate_at(1.0, None, 2, 0.5), 0.25)


if __name__ == "__main__":
    unittest.main()

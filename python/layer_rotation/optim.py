"""Layca for torch.optim: SGD, Adam, RMSprop and Adagrad whose param groups with `layca` turn
their parameters by Layca (the paper's Algorithm 1) instead of subtracting the step.

Every optimizer computes its step direction s explicitly from its state (momentum buffer, Adam's
m_hat / (sqrt(v_hat) + eps), ...), L2 weight decay added to the gradient as torch does. A group
with Layca then does, per parameter w (src/engine/optim/layca.ts):
    s <- s - (<s, w> / |w|^2) w        project onto the tangent space of the sphere
    s <- s |w| / |s|                    (s = 0 when |s| < 1e-12)
    w <- w - lr s
    w <- w |w_old| / |w|                keep the norm
so each step turns w by exactly atan(lr), lr being the group's rate (schedulers may change it).
Groups without Layca take the ordinary step w <- w - lr s.

The group option `layca`: True, False, or None (the default) meaning "kernels only": Layca for
parameters with dim >= 2 (Linear, Conv and Transformers' Conv1D weights), the plain step for biases and norm weights.
"""
import ctypes
import math

import torch

from . import native
from .blas import dot

LAYCA_EPS = 1e-12

__all__ = [
    "LaycaSGD",
    "LaycaAdam",
    "LaycaRMSprop",
    "LaycaAdagrad",
    "layca_update_",
    "layca_updates_",
    "layca_param_groups",
    "kernel_layers",
    "is_kernel_module",
]


def layca_update_(w, s, lr):
    """One Layca step of rate `lr` along the step direction `s`, in place on `w` (no host sync)."""
    w2 = torch.sum(w * w)
    w_norm = torch.sqrt(w2)
    projected = s - (torch.sum(s * w) / w2.clamp_min(1e-38)) * w
    s_norm = torch.sqrt(torch.sum(projected * projected))
    scale = torch.where(s_norm > LAYCA_EPS, w_norm / s_norm.clamp_min(LAYCA_EPS), torch.zeros_like(s_norm))
    stepped = w - projected * (scale * lr)
    new_norm = torch.sqrt(torch.sum(stepped * stepped))
    w.copy_(stepped * (w_norm / new_norm.clamp_min(1e-38)))


# Below this share of |s|^2 left after projecting s onto w's tangent space (s within about 1.8
# degrees of +-w), the inner-product form below cancels: the explicit projection is used instead;
# and where lr^2 |s|^2 > _FAST_REACH |p|^2 (see _fast_coefficients). native.py's lr_step takes both.
_FAST_MIN_TANGENT = 1e-3
_FAST_REACH = 0.25


def _fast_coefficients(ww, sw, ss, lr):
    """(a, b) with w <- a w + b s the Layca step, from <w,w>, <s,w>, <s,s>, or None where that form
    would cancel (then the explicit projection). With k = <s, w> / |w|^2 and
    |p|^2 = |s|^2 - <s, w> k (p: s projected onto the tangent space), c = lr |w| / |p|, the step
    w - c p has norm |w| sqrt(1 + lr^2) (p is orthogonal to w), so
        w <- ((1 + c k) w - c s) / sqrt(1 + lr^2)
    turns w by atan(lr) and keeps its norm, with no temporary the size of w. The form cancels where
    s is within about 1.8 degrees of +-w, or lr |s| / |p| > 1/2. (native.py's lr_step does the same
    in C, given the two limits.)"""
    if ww <= 0.0 or not math.isfinite(ww + sw + ss):
        return None
    k = sw / ww
    pp = ss - sw * k
    # The update subtracts terms of size lr |s| / |p| (relative to w): past 1/2, rounding grows.
    if pp <= ss * _FAST_MIN_TANGENT or lr * lr * ss > _FAST_REACH * pp:
        return None
    c = lr * math.sqrt(ww / pp)
    inv = 1.0 / math.sqrt(1.0 + lr * lr)
    return (1.0 + c * k) * inv, -c * inv


def _fast_form(w, s):
    return w.device.type == "cpu" and w.is_contiguous() and s.is_contiguous() and w.dtype == s.dtype


# lr_step's hyperparameters where the kind has none (KIND_DIRECT).
_NO_HYPERPARAMETERS = (0.0,) * 7


class _CompiledSteps:
    """Parameters gathered for native.py's lr_step, by dtype (one call per dtype a step): their
    description (pointers, sizes, kind and flags; hyperparameters, rate and scale) in the flat
    layout lr_step reads."""

    __slots__ = ("batches",)

    def __init__(self):
        self.batches = {}  # dtype -> [ints, doubles, the longest parameter stepped through the scratch]

    def add(self, p, g, kind, a, b, c, s, flags, h, lr, scale):
        """p stepped (flags: native.LAYCA, FIRST, NESTEROV) along the direction its kind forms from g and
        the state a, b, c (pointers, 0 for none) into s (a pointer; 0: the scratch)."""
        batch = self.batches.get(p.dtype)
        if batch is None:
            batch = self.batches[p.dtype] = [[], [], 0]
        n = p.numel()
        batch[0] += (p.data_ptr(), g.data_ptr(), a, b, c, s, n, kind, flags)
        batch[1] += h
        batch[1] += (lr, scale)
        if s == 0 and n > batch[2]:
            batch[2] = n

    def run(self, scratch=None):
        """Steps them all: lr_step once per dtype, on torch's threads where they are shared
        (native.threads_shared). scratch(dtype, n): a flat buffer of at least n elements. Returns
        the most threads a call ran on (0: nothing to step)."""
        if not self.batches:  # (nothing on the CPU: the library is not even built)
            return 0
        threads = torch.get_num_threads() if native.threads_shared() else 1
        used = 0
        for dtype, (ints, doubles, longest) in self.batches.items():
            count = len(ints) // native.STEP_INTS
            buf = scratch(dtype, threads * longest) if longest else None
            ran = native.optimizer_step(dtype)(
                native.int64s(ints),
                (ctypes.c_double * len(doubles))(*doubles),
                count,
                None if buf is None else buf.data_ptr(),
                longest,
                threads,
                _FAST_MIN_TANGENT,
                _FAST_REACH,
            )
            used = max(used, ran)
        return used


def layca_updates_(updates):
    """layca_update_(w, s, lr) for every (w, s, lr) of `updates`, in place.

    Contiguous CPU tensors take the form of three inner products and one in-place update (see
    _fast_coefficients). For float32 and float64 these are compiled loops (native.py's lr_step: one
    pass for the three inner products, one for the update, all tensors in one call) where a C
    compiler is; otherwise blas.dot (summed in blocks whatever torch's BLAS; all read back at once)
    and w.mul_(a).add_(s, alpha=b). Those where that form would cancel take the explicit projection
    in float64 (s lies near +-w: float32's rounding would misplace the small tangent part); the
    others (not contiguous, not on the CPU) layca_update_ in their own dtype."""
    quick, compiled = [], _CompiledSteps()
    for w, s, lr in updates:
        if not _fast_form(w, s):
            layca_update_(w, s, lr)
        elif native.optimizer_step(w.dtype) is not None:
            ptr = s.data_ptr()
            compiled.add(w, s, native.KIND_DIRECT, 0, 0, 0, ptr, native.LAYCA, _NO_HYPERPARAMETERS, lr, 1.0)
        else:
            quick.append((w, s, lr))
    compiled.run()
    if not quick:
        return
    sums = []
    for w, s, _ in quick:
        wf, sf = w.view(-1), s.view(-1)
        sums += [dot(wf, wf), dot(sf, wf), dot(sf, sf)]
    dtypes = {x.dtype for x in sums}
    values = (torch.stack(sums) if len(dtypes) == 1 else torch.stack([x.double() for x in sums])).tolist()
    for i, (w, s, lr) in enumerate(quick):
        coefficients = _fast_coefficients(*values[3 * i : 3 * i + 3], lr)
        if coefficients is None:  # s near +-w: the projection in float64 (as lr_step's explicit form)
            w64 = w.double()
            layca_update_(w64, s.double(), lr)
            w.copy_(w64)
        else:
            a, b = coefficients
            w.mul_(a).add_(s, alpha=b)


def _compiled(p, tensors):
    """Whether p's step can be compiled (native.optimizer_step): p, its gradient and the state
    `tensors` contiguous CPU tensors of p's dtype, and a library for that dtype."""
    # (Called for every parameter at every step: plain checks, no generator.)
    dtype = p.dtype
    if not (p.is_cpu and p.is_contiguous()):
        return False
    g = p.grad
    if not (g.is_contiguous() and g.dtype == dtype and g.is_cpu):
        return False
    for t in tensors:
        if not (t.is_contiguous() and t.dtype == dtype and t.is_cpu):
            return False
    return native.optimizer_step(dtype) is not None


def _sign_and_decay(group):
    """(sign, wd) of the fused loops' gradient g' = sign g + wd w: the group's maximize and L2 decay."""
    return (-1.0 if group.get("maximize", False) else 1.0), float(group.get("weight_decay", 0) or 0)


def _use_layca(group, p):
    flag = group.get("layca")
    if flag is None:
        return p.dim() >= 2
    return bool(flag)


class _LaycaMixin:
    """The shared step: the gradient (with maximize and L2 decay), the subclass's direction, the update."""

    def _setup_layca(self, layca):
        self.defaults["layca"] = layca
        for group in self.param_groups:
            group.setdefault("layca", layca)

    def _direction(self, group, p, g, state):  # pragma: no cover - each subclass defines it
        """(s, scale): the step direction is scale x s (scale > 0: a constant the plain step folds
        into its rate and Layca, which normalizes s, ignores; it spares a pass over s)."""
        raise NotImplementedError

    def _rate(self, group, state):
        return float(group["lr"])

    def _describe(self, group, p, state):
        """p's step for native.py's lr_step, its state brought up to this step (created, the step
        count bumped: call once a step): (kind, a, b, c, s, flags, h, scale) with a, b, c the
        addresses of the kind's state tensors (0 where none), s the direction's buffer (0: the
        scratch), flags native.FIRST and NESTEROV, h the kind's seven hyperparameters and scale
        as _direction's; or None (no compiled step for these options or tensors: the torch path)."""
        return None

    def _scratch(self, dtype, n):
        """A flat buffer of dtype and at least n elements, where lr_step's threads form the
        directions that have no state of their own (each thread a part); kept, not state."""
        buffers = self.__dict__.setdefault("_layca_scratch", {})
        buf = buffers.get(dtype)
        if buf is None or buf.numel() < n:
            buf = buffers[dtype] = torch.empty(n, dtype=dtype)
        return buf

    @torch.no_grad()
    def step(self, closure=None):
        """Performs a single optimization step (`closure` re-evaluates the model and returns the loss)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        turns = []  # (p, s, lr) of the Layca parameters on the torch path, updated together at the end
        compiled = _CompiledSteps()
        for group in self.param_groups:
            wd = group.get("weight_decay", 0) or 0
            maximize = group.get("maximize", False)
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("%s does not support sparse gradients" % type(self).__name__)
                state = self.state[p]
                layca = _use_layca(group, p)
                described = self._describe(group, p, state)
                if described is not None:
                    kind, a, b, c, s, flags, h, scale = described
                    flags |= native.LAYCA if layca else 0
                    compiled.add(p, p.grad, kind, a, b, c, s, flags, h, self._rate(group, state), scale)
                    continue
                g = -p.grad if maximize else p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)
                s, scale = self._direction(group, p, g, state)
                lr = self._rate(group, state)
                if layca:
                    turns.append((p, s, lr))
                else:
                    p.add_(s, alpha=-lr * scale)
        # The threads the compiled step ran on (0: none compiled), for the tests and benchmarks.
        self._compiled_threads = compiled.run(self._scratch)
        if turns:
            layca_updates_(turns)
        return loss


def _bump_step(state):
    """Increments state['step'] (a float tensor, as torch keeps it) and returns it as a number."""
    step = state.get("step")
    if torch.is_tensor(step) and step.dim() == 0 and step.is_floating_point():
        t = float(step) + 1
        step.fill_(t)  # in place, as torch's own optimizers (one dispatch: a step costs it per parameter)
        return t
    t = (0.0 if step is None else float(step)) + 1
    state["step"] = torch.tensor(t)
    return t


class LaycaSGD(_LaycaMixin, torch.optim.SGD):
    """torch.optim.SGD (momentum, dampening, Nesterov, weight decay) with Layca on `layca` groups.

    The direction is torch's: buf = momentum * buf + (1 - dampening) * g (buf = g at the first
    step); s = g + momentum * buf with Nesterov, else buf; s = g without momentum.
    """

    def __init__(
        self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, layca=None, **kwargs
    ):
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            **kwargs,
        )
        self._setup_layca(layca)

    def _direction(self, group, p, g, state):
        momentum = group["momentum"]
        if momentum == 0:
            return g, 1.0
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = torch.clone(g).detach()
            state["momentum_buffer"] = buf
        else:
            buf.mul_(momentum).add_(g, alpha=1 - group["dampening"])
        return (g.add(buf, alpha=momentum) if group["nesterov"] else buf), 1.0

    def _describe(self, group, p, state):
        momentum = group["momentum"]
        sign, wd = _sign_and_decay(group)
        if momentum == 0:
            if not _compiled(p, ()):
                return None
            if sign == 1.0 and wd == 0:  # the direction is the gradient itself
                return native.KIND_DIRECT, 0, 0, 0, p.grad.data_ptr(), 0, _NO_HYPERPARAMETERS, 1.0
            return native.KIND_SGD, 0, 0, 0, 0, 0, (sign, wd, 0.0, 0.0, 0.0, 0.0, 0.0), 1.0
        buf = state.get("momentum_buffer")
        first = buf is None
        if first:
            buf = torch.empty_like(p)
        if not _compiled(p, (buf,)):
            return None
        if first:
            state["momentum_buffer"] = buf
        nesterov = bool(group["nesterov"])
        flags = (native.FIRST if first else 0) | (native.NESTEROV if nesterov else 0)
        h = (sign, wd, float(momentum), float(group["dampening"]), 0.0, 0.0, 0.0)
        # The direction is the buffer itself, or (Nesterov) formed in the scratch.
        return native.KIND_SGD, buf.data_ptr(), 0, 0, 0 if nesterov else buf.data_ptr(), flags, h, 1.0


class LaycaAdam(_LaycaMixin, torch.optim.Adam):
    """torch.optim.Adam (L2 weight decay, amsgrad) with Layca: s = m_hat / (sqrt(v_hat) + eps)."""

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, layca=None, **kwargs
    ):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, **kwargs)
        self._setup_layca(layca)

    @staticmethod
    def _init_state(group, p, state):
        if "exp_avg" not in state:
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group.get("amsgrad") and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _direction(self, group, p, g, state):
        b1, b2 = group["betas"]
        self._init_state(group, p, state)
        t = _bump_step(state)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        if group.get("amsgrad"):
            vmax = state.setdefault("max_exp_avg_sq", torch.zeros_like(p))
            torch.maximum(vmax, v, out=vmax)
            v = vmax
        # m_hat / (sqrt(v_hat) + eps) = (sqrt(c2) / c1) m / (sqrt(v) + eps sqrt(c2)), c = 1 - beta^t:
        # one temporary, three passes.
        r = math.sqrt(1 - b2**t)
        denom = torch.sqrt(v).add_(group["eps"] * r)
        return torch.div(m, denom, out=denom), r / (1 - b1**t)

    def _describe(self, group, p, state):
        self._init_state(group, p, state)
        vmax = state["max_exp_avg_sq"] if group.get("amsgrad") else None
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if not _compiled(p, [t for t in (m, v, vmax) if t is not None]):
            return None
        b1, b2 = group["betas"]
        t = _bump_step(state)
        r = math.sqrt(1 - b2**t)
        sign, wd = _sign_and_decay(group)
        h = (sign, wd, 1 - b1, b2, 1 - b2, group["eps"] * r, 0.0)
        c = 0 if vmax is None else vmax.data_ptr()
        # m_hat / (sqrt(v_hat) + eps) = scale x s, as _direction
        return native.KIND_ADAM, m.data_ptr(), v.data_ptr(), c, 0, 0, h, r / (1 - b1**t)


def _adaptive(group, v, ga, buf, a, c, alpha, mom):
    """lr_step's description of an RMSprop / Adagrad step (native.py lr_adaptive): v <- a v + c g'^2
    (g' with the group's maximize and weight decay), centered when ga is given, the direction in the
    momentum buffer buf (mom > 0) or the scratch."""
    sign, wd = _sign_and_decay(group)
    h = (sign, wd, a, c, alpha, float(group["eps"]), float(mom))
    ga = 0 if ga is None else ga.data_ptr()
    return native.KIND_ADAPTIVE, v.data_ptr(), ga, 0, 0 if buf is None else buf.data_ptr(), 0, h, 1.0


class LaycaRMSprop(_LaycaMixin, torch.optim.RMSprop):
    """torch.optim.RMSprop (alpha, eps, centered, momentum, weight decay) with Layca.

    v = alpha v + (1 - alpha) g^2; s = g / (sqrt(v) + eps) (centered: v - mean(g)^2); with momentum,
    buf = momentum buf + s and s = buf.
    """

    def __init__(
        self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *, layca=None, **kwargs
    ):
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            **kwargs,
        )
        self._setup_layca(layca)

    @staticmethod
    def _init_state(group, p, state):
        if "square_avg" not in state:
            state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _direction(self, group, p, g, state):
        alpha = group["alpha"]
        self._init_state(group, p, state)
        _bump_step(state)
        v = state["square_avg"]
        v.mul_(alpha).addcmul_(g, g, value=1 - alpha)
        if group["centered"]:
            ga = state["grad_avg"]
            ga.mul_(alpha).add_(g, alpha=1 - alpha)
            avg = v.addcmul(ga, ga, value=-1).sqrt_().add_(group["eps"])
        else:
            avg = torch.sqrt(v).add_(group["eps"])
        if group["momentum"] > 0:
            buf = state.setdefault("momentum_buffer", torch.zeros_like(p))
            buf.mul_(group["momentum"]).addcdiv_(g, avg)
            return buf, 1.0
        return torch.div(g, avg, out=avg), 1.0

    def _describe(self, group, p, state):
        self._init_state(group, p, state)
        alpha, mom = group["alpha"], group["momentum"]
        ga = state["grad_avg"] if group["centered"] else None
        buf = state["momentum_buffer"] if mom > 0 else None
        v = state["square_avg"]
        if not _compiled(p, [t for t in (v, ga, buf) if t is not None]):
            return None
        _bump_step(state)
        return _adaptive(group, v, ga, buf, alpha, 1 - alpha, alpha, mom)


class LaycaAdagrad(_LaycaMixin, torch.optim.Adagrad):
    """torch.optim.Adagrad (lr_decay, initial_accumulator_value, eps, weight decay) with Layca.

    acc += g^2; s = g / (sqrt(acc) + eps); the rate is lr / (1 + (t - 1) lr_decay).
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0,
        weight_decay=0,
        initial_accumulator_value=0,
        eps=1e-10,
        *,
        layca=None,
        **kwargs,
    ):
        super().__init__(
            params,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            **kwargs,
        )
        self._setup_layca(layca)

    @staticmethod
    def _init_state(group, p, state):
        if "sum" not in state:
            state["sum"] = torch.full_like(p, group["initial_accumulator_value"], memory_format=torch.preserve_format)

    def _describe(self, group, p, state):
        self._init_state(group, p, state)
        if not _compiled(p, [state["sum"]]):
            return None
        _bump_step(state)
        return _adaptive(group, state["sum"], None, None, 1.0, 1.0, 1.0, 0.0)

    def _direction(self, group, p, g, state):
        self._init_state(group, p, state)
        _bump_step(state)
        acc = state["sum"]
        acc.addcmul_(g, g, value=1)
        denom = torch.sqrt(acc).add_(group["eps"])
        return torch.div(g, denom, out=denom), 1.0

    def _rate(self, group, state):
        t = float(state["step"])
        return float(group["lr"]) / (1 + (t - 1) * group.get("lr_decay", 0))


KERNEL_MODULES = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)


def _unwrap(model):
    return model.module if hasattr(model, "module") and isinstance(model.module, torch.nn.Module) else model


def is_transformers_conv1d(module):
    """Hugging Face Transformers' Conv1D (GPT-2's attention and MLP kernels: a Linear whose weight
    is [in, out]), recognized by its class's name and package so this module needs no transformers."""
    cls = type(module)
    return cls.__name__ == "Conv1D" and (cls.__module__ or "").split(".")[0] == "transformers"


def is_kernel_module(module):
    """Whether a module's weight is a kernel: nn.Linear, nn.Conv1d/2d/3d or Transformers' Conv1D."""
    return isinstance(module, KERNEL_MODULES) or is_transformers_conv1d(module)


def kernel_layers(model, embeddings=False):
    """[(name, module)] of the model's kernel layers in registration order: nn.Linear, nn.Conv1d/2d/3d,
    Transformers' Conv1D and, with embeddings=True, nn.Embedding. A layer whose weight is an
    embedding's (a tied LM head) or an earlier layer's is left out: each kernel counts once. The one
    rule of what a kernel is: RotationLogger watches these, layca_param_groups turns them."""
    model = _unwrap(model)
    tables = {id(m.weight) for _, m in model.named_modules() if isinstance(m, torch.nn.Embedding)}
    found, seen = [], set()
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Embedding):
            if not embeddings or id(m.weight) in seen:
                continue
        elif not is_kernel_module(m) or id(m.weight) in tables or id(m.weight) in seen:
            continue
        seen.add(id(m.weight))
        found.append((name or type(m).__name__.lower(), m))
    return found


def layca_param_groups(model, lr, alpha=0.0, multipliers=None, weight_decay=0.0, embeddings=False):
    """torch.optim param groups for Layca, as paramGroups() in src/engine/optim/schedule.ts.

    One group per kernel layer (its weight; rate lr x multiplier, Layca, weight decay), the layer's
    bias in a group of the same rate without Layca or decay (kernel layers as kernel_layers says:
    Linear, convolutions, Transformers' Conv1D; embeddings with embeddings=True), and the other trainable parameters
    (norm layers) in a last group of rate lr without Layca. Multipliers: the paper's alpha ones
    (see schedule.alpha_multipliers) times `multipliers` (a list in layer order, or a dict by
    module name). Each group also has 'name' and 'lr_multiplier'. embeddings=True turns the
    nn.Embedding tables too (kernel_layers(model, embeddings=True)).
    """
    from .schedule import layer_multipliers

    layers = kernel_layers(model, embeddings)
    names = [n for n, _ in layers]
    mults = layer_multipliers(alpha, multipliers, names)
    groups, seen = [], set()
    for (name, m), mult in zip(layers, mults):
        groups.append(
            {
                "params": [m.weight],
                "lr": lr * mult,
                "layca": True,
                "weight_decay": weight_decay,
                "name": name,
                "lr_multiplier": mult,
            }
        )
        seen.add(id(m.weight))
        if getattr(m, "bias", None) is not None:
            groups.append(
                {
                    "params": [m.bias],
                    "lr": lr * mult,
                    "layca": False,
                    "weight_decay": 0.0,
                    "name": name + ".bias",
                    "lr_multiplier": mult,
                }
            )
            seen.add(id(m.bias))
    rest = [p for p in _unwrap(model).parameters() if p.requires_grad and id(p) not in seen]
    if rest:
        groups.append(
            {"params": rest, "lr": lr, "layca": False, "weight_decay": 0.0, "name": "other", "lr_multiplier": 1.0}
        )
    return groups


def expected_turn(lr):
    """The angle (radians) one Layca step of rate lr turns a kernel by."""
    return math.atan(lr)

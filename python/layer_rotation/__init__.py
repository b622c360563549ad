"""Layer rotation for PyTorch: the cosine distance of each layer's kernel to its initial value
(Carbonnelle & De Vleeschouwer, "Layer rotation"), Layca optimizers, a logger writing the Layer
Rotation Monitor's run log from your own training loop, and the monitor's PyTorch engine
(`python -m layer_rotation train CONFIG`)."""

import importlib

__version__ = "0.1.0"

# The names below load on first use (PEP 562): most need torch, and `python -m layer_rotation`
# (check, report, and train's message when torch is missing) must start without it.
_WHERE = {
    "EventWriter": "events",
    "RotationLogger": "logger",
    "LaycaAdagrad": "optim",
    "LaycaAdam": "optim",
    "LaycaRMSprop": "optim",
    "LaycaSGD": "optim",
    "kernel_layers": "optim",
    "layca_param_groups": "optim",
    "layca_update_": "optim",
    "RotationTracker": "rotation",
    "cosine_distance": "rotation",
    "tensor_cosine_distance": "rotation",
    "alpha_multipliers": "schedule",
    "learning_rate_at": "schedule",
}


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "__version__",
    "EventWriter",
    "RotationLogger",
    "RotationTracker",
    "LaycaSGD",
    "LaycaAdam",
    "LaycaRMSprop",
    "LaycaAdagrad",
    "layca_param_groups",
    "layca_update_",
    "kernel_layers",
    "cosine_distance",
    "tensor_cosine_distance",
    "alpha_multipliers",
    "learning_rate_at",
]

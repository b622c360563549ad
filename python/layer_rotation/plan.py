"""What a framework's optimizer says of a run's plan, for the callbacks of layer_rotation.lightning
and layer_rotation.hf: RotationLogger's optimizer, learning_rate, layca and multipliers."""
from .optim import _LaycaMixin


def unwrap_optimizer(optimizer):
    """The torch optimizer inside a framework's wrapper (accelerate's AcceleratedOptimizer, ...)."""
    seen = 0
    while not isinstance(optimizer, _LaycaMixin) and getattr(optimizer, "optimizer", None) is not None and seen < 5:
        optimizer = optimizer.optimizer
        seen += 1
    return optimizer


def base_rate(optimizer):
    """The scheduled base rate: the first param group's rate over its layca_param_groups multiplier."""
    if optimizer is None:
        return None
    return group_rate(unwrap_optimizer(optimizer).param_groups[0])


def group_rate(group):
    """base_rate of a param group found once (a callback reads it at every step: schedulers set
    group["lr"] in place)."""
    return float(group["lr"]) / float(group.get("lr_multiplier", 1.0) or 1.0)


def optimizer_plan(optimizer, layer_names):
    """RotationLogger's optimizer ("adamw", "sgd-layca"), learning_rate, layca and multipliers (a
    group's `lr_multiplier` and `name` as layca_param_groups sets them), or {} with no optimizer."""
    if optimizer is None:
        return {}
    opt = unwrap_optimizer(optimizer)
    layca = isinstance(opt, _LaycaMixin) and any(g.get("layca") is not False for g in opt.param_groups)
    kind = type(opt).__name__.lower()
    if kind.startswith("layca"):
        kind = kind[len("layca") :]
    by_name = {g["name"]: g.get("lr_multiplier", 1.0) for g in opt.param_groups if "name" in g}
    return {
        "optimizer": kind + ("-layca" if layca else ""),
        "learning_rate": base_rate(opt),
        "layca": layca,
        "multipliers": [float(by_name.get(n, 1.0)) for n in layer_names],
    }

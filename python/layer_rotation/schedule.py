"""Learning-rate schedules (linear warmup, step decay) and per-layer multipliers (the paper's
alpha parametrization and explicit values), as src/engine/optim/schedule.ts."""


def learning_rate_at(base, decay, warmup_epochs, epoch):
    """The rate at fractional `epoch`: step decay by decay['factor'] at each reached epoch in
    decay['epochs'], and a linear warmup from 0 over `warmup_epochs`."""
    lr = base
    if decay:
        for e in decay["epochs"]:
            if epoch >= e:
                lr *= decay["factor"]
    if warmup_epochs > 0 and epoch < warmup_epochs:
        lr *= max(epoch, 0) / warmup_epochs
    return lr


def alpha_multipliers(alpha, layers):
    """The paper's alpha multipliers over `layers` kernel layers in forward order.

    alpha > 0: the last layer's is 1, each earlier one (1 - alpha)^(5/(L-1)) times smaller;
    alpha < 0: the first layer's is 1, each later one (1 + alpha)^(5/(L-1)) times smaller.
    """
    if alpha == 0 or layers <= 1:
        return [1.0] * layers
    step = 5 / (layers - 1)
    if alpha > 0:
        return [(1 - alpha) ** (step * (layers - 1 - l)) for l in range(layers)]
    return [(1 + alpha) ** (step * l) for l in range(layers)]


def layer_multipliers(alpha, explicit, names):
    """Alpha multipliers times explicit ones (a list in forward order, or a dict by layer name)."""
    m = alpha_multipliers(alpha, len(names))
    if explicit is None:
        return m
    if isinstance(explicit, (list, tuple)):
        if len(explicit) != len(names):
            raise ValueError(
                "layer multipliers: %d values but the model has %d kernel layers (%s)"
                % (len(explicit), len(names), ", ".join(names))
            )
        return [a * float(b) for a, b in zip(m, explicit)]
    if isinstance(explicit, dict):
        for name in explicit:
            if name not in names:
                raise ValueError(
                    "layer multipliers name '%s', which is not a kernel layer of the model (%s)"
                    % (name, ", ".join(names))
                )
        return [a * float(explicit.get(n, 1.0)) for a, n in zip(m, names)]
    raise TypeError("layer multipliers must be a list or a dict, got %r" % (explicit,))

"""The models of src/engine/models (MLP, VGG-style CNN, ResNet v1 6n+2) in torch, with the same
kernel layers (names, order, kinds, params, configPath), initializers and structure.

Every kernel layer is an attribute of the model named as in the TS engine (`dense1`, `conv2_1`,
`s2b1_shortcut`, `output`, ...), so `model.named_modules()` gives those names. The names are not
spelled here: the models take them, in forward order, from config.kernel_layer_sources (and a
batch norm is named after its convolution, `<conv>_bn`). Shapes are reported in the TS
convention: dense [in, out], conv2d [kh, kw, in, out]. Inputs are NCHW.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

from .config import kernel_layer_sources, resnet_blocks_per_stage

BN_MOMENTUM = 0.01  # Keras's 0.99, in torch's convention
BN_EPS = 1e-3


def fans(shape):
    """(fan_in, fan_out) as Keras computes them, from a TS-convention kernel shape."""
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return receptive * shape[-2], receptive * shape[-1]


def init_kernel_(weight, kind, shape):
    """Fills a kernel in place: he_normal (truncated at 2 std, std sqrt(2/fan_in)/0.8796...),
    he_uniform (limit sqrt(6/fan_in)) or glorot_uniform (limit sqrt(6/(fan_in+fan_out)))."""
    fan_in, fan_out = fans(shape)
    with torch.no_grad():
        if kind == "he_normal":
            std = math.sqrt(2 / fan_in) / 0.87962566103423978
            nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std)
        elif kind == "he_uniform":
            lim = math.sqrt(6 / fan_in)
            weight.uniform_(-lim, lim)
        elif kind == "glorot_uniform":
            lim = math.sqrt(6 / (fan_in + fan_out))
            weight.uniform_(-lim, lim)
        else:
            raise ValueError("model.kernelInitializer: unknown initializer '%s'" % kind)


class LayerRotationModel(nn.Module):
    """Base of the config's models: `layers` lists the kernel layers' infos, `kernel_modules` them."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.layers = []
        self.kernel_modules = []
        self._pending = list(kernel_layer_sources(spec))  # (name, configPath) of the layers still to make

    def _kernel(self, module, shape):
        """Registers the next kernel layer of the forward order under its name; returns (module, name)."""
        if not self._pending:
            raise ValueError("the %s model makes more kernel layers than its spec names" % self.spec["type"])
        name, source = self._pending.pop(0)
        init_kernel_(module.weight, self.spec["kernelInitializer"], shape)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
        setattr(self, name, module)
        params = math.prod(shape) + (shape[-1] if module.bias is not None else 0)
        kind = "dense" if isinstance(module, nn.Linear) else "conv2d"
        self.layers.append(
            {
                "name": name,
                "kind": kind,
                "shape": list(shape),
                "params": params,
                "configPath": source,
            }
        )
        self.kernel_modules.append(module)
        return module, name

    def _done(self):
        if self._pending:
            raise ValueError(
                "the %s model made no kernel layers %s" % (self.spec["type"], ", ".join(n for n, _ in self._pending))
            )

    def dense(self, fan_in, units):
        """The next kernel layer, a dense one."""
        return self._kernel(nn.Linear(fan_in, units, bias=self.spec["useBias"]), [fan_in, units])[0]

    def conv_bn(self, cin, cout, k, stride=1):
        """The next kernel layer, a convolution, and its batch norm (None without batchNorm)."""
        pad = "same" if stride == 1 else (k - 1) // 2
        conv, name = self._kernel(
            nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=self.spec["useBias"]), [k, k, cin, cout]
        )
        if not self.spec.get("batchNorm"):
            return conv, None
        bn = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM)
        setattr(self, name + "_bn", bn)
        return conv, bn

    def kernels(self):
        return [m.weight for m in self.kernel_modules]


_ACT = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda x: x}


class Mlp(LayerRotationModel):
    def __init__(self, spec, input_shape, classes):
        super().__init__(spec)
        inputs = math.prod(input_shape)
        widths = [inputs] + list(spec["hidden"])
        self.hidden = [self.dense(widths[i], w) for i, w in enumerate(spec["hidden"])]
        self.out = self.dense(widths[-1], classes)
        self.act = _ACT[spec["activation"]]
        self._done()

    def forward(self, x):
        h = x.reshape(x.shape[0], -1)
        for layer in self.hidden:
            h = self.act(layer(h))
        return self.out(h)


def _conv_bn(x, conv, bn, relu=True):
    y = conv(x)
    if bn is not None:
        y = bn(y)
    return F.relu(y) if relu else y


class Vgg(LayerRotationModel):
    def __init__(self, spec, input_shape, classes):
        super().__init__(spec)
        if len(input_shape) != 3:
            raise ValueError("a VGG model needs image inputs [h, w, c], got %s" % (input_shape,))
        k = spec["kernelSize"]
        cps = spec["convsPerStage"]
        counts = cps if isinstance(cps, list) else [cps] * len(spec["filters"])
        channels = input_shape[2]
        self.stages = []
        for s, filters in enumerate(spec["filters"]):
            stage = []
            for _ in range(counts[s]):
                stage.append(self.conv_bn(channels, filters, k))
                channels = filters
            self.stages.append(stage)
        self.fcs = []
        width = channels
        for units in spec["dense"]:
            self.fcs.append(self.dense(width, units))
            width = units
        self.out = self.dense(width, classes)
        self._done()

    def forward(self, x):
        h = x
        for s, stage in enumerate(self.stages):
            for conv, bn in stage:
                h = _conv_bn(h, conv, bn)
            # Max pooling between stages (not after the last: global average pooling follows).
            if s < len(self.stages) - 1 and h.shape[2] >= 2 and h.shape[3] >= 2:
                h = F.max_pool2d(h, 2, 2)
        f = h.mean(dim=(2, 3))
        for fc in self.fcs:
            f = F.relu(fc(f))
        return self.out(f)


class Resnet(LayerRotationModel):
    def __init__(self, spec, input_shape, classes):
        super().__init__(spec)
        if len(input_shape) != 3:
            raise ValueError("a ResNet needs image inputs [h, w, c], got %s" % (input_shape,))
        depth = spec["depth"]
        if depth < 8 or (depth - 2) % 6:
            raise ValueError("model.depth: ResNet depth must be 6n+2, got %s" % depth)
        f = spec["filters"]
        self.stem = self.conv_bn(input_shape[2], f[0], 3)
        channels = f[0]
        self.blocks = []
        for s, filters in enumerate(f):
            for b in range(resnet_blocks_per_stage(depth)):
                stride = 2 if s > 0 and b == 0 else 1
                conv1, bn1 = self.conv_bn(channels, filters, 3, stride)
                conv2, bn2 = self.conv_bn(filters, filters, 3)
                shortcut = None
                if stride != 1 or channels != filters:
                    shortcut = self.conv_bn(channels, filters, 1, stride)  # 1x1 projection
                self.blocks.append((conv1, bn1, conv2, bn2, shortcut))
                channels = filters
        self.out = self.dense(channels, classes)
        self._done()

    def forward(self, x):
        h = _conv_bn(x, *self.stem)
        for conv1, bn1, conv2, bn2, shortcut in self.blocks:
            y = _conv_bn(_conv_bn(h, conv1, bn1), conv2, bn2, relu=False)
            skip = _conv_bn(h, shortcut[0], shortcut[1], relu=False) if shortcut else h
            h = F.relu(y + skip)
        return self.out(h.mean(dim=(2, 3)))


def build_model(spec, input_shape, classes, seed=None):
    """The model of a (defaulted) model spec; `input_shape` in the TS convention ([features] or [h, w, c]).
    With `seed`, the initial weights come from torch's generator seeded with it."""
    if seed is not None:
        torch.manual_seed(int(seed))
    cls = {"mlp": Mlp, "vgg": Vgg, "resnet": Resnet}.get(spec["type"])
    if cls is None:
        raise ValueError("model.type: unknown model type '%s' (expected mlp, vgg, resnet)" % spec["type"])
    return cls(spec, list(input_shape), classes)


def param_groups_for(model, opt_spec, multipliers):
    """torch param groups as paramGroups() in src/engine/optim/schedule.ts: per kernel layer its
    kernel (multiplier, weight decay, Layca) and its bias (same rate, no decay, no Layca); then the
    batch-norm parameters (rate x1, no decay, no Layca). 'lr_multiplier' scales the scheduled rate."""
    groups, seen = [], set()
    for info, m, mult in zip(model.layers, model.kernel_modules, multipliers):
        groups.append(
            {
                "params": [m.weight],
                "lr_multiplier": mult,
                "weight_decay": opt_spec["weightDecay"],
                "layca": bool(opt_spec["layca"]),
                "name": info["name"],
            }
        )
        seen.add(id(m.weight))
        if m.bias is not None:
            groups.append(
                {
                    "params": [m.bias],
                    "lr_multiplier": mult,
                    "weight_decay": 0.0,
                    "layca": False,
                    "name": info["name"] + ".bias",
                }
            )
            seen.add(id(m.bias))
    rest = [p for p in model.parameters() if id(p) not in seen]
    if rest:
        groups.append({"params": rest, "lr_multiplier": 1.0, "weight_decay": 0.0, "layca": False, "name": "batchnorm"})
    for g in groups:
        g["lr"] = opt_spec["learningRate"] * g["lr_multiplier"]
    return groups


def make_optimizer(opt_spec, groups):
    """The Layca optimizer class of the config's optimizer type, with the TS engine's semantics."""
    from .optim import LaycaAdagrad, LaycaAdam, LaycaRMSprop, LaycaSGD

    t = opt_spec["type"]
    lr = opt_spec["learningRate"]
    if t == "sgd":
        return LaycaSGD(
            groups,
            lr=lr,
            momentum=opt_spec["momentum"],
            nesterov=bool(opt_spec["nesterov"]) and opt_spec["momentum"] > 0,
        )
    if t == "adam":
        return LaycaAdam(groups, lr=lr, betas=(opt_spec["beta1"], opt_spec["beta2"]), eps=opt_spec["epsilon"])
    if t == "rmsprop":
        return LaycaRMSprop(groups, lr=lr, alpha=opt_spec["rho"], eps=opt_spec["epsilon"])
    if t == "adagrad":
        return LaycaAdagrad(
            groups, lr=lr, initial_accumulator_value=opt_spec["initialAccumulatorValue"], eps=opt_spec["epsilon"]
        )
    raise ValueError("optimizer.type: unknown optimizer '%s' (expected sgd, adam, rmsprop, adagrad)" % t)

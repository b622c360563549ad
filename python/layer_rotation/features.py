"""First-layer features (the paper's section 6): snapshots of the first kernel layer's units as
small images, the `features` event of the run log (docs/run-log-format.md), as
src/runlog/features.ts and src/engine/features.ts write them for the tfjs engine: the same
bounds, the same encoding (int8 per value, a scale per unit, base64) and the same layout (each
unit's image row by row, channels last), whatever torch's kernel layout.

torch keeps nn.Linear's weight as [out, in] (unit j is row j) and nn.Conv2d's as [cout, cin, kh,
kw] (filter j, permuted here to [kh, kw, cin]); the tfjs engine keeps [in, out] and [kh, kw, cin,
cout]. A dense unit's inputs are in the order the image was flattened: this package's engine
flattens channels last (as the tfjs engine), a script of your own usually with x.flatten(1) on
NCHW batches, channels first ("chw", which RotationLogger assumes unless told).
"""
import base64

import torch

from . import events
from .events import MAX_FEATURE_UNITS, MAX_FEATURE_VALUES

# Snapshots at the end of every epoch up to this one, then 4 per doubling (features_due).
FEATURES_EVERY_EPOCH_UNTIL = 8


def feature_image(kind, shape, sample_shape):
    """The image [h, w, c] each unit of the first kernel layer is, or None when its input is not an
    image. `shape` is the kernel's in the TS convention (dense [in, out], conv2d [kh, kw, cin,
    cout]); `sample_shape` one sample's [h, w, c] before any flattening (for a dense layer)."""
    if kind == "dense" and len(shape) == 2 and sample_shape is not None and len(sample_shape) == 3:
        h, w, c = (int(d) for d in sample_shape)
        if c in (1, 3) and h >= 1 and w >= 1 and h * w * c == shape[0]:
            return [h, w, c]
    if kind == "conv2d" and len(shape) == 4 and shape[2] in (1, 3):
        return [int(shape[0]), int(shape[1]), int(shape[2])]
    return None


def feature_units(image, total_units):
    """Units a snapshot holds: the first ones, at most 64 and at most 65,536 values (0: none fit)."""
    size = image[0] * image[1] * image[2]
    return max(0, min(MAX_FEATURE_UNITS, int(total_units), MAX_FEATURE_VALUES // size))


def features_due(epoch):
    """Whether the end of (1-based) epoch `epoch` gets a snapshot: every epoch up to 8, then every
    2nd up to 16, every 4th up to 32, ... (featuresDue in src/runlog/features.ts)."""
    if not isinstance(epoch, int) or epoch < 1:
        return False
    stride = 1
    while FEATURES_EVERY_EPOCH_UNTIL * stride < epoch:
        stride *= 2
    return epoch % stride == 0


def quantize_units(values):
    """(scales, base64 data) of a [units, size] tensor: per unit, scale = max |w| / 127 with 6
    significant digits, q = w / scale rounded half away from zero, in [-127, 127]; in float64,
    as quantizeUnits in TS. None when a value is not finite."""
    v = values.detach().to("cpu", torch.float64)
    if not bool(torch.isfinite(v).all()):
        return None
    scales = []
    for m in v.abs().amax(dim=1).tolist():
        s = float("%.6g" % (m / 127))
        if s == 0 and m > 0:
            s = m / 127
        scales.append(s)
    sc = torch.tensor(scales, dtype=torch.float64).unsqueeze(1)
    q = torch.sign(v) * torch.floor(v.abs() / torch.where(sc > 0, sc, torch.ones_like(sc)) + 0.5)
    q = torch.where(sc > 0, q.clamp(-127, 127), torch.zeros_like(q))
    # Two's complement bytes (without numpy, which torch does not always come with).
    data = bytes((q.to(torch.int16) & 0xFF).to(torch.uint8).flatten().tolist())
    return scales, base64.b64encode(data).decode("ascii")


def unit_images(weight, kind, units, image, flatten_order="hwc"):
    """The first `units` units of a torch kernel as [units, h * w * c], each unit's image row by
    row, channels last. `flatten_order` ("hwc" or "chw") is how a dense layer's input images were
    flattened."""
    w = weight.detach()
    h, wd, c = image
    if kind == "dense":
        rows = w[:units]
        if flatten_order == "chw":
            rows = rows.reshape(units, c, h, wd).permute(0, 2, 3, 1)
        return rows.reshape(units, h * wd * c)
    return w[:units].permute(0, 2, 3, 1).reshape(units, h * wd * c)


class FeatureSnapshots:
    """Snapshots of one kernel layer (the first): `snapshot(step, epoch)` reads its first units
    (one copy of at most 65,536 values) and returns the features event, or None when a weight is
    not finite."""

    def __init__(self, name, kind, weight, image, units, total_units, flatten_order="hwc"):
        self.name = name
        self.kind = kind
        self.weight = weight
        self.image = list(image)
        self.units = units
        self.total_units = total_units
        self.flatten_order = flatten_order
        self.last_step = -1

    @classmethod
    def of(cls, layer, weight, sample_shape, flatten_order="hwc"):
        """The snapshots of `layer` (a run_started layer: name, kind, TS-convention shape) whose
        torch kernel is `weight`, or None when its input is not an image or no unit fits."""
        image = feature_image(layer["kind"], layer["shape"], sample_shape)
        if image is None:
            return None
        total = layer["shape"][-1]
        units = feature_units(image, total)
        if units < 1:
            return None
        return cls(layer["name"], layer["kind"], weight, image, units, total, flatten_order)

    @staticmethod
    def due(epoch):
        return features_due(epoch)

    def snapshot(self, step, epoch):
        self.last_step = step
        with torch.no_grad():
            values = unit_images(self.weight, self.kind, self.units, self.image, self.flatten_order)
        q = quantize_units(values)
        if q is None:
            return None
        scales, data = q
        return events.features(
            step, epoch, self.name, self.kind, self.image, self.units, self.total_units, scales, data
        )

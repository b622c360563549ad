"""Layer rotation: the cosine distance of each kernel to its initial value, and the rotation
(tan of the angle turned) since the previous record, as src/engine/rotation.ts.

The cosine distance is computed from squared norms of differences,
    1 - cos(a, b) = (|a - b|^2 - (|a| - |b|)^2) / (2 |a| |b|),
which keeps float32's relative precision for small angles (1 - <a,b>/(|a||b|) cancels to noise).
The reductions run on the kernels' device (sums in float64); one transfer per record.
"""
import math

import torch


def cosine_distance(diff_sq, aa, bb):
    """Cosine distance from |a - b|^2, |a|^2 and |b|^2 (0 when a norm is 0), clamped to [0, 2]."""
    a = math.sqrt(aa)
    b = math.sqrt(bb)
    if a == 0 or b == 0:
        return 0.0
    d = (diff_sq - (a - b) * (a - b)) / (2 * a * b)
    return min(2.0, max(0.0, d))


def tan_from_cosine_distance(c):
    """tan of the angle whose cosine distance is c (inf at and beyond 90 degrees)."""
    cos = 1 - c
    if cos <= 0:
        return math.inf
    return math.sqrt(max(0.0, 1 / (cos * cos) - 1))


def tensor_cosine_distance(a, b):
    """Cosine distance between two tensors (flattened), with the careful formula."""
    a = a.detach().reshape(-1)
    b = b.detach().reshape(-1)
    d = a - b
    sums = (
        torch.stack(
            [
                torch.sum(d * d, dtype=torch.float64),
                torch.sum(a * a, dtype=torch.float64),
                torch.sum(b * b, dtype=torch.float64),
            ]
        )
        .cpu()
        .tolist()
    )
    return cosine_distance(*sums)


class RotationTracker:
    """Keeps copies of the initial (and previous) kernels and measures how far they turned.

    `kernels` are the kernel tensors (parameters) in forward order; they are read, never changed.
    """

    def __init__(self, kernels):
        self.kernels = list(kernels)
        with torch.no_grad():
            self.initial = [k.detach().clone() for k in self.kernels]
            self.previous = [k.detach().clone() for k in self.kernels]
            sq = self._gather([torch.sum(k * k, dtype=torch.float64) for k in self.initial])
        self.initial_sq = list(sq)
        self.previous_sq = list(sq)

    @staticmethod
    def _gather(scalars):
        if not scalars:
            return []
        devices = {s.device for s in scalars}
        if len(devices) > 1:
            scalars = [s.cpu() for s in scalars]
        return torch.stack(scalars).cpu().tolist()

    def record(self):
        """(distances, rotation): per layer, 1 - cos(w, w0), and tan of the angle since the last record."""
        with torch.no_grad():
            scalars = []
            for w, w0, wp in zip(self.kernels, self.initial, self.previous):
                w = w.detach()
                d0 = w - w0
                dp = w - wp
                scalars += [
                    torch.sum(d0 * d0, dtype=torch.float64),
                    torch.sum(w * w, dtype=torch.float64),
                    torch.sum(dp * dp, dtype=torch.float64),
                ]
            values = self._gather(scalars)
            for w, wp in zip(self.kernels, self.previous):
                wp.copy_(w.detach())
        distances, rotation = [], []
        for i in range(len(self.kernels)):
            diff0, sq, diffp = values[3 * i : 3 * i + 3]
            distances.append(cosine_distance(diff0, sq, self.initial_sq[i]))
            rotation.append(tan_from_cosine_distance(cosine_distance(diffp, sq, self.previous_sq[i])))
            self.previous_sq[i] = sq
        return distances, rotation

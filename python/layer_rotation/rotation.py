"""Layer rotation: the cosine distance of each kernel to its initial value, and the rotation
(tan of the angle turned) since the previous record, as src/engine/rotation.ts.

The cosine distance is computed from squared norms of differences,
    1 - cos(a, b) = (|a - b|^2 - (|a| - |b|)^2) / (2 |a| |b|),
which keeps float32's relative precision for small angles (1 - <a,b>/(|a||b|) cancels to noise).
Those squared norms are of differences, so float32 sums keep their relative precision (sums of
positive terms); they run on the kernels' device, one transfer per record.
"""
import math

import torch

from .blas import dot


def _flat(t):
    """A tensor's values as one flat vector (a view when contiguous)."""
    t = t.detach()
    return t.view(-1) if t.is_contiguous() else t.reshape(-1)


def _storage_flat(t):
    """A tensor's values as one flat vector in the order they lie in memory: a view, with no copy,
    for a contiguous tensor and for a permuted view of one (Keras's kernels seen out first, a
    transposed Conv1D weight), else a copy. The order differs from _flat's for permuted views: for
    measures that ignore the order (norms, inner products of tensors flattened alike)."""
    t = t.detach()
    if t.is_contiguous():
        return t.view(-1)
    order = sorted(range(t.dim()), key=lambda d: (-t.stride(d), -t.size(d)))
    permuted = t.permute(*order)
    return permuted.view(-1) if permuted.is_contiguous() else t.reshape(-1)


def sum_sq(x):
    """|x|^2 of a flat tensor, as a 0-d tensor on its device (blas.dot: summed in blocks)."""
    return dot(x, x)


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
    a = _flat(a).double()
    b = _flat(b).double()
    sums = torch.stack([sum_sq(a - b), sum_sq(a), sum_sq(b)]).cpu().tolist()
    return cosine_distance(*sums)


class RotationTracker:
    """Keeps copies of the initial (and previous) kernels and measures how far they turned.

    `kernels` are the kernel tensors (parameters) in forward order; they are read, never changed.
    A record makes no allocation the size of a kernel: per kernel, w - w_prev into a scratch buffer
    and its squared norm, w copied over w_prev, w - w0 into the scratch and its squared norm, and
    |w|^2 (five passes over kernels that mostly sit in cache, one host transfer for all layers).
    Kernels are read in memory order (_storage_flat: a permuted view, as Keras's and Conv1D's
    kernels in torch's layout, is not copied), which the distances and rotations do not depend on.
    """

    def __init__(self, kernels):
        self.kernels = list(kernels)
        with torch.no_grad():
            flat = [_storage_flat(k) for k in self.kernels]
            # Copies in at least float32 (a half kernel's differences and sums need more).
            self.initial = [f.to(torch.promote_types(f.dtype, torch.float32), copy=True) for f in flat]
            self.previous = [f.clone() for f in self.initial]
            self._scratch = [torch.empty_like(f) for f in self.initial]
            sq = self._gather([sum_sq(f) for f in self.initial])
        self.initial_sq = list(sq)
        self.previous_sq = list(sq)

    @staticmethod
    def _gather(scalars):
        if not scalars:
            return []
        devices = {s.device for s in scalars}
        if len(devices) > 1:
            scalars = [s.cpu() for s in scalars]
        return torch.stack([s.to(torch.float64) for s in scalars]).cpu().tolist()

    def record(self):
        """(distances, rotation): per layer, 1 - cos(w, w0), and tan of the angle since the last record."""
        with torch.no_grad():
            scalars = []
            for k, w0, wp, s in zip(self.kernels, self.initial, self.previous, self._scratch):
                w = _storage_flat(k)
                torch.sub(w, wp, out=s)
                diffp = sum_sq(s)
                wp.copy_(w)
                torch.sub(w, w0, out=s)
                scalars += [sum_sq(s), sum_sq(wp), diffp]
            values = self._gather(scalars)
        distances, rotation = [], []
        for i in range(len(self.kernels)):
            diff0, sq, diffp = values[3 * i : 3 * i + 3]
            distances.append(cosine_distance(diff0, sq, self.initial_sq[i]))
            rotation.append(tan_from_cosine_distance(cosine_distance(diffp, sq, self.previous_sq[i])))
            self.previous_sq[i] = sq
        return distances, rotation

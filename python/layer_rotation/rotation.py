"""Layer rotation: the cosine distance of each kernel to its initial value, and the rotation
(tan of the angle turned) since the previous record, as src/engine/rotation.ts.

The cosine distance is computed from squared norms of differences,
    1 - cos(a, b) = (|a - b|^2 - (|a| - |b|)^2) / (2 |a| |b|),
which keeps float32's relative precision for small angles (1 - <a,b>/(|a||b|) cancels to noise).
Those squared norms are of differences, so float32 sums keep their relative precision (sums of
positive terms); they run on the kernels' device (on the CPU in one compiled pass per kernel,
native.py, all kernels in one call over torch's threads), one transfer per record.
"""
import math

import torch

from . import native as _native
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
    A record makes no allocation the size of a kernel and one host transfer for all layers. A
    float32 or float64 kernel on the CPU takes one pass of compiled code (native.py: |w - w0|^2,
    |w - w_prev|^2 and |w|^2 summed, w copied over w_prev), with native=True (the default) and a C
    compiler; the others take torch's ops: w - w_prev into a scratch buffer and its squared norm,
    w copied over w_prev, w - w0 into the scratch and its squared norm, and |w|^2.
    Kernels are read in memory order (_storage_flat: a permuted view, as Keras's and Conv1D's
    kernels in torch's layout, is not copied), which the distances and rotations do not depend on.
    """

    def __init__(self, kernels, native=True):
        self.kernels = list(kernels)
        with torch.no_grad():
            flat = [_storage_flat(k) for k in self.kernels]
            # Copies in at least float32 (a half kernel's differences and sums need more).
            self.initial = [f.to(torch.promote_types(f.dtype, torch.float32), copy=True) for f in flat]
            self.previous = [f.clone() for f in self.initial]
            sq = self._gather([sum_sq(f) for f in self.initial])
        self.initial_sq = list(sq)
        self.previous_sq = list(sq)
        self._sums = torch.zeros(3 * len(self.kernels), dtype=torch.float64)
        self._scratch = [None] * len(self.kernels)  # torch's ops' buffers, made when first needed
        # The compiled record of each CPU kernel read in place (float32, float64): its arguments
        # (native.py lr_records' five) and what they hold for (kernel's address, size, dtype).
        self._native = [None] * len(self.kernels)
        by_dtype = {}
        for i, (k, f, w0, wp) in enumerate(zip(self.kernels, flat, self.initial, self.previous)):
            in_place = f.device.type == "cpu" and f.dtype == w0.dtype and f.data_ptr() == k.data_ptr()
            if native and in_place and _native.records(f.dtype) is not None:
                out = self._sums.data_ptr() + 3 * i * self._sums.element_size()
                args = (f.data_ptr(), w0.data_ptr(), wp.data_ptr(), f.numel(), out)
                self._native[i] = (args, (k.data_ptr(), k.numel(), k.dtype))
                by_dtype.setdefault(f.dtype, []).append(i)
        # One call a dtype at each record: (lr_records, its kernels, their arguments in one array).
        self._batches = [
            (_native.records(d), ii, _native.int64s([a for i in ii for a in self._native[i][0]]))
            for d, ii in by_dtype.items()
        ]
        self.native = any(self._native)

    @staticmethod
    def _gather(scalars):
        if not scalars:
            return []
        devices = {s.device for s in scalars}
        if len(devices) > 1:
            scalars = [s.cpu() for s in scalars]
        return torch.stack([s.to(torch.float64) for s in scalars]).cpu().tolist()

    def _sums_with_torch(self, i, w, w0, wp):
        """[|w - w0|^2, |w - wp|^2, |w|^2] as 0-d tensors on the kernel's device; wp <- w."""
        s = self._scratch[i]
        if s is None:
            s = self._scratch[i] = torch.empty_like(wp)
        torch.sub(w, wp, out=s)
        diffp = sum_sq(s)
        wp.copy_(w)
        torch.sub(w, w0, out=s)
        return [sum_sq(s), diffp, sum_sq(wp)]

    def record(self):
        """(distances, rotation): per layer, 1 - cos(w, w0), and tan of the angle since the last record."""
        # (The compiled passes need neither autograd's switch nor a tensor op: the Python around
        # them is a fifth of a record of the MLP's six kernels, kept to plain comparisons.)
        by_torch = []
        compiled = [False] * len(self.kernels)
        for i, k in enumerate(self.kernels):
            nat = self._native[i]
            # The compiled pass while the kernel's memory is what it was (not moved to another
            # device or dtype by .data or .to); torch's ops otherwise.
            if nat is not None and k.data_ptr() == nat[1][0] and k.is_cpu and (k.numel(), k.dtype) == nat[1][1:]:
                compiled[i] = True
            else:
                by_torch.append(i)
        self._compiled_threads = 0  # the threads the compiled passes ran on (0: none), for tests
        if self._batches:
            threads = torch.get_num_threads() if _native.threads_shared() else 1
            for fn, kernels, args in self._batches:
                if not all(compiled[i] for i in kernels):
                    kernels = [i for i in kernels if compiled[i]]
                    args = _native.int64s([a for i in kernels for a in self._native[i][0]])
                if kernels:
                    self._compiled_threads = max(self._compiled_threads, fn(args, len(kernels), threads))
        values = self._sums.tolist()
        if by_torch:
            with torch.no_grad():
                scalars = []
                for i in by_torch:
                    scalars += self._sums_with_torch(
                        i, _storage_flat(self.kernels[i]), self.initial[i], self.previous[i]
                    )
                gathered = self._gather(scalars)
            for n, i in enumerate(by_torch):
                values[3 * i : 3 * i + 3] = gathered[3 * n : 3 * n + 3]
        distances, rotation = [], []
        for i in range(len(self.kernels)):
            diff0, diffp, sq = values[3 * i : 3 * i + 3]
            distances.append(cosine_distance(diff0, sq, self.initial_sq[i]))
            rotation.append(tan_from_cosine_distance(cosine_distance(diffp, sq, self.previous_sq[i])))
            self.previous_sq[i] = sq
        return distances, rotation

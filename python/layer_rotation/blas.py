"""Which BLAS torch's CPU kernels use: it sets the speed of dense layers (the reference BLAS that
Debian's torch gets by default is about 5x slower than OpenBLAS on an MLP) and the precision of
float32 inner products (the reference BLAS adds them one by one in float32).

torch from PyPI names its BLAS in its build settings (BLAS_INFO=mkl); Debian's says "generic" and
uses whatever the system's libblas.so.3 is, so the library mapped into this process is read."""
import functools
import os
import re

# BLAS whose float32 inner products accumulate in several lanes (blocked), fast and precise enough
# for Layca's three-inner-product step and the rotation records' sums (dot below).
FAST = frozenset({"mkl", "openblas", "blis", "accelerate", "armpl"})

_KNOWN = (
    ("mkl", re.compile(r"mkl", re.I)),
    ("openblas", re.compile(r"openblas", re.I)),
    ("blis", re.compile(r"blis", re.I)),
    ("atlas", re.compile(r"atlas", re.I)),
    ("accelerate", re.compile(r"accelerate", re.I)),
    ("armpl", re.compile(r"armpl", re.I)),
)


def _mapped_blas():
    """The path of the BLAS library mapped into this process (Linux), or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
    except OSError:
        return None
    paths = sorted(p for p in paths if p.startswith("/"))
    return paths[0] if paths else None


@functools.lru_cache(maxsize=1)
def blas_info():
    """(name, detail): name is one of mkl, openblas, blis, atlas, accelerate, armpl, reference or
    unknown; detail says where it was read (the build setting, or the library's path)."""
    import torch

    m = re.search(r"BLAS_INFO=([\w.-]+)", torch.__config__.show())
    build = m.group(1) if m else ""
    for name, pattern in _KNOWN:
        if pattern.search(build):
            return name, "torch's build (BLAS_INFO=%s)" % build
    path = _mapped_blas()
    if path:
        real = os.path.realpath(path)
        for name, pattern in _KNOWN:
            if pattern.search(real):
                return name, real
        # Debian's and most distributions' reference implementation lives in a blas/ folder.
        if re.search(r"/blas/libblas\.so", real) or re.search(r"libblas\.so", os.path.basename(real)):
            return "reference", real
        return "unknown", real
    return "unknown", "torch's build (BLAS_INFO=%s)" % (build or "?")


def dot(a, b):
    """<a, b> of two flat tensors of one dtype, as a 0-d tensor on their device, summed in blocks
    (float32's relative precision on sums of 10^5 terms): BLAS's dot where it adds in blocks
    (FAST, and GPUs), torch's own cascaded sum elsewhere (the reference BLAS adds one by one in
    float32, imprecise and, on a squared norm, 10x slower than torch's norm)."""
    import torch

    if a.device.type != "cpu" or fast_blas():
        return torch.dot(a, b)
    if a is b:
        return torch.linalg.vector_norm(a).square()
    return torch.sum(a * b)


def blas_name():
    return blas_info()[0]


def fast_blas():
    """Whether torch's BLAS is one that accumulates float32 inner products in blocks (FAST)."""
    return blas_name() in FAST


_LABELS = {
    "mkl": "MKL",
    "openblas": "OpenBLAS",
    "blis": "BLIS",
    "atlas": "ATLAS",
    "accelerate": "Accelerate",
    "armpl": "Arm PL",
    "reference": "reference BLAS",
    "unknown": "unknown BLAS",
}


def blas_label():
    """How runs name torch's BLAS in their backend description: "MKL", "OpenBLAS", "reference BLAS"."""
    return _LABELS.get(blas_name(), blas_name())


def reference_blas_warning():
    """The warning a run on the reference BLAS gets (once), or None on any other."""
    name, where = blas_info()
    if name != "reference":
        return None
    return (
        "torch uses the reference BLAS (%s): dense and convolution layers train about 5x slower than "
        "with an optimized one. On Debian or Ubuntu: apt install libopenblas0-openmp (the OpenMP build; "
        "libopenblas0-pthread fights torch's own threads); or use torch from PyPI "
        "(pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu), which brings MKL" % where
    )

"""Compiled loops for the two per-step costs of monitoring and Layca on CPU: a rotation record (the
three squared norms |w - w0|^2, |w - w_prev|^2, |w|^2 and w_prev <- w, in one pass over each
kernel) and Layca's three inner products <w,w>, <s,w>, <s,s> (one pass) and its update
w <- a w + b s (one pass). torch has no single call for either: its ops take three to six passes
and as many dispatches per kernel (the record was 2-3x the seed authors' numpy method; this is
about 0.3-0.5x). Layca's optimizers also form their step direction in the pass of the three inner
products (lr_adaptive: RMSprop and Adagrad, lr_sgd, lr_adam; see _OPTIMIZER_TEMPLATE), and take
their whole step in one call (lr_step, see _STEP_TEMPLATE and optim.py's _describe): every
parameter's direction and turn, the parameters shared out over torch's threads, so that the step
costs less than torch's own optimizer's.

The C source below is compiled once by the system's C compiler (CC, else cc, gcc or clang) into
a cache folder (cache_dirs: layer-rotation/native/ in the user's cache, else the temp folder) and
loaded with ctypes; later processes load the cached library (a few ms). Where there is no
compiler, the compilation fails, or LAYER_ROTATION_NATIVE=0, library() is None and the callers
take their torch path (same results to float32 rounding). Sums are of float32 terms in blocks
of 256 (vector lanes), the blocks added in float64: float32's relative precision on sums of
10^6 terms whatever the BLAS. On x86-64 with GCC the loops are built for AVX2 and for the
baseline, chosen when the library loads (target_clones), so a cached library runs on any x86-64.
"""
import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile

SOURCE = r"""
#include <stddef.h>
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define LR_CLONES
#endif
#define LR_BLOCK 256

/* The loops' one reduction: for i in [0, n), the statements given (which add element i's terms
   to f0, f1, f2, of type T) run in vector lanes; the terms are summed in T over blocks of
   LR_BLOCK, the blocks' sums added in double into out[0], out[1], out[2]. */
#define LR_SUM3(T, n, out, ...)                                                                    \
    do {                                                                                           \
        double o0_ = 0.0, o1_ = 0.0, o2_ = 0.0;                                                    \
        for (long j_ = 0; j_ < (n); j_ += LR_BLOCK) {                                              \
            long e_ = j_ + LR_BLOCK < (n) ? j_ + LR_BLOCK : (n);                                   \
            T f0 = 0, f1 = 0, f2 = 0;                                                              \
            _Pragma("omp simd reduction(+ : f0, f1, f2)") for (long i = j_; i < e_; i++) {         \
                __VA_ARGS__                                                                        \
            }                                                                                      \
            o0_ += f0;                                                                             \
            o1_ += f1;                                                                             \
            o2_ += f2;                                                                             \
        }                                                                                          \
        (out)[0] = o0_;                                                                            \
        (out)[1] = o1_;                                                                            \
        (out)[2] = o2_;                                                                            \
    } while (0)

/* out[0] = |w - w0|^2, out[1] = |w - wp|^2, out[2] = |w|^2; wp <- w. */
#define LR_RECORD(T)                                                                               \
    LR_SUM3(T, n, out, T x = w[i], a = x - w0[i], b = x - wp[i]; f0 += a * a; f1 += b * b;       \
            f2 += x * x; wp[i] = x;)

LR_CLONES void lr_record_f32(const float *restrict w, const float *restrict w0, float *restrict wp,
                             long n, double *out) {
    LR_RECORD(float);
}

LR_CLONES void lr_record_f64(const double *restrict w, const double *restrict w0, double *restrict wp,
                             long n, double *out) {
    LR_RECORD(double);
}

/* out[0] = <w, w>, out[1] = <s, w>, out[2] = <s, s>. */
#define LR_DOTS3(T) LR_SUM3(T, n, out, T x = w[i], y = s[i]; f0 += x * x; f1 += y * x; f2 += y * y;)

LR_CLONES void lr_dots3_f32(const float *restrict w, const float *restrict s, long n, double *out) {
    LR_DOTS3(float);
}

LR_CLONES void lr_dots3_f64(const double *restrict w, const double *restrict s, long n, double *out) {
    LR_DOTS3(double);
}

/* w <- a w + b s */
LR_CLONES void lr_axpby_f32(float *restrict w, const float *restrict s, long n, double a, double b) {
    float fa = (float)a, fb = (float)b;
#pragma omp simd
    for (long i = 0; i < n; i++) w[i] = fa * w[i] + fb * s[i];
}

LR_CLONES void lr_axpby_f64(double *restrict w, const double *restrict s, long n, double a, double b) {
#pragma omp simd
    for (long i = 0; i < n; i++) w[i] = a * w[i] + b * s[i];
}
"""

# The optimizers' directions fused with Layca's inner products (optim.py): in one pass over a
# kernel, the gradient g' = sign g + wd w, the optimizer's state update, the step direction s
# (into the scratch buffer or the momentum buffer) and <w,w>, <s,w>, <s,s>, so that Layca's turn
# is one more pass (lr_axpby). Written once for REAL = float and double (SQRT its sqrt).
_OPTIMIZER_TEMPLATE = r"""
/* RMSprop and Adagrad: v <- a v + c g'^2 (RMSprop: a = alpha, c = 1 - alpha; Adagrad: a = c = 1);
   centered (ga not NULL): ga <- alpha ga + (1 - alpha) g', avg = sqrt(v - ga^2) + eps, else
   sqrt(v) + eps; d = g' / avg; s <- mom s + d with momentum (mom > 0: s is the momentum buffer),
   else s <- d. */
static inline __attribute__((always_inline)) void lr_adaptive_body_SFX(
    const REAL *restrict w, const REAL *restrict g, REAL *restrict v, REAL *restrict ga, REAL *restrict s,
    long n, REAL sign, REAL wd, REAL a, REAL c, REAL alpha, REAL eps, REAL mom, double *out,
    const int centered, const int momentum) {
    LR_SUM3(REAL, n, out,
        REAL x = w[i], y = sign * g[i] + wd * x;
        REAL q = a * v[i] + c * (y * y);
        v[i] = q;
        if (centered) {
            REAL m = alpha * ga[i] + (1 - alpha) * y;
            ga[i] = m;
            q = q - m * m;
        }
        REAL d = y / (SQRT(q) + eps);
        if (momentum) d = mom * s[i] + d;
        s[i] = d;
        f0 += x * x;
        f1 += d * x;
        f2 += d * d;);
}

LR_CLONES void lr_adaptive_SFX(const REAL *restrict w, const REAL *restrict g, REAL *restrict v, REAL *restrict ga,
                               REAL *restrict s, long n, double sign, double wd, double a, double c, double alpha,
                               double eps, double mom, double *out) {
    REAL S = (REAL)sign, W = (REAL)wd, A = (REAL)a, C = (REAL)c, L = (REAL)alpha, E = (REAL)eps, M = (REAL)mom;
    if (ga && mom > 0) lr_adaptive_body_SFX(w, g, v, ga, s, n, S, W, A, C, L, E, M, out, 1, 1);
    else if (ga) lr_adaptive_body_SFX(w, g, v, ga, s, n, S, W, A, C, L, E, M, out, 1, 0);
    else if (mom > 0) lr_adaptive_body_SFX(w, g, v, ga, s, n, S, W, A, C, L, E, M, out, 0, 1);
    else lr_adaptive_body_SFX(w, g, v, ga, s, n, S, W, A, C, L, E, M, out, 0, 0);
}

/* SGD: with momentum (buf not NULL), buf <- g' at the first step, else buf <- mom buf + (1 - damp) g';
   the direction is g' + mom buf with Nesterov (into s), else buf (s unused); without momentum, g'
   (into s). */
static inline __attribute__((always_inline)) void lr_sgd_body_SFX(
    const REAL *restrict w, const REAL *restrict g, REAL *restrict buf, REAL *restrict s, long n, REAL sign,
    REAL wd, REAL mom, REAL keep, double *out, const int kind) {
    LR_SUM3(REAL, n, out,
        REAL x = w[i], y = sign * g[i] + wd * x, d;
        if (kind == 0) {
            d = y;
            s[i] = d;
        } else {
            REAL b = kind & 4 ? y : mom * buf[i] + keep * y;
            buf[i] = b;
            d = kind & 2 ? y + mom * b : b;
            if (kind & 2) s[i] = d;
        }
        f0 += x * x;
        f1 += d * x;
        f2 += d * d;);
}

LR_CLONES void lr_sgd_SFX(const REAL *restrict w, const REAL *restrict g, REAL *restrict buf, REAL *restrict s,
                          long n, double sign, double wd, double mom, double damp, long first, long nesterov,
                          double *out) {
    REAL S = (REAL)sign, W = (REAL)wd, M = (REAL)mom, K = (REAL)(1 - damp);
    if (!buf) lr_sgd_body_SFX(w, g, buf, s, n, S, W, M, K, out, 0);
    else if (first && nesterov) lr_sgd_body_SFX(w, g, buf, s, n, S, W, M, K, out, 1 | 2 | 4);
    else if (first) lr_sgd_body_SFX(w, g, buf, s, n, S, W, M, K, out, 1 | 4);
    else if (nesterov) lr_sgd_body_SFX(w, g, buf, s, n, S, W, M, K, out, 1 | 2);
    else lr_sgd_body_SFX(w, g, buf, s, n, S, W, M, K, out, 1);
}

/* Adam: m <- m + (1 - b1) (g' - m), v <- b2 v + (1 - b2) g'^2, with amsgrad (vmax not NULL)
   vmax <- max(vmax, v) and v_hat = vmax, else v_hat = v; s <- m / (sqrt(v_hat) + eps) (the bias
   corrections folded into eps by the caller: Layca ignores the direction's scale). */
static inline __attribute__((always_inline)) void lr_adam_body_SFX(
    const REAL *restrict w, const REAL *restrict g, REAL *restrict m, REAL *restrict v, REAL *restrict vmax,
    REAL *restrict s, long n, REAL sign, REAL wd, REAL b1w, REAL b2, REAL c2, REAL eps, double *out,
    const int amsgrad) {
    LR_SUM3(REAL, n, out,
        REAL x = w[i], y = sign * g[i] + wd * x;
        REAL a = m[i] + b1w * (y - m[i]);
        REAL q = b2 * v[i] + c2 * (y * y);
        m[i] = a;
        v[i] = q;
        if (amsgrad) {
            q = vmax[i] > q ? vmax[i] : q;
            vmax[i] = q;
        }
        REAL d = a / (SQRT(q) + eps);
        s[i] = d;
        f0 += x * x;
        f1 += d * x;
        f2 += d * d;);
}

LR_CLONES void lr_adam_SFX(const REAL *restrict w, const REAL *restrict g, REAL *restrict m, REAL *restrict v,
                           REAL *restrict vmax, REAL *restrict s, long n, double sign, double wd, double b1w,
                           double b2, double c2, double eps, double *out) {
    REAL S = (REAL)sign, W = (REAL)wd, B = (REAL)b1w, B2 = (REAL)b2, C2 = (REAL)c2, E = (REAL)eps;
    if (vmax) lr_adam_body_SFX(w, g, m, v, vmax, s, n, S, W, B, B2, C2, E, out, 1);
    else lr_adam_body_SFX(w, g, m, v, vmax, s, n, S, W, B, B2, C2, E, out, 0);
}
"""

# An optimizer's whole step in one call (lr_step): every parameter's fused direction pass (above),
# then Layca's turn (the fast form w <- a w + b s, or the explicit projection where that form would
# cancel: optim.py _fast_coefficients says when, and gives its two limits) or the plain step
# w <- w - lr scale s; the parameters shared out over threads (OpenMP: torch's own runtime, see
# threads_shared), each parameter whole on one thread (its sums, hence its step, the same whatever
# the thread count). A parameter is LR_IP int64 (pointers as integers; 0 is NULL) and LR_DP doubles:
#   ip: w, g, state0, state1, state2, s (the direction's buffer; 0: the thread's scratch), n, kind, flags
#   dp: the kind's hyperparameters h[0..6] in its loop's order (after n), lr, scale
_STEP_HEADER = r"""
#include <stdint.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif
enum { LR_KIND_SGD, LR_KIND_ADAPTIVE, LR_KIND_ADAM, LR_KIND_DIRECT };
enum { LR_LAYCA = 1, LR_FIRST = 2, LR_NESTEROV = 4 };
#define LR_IP 9
#define LR_DP 9
#define LR_RP 5
#define LR_EPS 1e-12
/* Below this many elements in a step, one thread (waking the others costs more than it saves). */
#define LR_PARALLEL_MIN 32768

int lr_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

typedef struct {
    int64_t n, k;
} lr_item;

static int lr_larger_first(const void *a, const void *b) {
    const lr_item *x = (const lr_item *)a, *y = (const lr_item *)b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return x->k < y->k ? -1 : 1;
}

/* owner[k]: the thread of item k (its size: ip[stride * k + at]), largest first to the least
   loaded thread (ties: the lower thread); returns the number of threads worth waking (1: run
   serially, also when out of memory). */
static long lr_assign(const int64_t *ip, long stride, long at, long count, long threads, int64_t *owner) {
    int64_t total = 0;
    for (long k = 0; k < count; k++) total += ip[stride * k + at];
    if (threads > count) threads = count;
    if (threads <= 1 || total < LR_PARALLEL_MIN) return 1;
    lr_item *items = (lr_item *)malloc(sizeof(lr_item) * count);
    int64_t *load = (int64_t *)calloc(threads, sizeof(int64_t));
    if (!items || !load) {
        free(items);
        free(load);
        return 1;
    }
    for (long k = 0; k < count; k++) {
        items[k].n = ip[stride * k + at];
        items[k].k = k;
    }
    qsort(items, count, sizeof(lr_item), lr_larger_first);
    for (long j = 0; j < count; j++) {
        long t = 0;
        for (long u = 1; u < threads; u++)
            if (load[u] < load[t]) t = u;
        owner[items[j].k] = t;
        load[t] += items[j].n;
    }
    free(items);
    free(load);
    return threads;
}

/* A driver's body over `count` items (item k's size: ip[stride * k + at]): the statement given
   (which may use k, the item, and t, its thread) for every item, each on one thread, on up to
   `threads` threads (lr_assign's shares); returns the number of threads it ran on. */
#ifdef _OPENMP
#define LR_THREADED(...)                                                                           \
    if (used > 1) {                                                                                \
        _Pragma("omp parallel num_threads(used)") {                                                \
            long t = omp_get_thread_num();                                                         \
            for (long k = 0; k < count; k++)                                                       \
                if (owner[k] == t) {                                                               \
                    __VA_ARGS__;                                                                   \
                }                                                                                  \
        }                                                                                          \
        free(owner);                                                                               \
        return used;                                                                               \
    }
#else
#define LR_THREADED(...)
#endif
#define LR_SHARE_OUT(ip, stride, at, count, threads, ...)                                          \
    int64_t *owner = threads > 1 && count > 1 ? (int64_t *)malloc(sizeof(int64_t) * count) : NULL; \
    long used = owner ? lr_assign(ip, stride, at, count, threads, owner) : 1;                      \
    LR_THREADED(__VA_ARGS__)                                                                       \
    free(owner);                                                                                   \
    for (long k = 0, t = 0; k < count; k++) {                                                      \
        __VA_ARGS__;                                                                               \
    }                                                                                              \
    return 1
"""

_STEP_TEMPLATE = r"""
/* Layca's explicit projection (optim.layca_update_) without a temporary, in double: p = s - k w with
   k = <s,w> / |w|^2, c = lr |w| / |p|, w <- (w - c p) |w| / |w - c p|; w unchanged where |w| = 0 or
   |p| <= LR_EPS. It serves where s lies near +-w: there p is a small difference of large terms,
   which a k rounded to float, or summed from float terms, would misplace. Four passes. */
LR_CLONES void lr_explicit_SFX(REAL *restrict w, const REAL *restrict s, long n, double lr) {
    double sums[3];
    LR_SUM3(double, n, sums, double x = w[i]; f0 += x * x; f1 += s[i] * x;);
    double ww = sums[0];
    if (ww == 0) return;
    double k = sums[1] / ww;
    LR_SUM3(double, n, sums, double p = (double)s[i] - k * w[i]; f0 += p * p;);
    double pn = sqrt(sums[0]);
    if (pn <= LR_EPS) return;
    double c = lr * sqrt(ww) / pn;
    LR_SUM3(double, n, sums, double p = (double)s[i] - k * w[i]; double q = w[i] - c * p; f0 += q * q;);
    double f = sqrt(ww) / sqrt(sums[0] > 1e-300 ? sums[0] : 1e-300);
#pragma omp simd
    for (long i = 0; i < n; i++) {
        double p = (double)s[i] - k * w[i];
        w[i] = (REAL)((w[i] - c * p) * f);
    }
}

/* One parameter of lr_step (the layout above); scratch: this thread's buffer for s. */
static void lr_param_SFX(const int64_t *ip, const double *h, REAL *scratch, double tangent, double reach) {
    double out[3]; /* <w,w>, <s,w>, <s,s> */
    REAL *w = (REAL *)(intptr_t)ip[0];
    const REAL *g = (const REAL *)(intptr_t)ip[1];
    REAL *a = (REAL *)(intptr_t)ip[2], *b = (REAL *)(intptr_t)ip[3], *c = (REAL *)(intptr_t)ip[4];
    REAL *s = ip[5] ? (REAL *)(intptr_t)ip[5] : scratch;
    long n = (long)ip[6], kind = (long)ip[7], flags = (long)ip[8];
    double lr = h[7], scale = h[8];
    if (kind == LR_KIND_SGD)
        lr_sgd_SFX(w, g, a, s, n, h[0], h[1], h[2], h[3], (flags & LR_FIRST) != 0, (flags & LR_NESTEROV) != 0, out);
    else if (kind == LR_KIND_ADAPTIVE)
        lr_adaptive_SFX(w, g, a, b, s, n, h[0], h[1], h[2], h[3], h[4], h[5], h[6], out);
    else if (kind == LR_KIND_ADAM)
        lr_adam_SFX(w, g, a, b, c, s, n, h[0], h[1], h[2], h[3], h[4], h[5], out);
    else
        lr_dots3_SFX(w, s, n, out);
    if (!(flags & LR_LAYCA)) {
        lr_axpby_SFX(w, s, n, 1.0, -lr * scale);
        return;
    }
    /* optim._fast_coefficients, its limits given (tangent, reach) */
    double ww = out[0], sw = out[1], ss = out[2];
    if (ww > 0 && isfinite(ww + sw + ss)) {
        double k = sw / ww, pp = ss - sw * k;
        if (!(pp <= ss * tangent || lr * lr * ss > reach * pp)) {
            double cc = lr * sqrt(ww / pp), inv = 1.0 / sqrt(1.0 + lr * lr);
            lr_axpby_SFX(w, s, n, (1.0 + cc * k) * inv, -cc * inv);
            return;
        }
    }
    lr_explicit_SFX(w, s, n, lr);
}

/* The step of `count` parameters (ip, dp: LR_IP, LR_DP apiece), on up to `threads` threads;
   thread t's scratch is scratch + t * stride. Returns the number of threads it ran on. */
long lr_step_SFX(const int64_t *ip, const double *dp, long count, REAL *scratch, long stride, long threads,
                 double tangent, double reach) {
    LR_SHARE_OUT(ip, LR_IP, 6, count, threads,
                 lr_param_SFX(ip + LR_IP * k, dp + LR_DP * k, scratch + t * stride, tangent, reach));
}

/* Rotation records (lr_record) of `count` kernels, LR_RP int64 apiece: w, w0, wp, n, out (the
   address of its three sums), on up to `threads` threads, each kernel on one. */
long lr_records_SFX(const int64_t *ip, long count, long threads) {
    LR_SHARE_OUT(ip, LR_RP, 3, count, threads,
                 const int64_t *r = ip + LR_RP * k;
                 lr_record_SFX((const REAL *)(intptr_t)r[0], (const REAL *)(intptr_t)r[1], (REAL *)(intptr_t)r[2],
                               (long)r[3], (double *)(intptr_t)r[4]));
}
"""

SOURCE += _STEP_HEADER + "".join(
    (_OPTIMIZER_TEMPLATE + _STEP_TEMPLATE).replace("REAL", real).replace("SQRT", sqrt).replace("_SFX", suffix)
    for real, sqrt, suffix in (("float", "sqrtf", "_f32"), ("double", "sqrt", "_f64"))
)
SOURCE = "#include <math.h>\n" + SOURCE

# OpenMP for lr_step's and lr_records' threads where the compiler has it (GCC: libgomp, torch's own
# runtime on Linux), else the same loops on one thread.
FLAGS = ["-O3", "-fopenmp-simd", "-fno-math-errno", "-shared", "-fPIC"]
THREAD_FLAGS = ["-fopenmp"]
# The layout of lr_step's parameters (the C's LR_IP; LR_DP is 7 + 2: see optim.py) and its kinds
# and flags.
STEP_INTS = 9
KIND_SGD, KIND_ADAPTIVE, KIND_ADAM, KIND_DIRECT = 0, 1, 2, 3
LAYCA, FIRST, NESTEROV = 1, 2, 4

_P = ctypes.c_void_p
# What Python calls (the others are these two's parts).
_SIGNATURES = {
    "lr_step": [_P] * 2 + [ctypes.c_long, _P] + [ctypes.c_long] * 2 + [ctypes.c_double] * 2,
    "lr_records": [_P, ctypes.c_long, ctypes.c_long],
}


def _compiler():
    """The C compiler's path: CC when set (and only it), else cc, gcc or clang; None when none is found."""
    cc = os.environ.get("CC")
    if cc:
        return shutil.which(cc)
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    return None


def cache_dirs():
    """Where the compiled library is kept: native/ in the cache folder the CLI's probe cache uses
    (src/launch/probeCache.ts defaultCacheDir: $LAYER_ROTATION_CACHE_DIR, else
    $XDG_CACHE_HOME/layer-rotation, else ~/.cache/layer-rotation), else in the temp folder."""
    folder = os.environ.get("LAYER_ROTATION_CACHE_DIR")
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "layer-rotation")
    return [os.path.join(folder, "native"), os.path.join(tempfile.gettempdir(), "layer-rotation-native")]


def _library_name(cc):
    key = "\0".join([SOURCE, " ".join(FLAGS + THREAD_FLAGS), os.path.realpath(cc), platform.machine(), sys.platform])
    return "kernels-%s.so" % hashlib.sha256(key.encode()).hexdigest()[:16]


def _private(path):
    """Whether path (a folder or the library) is this user's and no one else can write it: a library
    another user could plant (e.g. in a shared temp folder) is never loaded."""
    if not hasattr(os, "getuid"):
        return True
    st = os.stat(path)
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _build(cc, folder, name):
    """Compiles SOURCE into folder/name (atomically: a temporary file renamed), or raises."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    if not _private(folder):
        raise PermissionError("%s is not this user's alone" % folder)
    fd, src = tempfile.mkstemp(suffix=".c", dir=folder)
    out = src[:-2] + ".so"
    try:
        with os.fdopen(fd, "w") as f:
            f.write(SOURCE)
        try:
            subprocess.run([cc, *FLAGS, *THREAD_FLAGS, "-o", out, src], check=True, capture_output=True, timeout=120)
        except subprocess.CalledProcessError:  # no OpenMP (e.g. Apple's clang): the loops on one thread
            subprocess.run([cc, *FLAGS, "-o", out, src], check=True, capture_output=True, timeout=120)
        os.replace(out, os.path.join(folder, name))
    finally:
        for p in (src, out):
            if os.path.exists(p):
                os.remove(p)


def _load(path):
    lib = ctypes.CDLL(path)
    for base, argtypes in _SIGNATURES.items():
        for suffix in ("_f32", "_f64"):
            fn = getattr(lib, base + suffix)
            fn.argtypes = argtypes
            fn.restype = ctypes.c_long  # the threads it ran on
    lib.lr_openmp.argtypes = []
    lib.lr_openmp.restype = ctypes.c_int
    return lib


@functools.lru_cache(maxsize=1)
def library():
    """The compiled loops (a ctypes library), compiled on first use and cached on disk, or None
    (LAYER_ROTATION_NATIVE=0, no C compiler, or it failed): the callers then use torch."""
    if os.environ.get("LAYER_ROTATION_NATIVE", "1").strip() == "0":
        return None
    cc = _compiler()
    if cc is None:
        return None
    name = _library_name(cc)
    for folder in cache_dirs():
        path = os.path.join(folder, name)
        try:
            if not os.path.exists(path):
                _build(cc, folder, name)
            if not (_private(folder) and _private(path)):
                continue
            return _load(path)
        except (OSError, subprocess.SubprocessError, AttributeError):
            continue
    return None


@functools.lru_cache(maxsize=None)
def _typed(name, dtype):
    """The library's function `name` for a torch dtype (name_f32, name_f64), or None (no library,
    another dtype). Cached (as library() is): asked for at every step and record."""
    import torch

    lib = library()
    suffix = {torch.float32: "_f32", torch.float64: "_f64"}.get(dtype)
    return None if lib is None or suffix is None else getattr(lib, name + suffix)


def records(dtype):
    """lr_records for a torch dtype (float32 or float64): several kernels' records (lr_record) in one
    call, shared out over torch's threads; or None (no library, other dtype)."""
    return _typed("lr_records", dtype)


def optimizer_step(dtype):
    """The optimizers' step (lr_step: every parameter's fused direction and Layca's turn or the plain
    step, see _STEP_TEMPLATE) for a torch dtype (float32 or float64), or None (no library, other
    dtype)."""
    return _typed("lr_step", dtype)


def int64s(values):
    """A ctypes array of int64 (the pointers and sizes lr_step and lr_records read)."""
    return (ctypes.c_int64 * len(values))(*values)


_OPENMP_RUNTIMES = ("libgomp", "libiomp", "libomp")


@functools.lru_cache(maxsize=1)
def threads_shared():
    """Whether lr_step may use more than one thread: the library was built with OpenMP and the process
    has one OpenMP runtime mapped (Linux: /proc/self/maps), so its threads are torch's own (a
    second runtime's threads would spin beside torch's, fighting them for the cores). torch's
    libgomp (Debian's, or the one PyPI's wheel bundles as libgomp.so.1) is what the library's
    libgomp.so.1 resolves to when torch was imported first (optim.py imports it before this)."""
    lib = library()
    if lib is None or not lib.lr_openmp():
        return False
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            mapped = {line.split(None, 5)[-1].strip() for line in f if "omp" in line}
    except OSError:
        return False
    runtimes = {os.path.realpath(m) for m in mapped if os.path.basename(m).startswith(_OPENMP_RUNTIMES)}
    return len(runtimes) == 1

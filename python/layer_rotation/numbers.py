"""Numbers as text the way the tfjs CLI writes them (JavaScript's String(n) and n.toFixed(d)), so
that both engines' CLIs print the same table, verdict and curves.svg for the same run."""
import math
from decimal import ROUND_HALF_UP, Context, Decimal

_EXACT = Context(prec=400)


def finite(v):
    """Whether v is a finite number (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def to_fixed(x, digits):
    """JavaScript's x.toFixed(digits): the exact value rounded half away from zero."""
    if x == 0:
        x = 0.0  # (-0).toFixed() has no sign
    q = Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP, context=_EXACT)
    return format(q, "f")


def js_number(x):
    """JavaScript's String(x) for a number: integers without a fraction, the shortest digits that
    read back as x, an exponent only below 1e-6 or from 1e21."""
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    text = repr(x)
    if "e" not in text:
        return text
    if 1e-6 <= abs(x) < 1e21:
        return format(Decimal(text), "f")
    mantissa, exponent = text.split("e")
    return "%se%s%d" % (mantissa, "+" if int(exponent) > 0 else "-", abs(int(exponent)))


def fixed(v, digits):
    """v with `digits` decimals, or 'n/a' (src/runlog/format.ts)."""
    return to_fixed(v, digits) if finite(v) else "n/a"


def percent(v, digits):
    """A fraction as a percentage with `digits` decimals, or 'n/a'."""
    return to_fixed(100 * v, digits) + "%" if finite(v) else "n/a"

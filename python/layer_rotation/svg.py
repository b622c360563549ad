"""A run's layer rotation curves as a standalone SVG, as src/runlog/svg.ts writes them (the same
file for the same log): x in epochs, y the cosine distance from 0 to 1 (further only if a layer
goes there), one line per layer coloured by depth with viridis, the target as a dashed line."""
import math

from .numbers import js_number, to_fixed
from .sanitize import one_line, xml_chars

# Characters of a layer name or title shown (MAX_NAME in src/runlog/svg.ts).
MAX_NAME = 120

W = 860
H = 480
LEFT, RIGHT, TOP, BOTTOM = 56, 190, 40, 48

# viridis (dark purple -> yellow), as src/runlog/viridis.ts: the first layer dark purple, the last yellow.
STOPS = [
    (0x44, 0x01, 0x54),
    (0x48, 0x28, 0x78),
    (0x3E, 0x49, 0x89),
    (0x31, 0x68, 0x8E),
    (0x26, 0x82, 0x8E),
    (0x1F, 0x9E, 0x89),
    (0x35, 0xB7, 0x79),
    (0x6E, 0xCE, 0x58),
    (0xFD, 0xE7, 0x25),
]


def _round(x):
    """JavaScript's Math.round: halves go up."""
    return math.floor(x + 0.5)


def viridis(t):
    """The colour at t in [0, 1] as #rrggbb."""
    x = min(1.0, max(0.0, t if math.isfinite(t) else 0.0)) * (len(STOPS) - 1)
    i = min(len(STOPS) - 2, math.floor(x))
    f = x - i
    return "#" + "".join("%02x" % _round(v + (STOPS[i + 1][k] - v) * f) for k, v in enumerate(STOPS[i]))


def layer_color(index, count):
    """The colour of layer `index` of `count`, by depth."""
    return viridis(0 if count <= 1 else index / (count - 1))


def esc(s):
    """Text for XML content or a double-quoted attribute."""
    return xml_chars(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def fmt(n):
    """A tick label: integers as they are, others with at most two decimals."""
    if float(n).is_integer():
        return js_number(n)
    return to_fixed(n, 2).rstrip("0").rstrip(".")


# Node's (V8's) 10 ** e where it is not the nearest double to 1e<e>: the same ticks as svg.ts.
_POW10 = {-5: 9.999999999999999e-06, -4: 9.999999999999999e-05}


def nice_ticks(lo, hi, count):
    """Evenly spaced "nice" ticks covering [lo, hi]."""
    if not (hi > lo) or not math.isfinite(hi - lo):
        return [lo]
    raw = (hi - lo) / count
    e = math.floor(math.log10(raw))
    mag = _POW10.get(e, 10.0**e)
    step = next((s for s in (m * mag for m in (1, 2, 2.5, 5, 10)) if s >= raw), raw)
    out = []
    v = math.ceil(lo / step - 1e-9) * step
    while v <= hi + 1e-9:
        out.append(float(to_fixed(v, 10)))
        v += step
    return out


def rotation_curves_svg(log, title=None):
    """The SVG text of a run's curves; `log` is a report.RunLog."""
    started = log.started or {}
    layers = started.get("layers") or []
    recs = log.rotations
    target = started.get("target", 1)
    x_max = max(recs[-1]["epoch"] if recs else 0, 1e-9)
    y_max = max(1, target)
    for r in recs:
        for d in r["distances"]:
            if d is not None and d > y_max:
                y_max = d
    y_max = min(2, 1 if y_max <= 1 else math.ceil(y_max * 10) / 10)
    pw = W - LEFT - RIGHT
    ph = H - TOP - BOTTOM

    def sx(x):
        return LEFT + (x / x_max) * pw

    def sy(y):
        return TOP + ph - (y / y_max) * ph

    def f1(v):
        return to_fixed(v, 1)

    heading = esc(
        one_line(title if title is not None else "Layer rotation: %s" % (started.get("name") or "run"), MAX_NAME)
    )
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="sans-serif" font-size="12">' % (W, H, W, H),
        "<title>%s</title>" % heading,
        '<rect width="%d" height="%d" fill="#ffffff"/>' % (W, H),
        '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>' % (LEFT, heading),
    ]
    for t in nice_ticks(0, y_max, 5):
        y = f1(sy(t))
        out.append('<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#e4e4e4"/>' % (LEFT, LEFT + pw, y, y))
        out.append('<text x="%d" y="%s" text-anchor="end">%s</text>' % (LEFT - 6, f1(sy(t) + 4), fmt(t)))
    for t in nice_ticks(0, x_max, 6):
        out.append('<text x="%s" y="%d" text-anchor="middle">%s</text>' % (f1(sx(t)), TOP + ph + 18, fmt(t)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>' % (LEFT, TOP, pw, ph))
    out.append('<text x="%s" y="%d" text-anchor="middle">epoch</text>' % (js_number(LEFT + pw / 2), H - 10))
    out.append(
        '<text transform="translate(16 %s) rotate(-90)" text-anchor="middle">cosine distance to initialization</text>'
        % js_number(TOP + ph / 2)
    )
    yt = f1(sy(target))
    out.append(
        '<line class="target" x1="%d" x2="%d" y1="%s" y2="%s" stroke="#d62728" stroke-width="1.5" '
        'stroke-dasharray="6 4"/>' % (LEFT, LEFT + pw, yt, yt)
    )
    for i, layer in enumerate(layers):
        pts = []
        for r in recs:
            d = r["distances"][i] if i < len(r["distances"]) else None
            if d is not None and math.isfinite(d):
                pts.append("%s,%s" % (f1(sx(r["epoch"])), f1(sy(d))))
        if pts:
            out.append(
                '<polyline class="layer" data-layer="%s" fill="none" stroke="%s" stroke-width="1.6" points="%s"/>'
                % (esc(one_line(layer["name"], MAX_NAME)), layer_color(i, len(layers)), " ".join(pts))
            )
    # Legend: every layer when they fit, else the first, last and evenly spaced ones between.
    max_rows = ph // 16
    if len(layers) <= max_rows:
        shown = list(range(len(layers)))
    else:
        shown = [_round((k * (len(layers) - 1)) / (max_rows - 1)) for k in range(max_rows)]
    for row, i in enumerate(shown):
        y = TOP + 8 + row * 16
        x = LEFT + pw + 14
        out.append(
            '<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>'
            % (x, x + 18, y, y, layer_color(i, len(layers)))
        )
        out.append('<text x="%d" y="%d">%s</text>' % (x + 24, y + 4, esc(one_line(layers[i]["name"], MAX_NAME))))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_curves(log, path):
    """Writes the curves of `log` to `path`; returns the path."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(rotation_curves_svg(log))
    return path

"""A run read back from its events.jsonl and what it came to, as the tfjs CLI prints it (src/cli.ts's
printOutcome): the per-layer table (final cosine distance, LAGGING or ok against the target), the
test accuracy, the verdict and the run's status; and its curves.svg (svg.py).

The reader is as tolerant as src/runlog/read.ts: a line that is not a valid event is skipped and
named with its line number, a last line without its newline (still being written) is left out,
and absent fields get the documented defaults (docs/run-log-format.md). Whether the run is judged
and which layers lag is events.judge_finished, the rule the engine writes into run_finished and
summary.json; only the words are here. A run that has not finished is not judged here (the tfjs
CLI and the editor project where its layers are heading).
"""
import json
import os

from .config import schema_default
from .events import EVENTS_FILE, features_problem, judge_finished
from .numbers import finite, fixed, js_number, to_fixed
from .sanitize import one_line

EVENT_TYPES = ("run_started", "rotation", "batch", "epoch_end", "run_finished", "log", "features")
RUN_STATUSES = ("completed", "stopped", "failed")

# As ONE_RUN_CANNOT_TELL in src/runlog/verdict.ts.
ONE_RUN_CANNOT_TELL = "One run cannot tell whether more rotation generalizes better on this task; a sweep can."
RATE_TOO_HIGH = "The rate is too high for this budget: lower it or decay earlier."


class RunLog:
    """A run log as read: its events by type, and the lines skipped."""

    def __init__(self, file=None):
        self.file = file
        self.started = None
        self.rotations = []
        self.batches = []
        self.epochs = []
        self.logs = []
        self.finished = None
        self.features = None  # the first and the latest features snapshots: (first, last)
        self.skipped = []  # (line number, reason)
        self.partial_last_line = False

    def add(self, e):
        t = e["type"]
        if t == "run_started":
            self.started = e
        elif t == "run_finished":
            self.finished = e
        elif t == "features":
            self.features = (self.features[0] if self.features else e, e)
        else:
            {"rotation": self.rotations, "batch": self.batches, "epoch_end": self.epochs, "log": self.logs}[t].append(e)


# Characters of a name or kind shown in a table cell (MAX_CELL in src/cli.ts).
MAX_CELL = 80


def _num(v):
    return v if finite(v) else None


def _nums(v):
    return [_num(x) for x in v] if isinstance(v, list) else []


# Each number is read within its domain, as src/runlog/normalize.ts reads it (docs/run-log-format.md):
# outside it, a number is unknown (None).
DISTANCE_SLACK = 1e-6  # cosine distances are in [0, 2]; a float's rounding may step out by a hair


def _non_neg(v):
    """A count, a loss, seconds, a rate: finite and >= 0."""
    return v if finite(v) and v >= 0 else None


def _fraction(v):
    """An accuracy: in [0, 1]."""
    return v if finite(v) and 0 <= v <= 1 else None


def _distance(v):
    if not finite(v) or v < -DISTANCE_SLACK or v > 2 + DISTANCE_SLACK:
        return None
    return min(2, max(0, v))


def _distances(v):
    return [_distance(x) for x in v] if isinstance(v, list) else []


def _str(v, fallback):
    return v if isinstance(v, str) else fallback


def _positive(v):
    return v if finite(v) and v > 0 else None


def normalize_event(value):
    """(event, None) for a usable event, with defaults filled in (src/runlog/normalize.ts), or
    (None, why not)."""
    if not isinstance(value, dict):
        return None, "not a JSON object"
    e = value
    if not finite(e.get("v")):
        return None, 'no format version "v"'
    t = e.get("type")
    if not isinstance(t, str) or t not in EVENT_TYPES:
        return None, "unknown event type %s" % ("undefined" if "type" not in e else json.dumps(t))
    if t == "run_started":
        if not isinstance(e.get("layers"), list):
            return None, 'run_started without "layers"'
        return _started(e), None
    if t == "rotation":
        if not finite(e.get("step")) or not finite(e.get("epoch")) or not isinstance(e.get("distances"), list):
            return None, 'rotation event needs numeric "step", "epoch" and "distances"'
        if e["step"] < 0 or e["epoch"] < 0:
            return None, 'rotation event with a negative "step" or "epoch"'
        distances, rotation = _distances(e["distances"]), _nums(e.get("rotation"))
        return dict(e, distances=distances, rotation=rotation, steps=_non_neg(e.get("steps")) or 0), None
    if t == "batch":
        if not finite(e.get("step")) or not finite(e.get("epoch")):
            return None, 'batch event needs numeric "step" and "epoch"'
        if e["step"] < 0 or e["epoch"] < 0:
            return None, 'batch event with a negative "step" or "epoch"'
        rate = _non_neg(e.get("learningRate"))
        return dict(e, loss=_non_neg(e.get("loss")), accuracy=_fraction(e.get("accuracy")), learningRate=rate), None
    if t == "epoch_end":
        if not finite(e.get("epoch")):
            return None, 'epoch_end needs a numeric "epoch"'
        if e["epoch"] < 0:
            return None, 'epoch_end with a negative "epoch"'
        x = {k: _non_neg(e.get(k)) for k in ("step", "loss", "valLoss", "seconds", "samplesPerSecond")}
        return dict(e, accuracy=_fraction(e.get("accuracy")), valAccuracy=_fraction(e.get("valAccuracy")), **x), None
    if t == "run_finished":
        if not isinstance(e.get("status"), str):
            return None, 'run_finished needs a "status"'
        return _finished(e), None
    if t == "features":
        problem = features_problem(e)
        if problem:
            return None, problem
        total = e.get("totalUnits")
        kind = e.get("kind") if isinstance(e.get("kind"), str) else ""
        return dict(e, kind=kind, totalUnits=total if finite(total) else e["units"]), None
    if not isinstance(e.get("message"), str):
        return None, 'log event needs a "message"'
    return dict(e, level=e.get("level") if e.get("level") in ("warning", "error") else "info"), None


def _started(e):
    layers = []
    for i, l in enumerate(e["layers"]):
        o = l if isinstance(l, dict) else {}
        layers.append(
            dict(
                o,
                name=_str(o.get("name"), "") or "layer %d" % (i + 1),
                kind=_str(o.get("kind"), "?"),
                params=_non_neg(o.get("params")),
            )
        )
    ds = e.get("dataset") if isinstance(e.get("dataset"), dict) else {}
    epochs = _positive(e.get("epochs")) or 1
    steps_per_epoch = _positive(e.get("stepsPerEpoch")) or 1
    fit_accuracy = e.get("fitAccuracy")
    stopping = e.get("stopping") if isinstance(e.get("stopping"), dict) else None
    if stopping is not None:
        s = {}
        if _positive(stopping.get("lossBelow")):
            s["lossBelow"] = stopping["lossBelow"]
        c = stopping.get("chance")
        if isinstance(c, dict) and finite(c.get("epochs")) and finite(c.get("margin")):
            s["chance"] = {"epochs": c["epochs"], "margin": c["margin"]}
        stopping = s
    run_id = _str(e.get("runId"), "")
    target, margin = e.get("target"), e.get("lagMargin")
    return dict(
        e,
        runId=run_id,
        name=_str(e.get("name"), run_id),
        engine=_str(e.get("engine"), ""),
        backend=_str(e.get("backend"), ""),
        dataset=dict(
            ds,
            name=_str(ds.get("name"), ""),
            **{k: _non_neg(ds.get(k)) for k in ("train", "validation", "test", "classes")},
        ),
        layers=layers,
        epochs=epochs,
        stepsPerEpoch=steps_per_epoch,
        batchSize=_positive(e.get("batchSize")),
        totalSteps=_positive(e.get("totalSteps")) or epochs * steps_per_epoch,
        target=target if finite(target) and 0 < target <= 2 else schema_default("monitoring", "target"),
        lagMargin=margin if finite(margin) and 0 <= margin <= 2 else schema_default("monitoring", "lagMargin"),
        fitAccuracy=(
            fit_accuracy
            if finite(fit_accuracy) and 0 < fit_accuracy <= 1
            else schema_default("monitoring", "fitAccuracy")
        ),
        stopping=stopping,
    )


def _finished(e):
    known = e["status"] in RUN_STATUSES
    reason = _str(e.get("reason"), "")
    return dict(
        e,
        status=e["status"] if known else "failed",
        reason=reason if known else "status %s%s" % (json.dumps(e["status"]), ": " + reason if reason else ""),
        finalDistances=_distances(e.get("finalDistances")),
        lagging=[
            dict(name=_str(l.get("name"), "?"), distance=_distance(l.get("distance")))
            for l in (e.get("lagging") if isinstance(e.get("lagging"), list) else [])
            if isinstance(l, dict)
        ],
        testAccuracy=_fraction(e.get("testAccuracy")),
        trainAccuracy=_fraction(e.get("trainAccuracy")),
        **{k: _non_neg(e.get(k)) for k in ("step", "epoch", "testLoss", "trainLoss", "seconds")},
    )


def _not_json(constant):
    raise ValueError("%s is not JSON" % constant)


def parse_run_log(text, file=None):
    log = RunLog(file)
    lines = text.split("\n")
    if lines and lines[-1] != "":  # a writer still at work on the last line
        log.partial_last_line = True
        lines.pop()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_constant=_not_json)
        except ValueError as err:
            log.skipped.append((i + 1, "not valid JSON (%s)" % err))
            continue
        event, problem = normalize_event(value)
        if event is None:
            log.skipped.append((i + 1, problem))
        else:
            log.add(event)
    return log


def read_run_log(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_run_log(f.read(), path)


def describe_skipped(log):
    return [one_line("%s:%d: skipped: %s" % (log.file or EVENTS_FILE, line, reason)) for line, reason in log.skipped]


def judge(log):
    """events.judge_finished on a finished log (with its last epoch_end and rotation record), or None."""
    if log.started is None or log.finished is None:
        return None
    last_epoch = log.epochs[-1] if log.epochs else None
    last_distances = log.rotations[-1]["distances"] if log.rotations else None
    return judge_finished(log.started, log.finished, last_epoch, last_distances)


def layer_rows(log, verdict):
    """Per layer: name, kind, params, distance (final when finished, else the latest record's) and lagging."""
    layers = log.started["layers"] if log.started else []
    last = log.rotations[-1]["distances"] if log.rotations else []
    rows = []
    for i, l in enumerate(layers):
        if verdict is not None:
            distance, lagging = verdict["finals"][i], verdict["lagging"][i]
        else:
            distance, lagging = (last[i] if i < len(last) else None), False
        rows.append(
            {
                "name": one_line(l["name"], MAX_CELL),
                "kind": one_line(l["kind"], MAX_CELL),
                "params": l["params"],
                "distance": distance,
                "lagging": lagging,
            }
        )
    return rows


def _params(p):
    if p is None:
        return "n/a"
    return "{:,}".format(int(p)) if float(p).is_integer() else "{:,}".format(p)


def format_table(rows, target, judged=True):
    """The per-layer table, as formatTable in src/cli.ts; not `judged` (a run not fit, not learning, or
    not finished): no layer is marked either way."""
    header = ["layer", "kind", "params", "distance", "vs target %s" % js_number(target)]
    body = [
        [
            r["name"],
            r["kind"],
            _params(r["params"]),
            "n/a" if r["distance"] is None else to_fixed(r["distance"], 3),
            "not judged" if not judged else "LAGGING" if r["lagging"] else "ok",
        ]
        for r in rows
    ]
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(
            c.rjust(widths[i]) if i in (2, 3) else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(b) for b in body])


def _pct(x):
    return "%s%%" % to_fixed(100 * x, 1) if finite(x) else "NaN%"


def run_status(v):
    """A short run-level status, as runStatus in src/runlog/verdict.ts (finished runs)."""
    if v["run"] == "judged":
        n = sum(1 for lagging in v["lagging"] if lagging)
        return "%d lagging layer%s" % (n, "" if n == 1 else "s")
    f = v["fit"]
    if v["run"] == "not-fit":
        if f["train_accuracy"] is None:
            return "not judged: no training accuracy measured"
        return "not fit (%s training accuracy < %s): rotation not judged" % (
            _pct(f["train_accuracy"]),
            _pct(f["fit_accuracy"]),
        )
    nl = v["no_learning"]
    if nl["cause"] == "diverged":
        return "diverged: the rate is too high for this budget"
    return "no learning (accuracy at chance)%s" % (
        ": the rate is too high for this budget" if nl["rate_too_high"] else ""
    )


def run_message(v):
    """The message on a finished run whose layers are not judged (runMessage in src/runlog/verdict.ts), or None."""
    f = v["fit"]
    if v["run"] == "no-learning":
        nl = v["no_learning"]
        if nl["cause"] == "diverged":
            what = "The run diverged (it failed, and a layer ended without a finite cosine distance): it did not learn"
        else:
            what = "The run did not learn: its %s accuracy %s is at chance (1/%s)" % (
                nl["accuracy"]["of"],
                _pct(nl["accuracy"]["value"]),
                js_number(f["classes"]),
            )
        if nl["rate_too_high"]:
            return "%s, though its layers rotated to the target. %s" % (what, RATE_TOO_HIGH)
        return (
            "%s, and its layers did not reach the target either: the learning rate may be too low, or the data or "
            "the model may be at fault." % what
        )
    if v["run"] == "not-fit":
        threshold = _pct(f["fit_accuracy"])
        if f["train_accuracy"] is None:
            measured = (
                "measured no training accuracy at an epoch end, so whether it fit its training data "
                "(monitoring.fitAccuracy %s) is unknown" % threshold
            )
        else:
            measured = (
                "did not fit its training data: its final training accuracy %s is below monitoring.fitAccuracy %s"
                % (_pct(f["train_accuracy"]), threshold)
            )
        failed = f["status"] == "failed"
        return (
            "The run %s%s, so its layer rotation cannot be judged yet (the paper compares runs trained until they "
            "fit). %s"
            % ("failed and " if failed else "", measured, "See why it failed." if failed else "Train longer.")
        )
    return None


def outcome_lines(log):
    """What the tfjs CLI prints at the end of a run (printOutcome in src/cli.ts): the layer table, a
    blank line, the test accuracy, the verdict (and why), and the run's status; for a run that ended
    before run_started, its status alone."""
    v = judge(log)
    started = log.started or {}
    target = started.get("target", schema_default("monitoring", "target"))
    threshold = target - started.get("lagMargin", schema_default("monitoring", "lagMargin"))
    # A run that ended before run_started (a config, data or model failure) has no layers: no table.
    out = []
    if log.started is not None:
        out += [format_table(layer_rows(log, v), target, v is not None and v["run"] == "judged"), ""]
    f = log.finished
    if f is not None and f.get("testAccuracy") is not None:
        out.append(
            "test accuracy: %s%%  (test loss %s)" % (to_fixed(100 * f["testAccuracy"], 2), fixed(f["testLoss"], 4))
        )
    if v is not None:
        judged = v["run"] == "judged"
        out.append(
            "verdict: %s%s"
            % (run_status(v), " below %s (target %s)" % (js_number(threshold), js_number(target)) if judged else "")
        )
        why = run_message(v)
        if why:
            out.append(why)
        if judged and any(v["lagging"]):
            out.append(
                "%s Compare configurations with `layer-rotation sweep` and `layer-rotation compare`."
                % ONE_RUN_CANNOT_TELL
            )
    elif log.started is not None:
        out.append("verdict: not judged yet: the run has not finished")
    if f is not None:
        out.append("run %s: %s" % (f["status"], one_line(f["reason"])))
    else:
        out.append("run unfinished: the log has no run_finished event (still running, or the runner was killed)")
    return out


def events_file(run_dir):
    """The log of a run folder (or the file itself)."""
    return os.path.join(run_dir, EVENTS_FILE) if os.path.isdir(run_dir) else run_dir

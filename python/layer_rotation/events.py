"""The run-log format (version 1, docs/run-log-format.md): events.jsonl, summary.json, run ids.

Every event and summary.json are built here (run_started, rotation, batch, epoch_end, log,
run_finished, make_summary), for both the engine and RotationLogger; judge_finished is the one
rule of whether a finished run is judged and which layers lag (as src/runlog/verdict.ts), which
run_finished.lagging, summary.json and the CLI's report (report.py) read. EventWriter appends
one complete JSON line per os.write call, so a reader tailing the file (or a crash) never sees
half an event. Non-finite numbers are written as null (JSON has no NaN).
"""
import errno
import json
import math
import os
import re
import shutil
import threading
import time

from .config import schema_default

FORMAT_VERSION = 1
EVENTS_FILE = "events.jsonl"
SUMMARY_FILE = "summary.json"
CONFIG_COPY = "config.layerrot.json"
CURVES_FILE = "curves.svg"


def _finite(value):
    """A copy of `value` with NaN and infinities replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def now_ms():
    """Milliseconds since the Unix epoch."""
    return int(time.time() * 1000)


def stamp(event):
    """The event with the format version and the time in front."""
    out = {"v": FORMAT_VERSION, "time": now_ms()}
    out.update(event)
    return out


def to_json_line(event):
    return json.dumps(_finite(event), separators=(",", ":"), allow_nan=False) + "\n"


# What the file system said, in words (as src/runlog/fsError.ts).
_FS_WORDS = {
    "ENOSPC": "no space left on the device",
    "EDQUOT": "the disk quota is exceeded",
    "EROFS": "the file system is read-only",
    "EACCES": "permission denied",
    "EPERM": "operation not permitted",
    "ENOENT": "no such file or folder",
    "ENOTDIR": "a part of the path is not a folder",
    "ENAMETOOLONG": "the name is too long",
    "EIO": "input/output error",
}


def describe_os_error(err):
    """ "no space left on the device (ENOSPC)", or the error's text."""
    code = errno.errorcode.get(getattr(err, "errno", None) or 0)
    if code in _FS_WORDS:
        return "%s (%s)" % (_FS_WORDS[code], code)
    return getattr(err, "strerror", None) or str(err)


class LogWriteError(OSError):
    """A line that could not be written to the run log: which log, and why, on one line."""


class EventWriter:
    """Appends events to `events.jsonl`, one line per write(2) call (as src/runlog/writer.ts). A
    write that fails part-way (a full disk) is taken back, so that the log never holds a half line
    followed by more lines; after a failure, or once the file has been removed (its folder
    deleted), every write raises a LogWriteError that says why. A log that ends in a half line
    gets a line break before the first new line. Thread-safe (the watchdog writes from its own
    thread); it keeps where the run got to, for a run_finished written by someone else
    (finish_once)."""

    def __init__(self, path):
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise LogWriteError(e.errno, "cannot open the run log %s: %s" % (path, describe_os_error(e)))
        size = os.fstat(self._fd).st_size
        self._needs_break = size > 0 and os.pread(self._fd, 1, size - 1) != b"\n"
        self._lock = threading.Lock()
        self._failure = None
        self.started = None
        self.finished = None
        self.last_rotation = None
        self.last_epoch = None

    def write(self, event):
        """Stamps (v, time) and writes one event; returns the stamped event."""
        with self._lock:
            return self._write(event)

    def _write(self, event):
        if self._failure is not None:
            raise self._failure
        if self._fd is None:
            raise RuntimeError("event log %s is closed" % self.path)
        e = stamp(event)
        data = (("\n" if self._needs_break else "") + to_json_line(e)).encode("utf-8")
        written = 0
        try:
            if os.fstat(self._fd).st_nlink == 0:
                raise LogWriteError(
                    errno.ENOENT, "cannot write the run log %s: it was removed (its folder deleted?)" % self.path
                )
            while written < len(data):  # a short write (signals, a full disk): finish the line
                written += os.write(self._fd, data[written:])
        except OSError as err:
            if written:  # take back the half line
                try:
                    os.ftruncate(self._fd, os.fstat(self._fd).st_size - written)
                except OSError:
                    pass
            if not isinstance(err, LogWriteError):
                err = LogWriteError(err.errno, "cannot write the run log %s: %s" % (self.path, describe_os_error(err)))
            self._failure = err
            raise err
        self._needs_break = False
        kind = e.get("type")
        if kind == "run_started":
            self.started = e
        elif kind == "rotation":
            self.last_rotation = e
        elif kind == "epoch_end":
            self.last_epoch = e
        elif kind == "run_finished":
            self.finished = e
        return e

    def finish_once(self, status, reason, seconds):
        """Writes a run_finished of where the run got to, unless one was written; the stamped
        event, or None."""
        with self._lock:
            if self.finished is not None or self._fd is None:
                return None
            rot = self.last_rotation or {}
            last = self.last_epoch or {}
            return self._write(
                run_finished(
                    status,
                    reason,
                    rot.get("step", 0),
                    rot.get("epoch", 0),
                    seconds,
                    final_distances=rot.get("distances", ()),
                    started=self.started,
                    train_loss=last.get("loss"),
                    train_accuracy=last.get("accuracy"),
                )
            )

    def close(self):
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


# At most this many characters of the name in a run id (MAX_RUN_NAME in src/runlog/runfolder.ts).
MAX_RUN_NAME = 64


def make_run_id(name, now=None):
    """`name-YYYYMMDD-HHMMSS` in local time, the name made safe and cut to MAX_RUN_NAME, as
    makeRunId in src/runlog/runfolder.ts."""
    t = time.localtime(now if now is not None else time.time())
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).lstrip("-")[:MAX_RUN_NAME].rstrip("-") or "run"
    return "%s-%s" % (safe, time.strftime("%Y%m%d-%H%M%S", t))


def create_run_dir(runs_dir, name, config_file=None):
    """A new, empty run folder under runs_dir (a suffix when the name is taken); copies the config."""
    os.makedirs(runs_dir, exist_ok=True)
    base = make_run_id(name)
    i = 0
    while True:
        run_id = base if i == 0 else "%s-%d" % (base, i + 1)
        run_dir = os.path.join(runs_dir, run_id)
        try:
            os.mkdir(run_dir)
        except FileExistsError:
            i += 1
            continue
        if config_file:
            shutil.copyfile(config_file, os.path.join(run_dir, CONFIG_COPY))
        return run_id, run_dir


def claim_run_dir(run_dir):
    """The folder a run named run_dir writes to: run_dir itself (made if missing) unless it holds a
    run log already, then the first free `run_dir-2`, `run_dir-3`, ... (a log holds one run: a second
    run appended to it would be read as neither). Returns (folder, whether it is run_dir)."""
    os.makedirs(run_dir, exist_ok=True)
    log = os.path.join(run_dir, EVENTS_FILE)
    if not os.path.exists(log) or os.path.getsize(log) == 0:
        return run_dir, True
    base = os.path.normpath(run_dir)
    i = 2
    while True:
        candidate = "%s-%d" % (base, i)
        try:
            os.mkdir(candidate)
            return candidate, False
        except FileExistsError:
            i += 1


# ---------------------------------------------------------------------------------------------
# The events (without v and time, which EventWriter stamps), fields in the order they are written.


def backend_description(device_text, extra=""):
    """ "PyTorch 2.1.0, cpu, 4 threads" (and `extra`, e.g. ", 2 processes (gloo)")."""
    import torch

    threads = torch.get_num_threads()
    return "PyTorch %s, %s, %d thread%s%s" % (
        torch.__version__.split("+")[0],
        device_text,
        threads,
        "" if threads == 1 else "s",
        extra,
    )


def run_started(
    run_id,
    name,
    config_file,
    backend,
    backend_description,
    dataset,
    layers,
    epochs,
    steps_per_epoch,
    batch_size,
    total_steps,
    target,
    lag_margin,
    model=None,
    optimizer=None,
    seed=None,
    schedule=None,
    engine="pytorch",
    fit_accuracy=None,
    stopping=None,
):
    """The first event: the run, its data, its kernel layers (in forward order) and its plan.
    `model`, `optimizer`, `seed`, `schedule` and `stopping` (the config's stopping.lossBelow and
    .chance) are left out when None; `fit_accuracy` defaults to monitoring.fitAccuracy's."""
    e = {
        "type": "run_started",
        "runId": run_id,
        "name": name,
        "configFile": os.path.abspath(config_file) if config_file else None,
        "engine": engine,
        "backend": backend,
        "backendDescription": backend_description,
        "dataset": dataset,
        "model": model,
        "optimizer": optimizer,
        "layers": layers,
        "epochs": epochs,
        "stepsPerEpoch": steps_per_epoch,
        "batchSize": batch_size,
        "totalSteps": total_steps,
        "target": target,
        "lagMargin": lag_margin,
        "fitAccuracy": schema_default("monitoring", "fitAccuracy") if fit_accuracy is None else fit_accuracy,
        "seed": seed,
        "schedule": schedule,
        "stopping": None if stopping is None else {k: stopping[k] for k in ("lossBelow", "chance") if k in stopping},
    }
    for optional in ("model", "optimizer", "seed", "schedule", "stopping"):
        if e[optional] is None:
            del e[optional]
    return e


def rotation(step, epoch, distances, rotation, steps):
    """A layer rotation record: per layer, the cosine distance to the initial kernel and the tan of
    the angle turned since the previous record, `steps` steps ago."""
    return {
        "type": "rotation",
        "step": step,
        "epoch": epoch,
        "distances": distances,
        "rotation": rotation,
        "steps": steps,
    }


def batch(step, epoch, loss, accuracy, learning_rate):
    """Training metrics averaged over the steps since the previous batch event."""
    return {
        "type": "batch",
        "step": step,
        "epoch": epoch,
        "loss": loss,
        "accuracy": accuracy,
        "learningRate": learning_rate,
    }


def epoch_end(epoch, step, loss, accuracy, val_loss, val_accuracy, seconds, samples_per_second):
    """The end of epoch `epoch` (1-based)."""
    return {
        "type": "epoch_end",
        "epoch": epoch,
        "step": step,
        "loss": loss,
        "accuracy": accuracy,
        "valLoss": val_loss,
        "valAccuracy": val_accuracy,
        "seconds": seconds,
        "samplesPerSecond": samples_per_second,
    }


def log(level, message):
    """A message for people: level info, warning or error."""
    return {"type": "log", "level": level, "message": str(message)}


# The features event (src/runlog/features.ts): the encoding, and the bounds of a snapshot.
FEATURES_ENCODING = "int8"
MAX_FEATURE_UNITS = 64
MAX_FEATURE_VALUES = 65536
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def features(step, epoch, layer, kind, image, units, total_units, scales, data):
    """A snapshot of the first kernel layer's first `units` units as images of `image` = [h, w, c]:
    `scales` per unit and `data`, the base64 of units x h x w x c int8 values (features.py makes
    them; docs/run-log-format.md)."""
    return {
        "type": "features",
        "step": step,
        "epoch": epoch,
        "layer": layer,
        "kind": kind,
        "image": [int(d) for d in image],
        "units": int(units),
        "totalUnits": int(total_units),
        "encoding": FEATURES_ENCODING,
        "scales": list(scales),
        "data": data,
    }


def _count(v):
    return _num(v) is not None and float(v).is_integer() and v >= 1


def features_problem(e):
    """Why a parsed features event cannot be used, or None (featuresProblem in src/runlog/features.ts)."""
    step, epoch = _num(e.get("step")), _num(e.get("epoch"))
    if step is None or epoch is None or step < 0 or epoch < 0:
        return 'features event needs numeric "step" and "epoch"'
    if not isinstance(e.get("layer"), str):
        return 'features event needs a "layer" name'
    if e.get("encoding") != FEATURES_ENCODING:
        return "unknown features encoding %s" % ("undefined" if "encoding" not in e else json.dumps(e["encoding"]))
    image = e.get("image")
    if not isinstance(image, list) or len(image) != 3 or not all(_count(d) for d in image):
        return 'features "image" must be [height, width, channels] of whole numbers >= 1'
    if image[2] not in (1, 3):
        return "features image channels must be 1 or 3, not %s" % json.dumps(image[2])
    units = e.get("units")
    if not _count(units) or units > MAX_FEATURE_UNITS:
        return 'features "units" must be a whole number in 1..%d' % MAX_FEATURE_UNITS
    values = int(units) * int(image[0]) * int(image[1]) * int(image[2])
    if values > MAX_FEATURE_VALUES:
        return "features snapshot of %d values, more than %d" % (values, MAX_FEATURE_VALUES)
    total = e.get("totalUnits")
    if total is not None and not (_count(total) and total >= units):
        return 'features "totalUnits" must be a whole number >= units'
    scales = e.get("scales")
    if not isinstance(scales, list) or len(scales) != units or not all(_num(s) is not None and s >= 0 for s in scales):
        return 'features "scales" must hold a number >= 0 per unit'
    data = e.get("data")
    pad = (
        2 if isinstance(data, str) and data.endswith("==") else 1 if isinstance(data, str) and data.endswith("=") else 0
    )
    if (
        not isinstance(data, str)
        or not _BASE64.match(data)
        or len(data) != 4 * ((values + 2) // 3)
        or (3 - values % 3) % 3 != pad
    ):
        return 'features "data" must be the base64 of %d int8 values' % values
    return None


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


# The least margin above 1 / classes within which an accuracy is at chance (CHANCE_MARGIN in verdict.ts).
CHANCE_MARGIN = 0.02


def judge_finished(started, finished, last_epoch=None, last_distances=None):
    """The finished run as a whole and its layers, as judge in src/runlog/verdict.ts (the one rule,
    behind run_finished.lagging, summary.json and the CLI's verdict line). The run is
    "no-learning" (it failed with a distance that is not finite: diverged; or its training
    accuracy, or its test accuracy when it did not fit, is within the chance margin of 1 /
    classes), "not-fit" (training accuracy below fitAccuracy and training loss not below
    stopping.lossBelow) or "judged" (it fit: a layer lags when its final distance is missing, not
    finite or below target - lagMargin). The training accuracy and loss are run_finished's, else
    `last_epoch`'s (an epoch_end); a layer without a final distance takes its last record's
    (`last_distances`, the last rotation event's distances), as readers of a log do.

    Returns a dict: run, fit_by ("accuracy", "loss" or None), no_learning (None, or {cause:
    "diverged" | "chance", accuracy: None or {of: "training" | "test", value}, rate_too_high}),
    fit (the terms: status, train_accuracy, train_loss, test_accuracy, classes, fit_accuracy,
    loss_below, chance_margin), target, lag_margin, threshold, finals (per layer: a finite
    distance or None) and lagging (per layer: a bool)."""
    started = started or {}
    last_epoch = last_epoch or {}
    fit_accuracy = _num(started.get("fitAccuracy"))
    if fit_accuracy is None:
        fit_accuracy = schema_default("monitoring", "fitAccuracy")
    target = _num(started.get("target"))
    target = schema_default("monitoring", "target") if target is None else target
    lag_margin = _num(started.get("lagMargin"))
    lag_margin = schema_default("monitoring", "lagMargin") if lag_margin is None else lag_margin
    threshold = target - lag_margin
    stopping = started.get("stopping") or {}
    loss_below = _num(stopping.get("lossBelow"))
    chance = stopping.get("chance") or {}
    fit = {
        "status": finished.get("status"),
        "train_accuracy": _first_num(finished.get("trainAccuracy"), last_epoch.get("accuracy")),
        "train_loss": _first_num(finished.get("trainLoss"), last_epoch.get("loss")),
        "test_accuracy": _num(finished.get("testAccuracy")),
        "classes": _num((started.get("dataset") or {}).get("classes")),
        "fit_accuracy": fit_accuracy,
        "loss_below": loss_below,
        "chance_margin": max(CHANCE_MARGIN, _num(chance.get("margin")) or 0),
    }
    names = [l["name"] for l in started.get("layers", [])]
    final = list(finished.get("finalDistances") or [])
    last = list(last_distances or [])
    finals = [
        _num(final[i]) if i < len(final) else (_num(last[i]) if i < len(last) else None) for i in range(len(names))
    ]

    def at_chance(a):
        classes = fit["classes"]
        return a is not None and classes is not None and classes >= 2 and a <= 1 / classes + fit["chance_margin"]

    acc, loss, test = fit["train_accuracy"], fit["train_loss"], fit["test_accuracy"]
    by_accuracy = acc is not None and acc >= fit_accuracy
    by_loss = loss_below is not None and loss is not None and loss < loss_below
    reached = all(d is not None and d >= threshold for d in finals)
    run, fit_by, no_learning = "not-fit", None, None
    if finished.get("status") == "failed" and any(d is None for d in finals):
        run, no_learning = "no-learning", {"cause": "diverged", "accuracy": None, "rate_too_high": True}
    elif at_chance(acc):
        run = "no-learning"
        no_learning = {"cause": "chance", "accuracy": {"of": "training", "value": acc}, "rate_too_high": reached}
    elif not by_accuracy and not by_loss and at_chance(test):
        run = "no-learning"
        no_learning = {"cause": "chance", "accuracy": {"of": "test", "value": test}, "rate_too_high": reached}
    elif by_accuracy or by_loss:
        run, fit_by = "judged", "accuracy" if by_accuracy else "loss"
    return {
        "run": run,
        "fit_by": fit_by,
        "no_learning": no_learning,
        "fit": fit,
        "target": target,
        "lag_margin": lag_margin,
        "threshold": threshold,
        "finals": finals,
        "lagging": [run == "judged" and (d is None or d < threshold) for d in finals],
    }


def _first_num(*values):
    """The first of `values` that is a finite number, or None."""
    for v in values:
        if _num(v) is not None:
            return v
    return None


def run_verdict(started, finished, last_epoch=None):
    """The finished run as a whole (judge_finished): "judged", "not-fit" or "no-learning"."""
    return judge_finished(started, finished, last_epoch)["run"]


def trained_epochs(epochs):
    """A completed run's reason when it trained its planned epochs (the tfjs engine's words)."""
    return "trained %d epoch%s" % (epochs, "" if epochs == 1 else "s")


def step_limit(steps):
    """A completed run's reason when it stopped at its step limit."""
    return "reached the step limit (%d steps)" % steps


def trained_steps(steps):
    """A completed run's reason when neither a plan of epochs nor a step limit ended it."""
    return "trained %d steps" % steps


def run_finished(
    status,
    reason,
    step,
    epoch,
    seconds,
    final_distances=(),
    started=None,
    test_loss=None,
    test_accuracy=None,
    train_loss=None,
    train_accuracy=None,
):
    """The last event: how the run ended, the final distances of the layers of `started` (the
    run_started event), the last epoch's training loss and accuracy, and which layers lag: none
    unless run_verdict judges the run (it fit its training data)."""
    final = list(final_distances)
    e = {
        "type": "run_finished",
        "status": status,
        "reason": reason,
        "step": step,
        "epoch": epoch,
        "finalDistances": final,
        "testLoss": test_loss,
        "testAccuracy": test_accuracy,
        "trainLoss": train_loss,
        "trainAccuracy": train_accuracy,
        "lagging": [],
        "seconds": seconds,
    }
    if started and started.get("layers"):
        v = judge_finished(started, e)
        e["lagging"] = [
            {"name": l["name"], "distance": final[i] if i < len(final) else None}
            for i, l in enumerate(started["layers"])
            if v["lagging"][i]
        ]
    return e


def make_summary(run_id, started, finished):
    """summary.json's fields, as makeSummary in src/runlog/runfolder.ts: the run's verdict, and the
    lagging layers when it is judged."""
    started = started or {}
    v = judge_finished(started, finished)
    verdict = v["run"]
    final = finished.get("finalDistances", [])
    layers = []
    for i, l in enumerate(started.get("layers", [])):
        layers.append(
            {
                "name": l["name"],
                "kind": l["kind"],
                "params": l["params"],
                "finalDistance": _num(final[i]) if i < len(final) else None,
                "lagging": v["lagging"][i],
            }
        )
    return {
        "runId": run_id,
        "name": started.get("name", run_id),
        "status": finished["status"],
        "reason": finished["reason"],
        "backend": started.get("backend"),
        "configFile": started.get("configFile"),
        "epoch": finished["epoch"],
        "step": finished["step"],
        "seconds": finished["seconds"],
        "testLoss": finished.get("testLoss"),
        "testAccuracy": finished.get("testAccuracy"),
        "target": started.get("target"),
        "verdict": verdict,
        "trainAccuracy": _num(finished.get("trainAccuracy")),
        "layers": layers,
        "lagging": [l["name"] for l in layers if l["lagging"]],
    }


def write_summary(run_dir, summary):
    """Writes summary.json atomically (a temporary file renamed over it)."""
    path = os.path.join(run_dir, SUMMARY_FILE)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(_finite(summary), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)

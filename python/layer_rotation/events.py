"""The run-log format (version 1, docs/run-log-format.md): events.jsonl, summary.json, run ids.

Every event and summary.json are built here (run_started, rotation, batch, epoch_end, log,
run_finished, make_summary), for both the engine and RotationLogger; lagging_layers is the one
rule of which layers lag. EventWriter appends one complete JSON line per os.write call, so a
reader tailing the file (or a crash) never sees half an event. Non-finite numbers are written as
null (JSON has no NaN).
"""
import json
import math
import os
import re
import shutil
import time

FORMAT_VERSION = 1
EVENTS_FILE = "events.jsonl"
SUMMARY_FILE = "summary.json"
CONFIG_COPY = "config.layerrot.json"


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


class EventWriter:
    """Appends events to `events.jsonl`, one line per write(2) call."""

    def __init__(self, path):
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.started = None
        self.finished = None

    def write(self, event):
        """Stamps (v, time) and writes one event; returns the stamped event."""
        if self._fd is None:
            raise RuntimeError("event log %s is closed" % self.path)
        e = stamp(event)
        if e.get("type") == "run_started":
            self.started = e
        elif e.get("type") == "run_finished":
            self.finished = e
        data = to_json_line(e).encode("utf-8")
        written = os.write(self._fd, data)
        while written < len(data):  # a short write (rare: signals, full pipes): finish the line
            written += os.write(self._fd, data[written:])
        return e

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def make_run_id(name, now=None):
    """`name-YYYYMMDD-HHMMSS` in local time, as makeRunId in src/runlog/runfolder.ts."""
    t = time.localtime(now if now is not None else time.time())
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"
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
):
    """The first event: the run, its data, its kernel layers (in forward order) and its plan.
    `model`, `optimizer`, `seed` and `schedule` are left out when None."""
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
        "seed": seed,
        "schedule": schedule,
    }
    for optional in ("model", "optimizer", "seed", "schedule"):
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


def lagging_layers(names, distances, target, lag_margin):
    """[{name, distance}] of the layers that lag: a final distance that is missing, not finite, or
    below target - lag_margin (as lagBelowTarget in src/runlog/read.ts)."""
    out = []
    for i, name in enumerate(names):
        d = distances[i] if i < len(distances) else None
        ok = isinstance(d, (int, float)) and not isinstance(d, bool) and math.isfinite(d) and d >= target - lag_margin
        if not ok:
            out.append({"name": name, "distance": d})
    return out


def run_finished(
    status,
    reason,
    step,
    epoch,
    seconds,
    final_distances=(),
    layer_names=(),
    target=None,
    lag_margin=None,
    test_loss=None,
    test_accuracy=None,
):
    """The last event: how the run ended, the final distances of the layers `layer_names` and
    which of them lag (lagging_layers against target and lag_margin)."""
    final = list(final_distances)
    return {
        "type": "run_finished",
        "status": status,
        "reason": reason,
        "step": step,
        "epoch": epoch,
        "finalDistances": final,
        "testLoss": test_loss,
        "testAccuracy": test_accuracy,
        "lagging": lagging_layers(list(layer_names), final, target, lag_margin) if layer_names else [],
        "seconds": seconds,
    }


def make_summary(run_id, started, finished):
    """summary.json's fields, as makeSummary in src/runlog/runfolder.ts."""
    started = started or {}
    lagging = {l["name"] for l in finished.get("lagging", [])}
    final = finished.get("finalDistances", [])
    layers = []
    for i, l in enumerate(started.get("layers", [])):
        d = final[i] if i < len(final) else None
        fd = d if isinstance(d, (int, float)) and math.isfinite(d) else None
        layers.append(
            {
                "name": l["name"],
                "kind": l["kind"],
                "params": l["params"],
                "finalDistance": fd,
                "lagging": l["name"] in lagging,
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
        "layers": layers,
        "lagging": [l["name"] for l in finished.get("lagging", [])],
    }


def write_summary(run_dir, summary):
    """Writes summary.json atomically (a temporary file renamed over it)."""
    path = os.path.join(run_dir, SUMMARY_FILE)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(_finite(summary), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)

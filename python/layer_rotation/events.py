"""The run-log format (version 1, docs/run-log-format.md): events.jsonl, summary.json, run ids.

EventWriter appends one complete JSON line per os.write call, so a reader tailing the file (or a
crash) never sees half an event. Non-finite numbers are written as null (JSON has no NaN).
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


def lag_below_target(names, distances, target, margin):
    """[{name, distance}] of the layers below target - margin (a missing or NaN distance lags)."""
    out = []
    for i, name in enumerate(names):
        d = distances[i] if i < len(distances) else None
        ok = isinstance(d, (int, float)) and math.isfinite(d) and d >= target - margin
        if not ok:
            out.append({"name": name, "distance": d})
    return out


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

"""Training progress on stderr, as the tfjs CLI shows it (the Progress class of src/cli.ts): on a
terminal a one-line bar redrawn in place (epoch, percent, loss, accuracy, samples/s, ETA); else a
line per epoch and, within a long epoch, a line at least every `every` seconds (step, epoch,
loss, accuracy, samples/s, ETA). Fed with the run's events as they are written and with every
optimizer step (the loss and accuracy are those of the latest batch event)."""
import math
import sys
import time

from .numbers import fixed, percent, to_fixed

# The least time between two redraws of the bar on a terminal.
REDRAW_SECONDS = 0.1
# The most time between two progress lines when stderr is not a terminal (a log file, a pipe).
LINE_SECONDS = 5.0
CLEAR = "\r\x1b[K"


def format_seconds(s):
    t = math.floor(s + 0.5)
    return "%d:%02d" % (t // 60, t % 60)


class Progress:
    def __init__(self, stream=None, tty=None, every=LINE_SECONDS, clock=time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(self.stream.isatty()) if tty is None else tty
        self.every = every
        self.clock = clock
        self.started = None
        self.batch = None
        self.t0 = self.last_line = self.last_drawn = clock()

    def _write(self, text):
        # Showing progress must never end a run: a closed pipe (`... | head`) or a full disk stops the display only.
        if self.stream is None:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.stream = None

    def _line(self, text):
        self._write((CLEAR if self.tty else "") + text + "\n")
        self.last_line = self.clock()

    def event(self, e):
        """A run-log event, as written."""
        t = e.get("type")
        if t == "run_started":
            self.started = e
            self.t0 = self.clock()
            ds = e.get("dataset") or {}
            self._line(
                "%s: %s (%s train, %s validation, %s test), %d kernel layers, %s, backend %s"
                % (
                    e.get("name"),
                    ds.get("name"),
                    ds.get("train"),
                    ds.get("validation"),
                    ds.get("test"),
                    len(e.get("layers") or []),
                    e.get("optimizer"),
                    e.get("backendDescription") or e.get("backend"),
                )
            )
        elif t == "batch":
            self.batch = e
            self.step(e["step"])
        elif t == "epoch_end" and self.started:
            val = ""
            if e.get("valAccuracy") is not None:
                val = ", val loss %s, val acc %s" % (fixed(e.get("valLoss"), 4), percent(e["valAccuracy"], 2))
            self._line(
                " epoch %s/%s: loss %s, acc %s%s, %s s, %s samples/s"
                % (
                    e["epoch"],
                    self.started["epochs"],
                    fixed(e.get("loss"), 4),
                    percent(e.get("accuracy"), 2),
                    val,
                    fixed(e.get("seconds"), 1),
                    fixed(e.get("samplesPerSecond"), 0),
                )
            )
        elif t == "log":
            self._line("%s: %s" % (e.get("level"), e.get("message")))
        elif t == "run_finished" and self.tty:
            self._write(CLEAR)

    def step(self, step):
        """After each optimizer step: redraws the bar, or writes a line when the last is `every` seconds old."""
        s = self.started
        if not s:
            return
        now = self.clock()
        if now - (self.last_drawn if self.tty else self.last_line) < (REDRAW_SECONDS if self.tty else self.every):
            return
        total = s["totalSteps"]
        frac = min(1.0, step / total) if total else 0.0
        elapsed = now - self.t0
        eta = elapsed * (1 / frac - 1) if frac > 0 else 0
        sps = step * (s.get("batchSize") or math.nan) / max(elapsed, 1e-3)
        epoch = min(s["epochs"], max(1, math.ceil(step / s["stepsPerEpoch"])))  # the epoch of this step
        b = self.batch or {}
        if self.tty:
            self.last_drawn = now
            filled = math.floor(frac * 28 + 0.5)
            self._write(
                "\r epoch %d/%d [%s%s] %s%% loss %s acc %s %s samples/s ETA %s  "
                % (
                    epoch,
                    s["epochs"],
                    "#" * filled,
                    "." * (28 - filled),
                    to_fixed(100 * frac, 0).rjust(3),
                    fixed(b.get("loss"), 4),
                    percent(b.get("accuracy"), 1),
                    fixed(sps, 0),
                    format_seconds(eta),
                )
            )
        else:
            self._line(
                " epoch %d/%d, step %d/%d (%s%%): loss %s, acc %s, %s samples/s, ETA %s"
                % (
                    epoch,
                    s["epochs"],
                    step,
                    total,
                    to_fixed(100 * frac, 0),
                    fixed(b.get("loss"), 4),
                    percent(b.get("accuracy"), 2),
                    fixed(sps, 0),
                    format_seconds(eta),
                )
            )

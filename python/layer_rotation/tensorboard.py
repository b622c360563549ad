"""A run log as TensorBoard scalars: RotationLogger(..., tensorboard="tb") writes, beside the run
log, a TensorBoard event file (tfevents) in tb/<run folder's name>/, so that a team on TensorBoard
sees the layer rotation there too:

  - `layer_rotation/<layer>`: each layer's cosine distance to its initial kernel, at every
    rotation record (made unique with " (N)", N the layer's 1-based index, when names repeat);
  - `loss/batch`, `accuracy/batch`, `learning_rate` (batch events), `loss/train`,
    `accuracy/train`, `loss/validation`, `accuracy/validation` (epoch ends), `loss/test`,
    `accuracy/test` (run_finished): the values the run log has (an unknown one is left out);
  - a custom-scalars layout (category "Layer rotation"): one chart of every layer's distance, in
    the run's layer order, one of the losses and one of the accuracies.

`layer-rotation export --tensorboard RUN_DIR` (the Node CLI, src/runlog/tensorboard.ts) writes the
same bytes from a finished run's log, of either engine: this module and that one are one format
in two languages (test/tensorboard.test.ts checks that they agree); change both together. No
TensorFlow and no protobuf package: the few messages needed are encoded here.

The tfevents format: records of `uint64 length (LE) | uint32 masked crc32c(length) | data | uint32
masked crc32c(data)`, each data an Event proto (tensorflow/core/util/event.proto): the first has a
`file_version`, the others a Summary of tagged values.
"""
import errno
import math
import os
import re
import struct

from .events import describe_os_error
from .report import normalize_event

# ---- CRC32C (Castagnoli), masked as TFRecord does ----


def _crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (0x82F63B78 ^ (c >> 1)) if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data):
    """CRC32C of the bytes (b"123456789" gives 0xE3069283)."""
    c = 0xFFFFFFFF
    table = _CRC_TABLE
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data):
    """The CRC as TFRecord stores it: rotated right by 15 bits plus a constant."""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tf_record(data):
    """One TFRecord: length, its masked CRC, the data, the data's masked CRC."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


# ---- protobuf wire format: just what Event, Summary and Layout need ----


def _varint(n):
    out = bytearray()
    while n >= 128:
        out.append((n & 127) | 128)
        n >>= 7
    out.append(n)
    return bytes(out)


def _uint(field, n):
    return _varint(field * 8) + _varint(n)


def _double(field, x):
    return _varint(field * 8 + 1) + struct.pack("<d", x)


def _float(field, x):
    return _varint(field * 8 + 5) + struct.pack("<f", x)


def _bytes(field, data):
    return _varint(field * 8 + 2) + _varint(len(data)) + data


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _string(field, s):
    # A lone surrogate (JSON's "\\ud800") becomes U+FFFD, as in Node's UTF-8.
    return _bytes(field, _LONE_SURROGATE.sub("\ufffd", s).encode("utf-8"))


# ---- what a run log becomes ----

LAYER_TAG_PREFIX = "layer_rotation/"
# The tag under which TensorBoard's custom-scalars plugin finds its layout.
LAYOUT_TAG = "custom_scalars__config__"
# The layout's category (runs' layouts with the same title are merged by TensorBoard).
LAYOUT_TITLE = "Layer rotation"
# Whole steps, not negative, at most 2^53 - 1 (as the TS writer's numbers can hold).
_MAX_STEP = 2**53 - 1


def layer_tags(names):
    """The tags of a run's layers, in its order: `layer_rotation/<name>`, made unique with " (N)"."""
    seen = set()
    tags = []
    for i, name in enumerate(names):
        tag = LAYER_TAG_PREFIX + name
        while tag in seen:
            tag += " (%d)" % (i + 1)
        seen.add(tag)
        tags.append(tag)
    return tags


_SPECIAL = set("\\^$.|?*+()[]{}")


def exact_pattern(s):
    """A regular expression (Python's re, which the custom-scalars plugin uses) matching exactly `s`."""
    return "^" + "".join("\\" + ch if ch in _SPECIAL else ch for ch in s) + "$"


def layout_proto(tags):
    """The custom-scalars Layout proto: a chart of every layer's distance, one of the losses, one of the accuracies."""

    def chart(title, patterns):
        return _string(1, title) + _bytes(2, b"".join(_string(1, p) for p in patterns))

    category = (
        _string(1, LAYOUT_TITLE)
        + _bytes(2, chart("cosine distance to the initial weights, per layer", [exact_pattern(t) for t in tags]))
        + _bytes(2, chart("loss", ["^loss/"]))
        + _bytes(2, chart("accuracy", ["^accuracy/"]))
    )
    return _bytes(2, category)


def _layout_value(layout):
    plugin_data = _string(1, "custom_scalars")
    metadata = _bytes(1, plugin_data)
    tensor = _uint(1, 7) + _bytes(2, b"") + _bytes(8, layout)  # DT_STRING, a scalar shape, string_val
    return _string(1, LAYOUT_TAG) + _bytes(9, metadata) + _bytes(8, tensor)


def _event(wall_time, step, what):
    return _double(1, wall_time) + _uint(2, step) + what


def _finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# Values outside their domain are unknown, as the readers have them (src/runlog/normalize.ts).
def _non_negative(v):
    return v if _finite(v) and v >= 0 else None


def _fraction(v):
    return v if _finite(v) and 0 <= v <= 1 else None


_DISTANCE_SLACK = 1e-6


def _distance(v):
    if _finite(v) and -_DISTANCE_SLACK <= v <= 2 + _DISTANCE_SLACK:
        return min(2, max(0, v))
    return None


def _step_of(n):
    return min(_MAX_STEP, max(0, int(math.floor(n))))


def _scalars_of(e, tags):
    t = e["type"]
    if t == "rotation":
        return [
            (tags[i] if i < len(tags) else "%slayer %d" % (LAYER_TAG_PREFIX, i + 1), _distance(d))
            for i, d in enumerate(e["distances"])
        ]
    if t == "batch":
        return [
            ("loss/batch", _non_negative(e.get("loss"))),
            ("accuracy/batch", _fraction(e.get("accuracy"))),
            ("learning_rate", _non_negative(e.get("learningRate"))),
        ]
    if t == "epoch_end":
        return [
            ("loss/train", _non_negative(e.get("loss"))),
            ("accuracy/train", _fraction(e.get("accuracy"))),
            ("loss/validation", _non_negative(e.get("valLoss"))),
            ("accuracy/validation", _fraction(e.get("valAccuracy"))),
        ]
    if t == "run_finished":
        return [("loss/test", _non_negative(e.get("testLoss"))), ("accuracy/test", _fraction(e.get("testAccuracy")))]
    return []


class TensorBoardEncoder:
    """Turns a run's events (dicts as in events.jsonl), in order, into TFRecords: the file version
    and the layout at run_started, then a Summary per event that has scalars. An event that readers
    skip is skipped; the wall time of an event without a time is that of the event before it; the
    step of an epoch_end or run_finished without one is the last step seen."""

    def __init__(self):
        self.tags = []
        self.wall_time = 0.0
        self.step = 0

    def encode(self, event):
        e, _ = normalize_event(event)
        if e is None:
            return []
        t = e["type"]
        if t in ("rotation", "batch") and (e["step"] < 0 or e["epoch"] < 0) or t == "epoch_end" and e["epoch"] < 0:
            return []
        if _finite(e.get("time")):
            self.wall_time = e["time"] / 1000
        if t == "run_started":
            self.tags = layer_tags([layer["name"] for layer in e["layers"]])
            layout = _bytes(5, _bytes(1, _layout_value(layout_proto(self.tags))))
            return [
                tf_record(_event(self.wall_time, 0, _string(3, "brain.Event:2"))),
                tf_record(_event(self.wall_time, 0, layout)),
            ]
        s = e.get("step")
        step = _step_of(s) if _finite(s) and s >= 0 else self.step
        if t not in ("log", "features"):
            self.step = step
        values = [(tag, v) for tag, v in _scalars_of(e, self.tags) if v is not None]
        if not values:
            return []
        summary = b"".join(_bytes(1, _string(1, tag) + _float(2, v)) for tag, v in values)
        return [tf_record(_event(self.wall_time, step, _bytes(5, summary)))]


def events_file_name(started):
    """The event file's name: TensorBoard reads files whose name holds `tfevents`; the same run
    always gets the same name (a new export replaces the last)."""
    time = started.get("time") if started else None
    seconds = max(0, int(math.floor(time / 1000))) if _finite(time) else 0
    return "events.out.tfevents.%010d.layer-rotation" % seconds


class TensorBoardWriteError(OSError):
    """The TensorBoard event file could not be written: which, and why, on one line."""


class TensorBoardWriter:
    """Writes run-log events, as they come, as a TensorBoard event file in `log_dir` (made if need
    be; the file is opened at run_started, events before it are left out). Each record is written
    with os.write, so TensorBoard sees it at once. write() raises a TensorBoardWriteError saying
    what and where; follow() is write() for a training loop: a failure closes the writer and
    returns its message (once), so that the run log goes on."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.file = None
        self.failed = None
        self._fd = None
        self._encoder = TensorBoardEncoder()

    def write(self, event):
        if self.failed is not None:
            raise TensorBoardWriteError(self.failed)
        if self._fd is None and not (isinstance(event, dict) and event.get("type") == "run_started"):
            return  # records before the run's start have no layers to name
        records = self._encoder.encode(event)
        if not records:
            return
        if self._fd is None:
            self.file = os.path.join(self.log_dir, events_file_name(event))
            try:
                os.makedirs(self.log_dir, exist_ok=True)
                self._fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            except OSError as err:
                self._fail("cannot write the TensorBoard event file %s: %s" % (self.file, describe_os_error(err)), err)
        data = b"".join(records)
        try:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError as err:
            self._fail("cannot write the TensorBoard event file %s: %s" % (self.file, describe_os_error(err)), err)

    def _fail(self, message, err):
        self.failed = message
        self.close()
        raise TensorBoardWriteError(getattr(err, "errno", None) or errno.EIO, message)

    def follow(self, event):
        """write(), for a training loop: None, or (once) why the TensorBoard file stopped."""
        if self.failed is not None:
            return None
        try:
            self.write(event)
        except OSError as err:
            return "TensorBoard scalars stopped: %s" % (self.failed or err)
        return None

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def tensorboard_dir(tensorboard, run_dir):
    """Where RotationLogger(tensorboard=...) writes: True, the run folder itself; a path, LOGDIR/<run
    folder's name>/ (as `layer-rotation export --tensorboard RUN_DIR --out LOGDIR`)."""
    if tensorboard is True:
        return run_dir
    if not isinstance(tensorboard, (str, os.PathLike)):
        raise TypeError("RotationLogger: tensorboard must be a folder (a str or path) or True, not %r" % (tensorboard,))
    return os.path.join(os.fspath(tensorboard), os.path.basename(os.path.abspath(run_dir)))


def export_run_log(events_file, log_dir):
    """Writes the event file of an existing run log into `log_dir`, as `layer-rotation export
    --tensorboard` does; returns its path (None when the log has no run_started)."""
    import json

    def not_json(constant):
        raise ValueError("%s is not JSON" % constant)

    with TensorBoardWriter(log_dir) as writer, open(events_file, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # still being written
            try:
                event = json.loads(line, parse_constant=not_json)
            except ValueError:
                continue
            writer.write(event)
        return writer.file

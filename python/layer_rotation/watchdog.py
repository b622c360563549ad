"""The engine's watchdog: a daemon thread that ends the process within seconds of its parent's
death, in every phase (importing torch, loading data, building a big model, one long step), as
src/launch/watchdog.ts does for the tfjs runner. The main thread checks its stop flags only
between steps; this thread polls the parent's pid, asks the run to stop once it is gone, gives the
main thread GRACE_SECONDS to end the run itself, then writes the run's end to the log (unless one
was written) and ends the process. No torch import here: it starts before torch is loaded.
"""
import os
import threading
import time

POLL_SECONDS = 0.25
GRACE_SECONDS = 2.0
PARENT_GONE = "the process that started the run went away"


def alive(pid):
    """Whether process `pid` runs; a zombie (exited, not reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class ParentWatch:
    """Watches `parent_pid` from a daemon thread. Set `stop` (the run's StopFlags) and `writer`
    (its EventWriter, on the rank that writes) as they are made; until then, the run's end goes
    to `log_file` (when known: the run folder was given)."""

    def __init__(self, parent_pid, log_file=None, poll=POLL_SECONDS, grace=GRACE_SECONDS):
        self.parent_pid = parent_pid
        self.log_file = log_file
        self.poll = poll
        self.grace = grace
        self.stop = None
        self.writer = None
        self.t0 = time.time()
        self.gone = False

    def start(self):
        threading.Thread(target=self._watch, name="layer-rotation-watchdog", daemon=True).start()
        return self

    def _watch(self):
        polls = 0
        while alive(self.parent_pid):
            time.sleep(self.poll)
            polls += 1
        self.gone = True
        stop = self.stop
        if stop is not None:
            stop.parent_gone()
        if polls > 0:  # gone as the run started (no training to end cleanly): no grace
            time.sleep(self.grace)
        reason = "stopped: %s (the engine was busy; ended by its watchdog)" % PARENT_GONE
        try:
            writer = self.writer
            if writer is None and self.log_file:
                from .events import EventWriter

                writer = EventWriter(self.log_file)
            if writer is not None:
                writer.finish_once("stopped", reason, time.time() - self.t0)
        except Exception:  # noqa: BLE001 - the process ends either way
            pass
        os._exit(1)

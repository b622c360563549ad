"""Faults in the PyTorch engine's own parts: the log writer after a half line, after its file was
removed and on a full write; run ids of very long names; the watchdog ending a busy process within
seconds of its parent's death, with the run's end in the log. (test/faults.test.ts drives both
engines through the CLI: a killed CLI during a model build, a full disk.)"""
import errno
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.join(HERE, "..")
sys.path.insert(0, PACKAGE_DIR)

from layer_rotation.events import MAX_RUN_NAME, EventWriter, LogWriteError, make_run_id  # noqa: E402
from layer_rotation.events import run_finished  # noqa: E402


def log_event(message):
    return {"type": "log", "level": "info", "message": message}


class WriterTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.file = os.path.join(self.dir, "events.jsonl")

    def lines(self):
        with open(self.file, encoding="utf-8") as f:
            return f.read().split("\n")

    def test_a_half_line_left_by_a_killed_writer_is_ended_before_the_next_line(self):
        w = EventWriter(self.file)
        w.write(log_event("one"))
        w.close()
        with open(self.file, "a") as f:
            f.write('{"v":1,"time":1,"type":"log","mess')  # what a writer killed mid-line leaves
        w = EventWriter(self.file)
        w.write(run_finished("failed", "killed", 0, 0, 0))
        w.close()
        lines = self.lines()
        self.assertEqual(lines[-1], "")
        self.assertEqual(json.loads(lines[-2])["reason"], "killed")
        self.assertEqual(lines[-3], '{"v":1,"time":1,"type":"log","mess')

    def test_a_removed_log_fails_every_later_write_saying_so(self):
        w = EventWriter(self.file)
        w.write(log_event("one"))
        os.remove(self.file)
        with self.assertRaises(LogWriteError) as caught:
            w.write(log_event("two"))
        self.assertIn("cannot write the run log %s: it was removed" % self.file, str(caught.exception))
        with self.assertRaises(LogWriteError):
            w.write(log_event("three"))
        w.close()

    def test_a_write_that_fails_part_way_is_taken_back(self):
        w = EventWriter(self.file)
        w.write(log_event("one"))
        real_write = os.write
        calls = []

        def full_disk(fd, data):
            calls.append(len(data))
            if len(calls) == 1:
                return real_write(fd, data[:10])  # part of the line fits
            raise OSError(errno.ENOSPC, "No space left on device")

        with mock.patch("layer_rotation.events.os.write", full_disk):
            with self.assertRaises(LogWriteError) as caught:
                w.write(log_event("two"))
        self.assertIn("no space left on the device (ENOSPC)", str(caught.exception))
        w.close()
        lines = self.lines()
        self.assertEqual(len(lines), 2)  # "one" and the end: no half line
        self.assertEqual(json.loads(lines[0])["message"], "one")


class RunIdTest(unittest.TestCase):
    def test_the_name_part_is_capped(self):
        run_id = make_run_id("n" * 5000, 0)
        self.assertEqual(run_id[: MAX_RUN_NAME + 1], "n" * MAX_RUN_NAME + "-")
        self.assertLessEqual(len(run_id), MAX_RUN_NAME + 16)
        self.assertRegex(make_run_id("a" * 63 + "-b", 0), r"^a{63}-\d{8}-\d{6}$")


BUSY_ENGINE = r"""
import sys, time
from layer_rotation.watchdog import ParentWatch
from layer_rotation.events import EventWriter
watch = ParentWatch(int(sys.argv[1])).start()
watch.writer = EventWriter(sys.argv[2])
watch.writer.write({"type": "log", "level": "info", "message": "busy"})
print("ready", flush=True)
t = time.time()
while time.time() - t < 120:  # a long synchronous phase that never checks anything
    sum(range(10000))
"""


class WatchdogTest(unittest.TestCase):
    def test_a_busy_process_ends_within_seconds_of_its_parents_death_with_its_end_in_the_log(self):
        log = os.path.join(tempfile.mkdtemp(), "events.jsonl")
        parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        env = dict(os.environ, PYTHONPATH=PACKAGE_DIR)
        engine = subprocess.Popen(
            [sys.executable, "-c", BUSY_ENGINE, str(parent.pid), log], stdout=subprocess.PIPE, env=env
        )
        try:
            self.assertEqual(engine.stdout.readline().strip(), b"ready")
            time.sleep(1)
            parent.kill()
            parent.wait()
            killed = time.time()
            engine.wait(timeout=15)
            self.assertLess(time.time() - killed, 8)
        finally:
            engine.kill()
            engine.stdout.close()
            parent.kill()
        with open(log, encoding="utf-8") as f:
            events = [json.loads(line) for line in f.read().splitlines()]
        self.assertEqual(events[-1]["type"], "run_finished")
        self.assertEqual(events[-1]["status"], "stopped")
        self.assertIn("the process that started the run went away", events[-1]["reason"])


if __name__ == "__main__":
    unittest.main()

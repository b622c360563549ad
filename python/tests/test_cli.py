"""The engine's command line as `layer-rotation train` and `report` (src/cli.ts): progress on stderr
while it trains, then the per-layer table, the test accuracy, the verdict and the run's status on
stdout, and curves.svg beside the run's log. Real runs of a tiny synthetic config in a child
process (`python -m layer_rotation`), checked against what the run wrote (events.jsonl,
summary.json)."""
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.join(HERE, "..")
sys.path.insert(0, PACKAGE_DIR)

from layer_rotation.numbers import js_number, to_fixed  # noqa: E402
from layer_rotation.progress import Progress  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"

# Fits its (easy) training data well past monitoring.fitAccuracy within a few epochs, so its layers
# are judged; dense1 turns at a fiftieth of the others' rate (Layca), so it lags.
FITS = {
    "name": "cli-test",
    "seed": 3,
    "dataset": {
        "name": "synthetic",
        "samples": 600,
        "testSamples": 200,
        "inputShape": [16],
        "classes": 3,
        "validationSplit": 0.1,
    },
    "model": {"type": "mlp", "hidden": [32, 32]},
    "optimizer": {
        "type": "sgd",
        "layca": True,
        "learningRate": 0.05,
        "momentum": 0.9,
        "layerMultipliers": {"dense1": 0.02},
    },
    "schedule": {"epochs": 6, "batchSize": 16},
    "monitoring": {"fitAccuracy": 0.75},
}


def run_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PACKAGE_DIR, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", "layer_rotation", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_events(run_dir):
    with open(os.path.join(run_dir, "events.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def outcome(stdout):
    """The lines of the table onwards, without the lines naming files."""
    return [l for l in stdout.splitlines() if not re.match(r"^(run folder|layer rotation curves): ", l)]


class TrainAndReport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="lr-cli-")
        cls.config = os.path.join(cls.dir, "fits.layerrot.json")
        with open(cls.config, "w") as f:
            json.dump(FITS, f)
        cls.run_dir = os.path.join(cls.dir, "run")
        # stderr is a pipe (not a terminal): a line per epoch, and a line at least every 0.05 s.
        cls.train = run_cli(
            "train",
            cls.config,
            "--run-dir",
            cls.run_dir,
            "--device",
            "cpu",
            "--threads",
            "1",
            "--progress-every",
            "0",
        )
        cls.events = read_events(cls.run_dir)
        cls.started = cls.events[0]
        cls.finished = cls.events[-1]
        with open(os.path.join(cls.run_dir, "summary.json"), encoding="utf-8") as f:
            cls.summary = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_the_run_completed_and_fit(self):
        self.assertEqual(self.train.returncode, 0, self.train.stderr)
        self.assertEqual((self.started["type"], self.finished["type"]), ("run_started", "run_finished"))
        self.assertEqual(self.finished["status"], "completed")
        # What the table below is about: a judged run (it fit) with a lagging layer and one that is not.
        self.assertGreaterEqual(self.finished["trainAccuracy"], FITS["monitoring"]["fitAccuracy"])
        self.assertEqual(self.summary["verdict"], "judged")
        self.assertIn("dense1", self.summary["lagging"])
        self.assertLess(len(self.summary["lagging"]), len(self.started["layers"]))

    def test_table_verdict_and_status_on_stdout(self):
        lines = self.train.stdout.splitlines()
        self.assertEqual(re.split(r"\s{2,}", lines[0]), ["layer", "kind", "params", "distance", "vs target 1"])
        self.assertRegex(lines[1], r"^-+( +-+){4}$")
        layers = self.started["layers"]
        threshold = self.started["target"] - self.started["lagMargin"]
        for i, layer in enumerate(layers):
            name, kind, params, distance, mark = lines[2 + i].split()
            final = self.finished["finalDistances"][i]
            self.assertEqual((name, kind, params), (layer["name"], layer["kind"], "{:,}".format(layer["params"])))
            self.assertAlmostEqual(float(distance), final, delta=0.0005 + 1e-9)
            # The run fit its training data: a layer lags when it ends below target - lagMargin.
            self.assertEqual(mark, "LAGGING" if final < threshold else "ok")
            self.assertEqual(mark == "LAGGING", self.summary["layers"][i]["lagging"])
        rest = lines[2 + len(layers) :]
        self.assertEqual(rest[0], "")
        acc = re.fullmatch(r"test accuracy: (\d+\.\d\d)%  \(test loss (\d+\.\d{4})\)", rest[1])
        self.assertIsNotNone(acc, rest[1])
        self.assertAlmostEqual(float(acc.group(1)), 100 * self.finished["testAccuracy"], delta=0.005 + 1e-9)
        self.assertAlmostEqual(float(acc.group(2)), self.finished["testLoss"], delta=0.00005 + 1e-12)
        n = len(self.summary["lagging"])
        self.assertEqual(
            rest[2],
            "verdict: %d lagging layer%s below %s (target 1)" % (n, "" if n == 1 else "s", js_number(threshold)),
        )
        self.assertRegex(rest[3], r"^One run cannot tell whether more rotation generalizes better on this task")
        self.assertEqual(rest[4], "run completed: %s" % self.finished["reason"])
        self.assertEqual(rest[5], "run folder: %s" % self.run_dir)
        self.assertEqual(rest[6], "layer rotation curves: %s" % os.path.join(self.run_dir, "curves.svg"))
        self.assertEqual(len(rest), 7)

    def test_progress_on_stderr(self):
        err = self.train.stderr.splitlines()
        self.assertNotIn("\r", self.train.stderr)  # not a terminal: lines, no bar redrawn in place
        self.assertEqual(err[0], "run %s: logging to %s" % ("run", os.path.join(self.run_dir, "events.jsonl")))
        self.assertRegex(
            err[1], r"^cli-test: synthetic \(540 train, 60 validation, 200 test\), 3 kernel layers, sgd-layca, "
        )
        epochs = [l for l in err if re.match(r"^ epoch \d+/6: ", l)]
        self.assertEqual(len(epochs), 6, self.train.stderr)
        ends = [e for e in self.events if e["type"] == "epoch_end"]
        for line, e in zip(epochs, ends):
            self.assertRegex(
                line, r"^ epoch %d/6: loss \d+\.\d{4}, acc \d+\.\d\d%%, val loss \d+\.\d{4}, " % e["epoch"]
            )
            self.assertIn("loss %s," % to_fixed(e["loss"], 4), line)
        # Within the epochs, a line after every step (--progress-every 0): step, epoch, loss, accuracy, samples/s.
        within = [
            re.fullmatch(
                r" epoch (\d)/6, step (\d+)/(\d+) \((\d+)%\): loss (\d+\.\d{4}), acc \d+\.\d\d%, (\d+) samples/s, "
                r"ETA \d+:\d\d",
                l,
            )
            for l in err
            if ", step " in l
        ]
        self.assertTrue(all(within), self.train.stderr)
        self.assertGreaterEqual(len(within), 3, self.train.stderr)
        steps = [int(m.group(2)) for m in within]
        self.assertEqual(steps, sorted(steps))
        spe = self.started["stepsPerEpoch"]
        for m in within:
            self.assertEqual(int(m.group(3)), self.started["totalSteps"])
            self.assertEqual(int(m.group(1)), min(6, max(1, -(-int(m.group(2)) // spe))))  # the epoch of that step
            self.assertGreater(int(m.group(6)), 0)

    def test_curves_svg(self):
        path = os.path.join(self.run_dir, "curves.svg")
        root = ET.parse(path).getroot()
        self.assertEqual(root.tag, SVG + "svg")
        lines = root.findall(SVG + "polyline")
        names = [l["name"] for l in self.started["layers"]]
        self.assertEqual([l.get("data-layer") for l in lines], names)
        # Coloured by depth with viridis: dark purple first, yellow last.
        self.assertEqual((lines[0].get("stroke"), lines[-1].get("stroke")), ("#440154", "#fde725"))
        records = [e for e in self.events if e["type"] == "rotation"]
        for l in lines:
            self.assertEqual(len(l.get("points").split()), len(records))
        (target,) = [l for l in root.findall(SVG + "line") if l.get("class") == "target"]
        self.assertEqual(target.get("stroke-dasharray"), "6 4")

    def test_report_says_the_same_and_writes_the_same_curves(self):
        other = os.path.join(self.dir, "other.svg")
        r = run_cli("report", self.run_dir, "--svg", other)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "cli-test (run), backend cpu")
        self.assertEqual(outcome("\n".join(lines[1:])), outcome(self.train.stdout))
        self.assertEqual(lines[-1], "layer rotation curves: %s" % other)
        with open(other, encoding="utf-8") as a, open(os.path.join(self.run_dir, "curves.svg"), encoding="utf-8") as b:
            self.assertEqual(a.read(), b.read())

    def test_report_of_an_unfinished_log_with_a_corrupt_line(self):
        copy = os.path.join(self.dir, "unfinished")
        os.makedirs(copy)
        with open(os.path.join(self.run_dir, "events.jsonl"), encoding="utf-8") as f:
            lines = f.read().splitlines(True)
        with open(os.path.join(copy, "events.jsonl"), "w", encoding="utf-8") as f:
            f.writelines(lines[:3] + ["{not json\n"] + lines[3:-1])
        r = run_cli("report", copy)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"^%s:4: skipped: not valid JSON" % re.escape(os.path.join(copy, "events.jsonl")))
        out = r.stdout.splitlines()
        self.assertIn("verdict: not judged yet: the run has not finished", out)
        self.assertIn(
            "run unfinished: the log has no run_finished event (still running, or the runner was killed)", out
        )
        for layer in self.started["layers"]:  # not judged while it goes: no layer marked either way
            self.assertRegex(r.stdout, r"(?m)^%s .* not judged$" % re.escape(layer["name"]))
        self.assertTrue(os.path.isfile(os.path.join(copy, "curves.svg")))
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty)
        self.assertEqual(run_cli("report", empty).returncode, 2)


class Quiet(unittest.TestCase):
    def test_quiet_prints_nothing_and_still_writes_the_curves(self):
        d = tempfile.mkdtemp(prefix="lr-cli-quiet-")
        self.addCleanup(shutil.rmtree, d, True)
        config = os.path.join(d, "c.layerrot.json")
        with open(config, "w") as f:
            json.dump(dict(FITS, schedule={"epochs": 1, "batchSize": 32}), f)
        r = run_cli("train", config, "--run-dir", os.path.join(d, "run"), "--quiet", "--threads", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertNotIn("epoch", r.stderr)
        self.assertEqual(read_events(os.path.join(d, "run"))[-1]["status"], "completed")
        ET.parse(os.path.join(d, "run", "curves.svg"))


class Threads(unittest.TestCase):
    """--threads N sizes torch's threads (torch.set_num_threads): the run's backend line, which
    reads torch.get_num_threads() as the run starts, says N; bad counts are refused by name."""

    def test_threads_sets_torchs_thread_count(self):
        d = tempfile.mkdtemp(prefix="lr-cli-threads-")
        self.addCleanup(shutil.rmtree, d, True)
        config = os.path.join(d, "c.layerrot.json")
        with open(config, "w") as f:
            json.dump(dict(FITS, schedule={"epochs": 1, "batchSize": 64}), f)
        for n in (1, 2):
            run_dir = os.path.join(d, "run%d" % n)
            r = run_cli("train", config, "--run-dir", run_dir, "--device", "cpu", "--quiet", "--threads", str(n))
            self.assertEqual(r.returncode, 0, r.stderr)
            started = read_events(run_dir)[0]
            self.assertRegex(
                started["backendDescription"], r"^PyTorch \S+, cpu \([^)]+\), %d threads?$" % n, "--threads %d" % n
            )
        for bad in ("0", "-2", "two"):
            r = run_cli("train", config, "--run-dir", os.path.join(d, "bad"), "--threads", bad)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("argument --threads: must be a whole number of at least 1, got '%s'" % bad, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "bad")))


class WithoutTorch(unittest.TestCase):
    """An interpreter that cannot import torch (a `torch` package first on the path that fails as a
    missing one does): train says so in one line, naming the interpreter and the fix, and exits 1
    with no traceback and no run folder; check and report need no torch."""

    def test_train_says_torch_is_missing_and_how_to_get_it(self):
        d = tempfile.mkdtemp(prefix="lr-cli-notorch-")
        self.addCleanup(shutil.rmtree, d, True)
        os.makedirs(os.path.join(d, "hide", "torch"))
        with open(os.path.join(d, "hide", "torch", "__init__.py"), "w") as f:
            f.write("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
        config = os.path.join(d, "c.layerrot.json")
        with open(config, "w") as f:
            json.dump(FITS, f)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(d, "hide"), PACKAGE_DIR]))

        def cli(*args):
            return subprocess.run(
                [sys.executable, "-m", "layer_rotation", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=120,
            )

        r = cli("train", config, "--runs-dir", os.path.join(d, "runs"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertNotIn("Traceback", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("needs torch", r.stderr)
        # The child's sys.executable: this one, normalized (a venv's python run as ../.venv/bin/python).
        self.assertIn("%s (Python %d.%d." % (os.path.normpath(sys.executable), *sys.version_info[:2]), r.stderr)
        self.assertIn("No module named 'torch'", r.stderr)
        self.assertIn(
            "%s -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
            % os.path.normpath(sys.executable),
            r.stderr,
        )
        self.assertIn("layerRotation.pythonPath", r.stderr)
        self.assertIn("--python PATH", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "runs")))

        self.assertEqual(cli("check", config).stdout.strip(), "ok")
        self.assertEqual(cli("--version").returncode, 0)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


class ProgressDisplay(unittest.TestCase):
    """The Progress class alone, with a clock of its own."""

    STARTED = {
        "type": "run_started",
        "name": "n",
        "dataset": {"name": "d", "train": 100, "validation": 0, "test": 10},
        "layers": [{}, {}],
        "optimizer": "sgd",
        "backend": "cpu",
        "epochs": 2,
        "stepsPerEpoch": 10,
        "totalSteps": 20,
        "batchSize": 10,
    }

    def feed(self, stream, tty):
        now = [0.0]
        p = Progress(stream, tty=tty, every=5, clock=lambda: now[0])
        p.event(self.STARTED)
        for step in range(1, 21):
            now[0] += 1  # a second a step
            if step % 5 == 0:
                p.event({"type": "batch", "step": step, "epoch": step / 10, "loss": 1 / step, "accuracy": 0.5})
            p.step(step)
            if step % 10 == 0:
                p.event({"type": "epoch_end", "epoch": step // 10, "loss": 0.5, "accuracy": 0.75, "valAccuracy": None})
        p.event({"type": "run_finished"})
        return stream.getvalue()

    def test_lines_when_not_a_terminal(self):
        lines = self.feed(io.StringIO(), tty=False).splitlines()
        self.assertEqual(lines[0], "n: d (100 train, 0 validation, 10 test), 2 kernel layers, sgd, backend cpu")
        self.assertEqual(
            lines[1], " epoch 1/2, step 5/20 (25%): loss 0.2000, acc 50.00%, 10 samples/s, ETA 0:15"
        )  # 5 s after the start
        self.assertEqual(lines[2], " epoch 1/2, step 10/20 (50%): loss 0.1000, acc 50.00%, 10 samples/s, ETA 0:10")
        self.assertEqual(lines[3], " epoch 1/2: loss 0.5000, acc 75.00%, n/a s, n/a samples/s")
        self.assertEqual(lines[4], " epoch 2/2, step 15/20 (75%): loss 0.0667, acc 50.00%, 10 samples/s, ETA 0:05")
        self.assertEqual(len(lines), 7)

    def test_a_bar_redrawn_in_place_on_a_terminal(self):
        text = self.feed(FakeTerminal(), tty=True)
        bars = [b for b in text.split("\r") if b.startswith(" epoch 1/2 [")]
        self.assertEqual(len(bars), 10)  # a redraw a step (at most every 0.1 s) up to the epoch's last
        self.assertEqual(
            bars[-1], " epoch 1/2 [##############..............]  50% loss 0.1000 acc 50.0% 10 samples/s ETA 0:10  "
        )
        self.assertIn("\r\x1b[K epoch 1/2: loss 0.5000", text)
        self.assertTrue(text.endswith("\r\x1b[K"))


class Numbers(unittest.TestCase):
    def test_as_javascript_writes_them(self):
        self.assertEqual([to_fixed(x, 1) for x in (0.25, 0.35, -0.25, -0.0, 2.0)], ["0.3", "0.3", "-0.3", "0.0", "2.0"])
        self.assertEqual(to_fixed(1234.5, 0), "1235")
        self.assertEqual(
            [js_number(x) for x in (1, 1.0, 0.8, 1 - 0.2, 1e-5, 1e-7, 2.5e21, 0.1 + 0.2)],
            ["1", "1", "0.8", "0.8", "0.00001", "1e-7", "2.5e+21", "0.30000000000000004"],
        )


if __name__ == "__main__":
    unittest.main()

"""TensorBoard scalars (layer_rotation/tensorboard.py): RotationLogger(tensorboard=...) trains a tiny
model and writes, beside its run log, an event file whose scalars are the log's distances, losses
and accuracies, read back with TensorBoard's own EventAccumulator (skipped when the tensorboard
package is not installed) and with this file's own record reader; a failure to write the
TensorBoard file never costs the run log. test/tensorboard.test.ts checks that the Node CLI's export
writes the same bytes."""
import json
import os
import re
import struct
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from layer_rotation import RotationLogger  # noqa: E402
from layer_rotation.report import read_run_log  # noqa: E402
from layer_rotation.tensorboard import (  # noqa: E402
    TensorBoardWriter,
    crc32c,
    exact_pattern,
    export_run_log,
    layer_tags,
    masked_crc32c,
    tensorboard_dir,
)

try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.custom_scalar import layout_pb2

    NO_TENSORBOARD = None
except ImportError as err:  # pragma: no cover - depends on the environment
    NO_TENSORBOARD = "the tensorboard package is not installed (%s)" % err


def read_events(run_dir):
    with open(os.path.join(run_dir, "events.jsonl"), encoding="utf-8") as f:
        text = f.read()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def records(file):
    """The records of a tfevents file, each one's length and CRCs checked."""
    with open(file, "rb") as f:
        data = f.read()
    out, at = [], 0
    while at < len(data):
        (length,) = struct.unpack_from("<Q", data, at)
        assert struct.unpack_from("<I", data, at + 8)[0] == masked_crc32c(data[at : at + 8])
        body = data[at + 12 : at + 12 + length]
        assert struct.unpack_from("<I", data, at + 12 + length)[0] == masked_crc32c(body)
        out.append(body)
        at += 16 + length
    return out


def event_file(folder):
    files = [f for f in os.listdir(folder) if "tfevents" in f]
    assert len(files) == 1, files
    return os.path.join(folder, files[0])


def train(run_dir, tensorboard, steps=12, fail_at=None, model=None):
    torch.manual_seed(0)
    model = model or torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 3, (32,))
    with RotationLogger(
        model, run_dir, every=3, name="tb", epochs=2, steps_per_epoch=steps // 2, tensorboard=tensorboard
    ) as logger:
        for epoch in range(2):
            for i in range(steps // 2):
                if fail_at is not None and epoch * steps // 2 + i == fail_at:
                    raise RuntimeError("the loader broke")
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                logger.step(loss=loss, accuracy=0.5, lr=0.1)
            logger.epoch_end(loss=loss.item(), accuracy=0.5, val_loss=1.5, val_accuracy=0.25)
        logger.finish(test_loss=1.0, test_accuracy=0.4)
    return logger


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Format(unittest.TestCase):
    def test_crc32c(self):
        self.assertEqual(crc32c(b"123456789"), 0xE3069283)
        self.assertEqual(crc32c(bytes(32)), 0x8A9136AA)  # RFC 3720

    @unittest.skipIf(NO_TENSORBOARD, NO_TENSORBOARD)
    def test_masked_crc_as_tensorboard(self):
        from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as theirs

        for data in (b"", b"a", bytes(range(256)) * 3):
            self.assertEqual(masked_crc32c(data), theirs(data))

    def test_tags_and_patterns(self):
        tags = layer_tags(["a", "b.c", "a", "", "a"])
        self.assertEqual(
            tags,
            [
                "layer_rotation/a",
                "layer_rotation/b.c",
                "layer_rotation/a (3)",
                "layer_rotation/",
                "layer_rotation/a (5)",
            ],
        )
        pattern = re.compile(exact_pattern("layer_rotation/b.c (2) [x]*"))
        self.assertTrue(pattern.search("layer_rotation/b.c (2) [x]*"))
        self.assertFalse(pattern.search("layer_rotation/bxc (2) [x]*"))
        self.assertFalse(pattern.search("layer_rotation/b.c (2) [x]*tail"))

    def test_where(self):
        self.assertEqual(tensorboard_dir(True, "/r/run-1"), "/r/run-1")
        self.assertEqual(tensorboard_dir("tb", "/r/run-1/"), os.path.join("tb", "run-1"))
        with self.assertRaisesRegex(TypeError, "tensorboard must be a folder"):
            tensorboard_dir(5, "/r/run-1")


class Logger(unittest.TestCase):
    def test_scalars_match_the_run_log(self):
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run-1")
            train(run, os.path.join(d, "tb"))
            log = read_run_log(os.path.join(run, "events.jsonl"))
            self.assertEqual(log.skipped, [])
            self.assertEqual(log.finished["status"], "completed")
            file = event_file(os.path.join(d, "tb", "run-1"))
            self.assertGreater(len(records(file)), len(log.rotations))
            # Replaying the run log writes the same bytes as the logger did live.
            again = export_run_log(os.path.join(run, "events.jsonl"), os.path.join(d, "again"))
            with open(file, "rb") as a, open(again, "rb") as b:
                self.assertEqual(a.read(), b.read())
            if NO_TENSORBOARD:
                self.skipTest(NO_TENSORBOARD)
            ea = EventAccumulator(file, size_guidance={"scalars": 0, "tensors": 0})
            ea.Reload()
            names = [layer["name"] for layer in log.started["layers"]]
            self.assertEqual(names, ["0", "3"])
            for i, name in enumerate(names):
                got = [(s.step, s.value, s.wall_time) for s in ea.Scalars("layer_rotation/" + name)]
                want = [(r["step"], f32(r["distances"][i]), r["time"] / 1000) for r in log.rotations]
                self.assertEqual(got, want)
            self.assertEqual(
                [(s.step, s.value) for s in ea.Scalars("loss/batch")],
                [(b["step"], f32(b["loss"])) for b in log.batches],
            )
            self.assertEqual([s.value for s in ea.Scalars("accuracy/validation")], [0.25, 0.25])
            self.assertEqual([s.step for s in ea.Scalars("loss/train")], [6, 12])
            self.assertEqual([s.value for s in ea.Scalars("accuracy/test")], [f32(0.4)])
            layout = layout_pb2.Layout()
            layout.ParseFromString(ea.Tensors("custom_scalars__config__")[0].tensor_proto.string_val[0])
            (category,) = layout.category
            self.assertEqual(category.title, "Layer rotation")
            self.assertEqual(list(category.chart[0].multiline.tag), ["^layer_rotation/0$", "^layer_rotation/3$"])
            self.assertEqual([c.title for c in category.chart[1:]], ["loss", "accuracy"])

    def test_failure_inside_training(self):
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "run-1")
            with self.assertRaises(RuntimeError):
                train(run, True, fail_at=4)
            events = read_events(run)
            self.assertEqual(events[-1]["status"], "failed")
            self.assertIn("RuntimeError: the loader broke", events[-1]["reason"])
            file = event_file(run)  # True: in the run folder itself
            records(file)  # whole records, CRCs right
            if NO_TENSORBOARD:
                self.skipTest(NO_TENSORBOARD)
            ea = EventAccumulator(file)
            ea.Reload()
            self.assertEqual([s.step for s in ea.Scalars("layer_rotation/0")], [0, 3, 4])

    def test_unwritable_tensorboard_folder_keeps_the_run_log(self):
        with tempfile.TemporaryDirectory() as d:
            blocker = os.path.join(d, "afile")
            with open(blocker, "w") as f:
                f.write("x")
            run = os.path.join(d, "run-1")
            train(run, blocker)
            log = read_run_log(os.path.join(run, "events.jsonl"))
            self.assertEqual(log.skipped, [])
            self.assertEqual(log.finished["status"], "completed")
            self.assertEqual(len(log.rotations), 5)  # steps 0, 3, 6, 9, 12
            warnings = [e["message"] for e in log.logs if e["level"] == "warning"]
            self.assertEqual(len(warnings), 1, warnings)
            self.assertRegex(
                warnings[0],
                r"TensorBoard scalars stopped: cannot write the TensorBoard event file "
                r".*afile/run-1/events\.out\.tfevents\.\d+\.layer-rotation: "
                r"a part of the path is not a folder \(ENOTDIR\)",
            )
            self.assertEqual(sorted(os.listdir(d)), ["afile", "run-1"])

    def test_bad_argument_says_what(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(TypeError, r"tensorboard must be a folder \(a str or path\) or True, not 5"):
                train(os.path.join(d, "run-1"), 5)


class Example(unittest.TestCase):
    def test_worked_example_runs_as_it_is(self):
        import subprocess

        script = os.path.join(HERE, "..", "..", "examples", "tensorboard", "train_mlp.py")
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ, PYTHONPATH="")
            r = subprocess.run(
                [sys.executable, script, "--runs-dir", d, "--epochs", "2"],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
            )
            self.assertEqual(r.returncode, 0, r.stderr)
            (run,) = [f for f in os.listdir(d) if f.startswith("tensorboard-mlp-")]
            log = read_run_log(os.path.join(d, run, "events.jsonl"))
            self.assertEqual((log.skipped, log.finished["status"]), ([], "completed"))
            self.assertIn("see them: tensorboard --logdir %s" % os.path.join(d, "tensorboard"), r.stdout)
            file = event_file(os.path.join(d, "tensorboard", run))
            self.assertEqual(len(records(file)), 2 + len(log.rotations) + len(log.batches) + len(log.epochs))


class Writer(unittest.TestCase):
    def test_events_before_run_started_are_left_out(self):
        with tempfile.TemporaryDirectory() as d:
            w = TensorBoardWriter(os.path.join(d, "tb"))
            w.write({"v": 1, "type": "rotation", "step": 1, "epoch": 0, "distances": [0.5]})
            self.assertFalse(os.path.exists(os.path.join(d, "tb")))  # nothing before run_started
            w.write({"v": 1, "time": 1000, "type": "run_started", "layers": [{"name": "a"}]})
            w.write({"v": 1, "time": 2000, "type": "rotation", "step": 1, "epoch": 0, "distances": [0.5]})
            w.close()
            self.assertEqual(len(records(w.file)), 3)  # file version, layout, one record
            self.assertTrue(w.file.endswith("events.out.tfevents.0000000001.layer-rotation"))


if __name__ == "__main__":
    unittest.main()


class Callbacks(unittest.TestCase):
    """Each framework's RotationCallback passes tensorboard= to its RotationLogger: the TensorBoard
    folder gets, live, the bytes an export of the run's log writes (a tag per watched layer)."""

    def check(self, run_dir, tb, layers):
        file = event_file(os.path.join(tb, os.path.basename(os.path.normpath(run_dir))))
        log = read_run_log(os.path.join(run_dir, "events.jsonl"))
        self.assertEqual(log.skipped, [])
        self.assertEqual(log.finished["status"], "completed")
        self.assertEqual([layer["name"] for layer in log.started["layers"]], layers)
        self.assertGreaterEqual(len(log.rotations), 2)
        with tempfile.TemporaryDirectory() as again:
            with open(file, "rb") as a, open(export_run_log(os.path.join(run_dir, "events.jsonl"), again), "rb") as b:
                self.assertEqual(a.read(), b.read())
        text = b"".join(records(file))
        for tag in layer_tags(layers):
            self.assertIn(tag.encode(), text)

    def test_keras(self):
        import test_keras

        if test_keras.SKIP:
            self.skipTest(test_keras.SKIP)
        model = test_keras.tiny_model()
        test_keras.compile_model(model, test_keras.LaycaSGD(0.1, model=model))
        x, y = test_keras.tiny_data()
        with tempfile.TemporaryDirectory() as d:
            run, tb = os.path.join(d, "keras-run"), os.path.join(d, "tb")
            callback = test_keras.RotationCallback(run, every=2, tensorboard=tb)
            model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[callback])
            self.check(run, tb, ["conv", "block/hidden", "out"])

    def test_lightning(self):
        import test_lightning

        if not test_lightning.HAVE_LIGHTNING:
            self.skipTest(test_lightning.NO_LIGHTNING)
        import lightning_script

        with tempfile.TemporaryDirectory() as d:
            tb = os.path.join(d, "tb")
            lightning_script.fit(runs_dir=os.path.join(d, "runs"), test=False, run_test=False, tensorboard=tb)
            run, _ = test_lightning.one_run(os.path.join(d, "runs"))
            self.check(run, tb, lightning_script.LAYERS)

    def test_transformers(self):
        import test_hf

        if not test_hf.HAVE_HF:
            self.skipTest(test_hf.NO_HF)
        import hf_script

        with tempfile.TemporaryDirectory() as d:
            tb = os.path.join(d, "tb")
            hf_script.train(os.path.join(d, "runs"), model="gpt2", max_steps=3, every=2, tensorboard=tb)
            run, _ = test_hf.one_run(os.path.join(d, "runs"))
            self.check(run, tb, hf_script.GPT2_LAYERS)

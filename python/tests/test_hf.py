"""layer_rotation.hf.RotationCallback under a real Hugging Face Trainer (tests/hf_script.py: a
2-layer BERT and a 2-layer GPT-2 built from configs, no download, on synthetic tokens): a log the
readers take whole (Python's and the extension's parser), its layers (module paths in forward
order, GPT-2's Conv1D, embeddings only when selected, a tied LM head once), plan, losses and
evaluation metrics as Trainer logged them, distances of the final weights, a failure or Ctrl+C
inside train(), a test after train(), distributed training (torchrun, 2 CPU processes) writing
one log, and the worked example."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from test_keras import READ_JS, extension_read  # noqa: E402
from test_lightning import distance, of_type, one_run  # noqa: E402

HAVE_HF = all(importlib.util.find_spec(m) is not None for m in ("transformers", "accelerate"))
NO_HF = "Hugging Face Transformers is not installed (pip install transformers accelerate)"
SCRIPT = os.path.join(HERE, "hf_script.py")


def runs_dir():
    return tempfile.mkdtemp(prefix="lr-hf-")


@unittest.skipUnless(HAVE_HF, NO_HF)
class Callback(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import hf_script

        cls.S = hf_script

    def test_bert_writes_one_valid_log_then_the_test_ends_it(self):
        d = runs_dir()
        trainer, model, _, initial = self.S.train(d, every=3, test=True)
        run_dir, events = one_run(d)
        # train() has ended, the test is still to come: the run is not finished yet.
        self.assertNotIn("run_finished", [e["type"] for e in events])
        metrics = trainer.evaluate(self.S.Tokens(16, 3), metric_key_prefix="test")
        run_dir, events = one_run(d)

        started = events[0]
        self.assertEqual([l["name"] for l in started["layers"]], self.S.BERT_LAYERS)
        self.assertEqual({l["kind"] for l in started["layers"]}, {"dense"})
        shapes = {l["name"].replace("bert.encoder.layer.1.", ""): l["shape"] for l in started["layers"]}
        self.assertEqual(shapes["attention.self.query"], [32, 32])  # nn.Linear's [out, in] weight: [in, out]
        self.assertEqual(shapes["intermediate.dense"], [32, 64])
        self.assertEqual(shapes["output.dense"], [64, 32])
        self.assertEqual(shapes["classifier"], [32, 2])
        self.assertEqual(started["layers"][-1]["params"], 32 * 2 + 2)
        self.assertEqual(
            (started["epochs"], started["stepsPerEpoch"], started["totalSteps"], started["batchSize"]), (2, 4, 8, 8)
        )
        self.assertEqual(started["optimizer"], "adamw")  # Trainer's default
        self.assertAlmostEqual(started["schedule"]["learningRate"], 3e-3)
        self.assertFalse(started["schedule"]["layca"])
        self.assertIsNone(started["configFile"])  # an outside run

        rotations = of_type(events, "rotation")
        self.assertEqual([r["step"] for r in rotations], [0, 3, 6, 8])
        self.assertEqual([r["epoch"] for r in rotations], [0, 0.75, 1.5, 2])
        final = [distance(w0, w) for w0, w in zip(initial, self.S.kernels(model, self.S.BERT_LAYERS))]
        for got, expected in zip(rotations[-1]["distances"], final):
            self.assertAlmostEqual(got, expected, places=6)
        self.assertTrue(all(x > 1e-4 for x in final))

        # Batch events: the losses Trainer logged (every logging_steps = 2), at their steps.
        history = trainer.state.log_history
        logged = [(h["step"], h["loss"]) for h in history if "loss" in h]
        batches = of_type(events, "batch")
        self.assertEqual([(b["step"], b["loss"]) for b in batches], logged)
        self.assertEqual([b["step"] for b in batches], [2, 4, 6, 8])
        self.assertTrue(all(b["learningRate"] > 0 and b["accuracy"] is None for b in batches))
        # The rate each logged step was taken with: Trainer's linear decay from 3e-3 over 8 steps
        # (step k at 3e-3 x (9 - k) / 8), read before the step (on_pre_optimizer_step).
        self.assertEqual([round(b["learningRate"] / 3e-3 * 8, 6) for b in batches], [7, 5, 3, 1])
        # Epoch ends: the mean logged loss of the epoch, and the evaluation Trainer ran after it.
        evals = [h for h in history if "eval_loss" in h]
        epochs = of_type(events, "epoch_end")
        self.assertEqual([(e["epoch"], e["step"]) for e in epochs], [(1, 4), (2, 8)])
        for e, ev, (l1, l2) in zip(epochs, evals, [logged[0:2], logged[2:4]]):
            self.assertAlmostEqual(e["loss"], (l1[1] + l2[1]) / 2)
            self.assertEqual((e["valLoss"], e["valAccuracy"]), (ev["eval_loss"], ev["eval_accuracy"]))

        fin = events[-1]
        self.assertEqual(
            (fin["type"], fin["status"], fin["reason"], fin["step"]),
            ("run_finished", "completed", "trained 2 epochs", 8),
        )
        self.assertEqual((fin["testLoss"], fin["testAccuracy"]), (metrics["test_loss"], metrics["test_accuracy"]))
        self.assertEqual(fin["finalDistances"], rotations[-1]["distances"])
        with open(os.path.join(run_dir, "summary.json")) as f:
            self.assertEqual(json.load(f)["status"], "completed")
        if not (os.path.exists(READ_JS) and shutil.which("node")):
            self.skipTest("the extension's parser is not compiled (npm run compile) or node is missing")
        log = extension_read(os.path.join(run_dir, "events.jsonl"))
        self.assertEqual(log["skipped"], [])
        self.assertFalse(log["partial"])
        self.assertEqual([l["name"] for l in log["started"]["layers"]], self.S.BERT_LAYERS)
        self.assertEqual((len(log["rotations"]), log["epochs"], log["batches"]), (4, 2, 4))
        self.assertEqual(log["finished"]["status"], "completed")

    def test_gpt2_conv1d_kernels_and_selected_embeddings(self):
        from layer_rotation.hf import kernel_layers

        # Embeddings are off by default; the LM head, tied to the token embedding, is never a layer of its own.
        gpt2 = self.S.build("gpt2")
        self.assertIs(gpt2.lm_head.weight, gpt2.transformer.wte.weight)
        self.assertEqual([n for n, _ in kernel_layers(gpt2)], self.S.GPT2_LAYERS)
        bert = self.S.build("bert")
        self.assertEqual([n for n, _ in kernel_layers(bert)], self.S.BERT_LAYERS)
        self.assertEqual(
            [n for n, _ in kernel_layers(bert, embeddings=True)], self.S.BERT_EMBEDDINGS + self.S.BERT_LAYERS
        )

        d = runs_dir()
        _, model, _, initial = self.S.train(d, model="gpt2", max_steps=3, every=2, accumulate=2, embeddings=True)
        run_dir, events = one_run(d)
        started = events[0]
        # 4 batches of 8 an epoch, 2 a step: 2 optimizer steps an epoch, 16 samples a step, 3 in all.
        self.assertEqual((started["stepsPerEpoch"], started["totalSteps"], started["batchSize"]), (2, 3, 16))
        names = self.S.GPT2_EMBEDDINGS + self.S.GPT2_LAYERS
        self.assertEqual([l["name"] for l in started["layers"]], names)
        self.assertEqual([l["kind"] for l in started["layers"]], ["embedding"] * 2 + ["dense"] * 8)
        # Conv1D's weight is already [in, out]; an embedding is [vocabulary, dim].
        self.assertEqual(
            [l["shape"] for l in started["layers"][:6]], [[100, 32], [12, 32], [32, 96], [32, 32], [32, 128], [128, 32]]
        )
        self.assertEqual([l["params"] for l in started["layers"][:3]], [3200, 384, 32 * 96 + 96])
        rotations = of_type(events, "rotation")
        self.assertEqual([r["step"] for r in rotations], [0, 2, 3])
        final = [distance(w0, w) for w0, w in zip(initial, self.S.kernels(model, names))]
        for got, expected in zip(rotations[-1]["distances"], final):
            self.assertAlmostEqual(got, expected, places=6)
        self.assertTrue(all(x > 1e-5 for x in final))
        fin = events[-1]
        self.assertEqual(
            (fin["status"], fin["reason"], fin["step"]), ("completed", "reached the step limit (3 steps)", 3)
        )
        if os.path.exists(READ_JS) and shutil.which("node"):
            log = extension_read(os.path.join(run_dir, "events.jsonl"))
            self.assertEqual(log["skipped"], [])
            self.assertEqual([l["kind"] for l in log["started"]["layers"]][:3], ["embedding", "embedding", "dense"])

    def test_gpt2_conv1d_kernels_turn_by_layca(self):
        import math

        import torch

        from layer_rotation import LaycaAdam, RotationLogger, layca_param_groups
        from test_optim import angle

        # The Conv1D kernels are Layca groups of their own (their biases and the embeddings are not);
        # one Adam step turns each by atan(lr x multiplier) and keeps its norm.
        gpt2 = self.S.build("gpt2")
        groups = layca_param_groups(gpt2, lr=0.05, alpha=0.5)
        layca = [g for g in groups if g["layca"]]
        self.assertEqual([g["name"] for g in layca], self.S.GPT2_LAYERS)
        modules = dict(gpt2.named_modules())
        for g in layca:
            self.assertEqual(type(modules[g["name"]]).__name__, "Conv1D")
            self.assertIs(g["params"][0], modules[g["name"]].weight)
        other = next(g for g in groups if g["name"] == "other")
        self.assertTrue(any(p is gpt2.transformer.wte.weight for p in other["params"]))
        self.assertFalse(other["layca"])
        optimizer = LaycaAdam(groups, lr=0.05)
        before = self.S.kernels(gpt2, self.S.GPT2_LAYERS)
        ids = self.S.Tokens(4, 1, lm=True).ids
        gpt2(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        after = self.S.kernels(gpt2, self.S.GPT2_LAYERS)
        self.assertEqual(layca[-1]["lr_multiplier"], 1.0)
        self.assertLess(layca[0]["lr_multiplier"], 0.1)  # alpha 0.5: the first layer turns slower
        for g, w0, w in zip(layca, before, after):
            self.assertAlmostEqual(angle(w, w0), math.atan(0.05 * g["lr_multiplier"]), delta=2e-5)
            self.assertAlmostEqual(float(w.norm()), float(w0.norm()), delta=1e-4 * float(w0.norm()))
        # RotationLogger on the same model watches the same kernels: dense, [in, out] as Conv1D keeps them.
        logger = RotationLogger(gpt2, os.path.join(runs_dir(), "run"), every=1, features=False)
        try:
            self.assertEqual(logger.layer_names, self.S.GPT2_LAYERS)
            with open(os.path.join(logger.run_dir, "events.jsonl")) as f:
                started = json.loads(f.readline())
            self.assertEqual([l["kind"] for l in started["layers"]], ["dense"] * 8)
            self.assertEqual([l["shape"] for l in started["layers"][:4]], [[32, 96], [32, 32], [32, 128], [128, 32]])
            with torch.no_grad():
                gpt2.transformer.h[0].attn.c_attn.weight.mul_(-1)  # turned half a circle: distance 2
            logger.step()
            self.assertAlmostEqual(logger.distances()[0], 2.0, places=5)
            self.assertEqual(logger.distances()[1:], [0.0] * 7)
        finally:
            logger.finish()

    def test_a_failure_inside_training_ends_the_run_failed(self):
        d = runs_dir()
        with self.assertRaises(self.S.Broken):
            self.S.train(d, fail_at_step=3, layers=["classifier", "bert.pooler.dense"])
        run_dir, events = one_run(d)
        self.assertEqual([l["name"] for l in events[0]["layers"]], ["classifier", "bert.pooler.dense"])
        fin = events[-1]
        self.assertEqual((fin["type"], fin["status"], fin["step"]), ("run_finished", "failed", 3))
        self.assertEqual(fin["reason"], "Broken: the batch at step 4 is broken")
        self.assertEqual([r["step"] for r in of_type(events, "rotation")], [0, 2, 3])
        with open(os.path.join(run_dir, "summary.json")) as f:
            self.assertEqual(json.load(f)["status"], "failed")

    def test_ctrl_c_ends_the_run_stopped(self):
        d = runs_dir()
        with self.assertRaises(KeyboardInterrupt):
            self.S.train(d, interrupt_at_step=5)
        _, events = one_run(d)
        fin = events[-1]
        self.assertEqual((fin["status"], fin["step"]), ("stopped", 5))
        self.assertIn("KeyboardInterrupt", fin["reason"])
        # The first epoch ended (4 steps) before Ctrl+C: its epoch_end, with its evaluation, is there.
        (epoch,) = of_type(events, "epoch_end")
        self.assertEqual(epoch["step"], 4)
        self.assertIsNotNone(epoch["valLoss"])

    def test_a_callback_added_later_ends_a_crashed_run_failed_at_exit(self):
        d = runs_dir()
        r = subprocess.run(
            [sys.executable, SCRIPT, "--runs-dir", d, "--add-callback", "--fail-at-step", "3"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Broken: the batch at step 4 is broken", r.stderr)
        _, events = one_run(d)
        fin = events[-1]
        self.assertEqual((fin["status"], fin["step"]), ("failed", 3))
        self.assertTrue(fin["reason"].startswith("the process exited before train() ended, at step 3"), fin["reason"])

    def test_bad_options_say_what_is_wrong(self):
        from layer_rotation.hf import RotationCallback

        with self.assertRaisesRegex(TypeError, "RotationCallback: epochs comes from the trainer"):
            RotationCallback(epochs=3)
        d = runs_dir()
        with self.assertRaisesRegex(
            ValueError,
            r"no kernel layer named bert\.embeddings\.word_embeddings \(embeddings are watched with "
            r"embeddings=True\); the model's are bert\.encoder\.layer\.0\.attention\.self\.query, ",
        ):
            self.S.train(d, layers=["bert.embeddings.word_embeddings"])
        self.assertEqual(os.listdir(d), [])


@unittest.skipUnless(HAVE_HF, NO_HF)
class Distributed(unittest.TestCase):
    def test_two_processes_write_one_log(self):
        d = runs_dir()
        r = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", SCRIPT, "--runs-dir", d],
            capture_output=True,
            text=True,
            timeout=600,
            env=dict(os.environ, OMP_NUM_THREADS="1"),
        )
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        _, events = one_run(d)  # one folder: rank 1 wrote nothing
        started, fin = events[0], events[-1]
        # 32 samples, 8 per process a step, 2 processes: 2 steps an epoch, 16 samples a step.
        self.assertEqual((started["stepsPerEpoch"], started["totalSteps"], started["batchSize"]), (2, 4, 16))
        self.assertEqual((fin["status"], fin["reason"], fin["step"]), ("completed", "trained 2 epochs", 4))
        self.assertEqual([r["step"] for r in of_type(events, "rotation")], [0, 2, 4])
        self.assertGreater(min(fin["finalDistances"]), 1e-5)


@unittest.skipUnless(HAVE_HF, NO_HF)
class Example(unittest.TestCase):
    def test_the_worked_example_runs(self):
        example = os.path.join(HERE, "..", "..", "examples", "transformers", "train_tiny_bert.py")
        d = runs_dir()
        r = subprocess.run(
            [sys.executable, example, "--epochs", "1", "--runs-dir", d],
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        run_dir, events = one_run(d)
        self.assertIn("run folder: %s" % run_dir, r.stdout)
        started = events[0]
        self.assertEqual(started["optimizer"], "adam-layca")
        self.assertEqual(started["layers"][0]["name"], "bert.encoder.layer.0.attention.self.query")
        fin = events[-1]
        self.assertEqual(fin["status"], "completed")
        self.assertIsNotNone(fin["testAccuracy"])
        self.assertIsNotNone(of_type(events, "epoch_end")[0]["valAccuracy"])


if __name__ == "__main__":
    unittest.main()

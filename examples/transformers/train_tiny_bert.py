#!/usr/bin/env python3
"""A tiny BERT trained by Hugging Face's Trainer with Layca (LaycaAdam given through
Trainer(optimizers=...)) and a RotationCallback: a worked example of layer_rotation.hf (python/ in
this repository).

    python examples/transformers/train_tiny_bert.py [--epochs 3] [--embeddings] [--runs-dir runs] ...

The model is built from a BertConfig (2 blocks, hidden size 64: nothing is downloaded) and learns
a synthetic task on random token sequences: is the first half of the vocabulary the majority? It
writes a run folder runs/tiny-bert-YYYYMMDD-HHMMSS/ (events.jsonl, summary.json) that the Layer
Rotation Monitor shows live: its layers are named by module path
(bert.encoder.layer.0.attention.self.query, ...), with the evaluation metrics at each epoch's end
and the test metrics at the end.
"""
import argparse
import os
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model comes from a config: nothing to download
HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import layer_rotation  # noqa: F401
except ImportError:  # not installed: use the repository's python/ folder
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import torch  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments  # noqa: E402

from layer_rotation import LaycaAdam, layca_param_groups  # noqa: E402
from layer_rotation.hf import RotationCallback  # noqa: E402

VOCAB, SEQ = 200, 16


class Majority(torch.utils.data.Dataset):
    """Random sequences of SEQ tokens; label 1 when most tokens are in the vocabulary's first half."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, VOCAB, (n, SEQ), generator=g)
        self.labels = ((self.ids < VOCAB // 2).sum(1) > SEQ // 2).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(SEQ, dtype=torch.long), "labels": self.labels[i]}


def accuracy(prediction):
    return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--train-samples", type=int, default=2000)
    p.add_argument("--lr", type=float, default=0.015, help="Layca rate: each step turns a kernel by atan(lr)")
    p.add_argument("--every", type=int, default=5, help="a rotation record every N optimizer steps")
    p.add_argument("--embeddings", action="store_true", help="also watch the embedding tables")
    p.add_argument("--no-layca", action="store_true", help="Trainer's own AdamW instead")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=SEQ,
    )
    model = BertForSequenceClassification(config)
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="hf-trainer-"),  # Trainer's own folder (nothing is saved there)
        per_device_train_batch_size=a.batch_size,
        per_device_eval_batch_size=500,
        num_train_epochs=a.epochs,
        learning_rate=a.lr,
        lr_scheduler_type="constant",
        eval_strategy="epoch",
        logging_steps=10,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=a.seed,
    )
    # Layca: one param group per kernel layer; each step turns every kernel by about atan(lr).
    # (Norm layers, embeddings and biases take Adam's plain step.)
    optimizers = (None, None) if a.no_layca else (LaycaAdam(layca_param_groups(model, a.lr), lr=a.lr), None)
    callback = RotationCallback(
        every=a.every,
        name="tiny-bert",
        runs_dir=a.runs_dir,
        embeddings=a.embeddings,
        test=True,  # the run ends with the trainer.evaluate(..., metric_key_prefix="test") below
        dataset={"name": "majority-tokens", "train": a.train_samples, "validation": 500, "test": 500, "classes": 2},
        seed=a.seed,
    )
    trainer = Trainer(
        model,
        args,
        train_dataset=Majority(a.train_samples, a.seed + 1),
        eval_dataset=Majority(500, a.seed + 2),
        compute_metrics=accuracy,
        optimizers=optimizers,
        callbacks=[callback],
    )
    trainer.train()
    metrics = trainer.evaluate(Majority(500, a.seed + 3), metric_key_prefix="test")
    print("test accuracy %.3f" % metrics["test_accuracy"])
    print("run folder: %s" % callback.logger.run_dir)


if __name__ == "__main__":
    main()

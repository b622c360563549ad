"""Tiny Hugging Face models built from configs (no download: a 2-layer BERT for sequence
classification and a 2-layer GPT-2 LM) trained by Trainer on synthetic tokens with a
RotationCallback, for test_hf.py. import it to call train() in the test's own process, or:

    python tests/hf_script.py --runs-dir DIR [--model gpt2] [--fail-at-step N] [--add-callback]
    torchrun --nproc-per-node 2 tests/hf_script.py --runs-dir DIR    # distributed (gloo, CPU)
"""
import argparse
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import torch  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    GPT2Config,
    GPT2LMHeadModel,
    Trainer,
    TrainingArguments,
)

from layer_rotation.hf import RotationCallback  # noqa: E402

VOCAB, SEQ = 100, 12

BERT_EMBEDDINGS = ["bert.embeddings.word_embeddings", "bert.embeddings.position_embeddings"]
BERT_EMBEDDINGS += ["bert.embeddings.token_type_embeddings"]
BERT_BLOCK = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]
BERT_BLOCK += ["intermediate.dense", "output.dense"]
BERT_LAYERS = ["bert.encoder.layer.%d.%s" % (i, n) for i in range(2) for n in BERT_BLOCK]
BERT_LAYERS += ["bert.pooler.dense", "classifier"]
GPT2_EMBEDDINGS = ["transformer.wte", "transformer.wpe"]  # lm_head is tied to wte: wte's
GPT2_LAYERS = [
    "transformer.h.%d.%s" % (i, n) for i in range(2) for n in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
]


class Broken(RuntimeError):
    pass


class Tokens(torch.utils.data.Dataset):
    """n fixed random sequences; label 1 when the first token is in the vocabulary's upper half."""

    def __init__(self, n, seed, lm=False):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, VOCAB, (n, SEQ), generator=g)
        self.labels = self.ids if lm else (self.ids[:, 0] >= VOCAB // 2).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(SEQ, dtype=torch.long), "labels": self.labels[i]}


def build(model):
    torch.manual_seed(0)
    if model == "bert":
        config = BertConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            vocab_size=VOCAB,
            max_position_embeddings=SEQ,
        )
        return BertForSequenceClassification(config)
    config = GPT2Config(
        n_embd=32, n_layer=2, n_head=2, vocab_size=VOCAB, n_positions=SEQ, bos_token_id=0, eos_token_id=0
    )
    return GPT2LMHeadModel(config)


def kernels(model, names):
    """The named modules' weights, cloned."""
    modules = dict(model.named_modules())
    return [modules[n].weight.detach().clone() for n in names]


def break_at(model, step, error):
    """The model's training forward raises `error` at optimizer step `step` + 1 (after `step` steps)."""
    calls = [0]
    last = list(model.modules())[-1]

    def hook(module, inputs):
        if module.training:
            calls[0] += 1
            if calls[0] == step + 1:
                raise error("the batch at step %d is broken" % (step + 1))

    last.register_forward_pre_hook(hook)


def accuracy(prediction):
    return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}


def train(
    runs_dir,
    model="bert",
    epochs=2,
    samples=32,
    batch=8,
    every=2,
    logging_steps=2,
    accumulate=1,
    max_steps=-1,
    fail_at_step=None,
    interrupt_at_step=None,
    add_callback=False,
    run=True,
    **options,
):
    """Trains `model` ("bert" or "gpt2") for `epochs` on `samples` synthetic sequences (eval after
    each epoch); returns (trainer, model, callback, initial kernels of the watched layers)."""
    net = build(model)
    lm = model != "bert"
    args = TrainingArguments(
        output_dir=os.path.join(runs_dir, "..", os.path.basename(runs_dir) + "-trainer"),
        per_device_train_batch_size=batch,
        per_device_eval_batch_size=batch,
        num_train_epochs=epochs,
        max_steps=max_steps,
        gradient_accumulation_steps=accumulate,
        learning_rate=3e-3,
        logging_steps=logging_steps,
        eval_strategy="epoch",
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    callback = RotationCallback(runs_dir=runs_dir, every=every, **options)
    trainer = Trainer(
        net,
        args,
        train_dataset=Tokens(samples, 1, lm),
        eval_dataset=Tokens(16, 2, lm),
        compute_metrics=None if lm else accuracy,
        callbacks=None if add_callback else [callback],
    )
    if add_callback:
        trainer.add_callback(callback)
    from layer_rotation.hf import kernel_layers

    names = options.get("layers") or [n for n, _ in kernel_layers(net, options.get("embeddings", False))]
    initial = kernels(net, names)
    if fail_at_step is not None:
        break_at(net, fail_at_step, Broken)
    if interrupt_at_step is not None:
        break_at(net, interrupt_at_step, KeyboardInterrupt)
    if run:
        trainer.train()
    return trainer, net, callback, initial


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--runs-dir", required=True)
    p.add_argument("--model", default="bert")
    p.add_argument("--fail-at-step", type=int)
    p.add_argument("--add-callback", action="store_true")
    a = p.parse_args()
    train(a.runs_dir, model=a.model, fail_at_step=a.fail_at_step, add_callback=a.add_callback)
    if "RANK" in os.environ:
        # Under torchrun, once train() has returned (the run's log finished and closed): out at once.
        # Left to the interpreter's teardown, torch aborted one process in four to one in two here
        # ("terminate called without an active exception", exit -6), with or without a callback,
        # and with the process group destroyed first too.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

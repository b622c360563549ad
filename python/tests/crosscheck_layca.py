"""Cross-engine check (used by test/pytorch-engine.test.ts): reads a JSON file with an initial
kernel and bias, a sequence of gradients and optimizer specs (the TS engine's OptimizerSpec
fields), applies the steps with the Python engine's optimizers (param groups as the engine
makes them: kernel with Layca and weight decay, bias plain) and prints, per optimizer, the final
weights and the rotation records after each step, as JSON on stdout.

    python crosscheck_layca.py INPUT.json
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from layer_rotation.config import section_defaults  # noqa: E402
from layer_rotation.models import make_optimizer  # noqa: E402
from layer_rotation.rotation import RotationTracker  # noqa: E402

# The optimizer's defaults (the schema's), with Layca on unless a spec says otherwise.
DEFAULTS = dict(section_defaults("optimizer"), layca=True)


def run(inp, spec):
    spec = dict(DEFAULTS, learningRate=inp["lr"], **spec)
    kernel = torch.nn.Parameter(torch.tensor(inp["kernel"], dtype=torch.float32).reshape(inp["kernelShape"]))
    bias = torch.nn.Parameter(torch.tensor(inp["bias"], dtype=torch.float32))
    m = inp["multiplier"]
    groups = [
        {"params": [kernel], "lr_multiplier": m, "weight_decay": inp["weightDecay"], "layca": spec["layca"]},
        {"params": [bias], "lr_multiplier": m, "weight_decay": 0.0, "layca": False},
    ]
    for g in groups:
        g["lr"] = inp["lr"] * g["lr_multiplier"]
    opt = make_optimizer(spec, groups)
    tracker = RotationTracker([kernel])
    records = []
    for grads in inp["grads"]:
        kernel.grad = torch.tensor(grads["kernel"], dtype=torch.float32).reshape(inp["kernelShape"])
        bias.grad = torch.tensor(grads["bias"], dtype=torch.float32)
        opt.step()
        d, r = tracker.record()
        records.append({"distances": d, "rotation": r})
    return {"kernel": kernel.detach().flatten().tolist(), "bias": bias.detach().tolist(), "records": records}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        inp = json.load(f)
    out = {spec["name"]: run(inp, {k: v for k, v in spec.items() if k != "name"}) for spec in inp["optimizers"]}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

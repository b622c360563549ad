#!/usr/bin/env bash
# The tested Python (issue 13): a virtual environment, .venv in the repository (or
# $LAYER_ROTATION_VENV), with PyTorch from PyPI's CPU build pinned, torch==2.13.0+cpu (never
# unpinned: an unpinned `pip install torch` pulls a multi-GB CUDA build on Linux), and the
# package itself, editable, with its test extras and Keras's TensorFlow backend (the extras test
# and tensorflow of python/pyproject.toml: tensorflow-cpu, pinned there). Idempotent: each is
# installed once. Activate it with
# `source .venv/bin/activate` (.ci/run does): the tests and the extension find it as they find a
# user's (VIRTUAL_ENV, then PATH), before the system's python3.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${LAYER_ROTATION_VENV:-.venv}"
TORCH="2.13.0+cpu"
# Where torch's CPU wheels are; a machine with the wheel at hand (pip's find-links) uses that.
TORCH_INDEX="https://download.pytorch.org/whl/cpu"
# The system's interpreter (Debian's; python3-venv): not a version manager's python3 first on PATH.
BASE_PYTHON="${LAYER_ROTATION_BASE_PYTHON:-/usr/bin/python3}"
[[ -x "$BASE_PYTHON" ]] || BASE_PYTHON="$(command -v python3)"
t0=$SECONDS
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "install-venv: $BASE_PYTHON -m venv $VENV" >&2
  "$BASE_PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import sys, torch; sys.exit(torch.__version__ != '$TORCH')" 2>/dev/null; then
  echo "install-venv: pip install torch==$TORCH" >&2
  "$VENV/bin/python" -m pip install -q --retries 1 "torch==$TORCH" --extra-index-url "$TORCH_INDEX" 2>&1 |
    grep -v -e '^WARNING: Location ' -e '^WARNING: Retrying ' >&2 || true
fi
# The package from this repository (editable: it is python/ itself), with its test extras and
# TensorFlow, once (TensorFlow is looked up, not imported: its import takes seconds).
if ! "$VENV/bin/python" -c "import os, sys, importlib.metadata as m, numpy, jsonschema, keras, lightning, transformers, accelerate, tensorboard, layer_rotation as p; m.version('tensorflow-cpu'); sys.exit(not os.path.samefile(os.path.dirname(p.__file__), 'python/layer_rotation'))" 2>/dev/null; then
  echo "install-venv: pip install -e ./python[test,tensorflow]" >&2
  "$VENV/bin/python" -m pip install -q -e "./python[test,tensorflow]" 2>&1 | grep -v -e '^WARNING: Location ' >&2 || true
fi
"$VENV/bin/python" -c 'import sys, importlib.metadata as m, torch, jsonschema, numpy, layer_rotation; print("install-venv: torch", torch.__version__, "and tensorflow-cpu", m.version("tensorflow-cpu"), "in", sys.executable)' >&2
echo "install-venv: done in $((SECONDS - t0)) s" >&2

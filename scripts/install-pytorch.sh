#!/usr/bin/env bash
# Installs what the pytorch engine's tests need from Debian/Ubuntu: Python with venv (the tested
# interpreter is a venv with PyPI's torch: scripts/install-venv.sh), black and flake8
# (scripts/lint.sh), and Debian's PyTorch 1.13 (CPU) with jsonschema and pip/setuptools, kept on
# purpose: the system's python3 with torch is what a user without a venv has (tests probe it
# behind a python3 without torch, and train with `--python /usr/bin/python3`), on Debian's
# reference BLAS. Idempotent: only missing packages are installed.
set -euo pipefail
# shellcheck source=apt-missing.sh
source "$(dirname "$0")/apt-missing.sh"
apt_install_missing install-pytorch python3 python3-venv python3-torch python3-numpy python3-jsonschema python3-pip python3-setuptools black flake8
/usr/bin/python3 -c 'import torch; print("install-pytorch: torch", torch.__version__, "in", __import__("sys").executable)' >&2

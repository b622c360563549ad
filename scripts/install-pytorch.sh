#!/usr/bin/env bash
# Installs what the pytorch engine's tests need on Debian/Ubuntu: Debian's PyTorch (CPU) with
# its Python, jsonschema (the engine checks raw configs against the schema with it),
# pip/setuptools (the tests install ./python with pip, offline), and black and flake8
# (scripts/lint.sh). PyPI is not needed. Idempotent: only missing packages are installed.
set -euo pipefail
# shellcheck source=apt-missing.sh
source "$(dirname "$0")/apt-missing.sh"
apt_install_missing install-pytorch python3 python3-torch python3-numpy python3-jsonschema python3-pip python3-setuptools black flake8
/usr/bin/python3 -c 'import torch; print("install-pytorch: torch", torch.__version__, "in", __import__("sys").executable)' >&2

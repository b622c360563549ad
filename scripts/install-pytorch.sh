#!/usr/bin/env bash
# Installs what the pytorch engine's tests need on Debian/Ubuntu: Debian's PyTorch (CPU) with
# its Python, and pip/setuptools (the tests install ./python with pip, offline). PyPI is not
# needed. Idempotent: only missing packages are installed.
set -euo pipefail
need=()
for p in python3 python3-torch python3-numpy python3-pip python3-setuptools; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    need+=("$p")
  fi
done
if ((${#need[@]})); then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "install-pytorch: apt-get install ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
/usr/bin/python3 -c 'import torch; print("install-pytorch: torch", torch.__version__, "in", __import__("sys").executable)' >&2

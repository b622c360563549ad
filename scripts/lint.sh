#!/usr/bin/env bash
# Formatting and lint checks: Biome for TypeScript and JavaScript (biome.json), black and flake8
# for Python (Debian's packages; scripts/install-pytorch.sh installs them). `--fix` rewrites
# instead of checking.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=(python test/vscode/fixtures/scripts examples/pytorch examples/keras examples/lightning examples/tensorboard examples/transformers bench/pytorch_ref.py bench/pytorch_perf.py bench/callbacks_perf.py)
if [[ "${1:-}" == "--fix" ]]; then
  npx biome check --write .
  black -q --line-length 120 "${PY[@]}"
  exit 0
fi
npx biome ci --colors=off .
for tool in black flake8; do
  command -v "$tool" >/dev/null || { echo "lint: $tool is missing: apt-get install black flake8 (or bash scripts/install-pytorch.sh)" >&2; exit 1; }
done
black --check -q --line-length 120 "${PY[@]}"
flake8 --max-line-length 120 --extend-ignore E203,E741 "${PY[@]}"
echo "lint: clean"

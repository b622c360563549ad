#!/usr/bin/env bash
# One command on a fresh clone: install what is missing, build the .vsix, serve VS Code with the
# extension and the examples on http://127.0.0.1:${1:-8321}/ (see scripts/serve.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_yes=true
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/install-test-vscode.sh
npm run package
exec node scripts/serve.mjs "$@"

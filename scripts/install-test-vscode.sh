#!/usr/bin/env bash
# Installs what the real-VS-Code tests (test/vscode) need: Debian's Chromium and ripgrep, the
# build tools code-server's native modules need, and code-server + playwright-core from
# test/vscode/package-lock.json (kept out of the extension's own package.json: ~280 MB).
# Idempotent: a second run only checks (well under a second).
# Why each step is there: docs/testing-in-vscode.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/test/vscode"
stamp="$dir/node_modules/.install-test-vscode.stamp"

# --- 1. Debian packages, only the missing ones ------------------------------------------
# shellcheck source=apt-missing.sh
source "$root/scripts/apt-missing.sh"
apt_install_missing install-test-vscode chromium ripgrep build-essential python3 pkg-config libkrb5-dev

# --- 2. Fast path: node_modules installed from this very lock --------------------------
lock_sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
want_cs="$(node -p 'require(process.argv[1]).packages["node_modules/code-server"].version' "$dir/package-lock.json")"
have_cs="$(node -p 'try { require(process.argv[1]).version } catch { "" }' \
  "$dir/node_modules/code-server/package.json" 2>/dev/null || true)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ] && [ "$have_cs" = "$want_cs" ]; then
  echo "install-test-vscode: code-server $have_cs already installed" >&2
  exit 0
fi

# --- 3. Seed @vscode/ripgrep 1.15.11's download cache with Debian's rg ------------------
# (it otherwise downloads rg from GitHub, unreachable here). Its postinstall looks in
# os.tmpdir(), i.e. $TMPDIR or /tmp.
rg_cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
rg_tar="$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$rg_tar" ]; then
  mkdir -p "$rg_cache"
  rg_bin="$(command -v rg)"
  tar czf "$rg_tar.tmp" -C "$(dirname "$rg_bin")" "$(basename "$rg_bin")"
  mv "$rg_tar.tmp" "$rg_tar"
fi

# --- 4. npm ci in test/vscode -----------------------------------------------------------
# npm_config_yes: node-pty's postinstall runs `npx node-gyp`, which aborts under yes=false.
# --unsafe-perm: as root, code-server's postinstall refuses without it.
# npm_config_nodedir: node-gyp builds argon2 against Node's own headers (Debian's nodejs has them
# in /usr/include/node); left unset, it tries to download them and the install fails offline.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node.h ]]; then export npm_config_nodedir=/usr; fi
echo "install-test-vscode: npm ci in test/vscode (code-server $want_cs; about a minute)" >&2
rm -f "$stamp"
(
  cd "$dir"
  npm_config_yes=true npm ci --unsafe-perm --no-audit --no-fund --loglevel=error
)
# code-server's postinstall builds argon2 from source; without it code-server cannot start.
if ! ls "$dir"/node_modules/argon2/lib/binding/*/argon2.node >/dev/null 2>&1 \
  && ! ls "$dir"/node_modules/argon2/build/Release/argon2.node >/dev/null 2>&1; then
  echo "install-test-vscode: argon2's native binding is missing after npm ci" >&2
  exit 1
fi
echo "$lock_sum" >"$stamp"
echo "install-test-vscode: done" >&2

#!/usr/bin/env bash
# Runs the browser client's tests (clients/browser/test/*.test.mjs) in headless Debian Chromium
# against the real calculator and chat examples. Works on a fresh machine: installs what is
# missing.
#
#   clients/browser/run-tests.sh                         # everything
#   clients/browser/run-tests.sh --test-name-pattern=Id   # extra arguments go to `node --test`
#
# Environment:
#   EXWS_CALCULATOR_BIN  the calculator binary to test against; when set, it is not built.
#                        Default: <cargo target dir>/debug/examples/calculator, built here.
#   EXWS_CHAT_BIN        the chat example binary (it serves the chat page); when set, it is not
#                        built. Default: <cargo target dir>/debug/examples/chat, built here.
#   EXWS_CHROMIUM        the Chromium binary (default /usr/bin/chromium, installed when missing).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "need root for: $* (and sudo is not installed)"
    return 1
  fi
}

# 1. Chromium, from Debian's packages (playwright-core drives it; it downloads no browser).
chromium_bin="${EXWS_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium_bin" ]; then
  if [ "$chromium_bin" != /usr/bin/chromium ]; then
    log "EXWS_CHROMIUM=$chromium_bin does not exist"
    exit 1
  fi
  log "installing Debian's chromium"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi

# 2. Node.js 20 or newer, and the npm dev dependencies (playwright-core, typescript).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "node and npm are needed (Node.js 20 or newer)"
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  log "Node.js 20 or newer is needed, found $(node --version)"
  exit 1
fi
cd "$here"
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] \
  || { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  if [ -f package-lock.json ]; then
    log "npm ci"
    npm ci --no-audit --no-fund
  else
    log "npm install (no package-lock.json)"
    npm install --no-audit --no-fund
  fi
fi

# 3. The calculator and chat examples, built by cargo from the repository root (only those whose
#    binary is not given).
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
examples=()
if [ -z "${EXWS_CALCULATOR_BIN:-}" ]; then
  examples+=(--example calculator)
  export EXWS_CALCULATOR_BIN="$target_dir/debug/examples/calculator"
fi
if [ -z "${EXWS_CHAT_BIN:-}" ]; then
  examples+=(--example chat)
  export EXWS_CHAT_BIN="$target_dir/debug/examples/chat"
fi
if [ "${#examples[@]}" -gt 0 ]; then
  log "cargo build ${examples[*]}"
  (cd "$root" && cargo build "${examples[@]}")
fi
for binary in "$EXWS_CALCULATOR_BIN" "$EXWS_CHAT_BIN"; do
  if [ ! -x "$binary" ]; then
    log "example binary not found at $binary"
    exit 1
  fi
done

# 4. The tests, one file at a time (each starts its own Chromium and servers).
log "node --test (calculator: $EXWS_CALCULATOR_BIN, chat: $EXWS_CHAT_BIN)"
exec node --test --test-concurrency=1 "$@" test/*.test.mjs

#!/usr/bin/env bash
# Runs the browser client's tests (clients/browser/test/*.test.mjs) in headless Debian Chromium
# against the real calculator and chat examples. Works on a fresh machine: installs what is
# missing.
#
#   clients/browser/run-tests.sh                         # everything
#   clients/browser/run-tests.sh --test-name-pattern=Id  # extra arguments go to `node --test`
#   clients/browser/run-tests.sh --setup                 # only install and check the tools
#
# Needs: Node.js 20 or newer with npm; Chromium, which it installs with apt-get (Debian or
# Ubuntu, as root or through sudo) when /usr/bin/chromium is missing and EXWS_CHROMIUM is unset.
#
# Environment:
#   EXWS_CALCULATOR_BIN  the calculator binary to test against; when set, it is not built.
#                        Default: <cargo target dir>/debug/examples/calculator, built here.
#   EXWS_CHAT_BIN        the chat example binary (it serves the chat page); when set, it is not
#                        built. Default: <cargo target dir>/debug/examples/chat, built here.
#   EXWS_STREAMS_BIN     the streams example binary (Countdown, Forever); when set, it is not
#                        built. Default: <cargo target dir>/debug/examples/streams, built here.
#                        The examples are built with the `schema` feature: they serve their
#                        contract (/asyncapi.json), which test/contract.test.mjs checks.
#   EXWS_RECOVERY_BIN    the recovery example binary (connection recovery); when set, it is
#                        not built. Default: <cargo target dir>/debug/examples/recovery.
#   EXWS_CLI_BIN         the exws CLI (`exws codegen typescript`); when set, it is not built.
#                        Default: <cargo target dir>/debug/exws, built here.
#   EXWS_CHROMIUM        the Chromium (or Chrome) binary to drive; when set, nothing is
#                        installed. Default: /usr/bin/chromium, installed when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

log() { printf '==> %s\n' "$*" >&2; }

setup_only=false
if [ "${1:-}" = --setup ]; then
  setup_only=true
  shift
fi

# Runs "$@" as root: directly when root, else through sudo; says what to do by hand if neither.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "installing needs root, and this is not root and has no sudo"
    return 1
  fi
}

# 1. Chromium, from Debian's packages (playwright-core drives it; it downloads no browser).
chromium_bin="${EXWS_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium_bin" ]; then
  if [ -n "${EXWS_CHROMIUM:-}" ]; then
    log "EXWS_CHROMIUM=$chromium_bin is not an executable file"
    exit 1
  fi
  by_hand="install Chromium by hand (Debian/Ubuntu: apt-get install chromium), or set EXWS_CHROMIUM to a Chromium or Chrome binary"
  if ! command -v apt-get >/dev/null 2>&1; then
    log "Chromium is missing at /usr/bin/chromium and there is no apt-get to install it: $by_hand"
    exit 1
  fi
  log "installing Debian's chromium (apt-get)"
  if ! { as_root apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }; then
    log "could not install chromium: $by_hand"
    exit 1
  fi
fi
log "Chromium: $chromium_bin"

# 2. Node.js 20 or newer, and the npm dev dependencies (playwright-core, typescript,
#    @asyncapi/parser).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "node and npm are needed: install Node.js 20 or newer with npm (https://nodejs.org/en/download)"
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  log "Node.js 20 or newer is needed, found $(node --version) (https://nodejs.org/en/download)"
  exit 1
fi
log "Node.js: $(node --version)"
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

if [ "$setup_only" = true ]; then
  exit 0
fi

# 3. The calculator, chat and streams examples, built by cargo from the repository root (only
#    those whose binary is not given).
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
if [ -z "${EXWS_STREAMS_BIN:-}" ]; then
  examples+=(--example streams)
  export EXWS_STREAMS_BIN="$target_dir/debug/examples/streams"
fi
if [ -z "${EXWS_RECOVERY_BIN:-}" ]; then
  examples+=(--example recovery)
  export EXWS_RECOVERY_BIN="$target_dir/debug/examples/recovery"
fi
if [ "${#examples[@]}" -gt 0 ]; then
  log "cargo build --features schema ${examples[*]}"
  (cd "$root" && cargo build --features schema "${examples[@]}")
fi
if [ -z "${EXWS_CLI_BIN:-}" ]; then
  log "cargo build -p exws-cli"
  (cd "$root" && cargo build -p exws-cli)
  export EXWS_CLI_BIN="$target_dir/debug/exws"
fi
for binary in "$EXWS_CALCULATOR_BIN" "$EXWS_CHAT_BIN" "$EXWS_STREAMS_BIN" "$EXWS_RECOVERY_BIN" "$EXWS_CLI_BIN"; do
  if [ ! -x "$binary" ]; then
    log "example binary not found at $binary"
    exit 1
  fi
done

# 4. The tests, one file at a time (each starts its own Chromium and servers).
log "node --test (calculator: $EXWS_CALCULATOR_BIN, chat: $EXWS_CHAT_BIN, streams: $EXWS_STREAMS_BIN, cli: $EXWS_CLI_BIN)"
exec node --test --test-concurrency=1 "$@" test/*.test.mjs

#!/usr/bin/env bash
# Instructions per fan-out message, counted with callgrind (what timing cannot settle on a busy
# machine):
#
#   bench/callgrind_fanout.sh [SERVER...]        (default: exws room)
#
# For each server, two runs under `valgrind --tool=callgrind`, identical but for the number of
# messages: `loadgen fanout --receivers CG_RECEIVERS --rounds R` with R = CG_FEW and CG_MANY.
# Connecting, joining and closing are the same in both, so
#   (instructions of the long run − instructions of the short run) / (CG_MANY − CG_FEW)
# is what one message to the room costs the server, all receivers included.
# Settings: CG_RECEIVERS=2000 CG_FEW=5 CG_MANY=25 CG_PAUSE_MS=300 SERVER_CPU=0 LOADGEN_CPU=1
#           NO_BUILD=1 OUT=... CARGO_TARGET_DIR=...
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
BIN="$CARGO_TARGET_DIR/release"
CG_RECEIVERS="${CG_RECEIVERS:-2000}"
CG_FEW="${CG_FEW:-5}"
CG_MANY="${CG_MANY:-25}"
CG_PAUSE_MS="${CG_PAUSE_MS:-300}"
SERVER_CPU="${SERVER_CPU:-0}"
LOADGEN_CPU="${LOADGEN_CPU:-1}"
OUT="${OUT:-$CARGO_TARGET_DIR/results/callgrind-fanout-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
SERVERS=("$@")
[[ ${#SERVERS[@]} -eq 0 ]] && SERVERS=(exws room)

log() { echo "[callgrind-fanout] $*" >&2; }

if [[ -z "${NO_BUILD:-}" ]]; then
    cargo build --release -p exws-bench >&2
fi

PID=""
cleanup() { [[ -n "$PID" ]] && kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

binary_of() {
    case "$1" in
        exws) echo exws_calculator ;;
        room) echo ref_room ;;
        *) echo "$1" ;;
    esac
}

# run SERVER ROUNDS: prints the server's instructions for a fan-out run of ROUNDS messages.
run() {
    local server="$1" rounds="$2" file="$OUT/$1-$2.out" args=()
    [[ "$server" == exws* ]] && args=(--max-connections 19900)
    taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$file" \
        "$BIN/$(binary_of "$server")" --addr 127.0.0.1:0 "${args[@]}" >"$file.stdout" 2>"$file.stderr" &
    PID=$!
    for _ in $(seq 1 600); do
        grep -q '^listening on ws://' "$file.stdout" 2>/dev/null && break
        sleep 0.1
    done
    local url
    url="$(sed -n 's/^listening on \(ws:\/\/[^ ]*\).*/\1/p' "$file.stdout" | head -1)/"
    timeout 900 taskset -c "$LOADGEN_CPU" "$BIN/loadgen" fanout --url "$url" \
        --receivers "$CG_RECEIVERS" --rounds "$rounds" --pause-ms "$CG_PAUSE_MS" --size 100 \
        >"$file.loadgen"
    # The receivers are closed: let the server finish their closes before counting (until its
    # CPU time stops moving for 3 s, at most 120 s).
    local last="" still=0
    for _ in $(seq 1 120); do
        local now
        now="$(sed 's/.*) //' "/proc/$PID/stat" | awk '{print $12 + $13}')"
        if [[ "$now" == "$last" ]]; then still=$((still + 1)); else still=0; fi
        [[ $still -ge 3 ]] && break
        last="$now"
        sleep 1
    done
    callgrind_control --dump "$PID" >/dev/null
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
    log "$server, $rounds messages: $(jq -c '{measured, errors}' "$file.loadgen")"
    sed -n 's/^summary: *\([0-9]*\).*/\1/p;s/^totals: *\([0-9]*\).*/\1/p' "$file.1" | head -1
}

echo "| server | instructions, $CG_FEW messages | instructions, $CG_MANY messages | per message | per message and receiver |"
echo "|---|---|---|---|---|"
for server in "${SERVERS[@]}"; do
    few="$(run "$server" "$CG_FEW")"
    many="$(run "$server" "$CG_MANY")"
    python3 -c "
few, many, n, r = $few, $many, $CG_MANY - $CG_FEW, $CG_RECEIVERS
per = (many - few) / n
print(f'| $server | {few:,} | {many:,} | {per:,.0f} | {per / r:,.0f} |')"
done
log "callgrind files: $OUT"

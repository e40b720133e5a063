#!/usr/bin/env bash
# Instructions per reply, counted with callgrind: deterministic enough to compare builds on a
# machine busy with other work, where timing cannot decide.
#
#   bench/callgrind.sh [SERVER...]        (default: exws handwritten)
#
# For each server (the names of bench/run.sh: exws, handwritten, echo, or any binary of the
# release folder that speaks exws's protocol, e.g. an older exws_calculator copied there as
# exws_before), ROUNDS times, order rotated:
#   1. the server under `valgrind --tool=callgrind`, started and stopped without load: the
#      instructions of start-up and shutdown;
#   2. the same with `loadgen load --conns CG_CONNS --depth CG_DEPTH --seconds CG_SECONDS
#      --warmup CG_WARMUP` against it;
#   3. (loaded − unloaded instructions) / every verified reply of the run (both counts up to a
#      `callgrind_control --dump` just before the server is killed).
# Prints one JSON line per run and a table of medians, with each server's ratio to the
# hand-written server's (to the first server's when it is not in the list).
#
# Settings: ROUNDS=1 CG_CONNS=8 CG_DEPTH=16 CG_SECONDS=4 CG_WARMUP=1 NUMBERS=4
#           SERVER_CPU=0 LOADGEN_CPU=1 EXWS_ARGS="" (extra exws_calculator flags)
#           LOADGEN_ARGS="" (extra loadgen load flags) NO_BUILD=1 OUT=... CARGO_TARGET_DIR=...
# The callgrind files stay in $OUT (NAME-rROUND-load.out.1), for `callgrind_annotate`.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
BIN="$CARGO_TARGET_DIR/release"
ROUNDS="${ROUNDS:-1}"
CG_CONNS="${CG_CONNS:-8}"
CG_DEPTH="${CG_DEPTH:-16}"
CG_SECONDS="${CG_SECONDS:-4}"
CG_WARMUP="${CG_WARMUP:-1}"
NUMBERS="${NUMBERS:-4}"
SERVER_CPU="${SERVER_CPU:-0}"
LOADGEN_CPU="${LOADGEN_CPU:-1}"
OUT="${OUT:-$CARGO_TARGET_DIR/results/callgrind-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
SERVERS=("$@")
[[ ${#SERVERS[@]} -eq 0 ]] && SERVERS=(exws handwritten)

log() { echo "[callgrind] $*" >&2; }

if [[ -z "${NO_BUILD:-}" ]]; then
    log "building in release ($CARGO_TARGET_DIR)"
    cargo build --release -p exws-bench >&2
fi

PID=""
cleanup() { [[ -n "$PID" ]] && kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

binary_of() {
    case "$1" in
        exws) echo exws_calculator ;;
        handwritten) echo ref_handwritten ;;
        echo) echo ref_echo ;;
        *) echo "$1" ;;
    esac
}

protocol_of() { [[ "$1" == echo ]] && echo echo || echo exws; }

# start NAME FILE: the server under callgrind, pinned; sets PID and URL.
start() {
    local name="$1" file="$2" args=()
    [[ "$name" == exws* ]] && args=(${EXWS_ARGS:-})
    taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$file" \
        "$BIN/$(binary_of "$name")" --addr 127.0.0.1:0 "${args[@]}" >"$file.stdout" 2>"$file.stderr" &
    PID=$!
    for _ in $(seq 1 600); do
        if grep -q '^listening on ws://' "$file.stdout" 2>/dev/null; then
            URL="$(sed -n 's/^listening on \(ws:\/\/[^ ]*\).*/\1/p' "$file.stdout" | head -1)/"
            return 0
        fi
        kill -0 "$PID" 2>/dev/null || { log "$name exited: $(tail -5 "$file.stderr")"; return 1; }
        sleep 0.1
    done
    log "$name did not start within 60 s"
    return 1
}

# stop: has callgrind dump its counts so far (to FILE.1; the servers differ in how they take a
# signal, and a killed one writes nothing), then kills the server.
stop() {
    callgrind_control --dump "$PID" >/dev/null
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
}

instructions() { sed -n 's/^summary: *\([0-9]*\).*/\1/p;s/^totals: *\([0-9]*\).*/\1/p' "$1.1" | head -1; }

results="$OUT/callgrind.jsonl"
: >"$results"
n=${#SERVERS[@]}
for round in $(seq 1 "$ROUNDS"); do
    for i in $(seq 0 $((n - 1))); do
        server="${SERVERS[$(( (i + round - 1) % n ))]}"
        log "round $round/$ROUNDS: $server, unloaded"
        idle_file="$OUT/$server-r$round-idle.out"
        start "$server" "$idle_file"
        sleep 1
        stop
        log "round $round/$ROUNDS: $server, loaded"
        load_file="$OUT/$server-r$round-load.out"
        start "$server" "$load_file"
        line="$(timeout 300 taskset -c "$LOADGEN_CPU" "$BIN/loadgen" load --url "$URL" \
            --protocol "$(protocol_of "$server")" --conns "$CG_CONNS" --depth "$CG_DEPTH" \
            --seconds "$CG_SECONDS" --warmup "$CG_WARMUP" --numbers "$NUMBERS" ${LOADGEN_ARGS:-})"
        stop
        idle="$(instructions "$idle_file")"
        loaded="$(instructions "$load_file")"
        echo "$line" | jq -c --arg server "$server" --argjson round "$round" \
            --argjson idle "$idle" --argjson loaded "$loaded" \
            '{server: $server, round: $round, replies: .total_replies, errors: .errors,
              instructions_loaded: $loaded, instructions_unloaded: $idle,
              instructions_per_reply: (($loaded - $idle) / .total_replies)}' | tee -a "$results" >&2
    done
done

python3 - "$results" "${SERVERS[@]}" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
servers = sys.argv[2:]
ref = "handwritten" if "handwritten" in servers else servers[0]
med = {}
print("| server | runs | replies (median) | instructions per reply (median) | per round | ÷ %s |" % ref)
print("|---|---|---|---|---|---|")
for s in servers:
    mine = [r for r in rows if r["server"] == s]
    med[s] = statistics.median(r["instructions_per_reply"] for r in mine)
for s in servers:
    mine = [r for r in rows if r["server"] == s]
    per = ", ".join("%.0f" % r["instructions_per_reply"] for r in mine)
    print("| %s | %d | %d | %.0f | %s | %.3f |" % (
        s, len(mine), statistics.median(r["replies"] for r in mine), med[s], per, med[s] / med[ref]))
EOF
log "callgrind files: $OUT"

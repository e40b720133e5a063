#!/usr/bin/env bash
# exws benchmarks: builds in release once, runs every server pinned to one core and the load
# generator pinned to the other, alternately, and prints markdown tables of medians and ratios.
#
#   bench/run.sh [throughput|latency|idle|fanout|cross|engines|stall|streams|gateway|all]   (default: throughput)
#
# Settings (environment):
#   ROUNDS=5 BENCH_SECONDS=10 WARMUP=2 CONNS=64 DEPTH=16 NUMBERS=4
#   SERVERS="exws handwritten echo jsonrpsee"   servers of the throughput run, in this order; any
#                                               other name is a binary in the release folder that
#                                               speaks exws's protocol (e.g. an older exws_calculator
#                                               copied there as exws_before, for a before/after run)
#   SERVER_CPU=0 LOADGEN_CPU=1                  cores for taskset
#   IDLE_STEPS=2000,6000,10000,14000,18000      idle connections at which RSS is read
#   FANOUT_RECEIVERS=10000 FANOUT_ROUNDS=50 FANOUT_SIZE=100
#   FANOUT_SERVERS="exws" FANOUT_REPEATS=1     servers of the fan-out run (`room`: the hand-written
#                                               rooms server), each run FANOUT_REPEATS times, interleaved
#   CROSS_RATE=10000 CROSS_RECEIVERS=1
#   ENGINES="redis nats"                        engines of the `engines` run (rotated per round)
#   ENGINE_FANOUT_RECEIVERS=10000               receivers of its two-process fan-out
#   STALLED=1000 STALL_KIND=room                room | requests
#   STREAM_ITEMS=2000000 STREAM_IDLE=10000      the streams run: items of one stream, idle streams
#   GATEWAY_BACKENDS=2                          the gateway run: echo backend sockets
#   GATEWAY_IDLE_STEPS=1000,3000,5000           the gateway run: idle clients at which RSS is read
#   OUT=target-bench/results/<date>             where raw JSON lines are kept
#   LATENCY_RATES="half 50000"                  offered rates of the latency runs: `half` (half the
#                                               hand-written peak) and/or requests/s
#   LATENCY_PACING="tick spin"                  loadgen --pacing of the latency runs
#   EXWS_ARGS="--read-buffer-size 1024"         extra exws_calculator flags (throughput, latency, idle,
#                                               fanout, cross; e.g. "--history")
#   NO_BUILD=1                                  skip the release build
# Everything listens and connects on 127.0.0.0/8 only; every step has a time limit.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
BIN="$CARGO_TARGET_DIR/release"
ROUNDS="${ROUNDS:-5}"
BENCH_SECONDS="${BENCH_SECONDS:-10}"
WARMUP="${WARMUP:-2}"
CONNS="${CONNS:-64}"
DEPTH="${DEPTH:-16}"
NUMBERS="${NUMBERS:-4}"
SERVERS="${SERVERS:-exws handwritten echo jsonrpsee}"
SERVER_CPU="${SERVER_CPU:-0}"
LOADGEN_CPU="${LOADGEN_CPU:-1}"
IDLE_STEPS="${IDLE_STEPS:-2000,6000,10000,14000,18000}"
FANOUT_RECEIVERS="${FANOUT_RECEIVERS:-10000}"
FANOUT_ROUNDS="${FANOUT_ROUNDS:-50}"
FANOUT_SIZE="${FANOUT_SIZE:-100}"
CROSS_RATE="${CROSS_RATE:-10000}"
CROSS_RECEIVERS="${CROSS_RECEIVERS:-1}"
STALLED="${STALLED:-1000}"
STALL_KIND="${STALL_KIND:-room}"
OUT="${OUT:-$CARGO_TARGET_DIR/results/$(date -u +%Y%m%dT%H%M%SZ)}"
CLK_TCK="$(getconf CLK_TCK)"
mkdir -p "$OUT"
LOADGEN_LIMIT=$(( ${BENCH_SECONDS%.*} + ${WARMUP%.*} + 60 ))

log() { echo "[bench] $*" >&2; }

if [[ -z "${NO_BUILD:-}" ]]; then
    log "building in release ($CARGO_TARGET_DIR)"
    cargo build --release -p exws-bench >&2
fi

SERVER_PID=""
SERVER_URL=""
EXTRA_PIDS=()

cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true
    for pid in "${EXTRA_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# start_server KIND NAME [ARGS...]: starts a server pinned to $SERVER_CPU, waits for its
# `listening on ws://ADDR` line; sets STARTED_PID and STARTED_URL.
start_server() {
    local name="$1"; shift
    local binary
    case "$name" in
        exws) binary=exws_calculator ;;
        handwritten) binary=ref_handwritten ;;
        room) binary=ref_room ;;
        echo) binary=ref_echo ;;
        jsonrpsee) binary=ref_jsonrpsee ;;
        *) binary="$name" ;;
    esac
    local out="$OUT/server-$name-$$-$RANDOM.out"
    taskset -c "$SERVER_CPU" "$BIN/$binary" --addr 127.0.0.1:0 "$@" >"$out" 2>"$out.err" &
    STARTED_PID=$!
    for _ in $(seq 1 100); do
        if grep -q '^listening on ws://' "$out" 2>/dev/null; then
            STARTED_URL="$(sed -n 's/^listening on \(ws:\/\/[^ ]*\).*/\1/p' "$out" | head -1)/"
            return 0
        fi
        if ! kill -0 "$STARTED_PID" 2>/dev/null; then
            log "$binary exited: $(cat "$out.err")"
            return 1
        fi
        sleep 0.1
    done
    log "$binary did not start within 10 s"
    return 1
}

stop_pid() {
    kill "$1" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

start() { start_server "$@"; SERVER_PID="$STARTED_PID"; SERVER_URL="$STARTED_URL"; }
stop() { stop_pid "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

# CPU time (user + system) of a process, in clock ticks.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

protocol_of() {
    case "$1" in
        exws*|handwritten) echo exws ;;
        echo) echo echo ;;
        jsonrpsee) echo jsonrpc ;;
    esac
}

loadgen() { timeout "$LOADGEN_LIMIT" taskset -c "$LOADGEN_CPU" "$BIN/loadgen" "$@"; }

# One load run against a fresh server; appends a JSON line with the server's CPU per reply.
# load_run FILE SERVER ROUND [LOADGEN ARGS...]
load_run() {
    local file="$1" server="$2" round="$3"; shift 3
    start "$server" $([[ "$server" == exws ]] && echo "${EXWS_ARGS:-}")
    local before after line
    before="$(cpu_ticks "$SERVER_PID")"
    line="$(loadgen load --url "$SERVER_URL" --protocol "$(protocol_of "$server")" \
        --conns "$CONNS" --depth "$DEPTH" --seconds "$BENCH_SECONDS" --warmup "$WARMUP" \
        --numbers "$NUMBERS" --server-pid "$SERVER_PID" "$@")"
    after="$(cpu_ticks "$SERVER_PID")"
    stop
    echo "$line" | jq -c --arg server "$server" --argjson round "$round" \
        --argjson ticks "$((after - before))" --argjson hz "$CLK_TCK" \
        '. + {server: $server, round: $round,
              cpu_us_per_reply: (if .total_replies > 0 then $ticks * 1e6 / $hz / .total_replies else null end)}' \
        | tee -a "$file" >&2
}

summary() { python3 "$(dirname "$0")/summary.py" "$@"; }

throughput() {
    local file="$OUT/throughput.jsonl"
    : >"$file"
    local servers=($SERVERS)
    for round in $(seq 1 "$ROUNDS"); do
        # Rotate the order each round so that no server always runs first.
        local n=${#servers[@]}
        for i in $(seq 0 $((n - 1))); do
            local server="${servers[$(( (i + round - 1) % n ))]}"
            log "throughput round $round/$ROUNDS: $server"
            load_run "$file" "$server" "$round"
        done
    done
    summary throughput "$file"
}

latency() {
    local file="$OUT/latency.jsonl"
    : >"$file"
    # The peak: the median closed-loop rate of the hand-written server (from this run's
    # throughput results when there are some, else a short measurement).
    local peak
    if [[ -s "$OUT/throughput.jsonl" ]]; then
        peak="$(jq -s '[.[] | select(.server == "handwritten") | .replies_per_sec] | sort | .[length / 2 | floor]' "$OUT/throughput.jsonl")"
    else
        local probe="$OUT/latency-peak.jsonl"
        : >"$probe"
        load_run "$probe" handwritten 0
        peak="$(jq -s '.[0].replies_per_sec' "$probe")"
    fi
    local half rate pacing
    half="$(python3 -c "print(round($peak / 2))")"
    log "half the hand-written peak: $half requests/s"
    for rate in ${LATENCY_RATES:-half 50000}; do
        [[ "$rate" == half ]] && rate="$half"
        for pacing in ${LATENCY_PACING:-tick spin}; do
            for round in $(seq 1 "$ROUNDS"); do
                for server in exws handwritten; do
                    log "latency at $rate requests/s ($pacing) round $round/$ROUNDS: $server"
                    load_run "$file" "$server" "$round" --rate "$rate" --pacing "$pacing"
                done
            done
        done
    done
    summary latency "$file"
}

idle() {
    local file="$OUT/idle.jsonl"
    start exws --max-connections 19900 ${EXWS_ARGS:-}
    log "idle: steps $IDLE_STEPS"
    timeout 600 taskset -c "$LOADGEN_CPU" "$BIN/loadgen" idle --url "$SERVER_URL" \
        --steps "$IDLE_STEPS" --server-pid "$SERVER_PID" | tee "$file" >&2
    stop
    summary idle "$file"
}

streams() {
    local file="$OUT/streams.jsonl"
    start exws --max-connections 19900
    log "streams: one stream of ${STREAM_ITEMS:-2000000} items, then ${STREAM_IDLE:-10000} idle streams"
    for _ in $(seq "${ROUNDS}"); do
        timeout 600 taskset -c "$LOADGEN_CPU" "$BIN/loadgen" streams --url "$SERVER_URL" \
            --items "${STREAM_ITEMS:-2000000}" --idle 0 --server-pid "$SERVER_PID" \
            --clk-tck "$CLK_TCK" | tee -a "$file" >&2
    done
    stop
    start exws --max-connections 19900
    timeout 600 taskset -c "$LOADGEN_CPU" "$BIN/loadgen" streams --url "$SERVER_URL" \
        --items 1 --idle "${STREAM_IDLE:-10000}" --server-pid "$SERVER_PID" \
        --clk-tck "$CLK_TCK" | tee -a "$file" >&2
    stop
}

fanout() {
    local file="$OUT/fanout.jsonl"
    : >"$file"
    local servers=(${FANOUT_SERVERS:-exws})
    local n=${#servers[@]}
    for repeat in $(seq 1 "${FANOUT_REPEATS:-1}"); do
        for i in $(seq 0 $((n - 1))); do
            local server="${servers[$(( (i + repeat - 1) % n ))]}"
            if [[ "$server" == exws* ]]; then
                # shellcheck disable=SC2086
                start "$server" --max-connections 19900 ${EXWS_ARGS:-}
            else
                start "$server"
            fi
            log "fan-out ($server, $repeat/${FANOUT_REPEATS:-1}): $FANOUT_RECEIVERS receivers, $FANOUT_ROUNDS messages"
            timeout 600 taskset -c "$LOADGEN_CPU" "$BIN/loadgen" fanout --url "$SERVER_URL" \
                --receivers "$FANOUT_RECEIVERS" --rounds "$FANOUT_ROUNDS" --size "$FANOUT_SIZE" \
                --server-pid "$SERVER_PID" | jq -c --arg server "$server" '. + {server: $server}' \
                | tee -a "$file" >&2
            stop
        done
    done
    summary fanout "$file"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cross() {
    local file="$OUT/cross.jsonl"
    local port
    port="$(free_port)"
    log "cross-process: private redis-server on 127.0.0.1:$port"
    taskset -c "$LOADGEN_CPU" redis-server --bind 127.0.0.1 --port "$port" --save '' \
        --appendonly no --protected-mode yes >"$OUT/redis.log" 2>&1 &
    local redis_pid=$!
    EXTRA_PIDS+=("$redis_pid")
    for _ in $(seq 1 50); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    local url="redis://127.0.0.1:$port/"
    # shellcheck disable=SC2086
    start_server exws --redis "$url" ${EXWS_ARGS:-}
    local a_pid="$STARTED_PID" a_url="$STARTED_URL"
    EXTRA_PIDS+=("$a_pid")
    # shellcheck disable=SC2086
    start_server exws --redis "$url" ${EXWS_ARGS:-}
    local b_pid="$STARTED_PID" b_url="$STARTED_URL"
    EXTRA_PIDS+=("$b_pid")
    log "cross-process: $CROSS_RATE msg/s from A to $CROSS_RECEIVERS receiver(s) on B"
    loadgen cross --send-url "$a_url" --recv-url "$b_url" --rate "$CROSS_RATE" \
        --receivers "$CROSS_RECEIVERS" --seconds "$BENCH_SECONDS" --warmup "$WARMUP" \
        | tee "$file" >&2
    stop_pid "$a_pid"; stop_pid "$b_pid"; stop_pid "$redis_pid"
    summary cross "$file"
}

# start_backend ENGINE: a private redis-server or nats-server (JetStream, memory only) on a
# free port of 127.0.0.1, on the load generator's core; sets BACKEND_PID and BACKEND_URL.
start_backend() {
    local port
    port="$(free_port)"
    case "$1" in
        redis)
            taskset -c "$LOADGEN_CPU" redis-server --bind 127.0.0.1 --port "$port" --save '' \
                --appendonly no --protected-mode yes >"$OUT/redis.log" 2>&1 &
            BACKEND_PID=$!
            BACKEND_URL="redis://127.0.0.1:$port/"
            ;;
        nats)
            local store="$OUT/nats-store-$port"
            mkdir -p "$store"
            taskset -c "$LOADGEN_CPU" nats-server -a 127.0.0.1 -p "$port" -js -sd "$store" \
                >"$OUT/nats.log" 2>&1 &
            BACKEND_PID=$!
            BACKEND_URL="nats://127.0.0.1:$port"
            ;;
    esac
    EXTRA_PIDS+=("$BACKEND_PID")
    for _ in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    log "$1 did not listen on $port within 5 s"
    return 1
}

# Both engines in one run, rounds interleaved (the engine order rotated per round): per round
# and engine, a fresh backend and two exws servers on it; cross-process latency at CROSS_RATE
# msg/s (sender on A, CROSS_RECEIVERS receivers on B), then fan-out to
# ENGINE_FANOUT_RECEIVERS members split over A and B (sender on A).
engines() {
    local cross_file="$OUT/engines-cross.jsonl" fanout_file="$OUT/engines-fanout.jsonl"
    : >"$cross_file"; : >"$fanout_file"
    local list=(${ENGINES:-redis nats})
    for round in $(seq 1 "$ROUNDS"); do
        local shift=$(( (round - 1) % ${#list[@]} ))
        local order=("${list[@]:$shift}" "${list[@]:0:$shift}")
        for engine in "${order[@]}"; do
            log "engines round $round/$ROUNDS: $engine"
            start_backend "$engine"
            start_server exws "--$engine" "$BACKEND_URL" --max-connections 19900
            local a_pid="$STARTED_PID" a_url="$STARTED_URL"
            EXTRA_PIDS+=("$a_pid")
            start_server exws "--$engine" "$BACKEND_URL" --max-connections 19900
            local b_pid="$STARTED_PID" b_url="$STARTED_URL"
            EXTRA_PIDS+=("$b_pid")
            loadgen cross --send-url "$a_url" --recv-url "$b_url" --rate "$CROSS_RATE" \
                --receivers "$CROSS_RECEIVERS" --seconds "$BENCH_SECONDS" --warmup "$WARMUP" \
                | jq -c --arg engine "$engine" --argjson round "$round" \
                    '. + {engine: $engine, round: $round}' | tee -a "$cross_file" >&2
            timeout 600 taskset -c "$LOADGEN_CPU" "$BIN/loadgen" fanout --url "$a_url" \
                --second-url "$b_url" --receivers "${ENGINE_FANOUT_RECEIVERS:-10000}" \
                --rounds "$FANOUT_ROUNDS" --size "$FANOUT_SIZE" --server-pid "$a_pid" \
                --second-server-pid "$b_pid" \
                | jq -c --arg engine "$engine" --argjson round "$round" \
                    '. + {engine: $engine, round: $round}' | tee -a "$fanout_file" >&2
            stop_pid "$a_pid"; stop_pid "$b_pid"; stop_pid "$BACKEND_PID"
        done
    done
    python3 bench/summary.py engines "$OUT/engines"
}

stall() {
    local file="$OUT/stall.jsonl"
    : >"$file"
    for round in $(seq 1 "$ROUNDS"); do
        log "stalled clients round $round/$ROUNDS: $STALLED ($STALL_KIND)"
        start exws --max-connections 19900
        timeout $(( 2 * LOADGEN_LIMIT + 60 )) taskset -c "$LOADGEN_CPU" "$BIN/loadgen" stall \
            --url "$SERVER_URL" --conns "$CONNS" --depth "$DEPTH" --seconds "$BENCH_SECONDS" \
            --warmup "$WARMUP" --numbers "$NUMBERS" --stalled "$STALLED" --kind "$STALL_KIND" \
            --server-pid "$SERVER_PID" | tee -a "$file" >&2
        stop
    done
    summary stall "$file"
}

# The gateway (`exws_gateway`, on $SERVER_CPU) with its Rust echo backend
# (`gateway_echo_backend`, on $LOADGEN_CPU beside the load generator) connected; VARIANT
# `gateway_backend` sends every message through the backend, `gateway_rust` answers it in a
# Rust handler of the same gateway (the ceiling; the backend only admits the clients).
# Sets SERVER_PID, SERVER_URL and BACKEND_PID.
start_gateway() {
    local variant="$1"; shift
    local flags=(--wait-backends "${GATEWAY_BACKENDS:-2}")
    [[ "$variant" == gateway_rust ]] && flags+=(--rust-echo)
    local out="$OUT/server-gateway-$$-$RANDOM.out"
    taskset -c "$SERVER_CPU" "$BIN/exws_gateway" --addr 127.0.0.1:0 "${flags[@]}" "$@" \
        >"$out" 2>"$out.err" &
    SERVER_PID=$!
    local backend_addr=""
    for _ in $(seq 1 100); do
        backend_addr="$(sed -n 's/^backend on //p' "$out" | head -1)"
        [[ -n "$backend_addr" ]] && break
        sleep 0.1
    done
    [[ -n "$backend_addr" ]] || { log "exws_gateway did not start: $(cat "$out.err")"; return 1; }
    local backend_out="$OUT/backend-$$-$RANDOM.out"
    taskset -c "$LOADGEN_CPU" "$BIN/gateway_echo_backend" --backend "$backend_addr" \
        --connections "${GATEWAY_BACKENDS:-2}" >"$backend_out" 2>&1 &
    BACKEND_PID=$!
    EXTRA_PIDS+=("$BACKEND_PID")
    # The gateway prints its `listening on` line once every backend is connected.
    for _ in $(seq 1 100); do
        if grep -q '^listening on ws://' "$out" 2>/dev/null; then
            SERVER_URL="$(sed -n 's/^listening on \(ws:\/\/[^ ]*\).*/\1/p' "$out" | head -1)/"
            return 0
        fi
        kill -0 "$BACKEND_PID" 2>/dev/null || { log "echo backend exited: $(cat "$backend_out")"; return 1; }
        sleep 0.1
    done
    log "the backends did not connect within 10 s"
    return 1
}

stop_gateway() { stop_pid "$BACKEND_PID"; stop; }

gateway() {
    local file="$OUT/gateway.jsonl"
    : >"$file"
    local variants=(gateway_backend gateway_rust)
    for round in $(seq 1 "$ROUNDS"); do
        for i in 0 1; do
            local variant="${variants[$(( (i + round - 1) % 2 ))]}"
            log "gateway round $round/$ROUNDS: $variant"
            start_gateway "$variant"
            local before after line
            before="$(cpu_ticks "$SERVER_PID")"
            line="$(loadgen load --url "$SERVER_URL" --protocol echo \
                --conns "$CONNS" --depth "$DEPTH" --seconds "$BENCH_SECONDS" --warmup "$WARMUP" \
                --numbers "$NUMBERS" --server-pid "$SERVER_PID")"
            after="$(cpu_ticks "$SERVER_PID")"
            stop_gateway
            echo "$line" | jq -c --arg server "$variant" --argjson round "$round" \
                --argjson ticks "$((after - before))" --argjson hz "$CLK_TCK" \
                '. + {server: $server, round: $round,
                      cpu_us_per_reply: (if .total_replies > 0 then $ticks * 1e6 / $hz / .total_replies else null end)}' \
                | tee -a "$file" >&2
        done
    done
    summary gateway "$file"
    # Memory per idle client: through the gateway (admitted by the backend), and the same
    # steps on exws serving the calculator, in this run.
    local idle_file="$OUT/gateway-idle.jsonl" steps="${GATEWAY_IDLE_STEPS:-1000,3000,5000}"
    : >"$idle_file"
    start_gateway gateway_backend
    log "gateway idle: steps $steps"
    timeout 600 taskset -c "$LOADGEN_CPU" "$BIN/loadgen" idle --url "$SERVER_URL" \
        --steps "$steps" --server-pid "$SERVER_PID" | jq -c '. + {server: "gateway"}' | tee -a "$idle_file" >&2
    stop_gateway
    start exws --max-connections 19900
    log "exws idle: steps $steps"
    timeout 600 taskset -c "$LOADGEN_CPU" "$BIN/loadgen" idle --url "$SERVER_URL" \
        --steps "$steps" --server-pid "$SERVER_PID" | jq -c '. + {server: "exws"}' | tee -a "$idle_file" >&2
    stop
    summary gateway-idle "$idle_file"
}

machine() {
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) cores)"
    echo "- kernel: $(uname -r); rustc: $(rustc --version)"
    echo "- raw results: $OUT"
}

what="${1:-throughput}"
machine | tee "$OUT/machine.md"
case "$what" in
    throughput) throughput ;;
    latency) latency ;;
    idle) idle ;;
    fanout) fanout ;;
    cross) cross ;;
    engines) engines ;;
    stall) stall ;;
    streams) streams ;;
    gateway) gateway ;;
    all) throughput; latency; idle; fanout; cross; stall; streams ;;
    *) echo "usage: $0 [throughput|latency|idle|fanout|cross|engines|stall|streams|gateway|all]" >&2; exit 2 ;;
esac

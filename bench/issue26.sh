#!/usr/bin/env bash
# The measurements of issue 26 (request/reply at the cost of hand-written code, idle memory,
# fan-out, the modes), in one command, for BENCHMARKS.md:
#
#   bench/issue26.sh 2>&1 | tee issue26-$(date -u +%Y%m%dT%H%MZ).log
#
# Run it on a quiet 2-core machine: the timing steps mean nothing while other work shares the
# cores (the instruction counts of step 1 do not depend on it). Each step is one of the
# commands below, all with the same release build and the same $OUT:
#   1. instructions per reply, exws and hand-written, and exws in concurrent mode
#      (bench/callgrind.sh, 3 rounds);
#   2. rate, server CPU per reply and p99: exws and hand-written, 10 interleaved rounds of
#      64 connections x 16 in flight (bench/run.sh throughput);
#   3. the same for exws in concurrent mode (16 in flight per connection) against hand-written;
#   4. server RSS per idle connection, 2,000 -> 10,000 connections (bench/run.sh idle);
#   5. one message to a room of 10,000, exws and the hand-written rooms server, 3 interleaved
#      runs each (bench/run.sh fanout), and the instructions per message to 2,000 receivers
#      (bench/callgrind_fanout.sh);
#   6. one stream's items/s and CPU per item, and memory per idle stream (bench/run.sh streams).
# Settings: ROUNDS (10), BENCH_SECONDS (10), WARMUP (2), CG_ROUNDS (3), NO_BUILD, OUT,
# CARGO_TARGET_DIR (as bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
export OUT="${OUT:-$CARGO_TARGET_DIR/results/issue26-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
if [[ -z "${NO_BUILD:-}" ]]; then
    cargo build --release -p exws-bench >&2
fi
export NO_BUILD=1

echo "## 1. instructions per reply (callgrind)"
ROUNDS="${CG_ROUNDS:-3}" OUT="$OUT/callgrind" bench/callgrind.sh exws handwritten
ROUNDS="${CG_ROUNDS:-3}" OUT="$OUT/callgrind-concurrent" EXWS_ARGS="--concurrent 16" \
    bench/callgrind.sh exws handwritten

echo "## 2. throughput, sequential (default) mode"
SERVERS="exws handwritten" ROUNDS="${ROUNDS:-10}" OUT="$OUT/throughput" bench/run.sh throughput

echo "## 3. throughput, concurrent mode (--concurrent 16)"
SERVERS="exws handwritten" ROUNDS="${ROUNDS:-10}" OUT="$OUT/throughput-concurrent" \
    EXWS_ARGS="--concurrent 16" bench/run.sh throughput

echo "## 4. idle connections"
IDLE_STEPS=2000,6000,10000 OUT="$OUT/idle" bench/run.sh idle

echo "## 5. fan-out to 10,000"
FANOUT_SERVERS="exws room" FANOUT_REPEATS=3 OUT="$OUT/fanout" bench/run.sh fanout
CG_FEW=3 CG_MANY=13 OUT="$OUT/callgrind-fanout" bench/callgrind_fanout.sh exws room

echo "## 6. streams"
ROUNDS=3 OUT="$OUT/streams" bench/run.sh streams

echo "raw results: $OUT"

#!/usr/bin/env python3
"""Markdown tables of medians and ratios from the JSON lines bench/run.sh collects.

    python3 bench/summary.py KIND FILE    (KIND: throughput, latency, idle, fanout, cross, stall,
                                          gateway, gateway-idle; engines: FILE is the prefix
                                          of its two files)
"""
import json
import statistics
import sys


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def check(ok):
    return "yes" if ok else "**no**"


def throughput(rows):
    servers = []
    for row in rows:
        if row["server"] not in servers:
            servers.append(row["server"])
    med = {}
    print("| server | runs | replies/s (median) | p50 µs | p99 µs | p999 µs | server CPU µs/reply | server CPU % | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    for server in servers:
        runs = [r for r in rows if r["server"] == server]
        med[server] = {k: median([r.get(k) for r in runs])
                       for k in ("replies_per_sec", "p50_us", "p99_us", "p999_us", "cpu_us_per_reply", "server_cpu_pct")}
        m = med[server]
        print(f"| {server} | {len(runs)} | {m['replies_per_sec']:,.0f} | {m['p50_us']:.0f} | {m['p99_us']:.0f} "
              f"| {m['p999_us']:.0f} | {m['cpu_us_per_reply']:.2f} | {m['server_cpu_pct']:.0f} "
              f"| {sum(r['errors'] for r in runs)} |")
    idle = [s for s in servers if med[s]["server_cpu_pct"] < 95]
    if idle:
        print()
        print(f"Note: server CPU under 95 % of its core during the window for {', '.join(idle)}: the server "
              "was not the bottleneck (the load generator, or other work on the machine, was); compare "
              "the CPU µs/reply rather than replies/s.")
    if "exws" not in med:
        return
    print()
    print("| ratio (medians) | replies/s | target | met | by CPU per reply (other ÷ exws) |")
    print("|---|---|---|---|---|")
    targets = {"handwritten": 0.95, "echo": 0.85, "jsonrpsee": 1.5}
    for other, target in targets.items():
        if other in med and med[other]["replies_per_sec"] > 0:
            ratio = med["exws"]["replies_per_sec"] / med[other]["replies_per_sec"]
            by_cpu = med[other]["cpu_us_per_reply"] / med["exws"]["cpu_us_per_reply"]
            print(f"| exws / {other} | {ratio:.3f} | ≥ {target} | {check(ratio >= target)} | {by_cpu:.3f} |")
    print()
    print("The last column is the throughput ratio the servers would reach with the server's core "
          "saturated (replies/s of one busy core = 1 / CPU per reply); it is what the replies/s ratio "
          "measures only when both servers ran at ~100 % CPU.")
    # Per-round ratios show how much the noise moves them.
    rounds = sorted({r["round"] for r in rows})
    per_round = []
    for rnd in rounds:
        by = {r["server"]: r["replies_per_sec"] for r in rows if r["round"] == rnd}
        if "exws" in by and "handwritten" in by and by["handwritten"] > 0:
            per_round.append(by["exws"] / by["handwritten"])
    if per_round:
        print()
        print("exws / handwritten per round: " + ", ".join(f"{x:.3f}" for x in per_round))


def latency(rows):
    # One table per offered rate and pacing (the mode: rate-exws is tick pacing, rate-spin-exws spin).
    groups = []
    for row in rows:
        key = (row["target_rate"], "spin" if row["mode"].startswith("rate-spin") else "tick")
        if key not in groups:
            groups.append(key)
    for rate, pacing in groups:
        group = [r for r in rows if r["target_rate"] == rate and
                 ("spin" if r["mode"].startswith("rate-spin") else "tick") == pacing]
        print(f"Offered {rate:,.0f} requests/s, {pacing} pacing:")
        print()
        print("| server | runs | achieved replies/s | p50 µs | p99 µs | p999 µs | server CPU % | errors |")
        print("|---|---|---|---|---|---|---|---|")
        med = {}
        for server in ("exws", "handwritten"):
            runs = [r for r in group if r["server"] == server]
            if not runs:
                continue
            med[server] = {k: median([r.get(k) for r in runs])
                           for k in ("replies_per_sec", "p50_us", "p99_us", "p999_us", "server_cpu_pct")}
            m = med[server]
            print(f"| {server} | {len(runs)} | {m['replies_per_sec']:,.0f} | {m['p50_us']:.0f} "
                  f"| {m['p99_us']:.0f} | {m['p999_us']:.0f} | {m['server_cpu_pct']:.0f} "
                  f"| {sum(r['errors'] for r in runs)} |")
        if len(med) == 2:
            diff = med["exws"]["p99_us"] - med["handwritten"]["p99_us"]
            rounds = sorted({r["round"] for r in group})
            per_round = []
            for rnd in rounds:
                by = {r["server"]: r["p99_us"] for r in group if r["round"] == rnd}
                if "exws" in by and "handwritten" in by:
                    per_round.append(by["exws"] - by["handwritten"])
            print()
            print(f"p99 exws − handwritten: {diff:+.0f} µs (target ≤ +50 µs: {check(diff <= 50)}); "
                  "per round: " + ", ".join(f"{d:+.0f}" for d in per_round))
        print()


def idle(rows):
    print("| connections | server RSS (MiB) |")
    print("|---|---|")
    for r in rows:
        if r["mode"] == "idle":
            print(f"| {r['conns']} | {r['server_rss_bytes'] / 2**20:.1f} |")
    for r in rows:
        if r["mode"] == "idle-slope":
            per = r["bytes_per_conn"]
            print()
            print(f"RSS slope {r['from_conns']:.0f} → {r['to_conns']:.0f} connections: {per / 1024:.2f} KiB per idle "
                  f"connection (target ≤ 8 KiB: {check(per <= 8192)}); errors: {r['errors']}")


def fanout(rows):
    print("| server | receivers | messages | size (B) | p50 ms | p99 ms | max ms | server CPU ms/msg | loadgen CPU ms/msg "
          "| errors | target p50 ≤ 20, p99 ≤ 50 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ok = r["p50_us"] <= 20000 and r["p99_us"] <= 50000
        server = r.get("server_cpu_ms_per_message")
        server = "-" if server is None else f"{server:.1f}"
        print(f"| {r.get('server', 'exws')} | {r['receivers']} | {r['measured']}/{r['rounds']} | {r['size']} | {r['p50_us'] / 1000:.2f} "
              f"| {r['p99_us'] / 1000:.2f} | {r['max_us'] / 1000:.2f} | {server} "
              f"| {r['loadgen_cpu_ms_per_message']:.1f} | {r['errors']} | {check(ok)} |")


def cross(rows):
    print("| rate msg/s | receivers | sent | delivered | p50 µs | p99 µs | p999 µs | max µs | errors | target p50 ≤ 1 ms, p99 ≤ 5 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ok = r["p50_us"] <= 1000 and r["p99_us"] <= 5000
        print(f"| {r['rate']:,.0f} | {r['receivers']} | {r['sent']} | {r['delivered']} | {r['p50_us']} | {r['p99_us']} "
              f"| {r['p999_us']} | {r['max_us']} | {r['errors']} | {check(ok)} |")


def engines(prefix):
    """The `engines` run: `{prefix}-cross.jsonl` and `{prefix}-fanout.jsonl`, medians per engine."""
    cross_rows = lines(prefix + "-cross.jsonl")
    fanout_rows = lines(prefix + "-fanout.jsonl")
    names = []
    for r in cross_rows + fanout_rows:
        if r["engine"] not in names:
            names.append(r["engine"])
    print("| engine | rounds | cross p50 µs | cross p99 µs | cross p999 µs | lost | fan-out p50 ms | fan-out p99 ms "
          "| fan-out max ms | servers' CPU ms/msg | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        c = [r for r in cross_rows if r["engine"] == name]
        f = [r for r in fanout_rows if r["engine"] == name]
        cpu = [r["server_cpu_ms_per_message"] for r in f if r.get("server_cpu_ms_per_message") is not None]
        print(f"| {name} | {len(c)} | {median([r['p50_us'] for r in c]):.0f} | {median([r['p99_us'] for r in c]):.0f} "
              f"| {median([r['p999_us'] for r in c]):.0f} | {sum(r['errors'] for r in c)} "
              f"| {median([r['p50_us'] for r in f]) / 1000:.2f} | {median([r['p99_us'] for r in f]) / 1000:.2f} "
              f"| {median([r['max_us'] for r in f]) / 1000:.2f} | {median(cpu) if cpu else float('nan'):.1f} "
              f"| {sum(r['errors'] for r in f)} |")


def stall(rows):
    print("| round | kind | stalled | held per stalled (KiB) | base replies/s | with stalled replies/s | drop % | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(rows, 1):
        errors = r["errors"] + r["base"]["errors"] + r["with_stalled"]["errors"]
        print(f"| {i} | {r['kind']} | {r['stalled']} | {r['held_bytes_per_stalled'] / 1024:.1f} "
              f"| {r['base']['replies_per_sec']:,.0f} | {r['with_stalled']['replies_per_sec']:,.0f} "
              f"| {r['throughput_drop_pct']:.1f} | {errors} |")
    if rows:
        held = median([r["held_bytes_per_stalled"] for r in rows])
        drop = median([r["throughput_drop_pct"] for r in rows])
        print()
        print(f"medians: held {held / 1024:.1f} KiB per stalled client (target ≤ 1024 KiB: {check(held <= 2**20)}); "
              f"throughput drop {drop:.1f} % (target ≤ 10 %: {check(drop <= 10)})")


def gateway(rows):
    throughput(rows)
    med = {server: {k: median([r.get(k) for r in rows if r["server"] == server])
                    for k in ("replies_per_sec", "cpu_us_per_reply")}
           for server in ("gateway_backend", "gateway_rust")}
    through, ceiling = med["gateway_backend"], med["gateway_rust"]
    if ceiling["replies_per_sec"] > 0 and through["cpu_us_per_reply"] > 0:
        print()
        print(f"through the backend / Rust handler (the ceiling): replies/s "
              f"{through['replies_per_sec'] / ceiling['replies_per_sec']:.3f}, "
              f"gateway CPU per reply {through['cpu_us_per_reply'] / ceiling['cpu_us_per_reply']:.2f} ×")
    rounds = sorted({r["round"] for r in rows})
    per_round = []
    for rnd in rounds:
        by = {r["server"]: r["replies_per_sec"] for r in rows if r["round"] == rnd}
        if by.get("gateway_rust", 0) > 0 and "gateway_backend" in by:
            per_round.append(by["gateway_backend"] / by["gateway_rust"])
    if per_round:
        print("per round: " + ", ".join(f"{x:.3f}" for x in per_round))


def gateway_idle(rows):
    print("| server | connections | server RSS (MiB) |")
    print("|---|---|---|")
    for r in rows:
        if r["mode"] == "idle":
            print(f"| {r['server']} | {r['conns']} | {r['server_rss_bytes'] / 2**20:.1f} |")
    print()
    for r in rows:
        if r["mode"] == "idle-slope":
            print(f"{r['server']}: {r['bytes_per_conn'] / 1024:.2f} KiB per idle connection "
                  f"(RSS slope {r['from_conns']:.0f} → {r['to_conns']:.0f}); errors: {r['errors']}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kind, path = sys.argv[1], sys.argv[2]
    print()
    if kind == "engines":
        engines(path)
        print()
        return
    rows = lines(path)
    {"throughput": throughput, "latency": latency, "idle": idle, "fanout": fanout,
     "cross": cross, "stall": stall, "gateway": gateway, "gateway-idle": gateway_idle}[kind](rows)
    print()


if __name__ == "__main__":
    main()

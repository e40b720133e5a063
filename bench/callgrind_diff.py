#!/usr/bin/env python3
"""Per-function instructions per reply of two callgrind runs, side by side, by difference.

    bench/callgrind_diff.py A.out.1 REPLIES_A B.out.1 REPLIES_B [ROWS]

The files and reply counts are those bench/callgrind.sh leaves (NAME-rN-load.out.1, and
`replies` in callgrind.jsonl). Functions are matched by name, with the binary's file name and
closure numbering dropped; start-up is included in both.
"""
import re
import subprocess
import sys


def profile(path):
    text = subprocess.run(
        ["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
        capture_output=True, text=True, check=True,
    ).stdout
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        name = re.sub(r" \[[^\]]*\]$", "", m.group(2))
        name = re.sub(r"^[^:]*:", "", name, count=1) if name.startswith(("???:", "./", "/")) else name
        out[name] = out.get(name, 0) + int(m.group(1).replace(",", ""))
    return out


def main():
    a, ra, b, rb = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    rows = int(sys.argv[5]) if len(sys.argv) > 5 else 40
    pa, pb = profile(a), profile(b)
    names = set(pa) | set(pb)
    diff = sorted(names, key=lambda n: -abs(pa.get(n, 0) / ra - pb.get(n, 0) / rb))
    print("| function | A per reply | B per reply | A − B |")
    print("|---|---|---|---|")
    for n in diff[:rows]:
        x, y = pa.get(n, 0) / ra, pb.get(n, 0) / rb
        print(f"| `{n[:110]}` | {x:.0f} | {y:.0f} | {x - y:+.0f} |")
    print(f"| total | {sum(pa.values()) / ra:.0f} | {sum(pb.values()) / rb:.0f} | "
          f"{sum(pa.values()) / ra - sum(pb.values()) / rb:+.0f} |")


main()

#!/usr/bin/env python3
"""Markdown tables for BENCHMARKS.md from the simulation's result lines.

Reads the lines `cargo test --release --test sim -- --ignored measure_cluster` (or
`false_downs`) appends to the file SIM_LOG names, and prints one table per (test, nodes,
loss) with the spread over seeds: the p50 of the per-seed figures and the worst.

    python3 scripts/sim-tables.py cluster_1000.log [more.log ...]
"""

import statistics
import sys
from collections import defaultdict


def fields(line):
    kind, *rest = line.split()
    return kind, dict(part.split("=", 1) for part in rest if "=" in part)


def seconds(text):
    return float("inf") if text == "never" else float(text.rstrip("s"))


def spread(values, fmt):
    values = sorted(values)
    if not values:
        return "no seed"
    p50 = values[(len(values) - 1) // 2]
    return f"p50 {fmt(p50)}, worst {fmt(values[-1])} over {len(values)} seeds"


def secs(v):
    return "never" if v == float("inf") else f"{v:.2f} s"


def cluster_table(key, runs):
    nodes, loss = key
    print(f"{nodes} nodes, {float(loss) * 100:.0f} % loss, seeds {','.join(sorted(runs, key=int))}:\n")
    print("| seed | steady B/node/s (SWIM / records / anti-entropy) | change → every node: p50 | p99 "
          "| everywhere within 30 s | changes over 3 s (by anti-entropy) | B/node/s under churn "
          "| transmissions | false downs |")
    print("|---|---|---|---|---|---|---|---|---|")
    steady, p99s, within, total = [], [], 0, 0
    for seed in sorted(runs, key=int):
        s, c = runs[seed].get("steady", {}), runs[seed].get("converge", {})
        if not c:
            continue
        steady.append(float(s.get("bytes_node_s", "nan")))
        p99s.append(seconds(c["p99"]))
        got, of = (int(x) for x in c["within30s"].split("/"))
        within, total = within + got, total + of
        print(f"| {seed} | {s.get('bytes_node_s')} ({s.get('swim')} / {s.get('records')} / "
              f"{s.get('anti_entropy')}) | {c['p50']} | {c['p99']} | {c['within30s']} | "
              f"{c.get('late')} ({c.get('late_by_exchange')}) | {c['bytes_node_s']} | "
              f"{c.get('tx')} | {c['false_downs']} |")
    share = 100.0 * within / total if total else float("nan")
    print(f"| **spread** | {spread(steady, lambda v: f'{v:.0f}')} | | "
          f"**{spread(p99s, secs)}** | {within}/{total} ({share:.1f} %) | | | | |\n")


def kills_line(key, runs):
    nodes, loss = key
    times, parts, never = [], [], 0
    for seed in sorted(runs, key=int):
        k = runs[seed].get("kills")
        if not k:
            continue
        these = [float(t) for t in k["tombstoned_everywhere_s"].split(",") if t]
        times += these
        missed = int(k.get("never", 0))
        never += missed
        shown = ", ".join(f"{t:.2f}" for t in these) + " s"
        parts.append(f"seed {seed}: {shown}" + (f" (+{missed} never)" if missed else ""))
    if not times:
        return
    print(f"SIGKILL → TOMBSTONE on every live node, {nodes} nodes, {float(loss) * 100:.0f} % "
          f"loss: {'; '.join(parts)}")
    print(f"**median {statistics.median(times):.2f} s**, worst {max(times):.2f} s over "
          f"{len(times)} kills" + (f"; {never} never within the run" if never else "") + "\n")


def false_downs_table(key, runs):
    nodes, loss = key
    print(f"False downs, {nodes} nodes, {float(loss) * 100:.0f} % base loss:\n")
    print("| seed | false downs | downs of the 10 s freeze | checks a live node answered "
          "| renewed identities | frozen buffer drops | unconverged at the end |")
    print("|---|---|---|---|---|---|---|")
    downs = []
    for seed in sorted(runs, key=int):
        f = runs[seed]["false_downs"]
        downs.append(int(f["false_downs"]))
        print(f"| {seed} | {f['false_downs']} | {f['frozen_downs']} | {f['refuted_checks']} | "
              f"{f['rejoins']} | {f['buffer_drops']} | {f['unconverged']} |")
    print(f"| **spread** | **{spread(downs, str)}, total {sum(downs)}** | | | | | |\n")


def main(paths):
    cluster = defaultdict(lambda: defaultdict(dict))
    downs = defaultdict(lambda: defaultdict(dict))
    for path in paths:
        with open(path, encoding="utf-8") as log:
            for line in log:
                if "=" not in line:
                    continue
                kind, f = fields(line)
                key = (f.get("nodes"), f.get("loss"))
                if kind == "false_downs":
                    downs[key][f["seed"]][kind] = f
                elif kind in ("steady", "converge", "kills"):
                    cluster[key][f["seed"]][kind] = f
    for key in sorted(cluster):
        cluster_table(key, cluster[key])
        kills_line(key, cluster[key])
    for key in sorted(downs):
        false_downs_table(key, downs[key])


if __name__ == "__main__":
    main(sys.argv[1:])

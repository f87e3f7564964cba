#!/usr/bin/env python3
"""Runs the workloads of bench/README.md REPS times each and prints the
results table (median, min-max) in markdown. Release build, pinned.

    bench/workloads.py [--bench build/bin/callosum-bench] [--reps 3]
                       [--duration 5] [--warmup 1] [--only 1,2,...]

Every run publishes --warmup seconds first, left out of its figures (the
harness still checks those messages); 5c is workload 5 without it: a fresh
router filling its empty log, which costs most in the first second.

The runs go in rounds (every workload once, then again), not one workload
REPS times in a row: this machine's speed drifts within minutes, and
rounds keep ratios between workloads (5 against 1, 6b against 1) fair.
Then the table, and the per-round ratios W5/W1 and W6b/W1.
"""
import argparse
import json
import statistics
import os
import subprocess
import sys
import tempfile

WORKLOADS = [
    ("1", "1 -> 1, 64 B", "--pubs 1 --subs 1 --size 64"),
    ("2", "1 -> 10, 64 B", "--pubs 1 --subs 10 --size 64"),
    ("3", "10 -> 1, 256 B", "--pubs 10 --subs 1 --size 256"),
    ("4", "10k msg/s open loop", "--pubs 1 --subs 1 --size 64 --rate 10000"),
    ("4p", "4 with busy_poll_us = 300",
     "--pubs 1 --subs 1 --size 64 --rate 10000 --router-config {poll}"),
    ("5", "cross-tract 1 -> 1", "--pubs 1 --subs 1 --size 64 --cross 100"),
    ("5c", "5, cold: no warm-up",
     "--pubs 1 --subs 1 --size 64 --cross 100 --warmup 0"),
    ("6b", "1 with 1000 idle conns", "--pubs 1 --subs 1 --size 64 --idle 1000"),
    ("R", "Redis pub/sub, as 1", "--pubs 1 --subs 1 --size 64 --compare redis"),
]


def run(bench, args, duration, warmup, poll_conf):
    cmd = [bench, "--spawn", "--pin", "--json", "--duration", str(duration)]
    if "--warmup" not in args:
        cmd += ["--warmup", str(warmup)]
    cmd += args.format(poll=poll_conf).split()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if not out.stdout.strip():
        sys.exit("no output from: %s\n%s" % (" ".join(cmd), out.stderr))
    return json.loads(out.stdout)


def fmt(values, scale=1.0, digits=0):
    vals = [v / scale for v in values]
    f = "%%.%df" % digits
    return "%s (%s-%s)" % (f % statistics.median(vals), f % min(vals),
                           f % max(vals))


def row(wid, name, runs, key=None):
    pick = (lambda d: d[key]) if key else (lambda d: d)
    ds = [pick(d) for d in runs]
    lat = [d["latency_us"] for d in ds]
    cells = [wid, name,
             fmt([d["msgs_per_s"] for d in ds], 1e6, 3) + " M",
             fmt([d["deliveries_per_s"] for d in ds], 1e6, 3) + " M",
             fmt([x["p50"] for x in lat]), fmt([x["p99"] for x in lat]),
             fmt([x["p999"] for x in lat]), fmt([x["max"] for x in lat]),
             fmt([(d.get("cpu_pct") or {}).get("server") or 0 for d in ds]),
             fmt([(d.get("cpu_pct") or {}).get("other") or 0 for d in ds]),
             str(sum(d["errors"] for d in ds))]
    return "| " + " | ".join(cells) + " |"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bin/callosum-bench")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    only = set(a.only.split(",")) if a.only else None
    print("| # | workload | msgs/s | deliveries/s | p50 us | p99 us "
          "| p99.9 us | max us | router cpu % | other cpu % | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    chosen = [w for w in WORKLOADS if not only or w[0] in only]
    runs = {wid: [] for wid, _, _ in chosen}
    fd, poll_conf = tempfile.mkstemp(suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write("busy_poll_us = 300\n")
    try:
        for _ in range(a.reps):
            for wid, _, args in chosen:
                runs[wid].append(run(a.bench, args, a.duration, a.warmup,
                                     poll_conf))
    finally:
        os.unlink(poll_conf)
    for wid, name, _ in chosen:
        print(row(wid, name, runs[wid]), flush=True)
        if wid == "6b":
            rss = [(d["rss_kib_after"] - d["rss_kib_before"]) /
                   max(d["idle_conns"], 1) for d in runs[wid]]
            print("| 6a | RSS per idle conn (KiB) | %s | | | | | | | | |"
                  % fmt(rss, 1, 1), flush=True)
        if wid == "R":
            print(row("R", "  Redis side", runs[wid], "peer"), flush=True)
    for wid in ("5", "5c", "6b"):
        if wid in runs and "1" in runs:
            r = [x["msgs_per_s"] / y["msgs_per_s"]
                 for x, y in zip(runs[wid], runs["1"])]
            print("\nW%s/W1 per round: %s (median %.2f)" % (
                wid, " ".join("%.2f" % v for v in r), statistics.median(r)))

if __name__ == "__main__":
    main()

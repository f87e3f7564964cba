#!/usr/bin/env python3
"""Compares two builds of callosum-bench + callosumd on W1 and W5,
interleaved in the same sitting (the machine's speed drifts within
minutes, so only ratios from one sitting mean anything). Each round runs
every workload once per build, alternating which build goes first.

    bench/compare.py --before OLD/build/bin --after build/bin [--rounds 6]
                     [--duration 3] [--warmup 1] [--workloads W1,W5]
                     [--before-config FILE] [--after-config FILE]

The same build with two router configs (a feature on and off) is
--before build/bin --after build/bin --after-config off.conf.

Prints each run, then per workload the medians and the after/before
ratio of each round, and its median.
"""
import argparse
import json
import os
import statistics
import subprocess

WORKLOADS = {
    "W1": "--pubs 1 --subs 1 --size 64",
    "W5": "--pubs 1 --subs 1 --size 64 --cross 100",
}


def run(bindir, args, duration, warmup, config=None):
    env = dict(os.environ, CALLOSUMD=os.path.join(bindir, "callosumd"))
    cmd = [os.path.join(bindir, "callosum-bench"), "--spawn", "--pin",
           "--json", "--duration", str(duration), "--warmup", str(warmup)]
    if config:
        cmd += ["--router-config", config]
    out = subprocess.run(cmd + args.split(), capture_output=True, text=True,
                         env=env, timeout=300)
    d = json.loads(out.stdout)
    if d["errors"]:
        raise SystemExit("errors in %s: %s" % (" ".join(cmd), d["errors"]))
    return d["msgs_per_s"], d["cpu_pct"].get("other")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--duration", type=float, default=3)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--workloads", default="W1,W5")
    ap.add_argument("--before-config")
    ap.add_argument("--after-config")
    a = ap.parse_args()
    builds = {"before": a.before, "after": a.after}
    configs = {"before": a.before_config, "after": a.after_config}
    chosen = {w: WORKLOADS[w] for w in a.workloads.split(",")}
    res = {}
    for r in range(a.rounds):
        for w, args in chosen.items():
            order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
            for b in order:
                rate, other = run(builds[b], args, a.duration, a.warmup,
                                  configs[b])
                res.setdefault((w, b), []).append(rate)
                print("round %d %s %-6s %9.0f msg/s  other cpu %s%%"
                      % (r, w, b, rate, other), flush=True)
    for w in chosen:
        bb, aa = res[(w, "before")], res[(w, "after")]
        ratios = [x / y for x, y in zip(aa, bb)]
        print("%s before %.2f M (%.2f-%.2f), after %.2f M (%.2f-%.2f), "
              "after/before per round %s, median %.2f"
              % (w, statistics.median(bb) / 1e6, min(bb) / 1e6,
                 max(bb) / 1e6, statistics.median(aa) / 1e6,
                 min(aa) / 1e6, max(aa) / 1e6,
                 " ".join("%.2f" % x for x in ratios),
                 statistics.median(ratios)))


if __name__ == "__main__":
    main()

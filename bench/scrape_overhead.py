#!/usr/bin/env python3
"""W1 with --http on and /metrics scraped every second, against W1 without
it: the same build, interleaved in one sitting (issue 19's measure: within
3 %). Each round runs both, alternating which goes first.

    bench/scrape_overhead.py --bin build/bin [--rounds 6] [--duration 5]
                             [--port 9464] [--every 1.0]

Prints each run, then the medians and the median of the per-round ratios
(with/without). The scraper checks every response is a 200 with samples.
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import run  # noqa: E402  one runner for both scripts

W1 = "--pubs 1 --subs 1 --size 64"


class Scraper(threading.Thread):
    def __init__(self, url, every):
        super().__init__(daemon=True)
        self.url, self.every = url, every
        self.stop = threading.Event()
        self.ok = self.failed = 0

    def run(self):
        while not self.stop.wait(self.every):
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    body = r.read()
                if r.status == 200 and b"callosum_messages_published_total" in body:
                    self.ok += 1
                else:
                    self.failed += 1
            except OSError:
                # the router is not up yet, or gone between runs
                self.failed += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--port", type=int, default=9464)
    ap.add_argument("--every", type=float, default=1.0)
    a = ap.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("http = 127.0.0.1:%d\n" % a.port)
        conf = f.name
    off, on, ratios, scrapes = [], [], [], 0
    try:
        for r in range(a.rounds):
            order = ["off", "on"] if r % 2 == 0 else ["on", "off"]
            got = {}
            for which in order:
                if which == "on":
                    s = Scraper("http://127.0.0.1:%d/metrics" % a.port,
                                a.every)
                    s.start()
                    got[which] = run(a.bin, W1, a.duration, a.warmup,
                                     conf)[0]
                    s.stop.set()
                    s.join()
                    scrapes += s.ok
                else:
                    got[which] = run(a.bin, W1, a.duration, a.warmup)[0]
                print("round %d %-3s %12.0f msg/s" % (r, which, got[which]),
                      flush=True)
            off.append(got["off"])
            on.append(got["on"])
            ratios.append(got["on"] / got["off"])
    finally:
        os.unlink(conf)
    print("W1 without http: median %.0f msg/s" % statistics.median(off))
    print("W1 with http + /metrics every %.1fs: median %.0f msg/s "
          "(%d good scrapes)" % (a.every, statistics.median(on), scrapes))
    print("with/without, median of rounds: %.3f" % statistics.median(ratios))
    if scrapes == 0:
        raise SystemExit("no scrape succeeded: the measure is void")


if __name__ == "__main__":
    main()

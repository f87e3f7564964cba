#!/usr/bin/env python3
"""Throughput of the Python client through callosumd.

A publisher (this process) and a subscriber (a child process, the same
script with --role sub) on one tract, 64-byte bodies by default. Two
publisher modes:

- ``nowait``: ``publish_nowait`` in a loop, then one ``ping`` (the barrier);
- ``ack``: ``publish`` awaiting every ack, ``asyncio.gather`` of ``--window``
  (256) at a time.

The figure is messages/s from the publisher's first send to the subscriber's
last receive; the publisher's own rate (until its last send, or last ack) is
printed too. The subscriber uses automatic demand (``--credit``, 1024) and
``overflow: block`` with a deep pending queue, so a subscriber that falls
behind slows the publisher down instead of losing messages.

Unless --socket is given, a private callosumd is started on a socket in a
temp dir (binary: $CALLOSUMD, else build/bin/callosumd under the repository
root) with publish_timeout_ms = 60000, and stopped at the end.

    python3 tools/python/bench_client.py                  # both modes
    python3 tools/python/bench_client.py --mode ack -n 100000 --cross
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import callosum  # noqa: E402

ROOT = HERE.parents[1]


async def subscriber(a) -> None:
    async with await callosum.connect(a.socket, agent="bench-sub") as c:
        async with c.subscribe(a.tract, credit=a.credit,
                               max_pending=a.max_pending) as sub:
            print("ready", flush=True)
            n = 0
            first = last = 0.0
            nbytes = 0
            async for m in sub:
                if n == 0:
                    first = time.time()
                n += 1
                nbytes += len(m.body)
                if n == a.count:
                    last = time.time()
                    break
    print(json.dumps({"received": n, "first": first, "last": last,
                      "bytes": nbytes}), flush=True)


async def publisher(a) -> dict:
    body = b"x" * a.size
    frm = "bench-src" if a.cross else None
    async with await callosum.connect(a.socket, agent="bench-pub") as c:
        await c.ping()
        t0 = time.time()
        if a.mode == "nowait":
            pub = c.publish_nowait
            for _ in range(a.count):
                await pub(a.tract, body, from_=frm)
            t_sent = time.time()
            await c.ping()
        else:
            left = a.count
            while left:
                k = min(a.window, left)
                await asyncio.gather(*(c.publish(a.tract, body, from_=frm)
                                       for _ in range(k)))
                left -= k
            t_sent = time.time()
        return {"t0": t0, "t_sent": t_sent}


def start_router(tmp: Path) -> "tuple[subprocess.Popen, str]":
    binary = os.environ.get("CALLOSUMD") or str(ROOT / "build" / "bin" /
                                                "callosumd")
    path = str(tmp / "bench.sock")
    conf = tmp / "bench.conf"
    conf.write_text("publish_timeout_ms = 60000\nmax_pending_limit = 1048576\n")
    p = subprocess.Popen([binary, "--socket", path, "--config", str(conf),
                          "--log-level", "error"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return p, path
        except OSError:
            time.sleep(0.02)
        finally:
            s.close()
    p.kill()
    raise SystemExit("callosumd did not start")


def run_one(a) -> dict:
    sub = subprocess.Popen(
        [sys.executable, __file__, "--role", "sub", "--socket", a.socket,
         "-n", str(a.count), "--tract", a.tract, "--credit", str(a.credit),
         "--max-pending", str(a.max_pending)],
        stdout=subprocess.PIPE, text=True)
    assert sub.stdout.readline().strip() == "ready"
    pub = asyncio.run(publisher(a))
    out, _ = sub.communicate(timeout=600)
    r = json.loads(out.strip().splitlines()[-1])
    if r["received"] != a.count:
        raise SystemExit(f"subscriber got {r['received']} of {a.count}")
    total = r["last"] - pub["t0"]
    return {"mode": a.mode, "count": a.count, "size": a.size,
            "cross": a.cross, "msgs_per_s": a.count / total,
            "pub_msgs_per_s": a.count / (pub["t_sent"] - pub["t0"]),
            "seconds": total}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", choices=["bench", "sub"], default="bench")
    ap.add_argument("--mode", choices=["nowait", "ack", "both"], default="both")
    ap.add_argument("-n", "--count", type=int, default=200000)
    ap.add_argument("--size", type=int, default=64, help="body bytes (64)")
    ap.add_argument("--window", type=int, default=256,
                    help="publishes awaited together in ack mode (256)")
    ap.add_argument("--credit", type=int, default=1024)
    ap.add_argument("--max-pending", type=int, default=1048576)
    ap.add_argument("--tract", default="bench")
    ap.add_argument("--cross", action="store_true",
                    help="publish from another tract: logged (stored: memory)")
    ap.add_argument("--socket", help="an already running router")
    ap.add_argument("--json", action="store_true", help="one JSON line a run")
    a = ap.parse_args()
    if a.role == "sub":
        asyncio.run(subscriber(a))
        return 0
    router = tmp = None
    if a.socket is None:
        tmp = Path(tempfile.mkdtemp(prefix="callosum-bench-"))
        router, a.socket = start_router(tmp)
    try:
        modes = ["nowait", "ack"] if a.mode == "both" else [a.mode]
        for mode in modes:
            a.mode = mode
            r = run_one(a)
            if a.json:
                print(json.dumps(r), flush=True)
            else:
                how = ("publish_nowait" if mode == "nowait" else
                       f"publish, windows of {a.window}")
                print(f"{how:28s} {r['count']} x {r['size']} B "
                      f"{'cross' if a.cross else 'same'}-tract: "
                      f"{r['msgs_per_s']:>9.0f} msg/s end to end "
                      f"(publisher {r['pub_msgs_per_s']:.0f} msg/s)",
                      flush=True)
    finally:
        if router is not None:
            router.send_signal(signal.SIGTERM)
            router.wait(15)
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

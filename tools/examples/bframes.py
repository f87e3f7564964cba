#!/usr/bin/env python3
"""Emit bframes and watch the router promote their patterns.

A bframe is a message of kind ``bframe`` that carries a ``pattern``: a short
name for something an agent noticed itself doing (``retry-then-escalate``,
``ask-before-delete``). The router's synthesizer counts each one, and once a
pattern has been seen often enough, from enough distinct sessions and models
(by default 3 occurrences, 2 sessions, 2 models), it announces the pattern
once on ``$candidates`` (kind ``candidate``).

    python3 tools/examples/bframes.py                       # default patterns
    python3 tools/examples/bframes.py -p plan-then-act -p verify-after-write
    python3 tools/examples/bframes.py --agents 1 --no-watch # just emit

It plays ``--agents`` agents (default 3), each a connection with its own
session and one of two models, and each emits one bframe per pattern into
its tract. Before emitting it subscribes to ``$candidates`` and then prints
every candidate that arrives, until each pattern has been promoted (exit 0)
or ``--watch`` seconds pass (exit 1). A pattern promoted by an earlier run is
not announced again: pick new names to see it happen twice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
import msgpack  # noqa: E402

import callosum  # noqa: E402

DEFAULT_PATTERNS = ["retry-then-escalate", "ask-before-delete",
                    "summarize-then-answer"]


async def emit(socket, i: int, tract: str, patterns: list[str],
               run: str) -> None:
    async with await callosum.connect(socket, agent=f"bframes-{i}",
                                      session=f"{run}-session-{i}",
                                      model=f"model-{'ab'[i % 2]}",
                                      tract=tract) as c:
        for p in patterns:
            ack = await c.publish(tract, f"agent {i} noticed {p}",
                                  kind="bframe", pattern=p,
                                  headers={"run": run})
            print(f"bframe {p!r} from agent {i}: {ack.eid} ({ack.stored})",
                  flush=True)


async def main_async(a) -> int:
    run = f"bf{os.getpid()}"
    async with await callosum.connect(a.socket, agent="bframes-watch") as w:
        async with w.subscribe("$candidates", credit=16,
                               kinds=["candidate"]) as cands:
            await asyncio.gather(*(emit(a.socket, i, a.tract, a.pattern, run)
                                   for i in range(a.agents)))
            if not a.watch:
                return 0
            want = set(a.pattern)
            try:
                async with asyncio.timeout(a.watch):
                    async for m in cands:
                        if not isinstance(m, callosum.Message):
                            continue
                        info = msgpack.unpackb(m.body, raw=False)
                        print(f"candidate {m.pattern!r}: "
                              f"{info.get('occurrences')} occurrences, "
                              f"sessions {info.get('sessions')}, "
                              f"models {info.get('models')}", flush=True)
                        want.discard(m.pattern)
                        if not want:
                            return 0
            except TimeoutError:
                pass
            print(f"not promoted within {a.watch:g}s: {sorted(want)}",
                  file=sys.stderr)
            return 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-p", "--pattern", action="append",
                    help="a pattern to emit (repeatable; at most 128 bytes)")
    ap.add_argument("--agents", type=int, default=3,
                    help="agents to play, each its own session (default 3)")
    ap.add_argument("--tract", default="internal")
    ap.add_argument("--socket", help="the router's socket")
    ap.add_argument("--watch", type=float, default=10.0,
                    help="seconds to wait for the candidates (default 10)")
    ap.add_argument("--no-watch", dest="watch", action="store_const",
                    const=0.0, help="emit and exit")
    a = ap.parse_args()
    a.pattern = a.pattern or DEFAULT_PATTERNS
    try:
        return asyncio.run(main_async(a))
    except (callosum.CallosumError, OSError) as e:
        print(f"bframes: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

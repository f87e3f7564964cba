#!/usr/bin/env python3
"""Two agents in dialogue across tracts.

Run one side per terminal, in either order:

    python3 tools/examples/dialogue.py internal 10
    python3 tools/examples/dialogue.py external 10

Each agent lives on its home tract, listens there, and speaks into the other
one (``internal`` <-> ``external``; ``--peer`` names another). Every message
is cross-tract, so the router logs it and ``callosum replay`` shows the
conversation afterwards. The side whose tract sorts first opens; the other
announces itself (kind ``dialogue.ready``, repeated until the opener
answers), so whichever starts first simply waits. They exchange N turns and
exit 0; a side that hears nothing from its peer for ``--wait`` seconds exits 1.

Needs only the client in tools/python (found next to this file) and
python3-msgpack. ``--socket`` defaults to $XDG_RUNTIME_DIR/callosum.sock,
else /tmp/callosum.sock.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
import callosum  # noqa: E402

PEERS = {"internal": "external", "external": "internal"}
QUESTIONS = ["What is worth saying first?", "Why does order matter?",
             "What did the other side just hear?", "Where does a turn end?",
             "Who keeps the record?", "What would you replay?"]


def say(me: str, turn: int, asked: "str | None",
        opener: bool) -> tuple[str, str]:
    """This side's line and its question: an answer to ``asked``, then one back."""
    question = QUESTIONS[(2 * turn + (not opener)) % len(QUESTIONS)]
    if asked is None:
        return f"{me} #{turn}: {question}", question
    return f"{me} #{turn}: you asked \"{asked}\"; noted. {question}", question


async def next_turn(sub: callosum.Subscription, wait: float,
                    kind: str) -> callosum.Message:
    """The next message of ``kind`` (others, such as extra readies, skipped)."""
    while True:
        item = await asyncio.wait_for(sub.__anext__(), wait)
        if isinstance(item, callosum.Message) and item.kind == kind:
            return item


async def run(me: str, peer: str, turns: int, socket: "str | None",
              wait: float) -> int:
    opener = me < peer
    async with await callosum.connect(socket, agent=f"dialogue-{me}",
                                      session=f"dialogue-{os.getpid()}",
                                      model="example", tract=me) as c:
        async with c.subscribe(me, credit=8,
                               kinds=["dialogue.ready", "dialogue.turn"]) as sub:
            if opener:
                print(f"{me}: waiting for {peer}", flush=True)
                await next_turn(sub, wait, "dialogue.ready")
                asked = None
                for t in range(1, turns + 1):
                    text, q = say(me, t, asked, True)
                    await c.publish(peer, text, kind="dialogue.turn",
                                    headers={"turn": str(t), "q": q})
                    print(f"-> {text}", flush=True)
                    m = await next_turn(sub, wait, "dialogue.turn")
                    asked = m.headers.get("q")
                    print(f"<- {m.text}", flush=True)
            else:
                async def announce():
                    while True:
                        await c.publish(peer, f"{me} is here",
                                        kind="dialogue.ready")
                        await asyncio.sleep(0.5)

                ready = asyncio.create_task(announce())
                try:
                    m = await next_turn(sub, wait, "dialogue.turn")
                finally:
                    ready.cancel()
                    await asyncio.gather(ready, return_exceptions=True)
                for t in range(1, turns + 1):
                    if t > 1:
                        m = await next_turn(sub, wait, "dialogue.turn")
                    print(f"<- {m.text}", flush=True)
                    text, q = say(me, t, m.headers.get("q"), False)
                    await c.publish(peer, text, kind="dialogue.turn",
                                    headers={"turn": m.headers.get("turn", ""),
                                             "q": q})
                    print(f"-> {text}", flush=True)
    print(f"{me}: {turns} turns done", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tract", help="this agent's home tract")
    ap.add_argument("turns", type=int, nargs="?", default=10)
    ap.add_argument("--peer", help="the other agent's tract "
                    "(default: internal <-> external)")
    ap.add_argument("--socket", help="the router's socket")
    ap.add_argument("--wait", type=float, default=60.0,
                    help="seconds to wait for the peer (default 60)")
    a = ap.parse_args()
    peer = a.peer or PEERS.get(a.tract)
    if peer is None or peer == a.tract:
        ap.error("give --peer, a tract other than this one")
    try:
        return asyncio.run(run(a.tract, peer, a.turns, a.socket, a.wait))
    except asyncio.TimeoutError:
        print(f"{a.tract}: no word from {peer} in {a.wait:g}s", file=sys.stderr)
        return 1
    except (callosum.CallosumError, OSError) as e:
        print(f"{a.tract}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

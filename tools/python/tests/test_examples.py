"""tools/examples/*.py as processes, against a real callosumd."""

from __future__ import annotations

import subprocess
import sys
import time

import msgpack
import pytest

import callosum
from conftest import ROOT

EXAMPLES = ROOT / "tools" / "examples"


def run(args, **kw):
    return subprocess.Popen([sys.executable, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


@pytest.mark.parametrize("first", ["internal", "external"])
def test_dialogue_answers_n_times_then_exits(router, first):
    second = "external" if first == "internal" else "internal"
    a = run([EXAMPLES / "dialogue.py", first, 10, "--socket", router.path,
             "--wait", 20])
    time.sleep(0.3)                       # whichever starts first waits
    b = run([EXAMPLES / "dialogue.py", second, 10, "--socket", router.path,
             "--wait", 20])
    outs = {}
    for tract, p in ((first, a), (second, b)):
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        outs[tract] = out.splitlines()
    for tract, lines in outs.items():
        sent = [l for l in lines if l.startswith("-> ")]
        got = [l for l in lines if l.startswith("<- ")]
        assert len(sent) == 10 and len(got) == 10
        assert lines[-1] == f"{tract}: 10 turns done"
    # what one side said, the other heard, in order
    for me, other in ((first, second), (second, first)):
        assert [l[3:] for l in outs[me] if l.startswith("-> ")] == \
            [l[3:] for l in outs[other] if l.startswith("<- ")]


async def test_dialogue_is_in_the_log(router):
    a = run([EXAMPLES / "dialogue.py", "internal", 3, "--socket", router.path])
    b = run([EXAMPLES / "dialogue.py", "external", 3, "--socket", router.path])
    for p in (a, b):
        _, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
    async with await callosum.connect(router.path, agent="check") as c:
        turns = [m async for m in c.replay(kinds=["dialogue.turn"])]
    assert len(turns) == 6
    assert [m.from_ for m in turns] == ["external", "internal"] * 3
    assert [m.headers["turn"] for m in turns] == ["1", "1", "2", "2", "3", "3"]


def test_dialogue_gives_up_without_peer(router):
    p = run([EXAMPLES / "dialogue.py", "internal", 2, "--socket", router.path,
             "--wait", 0.5])
    _, err = p.communicate(timeout=30)
    assert p.returncode == 1 and "no word from external" in err


async def test_bframes_are_promoted(router):
    async with await callosum.connect(router.path, agent="check") as c:
        async with c.subscribe("$candidates", credit=16) as cands:
            p = run([EXAMPLES / "bframes.py", "--socket", router.path,
                     "-p", "py-test-pattern", "-p", "another-pattern"])
            out, err = p.communicate(timeout=30)
            assert p.returncode == 0, err
            lines = out.splitlines()
            assert sum(l.startswith("bframe ") for l in lines) == 6
            assert sum(l.startswith("candidate ") for l in lines) == 2
            seen = set()
            while len(seen) < 2:
                m = await cands.__anext__()
                if m.kind == "candidate":
                    info = msgpack.unpackb(m.body, raw=False)
                    assert info["occurrences"] == 3
                    assert len(info["models"]) == 2
                    seen.add(m.pattern)
            assert seen == {"py-test-pattern", "another-pattern"}
        bf = [m async for m in c.replay(kinds=["bframe"])]
        assert len(bf) == 6 and all(m.pattern for m in bf)


def test_bframes_not_promoted_exits_1(router):
    p = run([EXAMPLES / "bframes.py", "--socket", router.path, "--agents", 1,
             "-p", "lonely", "--watch", 0.5])
    _, err = p.communicate(timeout=30)
    assert p.returncode == 1 and "lonely" in err
    p = run([EXAMPLES / "bframes.py", "--socket", router.path, "--agents", 1,
             "-p", "lonely", "--no-watch"])
    p.communicate(timeout=30)
    assert p.returncode == 0

"""The Python client against a real callosumd (see conftest.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

import callosum


async def conn(r, agent="py-test", **kw):
    return await callosum.connect(r.path, agent=agent, **kw)


async def next_item(sub, timeout=5.0):
    return await asyncio.wait_for(sub.__anext__(), timeout)


async def until(pred, timeout=5.0, step=0.01):
    deadline = time.monotonic() + timeout
    while True:
        v = await pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


# -- connect, publish, ack


async def test_welcome_and_default_socket(start_router, monkeypatch):
    r = start_router()
    async with await conn(r) as c:
        assert c.max_frame == 1048576
        assert {"internal", "external", "$sys", "$candidates"} <= set(c.tracts)
        assert c.server.startswith("callosum/")
        assert isinstance(c.conn_id, int)
        assert 0 <= await c.ping() < 1
    # socket=None: $XDG_RUNTIME_DIR/callosum.sock
    os.symlink(r.path, r.dir / "callosum.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(r.dir))
    assert callosum.default_socket() == str(r.dir / "callosum.sock")
    async with await callosum.connect(agent="xdg") as c:
        await c.ping()
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert callosum.default_socket() == "/tmp/callosum.sock"


async def test_connect_errors(router, tmp_path):
    with pytest.raises(callosum.ReservedTract) as ei:
        await conn(router, tract="$sys")
    assert ei.value.code == "reserved_tract"
    with pytest.raises(callosum.BadTract):
        await conn(router, tract="no spaces")
    with pytest.raises(OSError):
        await callosum.connect(str(tmp_path / "nothing.sock"), agent="x")


async def test_publish_every_field_and_stored(router):
    async with await conn(router, agent="pub-a", session="sess-1",
                          model="model-x", tract="internal") as c:
        async with c.subscribe("external", credit=8) as sub, \
                c.subscribe("internal", credit=8) as own:
            ack = await c.publish("external", b"\x00\xffbin", kind="note",
                                  pri=0.25, pattern="p-1",
                                  headers={"idempotency_key": "k1",
                                           "traceparent": "00-ab-cd-01"})
            assert isinstance(ack, callosum.Ack)
            assert ack.stored == "memory"          # internal -> external
            m = await next_item(sub)
            assert isinstance(m, callosum.Message)
            assert (m.sid, m.eid, m.from_, m.to) == (sub.sid, ack.eid,
                                                    "internal", "external")
            assert (m.kind, m.pri, m.pattern) == ("note", 0.25, "p-1")
            assert (m.agent, m.session, m.model) == ("pub-a", "sess-1",
                                                     "model-x")
            assert m.body == b"\x00\xffbin"
            assert m.headers == {"idempotency_key": "k1",
                                 "traceparent": "00-ab-cd-01"}
            assert abs(m.ts / 1e6 - time.time()) < 60

            # same tract: not logged; str body comes back as bytes
            ack2 = await c.publish("internal", "héllo")
            assert ack2.stored == "none"
            m2 = await next_item(own)
            assert (m2.from_, m2.to, m2.kind, m2.pri) == ("internal",
                                                         "internal", "msg", 0.5)
            assert m2.body == "héllo".encode() and m2.text == "héllo"
            assert m2.pattern is None and m2.headers == {}
            assert callosum.eid_key(ack2.eid) > callosum.eid_key(ack.eid)

            # explicit from_ overrides the home tract; equal from/to: none
            ack3 = await c.publish("external", b"x", from_="external")
            assert ack3.stored == "none"
            ack4 = await c.publish("external", b"y", from_="other")
            assert ack4.stored == "memory"
            assert [(await next_item(sub)).from_ for _ in range(2)] == [
                "external", "other"]


async def test_publish_nowait_and_deferred_error(router):
    async with await conn(router, tract="internal") as a, \
            await conn(router, agent="rx") as b:
        async with b.subscribe("external", credit=64) as sub:
            for i in range(10):
                await a.publish_nowait("external", f"n{i}".encode())
            await a.ping()
            got = [(await next_item(sub)).body for _ in range(10)]
            assert got == [f"n{i}".encode() for i in range(10)]
        await a.publish_nowait("$sys", b"nope")
        with pytest.raises(callosum.ReservedTract):
            await a.ping()                        # barrier: raises it
        await a.ping()                            # raised once only
        await a.publish_nowait("bad tract!", b"nope")
        await asyncio.sleep(0.2)                   # the err has arrived
        with pytest.raises(callosum.BadTract):
            await a.publish("external", b"next awaited call")


# -- errors


async def test_error_codes(start_router):
    r = start_router({"publish_timeout_ms": 1,
                      "breaker_failure_threshold": 3,
                      "breaker_reset_timeout_ms": 60000})
    async with await conn(r, tract="internal") as a, \
            await conn(r, agent="stuck") as b:
        with pytest.raises(callosum.ReservedTract) as ei:
            await a.publish("$sys", b"x")
        assert ei.value.code == "reserved_tract" and ei.value.msg
        assert isinstance(ei.value, callosum.RouterError)
        with pytest.raises(callosum.ReservedTract):
            await a.publish("external", b"x", from_="$candidates")
        with pytest.raises(callosum.BadTract) as ei:
            await a.publish("no/slash", b"x")
        assert ei.value.code == "bad_tract"
        with pytest.raises(callosum.BadRequest):
            await a.publish("external", b"x", pri=2)
        with pytest.raises(callosum.BadTract):
            async with a.subscribe("$nope"):
                pass
        with pytest.raises(callosum.BadRequest):
            [m async for m in a.replay(from_eid="garbage")]
        with pytest.raises(callosum.LimitExceeded):
            async with a.subscribe("external", max_pending=10**9):
                pass
        with pytest.raises(ValueError):
            a.subscribe("external", overflow="sometimes")
        with pytest.raises(TypeError):
            await a.publish("external", 42)

        # backpressure: a block subscriber that never consumes
        async with b.subscribe("stuck", credit=1, max_pending=1) as sub:
            await a.publish("stuck", b"delivered")    # uses the credit
            await a.publish("stuck", b"pending")      # fills the queue
            for _ in range(3):
                with pytest.raises(callosum.Backpressure) as ei:
                    await a.publish("stuck", b"no room")
                assert ei.value.code == "backpressure"
            # three failures in a row open the tract's breaker
            with pytest.raises(callosum.CircuitOpen) as ei:
                await a.publish("stuck", b"refused")
            assert ei.value.code == "circuit_open"
            await a.publish("external", b"other tracts still work")
            assert sub.buffered() == 1
        # the connection is still usable after all of these
        assert await a.ping() >= 0


def test_error_mapping():
    for code, cls in callosum.ERRORS.items():
        e = callosum.RouterError.from_frame({"op": "err", "code": code,
                                             "msg": "m", "id": 7})
        assert type(e) is cls and e.code == code and e.msg == "m" and e.id == 7
    e = callosum.RouterError.from_frame({"op": "err", "code": "future_code"})
    assert type(e) is callosum.RouterError and e.code == "future_code"
    assert issubclass(callosum.StoreUnavailable, callosum.RouterError)
    assert issubclass(callosum.ConnectionClosed, ConnectionError)


# -- demand


async def test_automatic_demand_bounds_outstanding(start_router):
    r = start_router({"publish_timeout_ms": 20000})
    credit = 8
    total = 200
    async with await conn(r, agent="slow") as sc, \
            await conn(r, agent="fast", tract="internal") as pc:
        async with sc.subscribe("external", credit=credit,
                                max_pending=10000) as sub:
            await asyncio.gather(*(pc.publish("external", f"{i}".encode())
                                   for i in range(total)))
            got = []
            seen_pending = 0
            while len(got) < total:
                m = await next_item(sub)
                got.append(int(m.body))
                # the consumer is slow: everything else waits on the router
                if len(got) % 20 == 1:
                    await asyncio.sleep(0.05)
                    rows = {x["conn"]: x for x in await pc.conns()}
                    me = rows[sc.conn_id]
                    # received-but-unconsumed (buffer + the item in hand)
                    # plus the demand left on the router never pass credit
                    assert sub.buffered() + 1 + me["demand"] <= credit
                    assert sub.buffered() + 1 <= credit
                    seen_pending = max(seen_pending, me["pending"])
                assert sub.buffered() + 1 <= credit
            assert got == list(range(total))
            assert seen_pending > total // 2       # the router's queue filled


async def test_drop_subscriber_lag_then_replay_gap(router):
    async with await conn(router, agent="dropper") as sc, \
            await conn(router, tract="internal") as pc:
        async with sc.subscribe("external", credit=1, overflow="drop",
                                max_pending=4) as sub:
            acks = [await pc.publish("external", f"{i}".encode())
                    for i in range(50)]
            await pc.ping()
            first = await next_item(sub)
            assert first.eid == acks[0].eid
            lag = await next_item(sub)
            assert isinstance(lag, callosum.Lag)
            assert lag.sid == sub.sid
            assert (lag.dropped, lag.first, lag.last) == (45, acks[1].eid,
                                                          acks[45].eid)
            rest = [await next_item(sub) for _ in range(4)]
            assert [m.eid for m in rest] == [a.eid for a in acks[46:]]
            # the gap, from the log
            gap = [m async for m in sc.replay(from_eid=lag.first,
                                              to_eid=lag.last,
                                              tract="external")]
            assert [m.eid for m in gap] == [a.eid for a in acks[1:46]]
            assert [int(m.body) for m in gap] == list(range(1, 46))
            assert all(m.sid != sub.sid for m in gap)


async def test_subscribe_from_eid_catch_up(router):
    async with await conn(router, tract="internal") as c:
        acks = [await c.publish("external", f"{i}".encode()) for i in range(5)]
        async with c.subscribe("external", credit=2,
                               from_eid=acks[2].eid) as sub:
            await c.publish("external", b"live")
            got = [(await next_item(sub)).body for _ in range(4)]
            assert got == [b"2", b"3", b"4", b"live"]


# -- replay


async def test_replay_ranges(router):
    async with await conn(router, tract="internal") as c:
        a = [await c.publish("rA", f"a{i}", kind="even" if i % 2 == 0
                             else "odd") for i in range(20)]
        b = [await c.publish("rB", f"b{i}") for i in range(5)]
        await c.publish("internal", b"same tract, not logged")

        async def eids(**kw):
            return [m.eid async for m in c.replay(**kw)]

        assert await eids() == [x.eid for x in a + b]
        assert await eids(from_eid=a[5].eid, to_eid=a[9].eid) == \
            [x.eid for x in a[5:10]]
        assert await eids(from_eid=a[5].eid, limit=3) == \
            [x.eid for x in a[5:8]]
        assert await eids(to_eid=a[2].eid) == [x.eid for x in a[:3]]
        assert await eids(tract="rB") == [x.eid for x in b]
        assert await eids(tract="rA", kinds=["odd"]) == \
            [x.eid for x in a[1::2]]
        assert await eids(tract="nowhere") == []
        # more than the replay's internal credit: demand is automatic
        many = [await c.publish("rC", b"m") for _ in range(600)]
        assert await eids(tract="rC") == [x.eid for x in many]
        # leaving early cancels the replay on the router (the sid is freed)
        it = c.replay(tract="rC")
        async for _ in it:
            break
        await it.aclose()
        rows = await c.conns()
        assert [x["subs"] for x in rows if x["conn"] == c.conn_id] == [0]


# -- many calls at once


async def test_concurrent_publishes_on_one_connection(router):
    async with await conn(router, tract="internal") as c, \
            await conn(router, agent="rx") as rx:
        async with rx.subscribe("external", credit=64) as sub:
            results = await asyncio.gather(
                *(c.publish("external", f"{i}".encode(),
                            headers={"n": str(i)}) for i in range(200)),
                c.ping(), c.stats(), c.conns())
            acks = results[:200]
            assert all(a.stored == "memory" for a in acks)
            assert len({a.eid for a in acks}) == 200
            keys = [callosum.eid_key(a.eid) for a in acks]
            assert keys == sorted(keys)       # sent in order, acked in order
            assert isinstance(results[201], dict)
            got = [await next_item(sub) for _ in range(200)]
            assert [m.eid for m in got] == [a.eid for a in acks]
            assert [m.headers["n"] for m in got] == [str(i) for i in range(200)]


async def test_stats(router):
    async with await conn(router, tract="internal") as c:
        await c.publish("external", b"x")
        s = await c.stats()
        assert "op" not in s and s["server"].startswith("callosum/")
        assert s["callosum_messages_published_total"]["external"] >= 1


# -- the connection ends


async def test_sigkill_raises_connection_closed_promptly(start_router):
    r = start_router({"publish_timeout_ms": 30000})
    c = await conn(r, tract="internal")
    b = await conn(r, agent="stuck")
    sub = await b.subscribe("external", credit=1, max_pending=1).start()
    quiet_b = await b.subscribe("quiet").start()
    quiet_c = await c.subscribe("quiet").start()
    await c.publish("external", b"1")
    await c.publish("external", b"2")
    parked = asyncio.create_task(c.publish("external", b"3"))  # waits for room
    waiting = [asyncio.create_task(s.__anext__()) for s in (quiet_b, quiet_c)]
    await asyncio.sleep(0.1)
    assert not parked.done() and not any(w.done() for w in waiting)
    assert sub.buffered() == 1
    t0 = time.monotonic()
    r.signal(signal.SIGKILL)
    with pytest.raises(callosum.ConnectionClosed):
        await asyncio.wait_for(parked, 2)
    for w in waiting:
        with pytest.raises(callosum.ConnectionClosed) as ei:
            await asyncio.wait_for(w, 2)
        assert ei.value.reason == "eof"
    # the item already received is still handed out, then the error
    assert (await next_item(sub, 2)).body == b"1"
    with pytest.raises(callosum.ConnectionClosed):
        await next_item(sub, 2)
    assert time.monotonic() - t0 < 2
    with pytest.raises(callosum.ConnectionClosed):
        await c.ping()
    with pytest.raises(callosum.ConnectionClosed):
        await c.publish_nowait("external", b"x")
    assert c.closed and b.closed


async def test_sigkill_while_iterating(start_router):
    r = start_router()
    c = await conn(r)

    async def consume():
        async with c.subscribe("external") as sub:
            async for _ in sub:
                pass

    task = asyncio.create_task(consume())
    await until(lambda: _subs_of(c, 1))
    r.signal(signal.SIGKILL)
    with pytest.raises(callosum.ConnectionClosed):
        await asyncio.wait_for(task, 2)


async def _subs_of(c, n):
    rows = await c.conns()
    return [x for x in rows if x["conn"] == c.conn_id][0]["subs"] == n


async def test_bye_on_sigterm_ends_iteration_cleanly(router):
    c = await conn(router, tract="internal")
    got = []

    async def consume():
        async with c.subscribe("external", credit=4) as sub:
            async for m in sub:
                got.append(m.body)
        return "done"

    task = asyncio.create_task(consume())
    await until(lambda: _subs_of(c, 1))
    await c.publish("external", b"before")
    await until(lambda: _true(len(got) == 1))
    router.signal(signal.SIGTERM)
    assert await asyncio.wait_for(task, 5) == "done"
    assert got == [b"before"]
    with pytest.raises(callosum.ConnectionClosed) as ei:
        await c.ping()
    assert ei.value.reason == "shutdown"
    assert router.proc.wait(10) == 0


async def _true(v):
    return v


async def test_close_fails_pending_calls(start_router):
    r = start_router({"publish_timeout_ms": 30000})
    c = await conn(r, tract="internal")
    b = await conn(r, agent="stuck")
    async with b.subscribe("external", credit=1, max_pending=1):
        await c.publish("external", b"1")
        await c.publish("external", b"2")
        parked = asyncio.create_task(c.publish("external", b"3"))
        await asyncio.sleep(0.05)
        await c.close()
        with pytest.raises(callosum.ConnectionClosed) as ei:
            await asyncio.wait_for(parked, 2)
        assert ei.value.reason == "closed"
    await b.close()


# -- sizes


async def test_large_bodies_near_max_frame(start_router):
    r = start_router({"max_frame": 65536})
    async with await conn(r, tract="internal") as c, \
            await conn(r, agent="rx") as rx:
        assert c.max_frame == 65536
        bodies = [bytes([i]) * 65000 for i in range(8)]
        async with rx.subscribe("external", credit=4) as sub:
            acks = await asyncio.gather(*(c.publish(
                "external", b, headers={"h": "v" * 300}, kind="k" * 64)
                for b in bodies))
            for i in range(8):
                m = await next_item(sub)
                assert m.eid == acks[i].eid and m.body == bodies[i]
        got = [m.body async for m in c.replay(tract="external")]
        assert got == bodies
        with pytest.raises(ValueError):
            await c.publish("external", b"x" * 65536)
        await c.ping()                         # still usable

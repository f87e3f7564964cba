"""The asyncio connection to callosumd (protocol v1, router/PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import struct
from typing import Any, AsyncIterator, Iterable

import msgpack

from .errors import ConnectionClosed, RouterError
from .types import Ack, Lag, Message

__all__ = ["connect", "default_socket", "Connection", "Subscription"]

_LEN = struct.Struct(">I")
_REPLAY_CREDIT = 256
DEFAULT_MAX_FRAME = 1048576


def default_socket() -> str:
    """``$XDG_RUNTIME_DIR/callosum.sock``, else ``/tmp/callosum.sock``."""
    run = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(run, "callosum.sock") if run else "/tmp/callosum.sock"


async def connect(socket: "str | os.PathLike | None" = None, *, agent: str,
                  session: "str | None" = None, model: "str | None" = None,
                  tract: "str | None" = None,
                  timeout: "float | None" = 5.0) -> "Connection":
    """Open a connection to the router and say hello.

    ``socket`` is the router's Unix socket path; None means
    :func:`default_socket`. ``agent``, ``session`` and ``model`` are stamped
    on every message this connection publishes; ``tract`` is its home tract,
    the default ``from`` of :meth:`Connection.publish`. ``timeout`` bounds
    the connect and the hello/welcome exchange (None: no bound); it raises
    :class:`TimeoutError`. A refused hello raises :class:`RouterError`
    (``bad_request``, ``bad_tract``, ``reserved_tract``), a refused
    connection :class:`ConnectionClosed` (``unauthorized``, ``limit``) or
    :class:`OSError` (no router listening).

    The result is an async context manager that closes the connection::

        async with await callosum.connect(agent="a") as c:
            ...
    """
    path = os.fspath(socket) if socket is not None else default_socket()
    loop = asyncio.get_running_loop()
    conn = Connection(loop)
    hello = {"op": "hello", "v": 1, "agent": agent}
    if session is not None:
        hello["session"] = session
    if model is not None:
        hello["model"] = model
    if tract is not None:
        hello["tract"] = tract
    try:
        async with asyncio.timeout(timeout):
            await loop.create_unix_connection(lambda: _Protocol(conn), path)
            welcome = await conn._call(hello, check=False)
    except BaseException:
        conn._abort(ConnectionClosed("closed"))
        raise
    conn._welcome(welcome)
    return conn


class _Protocol(asyncio.Protocol):
    """Cuts the byte stream into frames and hands them to the connection."""

    def __init__(self, conn: "Connection"):
        self._conn = conn
        self._buf = bytearray()
        self.transport: "asyncio.Transport | None" = None
        self.paused = False
        self.drain_waiters: collections.deque = collections.deque()

    def connection_made(self, transport):
        self.transport = transport
        self._conn._proto = self

    def data_received(self, data):
        buf = self._buf
        buf += data
        size = len(buf)
        off = 0
        conn = self._conn
        limit = conn.max_frame + 1024
        unpackb = msgpack.unpackb
        with memoryview(buf) as mv:
            while size - off >= 4:
                (n,) = _LEN.unpack_from(buf, off)
                if n == 0 or n > limit:
                    conn._abort(ConnectionClosed(
                        f"router frame of {n} bytes (limit {limit})"))
                    return
                end = off + 4 + n
                if end > size:
                    break
                try:
                    frame = unpackb(mv[off + 4:end], raw=False)
                except Exception as e:  # noqa: BLE001 - any decode failure
                    conn._abort(ConnectionClosed(f"undecodable frame: {e}"))
                    return
                off = end
                if type(frame) is not dict:
                    conn._abort(ConnectionClosed("router frame not a map"))
                    return
                conn._dispatch(frame)
                if conn._closed is not None:
                    return
        if off:
            del buf[:off]

    def connection_lost(self, exc):
        self._conn._abort(ConnectionClosed(
            "eof" if exc is None else f"lost: {exc}", self._conn._last_error))
        self._wake_drain()

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        self._wake_drain()

    def _wake_drain(self):
        while self.drain_waiters:
            w = self.drain_waiters.popleft()
            if not w.done():
                w.set_result(None)


class _Stream:
    """What a subscription and a replay share: a buffer and automatic demand.

    The router sends at most ``credit`` messages before the client grants
    more. An item counts as consumed when the application asks for the
    next one; consumed items are granted back in batches of
    ``max(1, credit // 2)``. So the items received but not yet consumed
    (the buffer plus the one in the application's hands) plus the demand
    left on the router never exceed ``credit``.
    """

    def __init__(self, conn: "Connection", credit: int):
        if not isinstance(credit, int) or credit < 1:
            raise ValueError("credit must be an int >= 1")
        self._conn = conn
        self.sid = next(conn._sids)
        self.credit = credit
        self._batch = max(1, credit // 2)
        self._buf: collections.deque = collections.deque()
        self._waiter: "asyncio.Future | None" = None
        self._held = False          # the last item yielded was a Message
        self._done = 0              # consumed, not yet granted back
        self._ended = False         # end, unsub or bye: stop after the buffer
        self._exc: "BaseException | None" = None
        self._live = False          # the sid is registered on the router

    # -- from the connection

    def _feed(self, f: dict) -> None:
        op = f.get("op")
        if op == "msg":
            self._buf.append(Message.from_frame(f))
        elif op == "lag":
            self._buf.append(Lag(f.get("sid"), f.get("dropped", 0),
                                 f.get("first", ""), f.get("last", "")))
        elif op == "end":
            self._ended = True
            self._release()
        else:
            return
        self._wake()

    def _finish(self, exc: "BaseException | None") -> None:
        """The connection ended: with ``bye`` (exc None) or otherwise."""
        if exc is not None and self._exc is None and not self._ended:
            self._exc = exc
        self._ended = True
        self._live = False
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _release(self) -> None:
        self._live = False
        if self._conn._subs.get(self.sid) is self:
            del self._conn._subs[self.sid]

    # -- to the application

    def __aiter__(self):
        return self

    async def __anext__(self) -> "Message | Lag":
        if self._held:
            self._held = False
            self._done += 1
            if self._done >= self._batch and self._live and not self._ended:
                n, self._done = self._done, 0
                self._conn._send_ignored({"op": "req", "sid": self.sid, "n": n})
        while True:
            if self._buf:
                item = self._buf.popleft()
                if type(item) is Message:
                    self._held = True
                return item
            if self._exc is not None:
                raise self._exc
            if self._ended:
                raise StopAsyncIteration
            self._waiter = self._conn._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def buffered(self) -> int:
        """Items received from the router and not yet handed out."""
        return len(self._buf)

    async def _cancel(self) -> None:
        """unsub, and wait for its ack (after which no msg follows)."""
        if not self._live or self._conn._closed is not None:
            self._release()
            self._ended = True
            return
        self._live = False
        try:
            await self._conn._call({"op": "unsub", "sid": self.sid},
                                   check=False)
        except (RouterError, ConnectionClosed):
            pass
        finally:
            self._ended = True
            self._release()
            self._wake()

    def _cancel_nowait(self) -> None:
        if self._live and self._conn._closed is None:
            self._conn._send_ignored({"op": "unsub", "sid": self.sid})
        self._ended = True
        self._release()


class Subscription(_Stream):
    """A live subscription to one tract; see :meth:`Connection.subscribe`.

    Use it as an async context manager (``async with`` subscribes on entry
    and unsubscribes on exit) and iterate it with ``async for``: it yields
    :class:`Message` and :class:`Lag` items in the order the router sent
    them.

    **Demand (the Reactive Streams contract).** The subscription starts
    with ``credit`` units of demand and grants more by itself as the
    application consumes items: an item is consumed when the application
    asks for the next one, and consumed items are granted back in batches
    (``req``) of ``max(1, credit // 2)``. At no time are more than
    ``credit`` messages outstanding: received but not yet consumed, or
    granted but not yet received. A consumer that stops pulling therefore
    holds at most ``credit`` messages in this process; the rest waits in the
    router's pending queue, where ``overflow`` decides what happens when it
    is full (``"block"`` holds publishers back, ``"drop"`` discards the
    oldest and yields a :class:`Lag` before the next message).

    **Ending.** The iteration stops cleanly (``StopAsyncIteration``) after
    the router's ``bye``, or once the subscription has been closed. When the
    connection drops, the items already received are still yielded, then
    :class:`ConnectionClosed` is raised.
    """

    def __init__(self, conn: "Connection", tract: str, credit: int,
                 kinds: "Iterable[str] | None", from_eid: "str | None",
                 overflow: str, max_pending: "int | None"):
        super().__init__(conn, credit)
        self.tract = tract
        self._req: dict[str, Any] = {"op": "sub", "sid": self.sid,
                                     "tract": tract, "credit": credit,
                                     "overflow": overflow}
        if kinds is not None:
            self._req["kinds"] = list(kinds)
        if from_eid is not None:
            self._req["from_eid"] = from_eid
        if max_pending is not None:
            self._req["max_pending"] = max_pending

    async def start(self) -> "Subscription":
        """Send the ``sub`` and wait for its ack (``async with`` does this)."""
        if self._live:
            return self
        conn = self._conn
        conn._subs[self.sid] = self
        self._live = True
        try:
            await conn._call(self._req)
        except BaseException:
            self._live = False
            self._release()
            raise
        return self

    async def close(self) -> None:
        """Unsubscribe; iteration then stops once the buffer is empty."""
        await self._cancel()

    async def __aenter__(self) -> "Subscription":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self._cancel()


class Connection:
    """One connection to callosumd; create it with :func:`connect`.

    Every method may be called concurrently from many tasks: requests carry
    ids and their replies are matched by id, messages are dispatched to
    subscriptions by sid. Nothing blocks the event loop; a background
    reader (the protocol's ``data_received``) handles frames as they come.

    Attributes from the router's ``welcome``: ``conn_id``, ``server``,
    ``max_frame`` (the largest frame the router accepts; its own frames can
    be up to ``max_frame + 1024`` bytes, and are read at that size),
    ``tracts``.

    Once the connection is closed, every call raises
    :class:`ConnectionClosed`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._proto: "_Protocol | None" = None
        self._packer = msgpack.Packer(use_bin_type=True)
        self._ids = itertools.count(1)
        self._sids = itertools.count(1)
        self._waiters: dict[int, "asyncio.Future | None"] = {}
        self._subs: dict[int, _Stream] = {}
        self._errors: collections.deque = collections.deque()
        self._wbuf: list[bytes] = []    # frames not yet given to the transport
        self._wlen = 0
        self._flush_soon = False
        self._last_error: "RouterError | None" = None
        self._closed: "ConnectionClosed | None" = None
        self.conn_id: "int | None" = None
        self.server = ""
        self.max_frame = DEFAULT_MAX_FRAME
        self.tracts: list[str] = []

    def _welcome(self, w: dict) -> None:
        self.conn_id = w.get("conn")
        self.server = w.get("server", "")
        self.max_frame = w.get("max_frame", DEFAULT_MAX_FRAME)
        self.tracts = list(w.get("tracts") or [])

    # -- frames in

    def _dispatch(self, f: dict) -> None:
        sid = f.get("sid")
        op = f.get("op")
        if sid is not None and op in ("msg", "lag", "end"):
            s = self._subs.get(sid)
            if s is not None:
                s._feed(f)
            return
        rid = f.get("id")
        if rid is not None:
            fut = self._waiters.pop(rid, None)
            if fut is not None and not fut.done():
                if op == "err":
                    fut.set_exception(RouterError.from_frame(f))
                else:
                    fut.set_result(f)
            return
        if op == "err":
            e = RouterError.from_frame(f)
            self._last_error = e
            self._errors.append(e)
        elif op == "bye":
            self._abort(ConnectionClosed(f.get("reason") or "bye",
                                         self._last_error), bye=True)

    def _abort(self, exc: ConnectionClosed, bye: bool = False) -> None:
        """Close for good: fail every waiting call, end every iterator."""
        if self._closed is not None:
            return
        self._closed = exc
        waiters, self._waiters = self._waiters, {}
        for fut in waiters.values():
            if fut is not None and not fut.done():
                fut.set_exception(exc)
        subs, self._subs = self._subs, {}
        for s in subs.values():
            s._finish(None if bye else exc)
        if self._proto is not None:
            t = self._proto.transport
            if t is not None:
                if self._wbuf and not t.is_closing():
                    t.write(b"".join(self._wbuf))
                self._wbuf.clear()
                t.close()
            self._proto._wake_drain()

    # -- frames out

    def _check(self) -> None:
        if self._errors:
            raise self._errors.popleft()
        if self._closed is not None:
            raise self._closed

    def _send(self, frame: dict) -> None:
        data = self._packer.pack(frame)
        if len(data) > self.max_frame:
            raise ValueError(f"frame of {len(data)} bytes exceeds the "
                             f"router's max_frame {self.max_frame}")
        if self._closed is not None:
            raise self._closed
        # Frames are gathered and handed to the transport once per pass of
        # the event loop (or every 64 KiB): one send() for many frames.
        self._wbuf.append(_LEN.pack(len(data)))
        self._wbuf.append(data)
        self._wlen += len(data) + 4
        if self._wlen >= 65536:
            self._flush()
        elif not self._flush_soon:
            self._flush_soon = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        if self._wbuf:
            data = b"".join(self._wbuf)
            self._wbuf.clear()
            self._wlen = 0
            if self._closed is None:
                self._proto.transport.write(data)

    def _send_ignored(self, frame: dict) -> None:
        """Send with an id whose reply (ack or err) is dropped."""
        rid = next(self._ids)
        frame["id"] = rid
        self._waiters[rid] = None
        try:
            self._send(frame)
        except (ValueError, ConnectionClosed):
            self._waiters.pop(rid, None)

    async def _call(self, frame: dict, check: bool = True) -> dict:
        if check:
            self._check()
        elif self._closed is not None:
            raise self._closed
        rid = next(self._ids)
        frame["id"] = rid
        fut = self._loop.create_future()
        self._waiters[rid] = fut
        try:
            self._send(frame)
            if self._proto.paused:
                await self._drain()
            return await fut
        finally:
            self._waiters.pop(rid, None)

    async def _drain(self) -> None:
        proto = self._proto
        while proto.paused and self._closed is None:
            w = self._loop.create_future()
            proto.drain_waiters.append(w)
            await w
        if self._closed is not None:
            raise self._closed

    # -- the API

    @staticmethod
    def _pub(to, body, from_, kind, pri, pattern, headers) -> dict:
        if isinstance(body, (bytearray, memoryview)):
            body = bytes(body)
        elif not isinstance(body, (bytes, str)):
            raise TypeError("body must be bytes or str")
        f: dict[str, Any] = {"op": "pub", "to": to, "body": body}
        if from_ is not None:
            f["from"] = from_
        if kind is not None:
            f["kind"] = kind
        if pri is not None:
            f["pri"] = float(pri)
        if pattern is not None:
            f["pattern"] = pattern
        if headers:
            f["hdr"] = dict(headers)
        return f

    async def publish(self, to: str, body: "bytes | str", *,
                      from_: "str | None" = None, kind: "str | None" = None,
                      pri: "float | None" = None, pattern: "str | None" = None,
                      headers: "dict[str, str] | None" = None) -> Ack:
        """Publish one message into tract ``to`` and wait for the router's ack.

        ``body`` is bytes (sent as msgpack bin) or str (sent as str; it must
        be valid UTF-8). ``from_`` is the source tract (default: the hello's
        ``tract``, else ``to``); when it differs from ``to`` the message is
        cross-tract and logged. ``kind`` defaults to ``"msg"``, ``pri``
        (0..1) to 0.5; ``pattern`` goes with ``kind="bframe"``; ``headers``
        is a dict of str to str (the protocol's ``hdr``: correlation ids,
        ``idempotency_key``, trace context...).

        Returns :class:`Ack` ``(eid, stored)``. Raises :class:`RouterError`
        subclasses: :class:`ReservedTract`, :class:`BadTract`,
        :class:`BadRequest`, :class:`Backpressure`, :class:`CircuitOpen`,
        :class:`StoreUnavailable`, :class:`ShuttingDown`,
        :class:`LimitExceeded`; :class:`ValueError` for a frame larger than
        ``max_frame``. An error left by an earlier :meth:`publish_nowait`
        is raised first, before anything is sent.
        """
        f = await self._call(self._pub(to, body, from_, kind, pri, pattern,
                                       headers))
        return Ack(f.get("eid", ""), f.get("stored", ""))

    async def publish_nowait(self, to: str, body: "bytes | str", *,
                             from_: "str | None" = None,
                             kind: "str | None" = None,
                             pri: "float | None" = None,
                             pattern: "str | None" = None,
                             headers: "dict[str, str] | None" = None) -> None:
        """Publish without an id: fire and forget. Arguments as :meth:`publish`.

        Nothing is awaited but room in the socket's write buffer (flow
        control), so a fast loop of these is throttled by the router. The
        router reports a failure with an ``err`` without id; that error is
        raised by the next awaited call on this connection: at its start
        when it has already arrived. :meth:`ping` is a barrier: the router
        answers in order, so it raises any error of the publishes sent
        before it.
        """
        self._check()
        self._send(self._pub(to, body, from_, kind, pri, pattern, headers))
        if self._proto.paused:
            await self._drain()

    def subscribe(self, tract: str, *, credit: int = 64,
                  kinds: "Iterable[str] | None" = None,
                  from_eid: "str | None" = None, overflow: str = "block",
                  max_pending: "int | None" = None) -> Subscription:
        """A subscription to ``tract``, to use with ``async with``.

        ``credit`` (>= 1) bounds the messages outstanding at any time (see
        :class:`Subscription` for the automatic demand); ``kinds`` keeps
        only these kinds; ``from_eid`` first catches up from the log (the
        cross-tract events into ``tract`` from that id), then goes live with
        no gap; ``overflow`` is ``"block"`` (publishers wait for room, then
        get :class:`Backpressure`) or ``"drop"`` (oldest pending messages are
        dropped and a :class:`Lag` is yielded); ``max_pending`` sizes the
        router's pending queue (default: the router's ``max_pending``).

        ``async with`` raises :class:`RouterError` (``bad_tract``,
        ``limit``, ``bad_request``) on entry::

            async with c.subscribe("external", credit=16) as sub:
                async for item in sub:
                    ...
        """
        if overflow not in ("block", "drop"):
            raise ValueError('overflow must be "block" or "drop"')
        return Subscription(self, tract, credit, kinds, from_eid, overflow,
                            max_pending)

    async def replay(self, *, from_eid: "str | None" = None,
                     to_eid: "str | None" = None, tract: "str | None" = None,
                     kinds: "Iterable[str] | None" = None,
                     limit: "int | None" = None) -> AsyncIterator[Message]:
        """Read the event log back: an async iterator of :class:`Message`.

        Yields the logged (cross-tract, or bframe with a pattern) events
        with ``from_eid <= eid <= to_eid`` (inclusive; defaults: the oldest
        held, and the newest when the router receives the request) whose
        ``from`` or ``to`` is ``tract`` (default: every tract), whose kind
        is in ``kinds`` (default: every kind), at most ``limit`` of them.
        The iteration ends at the router's ``end``. Demand is automatic, as
        for a subscription. Leaving the loop early cancels the replay on
        the router. Raises :class:`RouterError` on the first iteration for
        a refused request (``bad_request`` for a malformed eid,
        ``bad_tract``, ``limit``).
        """
        r = _Stream(self, _REPLAY_CREDIT)
        req: dict[str, Any] = {"op": "replay", "sid": r.sid,
                               "credit": _REPLAY_CREDIT}
        if from_eid is not None:
            req["from"] = from_eid
        if to_eid is not None:
            req["to"] = to_eid
        if tract is not None:
            req["tract"] = tract
        if kinds is not None:
            req["kinds"] = list(kinds)
        if limit is not None:
            req["limit"] = limit
        self._subs[r.sid] = r
        r._live = True
        try:
            try:
                await self._call(req)
            except BaseException:
                r._live = False
                r._release()
                raise
            async for item in r:
                yield item
        finally:
            r._cancel_nowait()

    async def ping(self) -> float:
        """Round trip to the router, in seconds.

        Also a barrier for :meth:`publish_nowait`: raises the error of any
        publish sent before it.
        """
        t0 = self._loop.time()
        await self._call({"op": "ping"})
        rtt = self._loop.time() - t0
        self._check()
        return rtt

    async def stats(self) -> dict:
        """The router's metrics snapshot (the ``stats`` frame, without op and id)."""
        f = await self._call({"op": "stats"})
        self._check()
        f.pop("op", None)
        f.pop("id", None)
        return f

    async def conns(self) -> list[dict]:
        """The router's connections: dicts with ``conn``, ``agent``, ``session``,
        ``model``, ``uid``, ``subs``, ``demand``, ``pending``, ``outq``."""
        f = await self._call({"op": "conns"})
        self._check()
        return list(f.get("conns") or [])

    @property
    def closed(self) -> bool:
        """True once the connection has ended (closed, dropped or ``bye``)."""
        return self._closed is not None

    async def close(self) -> None:
        """Close the connection; pending calls raise :class:`ConnectionClosed`.

        Frames already handed to the socket are still written out.
        """
        self._abort(ConnectionClosed("closed"))
        await asyncio.sleep(0)

    async def __aenter__(self) -> "Connection":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

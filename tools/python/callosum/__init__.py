"""Callosum: an asyncio client for the callosumd message router.

Pure asyncio, one dependency (``msgpack``; Debian: ``python3-msgpack``).
It speaks protocol v1 (router/PROTOCOL.md): 4-byte big-endian length plus
one msgpack map per frame.

Quick start::

    import asyncio, callosum

    async def main():
        async with await callosum.connect(agent="demo", tract="internal") as c:
            async with c.subscribe("external", credit=16) as sub:
                ack = await c.publish("external", b"hello")   # Ack(eid, stored)
                async for item in sub:
                    if isinstance(item, callosum.Lag):
                        continue              # item.first..item.last were dropped
                    print(item.eid, item.from_, "->", item.to, item.body)
                    break

    asyncio.run(main())

API:

- :func:`connect` -> :class:`Connection` (an async context manager).
- :meth:`Connection.publish` -> :class:`Ack`; :meth:`Connection.publish_nowait`
  (fire and forget; errors surface on the next awaited call).
- :meth:`Connection.subscribe` -> :class:`Subscription` (``async with``, then
  ``async for``: :class:`Message` and :class:`Lag`), with automatic demand.
- :meth:`Connection.replay` -> async iterator of :class:`Message`, ending at
  the router's ``end``.
- :meth:`Connection.ping` -> seconds; :meth:`Connection.stats` -> dict;
  :meth:`Connection.conns` -> list of dicts.
- Errors: :class:`RouterError` (``.code``, ``.msg``) and one subclass per
  code (:class:`CircuitOpen`, :class:`Backpressure`,
  :class:`StoreUnavailable`, :class:`ReservedTract`, :class:`BadTract`, ...);
  :class:`ConnectionClosed` in every pending call and iterator when the
  connection drops. The router's ``bye`` ends iterators cleanly.
"""

from .client import (DEFAULT_MAX_FRAME, Connection, Subscription, connect,
                     default_socket)
from .errors import (ERRORS, Backpressure, BadFrame, BadRequest, BadTract,
                     CallosumError, CircuitOpen, ConnectionClosed,
                     DuplicateSid, HelloRequired, InternalError, LimitExceeded,
                     ReservedTract, RouterError, ShuttingDown,
                     StoreUnavailable, Unauthorized, UnknownOp, UnknownSid)
from .types import Ack, Lag, Message, eid_key

__version__ = "0.1.0"

__all__ = [
    "connect", "default_socket", "Connection", "Subscription",
    "Ack", "Message", "Lag", "eid_key", "DEFAULT_MAX_FRAME",
    "CallosumError", "ConnectionClosed", "RouterError", "ERRORS",
    "BadFrame", "BadRequest", "UnknownOp", "HelloRequired", "UnknownSid",
    "DuplicateSid", "BadTract", "ReservedTract", "CircuitOpen",
    "Backpressure", "StoreUnavailable", "Unauthorized", "LimitExceeded",
    "ShuttingDown", "InternalError",
]

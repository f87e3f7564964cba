"""Values the client hands back: :class:`Ack`, :class:`Message`, :class:`Lag`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Ack(NamedTuple):
    """The router accepted a publish.

    ``eid`` is the event id (``"MS-SEQ"``; compare with :func:`eid_key`),
    ``stored`` where the event is logged: ``"none"`` (same-tract, not
    logged, not replayable), ``"memory"`` (the router's in-memory log) or
    ``"redis"``.
    """

    eid: str
    stored: str


@dataclass(slots=True)
class Message:
    """One message delivered on a subscription or a replay.

    ``sid`` is the subscription it arrived on; ``eid`` its event id;
    ``from_`` and ``to`` the source and destination tracts; ``kind``;
    ``pri`` (float, 0..1); ``agent``, ``session``, ``model`` as the
    publisher's hello gave them (``""`` when it gave none); ``ts`` the time
    the router accepted it, in microseconds since the Unix epoch; ``body``
    as bytes (a body published as str arrives UTF-8 encoded; ``text``
    decodes it); ``pattern`` (or None); ``headers``, the publisher's ``hdr``
    (an empty dict when it set none).
    """

    sid: int
    eid: str
    from_: str
    to: str
    kind: str
    pri: float
    agent: str
    session: str
    model: str
    ts: int
    body: bytes
    pattern: "str | None" = None
    headers: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")

    @classmethod
    def from_frame(cls, f: dict) -> "Message":
        body = f.get("body")
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is None:
            body = b""
        return cls(f.get("sid"), f.get("eid"), f.get("from"), f.get("to"),
                   f.get("kind", "msg"), f.get("pri", 0.5), f.get("agent", ""),
                   f.get("session", ""), f.get("model", ""), f.get("ts", 0),
                   body, f.get("pattern"), f.get("hdr") or {})


@dataclass(slots=True, frozen=True)
class Lag:
    """A ``drop`` subscription lost messages to its full pending queue.

    Yielded in place, just before the next message. ``dropped`` messages
    were discarded, from event id ``first`` to ``last`` (inclusive): pass
    them to :meth:`Connection.replay` as ``from_eid``/``to_eid`` (with the
    subscription's tract) to recover those that were cross-tract.
    """

    sid: int
    dropped: int
    first: str
    last: str


def eid_key(eid: str) -> tuple[int, int]:
    """The event id ``"MS-SEQ"`` as a sortable pair of ints."""
    ms, _, seq = eid.partition("-")
    return int(ms), int(seq or 0)

"""Exceptions raised by the Callosum client.

Every error that the router reports with an ``err`` frame becomes a
:class:`RouterError` (or one of its subclasses, chosen by the frame's
``code``). A connection that ends while calls or iterators are waiting on it
raises :class:`ConnectionClosed` in each of them.
"""

from __future__ import annotations


class CallosumError(Exception):
    """Base class of every exception this package raises on purpose."""


class ConnectionClosed(CallosumError, ConnectionError):
    """The connection to the router is gone.

    Raised in every pending call and iterator when the socket closes, the
    router sends ``bye`` while a call still waits for its reply, or the
    application closed the connection. ``reason`` is the ``bye`` reason
    (``"shutdown"``, ``"output_limit"``), ``"eof"`` when the router closed
    the socket (or died) without ``bye``, ``"closed"`` when the application
    closed it, or a short description of a local failure. ``error`` is the
    last ``err`` frame without an id that came before the close (for example
    ``bad_frame`` or ``hello_required``), as a :class:`RouterError`, or None.
    """

    def __init__(self, reason: str = "closed", error: "RouterError | None" = None):
        self.reason = reason
        self.error = error
        text = f"connection to the router closed ({reason})"
        if error is not None:
            text += f" after {error.code}: {error.msg}"
        super().__init__(text)


class RouterError(CallosumError):
    """The router refused a request with ``err``.

    ``code`` is the protocol's error code (``"bad_request"``, ...), ``msg``
    the router's human-readable text (do not parse it), ``id`` the request
    id the ``err`` carried (None for an error without one, such as the
    failure of a :meth:`Connection.publish_nowait`).
    """

    code = "internal"

    def __init__(self, code: str, msg: str = "", id: "int | None" = None):
        self.code = code
        self.msg = msg
        self.id = id
        super().__init__(f"{code}: {msg}" if msg else code)

    @staticmethod
    def from_frame(frame: dict) -> "RouterError":
        """The exception for an ``err`` frame, of the subclass its code names."""
        code = frame.get("code") or "internal"
        cls = ERRORS.get(code, RouterError)
        return cls(code, frame.get("msg") or "", frame.get("id"))


class BadFrame(RouterError):
    """``bad_frame``: the router could not parse a frame; it closes the connection."""


class BadRequest(RouterError, ValueError):
    """``bad_request``: a field missing, of the wrong type, out of range or too long."""


class UnknownOp(RouterError):
    """``unknown_op``: the router does not know the op."""


class HelloRequired(RouterError):
    """``hello_required``: a request before a successful hello."""


class UnknownSid(RouterError):
    """``unknown_sid``: req/unsub for a sid with no live subscription or replay."""


class DuplicateSid(RouterError):
    """``duplicate_sid``: sub/replay with a sid already in use."""


class BadTract(RouterError, ValueError):
    """``bad_tract``: an invalid tract name, or an unknown ``$`` name."""


class ReservedTract(RouterError, ValueError):
    """``reserved_tract``: publishing to or from ``$sys``/``$candidates``."""


class CircuitOpen(RouterError):
    """``circuit_open``: the tract's breaker is open; back off and retry later."""


class Backpressure(RouterError):
    """``backpressure``: a full ``block`` subscriber held the publish too long."""


class StoreUnavailable(RouterError):
    """``store_unavailable``: the event log could not take or keep the event.

    The message may still have been delivered (at-least-once): retry with
    the same ``idempotency_key`` header.
    """


class Unauthorized(RouterError, PermissionError):
    """``unauthorized``: this uid may not talk to the router."""


class LimitExceeded(RouterError):
    """``limit``: a configured bound (subscriptions, max_pending, tracts, connections)."""


class ShuttingDown(RouterError):
    """``shutting_down``: the router is draining; a ``bye`` follows."""


class InternalError(RouterError):
    """``internal``: a fault inside the router."""


ERRORS: dict[str, type[RouterError]] = {
    "bad_frame": BadFrame,
    "bad_request": BadRequest,
    "unknown_op": UnknownOp,
    "hello_required": HelloRequired,
    "unknown_sid": UnknownSid,
    "duplicate_sid": DuplicateSid,
    "bad_tract": BadTract,
    "reserved_tract": ReservedTract,
    "circuit_open": CircuitOpen,
    "backpressure": Backpressure,
    "store_unavailable": StoreUnavailable,
    "unauthorized": Unauthorized,
    "limit": LimitExceeded,
    "shutting_down": ShuttingDown,
    "internal": InternalError,
}
for _code, _cls in ERRORS.items():
    _cls.code = _code
del _code, _cls

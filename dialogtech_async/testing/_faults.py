"""Faults the sandbox can inject, and the queue that hands them to requests.

Every fault is a small frozen dataclass; queue one with ``SandboxApp.add_fault()``::

    Fault
    ├── Latency            sleep before anything is sent (before the status line)
    ├── ChunkLatency       sleep between body chunks (the first chunk is not delayed)
    ├── ErrorStatus        answer with an HTTP error status (429 with Retry-After, 5xx, ...)
    ├── DropBeforeHeaders  close the connection without sending a byte
    ├── DropMidBody        send part of the body, then close the connection (an incomplete
    │                      chunked body: the client sees a protocol error, not a clean end)
    ├── TruncatedBody      send part of the body, then end the response cleanly
    ├── MalformedBody      one record of the report is malformed (wrong CSV field count,
    │                      mismatched XML tag, JSON missing a colon)
    ├── InBandError        HTTP 200 with the legacy XML error body
    └── SlowAnswer         click-to actions answer this much later than usual

A request takes at most one fault of each class: the oldest queued one that matches it.
So two queued ``ErrorStatus`` faults hit two successive requests, while a ``Latency`` and
an ``ErrorStatus`` queued together hit the same request.

The second half of the module puts the body faults on the wire: ``send_response()``
streams a Response chunk by chunk and cuts, breaks, delays or drops it as asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import itertools
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, TypeVar

__all__ = [
    "ChunkLatency",
    "DropBeforeHeaders",
    "DropMidBody",
    "ErrorStatus",
    "Fault",
    "FaultQueue",
    "InBandError",
    "Latency",
    "MalformedBody",
    "Response",
    "SlowAnswer",
    "TruncatedBody",
    "drop_connection",
    "send_response",
    "sleep_unless",
    "status_response",
]

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

_TEXT = "text/plain; charset=utf-8"
_DROP_WAIT = 1.0  # seconds to let the server notice a connection we closed


@dataclass(frozen=True)
class Fault:
    """Base class of every injectable fault."""


@dataclass(frozen=True)
class Latency(Fault):
    """Wait ``seconds`` before sending the status line and headers."""

    seconds: float


@dataclass(frozen=True)
class ChunkLatency(Fault):
    """Wait ``seconds`` before each body chunk after the first one."""

    seconds: float


@dataclass(frozen=True)
class ErrorStatus(Fault):
    """Answer with HTTP ``status`` and a short text body instead of the real response.

    ``retry_after`` (seconds, or an HTTP date as text) is sent as the ``Retry-After``
    header when it is not None. ``body`` replaces the default text (the reason phrase).
    """

    status: int = 503
    retry_after: int | str | None = None
    body: str | None = None


@dataclass(frozen=True)
class DropBeforeHeaders(Fault):
    """Close the connection before sending any byte of the response."""


@dataclass(frozen=True)
class DropMidBody(Fault):
    """Send the first ``after_bytes`` body bytes (or the first ``after_records`` records and
    everything before them), then close the connection without ending the chunked body.

    With neither set, the whole body is sent but never terminated.
    """

    after_bytes: int | None = None
    after_records: int | None = None

    def __post_init__(self) -> None:
        _check_cut(self.after_bytes, self.after_records, required=False)


@dataclass(frozen=True)
class TruncatedBody(Fault):
    """Send only the first ``after_bytes`` body bytes (or the first ``after_records``
    records and everything before them), then end the response cleanly.

    There is no Content-Length, so the client sees a short body that looks complete.
    """

    after_bytes: int | None = None
    after_records: int | None = None

    def __post_init__(self) -> None:
        _check_cut(self.after_bytes, self.after_records, required=True)


def _check_cut(after_bytes: int | None, after_records: int | None, *, required: bool) -> None:
    if after_bytes is not None and after_records is not None:
        raise ValueError("give after_bytes or after_records, not both")
    if required and after_bytes is None and after_records is None:
        raise ValueError("give after_bytes or after_records")
    if min(after_bytes or 0, after_records or 0) < 0:
        raise ValueError("after_bytes and after_records must not be negative")


@dataclass(frozen=True)
class MalformedBody(Fault):
    """Make the record at index ``at_record`` (0-based, in body order) malformed.

    CSV: the row lacks its last field. XML: the record's first closing tag is misspelt.
    JSON: the record's first key lacks its colon. Bodies without records are unaffected.
    """

    at_record: int = 0


@dataclass(frozen=True)
class InBandError(Fault):
    """Answer HTTP 200 with the legacy XML error body.

    ``result`` is the ``<result>`` text (``failed``, ``INVALID ACCOUNT``, ...); a
    ``<message>`` element follows it when ``message`` is not None.
    """

    result: str = "failed"
    message: str | None = "Service temporarily unavailable"


@dataclass(frozen=True)
class SlowAnswer(Fault):
    """Delay the answer of ``clickto.call`` / ``clickto.vr`` by ``seconds`` more, after the
    request was accepted (the call is "placed", the first leg is slow to pick up)."""

    seconds: float


F = TypeVar("F", bound=Fault)


class AppliedFaults:
    """The faults one request took from the queue, at most one per class."""

    def __init__(self, faults: dict[type[Fault], Fault] | None = None) -> None:
        self._faults: dict[type[Fault], Fault] = faults or {}

    def get(self, kind: type[F]) -> F | None:
        """Return this request's fault of class ``kind``, or None."""
        fault = self._faults.get(kind)
        return fault if isinstance(fault, kind) else None

    def __bool__(self) -> bool:
        return bool(self._faults)


@dataclass
class _Entry:
    fault: Fault
    path: str | None
    action: str | None
    endpoint: str | None
    remaining: int | None  # None: every matching request, until cleared

    def matches(self, endpoint: str, path: str, action: str | None) -> bool:
        if self.path is not None and not fnmatchcase(path, self.path):
            return False
        if self.action is not None and self.action != action:
            return False
        return self.endpoint is None or self.endpoint == endpoint


class FaultQueue:
    """Thread-safe queue of faults: tests add from their thread, the server takes from its."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []

    def add(
        self,
        fault: Fault,
        *,
        path: str | None = None,
        action: str | None = None,
        endpoint: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Queue ``fault`` for the next ``times`` matching requests (None: all of them)."""
        if not isinstance(fault, Fault):
            raise TypeError(f"expected a Fault, got {fault!r}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        with self._lock:
            self._entries.append(_Entry(fault, path, action, endpoint, times))

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._entries.clear()

    def pending(self) -> int:
        """Number of queued entries not yet used up."""
        with self._lock:
            return len(self._entries)

    def take(self, endpoint: str, path: str, action: str | None) -> AppliedFaults:
        """Consume the faults for one request (the oldest matching entry of each class)."""
        taken: dict[type[Fault], Fault] = {}
        with self._lock:
            for entry in list(self._entries):
                kind = type(entry.fault)
                if kind in taken or not entry.matches(endpoint, path, action):
                    continue
                taken[kind] = entry.fault
                if entry.remaining is not None:
                    entry.remaining -= 1
                    if entry.remaining == 0:
                        self._entries.remove(entry)
        return AppliedFaults(taken)


# --- putting faults on the wire ---------------------------------------------------------


@dataclass
class Response:
    """A response, possibly a record stream: ``body [prefix rec (separator prefix rec)*] tail``.

    Without records, ``body`` is the whole body.
    """

    status: int
    content_type: str
    body: bytes = b""  # the whole body, or the part before the first record
    records: Iterable[Callable[[bool], bytes]] | None = None  # encoders: broken -> bytes
    prefix: bytes = b""  # before every record
    separator: bytes = b""  # between records
    tail: bytes = b""
    empty_body: bytes | None = None  # the whole body when there is no record
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


async def sleep_unless(disconnected: asyncio.Event, seconds: float) -> None:
    """Sleep, but stop early when the client has gone (no point answering it)."""
    if seconds > 0:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(disconnected.wait(), seconds)


def status_response(fault: ErrorStatus) -> Response:
    """The short text response an ErrorStatus fault asks for."""
    try:
        phrase = http.HTTPStatus(fault.status).phrase
    except ValueError:
        phrase = "Error"
    body = (fault.body if fault.body is not None else phrase).encode()
    response = Response(fault.status, _TEXT, body)
    if fault.retry_after is not None:
        response.headers.append((b"retry-after", str(fault.retry_after).encode()))
    return response


async def drop_connection(send: Send, disconnected: asyncio.Event) -> None:
    """Close the connection under the response, whatever was sent so far.

    Raises:
        ConnectionAbortedError: the server is not uvicorn (its transport is out of reach);
            servers close the connection when an app fails mid-response.
    """
    # uvicorn's send is a bound method of its request cycle, which holds the transport.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.BaseTransport):
        raise ConnectionAbortedError("sandbox fault: connection dropped")
    transport.close()  # flushes what was written, then FIN: an incomplete response
    # Once uvicorn has seen the connection go, it stays quiet about the unfinished reply.
    await sleep_unless(disconnected, _DROP_WAIT)


async def send_response(
    send: Send,
    response: Response,
    faults: AppliedFaults,
    *,
    chunk_rows: int,
    disconnected: asyncio.Event,
) -> None:
    """Send ``response``, generating its records chunk by chunk, with the body faults."""
    cut: DropMidBody | TruncatedBody | None = faults.get(DropMidBody) or faults.get(TruncatedBody)
    headers = [(b"content-type", response.content_type.encode()), *response.headers]
    if response.records is None and cut is None:
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    malformed = faults.get(MalformedBody)
    pieces = _pieces(
        response,
        chunk_rows,
        broken_at=None if malformed is None else malformed.at_record,
        max_records=None if cut is None else cut.after_records,
    )
    delay = faults.get(ChunkLatency)
    limit = None if cut is None else cut.after_bytes
    sent = 0
    for n, piece in enumerate(pieces):
        if disconnected.is_set():
            return  # the client left: stop generating
        if n and delay is not None:
            await sleep_unless(disconnected, delay.seconds)
        if limit is not None and sent + len(piece) >= limit:
            await send(
                {"type": "http.response.body", "body": piece[: limit - sent], "more_body": True}
            )
            break
        await send({"type": "http.response.body", "body": piece, "more_body": True})
        sent += len(piece)
        # uvicorn's send only yields when the socket buffer is full: yield anyway, so that
        # other connections get served and a client that left is noticed (connection_lost).
        await asyncio.sleep(0)
    if isinstance(cut, DropMidBody):
        await drop_connection(send, disconnected)
    else:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _pieces(
    response: Response, chunk_rows: int, *, broken_at: int | None, max_records: int | None
) -> Iterator[bytes]:
    """The body in chunks of ``chunk_rows`` records, each generated when it is asked for.

    With ``max_records``, stop (before the tail) once that many records were produced.
    """
    if response.records is None:
        yield response.body
        return
    records = iter(response.records)
    first = next(records, None)
    if first is None:
        empty = response.empty_body
        yield response.body + response.tail if empty is None else empty
        return
    buffer = [response.body]
    for count, encode in enumerate(itertools.chain([first], records)):
        if count == max_records:
            # The cut record ends with what follows it (CSV's line break), or a reader
            # could not tell it was whole.
            if count:
                buffer.append(response.separator + response.prefix)
            yield b"".join(buffer)
            return
        if count:
            buffer.append(response.separator)
        buffer.append(response.prefix)
        buffer.append(encode(count == broken_at))
        if (count + 1) % chunk_rows == 0:
            yield b"".join(buffer)
            buffer = []
    buffer.append(response.tail)
    yield b"".join(buffer)

"""``Stream``: the one owner of a pull, from its first request to its closed response.

A pull is a GET (or a run of ``limit``/``offset`` pages) whose body is decoded into
batches of items as it arrives. Everything with a lifetime lives here, in one place:
the state, the attempt loop and its retry budget, the response, the decoder, the
counters and the close. ``Report`` and ``BulkReport`` are thin wrappers over it.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import httpx

from ._convert import RecordConverter
from ._decompress import DecodedBody, decoded_body
from ._exceptions import (
    APIStatusError,
    DialogTechError,
    StreamInterruptedError,
    TransportError,
)
from ._parsers import Decoder, Parser, Row
from ._reader import record_reader
from ._retry import RetryPolicy, is_retryable_status, retry_after, wait_to_retry

if TYPE_CHECKING:
    from ._client import BaseSession


I = TypeVar("I")  # noqa: E741 - the item type: a record, a raw row, ...

#: Sends the one request for the page that starts ``offset`` items in (0 unless paged),
#: with no retries of its own, and returns the response unread, whatever its status.
#: Raises ``TransportError`` (from httpx's) or ``SessionClosedError``.
Send = Callable[[int], Awaitable[httpx.Response]]
#: What a batch is made of: wraps a raw-row parser into the decoder of the items
#: (typed records, the raw rows as they are, column lists, ...).
ItemsFromParser = Callable[[Parser], Decoder[Any]]
#: Builds a response's body decoder (its charset, its format, its in-band error check)
#: around ``items(parser)``.
BodyDecoderFactory = Callable[[httpx.Response, ItemsFromParser], Decoder[Any]]


def raw_rows(parser: Parser) -> Decoder[Row]:
    """Items that are the parser's raw rows, as they come (``Report.rows()``)."""
    return parser


def closed_under_reader(records: int) -> StreamInterruptedError:
    """What a reader in another task gets when the pull is closed under it by ``aclose()``."""
    return StreamInterruptedError(
        f"the report was closed by aclose() after {records} records",
        records_delivered=records,
    )


class State(enum.Enum):
    """Where a Stream is in its life."""

    #: Nothing sent yet.
    NEW = "new"
    #: Answered with a good status and no in-band error; being read.
    OPEN = "open"
    #: The whole body (every page) was read.
    DONE = "done"
    #: Closed: by ``aclose()``, its session's, or after an error.
    CLOSED = "closed"


class Stream(Generic[I]):
    """The one owner of a pull: opening, retrying, decoding, counting and closing.

    ``open()`` runs the attempt loop: one attempt is "send, check the status, read up
    to the first item" (the in-band error check reads that far too), and all attempts
    share one budget, ``RetryPolicy.max_retries`` (2: at most 3 requests), whatever
    fails: connect, a retryable status, a timeout before the first byte, a body broken
    before its first item. Once items were handed out, a broken body raises
    ``StreamInterruptedError`` and is never retried. A paged pull runs the loop (with
    a fresh budget) for each page, since the next page repeats nothing.

    ``next_batch()`` hands out the items completed by the next chunk(s) of the body,
    or None at its end: it is the interface for wrappers (``Report`` iterates items,
    ``BulkReport`` interleaves several streams, others may iterate whole batches).
    What a batch is made of is an ``ItemsFromParser``: by default ``converter``'s typed
    records; ``choose_items()`` changes it while the stream is still ``NEW``, to raw rows
    (``raw_rows``) or anything a decoder wrapped around the parser returns (Arrow record
    batches), with how many records a batch holds (``count``: ``len`` for one item a
    record), so that counters and pages stay in records.

    The body's bytes are read in one place, ``_body_chunks()``.

    ``aclose()`` from another task while one is reading: the reader gets
    ``StreamInterruptedError`` (or ``SessionClosedError`` when its session closed).
    """

    def __init__(
        self,
        session: BaseSession,
        send: Send,
        body_decoder: BodyDecoderFactory,
        converter: RecordConverter[Any],
        *,
        description: str,
        page_size: int | None = None,
    ) -> None:
        self.state = State.NEW
        self.description = description
        self._session = session
        self._retry: RetryPolicy = session._retry
        self._send = send
        self._body_decoder = body_decoder
        #: Turns the parser's raw rows into the typed records (the default items).
        self.converter = converter
        self._items: ItemsFromParser = functools.partial(record_reader, converter=converter)
        self._count: Callable[[list[Any]], int] = len
        self._page_size = page_size
        self._page_offset = 0
        self._page_items = 0
        self._response: httpx.Response | None = None
        self._chunks: DecodedBody | None = None
        self._decoder: Decoder[Any] | None = None
        self._retry_after: float | None = None  # of the last error status
        self._first: list[I] | None = None  # read by the attempt, not yet handed out
        # The first attempt's body bytes and response, kept until its first batch is
        # handed out, so that ``choose_items()`` right after ``open()`` can decode them
        # again into other items (``async with report: report.rows()``).
        self._head: list[bytes] | None = None
        self._head_response: httpx.Response | None = None
        self._busy: anyio.CancelScope | None = None  # a task inside open() / next_batch()
        self._idle: anyio.Event | None = None  # set when the busy task leaves
        self._closed_error: DialogTechError | None = None  # what a reader gets once closed
        #: Records (or raw rows) handed out by ``next_batch()`` so far.
        self.items_read = 0
        #: Body bytes received so far (of attempts that counted), as sent: compressed
        #: when the body is, like ``content_length``.
        self.bytes_read = 0
        self._bytes_before = 0  # bytes_read when the current attempt began
        #: The body's length from Content-Length, when the server sent one.
        self.content_length: int | None = None
        #: The last response's HTTP status, once it has arrived.
        self.status_code: int | None = None

    def __repr__(self) -> str:
        return f"<Stream {self.description}: {self.state.name}, {self.items_read} items>"

    def choose_items(self, items: ItemsFromParser, count: Callable[[list[Any]], int] = len) -> None:
        """Set what the batches are made of, and how many records a batch holds: before
        the stream is opened, or after ``open()`` until its first batch is handed out
        (the bytes read so far are decoded again)."""
        if self.state is State.NEW:
            self._items, self._count = items, count
            return
        if self._head is None or self._head_response is None:
            raise RuntimeError(
                f"what a report yields is chosen before its first record is read"
                f" (it is {self.state.name}, {self.items_read} records read)"
            )
        self._items, self._count = items, count
        self._decoder = self._body_decoder(self._head_response, items)
        first: list[Any] = []
        for chunk in self._head:
            first += self._decode(self._decoder.feed, chunk)
        if self._chunks is None:  # the attempt read the whole body (or page)
            first += self._decode(self._decoder.close)
        self._first = first

    async def open(self) -> None:
        """Send the request, check the status and in-band errors, read to the first item.

        Does nothing once open. Raises the API's error, or ``TransportError`` once the
        retry budget is spent.
        """
        if self.state is State.NEW:
            self.state = State.OPEN
            self._session._track(self)
            await self._run(self._open_page)
        elif self.state is State.CLOSED and self._closed_error is not None:
            raise self._closed_error

    async def next_batch(self) -> list[I] | None:
        """The items completed by the next chunk(s) of the body; None at its end."""
        await self.open()
        batch: list[I] | None = await self._run(self._next_batch)
        if batch is not None:
            self.items_read += self._count(batch)
        return batch

    async def aclose(self, error: DialogTechError | None = None) -> None:
        """Close the response and release its connection; safe to call more than once.

        A task reading the stream meanwhile gets ``error`` (default: a
        ``StreamInterruptedError`` saying how many items it had) instead of an early end.
        """
        self._begin_close(error)
        await self._end_close()

    def _begin_close(self, error: DialogTechError | None) -> None:
        """The synchronous half of ``aclose()``: the state, and the reader told."""
        if self.state is not State.CLOSED:
            self.state = State.CLOSED
            busy = self._busy is not None
            if error is not None or busy:
                self._closed_error = error or closed_under_reader(self.items_read)
            if self._busy is not None:
                self._busy.cancel()

    async def _end_close(self) -> None:
        """The waiting half of ``aclose()``: the reader gone, the response closed."""
        if self._busy is not None and self._idle is not None:
            # A reader in another task: it releases what it holds on its way out.
            with anyio.CancelScope(shield=True):
                await self._idle.wait()
        self._first = self._head = self._head_response = None
        await self._release()
        self._session._untrack(self)

    async def _run(self, step: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``step`` in a scope that ``aclose()`` from another task can cancel."""
        if self._busy is not None:
            raise RuntimeError(f"{self.description} is already being read by another task")
        with anyio.CancelScope() as scope:
            self._busy, self._idle = scope, anyio.Event()
            try:
                if self.state is not State.CLOSED:
                    return await step()
            except BaseException as exc:
                await self._release()
                if self.state is not State.CLOSED:
                    self.state = State.CLOSED
                    self._session._untrack(self)
                    if isinstance(exc, DialogTechError):
                        # Raised again to a reader who ignored it: never a quiet, empty end.
                        self._closed_error = exc
                elif self._closed_error is not None:
                    raise self._closed_error from None
                raise
            finally:
                self._busy = None
                self._idle.set()  # made with the scope, above
        # Closed before the step or under it (its cancellation caught by ``scope``).
        if self._closed_error is not None:
            raise self._closed_error
        return None

    async def _next_batch(self) -> list[I] | None:
        while True:
            if self._first is not None:
                batch, self._first = self._first, None
                self._head = self._head_response = None
                return batch
            if self.state is State.DONE:
                return None
            try:
                if self._chunks is None:  # a full page was read: ask for the next
                    await self._open_page()
                    continue
                batch = await self._read_batch()
            except TransportError as exc:
                if self.items_read == 0 or isinstance(exc, StreamInterruptedError):
                    raise
                raise StreamInterruptedError(
                    f"connection broke after {self.items_read} records: {exc}",
                    records_delivered=self.items_read,
                ) from exc.__cause__
            if batch or self._at_end():
                return batch

    def _at_end(self) -> bool:
        """Whether the whole body (every page) was read (``_read_batch`` changes it)."""
        return self.state is State.DONE

    async def _open_page(self) -> None:
        """The attempt loop: up to ``max_retries`` more attempts after the first."""
        retry = 0
        while True:
            try:
                self._first = await self._attempt()
                return
            except (TransportError, APIStatusError) as exc:
                after = self._retry_after if isinstance(exc, APIStatusError) else None
                if retry >= self._retry.max_retries or not _retryable(exc):
                    raise
                await wait_to_retry(
                    self._retry,
                    retry,
                    what=f"GET {self.description}",
                    reason=_reason(exc),
                    after=after,
                )
                retry += 1

    async def _attempt(self) -> list[I]:
        """Send, check the status, read up to the first item (or the page's end)."""
        self._page_items = 0
        self._bytes_before = bytes_before = self.bytes_read
        response = await self._send(self._page_offset)
        self._response = response  # before any await: released if this task is cancelled
        self.status_code = response.status_code
        if not response.is_success:
            self._response = None
            self._retry_after = retry_after(response)
            raise await self._session._status_error(response)
        length = response.headers.get("Content-Length")
        self.content_length = int(length) if length and length.isdigit() else None
        self._decoder = self._body_decoder(response, self._items)
        self._chunks = self._body_chunks(response)
        if self.items_read == 0 and self._page_offset == 0:
            self._head, self._head_response = [], response
        try:
            while True:
                batch = await self._read_batch()
                if batch or self._at_end() or self._chunks is None:
                    return batch
        except TransportError:
            self.bytes_read = bytes_before  # the retry reads the body again
            raise

    def _body_chunks(self, response: httpx.Response) -> DecodedBody:
        """The one place a response's body is read: decoded (Content-Encoding) in pieces
        of at most the session's ``max_inflate_bytes``."""
        return decoded_body(response, self._session._body_limits)

    async def _read_batch(self) -> list[I]:
        """Read chunks until the decoder completes items or the body ends.

        At the body's end the response is released: the pull is ``DONE``, or (a full
        page) ``_chunks`` is None and the next page is due.
        """
        assert self._chunks is not None
        assert self._decoder is not None
        assert self._response is not None
        while True:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                # Chunks that inflated to nothing (a gzip trailer alone) were received too.
                self.bytes_read = self._bytes_before + self._chunks.received
                batch = self._decode(self._decoder.close)
                self._page_items += self._count(batch)
                await self._release()
                if self._page_size is not None and self._page_items == self._page_size:
                    self._page_offset += self._page_items
                else:
                    self.state = State.DONE
                return batch
            except httpx.TransportError as exc:
                request = self._response.request
                await self._release()
                raise self._session._transport_error(exc, request) from exc
            self.bytes_read = self._bytes_before + self._chunks.received  # as sent
            if self._head is not None:
                self._head.append(chunk)
            batch = self._decode(self._decoder.feed, chunk)
            if batch:
                self._page_items += self._count(batch)
                return batch

    def _decode(self, step: Callable[..., list[Any]], *chunk: bytes) -> list[Any]:
        """One decoder call; an error it raises (an in-band API message, a snippet of a
        malformed body) may quote what the server echoed back: its secrets are redacted."""
        try:
            return step(*chunk)
        except DialogTechError as exc:
            self._session._redact_error(exc)
            raise

    async def _release(self) -> None:
        response, self._response, self._chunks = self._response, None, None
        if response is not None:
            # Shielded: a cancelled task must still hand its connection back to the pool.
            with anyio.CancelScope(shield=True):
                await response.aclose()


def _retryable(error: Exception) -> bool:
    if isinstance(error, APIStatusError):
        return error.status_code != 200 and is_retryable_status(error.status_code)
    return isinstance(error, TransportError) and not isinstance(error, StreamInterruptedError)


def _reason(error: Exception) -> str:
    if isinstance(error, APIStatusError):
        return str(error.status_code)
    cause = error.__cause__
    return type(cause).__name__ if cause is not None else type(error).__name__

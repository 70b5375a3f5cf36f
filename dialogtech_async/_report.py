"""``Report``: the one place where a response's bytes meet a parser."""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
import httpx

from ._convert import RecordConverter
from ._decompress import decoded_body
from ._exceptions import DialogTechError, StreamInterruptedError, TransportError
from ._parsers import DEFAULT_LIMITS, BodyLimits, Decoder, Parser, Row
from ._reader import record_reader
from ._retry import RetryPolicy

T = TypeVar("T")

#: Opens the response (retrying as the endpoint allows) and returns it unread; its
#: argument is the number of records before the page asked for (0 unless paged).
Opener = Callable[[int], Awaitable[httpx.Response]]
#: Turns a raw-row parser into the decoder an iteration wants: records, or the rows as is.
Decode = Callable[[Parser], Decoder[Any]]
#: Builds the decoder for a response (its charset, its format) around ``decode(parser)``.
DecoderFactory = Callable[[httpx.Response, Decode], Decoder[Any]]
#: The session's one translation of an httpx transport failure into our error.
TransportErrorFn = Callable[[httpx.TransportError, httpx.Request], TransportError]
#: Removes the session's secrets from an error raised by a parser (in place).
RedactFn = Callable[[DialogTechError], None]


class Report(Generic[T]):
    """A report streamed from the API: an async iterator of typed records.

    Nothing is sent until the first record is asked for. The body is read in chunks
    and parsed as it arrives, so memory stays bounded by one record and one chunk.
    Use it as an async context manager to release the connection as soon as you are
    done; breaking out of ``async for``, an exception, cancellation and ``aclose()``
    all close the response.

    A Report is iterated once. Progress is readable at any time: ``bytes_read``,
    ``records_yielded``, ``content_length`` (None unless the server sent it).

    Raises (while iterating):
        APIStatusError: the API answered with an error status or an in-band error.
        TransportError: the request could not be completed (after retries).
        StreamInterruptedError: the connection broke after records were delivered; it is
            never retried, since the records delivered would be repeated.
        ResponseFormatError: the body is malformed (after the records before the fault).
    """

    def __init__(
        self,
        open_response: Opener,
        make_decoder: DecoderFactory,
        converter: RecordConverter[T],
        *,
        retry: RetryPolicy,
        transport_error: TransportErrorFn,
        description: str,
        redact: RedactFn | None = None,
        page_size: int | None = None,
        limits: BodyLimits = DEFAULT_LIMITS,
    ) -> None:
        self._open_response = open_response
        self._limits = limits
        # Paged: a page of ``page_size`` records is followed by a request for the next.
        self._page_size = page_size
        self._page_offset = 0
        self._page_records = 0
        self._make_decoder = make_decoder
        self._converter = converter
        self._retry = retry
        self._transport_error = transport_error
        self._description = description
        self._redact = redact
        self._response: httpx.Response | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._decoder: Decoder[Any] | None = None
        self._typed = True
        self._iterator: AsyncGenerator[T, None] | None = None
        self._handed_out: weakref.ref[AsyncGenerator[Any, None]] | None = None
        self._held: AsyncGenerator[Any, None] | None = None
        self._managed = False
        self._started = False
        self._done = False
        self._closed_under_reader = False  # by aclose() from another task
        self._restarts = 0
        # Records counted as handed out: the whole batch being handed out among them,
        # less what is left of it (``records_yielded``), so that the loop handing out a
        # record does no counting of its own.
        self._delivered = 0
        self._batch: list[Any] = []
        #: Body bytes received so far.
        self.bytes_read = 0
        #: The body's length from Content-Length, when the server sent one.
        self.content_length: int | None = None
        #: The response's HTTP status, once it has arrived.
        self.status_code: int | None = None

    @property
    def records_yielded(self) -> int:
        """Records (or raw rows) handed to the caller so far."""
        return self._delivered - len(self._batch)

    def __repr__(self) -> str:
        return (
            f"<Report {self._description}: {self.records_yielded} records,"
            f" {self.bytes_read} bytes{' (done)' if self._done else ''}>"
        )

    async def __aenter__(self) -> Report[T]:
        self._managed = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[T]:
        if self._iterator is not None:
            return self._iterator  # `async for` after `anext(report)`: carry on from there
        return self._generator(typed=True)

    async def __anext__(self) -> T:
        if self._iterator is None:
            self._iterator = self._generator(typed=True)
        return await self._iterator.__anext__()

    def rows(self) -> AsyncIterator[Row]:
        """Iterate the raw rows (the API's keys and text), skipping record conversion."""
        return self._generator(typed=False)

    def _generator(self, *, typed: bool) -> AsyncGenerator[Any, None]:
        # Inside `async with`, held until __aexit__ closes it (trio warns about async
        # generators left to its finalizer). Otherwise held weakly: when a bare `async
        # for` is left early, the generator is dropped at once and the event loop's
        # finalizer closes it, and with it the response (a reference cycle would wait
        # for the GC); `aclose()` still closes it if it lives.
        generator = self._iterate(typed=typed)
        if self._managed:
            self._held = generator
        self._handed_out = weakref.ref(generator)
        return generator

    async def collect(self) -> list[T]:
        """Read the whole report into a list (for small reports)."""
        async with self:
            return [record async for record in self]

    async def aclose(self) -> None:
        """Close the response and release its connection; safe to call more than once.

        Called from another task while one is iterating, the iterating task gets a
        ``StreamInterruptedError``, not a quiet, early end.
        """
        self._done = True
        generator = self._handed_out() if self._handed_out is not None else None
        self._iterator = self._held = None
        if generator is not None and getattr(generator, "ag_running", False):
            self._closed_under_reader = True  # its own task closes it, on the way out
        elif generator is not None:
            await generator.aclose()
        await self._release()

    async def _iterate(self, *, typed: bool) -> AsyncGenerator[Any, None]:
        if self._started:
            raise RuntimeError("a Report can be iterated only once")
        self._started = True
        self._typed = typed
        try:
            while (batch := await self._next_batch()) is not None:
                # Popped as they go: a record handed out is held by the caller alone,
                # so one the caller drops is freed before the next chunk is parsed.
                batch.reverse()
                self._batch = batch
                self._delivered += len(batch)
                pop = batch.pop
                while batch:
                    yield pop()
        finally:
            self._delivered, self._batch = self.records_yielded, []  # left early: drop the rest
            await self._release()

    async def _next_batch(self) -> list[Any] | None:
        """The records (or rows) completed by the next chunk(s); None at the body's end."""
        while not self._done:
            if self._chunks is None:
                await self._start()
            assert self._chunks is not None
            assert self._decoder is not None
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                if self._closed_under_reader:
                    break  # not the body's end: the response was closed under us
                batch = self._decode(self._decoder.close)
                self._page_records += len(batch)
                await self._release()
                if self._page_records == self._page_size:  # a full page: ask for the next
                    self._page_offset += self._page_records
                else:
                    self._done = True
                if batch or self._done:
                    return batch
                continue
            except httpx.TransportError as exc:
                if self._closed_under_reader:
                    break  # the response was closed under us (trio: "another task closed")
                assert self._response is not None  # set with the chunks by _start()
                request = self._response.request
                await self._release()
                if self.records_yielded == 0 and self._restarts < self._retry.max_retries:
                    # Nothing was delivered, so starting over repeats nothing.
                    await anyio.sleep(self._retry.delay(self._restarts))
                    self._restarts += 1
                    continue
                raise self._interrupted(exc, request) from exc
            self.bytes_read += len(chunk)
            batch = self._decode(self._decoder.feed, chunk)
            if batch:
                self._page_records += len(batch)
                return batch
        if self._closed_under_reader:
            raise StreamInterruptedError(
                f"the report was closed by aclose() after {self.records_yielded} records",
                records_delivered=self.records_yielded,
            )
        return None

    def _decode(self, step: Callable[..., list[Any]], *chunk: bytes) -> list[Any]:
        """One decoder call; an error it raises (an in-band API message, a snippet of a
        malformed body) may quote what the server echoed back: its secrets are redacted."""
        try:
            return step(*chunk)
        except DialogTechError as exc:
            if self._redact is not None:
                self._redact(exc)
            raise

    async def _start(self) -> None:
        self._page_records = 0
        response = await self._open_response(self._page_offset)
        self._response = response
        self.status_code = response.status_code
        length = response.headers.get("Content-Length")
        self.content_length = int(length) if length and length.isdigit() else None
        decode = self._records if self._typed else _rows
        self._decoder = self._make_decoder(response, decode)
        self._chunks = decoded_body(response, self._limits)
        self.bytes_read = 0

    def _records(self, parser: Parser) -> Decoder[T]:
        return record_reader(parser, self._converter)

    def _interrupted(self, exc: httpx.TransportError, request: httpx.Request) -> TransportError:
        error = self._transport_error(exc, request)
        if not self.records_yielded:
            return error
        return StreamInterruptedError(
            f"connection broke after {self.records_yielded} records: {error}",
            records_delivered=self.records_yielded,
        )

    async def _release(self) -> None:
        response, self._response, self._chunks = self._response, None, None
        if response is not None:
            # Shielded: a cancelled task must still hand its connection back to the pool.
            with anyio.CancelScope(shield=True):
                await response.aclose()


def _rows(parser: Parser) -> Decoder[Row]:
    """For ``Report.rows()``: the parser's raw rows, as they come."""
    return parser

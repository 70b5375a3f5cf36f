"""``Report``: the public face of one pull (a ``Stream``): iterator, context manager."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._arrow import arrow_items, require_pyarrow, table_of
from ._lifetime import PullLifetime
from ._parsers import Row
from ._stream import State, Stream, closed_under_reader, raw_rows

if TYPE_CHECKING:
    import pyarrow as pa

T = TypeVar("T")
#: What an iteration hands out: typed records, raw rows, or Arrow record batches.
Items = Literal["records", "rows", "arrow"]


class Report(PullLifetime[T]):
    """A report streamed from the API: an async iterator of typed records.

    ``async with report:`` (or ``await report.open()``) sends the request and waits for
    the status and the in-band-error check before the block runs, so an error status,
    wrong credentials or an error message in the body raise there, before any record;
    a bare ``async for`` does the same on its first step. The body is then read in
    chunks and parsed as it arrives, so memory stays bounded by one record and one
    chunk. Breaking out of ``async for``, an exception, cancellation and ``aclose()``
    all close the response.

    A Report is iterated once. Progress is readable at any time: ``bytes_read``,
    ``records_yielded``, ``content_length`` (None unless the server sent it).

    Raises (on opening, or while iterating):
        APIStatusError: the API answered with an error status or an in-band error.
        TransportError: the request could not be completed (after retries: one budget
            for connect errors, error statuses and bodies broken before the first record).
        StreamInterruptedError: the connection broke after records were delivered; it is
            never retried, since the records delivered would be repeated.
        ResponseFormatError: the body is malformed (after the records before the fault).
        SessionClosedError: the session was closed while the report was open.
    """

    def __init__(self, stream: Stream[Any]) -> None:
        super().__init__()
        self._stream = stream
        self._batch: list[Any] = []  # read, not yet handed out (handed out from its end)
        self._dropped = 0  # read, never handed out: the caller left early
        self._tables: list[Any] = []  # Arrow batches read, not yet handed out
        self._rows_pending = 0  # their rows

    @property
    def records_yielded(self) -> int:
        """Records (or raw rows) handed to the caller so far."""
        return self._stream.items_read - len(self._batch) - self._rows_pending - self._dropped

    @property
    def record_type(self) -> type:
        """The class of the records this report yields (``dta.ClickToRecord``, ...)."""
        record_type: type = self._stream.converter.record_type
        return record_type

    @property
    def bytes_read(self) -> int:
        """Body bytes received so far, as sent (compressed when the body is): a share
        of ``content_length`` when there is one, except in a paged report: every page
        counts here, only the latest in ``content_length``."""
        return self._stream.bytes_read

    @property
    def content_length(self) -> int | None:
        """The body's length from Content-Length, when the server sent one (the latest
        page's, for a paged report)."""
        return self._stream.content_length

    @property
    def status_code(self) -> int | None:
        """The response's HTTP status, once it has arrived."""
        return self._stream.status_code

    def __repr__(self) -> str:
        done = " (done)" if self._stream.state in (State.DONE, State.CLOSED) else ""
        return (
            f"<Report {self._stream.description}: {self.records_yielded} records,"
            f" {self.bytes_read} bytes{done}>"
        )

    async def open(self) -> Report[T]:
        """Send the request, check the status and in-band errors, read to the first record.

        Returns the report itself, opened; does nothing if it is open already.
        """
        await self._stream.open()
        return self

    def rows(self) -> AsyncIterator[Row]:
        """Iterate the raw rows (the API's keys and text), skipping record conversion.

        Chosen before the first record is read (``async with report`` is fine).
        """
        return self._hand_out(self._iterate("rows"))

    def arrow_batches(self) -> AsyncIterator[pa.RecordBatch]:
        """Iterate ``pyarrow.RecordBatch``es as the body arrives (a network chunk's rows,
        at least 256 of them unless the body ends), built column-wise from the parser's
        rows (no record object is made). The schema and the values are the typed
        records' (the type mapping is in the README's Arrow section); ``records_yielded``
        counts rows. Chosen before the first record is read (``async with report`` is
        fine). Needs the ``[arrow]`` extra.
        """
        require_pyarrow()
        return self._hand_out(self._iterate("arrow"))

    async def to_arrow(self) -> pa.Table:
        """Read the whole report into a ``pyarrow.Table`` (needs the ``[arrow]`` extra)."""
        batches = [batch async for batch in self.arrow_batches()]
        return table_of(batches, self.record_type)

    async def aclose(self) -> None:
        """Close the response and release its connection; safe to call more than once.

        Called from another task while one is iterating, the iterating task gets a
        ``StreamInterruptedError``, not a quiet, early end.
        """
        error = None
        if await self._close_handed_out():
            # Read ahead, never handed out: the reader's next step meets the close.
            self._drop_pending()
            error = closed_under_reader(self.records_yielded)
        await self._stream.aclose(error)

    async def _iterate(self, items: Items = "records") -> AsyncGenerator[Any, None]:
        if not self._started:  # else _start_once says it is iterated already
            # Refused once a record was read (then the report stays as it was).
            if items == "rows":
                self._stream.choose_items(raw_rows)
            elif items == "arrow":
                self._stream.choose_items(*arrow_items(self._stream.converter))
        self._start_once()
        try:
            while (batch := await self._stream.next_batch()) is not None:
                if items == "arrow":  # whole batches, counted by their rows
                    batch.reverse()
                    self._tables = batch
                    self._rows_pending = sum(table.num_rows for table in batch)
                    while batch:
                        table = batch.pop()
                        self._rows_pending -= table.num_rows
                        yield table
                    continue
                # Popped as they go: a record handed out is held by the caller alone,
                # so one the caller drops is freed before the next chunk is parsed.
                batch.reverse()
                self._batch = batch
                pop = batch.pop
                while batch:
                    yield pop()
        finally:
            self._drop_pending()  # left early: the rest is never handed out
            await self._stream.aclose()

    def _drop_pending(self) -> None:
        """Count what was read and will never be handed out as dropped."""
        self._dropped += len(self._batch) + self._rows_pending
        self._batch.clear()
        self._tables.clear()
        self._rows_pending = 0

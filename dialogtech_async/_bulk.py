"""Bulk pulls: a long range split into windows fetched concurrently, yielded in order."""

from __future__ import annotations

import contextlib
import datetime as dt
import weakref
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._arrow import require_pyarrow
from ._arrow import schema as arrow_schema
from ._exceptions import StreamInterruptedError, ValidationError
from ._report import Report

if TYPE_CHECKING:
    import pyarrow as pa

T = TypeVar("T")
D = TypeVar("D", dt.date, dt.datetime)


def split_range(start: D, end: D, window: dt.timedelta, step: dt.timedelta) -> list[tuple[D, D]]:
    """Consecutive windows covering ``start``..``end`` inclusive, each ``window`` long.

    ``step`` is the resolution of the range (a day for dates), so that windows meet
    without overlapping: a window ends one ``step`` before the next begins. Aware
    datetimes are stepped in UTC and given back in their own zone: Python adds a
    timedelta to an aware datetime on the wall clock, which across a DST change would
    skip an hour (clocks back) or ask for one twice (clocks forward).
    """
    if window < step:
        raise ValidationError(f"window must be at least {step}", parameter="window")
    zone = start.tzinfo if isinstance(start, dt.datetime) else None
    if zone is not None:
        assert isinstance(start, dt.datetime)
        assert isinstance(end, dt.datetime)
        start, end = start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)
    windows = []
    while start <= end:
        last = min(start + window - step, end)
        windows.append((start, last))
        start = last + step
    if zone is None:
        return windows
    return [(first.astimezone(zone), last.astimezone(zone)) for first, last in windows]  # type: ignore[attr-defined]


@attrs.define
class _Window(Generic[T]):
    report: Report[T]
    buffer: deque[T] = attrs.field(factory=deque)
    done: bool = False
    #: What ended the window early, raised when the caller reaches it (bare loop only).
    error: Exception | None = None
    #: The batches read ahead by this window's task, both ends (inside ``async with`` only).
    batches: MemoryObjectReceiveStream[Any] | None = None
    sender: MemoryObjectSendStream[Any] | None = None


class BulkReport(Generic[T]):
    """Several reports read as one, in order, ``concurrency`` of them at a time.

    At most ``concurrency`` windows are open at once, each read at most one parse step
    (about one network chunk) ahead of the caller, so memory stays bounded by
    ``concurrency`` chunks' worth of records.

    Inside ``async with`` (and in ``collect()``), each open window has a reader task
    owned by the BulkReport's task group, so a slow window never holds up the others.
    A bare ``async for`` cannot own tasks across its ``yield``s; there the windows are
    advanced together in rounds, each inside the caller's ``await``.
    """

    def __init__(self, reports: Sequence[Report[T]], *, concurrency: int) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(
                f"concurrency must be a whole number of at least 1, not {concurrency!r}",
                parameter="concurrency",
            )
        self._windows = [_Window(report) for report in reports]
        self._concurrency = concurrency
        self._started = False
        self._group: TaskGroup | None = None
        self._slots = anyio.Semaphore(concurrency)
        self._handed_out: weakref.ref[AsyncGenerator[T, None]] | None = None
        self._held: AsyncGenerator[T, None] | None = None
        self._managed = False
        self._arrow = False
        #: Records handed to the caller so far.
        self.records_yielded = 0

    def __repr__(self) -> str:
        return f"<BulkReport {len(self._windows)} windows: {self.records_yielded} records>"

    @property
    def bytes_read(self) -> int:
        """Body bytes received so far, all windows together."""
        return sum(window.report.bytes_read for window in self._windows)

    @property
    def windows_total(self) -> int:
        """The number of windows the range was split into."""
        return len(self._windows)

    @property
    def windows_done(self) -> int:
        """Windows whose body has been read to its end (or that were closed)."""
        return sum(window.report._done for window in self._windows)

    @property
    def content_length(self) -> int | None:
        """Unknown for a bulk pull (each window reports its own)."""
        return None

    async def __aenter__(self) -> BulkReport[T]:
        self._managed = True
        if self._group is None and not self._started:
            for window in self._windows:
                window.sender, window.batches = anyio.create_memory_object_stream[Any](1)
            group = anyio.create_task_group()
            await group.__aenter__()
            self._group = group
            group.start_soon(self._open_windows, group)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        group, self._group = self._group, None
        try:
            if group is not None:
                group.cancel_scope.cancel()  # the readers of windows not yet consumed
                # Not handed the caller's exception: the group would wrap it in an
                # ExceptionGroup; it propagates unchanged when this method returns.
                await group.__aexit__(None, None, None)
        finally:
            for window in self._windows:  # readers close their own; these never started
                if window.sender is not None:
                    window.sender.close()
            with anyio.CancelScope(shield=True):
                await self.aclose()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._generator()

    def arrow_batches(self) -> AsyncIterator[pa.RecordBatch]:
        """Iterate ``pyarrow.RecordBatch``es, window after window in date order (see
        ``Report.arrow_batches``); ``records_yielded`` counts rows."""
        require_pyarrow()
        self._arrow = True
        for window in self._windows:
            window.report._mode = "arrow"
        return self._generator()

    async def to_arrow(self) -> pa.Table:
        """Read every window into one ``pyarrow.Table``, in date order."""
        pa = require_pyarrow()
        async with self:
            batches = [batch async for batch in self.arrow_batches()]
        record_type = self._windows[0].report._converter.record_type if self._windows else None
        if record_type is None:
            return pa.table({})
        return pa.Table.from_batches(batches, schema=arrow_schema(record_type))

    def _generator(self) -> AsyncGenerator[Any, None]:
        generator = self._iterate()
        if self._managed:
            self._held = generator  # closed by __aexit__, as Report does
        self._handed_out = weakref.ref(generator)
        return generator

    async def collect(self) -> list[T]:
        """Read every window into one list."""
        async with self:
            return [record async for record in self]

    async def aclose(self) -> None:
        """Close every window's response."""
        generator = self._handed_out() if self._handed_out is not None else None
        self._held = None
        if generator is not None:
            await generator.aclose()
        await self._close_windows()

    async def _close_windows(self) -> None:
        for window in self._windows:
            if window.batches is not None:
                window.batches.close()  # a reader still sending sees BrokenResourceError
            await window.report.aclose()

    async def _iterate(self) -> AsyncGenerator[T, None]:
        if self._started:
            raise RuntimeError("a BulkReport can be iterated only once")
        self._started = True
        try:
            for head in range(len(self._windows)):
                window = self._windows[head]
                while True:
                    while window.buffer:
                        item: Any = window.buffer.popleft()
                        self.records_yielded += item.num_rows if self._arrow else 1
                        yield item
                    if window.error is not None:
                        raise self._adjusted(window.error)
                    if window.done:
                        break
                    await self._advance(head)
                await window.report.aclose()
        finally:
            with anyio.CancelScope(shield=True):
                await self._close_windows()

    async def _advance(self, head: int) -> None:
        """Bring the head window's next records (or its end) into its buffer."""
        window = self._windows[head]
        if window.batches is not None:
            await self._receive(window)
            return
        # One step for the head window and for each idle window ahead of it, together.
        ahead = self._windows[head : head + self._concurrency]
        due = [w for w in ahead if not w.done and (w is window or not w.buffer)]
        async with anyio.create_task_group() as group:
            for each in due:
                group.start_soon(self._step_into_buffer, each)

    async def _step_into_buffer(self, window: _Window[T]) -> None:
        try:
            batch = await self._step(window)
        except Exception as exc:  # kept for its turn: the windows before it come first
            window.error, window.done = exc, True
            return
        if batch is None:
            window.done = True
        else:
            window.buffer.extend(batch)

    async def _step(self, window: _Window[T]) -> list[T] | None:
        """The window's next converted records; None at its end."""
        report = window.report
        batch: list[T] | None = await report._next_batch()
        if batch is not None:
            # Read counts as delivered: the window must never restart and repeat them.
            report._delivered += report._count(batch)
        return batch

    async def _open_windows(self, group: TaskGroup) -> None:
        """Start a reader for each window in order, as the caller frees a slot.

        ``group`` is passed, not read from ``self``: ``__aexit__`` lets go of
        ``self._group`` before this task has seen the group's cancellation.
        """
        for window in self._windows:
            await self._slots.acquire()
            group.start_soon(self._read_ahead, window)

    async def _read_ahead(self, window: _Window[T]) -> None:
        """A window's reader task: its batches, then its end or its error, to the caller."""
        assert window.sender is not None  # made by __aenter__
        with window.sender as send:
            try:
                while (batch := await self._step(window)) is not None:
                    await send.send(batch)
            except anyio.BrokenResourceError:
                return  # the caller stopped reading
            except Exception as exc:  # handed to the caller, who raises it in order
                with contextlib.suppress(anyio.BrokenResourceError):
                    await send.send(exc)

    async def _receive(self, window: _Window[T]) -> None:
        assert window.batches is not None
        try:
            batch = await window.batches.receive()
        except anyio.EndOfStream:
            window.done = True
            self._slots.release()  # the next window may open
            return
        if isinstance(batch, Exception):
            raise self._adjusted(batch)
        window.buffer.extend(batch)

    def _adjusted(self, error: BaseException) -> BaseException:
        """A window's error as the caller should see it: counts are of the whole pull."""
        if not isinstance(error, StreamInterruptedError):
            return error
        adjusted = StreamInterruptedError(
            f"{error} (bulk pull: {self.records_yielded} records delivered in all)",
            records_delivered=self.records_yielded,
        )
        adjusted.__cause__ = error
        return adjusted


def windowed(
    make_report: Callable[[Any, Any], Report[T]],
    ranges: list[tuple[Any, Any]],
    concurrency: int,
) -> BulkReport[T]:
    """A BulkReport of ``make_report(start, end)`` for each range."""
    return BulkReport([make_report(start, end) for start, end in ranges], concurrency=concurrency)

"""Bulk pulls: a long range split into windows fetched concurrently, yielded in order."""

from __future__ import annotations

import datetime as dt
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
import attrs

from ._exceptions import StreamInterruptedError, ValidationError
from ._report import Report

if sys.version_info < (3, 11):  # pragma: no cover - the backport anyio itself depends on
    from exceptiongroup import BaseExceptionGroup

T = TypeVar("T")
D = TypeVar("D", dt.date, dt.datetime)


def split_range(start: D, end: D, window: dt.timedelta, step: dt.timedelta) -> list[tuple[D, D]]:
    """Consecutive windows covering ``start``..``end`` inclusive, each ``window`` long.

    ``step`` is the resolution of the range (a day for dates), so that windows meet
    without overlapping: a window ends one ``step`` before the next begins.
    """
    if window < step:
        raise ValidationError(f"window must be at least {step}", parameter="window")
    windows = []
    while start <= end:
        last = min(start + window - step, end)
        windows.append((start, last))
        start = last + step
    return windows


@attrs.define
class _Window(Generic[T]):
    report: Report[T]
    buffer: deque[T] = attrs.field(factory=deque)
    done: bool = False


class BulkReport(Generic[T]):
    """Several reports read as one, in order, ``concurrency`` of them at a time.

    While the caller reads the first window, the next ``concurrency - 1`` are opened
    and read one parse step (about one network chunk) ahead, so waiting for the server
    overlaps but memory stays bounded by ``concurrency`` chunks' worth of records. All
    work happens inside the caller's ``await``: no task outlives it, so cancellation and
    errors behave as with one Report.
    """

    def __init__(self, reports: Sequence[Report[T]], *, concurrency: int) -> None:
        if concurrency < 1:
            raise ValidationError("concurrency must be at least 1", parameter="concurrency")
        self._windows = [_Window(report) for report in reports]
        self._concurrency = concurrency
        self._started = False
        #: Records handed to the caller so far.
        self.records_yielded = 0

    def __repr__(self) -> str:
        return f"<BulkReport {len(self._windows)} windows: {self.records_yielded} records>"

    @property
    def bytes_read(self) -> int:
        """Body bytes received so far, all windows together."""
        return sum(window.report.bytes_read for window in self._windows)

    @property
    def content_length(self) -> int | None:
        """Unknown for a bulk pull (each window reports its own)."""
        return None

    async def __aenter__(self) -> BulkReport[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def collect(self) -> list[T]:
        """Read every window into one list."""
        async with self:
            return [record async for record in self]

    async def aclose(self) -> None:
        """Close every window's response."""
        for window in self._windows:
            await window.report.aclose()

    async def _iterate(self) -> AsyncIterator[T]:
        if self._started:
            raise RuntimeError("a BulkReport can be iterated only once")
        self._started = True
        try:
            for head in range(len(self._windows)):
                window = self._windows[head]
                while True:
                    while window.buffer:
                        self.records_yielded += 1
                        yield window.buffer.popleft()
                    if window.done:
                        break
                    await self._advance(head)
                await window.report.aclose()
        finally:
            with anyio.CancelScope(shield=True):
                await self.aclose()

    async def _advance(self, head: int) -> None:
        """One step for the head window and for each idle window ahead of it, together."""
        ahead = self._windows[head : head + self._concurrency]
        due = [w for w in ahead if not w.done and (w is ahead[0] or not w.buffer)]
        try:
            async with anyio.create_task_group() as group:
                for window in due:
                    group.start_soon(self._step, window)
        except BaseExceptionGroup as group_error:
            raise self._first(group_error) from None

    async def _step(self, window: _Window[T]) -> None:
        report = window.report
        rows = await report._next_rows()
        if rows is None:
            window.done = True
            return
        window.buffer.extend(report._convert(rows, report._rows_read))
        report._rows_read += len(rows)
        # Buffered counts as delivered: the window must never restart and repeat them.
        report.records_yielded += len(rows)

    def _first(self, group_error: BaseExceptionGroup[Any]) -> BaseException:
        """The error to raise for a failed step (the head window's, as it came first)."""
        error: BaseException = group_error
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
        if isinstance(error, StreamInterruptedError):
            return StreamInterruptedError(
                f"{error} (bulk pull: {self.records_yielded} records delivered in all)",
                records_delivered=self.records_yielded,
            )
        return error


def windowed(
    make_report: Callable[[Any, Any], Report[T]],
    ranges: list[tuple[Any, Any]],
    concurrency: int,
) -> BulkReport[T]:
    """A BulkReport of ``make_report(start, end)`` for each range."""
    return BulkReport([make_report(start, end) for start, end in ranges], concurrency=concurrency)

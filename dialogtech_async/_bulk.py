"""Bulk pulls: a long range split into windows fetched concurrently, yielded in order."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import attrs

from . import _validate as check
from ._arrow import arrow_items, require_pyarrow, table_of
from ._exceptions import (
    DialogTechError,
    SessionClosedError,
    StreamInterruptedError,
    ValidationError,
)
from ._lifetime import PullLifetime
from ._stream import State, Stream, closed_under_reader

if TYPE_CHECKING:
    import pyarrow as pa

T = TypeVar("T")
D = TypeVar("D", dt.date, dt.datetime)

#: What a bulk pull does with a window that fails: raise its error, or skip it.
OnError = Literal["raise", "skip"]


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
    windows: list[tuple[D, D]] = []
    while start <= end:
        # Compared as spans, not added up: the range may end at the last day Python knows.
        last = end if end - start <= window - step else start + window - step
        windows.append((start, last))
        if last == end:
            break
        start = last + step
    if zone is None:
        return windows
    return [(first.astimezone(zone), last.astimezone(zone)) for first, last in windows]  # type: ignore[attr-defined]


@attrs.define
class _Window:
    start: Any
    end: Any
    stream: Stream[Any]
    #: Records read and not yet handed out (at most one batch, about one network chunk).
    buffer: deque[Any] = attrs.field(factory=deque)
    done: bool = False
    #: What ended the window early, raised (or listed) when the caller reaches it.
    error: Exception | None = None


class BulkReport(PullLifetime[T]):
    """Several reports (date windows) read as one, in order, ``concurrency`` at a time.

    However it is iterated (``async with``, a bare ``async for``, a comprehension),
    windows are opened ``concurrency`` at a time, together, so that a group of windows
    pays the server's latency once; then each open window is read as the caller
    reaches it. A window is read at most one batch (about one network chunk) ahead of
    the caller, so memory stays bounded by ``concurrency`` chunks' worth of records.
    No task outlives an ``await`` of the caller, so a bare generator is safe too.

    ``async with bulk:`` (or ``await bulk.open()``) opens the first group and raises
    its errors (in ``"raise"`` mode) before any record.

    Args:
        windows: (start, end, stream) of each window, in date order.
        concurrency: how many windows are open at once (at most ``connections``).
        on_error: "raise" (default): a failed window's error is raised when the caller
            reaches it, after every record before it. "skip": the pull goes on, and
            ``failed`` lists (start, end, error) for each window skipped (records it had
            delivered before failing stay delivered). The session's close
            (``SessionClosedError``) and errors not the library's end the pull in
            either mode.
        connections: the session's pool size, when known.
    """

    def __init__(
        self,
        windows: Sequence[tuple[Any, Any, Stream[Any]]],
        *,
        concurrency: int,
        on_error: OnError = "raise",
        connections: int | None = None,
    ) -> None:
        check.count(concurrency, "concurrency", minimum=1)
        check_on_error(on_error)
        super().__init__()
        if not windows:
            raise ValidationError("a bulk pull needs at least one window", parameter="window")
        self._windows = [_Window(start, end, stream) for start, end, stream in windows]
        # An open window holds its connection until the caller has read the windows
        # before it: a group larger than the pool would wait for itself.
        self._concurrency = concurrency if connections is None else min(concurrency, connections)
        self._on_error = on_error
        self._arrow = False  # handing out Arrow record batches, not records
        #: Records handed to the caller so far.
        self.records_yielded = 0
        #: Windows skipped (``on_error="skip"``): (start, end, error), in date order.
        self.failed: list[tuple[Any, Any, Exception]] = []
        self._interrupted: StreamInterruptedError | None = None  # by aclose() under a reader

    def __repr__(self) -> str:
        return f"<BulkReport {len(self._windows)} windows: {self.records_yielded} records>"

    @property
    def bytes_read(self) -> int:
        """Body bytes received so far (as sent), all windows together."""
        return sum(window.stream.bytes_read for window in self._windows)

    @property
    def record_type(self) -> type:
        """The class of the records this pull yields (every window's is the same)."""
        record_type: type = self._windows[0].stream.converter.record_type
        return record_type

    @property
    def windows_total(self) -> int:
        """The number of windows the range was split into."""
        return len(self._windows)

    @property
    def windows_done(self) -> int:
        """Windows read to their end, failed or skipped."""
        return sum(window.done for window in self._windows)

    @property
    def content_length(self) -> int | None:
        """Unknown for a bulk pull (each window reports its own)."""
        return None

    async def open(self) -> BulkReport[T]:
        """Open the first ``concurrency`` windows (sending their requests, checking their
        statuses and in-band errors); in ``"raise"`` mode, raise the first's error."""
        if self._windows and self._windows[0].stream.state is State.NEW:
            await self._open_group(0)
            first = self._windows[0]
            if first.error is not None and self._on_error == "raise":
                raise first.error
        return self

    def arrow_batches(self) -> AsyncIterator[pa.RecordBatch]:
        """Iterate ``pyarrow.RecordBatch``es, window after window in date order (see
        ``Report.arrow_batches``); ``records_yielded`` counts rows. Chosen before the
        first record is read (``async with bulk`` is fine)."""
        require_pyarrow()
        if self._started:
            self._start_once()  # raises: it is iterated already
        for window in self._windows:  # refused once a window handed out a record
            window.stream.choose_items(*arrow_items(window.stream.converter))
        self._arrow = True
        return self._hand_out(self._iterate())

    async def to_arrow(self) -> pa.Table:
        """Read every window into one ``pyarrow.Table``, in date order."""
        batches = [batch async for batch in self.arrow_batches()]
        return table_of(batches, self.record_type)

    async def aclose(self) -> None:
        """Close every window's response; a reader in another task gets a
        ``StreamInterruptedError``, not a quiet, early end."""
        if await self._close_handed_out() and self._interrupted is None:
            self._interrupted = closed_under_reader(self.records_yielded)
            for window in self._windows:  # read ahead, never to be handed out
                window.buffer.clear()
        await self._close_windows()

    async def _close_windows(self) -> None:
        with anyio.CancelScope(shield=True):
            for window in self._windows:
                await window.stream.aclose()

    async def _iterate(self) -> AsyncGenerator[T, None]:
        self._start_once()
        try:
            for head, window in enumerate(self._windows):
                while True:
                    while window.buffer:
                        item = window.buffer.popleft()
                        self.records_yielded += item.num_rows if self._arrow else 1
                        yield item
                    if self._interrupted is not None:
                        raise self._interrupted
                    if window.error is not None:
                        if self._on_error == "raise" or not _skippable(window.error):
                            raise self._as_seen_by_caller(window.error)
                        self.failed.append((window.start, window.end, window.error))
                        break
                    if window.done:
                        break
                    if window.stream.state is State.NEW:
                        await self._open_group(head)
                    else:
                        await self._buffer_next_batch(window)
                await window.stream.aclose()
        finally:
            await self._close_windows()

    async def _open_group(self, head: int) -> None:
        """Open the windows not yet open among ``head`` and the ``concurrency - 1`` after
        it, together: the group pays one latency, not one per window. Each reads to its
        first batch (the Stream's open), kept in the Stream until the caller reaches it
        (so that what the batches are made of can still be chosen)."""
        group = [
            window
            for window in self._windows[head : head + self._concurrency]
            if window.stream.state is State.NEW
        ]
        async with anyio.create_task_group() as tasks:
            for window in group:
                tasks.start_soon(self._open_window, window)

    async def _open_window(self, window: _Window) -> None:
        try:
            await window.stream.open()
        except Exception as exc:  # kept for its turn: the windows before it come first
            await self._fail(window, exc)

    async def _buffer_next_batch(self, window: _Window) -> None:
        """Bring the window's next batch (or its end, or its error) into its buffer."""
        try:
            batch = await window.stream.next_batch()
        except Exception as exc:  # kept for its turn: the windows before it come first
            await self._fail(window, exc)
            return
        if batch is None:
            window.done = True
            await window.stream.aclose()  # its connection back to the pool at once
        else:
            window.buffer.extend(batch)

    async def _fail(self, window: _Window, error: Exception) -> None:
        window.error, window.done = _naming_window(error, window), True
        await window.stream.aclose()

    def _as_seen_by_caller(self, error: Exception) -> Exception:
        """A window's error as the caller should see it: counts are of the whole pull."""
        if not isinstance(error, StreamInterruptedError):
            return error
        adjusted = StreamInterruptedError(
            f"{error} (bulk pull: {self.records_yielded} records delivered in all)",
            records_delivered=self.records_yielded,
        )
        adjusted.__cause__ = error
        return adjusted


def _skippable(error: Exception) -> bool:
    """Whether ``on_error="skip"`` passes over ``error``: a window the API, the network
    or the body failed; not the session's close, nor a bug."""
    return isinstance(error, DialogTechError) and not isinstance(error, SessionClosedError)


def _naming_window(error: Exception, window: _Window) -> Exception:
    """``error`` with the window's dates in its message (the URL alone hides them)."""
    if isinstance(error, DialogTechError) and error.args and isinstance(error.args[0], str):
        dates = f"{_day(window.start)}..{_day(window.end)}"
        error.args = (f"window {dates}: {error.args[0]}", *error.args[1:])
    return error


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def check_bulk_options(concurrency: object, max_windows: object, on_error: object) -> None:
    """The options of a bulk pull, checked even without a window (where they go unused,
    and a mistake in them would pass unseen)."""
    check.count(concurrency, "concurrency", minimum=1)
    check.count(max_windows, "max_windows", minimum=1)
    check_on_error(on_error)


def check_on_error(on_error: object) -> None:
    """Refuse anything but "raise" and "skip"."""
    if on_error not in ("raise", "skip"):
        raise ValidationError(
            f'on_error must be "raise" or "skip", not {on_error!r}', parameter="on_error"
        )


def windowed(
    make_stream: Callable[[Any, Any], Stream[T]],
    ranges: list[tuple[Any, Any]],
    concurrency: int,
    on_error: OnError = "raise",
    connections: int | None = None,
) -> BulkReport[T]:
    """A BulkReport of ``make_stream(start, end)`` for each range."""
    return BulkReport(
        [(start, end, make_stream(start, end)) for start, end in ranges],
        concurrency=concurrency,
        on_error=on_error,
        connections=connections,
    )

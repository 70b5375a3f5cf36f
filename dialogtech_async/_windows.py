"""The windows of a bulk pull: checked, counted and bounded before anything is sent.

A window is a ``datetime.timedelta`` (whole days for date ranges) or ``"month"``:
calendar months, cut at the range's ends. Every range is inclusive at both ends, and
windows meet without overlapping: one ends a resolution step (a day for dates, a
microsecond for datetimes) before the next begins.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypeVar

from . import _validate as check
from ._bulk import split_range
from ._exceptions import ValidationError

#: What ``window=`` takes.
Window = dt.timedelta | Literal["month"]
#: A range is refused when it would take more windows (requests) than this, unless the
#: caller raises ``max_windows``: a 100-year range in 1-day windows is 36,525 requests,
#: more likely a typo than a plan.
MAX_WINDOWS = 1_000

D = TypeVar("D", dt.date, dt.datetime)

_DAY = dt.timedelta(days=1)
_MICROSECOND = dt.timedelta(microseconds=1)


def split(start: D, end: D, window: object, max_windows: int) -> list[tuple[D, D]]:
    """The windows covering ``start``..``end`` inclusive.

    ``start`` and ``end`` are both dates or both (aware) datetimes.

    Raises:
        ValidationError: ``window`` is not a positive timedelta (whole days for dates)
            or "month", or the range needs more than ``max_windows`` windows.
    """
    check.count(max_windows, "max_windows", minimum=1)
    dates = not isinstance(start, dt.datetime)
    if window == "month":
        windows = _months(start, end)
        _bound(len(windows), max_windows)
        return windows
    step = _DAY if dates else _MICROSECOND
    _check(window, dates)
    assert isinstance(window, dt.timedelta)
    length = _span(start, end) + step
    _bound(-(-length // window), max_windows)  # windows rounded up
    return split_range(start, end, window, step)


def _check(window: object, dates: bool) -> None:
    if isinstance(window, str):
        raise ValidationError(
            f"window must be a datetime.timedelta or 'month', got {window!r}",
            parameter="window",
        )
    if not isinstance(window, dt.timedelta):
        hint = f" (timedelta(days={window}) for days?)" if isinstance(window, int) else ""
        raise ValidationError(
            f"window must be a datetime.timedelta or 'month', got {window!r}{hint}",
            parameter="window",
        )
    if window <= dt.timedelta(0):
        raise ValidationError(f"window must be positive, got {window}", parameter="window")
    if dates and window % _DAY:
        raise ValidationError(
            f"window must be a whole number of days for a range of dates, got {window}"
            " (the report's resolution is a day; use 'month' for calendar months)",
            parameter="window",
        )


def _span(start: D, end: D) -> dt.timedelta:
    if isinstance(start, dt.datetime):
        assert isinstance(end, dt.datetime)
        return end.astimezone(dt.timezone.utc) - start.astimezone(dt.timezone.utc)
    return end - start


def _bound(windows: int, max_windows: int) -> None:
    if windows > max_windows:
        raise ValidationError(
            f"the range needs {windows} windows (requests), more than max_windows="
            f"{max_windows}; use a longer window, or raise max_windows",
            parameter="window",
        )


def _next_month(day: dt.date) -> dt.date | None:
    """The 1st of the month after ``day``'s; None after December of the last year."""
    if (day.year, day.month) == (dt.MAXYEAR, 12):
        return None
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _months(start: D, end: D) -> list[tuple[D, D]]:
    """Calendar months (in the zone of ``start``, for datetimes), cut to the range."""
    if isinstance(start, dt.datetime):
        assert isinstance(end, dt.datetime)
        return _datetime_months(start, end)  # type: ignore[return-value]
    day_windows = []
    first = start
    while first <= end:
        after = _next_month(first)
        if after is None:
            day_windows.append((first, end))
            break
        day_windows.append((first, min(after - _DAY, end)))
        first = after
    return day_windows


def _datetime_months(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    windows = []
    first = start
    while first <= end:
        # Midnight on the 1st on the wall clock of the range's zone: a month is the
        # account's month, whatever daylight-saving time does in between.
        month = _next_month(first.date())
        if month is None:
            windows.append((first, end))
            break
        after = dt.datetime.combine(month, dt.time(), start.tzinfo)
        windows.append((first, min(after - _MICROSECOND, end)))
        first = after
    return windows

"""Bulk pulls: windows read together, yielded in order, bounded, errors in place."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest
import respx

import dialogtech_async as dta
from dialogtech_async._bulk import split_range
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    ChunkLatency,
    DropMidBody,
    ErrorStatus,
    Latency,
    RunningSandbox,
    click_to_rows,
    serve_in_thread,
)

START = dt.date(2024, 1, 1)
WEEK = dt.timedelta(days=7)
END = START + 12 * WEEK - dt.timedelta(days=1)  # twelve whole weeks
ROWS = 60  # per window: the sandbox gives each request this many rows


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=ROWS, chunk_rows=10) as running:
        yield running


def session(sandbox: RunningSandbox) -> dta.Session:
    s = dta.Session(SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, base_url=sandbox.base_url)
    s._retry = dta.RetryPolicy(max_retries=2, backoff_base=0.001, max_backoff=0.01)
    return s


async def pull(
    s: dta.Session, received: list[dta.ClickToRecord], *, managed: bool, concurrency: int
) -> None:
    """Read a bulk pull into ``received``, inside ``async with`` or with a bare loop."""
    report = s.click_to_report(START, END, window=WEEK, concurrency=concurrency)
    if managed:
        async with report:
            async for record in report:  # one at a time: an error keeps what came before
                received.append(record)
    else:
        async for record in report:
            received.append(record)


def expected_callers() -> list[str | None]:
    callers: list[str | None] = []
    for first, last in split_range(START, END, WEEK, dt.timedelta(days=1)):
        callers += [row["Caller ID"] for row in click_to_rows(first, last, rows=ROWS)]
    return callers


def test_split_range_covers_the_range_without_overlap() -> None:
    day = dt.timedelta(days=1)
    windows = split_range(dt.date(2024, 1, 1), dt.date(2024, 1, 10), WEEK, day)
    assert windows == [
        (dt.date(2024, 1, 1), dt.date(2024, 1, 7)),
        (dt.date(2024, 1, 8), dt.date(2024, 1, 10)),
    ]
    with pytest.raises(dta.ValidationError) as caught:
        split_range(dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.timedelta(hours=1), day)
    assert caught.value.parameter == "window"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.datetime(2024, 11, 2, 22), dt.datetime(2024, 11, 3, 5)),  # clocks go back at 2:00
        (dt.datetime(2024, 3, 9, 22), dt.datetime(2024, 3, 10, 5)),  # clocks go forward
    ],
)
@pytest.mark.parametrize("hours", [1, 3])
def test_split_range_in_a_zone_with_dst_neither_skips_nor_repeats(
    start: dt.datetime, end: dt.datetime, hours: int
) -> None:
    eastern = ZoneInfo("America/New_York")
    start, end = start.replace(tzinfo=eastern), end.replace(tzinfo=eastern)
    step = dt.timedelta(microseconds=1)
    windows = split_range(start, end, dt.timedelta(hours=hours), step)
    assert windows[0][0] == start
    assert windows[-1][1] == end
    for first, last in windows:
        assert first.tzinfo is eastern
        assert last.tzinfo is eastern
    # In UTC: datetimes that share a tzinfo subtract on the wall clock.
    utc = [
        (first.astimezone(dt.timezone.utc), last.astimezone(dt.timezone.utc))
        for first, last in windows
    ]
    for (_, last), (first, _) in itertools.pairwise(utc):
        assert first - last == step
    for first, last in utc:
        assert dt.timedelta(0) <= last - first < dt.timedelta(hours=hours)


@pytest.mark.anyio
async def test_context_managed_pull_is_complete_and_in_order(sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(Latency(0.02), action="report.clickto", times=None)
    async with session(sandbox) as s:
        report = s.click_to_report(START, END, window=WEEK, concurrency=4)
        async with report:
            callers = [record.caller_id async for record in report]
    assert callers == expected_callers()
    assert sandbox.app.requests["report.clickto"] == 12


@pytest.mark.anyio
async def test_bare_async_for_is_complete_and_in_order(sandbox: RunningSandbox) -> None:
    async with session(sandbox) as s:
        callers = [
            record.caller_id
            async for record in s.click_to_report(START, END, window=WEEK, concurrency=4)
        ]
    assert callers == expected_callers()


@pytest.mark.anyio
async def test_no_more_than_concurrency_windows_are_open(sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(ChunkLatency(0.01), action="report.clickto", times=None)
    most = 0
    async with session(sandbox) as s:
        report = s.click_to_report(START, END, window=WEEK, concurrency=3)
        async with report:
            async for _ in report:
                most = max(most, sandbox.open_connections())
    assert 1 <= most <= 3


@pytest.mark.anyio
@pytest.mark.parametrize("managed", [True, False])
async def test_an_error_status_is_raised_and_nothing_is_delivered_twice(
    sandbox: RunningSandbox, managed: bool
) -> None:
    sandbox.app.add_fault(ErrorStatus(404), action="report.clickto")
    received: list[dta.ClickToRecord] = []
    async with session(sandbox) as s:
        with pytest.raises(dta.NotFoundError):
            await pull(s, received, managed=managed, concurrency=4)
    # The first window's request failed (404 is not retried): records come only in order.
    assert [r.caller_id for r in received] == expected_callers()[: len(received)]
    assert len(received) < 12 * ROWS


@pytest.mark.anyio
@pytest.mark.parametrize("managed", [True, False])
async def test_a_broken_window_reports_the_whole_pulls_count(
    sandbox: RunningSandbox, managed: bool
) -> None:
    received: list[dta.ClickToRecord] = []
    async with session(sandbox) as s:
        # Every request breaks after 30 records: the first window delivers them, then fails.
        sandbox.app.add_fault(DropMidBody(after_records=30), action="report.clickto", times=None)
        with pytest.raises(dta.StreamInterruptedError) as caught:
            await pull(s, received, managed=managed, concurrency=2)
    assert caught.value.records_delivered == len(received)
    assert 0 < len(received) <= 30
    assert [r.caller_id for r in received] == expected_callers()[: len(received)]


@pytest.mark.anyio
async def test_leaving_early_closes_every_window(sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(ChunkLatency(0.01), action="report.clickto", times=None)
    async with session(sandbox) as s:
        report = s.click_to_report(START, END, window=WEEK, concurrency=4)
        async with report:
            async for _ in report:
                break
        with anyio.fail_after(5):
            assert len(await s.click_to_report(START, START).collect()) == ROWS
    with anyio.fail_after(5):
        while sandbox.open_connections():  # noqa: ASYNC110 - polling another thread's server
            await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_cancelling_a_managed_pull_releases_everything(sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(ChunkLatency(0.02), action="report.clickto", times=None)
    async with session(sandbox) as s:
        with anyio.move_on_after(0.2) as scope:
            report = s.click_to_report(START, END, window=WEEK, concurrency=4)
            async with report:
                async for _ in report:
                    pass
        assert scope.cancelled_caught
        with anyio.fail_after(5):
            assert len(await s.click_to_report(START, START).collect()) == ROWS


@pytest.mark.anyio
@pytest.mark.parametrize("managed", [True, False])
async def test_a_later_windows_error_waits_for_the_windows_before_it(managed: bool) -> None:
    # The third window fails at once while the first is still slow: the caller gets
    # the first two windows' records, then the error, in both modes.
    body = b'"Caller ID","Call Duration"\n"1","9"\n"2","8"\n"3","7"\n'

    async def answer(request: httpx.Request) -> httpx.Response:
        first = request.url.params["start_date"]
        if first == "20240101":
            await anyio.sleep(0.2)
        if first == "20240115":
            return httpx.Response(404, text="no such report")
        return httpx.Response(200, content=body)

    received: list[dta.ClickToRecord] = []
    with respx.mock:
        respx.get(url__startswith="https://secure.dialogtech.com/ibp_api.php").mock(
            side_effect=answer
        )
        async with dta.Session("ak", "sk") as s:
            with pytest.raises(dta.NotFoundError):
                await pull(s, received, managed=managed, concurrency=4)
    assert [record.caller_id for record in received] == ["1", "2", "3"] * 2

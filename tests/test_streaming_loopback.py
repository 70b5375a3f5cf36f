"""The whole stack over a real loopback server (uvicorn): streaming, cancellation, pools.

httpx's ASGITransport buffers whole bodies, so only a real server shows streaming.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

import dialogtech_async as dta
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_INFINITY_API_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    ChunkLatency,
    DropMidBody,
    RunningSandbox,
    serve_in_thread,
)

START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    # A thread-served sandbox: the same fixture works for asyncio and trio tests.
    with serve_in_thread(rows=2000, chunk_rows=100) as running:
        yield running


def session(sandbox: RunningSandbox, **options: object) -> dta.Session:
    return dta.Session(
        SANDBOX_ACCESS_KEY,
        SANDBOX_SECRET_ACCESS_KEY,
        base_url=sandbox.base_url,
        newest_base_url=sandbox.base_url,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.anyio
@pytest.mark.parametrize("fmt", ["csv", "xml"])
async def test_click_to_report_streams_all_records(sandbox: RunningSandbox, fmt: str) -> None:
    async with session(sandbox) as s:
        records = await s.click_to_report(START, END, format=fmt).collect()  # type: ignore[arg-type]
    assert len(records) == 2000
    assert all(isinstance(r, dta.ClickToRecord) for r in records)
    times = [r.click_datetime for r in records]
    assert times == sorted(times)  # type: ignore[type-var]
    assert sandbox.app.requests["report.clickto"] == 1


@pytest.mark.anyio
async def test_csv_and_xml_give_the_same_records(sandbox: RunningSandbox) -> None:
    async with session(sandbox) as s:
        from_csv = await s.click_to_report(START, END, format="csv").collect()
        from_xml = await s.click_to_report(START, END, format="xml").collect()
    # XML cannot carry the CSV's embedded line breaks the same way; compare the rest.
    assert [r.caller_id for r in from_csv] == [r.caller_id for r in from_xml]
    assert [r.click_datetime for r in from_csv] == [r.click_datetime for r in from_xml]


@pytest.mark.anyio
async def test_first_record_arrives_before_the_rest_is_sent(sandbox: RunningSandbox) -> None:
    # 20 chunks, 0.1 s apart: the whole body takes about 2 s to send.
    sandbox.app.add_fault(ChunkLatency(0.1), action="report.clickto")
    async with session(sandbox) as s, s.click_to_report(START, END) as report:
        started = time.monotonic()
        first = await report.__anext__()
        first_after = time.monotonic() - started
        bytes_at_first = report.bytes_read
        rest = [record async for record in report]
        total = time.monotonic() - started
    assert isinstance(first, dta.ClickToRecord)
    assert len(rest) == 1999
    assert first_after < total / 4
    assert report.bytes_read > 5 * bytes_at_first


@pytest.mark.anyio
async def test_leadflow_and_infinity_over_loopback(sandbox: RunningSandbox) -> None:
    async with session(sandbox) as s:
        calls = await s.leadflow_history(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)).collect()
    assert len(calls) == 2000
    assert all(c.call_date is not None and c.call_date.tzinfo is not None for c in calls)
    async with dta.InfinitySession(
        api_key=SANDBOX_INFINITY_API_KEY, base_url=sandbox.base_url
    ) as inf:
        active = await inf.pbx_active_calls(12).collect()
    assert active
    assert all(isinstance(call, dta.PbxActiveCall) for call in active)


@pytest.mark.anyio
async def test_cancelled_consumer_leaves_a_one_connection_pool_usable(
    sandbox: RunningSandbox,
) -> None:
    sandbox.app.add_fault(ChunkLatency(0.05), action="report.clickto")
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with session(sandbox, limits=limits) as s:
        with anyio.move_on_after(0.3) as scope:
            async for _ in s.click_to_report(START, END):
                pass
        assert scope.cancelled_caught
        # The only connection must be back in the pool: this would wait forever otherwise.
        with anyio.fail_after(5):
            records = await s.click_to_report(START, END).collect()
    assert len(records) == 2000


# A bare `async for` left early drops its generator: trio closes it in its finalizer, then
# warns (the documented reason to prefer `async with report:` under trio).
@pytest.mark.filterwarnings("ignore:Async generator 'dialogtech_async.:ResourceWarning")
@pytest.mark.anyio
async def test_break_without_context_manager_releases_the_connection(
    sandbox: RunningSandbox,
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with session(sandbox, limits=limits) as s:
        for _ in range(3):
            async for _record in s.click_to_report(START, END):
                break
        with anyio.fail_after(5):
            assert len(await s.click_to_report(START, END).collect()) == 2000


@pytest.mark.anyio
async def test_drop_after_records_raises_stream_interrupted_with_the_count(
    sandbox: RunningSandbox,
) -> None:
    sandbox.app.add_fault(DropMidBody(after_records=500), action="report.clickto")
    received: list[dta.ClickToRecord] = []

    async def consume(s: dta.Session) -> None:
        async for record in s.click_to_report(START, END):
            received.append(record)

    async with session(sandbox) as s:
        with pytest.raises(dta.StreamInterruptedError) as caught:
            await consume(s)
    assert caught.value.records_delivered == len(received)
    assert 0 < len(received) <= 500
    assert sandbox.app.requests["report.clickto"] == 1  # never silently restarted


@pytest.mark.anyio
async def test_bulk_windows_come_back_in_date_order(sandbox: RunningSandbox) -> None:
    async with session(sandbox) as s:
        bulk = await s.click_to_report(
            START, dt.date(2024, 3, 24), window=dt.timedelta(days=7), concurrency=4
        ).collect()
        one_by_one = []
        for week in range(12):
            first = START + dt.timedelta(days=7 * week)
            one_by_one += await s.click_to_report(first, first + dt.timedelta(days=6)).collect()
    assert bulk == one_by_one
    assert len(bulk) == 12 * 2000


@pytest.mark.anyio
@pytest.mark.parametrize("rows", [10_050, 10_000, 3])
async def test_infinity_row_endpoints_read_every_page(rows: int) -> None:
    # Infinity sends at most 10,000 rows a request: the rest are asked for by offset.
    with serve_in_thread(rows=rows, chunk_rows=500) as sandbox:
        async with dta.InfinitySession(
            api_key=SANDBOX_INFINITY_API_KEY, base_url=sandbox.base_url
        ) as inf:
            calls = await inf.pbx_active_calls(12).collect()
            users = await inf.pbx_user_status(12).collect()
        pages = rows // 10_000 + 1  # a full last page is followed by an empty one
        assert sandbox.app.requests["pbxActiveCalls"] == pages
        assert sandbox.app.requests["pbxUserStatus"] == pages
    assert len(calls) == len(users) == rows
    refs = [call.extra["callRef"] for call in calls]
    assert len(set(refs)) == rows  # no page read twice

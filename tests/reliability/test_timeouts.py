"""Timeouts against a real server that stalls: typed errors, at the right time, sent once.

Reports use the session's ``timeout=``. Click-to actions do not: the API answers only once
the first leg of the call is answered, so they wait ``call_timeout=`` (default 120 s).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

import dialogtech_async as dta
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_INFINITY_API_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    ChunkLatency,
    Latency,
    RunningSandbox,
    SlowAnswer,
    serve_in_thread,
)

ROWS = 30
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
SHORT_READ = httpx.Timeout(connect=5, read=0.3, write=5, pool=5)
FAST = dta.RetryPolicy(max_retries=2, backoff_base=0.001, max_backoff=0.01)
STALL = 30.0  # far beyond every timeout here; the server stops when the client leaves
KINDS = ["click_to_report_csv", "click_to_report_xml", "leadflow_history", "pbx_active_calls"]
ENDPOINT = {
    "click_to_report_csv": "report.clickto",
    "click_to_report_xml": "report.clickto",
    "leadflow_history": "leadflow.history",
    "pbx_active_calls": "pbxActiveCalls",
}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=ROWS, chunk_rows=5) as running:
        yield running


def session(sandbox: RunningSandbox, **options: Any) -> dta.Session:
    s = dta.Session(
        SANDBOX_ACCESS_KEY,
        SANDBOX_SECRET_ACCESS_KEY,
        base_url=sandbox.base_url,
        newest_base_url=sandbox.base_url,
        **options,
    )
    s._retry = FAST
    return s


async def read(sandbox: RunningSandbox, kind: str, got: list[Any]) -> None:
    """Read a report of ``kind`` with a 0.3 s read timeout, keeping what was delivered."""
    report: dta.Report[Any]
    async with (
        session(sandbox, timeout=SHORT_READ) as s,
        dta.InfinitySession(
            api_key=SANDBOX_INFINITY_API_KEY, base_url=sandbox.base_url, timeout=SHORT_READ
        ) as inf,
    ):
        inf._retry = FAST
        if kind == "click_to_report_csv":
            report = s.click_to_report(START, END, format="csv")
        elif kind == "click_to_report_xml":
            report = s.click_to_report(START, END, format="xml")
        elif kind == "leadflow_history":
            report = s.leadflow_history(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2))
        else:
            report = inf.pbx_active_calls(12)
        async with report:
            async for record in report:
                got.append(record)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_stall_mid_body_after_records_is_stream_interrupted(
    sandbox: RunningSandbox, kind: str
) -> None:
    sandbox.app.add_fault(ChunkLatency(STALL), endpoint=ENDPOINT[kind])
    got: list[Any] = []
    started = time.monotonic()
    with pytest.raises(dta.StreamInterruptedError) as caught:
        await read(sandbox, kind, got)
    assert time.monotonic() - started < 2  # one 0.3 s read timeout, no retry
    assert 0 < len(got) <= 5  # the first chunk's records
    assert caught.value.records_delivered == len(got)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert "timed out" in str(caught.value)
    assert sandbox.app.requests[ENDPOINT[kind]] == 1  # never restarted: records would repeat


@pytest.fixture(scope="module")
def one_record_server() -> Iterator[RunningSandbox]:
    # The first chunk is the CSV header and the first row, without its line break: the
    # parser cannot yet tell the row is whole, so nothing is delivered before the stall.
    with serve_in_thread(rows=ROWS, chunk_rows=1) as running:
        yield running


@pytest.fixture
def one_record_chunks(one_record_server: RunningSandbox) -> Iterator[RunningSandbox]:
    one_record_server.app.reset()
    yield one_record_server
    one_record_server.app.reset()


@pytest.mark.anyio
async def test_stall_before_any_record_is_retried_then_a_transport_error(
    one_record_chunks: RunningSandbox,
) -> None:
    sandbox = one_record_chunks
    sandbox.app.add_fault(ChunkLatency(STALL), endpoint="report.clickto", times=None)
    got: list[Any] = []
    started = time.monotonic()
    with pytest.raises(dta.TransportError) as caught:
        await read(sandbox, "click_to_report_csv", got)
    assert type(caught.value) is dta.TransportError
    assert got == []
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert sandbox.app.requests["report.clickto"] == 3  # nothing delivered: restarted twice
    assert time.monotonic() - started < 3


@pytest.mark.anyio
async def test_one_stall_before_any_record_recovers_completely(
    one_record_chunks: RunningSandbox,
) -> None:
    sandbox = one_record_chunks
    sandbox.app.add_fault(ChunkLatency(STALL), endpoint="report.clickto")
    got: list[Any] = []
    await read(sandbox, "click_to_report_csv", got)
    assert len(got) == ROWS
    assert sandbox.app.requests["report.clickto"] == 2


@pytest.mark.anyio
async def test_no_answer_before_headers_is_retried_then_a_transport_error(
    sandbox: RunningSandbox,
) -> None:
    sandbox.app.add_fault(Latency(STALL), endpoint="leadflow.history", times=None)
    got: list[Any] = []
    with pytest.raises(dta.TransportError) as caught:
        await read(sandbox, "leadflow_history", got)
    assert type(caught.value) is dta.TransportError
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert sandbox.app.requests["leadflow.history"] == 3


@pytest.mark.anyio
async def test_waiting_for_a_busy_pool_times_out_as_a_transport_error(
    sandbox: RunningSandbox,
) -> None:
    """The one connection is held by a stalled report: a second request gets a typed error
    after the pool timeout, and is never sent."""
    sandbox.app.add_fault(ChunkLatency(STALL), endpoint="report.clickto")
    timeout = httpx.Timeout(connect=5, read=30, write=5, pool=0.2)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with (
        session(sandbox, timeout=timeout, limits=limits) as s,
        s.click_to_report(START, END) as holding,
    ):
        assert await holding.__anext__()
        with pytest.raises(dta.TransportError) as caught:
            await s.leadflow_history(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)).collect()
    assert isinstance(caught.value.__cause__, httpx.PoolTimeout)
    assert sandbox.app.requests["leadflow.history"] == 0


async def click_to(s: dta.Session, action: str) -> dta.CallResult:
    if action == "clickto.call":
        return await s.click_to_call("3125550100", "8772955100")
    return await s.click_to_vr(menu_id="678", phone_to_call="3125550100")


@pytest.mark.anyio
@pytest.mark.parametrize("action", ["clickto.call", "clickto.vr"])
async def test_click_to_answer_that_never_comes_is_a_transport_error_sent_once(
    sandbox: RunningSandbox, action: str
) -> None:
    sandbox.app.add_fault(SlowAnswer(STALL), endpoint=action)
    started = time.monotonic()
    async with session(sandbox, call_timeout=0.3) as s:
        with pytest.raises(dta.TransportError) as caught:
            await click_to(s, action)
    assert time.monotonic() - started < 2
    assert type(caught.value) is dta.TransportError
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert "timed out" in str(caught.value)
    assert sandbox.app.requests[action] == 1  # a phone call is never placed twice


@pytest.mark.anyio
async def test_session_timeout_does_not_shorten_a_click_to_call(sandbox: RunningSandbox) -> None:
    """The session's read timeout applies to reports only: a click-to answer slower than
    it still arrives (``call_timeout=`` bounds it)."""
    sandbox.app.add_fault(SlowAnswer(0.6), endpoint="clickto.call")
    timeout = httpx.Timeout(connect=5, read=0.2, write=5, pool=5)
    async with session(sandbox, timeout=timeout) as s:
        result = await s.click_to_call("3125550100", "8772955100")
    assert result.connected
    assert sandbox.app.requests["clickto.call"] == 1


@pytest.mark.anyio
async def test_a_caller_deadline_bounds_a_click_to_call(sandbox: RunningSandbox) -> None:
    """What a caller can do instead: their own deadline (fail_after / move_on_after)."""
    sandbox.app.add_fault(SlowAnswer(STALL), endpoint="clickto.call")
    async with session(sandbox) as s:
        with anyio.move_on_after(0.3) as scope:
            await s.click_to_call("3125550100", "8772955100")
    assert scope.cancelled_caught
    assert sandbox.app.requests["clickto.call"] == 1

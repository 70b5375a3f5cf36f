"""The report core: one retry budget, errors before the stream, bulk windows opened
together, skipped windows, a session closed under its pulls, per-call options."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest

import dialogtech_async as dta
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    ChunkLatency,
    DropBeforeHeaders,
    DropMidBody,
    ErrorStatus,
    InBandError,
    Latency,
    RunningSandbox,
    click_to_rows,
    serve_in_thread,
)

ROWS = 30
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
WEEK = dt.timedelta(days=7)
FAST = dta.RetryPolicy(max_retries=2, backoff_base=0.001, max_backoff=0.01)
EXPECTED = [row["Caller ID"] for row in click_to_rows(START, END, rows=ROWS)]


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=ROWS, chunk_rows=5) as running:
        yield running


class Scripted(httpx.AsyncBaseTransport):
    """A caller's transport wrapping httpx's own: the n-th request meets ``script[n]``
    ("connect": refused before it leaves; a Fault: queued on the server for it; "ok")."""

    def __init__(self, sandbox: RunningSandbox, script: list[Any]) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sandbox = sandbox
        self.script = list(script)
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        step = self.script.pop(0) if self.script else "ok"
        if step == "connect":
            self.refused += 1
            raise httpx.ConnectError("refused (scripted)", request=request)
        if step != "ok":
            self.sandbox.app.add_fault(step, endpoint="report.clickto")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def session(sandbox: RunningSandbox, **options: Any) -> dta.Session:
    options.setdefault("retry", FAST)
    return dta.Session(
        SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, base_url=sandbox.base_url, **options
    )


async def drain(report: AsyncIterator[dta.ClickToRecord], got: list[dta.ClickToRecord]) -> None:
    """Iterate ``report`` into ``got``, one at a time: an error keeps what came before."""
    async for record in report:
        got.append(record)


# --- one retry budget -----------------------------------------------------------------------

SLOW = Latency(1.0)  # past the 0.3 s read timeout: a timeout before the first byte
BROKEN = DropMidBody(after_bytes=20)  # inside the header line: before the first record
MIXES = {
    "connect x3": ["connect", "connect", "connect"],
    "connect, 503, drop": ["connect", ErrorStatus(503), BROKEN],
    "503, connect, ok": [ErrorStatus(503), "connect"],
    "drop before headers, body broken, 502": [DropBeforeHeaders(), BROKEN, ErrorStatus(502)],
    "timeout, connect, timeout": [SLOW, "connect", SLOW],
    "body broken x2, then ok": [BROKEN, BROKEN],
    "429 x3": [ErrorStatus(429, retry_after=0)] * 3,
    "connect x4": ["connect"] * 4,
}


@pytest.mark.parametrize("mix", MIXES.values(), ids=MIXES.keys())
async def test_one_budget_whatever_fails(sandbox: RunningSandbox, mix: list[Any]) -> None:
    """max_retries=2: at most 3 requests for one report, whatever mix of failures."""
    transport = Scripted(sandbox, mix)
    timeout = httpx.Timeout(5.0, read=0.3)
    async with (
        httpx.AsyncClient(transport=transport, timeout=timeout) as client,
        session(sandbox, http_client=client) as s,
    ):
        if len(mix) >= 3:
            with pytest.raises((dta.TransportError, dta.APIStatusError)) as caught:
                await s.click_to_report(START, END).collect()
            assert not isinstance(caught.value, dta.StreamInterruptedError)
        else:
            records = await s.click_to_report(START, END).collect()
            assert [r.caller_id for r in records] == EXPECTED
    sent = transport.refused + sandbox.app.requests["report.clickto"]
    assert sent == min(len(mix) + 1, 3)


async def test_a_break_after_records_is_not_retried(sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(DropMidBody(after_records=12), endpoint="report.clickto")
    got: list[dta.ClickToRecord] = []
    async with session(sandbox) as s:
        with pytest.raises(dta.StreamInterruptedError) as caught:
            await drain(s.click_to_report(START, END), got)
    assert caught.value.records_delivered == len(got) > 0
    assert sandbox.app.requests["report.clickto"] == 1


async def test_retry_policy_is_public(sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(ErrorStatus(503), endpoint="report.clickto", times=None)
    async with session(sandbox, retry=dta.RetryPolicy(max_retries=0)) as s:
        assert s.retry_policy.max_retries == 0
        with pytest.raises(dta.ServerError):
            await s.click_to_report(START, END).collect()
    assert sandbox.app.requests["report.clickto"] == 1
    with pytest.raises(dta.ValidationError, match="retry"):
        dta.Session("ak", "sk", retry=3)  # type: ignore[arg-type]


# --- errors before the stream ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (ErrorStatus(401), dta.AuthenticationError),
        (ErrorStatus(503), dta.ServerError),
        (InBandError("INVALID ACCOUNT", None), dta.AuthenticationError),
        (InBandError("failed"), dta.APIStatusError),
    ],
)
async def test_async_with_raises_before_the_block(
    sandbox: RunningSandbox, fault: Any, error: type[Exception]
) -> None:
    sandbox.app.add_fault(fault, endpoint="report.clickto", times=None)
    entered = False
    async with session(sandbox) as s:
        with pytest.raises(error):
            async with s.click_to_report(START, END):
                entered = True
        with pytest.raises(error):
            await s.click_to_report(START, END, format="xml").open()
    assert not entered


async def test_open_then_hand_on(sandbox: RunningSandbox) -> None:
    async with session(sandbox) as s:
        report = await s.click_to_report(START, END).open()
        assert report.status_code == 200
        assert sandbox.app.requests["report.clickto"] == 1
        assert [r.caller_id async for r in report] == EXPECTED
    assert sandbox.app.requests["report.clickto"] == 1


async def test_rows_chosen_after_opening_read_the_same_body_again(sandbox: RunningSandbox) -> None:
    # `open()` read to the first record; choosing rows then decodes those bytes again.
    async with session(sandbox) as s, s.click_to_report(START, END) as report:
        rows = [row async for row in report.rows()]
    assert [row["Caller ID"] for row in rows] == EXPECTED
    assert sandbox.app.requests["report.clickto"] == 1


async def test_rows_are_refused_once_records_were_handed_out(sandbox: RunningSandbox) -> None:
    async with session(sandbox) as s, s.click_to_report(START, END) as report:
        first = await anext(report)
        with pytest.raises(RuntimeError, match="can be iterated only once"):
            await anext(aiter(report.rows()))
        assert [first.caller_id] + [r.caller_id async for r in report] == EXPECTED


def streaming_app(s: dta.Session) -> Any:
    """A web service streaming a report: errors become a clean 502, before any byte."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def export(request: Request) -> Response:
        report = s.click_to_report(START, END)
        try:
            await report.open()
        except dta.DialogTechError as exc:
            return PlainTextResponse(f"upstream: {type(exc).__name__}", status_code=502)

        async def lines() -> AsyncIterator[bytes]:
            async with report:
                async for record in report:
                    yield f"{record.caller_id}\n".encode()

        return StreamingResponse(lines(), media_type="text/plain")

    return Starlette(routes=[Route("/export", export)])


@pytest.mark.parametrize("fault", [None, ErrorStatus(401), InBandError("INVALID ACCOUNT")])
async def test_a_streaming_web_handler_answers_502_cleanly(
    sandbox: RunningSandbox, fault: Any
) -> None:
    if fault is not None:
        sandbox.app.add_fault(fault, endpoint="report.clickto", times=None)
    async with session(sandbox) as s:
        app = httpx.ASGITransport(app=streaming_app(s))
        async with httpx.AsyncClient(transport=app, base_url="http://web") as web:
            response = await web.get("/export")
    if fault is None:
        assert response.status_code == 200
        assert response.text.split() == EXPECTED
    else:
        assert response.status_code == 502
        assert response.text == "upstream: AuthenticationError"


# --- bulk -----------------------------------------------------------------------------------


@pytest.mark.parametrize("managed", [True, False])
async def test_bulk_opens_a_group_of_windows_at_once(
    sandbox: RunningSandbox, managed: bool
) -> None:
    """A bare loop too: the first step opens ``concurrency`` windows together."""
    end = START + 12 * WEEK - dt.timedelta(days=1)
    async with session(sandbox) as s:
        bulk = s.click_to_report(START, end, window=WEEK, concurrency=4)
        if managed:
            await bulk.open()
        records = aiter(bulk)
        await anext(records)
        assert sandbox.app.requests["report.clickto"] == 4
        rest = [record async for record in records]
    assert len(rest) == 12 * ROWS - 1
    assert sandbox.app.requests["report.clickto"] == 12


async def test_skipped_windows_are_listed(sandbox: RunningSandbox) -> None:
    class RefuseOneWindow(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.params.get("start_date") == "20240108":
                return httpx.Response(401, text="INVALID ACCOUNT", request=request)
            return await self.inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    end = START + 4 * WEEK - dt.timedelta(days=1)
    async with (
        httpx.AsyncClient(transport=RefuseOneWindow()) as client,
        session(sandbox, http_client=client) as s,
    ):
        bulk = s.click_to_report(START, end, window=WEEK, concurrency=2, on_error="skip")
        records = [record async for record in bulk]
        [(first, last, error)] = bulk.failed
        assert (first, last) == (dt.date(2024, 1, 8), dt.date(2024, 1, 14))
        assert isinstance(error, dta.AuthenticationError)
        assert "2024-01-08..2024-01-14" in str(error)
        assert len(records) == 3 * ROWS
        assert bulk.records_yielded == 3 * ROWS

        strict = s.click_to_report(START, end, window=WEEK, concurrency=2)
        got: list[dta.ClickToRecord] = []
        with pytest.raises(dta.AuthenticationError, match=r"2024-01-08\.\.2024-01-14"):
            await drain(strict, got)
        assert len(got) == ROWS  # the first window, then the error in its place
        assert strict.failed == []
        with pytest.raises(dta.ValidationError, match="on_error"):
            s.click_to_report(START, end, window=WEEK, on_error="ignore")  # type: ignore[call-overload]


# --- closing the session under its pulls ----------------------------------------------------


@pytest.mark.anyio
async def test_aclose_with_pulls_in_flight(sandbox: RunningSandbox) -> None:
    # Six chunks 0.3 s apart: each report is still being read when the session closes.
    sandbox.app.add_fault(ChunkLatency(0.3), endpoint="report.clickto", times=None)
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    s = session(sandbox, limits=one, retry=dta.RetryPolicy(max_retries=2, backoff_base=30))
    outcomes: list[BaseException | None] = []
    reading = anyio.Event()

    async def read(report: dta.Report[dta.ClickToRecord]) -> None:
        try:
            async for _ in report:
                reading.set()
        except BaseException as exc:
            outcomes.append(exc)
            if not isinstance(exc, dta.DialogTechError):
                raise
        else:
            outcomes.append(None)

    async with anyio.create_task_group() as group:
        for _ in range(3):  # one reading, two waiting for the pool's one connection
            group.start_soon(read, s.click_to_report(START, END))
        await reading.wait()
        sandbox.app.add_fault(ErrorStatus(503, retry_after=30), endpoint="leadflow.history")
        waiting = s.leadflow_history(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2))
        group.start_soon(read, waiting)  # will wait 30 s to retry a 503
        await anyio.sleep(0.3)
        seen = sum(sandbox.app.requests.values())
        await s.aclose()
    assert len(outcomes) == 4
    assert all(isinstance(outcome, dta.SessionClosedError) for outcome in outcomes), outcomes
    await anyio.sleep(0.3)
    assert sum(sandbox.app.requests.values()) == seen  # nothing left after aclose()
    for _ in range(100):
        if sandbox.open_connections() == 0:
            break
        await anyio.sleep(0.02)
    assert sandbox.open_connections() == 0


# --- per-call options, User-Agent -----------------------------------------------------------


async def test_with_options_shares_the_pool(sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(ErrorStatus(503), endpoint="report.clickto", times=None)
    async with session(sandbox) as s:
        fast = s.with_options(max_retries=0, timeout=5)
        assert fast.retry_policy.max_retries == 0
        assert fast.retry_policy.backoff_base == FAST.backoff_base
        with pytest.raises(dta.ServerError):
            await fast.click_to_report(START, END).collect()
        assert sandbox.app.requests["report.clickto"] == 1
        await fast.aclose()
        sandbox.app.clear_faults()
        assert len(await s.click_to_report(START, END).collect()) == ROWS  # pool still open
        other = s.with_options(timeout=httpx.Timeout(5.0))
    assert other.closed  # closing a session closes what derives from it
    with pytest.raises(dta.SessionClosedError):
        other.click_to_report(START, END)


async def test_user_agent_names_the_library_and_httpx(sandbox: RunningSandbox) -> None:
    async with session(sandbox) as s:
        await s.click_to_report(START, END).collect()
    [request] = sandbox.app.request_log
    agent = dict(request.headers)["user-agent"]
    assert agent == f"dialogtech-async/{dta.__version__} python-httpx/{httpx.__version__}"

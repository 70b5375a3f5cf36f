"""Cancellation at random points never leaks a connection, and nothing is left unclosed.

A thousand consumers share one session whose pool holds a single connection; each is
cancelled at a seeded-random point (while waiting for the connection, before the first
record, mid-stream after k records) or leaves early by ``break`` or by an exception. If
any of them kept the connection, the next request would wait for it forever; it must
instead succeed at once, and the server must see no connection left open beyond the
pool's one keep-alive connection (none once the session is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import random
import time
import warnings
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

import dialogtech_async as dta
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_INFINITY_API_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    ChunkLatency,
    DropMidBody,
    ErrorStatus,
    RunningSandbox,
    SlowAnswer,
    click_to_rows,
    serve_in_thread,
)

ROWS = 50
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)
#: Consumers per backend: a thousand on each.
CONSUMERS = {"asyncio": 1000, "trio": 1000}
#: Consumers started together: they queue for the one connection.
BATCH = 10
EXPECTED = [row["Caller ID"] for row in click_to_rows(START, END, rows=ROWS)]


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    # 10 chunks of 5 records, 1 ms apart: a report is in flight for ~10 ms.
    with serve_in_thread(rows=ROWS, chunk_rows=5) as running:
        running.app.add_fault(ChunkLatency(0.001), endpoint="report.clickto", times=None)
        yield running


def session(sandbox: RunningSandbox, **options: Any) -> dta.Session:
    return dta.Session(
        SANDBOX_ACCESS_KEY,
        SANDBOX_SECRET_ACCESS_KEY,
        base_url=sandbox.base_url,
        newest_base_url=sandbox.base_url,
        **options,
    )


async def wait_for_connections(sandbox: RunningSandbox, at_most: int) -> int:
    """Poll the server until it holds at most ``at_most`` connections (5 s at most)."""
    for _ in range(500):
        if sandbox.open_connections() <= at_most:
            break
        await anyio.sleep(0.01)
    return sandbox.open_connections()


class Consumer:
    """One consumer and the way it will stop, drawn from ``rng``."""

    MODES = ("timeout", "cancel_after_k", "break_after_k", "raise_after_k", "anext_then_close")

    def __init__(self, rng: random.Random) -> None:
        self.mode = rng.choice(self.MODES)
        self.delay = rng.uniform(0, 0.03)
        self.k = rng.randrange(ROWS + 1)
        self.context_managed = rng.random() < 0.5
        self.got: list[str] = []

    async def run(self, s: dta.Session) -> None:
        report = s.click_to_report(START, END)
        if self.mode == "timeout":
            with anyio.move_on_after(self.delay):
                await self._read(report)
        elif self.mode == "anext_then_close":
            with anyio.move_on_after(self.delay):
                self.got.append((await report.__anext__()).caller_id or "")
            await report.aclose()
        elif self.mode == "raise_after_k":
            with contextlib.suppress(LookupError):
                await self._read(report)
        else:
            with anyio.CancelScope() as scope:
                await self._read(report, scope)

    async def _read(self, report: dta.Report[dta.ClickToRecord], scope: Any = None) -> None:
        if self.context_managed:
            async with report:
                await self._loop(report, scope)
        else:
            await self._loop(report, scope)

    async def _loop(self, report: dta.Report[dta.ClickToRecord], scope: Any) -> None:
        if self.k == 0 and self.mode != "timeout":
            return  # leave before the first record: the request may not even be sent
        async for record in report:
            self.got.append(record.caller_id or "")
            if len(self.got) < self.k:
                continue
            if self.mode == "cancel_after_k" and scope is not None:
                scope.cancel()
                await anyio.lowlevel.checkpoint()  # cancelled here, mid-stream
            elif self.mode == "break_after_k":
                break
            elif self.mode == "raise_after_k":
                raise LookupError("consumer gave up")


# A bare `async for` left early drops its generator: trio closes it in its finalizer, then
# warns (the documented reason to prefer `async with report:` under trio).
@pytest.mark.filterwarnings("ignore:Async generator 'dialogtech_async.:ResourceWarning")
@pytest.mark.anyio
async def test_a_thousand_cancelled_consumers_leave_the_one_connection_pool_usable(
    sandbox: RunningSandbox, anyio_backend: str
) -> None:
    rng = random.Random(20240101)
    consumers = [Consumer(rng) for _ in range(CONSUMERS[anyio_backend])]
    started = time.monotonic()
    async with session(sandbox, limits=ONE_CONNECTION) as s:
        for first in range(0, len(consumers), BATCH):
            with anyio.fail_after(10):  # a leaked connection would hang a batch: fail instead
                async with anyio.create_task_group() as group:
                    for consumer in consumers[first : first + BATCH]:
                        group.start_soon(consumer.run, s)
        # The one connection is back in the pool: a full report comes at once.
        with anyio.fail_after(5):
            records = await s.click_to_report(START, END).collect()
        assert [record.caller_id for record in records] == EXPECTED
        # At most the pool's one keep-alive connection is still open on the server.
        assert await wait_for_connections(sandbox, at_most=1) <= 1
    assert await wait_for_connections(sandbox, at_most=0) == 0
    elapsed = time.monotonic() - started

    # Every record any consumer saw was right, in order: cancellation corrupts nothing.
    for consumer in consumers:
        assert consumer.got == EXPECTED[: len(consumer.got)]
    # The seeded mix did exercise each kind of stop, mid-stream ones included.
    mid_stream = [c for c in consumers if 0 < len(c.got) < ROWS]
    assert len({c.mode for c in mid_stream}) == len(Consumer.MODES)
    assert len(mid_stream) >= len(consumers) // 4
    assert any(not c.got for c in consumers if c.mode == "timeout")  # cancelled waiting
    assert elapsed < 40


class Logging(httpx.AsyncBaseTransport):
    """A caller's own transport that wraps httpx's (for logging, caching, routing): the
    session cannot reach its pool, and must not need to."""

    def __init__(self, limits: httpx.Limits) -> None:
        self.inner = httpx.AsyncHTTPTransport(limits=limits)
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.filterwarnings("ignore:Async generator 'dialogtech_async.:ResourceWarning")
@pytest.mark.anyio
async def test_cancellations_through_a_callers_wrapping_transport_leak_nothing(
    sandbox: RunningSandbox, anyio_backend: str
) -> None:
    """Regression (encode/httpcore#1093): a request cancelled just as the pool handed it a
    new, not yet connected, connection left that connection in the pool for ever. A
    workaround reaching into ``client._transport._pool`` missed a caller's transport that
    wraps httpx's; sends are now cancel-safe whatever the transport."""
    rng = random.Random(20261203)  # leaks the slot (under trio) if sends are abandoned
    consumers = [Consumer(rng) for _ in range(300)]
    transport = Logging(ONE_CONNECTION)
    async with (
        httpx.AsyncClient(transport=transport) as client,
        session(sandbox, http_client=client) as s,
    ):
        for first in range(0, len(consumers), BATCH):
            with anyio.fail_after(10):
                async with anyio.create_task_group() as group:
                    for consumer in consumers[first : first + BATCH]:
                        group.start_soon(consumer.run, s)
        with anyio.fail_after(5):
            records = await s.click_to_report(START, END).collect()
        assert [record.caller_id for record in records] == EXPECTED
    assert transport.sent > len(consumers) // 2
    for consumer in consumers:
        assert consumer.got == EXPECTED[: len(consumer.got)]
    assert any(not c.got for c in consumers if c.mode == "timeout")  # cancelled waiting
    assert await wait_for_connections(sandbox, at_most=0) == 0


@pytest.mark.anyio
async def test_a_request_waiting_for_the_sessions_own_pool_is_cancelled_at_once(
    sandbox: RunningSandbox,
) -> None:
    """With its own pool the session queues requests for a connection itself, so a wait
    is cancelled at once (not when a connection comes free) and nothing is sent."""
    sandbox.app.add_fault(ChunkLatency(30), endpoint="report.clickto")
    async with session(sandbox, limits=ONE_CONNECTION) as s:
        with anyio.fail_after(5):  # held back until the connection came free: fail instead
            async with s.click_to_report(START, END):  # holds the one connection
                with anyio.move_on_after(0.2) as scope:
                    await s.leadflow_history(
                        dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)
                    ).open()
                assert scope.cancelled_caught
        assert sandbox.app.requests["leadflow.history"] == 0
        with anyio.fail_after(5):
            assert len(await s.click_to_report(START, END).collect()) == ROWS


@pytest.mark.anyio
async def test_cancelled_while_waiting_for_a_retry_releases_everything(
    sandbox: RunningSandbox,
) -> None:
    """Cancellation during the backoff sleep between two attempts."""
    sandbox.app.add_fault(ErrorStatus(503, retry_after=30), endpoint="report.clickto", times=5)
    async with session(sandbox, limits=ONE_CONNECTION) as s:
        with anyio.move_on_after(0.2) as scope:
            await s.click_to_report(START, END).collect()
        assert scope.cancelled_caught
        sandbox.app.clear_faults()
        with anyio.fail_after(5):
            assert len(await s.click_to_report(START, END).collect()) == ROWS
    assert await wait_for_connections(sandbox, at_most=0) == 0


@pytest.mark.anyio
async def test_aclose_from_another_task_interrupts_the_reader(sandbox: RunningSandbox) -> None:
    """The reading task is told (not a quiet, early end that looks like the whole
    report), and the connection goes back to the pool."""
    sandbox.app.add_fault(ChunkLatency(0.05), endpoint="report.clickto", times=None)
    received: list[dta.ClickToRecord] = []
    errors: list[BaseException] = []
    reading = anyio.Event()
    async with session(sandbox, limits=ONE_CONNECTION) as s:
        report = s.click_to_report(START, END)

        async def read() -> None:
            try:
                async for record in report:
                    received.append(record)
                    reading.set()
            except dta.StreamInterruptedError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as group:
            group.start_soon(read)
            await reading.wait()
            await report.aclose()
        [error] = errors
        assert isinstance(error, dta.StreamInterruptedError)
        assert 0 < error.records_delivered == len(received) < ROWS
        assert "aclose()" in str(error)
        sandbox.app.clear_faults()
        with anyio.fail_after(5):
            assert len(await s.click_to_report(START, END).collect()) == ROWS


@pytest.mark.anyio
async def test_cancelled_click_to_call_releases_the_connection(sandbox: RunningSandbox) -> None:
    """A click-to-call abandoned while the phone rings frees its connection; it was sent
    once and is not sent again."""
    sandbox.app.add_fault(SlowAnswer(30), endpoint="clickto.call")
    async with session(sandbox, limits=ONE_CONNECTION) as s:
        with anyio.move_on_after(0.2) as scope:
            await s.click_to_call("3125550100", "8772955100")
        assert scope.cancelled_caught
        with anyio.fail_after(5):
            assert len(await s.click_to_report(START, END).collect()) == ROWS
    assert sandbox.app.requests["clickto.call"] == 1
    assert await wait_for_connections(sandbox, at_most=0) == 0


# --- resource hygiene under asyncio debug mode ---------------------------------------------


async def representative_flows(sandbox: RunningSandbox) -> None:
    """Success, early exit, cancellation, an error status and a broken stream."""
    async with session(sandbox, limits=ONE_CONNECTION) as s:
        s._retry = dta.RetryPolicy(max_retries=1, backoff_base=0.001, max_backoff=0.01)
        assert len(await s.click_to_report(START, END, format="xml").collect()) == ROWS
        async for _ in s.click_to_report(START, END):
            break
        with anyio.move_on_after(0.003):
            await s.click_to_report(START, END).collect()
        sandbox.app.add_fault(ErrorStatus(500), endpoint="report.clickto", times=2)
        with pytest.raises(dta.ServerError):
            await s.click_to_report(START, END).collect()
        sandbox.app.add_fault(DropMidBody(after_records=20), endpoint="report.clickto")
        with pytest.raises(dta.StreamInterruptedError):
            await s.click_to_report(START, END).collect()
        assert await s.click_to_call("3125550100", "8772955100")
        calls = await s.leadflow_history(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)).collect()
        assert len(calls) == ROWS
    async with dta.InfinitySession(
        api_key=SANDBOX_INFINITY_API_KEY, base_url=sandbox.base_url
    ) as inf:
        assert await inf.active_call(5, call_ref="abc")
        async for _ in inf.pbx_user_status(5):
            break


async def test_no_unclosed_resource_or_pending_task_in_asyncio_debug_mode(
    sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    caplog.set_level(logging.WARNING, logger="asyncio")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            await representative_flows(sandbox)
            await asyncio.sleep(0.05)  # let finalizers of abandoned generators run
            gc.collect()
            await asyncio.sleep(0)
            gc.collect()
    finally:
        loop.set_debug(False)
    unclosed = [
        str(w.message) for w in caught if issubclass(w.category, (ResourceWarning, RuntimeWarning))
    ]
    assert unclosed == []
    # asyncio's debug mode logs never-retrieved exceptions, destroyed pending tasks and
    # unclosed transports (and slow callbacks, "Executing ... took", which are no leak).
    problems = [
        message
        for message in (r.getMessage() for r in caplog.records if r.name == "asyncio")
        if not message.startswith("Executing ")
        and any(word in message for word in ("unclosed", "never retrieved", "destroyed"))
    ]
    assert problems == []
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    assert pending == []
    assert await wait_for_connections(sandbox, at_most=0) == 0

"""A careless user's ways through a report's lifetime: an error caught and ignored,
a close from another task, a small pool shared by a bulk pull."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

import dialogtech_async as dta
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    RunningSandbox,
    serve_in_thread,
)

START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 28)
WEEK = dt.timedelta(days=7)
ROWS = 60
CSV = (Path(__file__).parent / "fixtures" / "clickto_report.csv").read_bytes()
FAST = dta.RetryPolicy(max_retries=2, backoff_base=0.001, max_backoff=0.01)


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=ROWS, chunk_rows=10) as running:
        yield running


def session(sandbox: RunningSandbox, secret: str = SANDBOX_SECRET_ACCESS_KEY) -> dta.Session:
    return dta.Session(SANDBOX_ACCESS_KEY, secret, base_url=sandbox.base_url, retry=FAST)


async def test_a_report_whose_open_failed_never_reads_as_empty(sandbox: RunningSandbox) -> None:
    """The error caught (and logged, say) at open() comes back when the report is read,
    not an empty report that looks like a day without calls."""
    async with session(sandbox, "wrong-" + SANDBOX_SECRET_ACCESS_KEY) as s:
        report = s.click_to_report(START, END)
        with pytest.raises(dta.AuthenticationError):
            await report.open()
        with pytest.raises(dta.AuthenticationError):
            await report.collect()
        with pytest.raises(dta.AuthenticationError):
            await report.open()


@pytest.mark.parametrize("connections", [1, 2])
async def test_bulk_concurrency_above_the_pool_size_completes(
    sandbox: RunningSandbox, connections: int
) -> None:
    """A window holds its connection until the caller has read the windows before it:
    a group larger than the pool waited for a connection that could not come free
    (PoolTimeout, retried, then raised)."""
    limits = httpx.Limits(max_connections=connections)
    timeout = httpx.Timeout(5.0, pool=0.5)
    async with dta.Session(
        SANDBOX_ACCESS_KEY,
        SANDBOX_SECRET_ACCESS_KEY,
        base_url=sandbox.base_url,
        retry=FAST,
        limits=limits,
        timeout=timeout,
    ) as s:
        bulk = s.click_to_report(START, END, window=WEEK, concurrency=4, on_error="skip")
        records = [record async for record in bulk]
    assert bulk.failed == []
    assert len(records) == 4 * ROWS
    assert sandbox.app.requests["report.clickto"] == 4


async def _close_from_another_task(
    pull: dta.Report[dta.ClickToRecord] | dta.BulkReport[dta.ClickToRecord],
) -> tuple[list[dta.ClickToRecord], BaseException | None]:
    """Read ``pull`` slowly (the caller busy between records, not inside the pull)
    while another task closes it."""
    got: list[dta.ClickToRecord] = []
    caught: list[BaseException] = []
    three = anyio.Event()

    async def reader() -> None:
        try:
            async for record in pull:
                got.append(record)
                if len(got) == 3:
                    three.set()
                await anyio.sleep(0.01)
        except dta.DialogTechError as exc:
            caught.append(exc)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(reader)
        await three.wait()
        await pull.aclose()
    return got, caught[0] if caught else None


@pytest.mark.anyio
async def test_a_report_closed_from_another_task_never_ends_quietly(
    sandbox: RunningSandbox,
) -> None:
    async with session(sandbox) as s:
        report = s.click_to_report(START, END)
        got, error = await _close_from_another_task(report)
    assert isinstance(error, dta.StreamInterruptedError)
    assert error.records_delivered == len(got) == report.records_yielded
    assert len(got) < ROWS


@pytest.mark.anyio
@pytest.mark.parametrize("on_error", ["raise", "skip"])
async def test_a_bulk_pull_closed_from_another_task_never_ends_quietly(
    sandbox: RunningSandbox, on_error: str
) -> None:
    async with session(sandbox) as s:
        bulk = s.click_to_report(START, END, window=WEEK, concurrency=2, on_error=on_error)  # type: ignore[call-overload]
        got, error = await _close_from_another_task(bulk)
    assert isinstance(error, dta.StreamInterruptedError)
    assert error.records_delivered == len(got) == bulk.records_yielded
    assert len(got) < 4 * ROWS
    assert bulk.failed == []


@pytest.mark.parametrize("header", ["\u00b2", "1\u00b9", "\u00bd"])
async def test_a_retry_after_of_other_digits_is_ignored(header: str) -> None:
    """Latin-1 has digits Python's isdigit() knows and float() does not ('²'): a 503
    carrying one raised a raw ValueError instead of being retried."""
    answers = [
        httpx.Response(503, headers={"Retry-After": header.encode("latin-1")}),
        httpx.Response(503, headers={"Retry-After": header.encode("latin-1")}),
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, content=CSV)

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client,
        dta.Session("ak1", "sk1", http_client=client, retry=FAST) as s,
    ):
        records = await s.click_to_report(START, END).collect()
    assert len(records) == len(CSV.strip().splitlines()) - 1


@pytest.mark.anyio
async def test_an_opened_report_dropped_unclosed_gives_its_connection_back(
    sandbox: RunningSandbox,
) -> None:
    """A report opened and then forgotten (an exception in the caller's code before it
    iterated) held its pool slot for ever once collected: a pool of one was dead."""
    async with dta.Session(
        SANDBOX_ACCESS_KEY,
        SANDBOX_SECRET_ACCESS_KEY,
        base_url=sandbox.base_url,
        retry=dta.RetryPolicy(max_retries=0),
        limits=httpx.Limits(max_connections=1),
        timeout=httpx.Timeout(5.0, pool=1.0),
    ) as s:
        await s.click_to_report(START, END).open()  # dropped at once, never closed
        gc.collect()  # its body generators, left to the event loop to close
        await anyio.sleep(0.05)
        gc.collect()  # then the response
        with anyio.fail_after(5):
            assert len(await s.click_to_report(START, END).collect()) == ROWS


@pytest.mark.anyio
async def test_a_report_read_by_anext_and_closed_from_another_task_says_so(
    sandbox: RunningSandbox,
) -> None:
    """The reader's next ``anext(report)`` meets the close (it got "iterated only
    once", a RuntimeError, as if the reader had made a mistake)."""
    async with session(sandbox) as s:
        report = s.click_to_report(START, END)
        got = [await anext(report)]
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(report.aclose)
        with pytest.raises(dta.StreamInterruptedError) as caught:
            await anext(report)
    assert caught.value.records_delivered == len(got)


@pytest.mark.anyio
@pytest.mark.parametrize("on_error", ["raise", "skip"])
async def test_a_bulk_pull_meets_its_sessions_close(sandbox: RunningSandbox, on_error: str) -> None:
    """on_error="skip" skips a window the API failed, not the session's close: every
    window left was "skipped" and the pull ended quietly."""
    s = session(sandbox)
    bulk = s.click_to_report(START, END, window=WEEK, concurrency=2, on_error=on_error)  # type: ignore[call-overload]
    got: list[dta.ClickToRecord] = []

    async def read() -> None:
        async for record in bulk:
            got.append(record)
            if len(got) == 3:
                await s.aclose()

    with pytest.raises(dta.SessionClosedError):
        await read()
    assert bulk.failed == []
    assert len(got) < 4 * ROWS


async def test_skip_mode_skips_api_failures_not_bugs(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window failing with something other than the library's errors (a bug, in the
    library or a caller's transport) is raised, not listed as a skipped window."""
    async with session(sandbox) as s:
        bulk = s.click_to_report(START, END, window=WEEK, on_error="skip")
        second = bulk._windows[1].stream

        async def broken() -> None:
            raise KeyError("a bug")

        monkeypatch.setattr(second, "next_batch", broken)
        with pytest.raises(KeyError):
            await bulk.collect()
    assert bulk.failed == []


async def test_a_bulk_pull_is_an_async_iterator_like_a_report(sandbox: RunningSandbox) -> None:
    """``anext(bulk)``, then ``async for`` carrying on, as with a Report (it was a
    TypeError: BulkReport had no __anext__)."""
    async with session(sandbox) as s:
        bulk = s.click_to_report(START, END, window=WEEK, concurrency=2)
        first = await anext(bulk)
        rest = [record async for record in bulk]
        whole = await s.click_to_report(START, END, window=WEEK).collect()
    assert [first, *rest] == whole
    assert bulk.records_yielded == 4 * ROWS


async def test_collect_after_anext_does_not_return_part_of_the_pull(
    sandbox: RunningSandbox,
) -> None:
    """collect() reads a whole pull: after anext() it returned the rest only, silently
    (after a broken-off `async for` it already refused)."""
    async with session(sandbox) as s:
        report = s.click_to_report(START, END)
        await anext(report)
        with pytest.raises(RuntimeError, match="collect"):
            await report.collect()
        bulk = s.click_to_report(START, END, window=WEEK)
        await anext(bulk)
        with pytest.raises(RuntimeError, match="collect"):
            await bulk.collect()
        await report.aclose()
        await bulk.aclose()

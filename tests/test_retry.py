"""Retries: which requests are sent again, how often, how long the waits are.

Waits are kept fast by swapping the session's RetryPolicy for one with millisecond
backoff (``fast()``), never by patching ``anyio.sleep`` away. Where a test must know the
exact wait (Retry-After), it wraps ``anyio.sleep`` in a recorder that still sleeps.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time

import anyio
import httpx
import pytest
import respx
from _fixtures import fast

import dialogtech_async as dta
from dialogtech_async._retry import is_retryable_status, retry_after
from dialogtech_async.testing import CLICK_TO_CSV_HEADER

LEGACY = "https://secure.dialogtech.com/ibp_api.php"
LEADFLOW = "https://dialogtechapis.com/report/v1/leadflow/v2/history"
INFINITY = "https://api.infinitycloud.com/reports/v2/igrps/1/pbxActiveCalls"
AK, SK = "ak-public-1234", "sk-secret-5678"
START, END = dt.date(2017, 1, 1), dt.date(2017, 1, 2)
CSV = CLICK_TO_CSV_HEADER + (
    b"\n"
    b'"0001112222","Click to Call","","","On Call Number","Jan 13 2017 10:52 PM","5556667777",'
    b'"9","","","127.0.0.1","ANSWER","ANSWER"'
)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every delay the library sleeps, recorded; the sleep still happens."""
    recorded: list[float] = []
    real_sleep = anyio.sleep

    async def recording_sleep(delay: float) -> None:
        recorded.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr("dialogtech_async._client.anyio.sleep", recording_sleep)
    return recorded


# --- reports (idempotent GETs) -------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_report_retried_after_a_retryable_status(mock: respx.MockRouter, status: int) -> None:
    route = mock.get(LEGACY).mock(
        side_effect=[httpx.Response(status), httpx.Response(200, content=CSV)]
    )
    async with dta.Session(AK, SK) as session:
        fast(session)
        records = await session.click_to_report(START, END).collect()
    assert route.call_count == 2
    assert [record.caller_id for record in records] == ["0001112222"]


async def test_retry_after_zero_is_honoured(mock: respx.MockRouter, sleeps: list[float]) -> None:
    route = mock.get(LEADFLOW).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(200, json=[{"sid": "S1"}]),
        ]
    )
    async with dta.Session(AK, SK) as session:
        # Without Retry-After this policy would wait up to 1000 s.
        session._retry = dta.RetryPolicy(max_retries=2, backoff_base=1000.0, max_backoff=1000.0)
        with anyio.fail_after(5):
            calls = await session.leadflow_history(sid="S1").collect()
    assert route.call_count == 2
    assert sleeps == [0.0]
    assert [call.sid for call in calls] == ["S1"]


async def test_retry_after_is_capped_by_max_backoff(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.get(INFINITY).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "3600"}),
            httpx.Response(200, json=[]),
        ]
    )
    async with dta.InfinitySession(api_key="k") as session:
        session._retry = dta.RetryPolicy(max_retries=1, backoff_base=0.001, max_backoff=0.02)
        assert await session.pbx_active_calls(1).collect() == []
    assert sleeps == [0.02]


@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_exhausted_retries_raise_after_max_retries_plus_one(
    mock: respx.MockRouter, max_retries: int
) -> None:
    route = mock.get(LEGACY).respond(503)
    async with dta.Session(AK, SK, max_retries=max_retries) as session:
        assert session.retry_policy.max_retries == max_retries
        fast(session, max_retries=max_retries)
        with pytest.raises(dta.ServerError) as caught:
            await session.click_to_report(START, END).collect()
    assert caught.value.status_code == 503
    assert route.call_count == max_retries + 1


async def test_rate_limit_error_after_retries_carries_retry_after(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get(LEADFLOW).respond(429, headers={"Retry-After": "0"})
    async with dta.Session(AK, SK) as session:
        fast(session, max_retries=2)
        with pytest.raises(dta.RateLimitError) as caught:
            await session.leadflow_history(sid="S1").collect()
    assert route.call_count == 3
    assert sleeps == [0.0, 0.0]
    assert caught.value.retry_after == 0.0


async def test_max_retries_zero_sends_once(mock: respx.MockRouter) -> None:
    route = mock.get(INFINITY).respond(500)
    async with dta.InfinitySession(api_key="k", max_retries=0) as session:
        with pytest.raises(dta.ServerError):
            await session.pbx_active_calls(1).collect()
    assert route.call_count == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_errors_are_not_retried(mock: respx.MockRouter, status: int) -> None:
    route = mock.get(LEGACY).respond(status)
    async with dta.Session(AK, SK) as session:
        fast(session)
        with pytest.raises(dta.APIStatusError):
            await session.click_to_report(START, END).collect()
    assert route.call_count == 1


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout, httpx.RemoteProtocolError],
)
async def test_report_retried_after_transport_errors(
    mock: respx.MockRouter, error: type[httpx.TransportError]
) -> None:
    route = mock.get(LEGACY).mock(side_effect=[error, httpx.Response(200, content=CSV)])
    async with dta.Session(AK, SK) as session:
        fast(session)
        records = await session.click_to_report(START, END).collect()
    assert route.call_count == 2
    assert len(records) == 1


async def test_report_transport_errors_exhausted(mock: respx.MockRouter) -> None:
    route = mock.get(LEGACY).mock(side_effect=httpx.ConnectError("refused"))
    async with dta.Session(AK, SK) as session:
        fast(session, max_retries=2)
        with pytest.raises(dta.TransportError) as caught:
            await session.click_to_report(START, END).collect()
    assert route.call_count == 3
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


# --- click-to actions: they place phone calls ----------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 503])
async def test_click_to_call_is_not_resent_after_a_status(
    mock: respx.MockRouter, status: int
) -> None:
    route = mock.get(LEGACY).mock(
        side_effect=[httpx.Response(status), httpx.Response(200, text="Call Connected")]
    )
    async with dta.Session(AK, SK) as session:
        fast(session)
        with pytest.raises(dta.APIStatusError) as caught:
            await session.click_to_call("5551112222", "8772955100")
    assert caught.value.status_code == status
    assert route.call_count == 1


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
async def test_click_to_call_is_retried_when_the_connection_failed(
    mock: respx.MockRouter, error: type[httpx.TransportError]
) -> None:
    route = mock.get(LEGACY).mock(side_effect=[error, httpx.Response(200, text="Call Connected")])
    async with dta.Session(AK, SK) as session:
        fast(session)
        result = await session.click_to_call("5551112222", "8772955100")
    assert route.call_count == 2
    assert result.connected is True


async def test_click_to_vr_is_retried_when_the_connection_failed(mock: respx.MockRouter) -> None:
    route = mock.get(LEGACY).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, text="Call Connected")]
    )
    async with dta.Session(AK, SK) as session:
        fast(session)
        assert (await session.click_to_vr("1", "5551112222")).connected is True
    assert route.call_count == 2


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError],
)
async def test_click_to_call_is_not_resent_once_it_may_have_left(
    mock: respx.MockRouter, error: type[httpx.TransportError]
) -> None:
    route = mock.get(LEGACY).mock(side_effect=[error, httpx.Response(200, text="Call Connected")])
    async with dta.Session(AK, SK) as session:
        fast(session)
        with pytest.raises(dta.TransportError) as caught:
            await session.click_to_call("5551112222", "8772955100")
    assert route.call_count == 1
    assert isinstance(caught.value.__cause__, error)
    assert type(caught.value) is dta.TransportError


async def test_click_to_call_connect_errors_exhausted(mock: respx.MockRouter) -> None:
    route = mock.get(LEGACY).mock(side_effect=httpx.ConnectError("refused"))
    async with dta.Session(AK, SK) as session:
        fast(session, max_retries=1)
        with pytest.raises(dta.TransportError) as caught:
            await session.click_to_call("5551112222", "8772955100")
    assert route.call_count == 2
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


# --- RetryPolicy and Retry-After -----------------------------------------------------------


def test_default_policy() -> None:
    policy = dta.RetryPolicy()
    assert policy.max_retries == 2
    assert policy.backoff_base > 0
    assert policy.max_backoff >= policy.backoff_base


@pytest.mark.parametrize("retry", range(6))
def test_delay_is_full_jitter_within_the_exponential_bound(retry: int) -> None:
    random.seed(retry)
    policy = dta.RetryPolicy(backoff_base=0.5, max_backoff=60.0)
    bound = 0.5 * 2**retry
    delays = [policy.delay(retry) for _ in range(400)]
    assert all(0.0 <= delay <= bound for delay in delays)
    # Full jitter: spread over the whole range, not clustered at the top.
    assert min(delays) < 0.1 * bound
    assert max(delays) > 0.9 * bound


def test_delay_is_capped_by_max_backoff() -> None:
    policy = dta.RetryPolicy(backoff_base=1.0, max_backoff=5.0)
    delays = [policy.delay(20) for _ in range(200)]
    assert all(0.0 <= delay <= 5.0 for delay in delays)
    assert max(delays) > 4.0


@pytest.mark.parametrize(
    ("after", "expected"), [(0.0, 0.0), (1.5, 1.5), (30.0, 30.0), (10_000.0, 60.0), (-3.0, 0.0)]
)
def test_retry_after_wins_over_backoff(after: float, expected: float) -> None:
    policy = dta.RetryPolicy(backoff_base=0.001, max_backoff=60.0)
    assert policy.delay(0, after) == expected
    assert policy.delay(5, after) == expected


def test_retryable_statuses() -> None:
    assert {s for s in range(100, 600) if is_retryable_status(s)} == {408, 429, 500, 502, 503, 504}


def _response(**headers: str) -> httpx.Response:
    return httpx.Response(429, headers=headers)


def test_retry_after_parses_seconds() -> None:
    assert retry_after(_response(**{"Retry-After": "120"})) == 120.0
    assert retry_after(_response(**{"Retry-After": " 0 "})) == 0.0
    assert retry_after(_response()) is None
    assert retry_after(_response(**{"Retry-After": "soon"})) is None
    assert retry_after(_response(**{"Retry-After": "-5"})) is None


def test_retry_after_parses_http_dates() -> None:
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = retry_after(_response(**{"Retry-After": future}))
    assert seconds is not None
    assert 27.0 <= seconds <= 30.5
    past = email.utils.formatdate(time.time() - 3600, usegmt=True)
    assert retry_after(_response(**{"Retry-After": past})) == 0.0
    fixed = retry_after(_response(**{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert fixed == 0.0

"""The sandbox agrees with the library on every parameter it sends, and its faults and
records do what their docstrings say."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

import dialogtech_async as dta
from dialogtech_async.parsers import CSVParser
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_INFINITY_API_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    DropMidBody,
    RunningSandbox,
    leadflow_rows,
    serve_in_thread,
)

EASTERN = dt.timezone(dt.timedelta(hours=-5))


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=50, chunk_rows=3, api_key="sandbox-api-key") as running:
        yield running


def _session(sandbox: RunningSandbox) -> dta.Session:
    return dta.Session(
        SANDBOX_ACCESS_KEY,
        SANDBOX_SECRET_ACCESS_KEY,
        api_key="sandbox-api-key",
        base_url=sandbox.base_url,
        max_retries=0,
    )


async def test_one_base_url_reaches_leadflow_too(sandbox: RunningSandbox) -> None:
    async with _session(sandbox) as session:
        calls = await session.leadflow_history(dt.date(2024, 1, 1), dt.date(2024, 1, 1)).collect()
    assert len(calls) == 50
    assert sandbox.app.requests["leadflow.history"] == 1


async def test_a_date_end_is_inclusive_against_the_sandbox(sandbox: RunningSandbox) -> None:
    """end_date=date(2024, 1, 2) covers the 2nd: calls fall on both days (a midnight end
    would leave the 2nd out)."""
    async with _session(sandbox) as session:
        calls = await session.leadflow_history(dt.date(2024, 1, 1), dt.date(2024, 1, 2)).collect()
    days = {call.call_date.date() for call in calls if call.call_date is not None}
    assert days == {dt.date(2024, 1, 1), dt.date(2024, 1, 2)}


def test_sandbox_leadflow_range_includes_its_end() -> None:
    start = dt.datetime(2024, 1, 1, 9, 0, 0)
    end = start + dt.timedelta(seconds=9)
    rows = list(leadflow_rows(start, end, rows=10))
    assert [row["call_date"] for row in rows] == [
        (start + dt.timedelta(seconds=n)).strftime("%Y-%m-%d %H:%M:%S") for n in range(10)
    ]


@pytest.mark.parametrize(
    "sort", [["stateStartDatetime-asc"], ["stateStartDatetime-desc"], ["stateStartDatetime"]]
)
async def test_every_sort_the_library_sends_is_accepted(
    sandbox: RunningSandbox, sort: list[str]
) -> None:
    async with dta.InfinitySession(
        api_key=SANDBOX_INFINITY_API_KEY, base_url=sandbox.base_url
    ) as session:
        users = await session.pbx_user_status(7, sort=sort).collect()
    times = [user.state_start_datetime for user in users]
    assert len(times) == 50
    assert times == sorted(times, reverse=sort[0].endswith("-desc"))  # type: ignore[type-var]


async def test_drop_mid_body_after_ten_records_delivers_ten(sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(DropMidBody(after_records=10), action="report.clickto")
    got: list[dta.ClickToRecord] = []

    async def read(session: dta.Session) -> None:
        async for record in session.click_to_report(dt.date(2024, 1, 1), dt.date(2024, 1, 1)):
            got.append(record)

    async with _session(sandbox) as session:
        with pytest.raises(dta.StreamInterruptedError) as caught:
            await read(session)
    assert len(got) == 10
    assert caught.value.records_delivered == 10


def test_drop_mid_body_bytes_hold_ten_whole_csv_records(sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(DropMidBody(after_records=10))
    params = {
        "action": "report.clickto",
        "access_key": SANDBOX_ACCESS_KEY,
        "secret_access_key": SANDBOX_SECRET_ACCESS_KEY,
        "start_date": "20240101",
        "end_date": "20240101",
        "format": "csv",
    }
    parser, rows = CSVParser(), []

    def read(response: httpx.Response) -> None:
        for chunk in response.iter_raw():
            rows.extend(parser.feed(chunk))

    with (
        httpx.Client(base_url=sandbox.base_url) as client,
        client.stream("GET", "/ibp_api.php", params=params) as response,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        read(response)
    assert len(rows) == 10  # without close(): each record was seen to end


def test_recorded_request_repr_hides_credentials(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as client:
        client.get(
            "/report/v1/leadflow/v2/history",
            params={"sid": "x"},
            headers={
                "Authorization": f"{SANDBOX_ACCESS_KEY}:{SANDBOX_SECRET_ACCESS_KEY}",
                "x-api-key": "sandbox-api-key",
            },
        )
        client.get(
            "/ibp_api.php",
            params={"action": "clickto.vr", "secret_access_key": SANDBOX_SECRET_ACCESS_KEY},
        )
    shown = repr(sandbox.app.request_log)
    assert SANDBOX_SECRET_ACCESS_KEY not in shown
    assert "sandbox-api-key" not in shown
    assert "'authorization', '***'" in shown
    recorded = dict(sandbox.app.request_log[0].headers)  # the fields keep what was sent
    assert recorded["x-api-key"] == "sandbox-api-key"


@pytest.mark.parametrize(("tz", "offset"), [(None, 0), ("Asia/Kolkata", 5.5)])
async def test_infinity_times_are_aware_in_the_zone_the_api_used(
    sandbox: RunningSandbox, tz: str | None, offset: float
) -> None:
    async with dta.InfinitySession(
        api_key=SANDBOX_INFINITY_API_KEY, base_url=sandbox.base_url
    ) as session:
        users = await session.pbx_user_status(7, tz=tz).collect()
    for user in users:
        when = user.state_start_datetime
        assert when is not None
        assert when.utcoffset() == dt.timedelta(hours=offset)

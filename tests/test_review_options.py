"""Options a careless user gets wrong on a session already built: ``with_options()``
and ``RetryPolicy``. Each is a ValidationError naming it, before anything is sent."""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import dialogtech_async as dta
from dialogtech_async import _windows

AK, SK = "ak-public-1234", "sk-secret-5678"
CSV = (Path(__file__).parent / "fixtures" / "clickto_report.csv").read_bytes()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.route().respond(200, text="")
        yield router


BAD_WITH_OPTIONS = [
    ("max_retries", "3"),
    ("max_retries", 1.5),
    ("max_retries", True),
    ("max_retries", -1),
    ("timeout", "10"),
    ("timeout", -1),
    ("timeout", math.nan),
    ("timeout", 0),
    ("retry", "x"),
    ("retry", 2),
]


@pytest.mark.parametrize(("parameter", "value"), BAD_WITH_OPTIONS)
async def test_with_options_refuses_what_the_constructor_refuses(
    mock: respx.MockRouter, parameter: str, value: Any
) -> None:
    async with dta.Session(AK, SK) as s:
        with pytest.raises(dta.ValidationError) as caught:
            s.with_options(**{parameter: value})
    assert caught.value.parameter == parameter
    assert not mock.calls


BAD_POLICIES = [
    ("max_retries", -1),
    ("max_retries", "2"),
    ("max_retries", True),
    ("max_retries", 2.0),
    ("backoff_base", math.nan),
    ("backoff_base", -0.5),
    ("backoff_base", math.inf),
    ("backoff_base", "1"),
    ("max_backoff", -1),
    ("max_backoff", math.nan),
    ("max_backoff", False),
]


@pytest.mark.parametrize(("parameter", "value"), BAD_POLICIES)
def test_retry_policy_refuses_odd_values(parameter: str, value: Any) -> None:
    with pytest.raises(dta.ValidationError) as caught:
        dta.RetryPolicy(**{parameter: value})
    assert caught.value.parameter == parameter


def test_retry_policy_takes_zero_waits() -> None:
    assert dta.RetryPolicy(max_retries=0, backoff_base=0, max_backoff=0).delay(3) == 0.0


D1, D2 = dt.date(2024, 1, 1), dt.date(2024, 1, 31)


@pytest.mark.parametrize(
    ("options", "parameter"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": True}, "concurrency"),
        ({"max_windows": -1}, "max_windows"),
        ({"max_windows": 10.0}, "max_windows"),
    ],
)
@pytest.mark.parametrize("endpoint", ["click_to_report", "leadflow_history"])
async def test_bulk_options_are_checked_without_a_window(
    mock: respx.MockRouter, endpoint: str, options: dict[str, Any], parameter: str
) -> None:
    """A bad bulk option is a mistake even when no window is given (it is then unused,
    and the caller believes it is in force)."""
    async with dta.Session(AK, SK) as s:
        with pytest.raises(dta.ValidationError) as caught:
            await getattr(s, endpoint)(start_date=D1, end_date=D2, **options).collect()
    assert caught.value.parameter == parameter
    assert not mock.calls


@pytest.mark.parametrize(
    ("start", "end", "window", "count"),
    [
        (dt.date(9999, 11, 15), dt.date.max, "month", 2),
        (dt.date(9999, 12, 1), dt.date.max, dt.timedelta(days=7), 5),
        (dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.timedelta(days=999_999_999), 1),
        (dt.date.min, dt.date(1, 1, 31), "month", 1),
    ],
)
async def test_windows_reach_the_calendars_ends(
    mock: respx.MockRouter, start: dt.date, end: dt.date, window: Any, count: int
) -> None:
    """The last day Python can write ends a range like any other (a month window past
    December 9999 raised a raw ValueError, a week window an OverflowError)."""
    async with dta.Session(AK, SK) as s:
        bulk = s.click_to_report(start, end, window=window)
        assert len(bulk._windows) == count
        assert bulk._windows[-1].end == end
    assert not mock.calls


def test_datetime_month_windows_reach_the_last_year() -> None:
    zone = dt.timezone.utc
    start = dt.datetime(9999, 11, 2, tzinfo=zone)
    end = dt.datetime(9999, 12, 31, 23, tzinfo=zone)
    assert _windows.split(start, end, "month", 10)[-1] == (
        dt.datetime(9999, 12, 1, tzinfo=zone),
        end,
    )


@pytest.mark.parametrize("number", ["312555\n0100", "3125550100\t1", "312\r5550100"])
async def test_a_phone_number_spans_one_line(mock: respx.MockRouter, number: str) -> None:
    """Spaces between digits are formatting; a line break is two numbers pasted together."""
    async with dta.Session(AK, SK) as s:
        with pytest.raises(dta.ValidationError) as caught:
            await s.click_to_call(id="3125550100", phone_to_call=number)
    assert caught.value.parameter == "phone_to_call"
    assert not mock.calls


@pytest.mark.parametrize(
    ("parameter", "url"),
    [
        ("base_url", "https://user:pw-SECRET@example.com"),
        ("base_url", "https://example.com/dt?api_key=pw-SECRET"),
        ("newest_base_url", "https://pw-SECRET@example.com"),
    ],
)
def test_a_base_url_holding_a_secret_is_refused_unshown(parameter: str, url: str) -> None:
    """A password in a base URL would be shown by the session's repr, our errors and
    httpx's request log; the session authenticates by its own credentials only."""
    with pytest.raises(dta.ValidationError) as caught:
        dta.Session(AK, SK, **{parameter: url})
    assert caught.value.parameter == parameter
    assert "pw-SECRET" not in str(caught.value)
    assert "pw-SECRET" not in repr(caught.value)


def test_an_infinity_base_url_with_a_user_is_refused() -> None:
    with pytest.raises(dta.ValidationError) as caught:
        dta.InfinitySession(api_key="k1", base_url="https://me:pw-SECRET@example.com")
    assert caught.value.parameter == "base_url"
    assert "pw-SECRET" not in str(caught.value)


@pytest.mark.parametrize("sort", [5, 1.5, True, object()])
async def test_a_sort_that_is_not_a_list_is_refused(mock: respx.MockRouter, sort: Any) -> None:
    async with dta.InfinitySession(api_key="k1") as s:
        with pytest.raises(dta.ValidationError) as caught:
            await s.pbx_user_status(1, sort=sort).collect()
    assert caught.value.parameter == "sort"
    assert not mock.calls


@pytest.mark.parametrize("call_ref", [" ", "\t", "   "])
async def test_a_blank_call_ref_is_refused(mock: respx.MockRouter, call_ref: str) -> None:
    """As the empty one is: the API answers 400 for a reference it cannot look up."""
    async with dta.InfinitySession(api_key="k1") as s:
        with pytest.raises(dta.ValidationError) as caught:
            await s.active_call(1, call_ref=call_ref)
    assert caught.value.parameter == "call_ref"
    assert not mock.calls


def test_a_basic_username_with_a_colon_is_refused() -> None:
    """HTTP Basic joins user and password with ':' (RFC 7617): the server would read
    'ops' as the user and 'eu:<password>' as the password, and answer 401."""
    with pytest.raises(dta.ValidationError) as caught:
        dta.InfinitySession("ops:eu", "pw-SECRET")
    assert caught.value.parameter == "username"
    assert "pw-SECRET" not in str(caught.value)


@pytest.mark.parametrize("connections", [0, -1])
def test_a_pool_without_connections_is_refused(connections: int) -> None:
    """No request could ever leave (PoolTimeout at the first; -1, a raw ValueError)."""
    with pytest.raises(dta.ValidationError) as caught:
        dta.Session(AK, SK, limits=httpx.Limits(max_connections=connections))
    assert caught.value.parameter == "limits"


class _Format(str, enum.Enum):
    CSV = "csv"


class _Text(str):
    pass


@pytest.mark.parametrize("value", [_Format.CSV, _Text("csv")])
async def test_a_choice_written_as_a_str_subclass_is_sent_as_its_text(value: Any) -> None:
    """An enum of str (or another str subclass) equal to a choice is that choice, sent
    as its plain text (str() of a (str, Enum) member is 'Format.CSV')."""
    with respx.mock(assert_all_called=False) as router:
        router.route(params__contains={"action": "report.clickto"}).respond(
            200, content=CSV, headers={"Content-Type": "text/csv"}
        )
        router.route().respond(200, text="Call Connected")
        async with dta.Session(AK, SK) as s:
            await s.click_to_report(D1, D2, format=value).collect()
            await s.click_to_call(id="8772955100", phone_to_call="3125550100", type=_Text("2"))
        sent = [call.request.url.params for call in router.calls]
    assert [params.get("format") for params in sent] == ["csv", None]
    assert [params.get("type") for params in sent] == [None, "2"]


@pytest.mark.parametrize("value", [True, 1.0, b"1"])
async def test_a_choice_of_another_type_is_still_refused(
    mock: respx.MockRouter, value: Any
) -> None:
    async with dta.Session(AK, SK) as s:
        with pytest.raises(dta.ValidationError) as caught:
            await s.click_to_call(id="8772955100", phone_to_call="3125550100", type=value)
    assert caught.value.parameter == "type"
    assert not mock.calls

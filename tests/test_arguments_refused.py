"""Arguments a careful user gets wrong in the first week: each one a ValidationError
naming it, raised before anything is sent (a catch-all respx route records any request
that slips through)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

import dialogtech_async as dta
from dialogtech_async import _windows
from dialogtech_async._convert import EASTERN

AK, SK = "ak-public-1234", "sk-secret-5678"
D1, D2 = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
LEGACY = "https://secure.dialogtech.com/ibp_api.php"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.route().respond(200, text="Call Connected")
        yield router


@pytest.fixture
def empty() -> Iterator[respx.MockRouter]:
    """A router whose routes the test adds (an unrouted request fails the test)."""
    with respx.mock(assert_all_called=False) as router:
        yield router


async def _run(call: Any) -> None:
    """Call, then await what it returns (a coroutine, or a report to read)."""
    result = call()
    if hasattr(result, "__await__"):
        await result
    elif hasattr(result, "collect"):
        await result.collect()


async def _refused(call: Any, parameter: str) -> dta.ValidationError:
    with pytest.raises(dta.ValidationError) as caught:
        await _run(call)
    assert caught.value.parameter == parameter
    return caught.value


PHONE_CASES = [
    3125550100.0,  # str() keeps ".0": "31255501000" would be dialled
    3125550100,  # an int has no leading 0 to keep
    -3125550100,
    True,
    "-3125550100",  # a sign is not formatting
    "12",  # too short to be a number
    "123456",
    "+",
    "1234567890123456",
]


@pytest.mark.parametrize("number", PHONE_CASES)
async def test_phone_numbers_are_digits_in_a_str_of_plausible_length(
    mock: respx.MockRouter, number: object
) -> None:
    async with dta.Session(AK, SK) as session:
        await _refused(lambda: session.click_to_call(number, "8772955100"), "phone_to_call")
        await _refused(lambda: session.click_to_call("3125550100", number), "id")
        await _refused(lambda: session.click_to_vr("678", number), "phone_to_call")
        await _refused(
            lambda: session.click_to_call("3125550100", "8772955100", first_callerid=number),
            "first_callerid",
        )
    assert mock.calls.call_count == 0


async def test_a_seven_digit_and_an_international_number_are_dialled_as_written(
    mock: respx.MockRouter,
) -> None:
    async with dta.Session(AK, SK) as session:
        await session.click_to_call("555-0100", "+44 (20) 7946 0958")
    params = mock.calls.last.request.url.params
    assert (params["phone_to_call"], params["id"]) == ("5550100", "442079460958")


SESSION_CASES: list[tuple[dict[str, Any], str]] = [
    ({"timeout": "10"}, "timeout"),
    ({"timeout": 0}, "timeout"),
    ({"timeout": -1.0}, "timeout"),
    ({"timeout": True}, "timeout"),
    ({"base_url": "secure.dialogtech.com"}, "base_url"),
    ({"base_url": "ftp://example.com"}, "base_url"),
    ({"base_url": "https://"}, "base_url"),
    ({"base_url": 8080}, "base_url"),
    ({"newest_base_url": "dialogtechapis.com"}, "newest_base_url"),
    ({"access_key": 123}, "access_key"),
    ({"access_key": ""}, "access_key"),
    ({"secret_access_key": b"sk"}, "secret_access_key"),
    ({"api_key": 5}, "api_key"),
    ({"api_key": ""}, "api_key"),
    ({"call_timeout": 0}, "call_timeout"),
    ({"call_timeout": "120"}, "call_timeout"),
    ({"max_retries": 1.5}, "max_retries"),
    ({"max_retries": True}, "max_retries"),
    ({"limits": 10}, "limits"),
    ({"http_client": httpx.Client()}, "http_client"),
]


@pytest.mark.parametrize(("options", "parameter"), SESSION_CASES)
def test_session_options_are_checked_at_construction(
    options: dict[str, Any], parameter: str
) -> None:
    arguments = {"access_key": AK, "secret_access_key": SK, **options}
    with pytest.raises(dta.ValidationError) as caught:
        dta.Session(**arguments)
    assert caught.value.parameter == parameter


@pytest.mark.parametrize(
    "secret", ["topsecret\n", " topsecret", "top secret", "top\tsecret", "top\x00secret"]
)
@pytest.mark.parametrize("parameter", ["access_key", "secret_access_key", "api_key"])
def test_credentials_with_whitespace_are_refused_without_showing_them(
    secret: str, parameter: str
) -> None:
    arguments = {"access_key": AK, "secret_access_key": SK, parameter: secret}
    with pytest.raises(dta.ValidationError) as caught:
        dta.Session(**arguments)
    assert caught.value.parameter == parameter
    assert "topsecret" not in str(caught.value).replace(" ", "").replace("\\", "")
    assert "secret" not in str(caught.value).replace("secret_access_key", "")


def test_a_credential_from_the_environment_is_checked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DIALOGTECH_SECRET_ACCESS_KEY", "from-a-file\n")
    with pytest.raises(dta.ValidationError, match="DIALOGTECH_SECRET_ACCESS_KEY") as caught:
        dta.Session(AK)
    assert "from-a-file" not in str(caught.value)
    monkeypatch.setenv("INFINITY_API_KEY", "key\r\n")
    with pytest.raises(dta.ValidationError, match="INFINITY_API_KEY"):
        dta.InfinitySession()


INFINITY_SESSION_CASES: list[tuple[dict[str, Any], str]] = [
    ({"username": "u", "password": "p", "api_key": "k"}, "api_key"),
    ({"username": "u", "api_key": "k"}, "api_key"),
    ({"api_key": 7}, "api_key"),
    ({"username": "u", "password": "p\n"}, "password"),
    ({"username": 1, "password": "p"}, "username"),
    ({"api_key": "k", "timeout": "10"}, "timeout"),
    ({"api_key": "k", "base_url": "api.infinitycloud.com"}, "base_url"),
]


@pytest.mark.parametrize(("options", "parameter"), INFINITY_SESSION_CASES)
def test_infinity_session_options_are_checked(options: dict[str, Any], parameter: str) -> None:
    with pytest.raises(dta.ValidationError) as caught:
        dta.InfinitySession(**options)
    assert caught.value.parameter == parameter


def test_both_infinity_schemes_in_the_environment_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INFINITY_API_KEY", "k")
    monkeypatch.setenv("INFINITY_USERNAME", "u")
    monkeypatch.setenv("INFINITY_PASSWORD", "p")
    with pytest.raises(dta.ValidationError, match="both"):
        dta.InfinitySession()
    dta.InfinitySession(api_key="k2")  # what is passed wins over the environment


REPORT_CASES: list[tuple[Any, str]] = [
    (lambda s: s.click_to_report(D1, D2, window=7), "window"),
    (lambda s: s.click_to_report(D1, D2, window="week"), "window"),
    (lambda s: s.click_to_report(D1, D2, window=dt.timedelta(hours=36)), "window"),
    (lambda s: s.click_to_report(D1, D2, window=dt.timedelta(0)), "window"),
    (lambda s: s.click_to_report(D1, D2, window=dt.timedelta(days=-1)), "window"),
    (
        lambda s: s.click_to_report(
            dt.date(1925, 1, 1), dt.date(2024, 12, 31), window=dt.timedelta(days=1)
        ),
        "window",
    ),
    (lambda s: s.click_to_report(D1, D2, window="month", max_windows=0), "max_windows"),
    (lambda s: s.click_to_report(D1, D2, ref="x" * 100_000), "ref"),
    (lambda s: s.click_to_report(D1, D2, ref="r\udc80"), "ref"),
    (lambda s: s.click_to_call("3125550100", "8772955100", ref="r\ud800"), "ref"),
    (
        lambda s: s.click_to_report(dt.datetime(2024, 1, 1, 9, tzinfo=dt.timezone.utc), D2),
        "start_date",
    ),
    (
        lambda s: s.click_to_report(
            D1, dt.datetime(2024, 1, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
        ),
        "end_date",
    ),
    (lambda s: s.leadflow_history(sid="x\udcff"), "sid"),
    (lambda s: s.leadflow_history(sid="s" * 100_000), "sid"),
    (lambda s: s.leadflow_history(sid="x", active="no"), "active"),
    (lambda s: s.leadflow_history(sid="x", active=1), "active"),
    (lambda s: s.leadflow_history(D1, D2, window=dt.timedelta(days=1) * 0), "window"),
    (lambda s: s.leadflow_history(D1, D2, window=dt.timedelta(seconds=1)), "window"),
]


@pytest.mark.parametrize(("call", "parameter"), REPORT_CASES)
async def test_report_arguments_are_refused(
    mock: respx.MockRouter, call: Any, parameter: str
) -> None:
    async with dta.Session(AK, SK) as session:
        await _refused(lambda: call(session), parameter)
    assert mock.calls.call_count == 0


async def test_a_window_not_of_whole_days_says_so(mock: respx.MockRouter) -> None:
    async with dta.Session(AK, SK) as session:
        error = await _refused(
            lambda: session.click_to_report(D1, D2, window=dt.timedelta(hours=36)), "window"
        )
    assert "whole number of days" in str(error)


async def test_a_range_past_max_windows_may_be_allowed(empty: respx.MockRouter) -> None:
    empty.get(LEGACY).respond(200, text='"Caller ID","Name"\n')
    async with dta.Session(AK, SK) as session:
        error = await _refused(
            lambda: session.click_to_report(D1, D2, window=dt.timedelta(days=1), max_windows=30),
            "window",
        )
        assert "31 windows" in str(error)
        assert "max_windows" in str(error)
        assert empty.calls.call_count == 0
        await session.click_to_report(D1, D2, window=dt.timedelta(days=1), max_windows=31).collect()
    assert empty.calls.call_count == 31


async def test_month_windows_are_calendar_months(empty: respx.MockRouter) -> None:
    route = empty.get(LEGACY).respond(200, text='"Caller ID","Name"\n')
    async with dta.Session(AK, SK) as session:
        await session.click_to_report(
            dt.date(2024, 1, 15), dt.date(2024, 4, 10), window="month"
        ).collect()
    sent = [
        (c.request.url.params["start_date"], c.request.url.params["end_date"]) for c in route.calls
    ]
    assert sorted(sent) == [
        ("20240115", "20240131"),
        ("20240201", "20240229"),
        ("20240301", "20240331"),
        ("20240401", "20240410"),
    ]


def test_month_windows_of_datetimes_meet_a_microsecond_apart_across_dst() -> None:
    zone = EASTERN
    start = dt.datetime(2024, 2, 10, tzinfo=zone)
    end = dt.datetime(2024, 3, 31, 23, 59, 59, 999999, tzinfo=zone)
    windows = _windows.split(start, end, "month", 10)
    assert windows == [
        (start, dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=zone)),
        (dt.datetime(2024, 3, 1, tzinfo=zone), end),
    ]
    # Across December: the year turns.
    assert _windows.split(dt.date(2023, 12, 5), dt.date(2024, 1, 2), "month", 2) == [
        (dt.date(2023, 12, 5), dt.date(2023, 12, 31)),
        (dt.date(2024, 1, 1), dt.date(2024, 1, 2)),
    ]


async def test_leadflow_date_windows_agree_with_the_inclusive_end(
    empty: respx.MockRouter,
) -> None:
    route = empty.get("https://dialogtechapis.com/report/v1/leadflow/v2/history").respond(
        200, json=[]
    )
    async with dta.Session(AK, SK) as session:
        await session.leadflow_history(
            dt.date(2024, 1, 1), dt.date(2024, 1, 2), window=dt.timedelta(days=1)
        ).collect()
    sent = sorted(
        (c.request.url.params["start_date"], c.request.url.params["end_date"]) for c in route.calls
    )
    assert sent == [
        ("2024-01-01T00:00:00-05:00", "2024-01-01T23:59:59.999999-05:00"),
        ("2024-01-02T00:00:00-05:00", "2024-01-02T23:59:59.999999-05:00"),
    ]


INFINITY_CASES: list[tuple[Any, str]] = [
    (lambda s: s.active_call(1, call_ref=""), "call_ref"),
    (lambda s: s.active_call(1, call_ref="c\udc80"), "call_ref"),
    (lambda s: s.active_call(1, call_ref="c" * 100_000), "call_ref"),
    (lambda s: s.active_call(1, call_ref=123), "call_ref"),
    (lambda s: s.pbx_active_calls(1, exclude_pii="no"), "exclude_pii"),
    (lambda s: s.pbx_active_calls(1, exclude_pii=1), "exclude_pii"),
    (lambda s: s.pbx_active_calls(1, exclude_pii=None), "exclude_pii"),
]


@pytest.mark.parametrize(("call", "parameter"), INFINITY_CASES)
async def test_infinity_arguments_are_refused(
    mock: respx.MockRouter, call: Any, parameter: str
) -> None:
    async with dta.InfinitySession(api_key="k") as session:
        await _refused(lambda: call(session), parameter)
    assert mock.calls.call_count == 0


@pytest.mark.parametrize(
    ("number", "sent"),
    [
        ("anonymous", "anonymous"),
        ("01234567890", "01234567890"),
        ("+441234567890", "%2B441234567890"),
    ],
)
async def test_active_call_takes_any_caller_id_the_spec_names(
    empty: respx.MockRouter, number: str, sent: str
) -> None:
    route = empty.get(url__regex=r".*/activeCall.*").respond(200, json=[])
    async with dta.InfinitySession(api_key="k") as session:
        assert await session.active_call(5, src_phone_number=number) is None
    assert f"srcPhoneNumber={sent}" in str(route.calls.last.request.url)

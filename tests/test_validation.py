"""Argument validation: a ValidationError naming the parameter, and nothing sent.

Every test runs under a respx router with a catch-all route, so a request that slipped
through would be recorded (and answered) instead of failing for some other reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import respx

import dialogtech_async as dta
from dialogtech_async import _validate

AK, SK = "ak-public-1234", "sk-secret-5678"
D1, D2 = dt.date(2017, 1, 1), dt.date(2017, 1, 31)

Call = Callable[[dta.Session], Any]
InfinityCall = Callable[[dta.InfinitySession], Any]


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.route().respond(200, text="Call Connected")
        yield router


async def _invoke(call: Callable[[], Any]) -> None:
    """Run ``call``, a method that raises at once or returns an awaitable that raises."""
    result = call()
    if isinstance(result, Awaitable):
        await result


async def _raises(call: Callable[[], Any], parameter: str) -> dta.ValidationError:
    with pytest.raises(dta.ValidationError) as caught:
        await _invoke(call)
    assert caught.value.parameter == parameter
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, dta.DialogTechError)
    return caught.value


def _call(**kwargs: Any) -> Call:
    arguments = {"phone_to_call": "5551112222", "id": "8772955100", **kwargs}
    return lambda s: s.click_to_call(**arguments)


CLICK_TO_CALL_CASES = [
    (_call(type=3), "type"),
    (_call(type=0), "type"),
    (_call(type="3"), "type"),
    (_call(type=True), "type"),
    (_call(type=None), "type"),
    (_call(type=1.0), "type"),  # == 1, but would be sent as "type=1.0"
    (_call(phone_to_call="555-CALL-NOW"), "phone_to_call"),
    (_call(phone_to_call="5551112222x"), "phone_to_call"),
    (_call(phone_to_call=""), "phone_to_call"),
    (_call(phone_to_call="1234567890123456"), "phone_to_call"),
    (_call(id="877-ABC-5100"), "id"),
    (_call(page="p" * 256), "page"),
    (_call(page=123), "page"),
    (_call(ref="r" * 33), "ref"),
    (_call(first_callerid="abc"), "first_callerid"),
    (_call(second_callerid="12ab"), "second_callerid"),
]
SESSION_CASES = [
    *CLICK_TO_CALL_CASES,
    (lambda s: s.click_to_vr(menu_id="12a", phone_to_call="5551112222"), "menu_id"),
    (lambda s: s.click_to_vr(menu_id="", phone_to_call="5551112222"), "menu_id"),
    (lambda s: s.click_to_vr(menu_id="-1", phone_to_call="5551112222"), "menu_id"),
    (lambda s: s.click_to_vr(menu_id=True, phone_to_call="5551112222"), "menu_id"),
    (lambda s: s.click_to_vr(menu_id="1", phone_to_call="call me"), "phone_to_call"),
    (lambda s: s.click_to_report(D2, D1), "end_date"),
    (lambda s: s.click_to_report("20170101", D2), "start_date"),
    (lambda s: s.click_to_report(D1, None), "end_date"),
    (lambda s: s.click_to_report(D1, D2, format="json"), "format"),
    (lambda s: s.click_to_report(D1, D2, format="CSV"), "format"),
    (lambda s: s.click_to_report(D1, D2, click_id="abc"), "click_id"),
    (lambda s: s.leadflow_history(), "start_date"),
    (lambda s: s.leadflow_history(start_date=dt.datetime(2024, 1, 1)), "end_date"),
    (lambda s: s.leadflow_history(end_date=dt.datetime(2024, 1, 1)), "start_date"),
    (lambda s: s.leadflow_history(sid=""), "sid"),
    (
        lambda s: s.leadflow_history(dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 1)),
        "end_date",
    ),
    (lambda s: s.leadflow_history("2024-01-01", dt.datetime(2024, 1, 2)), "start_date"),
    (lambda s: s.leadflow_history(sid="x", set_id=0), "set_id"),
    (lambda s: s.leadflow_history(sid="x", set_id="7"), "set_id"),
    (lambda s: s.leadflow_history(sid="x", active=2), "active"),
    (lambda s: s.leadflow_history(sid="x", active="1"), "active"),
    (lambda s: s.leadflow_history(sid="x", active=1.0), "active"),
    *(
        (
            lambda s, n=n: s.click_to_report(D1, D2, window=dt.timedelta(days=1), concurrency=n),
            "concurrency",
        )
        for n in (0, 2.5, "4", True, None)
    ),
]


@pytest.mark.parametrize(("call", "parameter"), SESSION_CASES)
async def test_session_arguments(mock: respx.MockRouter, call: Call, parameter: str) -> None:
    async with dta.Session(AK, SK) as session:
        await _raises(lambda: call(session), parameter)
    assert mock.calls.call_count == 0


INFINITY_CASES: list[tuple[InfinityCall, str]] = [
    (lambda s: s.active_call(1), "call_ref"),
    (lambda s: s.active_call(1, call_ref="r", src_phone_number="+441234567890"), "call_ref"),
    (lambda s: s.active_call(1, src_phone_number="Anonymous"), "src_phone_number"),
    (lambda s: s.active_call(1, src_phone_number="12"), "src_phone_number"),
    (lambda s: s.active_call(1, src_phone_number=441234567890), "src_phone_number"),
    (lambda s: s.active_call(1, src_phone_number="+0441234567"), "src_phone_number"),
    (lambda s: s.active_call(1, src_phone_number="+44 1234 567890"), "src_phone_number"),
    (lambda s: s.active_call(1, src_phone_number="+4412345678901234"), "src_phone_number"),
    (lambda s: s.pbx_active_calls(1, tz="Mars/Olympus_Mons"), "tz"),
    (lambda s: s.pbx_active_calls(1, tz=""), "tz"),
    (lambda s: s.pbx_user_status(1, tz="Europe/Londres"), "tz"),
    (lambda s: s.pbx_user_status(1, sort=["callDuration"]), "sort"),
    (lambda s: s.pbx_user_status(1, sort="stateStartDatetime"), "sort"),
    (lambda s: s.pbx_user_status(1, sort=["stateStartDatetime-up"]), "sort"),
    (lambda s: s.pbx_user_status(1, sort=["stateStartDatetime", 3]), "sort"),
]
for _bad in (0, -1, "12", True, 1.5, None):
    INFINITY_CASES += [
        (lambda s, igrp=_bad: s.pbx_active_calls(igrp), "igrp"),
        (lambda s, igrp=_bad: s.pbx_user_status(igrp), "igrp"),
        (lambda s, igrp=_bad: s.active_call(igrp, call_ref="r"), "igrp"),
    ]


@pytest.mark.parametrize(("call", "parameter"), INFINITY_CASES)
async def test_infinity_arguments(
    mock: respx.MockRouter, call: InfinityCall, parameter: str
) -> None:
    async with dta.InfinitySession(api_key="k") as session:
        await _raises(lambda: call(session), parameter)
    assert mock.calls.call_count == 0


async def test_limits_themselves_are_accepted(mock: respx.MockRouter) -> None:
    """The boundaries pass, and "(312) 555-0100" is sent as digits."""
    async with dta.Session(AK, SK) as session:
        result = await session.click_to_call(
            "(312) 555-0100", "877.295.5100", page="p" * 255, ref="r" * 32
        )
    assert result.connected is True
    params = mock.calls.last.request.url.params
    assert params["phone_to_call"] == "3125550100"
    assert params["id"] == "8772955100"
    assert len(params["page"]) == 255
    assert len(params["ref"]) == 32


def test_validation_errors_name_the_parameter_in_the_message() -> None:
    with pytest.raises(dta.ValidationError, match="page"):
        _validate.text("p" * 300, "page", max_length=255)
    with pytest.raises(dta.ValidationError, match="src_phone_number"):
        _validate.e164("123", "src_phone_number")


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        dta.Session(AK, SK, max_retries=-1)

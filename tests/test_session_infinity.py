"""InfinitySession: requests on the wire, auth headers, rows, status mapping.

HTTP is mocked with respx, matching the exact URL and query (``params__eq``). Retries are
kept fast by swapping the session's RetryPolicy for one with millisecond waits (``fast()``).
"""

from __future__ import annotations

import base64
import datetime as dt
import zoneinfo
from typing import Any

import anyio
import pytest
import respx
import sniffio
from _fixtures import COMMON_ERROR_STATUSES, fast

import dialogtech_async as dta

BASE = "https://api.infinitycloud.com/reports/v2/igrps"
USER = "alice@example.com"
PASSWORD = "pw-infinity-secret-42"
API_KEY = "inf-apikey-hidden-77"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
pytestmark = pytest.mark.usefixtures("no_credentials_in_env")

PBX_CALLS = [
    {"state": "ringing", "callRef": "c-1", "srcPhoneNumber": "+441234567890"},
    {"state": "bridged", "callRef": "c-2", "srcPhoneNumber": "+441234567891"},
]
PBX_USERS = [
    {"state": "available", "stateStartDatetime": "2024-05-01 09:00:00", "dashboard": "Y"},
    {"state": "unavailable", "stateStartDatetime": "2024-05-01 09:05:00", "dashboard": "N"},
]
BASIC_ROW = {"igrp": 123, "dgrp": 4, "txr": "TXR-1"}
ADVANCED_ROW: dict[str, Any] = {
    "igrp": 123,
    "igrpName": "Acme",
    "vid": "v-99",
    "dgrp": 4,
    "dgrpName": "Paid search",
    "ch": 7,
    "chName": "Google Ads",
    "chType": "ppc",
    "pub": "google",
    "campaign": "spring",
    "adGroup": "shoes",
    "matchRef": "red shoes",
    "txr": "TXR-2",
    "srcPhoneNumber": "+441234567890",
    "dialledPhoneNumber": "+441110000000",
    "destPhoneNumber": "+442220000000",
    "triggerDatetime": "2024-05-01 10:11:12",
    "landingPageTitle": "Home",
    "pageTitle": "Contact",
    "landingHref": "https://example.com/",
    "conversionHref": "https://example.com/contact",
    "vref": "https://google.com/",
    "callState": "answered",
    "callDuration": 42,
    "bridgeDuration": 40,
    "pt_gclid": "abc123",
    "c_customer": "gold",
}


#: The first page of a row endpoint: Infinity's largest ``limit``.
PAGE = {"limit": "10000", "offset": "0"}


# --- pbxActiveCalls ------------------------------------------------------------------------


async def test_pbx_active_calls_defaults_and_basic_auth(mock: respx.MockRouter) -> None:
    route = mock.get(
        f"{BASE}/123/pbxActiveCalls", params__eq={"format": "jsonarray", **PAGE}
    ).respond(200, json=PBX_CALLS)
    async with dta.InfinitySession(USER, PASSWORD) as session:
        calls = await session.pbx_active_calls(123).collect()
    request = route.calls.last.request
    assert request.method == "GET"
    assert request.headers["authorization"] == BASIC
    assert [call.state for call in calls] == ["ringing", "bridged"]
    assert all(isinstance(call, dta.PbxActiveCall) for call in calls)
    assert calls[0].extra == {"callRef": "c-1", "srcPhoneNumber": "+441234567890"}


async def test_pbx_active_calls_tz_and_exclude_pii(mock: respx.MockRouter) -> None:
    route = mock.get(
        f"{BASE}/5/pbxActiveCalls",
        params__eq={"format": "jsonarray", "tz": "Europe/London", "excludePiiData": "1", **PAGE},
    ).respond(200, json=PBX_CALLS)
    async with dta.InfinitySession(api_key=API_KEY) as session:
        calls = await session.pbx_active_calls(5, tz="Europe/London", exclude_pii=True).collect()
    assert len(calls) == 2
    assert route.calls.last.request.headers["authorization"] == f"ApiKey {API_KEY}"


async def test_pbx_active_calls_sends_no_exclude_pii_when_false(mock: respx.MockRouter) -> None:
    route = mock.get(
        f"{BASE}/5/pbxActiveCalls",
        params__eq={"format": "jsonarray", "tz": "America/Chicago", **PAGE},
    ).respond(200, json=[])
    async with dta.InfinitySession(api_key=API_KEY) as session:
        await session.pbx_active_calls(5, tz="America/Chicago", exclude_pii=False).collect()
    assert "excludePiiData" not in route.calls.last.request.url.params


# --- pbxUserStatus -------------------------------------------------------------------------


async def test_pbx_user_status_repeats_sort(mock: respx.MockRouter) -> None:
    route = mock.get(
        f"{BASE}/123/pbxUserStatus",
        params__eq=[
            ("format", "jsonarray"),
            ("tz", "Europe/London"),
            ("sort[]", "stateStartDatetime-desc"),
            ("sort[]", "stateStartDatetime"),
            ("limit", "10000"),
            ("offset", "0"),
        ],
    ).respond(200, json=PBX_USERS)
    async with dta.InfinitySession(USER, PASSWORD) as session:
        users = await session.pbx_user_status(
            123, tz="Europe/London", sort=["stateStartDatetime-desc", "stateStartDatetime"]
        ).collect()
    params = route.calls.last.request.url.params
    assert params.get_list("sort[]") == ["stateStartDatetime-desc", "stateStartDatetime"]
    assert users[0].state == "available"
    # Aware, in the zone asked for: Infinity sends it without an offset.
    london = zoneinfo.ZoneInfo("Europe/London")
    assert users[0].state_start_datetime == dt.datetime(2024, 5, 1, 9, 0, tzinfo=london)
    assert users[0].state_start_datetime.tzinfo is london
    assert users[0].dashboard is True
    assert users[1].dashboard is False


async def test_pbx_user_status_without_sort(mock: respx.MockRouter) -> None:
    route = mock.get(f"{BASE}/9/pbxUserStatus", params__eq={"format": "jsonarray", **PAGE}).respond(
        200, json=[]
    )
    async with dta.InfinitySession(USER, PASSWORD) as session:
        assert await session.pbx_user_status(9).collect() == []
    assert route.call_count == 1


# --- activeCall ----------------------------------------------------------------------------


async def test_active_call_by_src_phone_number_encodes_plus(mock: respx.MockRouter) -> None:
    route = mock.get(
        f"{BASE}/123/activeCall",
        params__eq={"format": "jsonarray", "srcPhoneNumber": "+441234567890"},
    ).respond(200, json=[BASIC_ROW])
    async with dta.InfinitySession(USER, PASSWORD) as session:
        call = await session.active_call(123, src_phone_number="+441234567890")
    raw = route.calls.last.request.url.raw_path
    assert b"srcPhoneNumber=%2B441234567890" in raw
    assert b"+" not in raw
    assert call == dta.ActiveCall(igrp=123, dgrp=4, txr="TXR-1")


async def test_active_call_by_call_ref(mock: respx.MockRouter) -> None:
    route = mock.get(
        f"{BASE}/123/activeCall", params__eq={"format": "jsonarray", "callRef": "+ref 1/2"}
    ).respond(200, json=[ADVANCED_ROW])
    async with dta.InfinitySession(api_key=API_KEY) as session:
        call = await session.active_call(123, call_ref="+ref 1/2")
    assert b"callRef=%2Bref" in route.calls.last.request.url.raw_path
    assert call is not None
    assert call.igrp == 123
    assert call.igrp_name == "Acme"
    assert call.dgrp_name == "Paid search"
    assert call.ch == 7
    assert call.ch_type == "ppc"
    assert call.ad_group == "shoes"
    assert call.match_ref == "red shoes"
    assert call.src_phone_number == "+441234567890"
    assert call.trigger_datetime == dt.datetime(2024, 5, 1, 10, 11, 12, tzinfo=dt.timezone.utc)
    assert call.call_duration == 42
    assert call.bridge_duration == 40
    assert call.pass_through_tags == {"gclid": "abc123"}
    assert call.custom_variables == {"customer": "gold"}
    assert call.extra == {}


@pytest.mark.parametrize("body", [b"\n]\n", b"[]"])
async def test_empty_bodies_give_no_rows_and_no_active_call(
    mock: respx.MockRouter, body: bytes
) -> None:
    mock.get(f"{BASE}/1/pbxActiveCalls").respond(200, content=body)
    mock.get(f"{BASE}/1/pbxUserStatus").respond(200, content=body)
    mock.get(f"{BASE}/1/activeCall").respond(200, content=body)
    async with dta.InfinitySession(USER, PASSWORD) as session:
        assert await session.pbx_active_calls(1).collect() == []
        assert await session.pbx_user_status(1).collect() == []
        assert await session.active_call(1, call_ref="x") is None


# --- credentials ---------------------------------------------------------------------------


async def test_basic_credentials_from_the_environment(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFINITY_USERNAME", USER)
    monkeypatch.setenv("INFINITY_PASSWORD", PASSWORD)
    route = mock.get(f"{BASE}/1/pbxActiveCalls").respond(200, json=[])
    async with dta.InfinitySession() as session:
        await session.pbx_active_calls(1).collect()
    assert route.calls.last.request.headers["authorization"] == BASIC


async def test_api_key_from_the_environment(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFINITY_API_KEY", API_KEY)
    route = mock.get(f"{BASE}/1/pbxActiveCalls").respond(200, json=[])
    async with dta.InfinitySession() as session:
        await session.pbx_active_calls(1).collect()
    assert route.calls.last.request.headers["authorization"] == f"ApiKey {API_KEY}"


@pytest.mark.parametrize(
    ("env", "kwargs"),
    [
        ({}, {}),
        ({"INFINITY_USERNAME": USER}, {}),
        ({"INFINITY_PASSWORD": PASSWORD}, {}),
        ({}, {"username": USER}),
        ({}, {"api_key": ""}),
    ],
)
def test_missing_credentials_are_a_validation_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], kwargs: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(dta.ValidationError) as caught:
        dta.InfinitySession(**kwargs)
    assert caught.value.parameter in ("username", "password", "api_key")


# --- status mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, b'"invalid igrp"', dta.BadRequestError, "invalid igrp"),
        (403, b'"access denied"', dta.PermissionDeniedError, "access denied"),
        *COMMON_ERROR_STATUSES,
        (504, b'{"message": "upstream timed out"}', dta.ServerError, "upstream timed out"),
    ],
)
async def test_error_statuses_map_to_typed_errors(
    mock: respx.MockRouter,
    status: int,
    body: bytes,
    error: type[dta.APIStatusError],
    message: str,
) -> None:
    route = mock.get(f"{BASE}/1/activeCall").respond(status, content=body)
    async with dta.InfinitySession(USER, PASSWORD) as session:
        fast(session, max_retries=2)
        with pytest.raises(error) as caught:
            await session.active_call(1, call_ref="x")
    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert caught.value.message == message
    assert route.call_count == (3 if status >= 500 else 1)


async def test_rate_limit_after_retries_carries_retry_after(mock: respx.MockRouter) -> None:
    route = mock.get(f"{BASE}/1/pbxUserStatus").respond(
        429, json="too many requests", headers={"Retry-After": "0"}
    )
    async with dta.InfinitySession(api_key=API_KEY) as session:
        fast(session, max_retries=2)
        with pytest.raises(dta.RateLimitError) as caught:
            await session.pbx_user_status(1).collect()
    assert route.call_count == 3
    assert caught.value.retry_after == 0.0
    assert caught.value.message == "too many requests"


# --- the happy paths under asyncio and trio ------------------------------------------------
# pytest-asyncio's auto mode takes over `@pytest.mark.anyio` coroutine tests and runs them
# all on asyncio, so these are plain functions that run their body with anyio.run on the
# fixture's backend, and check through sniffio that it really is that backend.


def test_infinity_endpoints_on_each_backend(anyio_backend: str) -> None:
    async def body() -> None:
        assert sniffio.current_async_library() == anyio_backend
        with respx.mock:
            respx.get(
                f"{BASE}/123/pbxActiveCalls",
                params__eq={
                    "format": "jsonarray",
                    "tz": "Europe/London",
                    "excludePiiData": "1",
                    **PAGE,
                },
            ).respond(200, json=PBX_CALLS)
            respx.get(
                f"{BASE}/123/pbxUserStatus",
                params__eq={"format": "jsonarray", "sort[]": "stateStartDatetime", **PAGE},
            ).respond(200, json=PBX_USERS)
            respx.get(
                f"{BASE}/123/activeCall",
                params__eq={"format": "jsonarray", "srcPhoneNumber": "+441234567890"},
            ).respond(200, json=[ADVANCED_ROW])
            respx.get(
                f"{BASE}/123/activeCall", params__eq={"format": "jsonarray", "callRef": "none"}
            ).respond(200, content=b"\n]\n")
            async with dta.InfinitySession(USER, PASSWORD) as session:
                calls = [
                    call
                    async for call in session.pbx_active_calls(
                        123, tz="Europe/London", exclude_pii=True
                    )
                ]
                async with session.pbx_user_status(123, sort=["stateStartDatetime"]) as report:
                    users = [user async for user in report]
                active = await session.active_call(123, src_phone_number="+441234567890")
                missing = await session.active_call(123, call_ref="none")
        assert [call.state for call in calls] == ["ringing", "bridged"]
        assert [user.dashboard for user in users] == [True, False]
        assert active is not None
        assert active.txr == "TXR-2"
        assert active.pass_through_tags == {"gclid": "abc123"}
        assert missing is None

    anyio.run(body, backend=anyio_backend)


async def test_a_base_url_path_prefix_is_kept(mock: respx.MockRouter) -> None:
    route = mock.get("https://gw.example.com/inf/reports/v2/igrps/7/pbxActiveCalls").respond(
        200, json=[]
    )
    async with dta.InfinitySession(api_key=API_KEY, base_url="https://gw.example.com/inf/") as s:
        assert await s.pbx_active_calls(7).collect() == []
    assert route.call_count == 1

"""The sandbox's Infinity Reports API v2 real-time endpoints."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _fixtures import ACTIVE_CALL_ADVANCED_KEYS

from dialogtech_async.testing import (
    SANDBOX_INFINITY_API_KEY,
    SANDBOX_INFINITY_PASSWORD,
    SANDBOX_INFINITY_USERNAME,
    RunningSandbox,
    serve_in_thread,
)

BASIC = httpx.BasicAuth(SANDBOX_INFINITY_USERNAME, SANDBOX_INFINITY_PASSWORD)
APIKEY = {"Authorization": f"ApiKey {SANDBOX_INFINITY_API_KEY}"}
ACTIVE_CALLS = "/reports/v2/igrps/123/pbxActiveCalls"
USER_STATUS = "/reports/v2/igrps/123/pbxUserStatus"
ACTIVE_CALL = "/reports/v2/igrps/123/activeCall"
DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=25) as running:
        yield running


@pytest.fixture(scope="module")
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, auth=BASIC) as c:  # each costs ~40 ms
        yield c


def rows(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body, list)
    return body


def test_pbx_active_calls(client: httpx.Client, plain: httpx.Client) -> None:
    calls = rows(client.get(ACTIVE_CALLS, params={"format": "jsonarray"}))
    assert len(calls) == 25
    for call in calls:
        assert call["igrp"] == 123
        assert call["state"] in ("ringing", "queueing", "bridged")
        assert re.fullmatch(r"\+\d{11,12}", call["srcPhoneNumber"])
        assert DATETIME.fullmatch(call["startDatetime"])
        assert (call["pbxUserId"] is None) == (call["state"] != "bridged")
    assert len({c["callRef"] for c in calls}) == 25
    # the api key authenticates too, and excludePiiData redacts the numbers
    params = "format=jsonarray&excludePiiData"
    redacted = rows(plain.get(ACTIVE_CALLS, params=params, headers=APIKEY))
    assert {c["srcPhoneNumber"] for c in redacted} == {"redacted"}
    assert {c["destPhoneNumber"] for c in redacted} == {"redacted"}
    assert [c["callRef"] for c in redacted] == [c["callRef"] for c in calls]


def test_default_format_wraps_the_rows(client: httpx.Client) -> None:
    response = client.get(ACTIVE_CALLS)
    assert list(response.json()) == ["rows"]
    assert len(response.json()["rows"]) == 25


def test_tz_and_paging(client: httpx.Client) -> None:
    utc = rows(client.get(ACTIVE_CALLS, params={"format": "jsonarray"}))
    tokyo = rows(client.get(ACTIVE_CALLS, params={"format": "jsonarray", "tz": "Asia/Tokyo"}))
    assert [c["startDatetime"] for c in utc] != [c["startDatetime"] for c in tokyo]
    assert utc[0]["startDatetime"][11:13] != tokyo[0]["startDatetime"][11:13]
    page = rows(client.get(ACTIVE_CALLS, params={"format": "jsonarray", "limit": 10, "offset": 20}))
    assert page == utc[20:]
    response = client.get(ACTIVE_CALLS, params={"limit": 10001})
    assert response.status_code == 400
    assert response.json() == "limit must be between 1 and 10000"


def test_pbx_user_status_sorting(client: httpx.Client) -> None:
    users = rows(client.get(USER_STATUS, params={"format": "jsonarray"}))
    assert [u["userId"] for u in users] == list(range(1000, 1025))
    for user in users:
        assert set(user) == {"userId", "userName", "state", "stateStartDatetime", "dashboard"}
        assert user["state"] in ("available", "unavailable")
        assert isinstance(user["dashboard"], bool)
    params = {"format": "jsonarray", "sort[]": "stateStartDatetime"}
    ascending = rows(client.get(USER_STATUS, params=params))
    times = [u["stateStartDatetime"] for u in ascending]
    assert times == sorted(times)
    params["sort[]"] = "stateStartDatetime-desc"
    descending = rows(client.get(USER_STATUS, params=params))
    assert [u["stateStartDatetime"] for u in descending] == sorted(times, reverse=True)
    response = client.get(USER_STATUS, params={"sort[]": "userName"})
    assert response.status_code == 400
    assert response.json() == "invalid sort: userName"


def test_active_call_advanced(client: httpx.Client, sandbox: RunningSandbox) -> None:
    response = client.get(
        ACTIVE_CALL, params={"srcPhoneNumber": "+441234567890", "format": "jsonarray"}
    )
    assert "srcPhoneNumber=%2B441234567890" in (sandbox.app.last_request_target or "")
    [call] = rows(response)
    assert tuple(call)[: len(ACTIVE_CALL_ADVANCED_KEYS)] == tuple(ACTIVE_CALL_ADVANCED_KEYS)
    assert call["srcPhoneNumber"] == "+441234567890"
    assert call["igrp"] == 123
    assert DATETIME.fullmatch(call["triggerDatetime"])
    assert any(key.startswith("pt_") for key in call)
    assert any(key.startswith("c_") for key in call)
    by_ref = rows(client.get(ACTIVE_CALL, params={"callRef": "abc123", "format": "jsonarray"}))
    assert len(by_ref) == 1


def test_active_call_not_found_is_the_odd_empty_array(client: httpx.Client) -> None:
    response = client.get(
        ACTIVE_CALL, params={"srcPhoneNumber": "+441234560000", "format": "jsonarray"}
    )
    assert response.status_code == 200
    assert response.content == b"\n]\n"


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (ACTIVE_CALL, {}, "callRef or srcPhoneNumber required"),
        (ACTIVE_CALL, "srcPhoneNumber=+441234567890", "invalid srcPhoneNumber"),  # "+" unencoded
        (ACTIVE_CALLS, {"tz": "Mars/Olympus"}, "invalid tz: Mars/Olympus"),
        (ACTIVE_CALLS, {"format": "xml"}, "invalid format"),
        ("/reports/v2/igrps/abc/pbxActiveCalls", {}, "invalid igrp"),
        ("/reports/v2/igrps/0/pbxUserStatus", {}, "invalid igrp"),
    ],
)
def test_bad_request(
    client: httpx.Client, path: str, params: dict[str, str] | str, message: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    assert response.json() == message


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"Authorization": "ApiKey wrong"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"sandbox-user:wrong").decode()},
    ],
)
def test_auth_required(plain: httpx.Client, auth: dict[str, str]) -> None:
    for path in (ACTIVE_CALLS, USER_STATUS, ACTIVE_CALL):
        response = plain.get(path, headers=auth)
        assert response.status_code == 401
        assert response.json() == "auth required"


def test_basic_mode_and_no_pii_permission(client: httpx.Client) -> None:
    with serve_in_thread(infinity_mode="basic", rows=3) as running:
        response = client.get(running.url(ACTIVE_CALL), params={"callRef": "x1"}, auth=BASIC)
        assert [list(row) for row in response.json()["rows"]] == [["igrp", "dgrp", "txr"]]
    with serve_in_thread(infinity_pii_permission=False, rows=3) as running:
        response = client.get(running.url(ACTIVE_CALL), params={"callRef": "x1"}, auth=BASIC)
        assert response.status_code == 403
        assert response.json() == "access denied"
        calls = client.get(running.url(ACTIVE_CALLS), auth=BASIC).json()["rows"]
        assert {c["srcPhoneNumber"] for c in calls} == {"redacted"}

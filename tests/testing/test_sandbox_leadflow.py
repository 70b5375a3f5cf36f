"""The sandbox's LeadFlow history endpoint (DialogTech "newest API")."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from dialogtech_async.testing import (
    LEADFLOW_FIELDS,
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    RunningSandbox,
    leadflow_row_for_sid,
    leadflow_rows,
    serve_in_thread,
)

PATH = "/report/v1/leadflow/v2/history"
AUTH = {"Authorization": f"{SANDBOX_ACCESS_KEY}:{SANDBOX_SECRET_ACCESS_KEY}"}
RANGE = {"start_date": "2017-01-01T00:00:00", "end_date": "2017-01-31T23:59:59"}
STATUSES = {"Connected", "Affiliate Cap", "No Buyer", "Hang Up"}
FLAGS = (
    "reroute",
    "repeat_affiliate_caller",
    "affiliate_cap",
    "offer_qualified",
    "affiliate_qualified",
    "contest_qualification",
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=400, chunk_rows=50) as running:
        yield running


@pytest.fixture(scope="module")
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, headers=AUTH) as c:  # each costs ~40 ms
        yield c


def calls(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = json.loads(response.content, parse_float=Decimal)
    assert list(body) == ["response"]
    rows: list[dict[str, Any]] = body["response"]
    return rows


def test_shape_of_every_object(client: httpx.Client) -> None:
    response = client.get(PATH, params=RANGE)
    assert response.headers["content-type"] == "application/json"
    assert "content-length" not in response.headers  # streamed
    rows = calls(response)
    assert len(rows) == 400
    for row in rows:
        assert tuple(row) == LEADFLOW_FIELDS
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row["call_date"])
        assert row["lead_status"] in STATUSES
        assert all(row[flag] in ("Y", "N") for flag in FLAGS)
        assert (row["advertiser"] is None) == (row["lead_status"] != "Connected")
        assert (row["offer_price"] is None) == (row["offer_qualified"] == "N")
        assert (row["affiliate_price"] is None) == (row["affiliate_qualified"] == "N")
        for key in ("talk_seconds", "total_seconds", "call_duration"):
            assert type(row[key]) is int
        assert row["call_duration"] * 60 >= row["total_seconds"]
        for key in ("talk_minutes", "total_minutes"):
            assert row[key].as_tuple().exponent == -1
        for key in ("offer_price", "affiliate_price", "margin"):
            assert row[key] is None or row[key].as_tuple().exponent == -2
    assert len({row["sid"] for row in rows}) == 400
    dates = [row["call_date"] for row in rows]
    assert dates == sorted(dates)
    assert dates[0] == "2017-01-01 00:00:00"
    assert dates[-1] < "2017-02-01"
    # Prices are written with two decimals (12.50, never 12.5).
    assert re.search(rb'"offer_price": \d+\.\d\d,', response.content)
    assert not re.search(
        rb'"(offer_price|affiliate_price|margin)": -?\d+(\.\d)?[,}]', response.content
    )


def test_helper_predicts_the_body(client: httpx.Client) -> None:
    rows = calls(client.get(PATH, params={**RANGE, "rows": 30}))
    start, end = dt.datetime(2017, 1, 1), dt.datetime(2017, 1, 31, 23, 59, 59)
    assert rows == list(leadflow_rows(start, end, rows=30))


def test_aware_dates_are_converted_to_eastern(client: httpx.Client) -> None:
    params = {"start_date": "2017-01-01T05:00:00Z", "end_date": "2017-01-02T05:00:00+00:00"}
    rows = calls(client.get(PATH, params={**params, "rows": 4}))
    assert [r["call_date"] for r in rows] == [
        "2017-01-01 00:00:00",
        "2017-01-01 06:00:00",
        "2017-01-01 12:00:00",
        "2017-01-01 18:00:00",
    ]


def test_sid_lookup(client: httpx.Client) -> None:
    rows = calls(client.get(PATH, params={**RANGE, "rows": 10}))
    wanted = rows[7]
    found = calls(client.get(PATH, params={"sid": wanted["sid"]}))
    assert found == [wanted]
    assert leadflow_row_for_sid(wanted["sid"]) == wanted
    # sid wins over the dates, and an unknown sid gives an empty array
    assert calls(client.get(PATH, params={**RANGE, "sid": wanted["sid"]})) == [wanted]
    response = client.get(PATH, params={"sid": "ffffffffffffffffffff"})
    assert response.content == b'{"response": []}'


def test_filters(client: httpx.Client) -> None:
    everything = calls(client.get(PATH, params=RANGE))
    by_set = calls(client.get(PATH, params={**RANGE, "set_id": 102}))
    assert 0 < len(by_set) < len(everything)
    assert {r["set_name"] for r in by_set} == {"Home Services"}
    active = calls(client.get(PATH, params={**RANGE, "active": 1}))
    inactive = calls(client.get(PATH, params={**RANGE, "active": 0}))
    assert active
    assert len(active) + len(inactive) == len(everything)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "start_date and end_date or sid are required"),
        ({"start_date": "2017-01-01"}, "start_date and end_date or sid are required"),
        ({**RANGE, "start_date": "yesterday"}, "start_date must be an ISO-8601 datetime"),
        ({**RANGE, "end_date": "2016-12-31"}, "end_date is before start_date"),
        ({**RANGE, "set_id": "abc"}, "set_id must be a non-negative integer"),
        ({**RANGE, "active": "2"}, "active must be 0 or 1"),
    ],
)
def test_bad_request(client: httpx.Client, params: dict[str, str], message: str) -> None:
    response = client.get(PATH, params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == message


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"{SANDBOX_ACCESS_KEY}:wrong"},
        {"Authorization": f"Basic {SANDBOX_ACCESS_KEY}:{SANDBOX_SECRET_ACCESS_KEY}"},
    ],
)
def test_unauthorized(plain: httpx.Client, headers: dict[str, str]) -> None:
    response = plain.get(PATH, params=RANGE, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_api_key_required_when_configured(plain: httpx.Client) -> None:
    with serve_in_thread(api_key="k-123", rows=3) as running:
        url = running.url(PATH)
        assert plain.get(url, params=RANGE, headers=AUTH).status_code == 401
        wrong = {**AUTH, "x-api-key": "nope"}
        assert plain.get(url, params=RANGE, headers=wrong).status_code == 401
        right = {**AUTH, "x-api-key": "k-123"}
        assert len(calls(plain.get(url, params=RANGE, headers=right))) == 3

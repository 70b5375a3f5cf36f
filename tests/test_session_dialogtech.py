"""Session (DialogTech): requests on the wire, results, status mapping, in-band errors.

HTTP is mocked with respx, matching the exact URL and the exact query (``params__eq``).
Retries are kept fast by swapping the session's RetryPolicy for one with millisecond
waits (``fast()``), never by patching ``anyio.sleep``: the waits still happen.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import brotli
import httpx
import pytest
import respx
import sniffio
from _fixtures import COMMON_ERROR_STATUSES, fast, read

import dialogtech_async as dta

LEGACY = "https://secure.dialogtech.com/ibp_api.php"
LEADFLOW = "https://dialogtechapis.com/report/v1/leadflow/v2/history"
AK = "ak-public-1234"
SK = "sk-secret-5678"
API_KEY = "apikey-hidden-9012"
EASTERN = ZoneInfo("America/New_York")
pytestmark = pytest.mark.usefixtures("no_credentials_in_env")

# The spec's example bodies, byte for byte (the CSV has no trailing newline).
SPEC_CSV = read("clickto_report.csv")
SPEC_XML = read("clickto_report.xml") + b"\n"
XML_HEADERS = {"content-type": "text/xml; charset=iso-8859-1"}
CSV_HEADERS = {"content-type": "text/csv"}

EXPECTED_CLICKS = [
    dta.ClickToRecord(
        caller_id="0001112222",
        name="Click to Call",
        click_description="On Call Number",
        click_datetime=dt.datetime(2017, 1, 13, 22, 52),
        number_connected="5556667777",
        call_duration=9,
        ip_address="127.0.0.1",
        call_1_result="ANSWER",
        call_2_result="ANSWER",
    ),
    dta.ClickToRecord(
        caller_id="0001112222",
        click_description="URL based",
        click_datetime=dt.datetime(2017, 2, 1, 15, 57),
        number_connected="9998887777",
        call_duration=1,
        ip_address="192.168.1.1",
        call_1_result="ANSWER",
        call_2_result="ANSWER",
    ),
]

LEADFLOW_ROW: dict[str, Any] = {
    "call_date": "2024-01-15 09:30:00",
    "set_name": "Auto Insurance",
    "affiliate": "Acme Leads",
    "phone_label": "Main",
    "affiliate_number": "8005550100",
    "advertiser": "Big Insurer",
    "offer": "Auto IL",
    "transfer_number": "3125550100",
    "caller_id": "3125550199",
    "lead_status": "Connected",
    "entered_zip": "60601",
    "lf_state": "IL",
    "first_name": "Ana",
    "last_name": "Lopez",
    "street_address": "1 Main St",
    "city": "Chicago",
    "state": "IL",
    "zipcode": "60601",
    "reroute": "N",
    "repeat_affiliate_caller": "Y",
    "affiliate_cap": "",
    "offer_qualified": "Y",
    "offer_price": "25.00",
    "affiliate_qualified": "Y",
    "affiliate_price": "15.50",
    "margin": "9.50",
    "talk_minutes": "3.4",
    "talk_seconds": "204",
    "total_minutes": "3.6",
    "total_seconds": "216",
    "call_duration": "4",
    "recording_link": "",
    "contest_qualification": "",
    "sid": "SID-0001",
}


def legacy_params(**params: str) -> dict[str, str]:
    """The exact query of a legacy request: the endpoint's parameters plus the keys."""
    return {**params, "access_key": AK, "secret_access_key": SK}


def report_params(start: str = "20170101", end: str = "20170131", **more: str) -> dict[str, str]:
    return legacy_params(
        action="report.clickto", start_date=start, end_date=end, format="csv", **more
    )


# --- click-to-call and click-to-VR ---------------------------------------------------------


async def test_click_to_call_sends_exact_query_and_reports_connected(
    mock: respx.MockRouter,
) -> None:
    route = mock.get(
        LEGACY,
        params__eq=legacy_params(
            action="clickto.call", type="1", id="8772955100", phone_to_call="5551112222"
        ),
    ).respond(200, text="Call Connected")
    async with dta.Session(AK, SK) as session:
        result = await session.click_to_call(phone_to_call="5551112222", id="8772955100", type=1)
    assert result.connected is True
    assert result.message == "Call Connected"
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "GET"
    assert "authorization" not in request.headers
    assert "x-api-key" not in request.headers
    # The API answers only once the first leg picks up: a 120 s read timeout.
    assert request.extensions["timeout"]["read"] == 120.0


async def test_click_to_call_sends_every_optional_parameter(mock: respx.MockRouter) -> None:
    route = mock.get(
        LEGACY,
        params__eq=legacy_params(
            action="clickto.call",
            type="2",
            id="8772955100",
            phone_to_call="5551112222",
            page="home.html",
            ref="campaign-7",
            first_callerid="9998887777",
            second_callerid="8887776666",
        ),
    ).respond(200, text="Call Connected\n")
    async with dta.Session(AK, SK) as session:
        result = await session.click_to_call(
            phone_to_call="5551112222",
            id="8772955100",
            type=2,
            page="home.html",
            ref="campaign-7",
            first_callerid="999-888-7777",
            second_callerid="8887776666",
        )
    assert route.call_count == 1
    assert result.connected is True


async def test_click_to_call_no_answer_is_not_connected(mock: respx.MockRouter) -> None:
    mock.get(LEGACY).respond(200, text="No Answer")
    async with dta.Session(AK, SK) as session:
        result = await session.click_to_call("5551112222", "8772955100")
    assert result.connected is False
    assert result.message == "No Answer"


async def test_click_to_call_normalises_a_formatted_phone_number(mock: respx.MockRouter) -> None:
    route = mock.get(
        LEGACY,
        params__eq=legacy_params(
            action="clickto.call", type="1", id="8772955100", phone_to_call="3125550100"
        ),
    ).respond(200, text="Call Connected")
    async with dta.Session(AK, SK) as session:
        await session.click_to_call("(312) 555-0100", "8772955100")
    assert route.calls.last.request.url.params["phone_to_call"] == "3125550100"


async def test_click_to_vr_sends_exact_query(mock: respx.MockRouter) -> None:
    route = mock.get(
        LEGACY,
        params__eq=legacy_params(
            action="clickto.vr", menu_id="55443322", phone_to_call="5551112222"
        ),
    ).respond(200, text="Call Connected")
    async with dta.Session(AK, SK) as session:
        result = await session.click_to_vr(menu_id="55443322", phone_to_call="5551112222")
    assert route.call_count == 1
    assert route.calls.last.request.method == "GET"
    assert result.connected is True


# --- click-to report -----------------------------------------------------------------------


async def test_click_to_report_csv_sends_exact_query_and_types_records(
    mock: respx.MockRouter,
) -> None:
    route = mock.get(LEGACY, params__eq=report_params()).respond(
        200, content=SPEC_CSV, headers=CSV_HEADERS
    )
    async with dta.Session(AK, SK) as session:
        records = await session.click_to_report(
            start_date=dt.date(2017, 1, 1), end_date=dt.date(2017, 1, 31), format="csv"
        ).collect()
    assert route.call_count == 1
    assert route.calls.last.request.method == "GET"
    assert records == EXPECTED_CLICKS
    assert all(isinstance(record, dta.ClickToRecord) for record in records)


async def test_click_to_report_xml_gives_the_same_records_as_csv(mock: respx.MockRouter) -> None:
    route = mock.get(LEGACY, params__eq={**report_params(), "format": "xml"}).respond(
        200, content=SPEC_XML, headers=XML_HEADERS
    )
    async with dta.Session(AK, SK) as session:
        records = await session.click_to_report(
            dt.date(2017, 1, 1), dt.date(2017, 1, 31), format="xml"
        ).collect()
    assert route.call_count == 1
    assert records == EXPECTED_CLICKS


async def test_click_to_report_xml_decodes_iso_8859_1(mock: respx.MockRouter) -> None:
    body = SPEC_XML.replace(b"Click to Call", "José Müller".encode("iso-8859-1"))
    assert b"\xe9" in body  # really Latin-1 on the wire
    mock.get(LEGACY).respond(200, content=body, headers=XML_HEADERS)
    async with dta.Session(AK, SK) as session:
        records = await session.click_to_report(
            dt.date(2017, 1, 1), dt.date(2017, 1, 31), format="xml"
        ).collect()
    assert records[0].name == "José Müller"


async def test_click_to_report_filters_and_datetimes_cut_to_dates(mock: respx.MockRouter) -> None:
    route = mock.get(
        LEGACY, params__eq=report_params("20161231", "20170102", click_id="4321", ref="spring")
    ).respond(200, content=SPEC_CSV)
    async with dta.Session(AK, SK) as session:
        records = await session.click_to_report(
            dt.datetime(2016, 12, 31, 23, 59),
            dt.date(2017, 1, 2),
            click_id=4321,
            ref="spring",
        ).collect()
    assert route.call_count == 1
    assert len(records) == 2


# --- LeadFlow history ----------------------------------------------------------------------


async def test_leadflow_sends_iso_dates_and_header_auth_without_api_key(
    mock: respx.MockRouter,
) -> None:
    route = mock.get(
        LEADFLOW,
        params__eq={
            "start_date": "2024-01-15T00:00:00+00:00",
            "end_date": "2024-01-16T12:30:00+01:00",
        },
    ).respond(200, json={"response": [LEADFLOW_ROW]})
    async with dta.Session(AK, SK) as session:
        calls = await session.leadflow_history(
            dt.datetime(2024, 1, 15, tzinfo=dt.timezone.utc),
            dt.datetime(2024, 1, 16, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        ).collect()
    request = route.calls.last.request
    assert request.method == "GET"
    assert request.headers["authorization"] == f"{AK}:{SK}"
    assert "x-api-key" not in request.headers
    assert "access_key" not in request.url.params
    assert "secret_access_key" not in request.url.params
    assert len(calls) == 1


async def test_leadflow_sends_x_api_key_when_given(mock: respx.MockRouter) -> None:
    route = mock.get(LEADFLOW, params__eq={"sid": "SID-0001"}).respond(200, json=[LEADFLOW_ROW])
    async with dta.Session(AK, SK, api_key=API_KEY) as session:
        await session.leadflow_history(sid="SID-0001").collect()
    request = route.calls.last.request
    assert request.headers["authorization"] == f"{AK}:{SK}"
    assert request.headers["x-api-key"] == API_KEY


@pytest.mark.parametrize(
    ("start", "end", "sent_start", "sent_end"),
    [
        (  # winter: EST, -05:00
            dt.datetime(2024, 1, 15, 9, 0),
            dt.datetime(2024, 1, 15, 17, 30),
            "2024-01-15T09:00:00-05:00",
            "2024-01-15T17:30:00-05:00",
        ),
        (  # summer: EDT, -04:00
            dt.datetime(2024, 7, 4, 0, 0),
            dt.datetime(2024, 7, 5, 23, 59, 59),
            "2024-07-04T00:00:00-04:00",
            "2024-07-05T23:59:59-04:00",
        ),
        (  # dates: whole days Eastern, the end date included
            dt.date(2024, 3, 1),
            dt.date(2024, 3, 2),
            "2024-03-01T00:00:00-05:00",
            "2024-03-02T23:59:59.999999-05:00",
        ),
    ],
)
async def test_leadflow_takes_naive_datetimes_as_new_york_time(
    mock: respx.MockRouter, start: dt.date, end: dt.date, sent_start: str, sent_end: str
) -> None:
    route = mock.get(LEADFLOW, params__eq={"start_date": sent_start, "end_date": sent_end}).respond(
        200, json=[]
    )
    async with dta.Session(AK, SK) as session:
        assert await session.leadflow_history(start, end).collect() == []
    assert route.call_count == 1


async def test_leadflow_sid_overrides_dates(mock: respx.MockRouter) -> None:
    route = mock.get(LEADFLOW, params__eq={"sid": "SID-0001"}).respond(200, json=[LEADFLOW_ROW])
    async with dta.Session(AK, SK) as session:
        calls = await session.leadflow_history(
            dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2), sid="SID-0001"
        ).collect()
    assert route.call_count == 1
    assert [call.sid for call in calls] == ["SID-0001"]


@pytest.mark.parametrize(("active", "sent"), [(True, "1"), (False, "0")])
async def test_leadflow_set_id_and_active(mock: respx.MockRouter, active: bool, sent: str) -> None:
    route = mock.get(
        LEADFLOW,
        params__eq={
            "start_date": "2024-01-15T00:00:00-05:00",
            "end_date": "2024-01-16T23:59:59.999999-05:00",
            "set_id": "77",
            "active": sent,
        },
    ).respond(200, json=[])
    async with dta.Session(AK, SK) as session:
        await session.leadflow_history(
            dt.date(2024, 1, 15), dt.date(2024, 1, 16), set_id=77, active=active
        ).collect()
    assert route.call_count == 1


@pytest.mark.parametrize(
    "body",
    [{"response": [LEADFLOW_ROW, LEADFLOW_ROW]}, [LEADFLOW_ROW, LEADFLOW_ROW]],
    ids=["wrapped", "bare-array"],
)
async def test_leadflow_json_wrapped_or_bare_gives_typed_calls(
    mock: respx.MockRouter, body: Any
) -> None:
    mock.get(LEADFLOW).respond(200, json=body)
    async with dta.Session(AK, SK) as session:
        calls = await session.leadflow_history(sid="SID-0001").collect()
    assert len(calls) == 2
    call = calls[0]
    assert isinstance(call, dta.LeadFlowCall)
    assert call.call_date == dt.datetime(2024, 1, 15, 9, 30, tzinfo=EASTERN)
    assert call.call_date.utcoffset() == dt.timedelta(hours=-5)
    assert call.lead_status is dta.LeadStatus.CONNECTED
    assert call.offer_price == Decimal("25.00")
    assert call.margin == Decimal("9.50")
    assert call.reroute is False
    assert call.repeat_affiliate_caller is True
    assert call.talk_seconds == 204
    assert call.affiliate_cap is None
    assert call.sid == "SID-0001"


@pytest.mark.parametrize("wrapped", [False, True])
async def test_a_large_gzip_encoded_leadflow_body_is_read_whole(
    mock: respx.MockRouter, wrapped: bool
) -> None:
    # Decompressed, the body arrives as chunks far larger than a socket read.
    rows = [{**LEADFLOW_ROW, "sid": f"SID-{i:05}"} for i in range(2000)]
    body = json.dumps({"response": rows} if wrapped else rows).encode()
    assert len(body) > 4 * 64 * 1024
    mock.get(LEADFLOW).respond(
        200, content=gzip.compress(body), headers={"Content-Encoding": "gzip"}
    )
    async with dta.Session(AK, SK) as session:
        calls = await session.leadflow_history(sid="SID-0001").collect()
    assert [call.sid for call in calls] == [row["sid"] for row in rows]


async def test_a_large_gzip_encoded_click_to_report_is_read_whole(mock: respx.MockRouter) -> None:
    header, *lines = SPEC_CSV.split(b"\n")
    body = b"\n".join([header, *(lines * 3000)])
    mock.get(LEGACY).respond(200, content=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    async with dta.Session(AK, SK) as session:
        records = await session.click_to_report(dt.date(2017, 1, 1), dt.date(2017, 2, 1)).collect()
    assert len(records) == 6000
    assert [r.call_duration for r in records[:4]] == [9, 1, 9, 1]


async def test_a_br_encoded_click_to_report_is_read_and_br_is_asked_for(
    mock: respx.MockRouter,
) -> None:
    # brotli (1.2 or later, in the test extra) is installed: the session offers br.
    header, *lines = SPEC_CSV.split(b"\n")
    body = b"\n".join([header, *(lines * 3000)])
    sent = brotli.compress(body)
    route = mock.get(LEGACY).mock(  # a stream: read by the session's decoder, not httpx's
        side_effect=lambda _: httpx.Response(
            200, headers={"Content-Encoding": "br"}, stream=httpx.ByteStream(sent)
        )
    )
    async with dta.Session(AK, SK) as session:
        records = await session.click_to_report(dt.date(2017, 1, 1), dt.date(2017, 2, 1)).collect()
    assert len(records) == 6000
    assert route.calls.last.request.headers["Accept-Encoding"] == "gzip, deflate, br"


# --- credentials ---------------------------------------------------------------------------


async def test_credentials_come_from_the_environment(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALOGTECH_ACCESS_KEY", "env-ak")
    monkeypatch.setenv("DIALOGTECH_SECRET_ACCESS_KEY", "env-sk")
    monkeypatch.setenv("DIALOGTECH_API_KEY", "env-api")
    legacy = mock.get(
        LEGACY,
        params__eq={
            "action": "clickto.vr",
            "menu_id": "1",
            "phone_to_call": "5551112222",
            "access_key": "env-ak",
            "secret_access_key": "env-sk",
        },
    ).respond(200, text="Call Connected")
    leadflow = mock.get(LEADFLOW, params__eq={"sid": "s"}).respond(200, json=[])
    async with dta.Session() as session:
        await session.click_to_vr(1, "5551112222")
        await session.leadflow_history(sid="s").collect()
    assert legacy.call_count == 1
    headers = leadflow.calls.last.request.headers
    assert headers["authorization"] == "env-ak:env-sk"
    assert headers["x-api-key"] == "env-api"


@pytest.mark.parametrize(
    ("env", "kwargs", "parameter"),
    [
        ({}, {}, "access_key"),
        ({"DIALOGTECH_ACCESS_KEY": "env-ak"}, {}, "secret_access_key"),
        ({"DIALOGTECH_SECRET_ACCESS_KEY": "env-sk"}, {}, "access_key"),
        ({}, {"access_key": AK}, "secret_access_key"),
        ({}, {"access_key": AK, "secret_access_key": ""}, "secret_access_key"),
    ],
)
def test_missing_credentials_are_a_validation_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], kwargs: dict[str, str], parameter: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(dta.ValidationError) as caught:
        dta.Session(**kwargs)
    assert caught.value.parameter == parameter


# --- status mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, b'"start_date is invalid"', dta.BadRequestError, "start_date is invalid"),
        *COMMON_ERROR_STATUSES,
        (504, b"", dta.ServerError, "Gateway Timeout"),
    ],
)
@pytest.mark.parametrize("endpoint", ["click_to_report", "leadflow"])
async def test_error_statuses_map_to_typed_errors(
    mock: respx.MockRouter,
    endpoint: str,
    status: int,
    body: bytes,
    error: type[dta.APIStatusError],
    message: str,
) -> None:
    route = mock.get(LEGACY if endpoint == "click_to_report" else LEADFLOW).respond(
        status, content=body
    )
    async with dta.Session(AK, SK) as session:
        fast(session, max_retries=1)
        report = (
            session.click_to_report(dt.date(2017, 1, 1), dt.date(2017, 1, 2))
            if endpoint == "click_to_report"
            else session.leadflow_history(sid="s")
        )
        with pytest.raises(error) as caught:
            await report.collect()
    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert caught.value.message == message
    assert route.call_count == (2 if status >= 500 else 1)  # 5xx retried once, 4xx never


async def test_rate_limit_error_carries_retry_after(mock: respx.MockRouter) -> None:
    route = mock.get(LEADFLOW).respond(429, text="slow down", headers={"Retry-After": "7"})
    async with dta.Session(AK, SK, max_retries=0) as session:
        with pytest.raises(dta.RateLimitError) as caught:
            await session.leadflow_history(sid="s").collect()
    assert caught.value.retry_after == 7.0
    assert caught.value.status_code == 429
    assert route.call_count == 1


# --- in-band errors (HTTP 200 whose body is an error) --------------------------------------

INVALID_ACCOUNT = (
    b"<?xml version='1.0' encoding='iso-8859-1'?>\n"
    b"<response><result>INVALID ACCOUNT</result></response>"
)
FAILED = (
    b"<?xml version='1.0' encoding='iso-8859-1'?>\n<response>\n    <result>failed</result>\n"
    b"    <message>end_date must be a date in YYYYMMDD format</message>\n</response>"
)


@pytest.mark.parametrize("fmt", ["csv", "xml"])
async def test_in_band_invalid_account_in_a_report(mock: respx.MockRouter, fmt: str) -> None:
    route = mock.get(LEGACY).respond(200, content=INVALID_ACCOUNT, headers=XML_HEADERS)
    async with dta.Session(AK, SK) as session:
        with pytest.raises(dta.AuthenticationError) as caught:
            await session.click_to_report(
                dt.date(2017, 1, 1),
                dt.date(2017, 1, 2),
                format=fmt,  # type: ignore[arg-type]
            ).collect()
    assert caught.value.status_code == 200
    assert "INVALID ACCOUNT" in caught.value.message
    assert route.call_count == 1  # an answer, not a transient failure: not retried


async def test_in_band_invalid_account_for_click_to_call(mock: respx.MockRouter) -> None:
    route = mock.get(LEGACY).respond(200, content=INVALID_ACCOUNT, headers=XML_HEADERS)
    async with dta.Session(AK, SK) as session:
        with pytest.raises(dta.AuthenticationError):
            await session.click_to_call("5551112222", "8772955100")
    assert route.call_count == 1


@pytest.mark.parametrize("fmt", ["csv", "xml"])
async def test_in_band_failed_is_a_bad_request(mock: respx.MockRouter, fmt: str) -> None:
    mock.get(LEGACY).respond(200, content=FAILED, headers=XML_HEADERS)
    async with dta.Session(AK, SK) as session:
        with pytest.raises(dta.BadRequestError) as caught:
            await session.click_to_report(
                dt.date(2017, 1, 1),
                dt.date(2017, 1, 2),
                format=fmt,  # type: ignore[arg-type]
            ).collect()
    assert "end_date must be a date in YYYYMMDD format" in caught.value.message


async def test_in_band_failed_for_click_to_vr(mock: respx.MockRouter) -> None:
    mock.get(LEGACY).respond(200, content=FAILED, headers=XML_HEADERS)
    async with dta.Session(AK, SK) as session:
        with pytest.raises(dta.BadRequestError) as caught:
            await session.click_to_vr("1", "5551112222")
    assert "YYYYMMDD" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        b"Invalid date range",
        b"No records found.\n",
        b"Error, invalid start_date",  # a comma does not make a message a CSV header
        b"Error: start_date, end_date required\n",
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "xml"])
async def test_plain_text_instead_of_a_report_is_an_error_not_zero_rows(
    mock: respx.MockRouter, body: bytes, fmt: str
) -> None:
    mock.get(LEGACY).respond(200, content=body, headers={"content-type": "text/plain"})
    async with dta.Session(AK, SK) as session:
        with pytest.raises(dta.APIStatusError) as caught:
            await session.click_to_report(
                dt.date(2017, 1, 1),
                dt.date(2017, 1, 2),
                format=fmt,  # type: ignore[arg-type]
            ).collect()
    assert caught.value.message == body.decode().strip()


# --- the same happy paths under asyncio and trio -------------------------------------------
# pytest-asyncio's auto mode takes over `@pytest.mark.anyio` coroutine tests and runs them
# all on asyncio (the "trio" case would silently run on asyncio), so these are plain
# functions that run their body with anyio.run on the backend named by the fixture, and
# check through sniffio that it really is that backend.


def test_click_to_report_on_each_backend(anyio_backend: str) -> None:
    async def body() -> None:
        assert sniffio.current_async_library() == anyio_backend
        with respx.mock:
            csv = respx.get(LEGACY, params__eq=report_params()).respond(200, content=SPEC_CSV)
            xml = respx.get(LEGACY, params__eq={**report_params(), "format": "xml"}).respond(
                200, content=SPEC_XML, headers=XML_HEADERS
            )
            async with dta.Session(AK, SK) as session:
                start, end = dt.date(2017, 1, 1), dt.date(2017, 1, 31)
                async with session.click_to_report(start, end) as report:
                    from_csv = [record async for record in report]
                from_xml = await session.click_to_report(start, end, format="xml").collect()
            assert csv.call_count == xml.call_count == 1
        assert from_csv == from_xml == EXPECTED_CLICKS

    anyio.run(body, backend=anyio_backend)


def test_leadflow_on_each_backend(anyio_backend: str) -> None:
    async def body() -> None:
        assert sniffio.current_async_library() == anyio_backend
        with respx.mock:
            route = respx.get(
                LEADFLOW,
                params__eq={
                    "start_date": "2024-01-15T00:00:00-05:00",
                    "end_date": "2024-01-16T00:00:00-05:00",
                    "active": "1",
                },
            ).respond(200, json={"response": [LEADFLOW_ROW]})
            async with dta.Session(AK, SK, api_key=API_KEY) as session:
                calls = [
                    call
                    async for call in session.leadflow_history(
                        dt.datetime(2024, 1, 15), dt.datetime(2024, 1, 16), active=True
                    )
                ]
            assert route.calls.last.request.headers["x-api-key"] == API_KEY
        assert [call.sid for call in calls] == ["SID-0001"]
        assert calls[0].call_date == dt.datetime(2024, 1, 15, 9, 30, tzinfo=EASTERN)

    anyio.run(body, backend=anyio_backend)


def test_click_to_call_on_each_backend(anyio_backend: str) -> None:
    async def body() -> None:
        assert sniffio.current_async_library() == anyio_backend
        with respx.mock:
            respx.get(LEGACY).mock(
                side_effect=[httpx.ConnectError("refused"), httpx.Response(200, text="No Answer")]
            )
            async with dta.Session(AK, SK) as session:
                fast(session)
                result = await session.click_to_call("5551112222", "8772955100")
        assert result.connected is False

    anyio.run(body, backend=anyio_backend)


@pytest.mark.parametrize("slash", ["", "/"])
async def test_a_base_url_path_prefix_is_kept(mock: respx.MockRouter, slash: str) -> None:
    # A proxy or gateway in front of the APIs: https://gw.example.com/dialogtech/...
    report = mock.get("https://gw.example.com/dialogtech/ibp_api.php").respond(
        200, content=SPEC_CSV
    )
    leadflow = mock.get("https://gw.example.com/newest/report/v1/leadflow/v2/history").respond(
        200, json=[LEADFLOW_ROW]
    )
    async with dta.Session(
        AK,
        SK,
        base_url=f"https://gw.example.com/dialogtech{slash}",
        newest_base_url=f"https://gw.example.com/newest{slash}",
    ) as session:
        assert (
            len(await session.click_to_report(dt.date(2017, 1, 1), dt.date(2017, 2, 1)).collect())
            == 2
        )
        assert len(await session.leadflow_history(sid="S").collect()) == 1
    assert report.call_count == leadflow.call_count == 1

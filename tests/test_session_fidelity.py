"""What the sessions do with answers the documents describe: click-to errors sent in the
body, redirects to other hosts, Infinity servers that do not page."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
import respx

import dialogtech_async as dta
from dialogtech_async import _infinity

AK, SK = "ak-public-1234", "sk-secret-5678"
LEGACY = "https://secure.dialogtech.com/ibp_api.php"
D1 = dt.date(2024, 1, 1)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("INVALID ACCOUNT", dta.AuthenticationError),
        ("INVALID ACCOUNT\n", dta.AuthenticationError),
        ("<?xml version='1.0'?><response><result>failed</result></response>", dta.BadRequestError),
        ("Invalid phone number", dta.BadRequestError),
    ],
)
@pytest.mark.parametrize("action", ["call", "vr"])
async def test_click_to_errors_in_the_body_raise(
    mock: respx.MockRouter, body: str, error: type[Exception], action: str
) -> None:
    mock.get(LEGACY).respond(200, text=body)
    async with dta.Session(AK, SK) as session:
        call = (
            session.click_to_call("3125550100", "8772955100")
            if action == "call"
            else session.click_to_vr("678", "3125550100")
        )
        with pytest.raises(error):
            await call


@pytest.mark.parametrize(
    ("body", "connected"),
    [("Call Connected", True), ("No Answer", False), ("Busy\r\n", False)],
)
async def test_call_outcomes_are_results(
    mock: respx.MockRouter, body: str, connected: bool
) -> None:
    mock.get(LEGACY).respond(200, text=body)
    async with dta.Session(AK, SK) as session:
        result = await session.click_to_vr("678", "3125550100")
    assert result.connected is connected


async def test_a_cross_origin_redirect_is_not_followed_with_the_api_key(
    mock: respx.MockRouter,
) -> None:
    """A caller's client that follows redirects: x-api-key (which httpx does not strip)
    and Authorization must not reach the other host."""
    mock.get(url__startswith="https://dialogtechapis.com/").respond(
        302, headers={"Location": "https://elsewhere.example/collect"}
    )
    elsewhere = mock.get(url__startswith="https://elsewhere.example/").respond(200, json=[])
    async with (
        httpx.AsyncClient(follow_redirects=True) as client,
        dta.Session(AK, SK, api_key="api-key-9999", http_client=client) as session,
    ):
        with pytest.raises(dta.APIStatusError) as caught:
            await session.leadflow_history(sid="abc").collect()
    assert caught.value.status_code == 302
    assert elsewhere.call_count == 0


async def test_infinity_credentials_do_not_follow_a_redirect(mock: respx.MockRouter) -> None:
    mock.get(url__startswith="https://api.infinitycloud.com/").respond(
        307, headers={"Location": "https://elsewhere.example/r"}
    )
    elsewhere = mock.get(url__startswith="https://elsewhere.example/").respond(200, json=[])
    async with (
        httpx.AsyncClient(follow_redirects=True) as client,
        dta.InfinitySession(api_key="k", http_client=client, max_retries=0) as s,
    ):
        with pytest.raises(dta.APIStatusError):
            await s.active_call(1, call_ref="c1")
    assert elsewhere.call_count == 0


def _page(first: int, size: int) -> list[dict[str, object]]:
    return [
        {"userId": n, "userName": f"user {n} " + "x" * 300, "state": "idle"}
        for n in range(first, first + size)
    ]


async def test_a_server_ignoring_offset_is_stopped_before_the_repeat(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_infinity, "INFINITY_PAGE_SIZE", 20)
    route = mock.get(url__regex=r".*/pbxUserStatus.*").respond(
        200, content=json.dumps(_page(0, 20)).encode()
    )
    got: list[dta.PbxUserStatus] = []

    async def read(session: dta.InfinitySession) -> None:
        async for user in session.pbx_user_status(1):
            got.append(user)

    async with dta.InfinitySession(api_key="k", max_retries=0) as session:
        with pytest.raises(dta.ResponseFormatError, match="repeats the previous page"):
            await read(session)
    assert len(got) == 20  # the first page, never its repeat
    assert route.call_count == 2


async def test_real_paging_is_not_mistaken_for_a_repeat(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_infinity, "INFINITY_PAGE_SIZE", 20)

    def pages(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        rows = _page(offset, 20) if offset < 40 else _page(offset, 5)
        return httpx.Response(200, content=json.dumps(rows).encode())

    mock.get(url__regex=r".*/pbxUserStatus.*").mock(side_effect=pages)
    async with dta.InfinitySession(api_key="k") as session:
        users = await session.pbx_user_status(1).collect()
    assert len(users) == 45


async def test_paging_past_the_bound_stops(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_infinity, "INFINITY_PAGE_SIZE", 2)
    monkeypatch.setattr(_infinity, "MAX_PAGED_ROWS", 6)

    def pages(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=json.dumps(_page(int(request.url.params["offset"]), 2)).encode()
        )

    route = mock.get(url__regex=r".*/pbxActiveCalls.*").mock(side_effect=pages)
    async with dta.InfinitySession(api_key="k", max_retries=0) as session:
        with pytest.raises(dta.ResponseFormatError, match="not paging"):
            await session.pbx_active_calls(1).collect()
    assert route.call_count == 5  # offsets 0, 2, 4, 6, then 8 is past the bound


CSV_HEADER_QUOTED = b'"Caller ID","Name","Call Duration"\n'


@pytest.mark.parametrize(
    "body",
    [
        b"Caller ID,Name,Call Duration\n3125550100,Ana,45\n",  # nothing quoted
        b"Caller ID,Name,Call Duration\r\n3125550100,Ana,45",  # no last line break
        CSV_HEADER_QUOTED + b'"3125550100","Ana",45\n',  # an unquoted last field
        CSV_HEADER_QUOTED + b'"3125550100","Ana",45',
    ],
)
async def test_valid_rfc4180_csv_is_a_report(mock: respx.MockRouter, body: bytes) -> None:
    mock.get(LEGACY).respond(200, content=body, headers={"Content-Type": "text/csv"})
    async with dta.Session(AK, SK) as session:
        records = await session.click_to_report(D1, D1).collect()
    assert [(r.caller_id, r.name, r.call_duration) for r in records] == [("3125550100", "Ana", 45)]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"Error, invalid date range", dta.BadRequestError),
        (b"INVALID ACCOUNT\n", dta.AuthenticationError),
        (CSV_HEADER_QUOTED + b'"3125550100","Ana",', dta.ResponseFormatError),  # cut
    ],
)
async def test_messages_and_cut_bodies_are_still_told_apart(
    mock: respx.MockRouter, body: bytes, error: type[Exception]
) -> None:
    mock.get(LEGACY).respond(200, content=body, headers={"Content-Type": "text/csv"})
    async with dta.Session(AK, SK) as session:
        with pytest.raises(error):
            await session.click_to_report(D1, D1).collect()


async def test_csv_without_charset_falls_back_to_cp1252_for_non_utf8_bytes(
    mock: respx.MockRouter,
) -> None:
    body = (
        CSV_HEADER_QUOTED
        + '"3125550100","Zoë Ünal",1\n'.encode()
        + '"3125550101","Renée “Ree” Café",2\n'.encode("cp1252")
    )
    mock.get(LEGACY).respond(200, content=body, headers={"Content-Type": "text/csv"})
    async with dta.Session(AK, SK) as session:
        records = await session.click_to_report(D1, D1).collect()
    assert [r.name for r in records] == ["Zoë Ünal", "Renée “Ree” Café"]


async def test_csv_declared_utf8_is_strict(mock: respx.MockRouter) -> None:
    body = CSV_HEADER_QUOTED + '"3125550101","Café",2\n'.encode("cp1252")
    mock.get(LEGACY).respond(200, content=body, headers={"Content-Type": "text/csv; charset=utf-8"})
    async with dta.Session(AK, SK) as session:
        with pytest.raises(dta.ResponseFormatError):
            await session.click_to_report(D1, D1).collect()


@pytest.mark.parametrize("body", ["Call", "No Ans", "Call Conn"])
async def test_a_cut_call_outcome_is_an_error_not_a_result(
    mock: respx.MockRouter, body: str
) -> None:
    mock.get(LEGACY).respond(200, text=body)
    async with dta.Session(AK, SK) as session:
        with pytest.raises(dta.ResponseFormatError, match="cut"):
            await session.click_to_call("3125550100", "8772955100")

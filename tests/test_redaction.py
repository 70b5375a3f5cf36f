"""No secret in logs (every logger, DEBUG included), exceptions, tracebacks or reprs.

Each scenario runs with caplog capturing all loggers at DEBUG. The secrets are checked in
every spelling they could take on the way out: raw, URL-quoted (as httpx writes a query),
and, for Infinity's HTTP Basic, the base64 token. The access key and the user name are
not secrets and may appear; the tests check that the request lines were logged at all,
so that "no secret in the logs" is not vacuously true. Retries are kept fast by swapping
the session's RetryPolicy for one with millisecond waits (``fast()``).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import socket
import traceback
from collections.abc import AsyncIterator
from urllib.parse import quote, quote_plus

import httpx
import pytest
import respx
from _fixtures import fast

import dialogtech_async as dta

LEGACY = "https://secure.dialogtech.com/ibp_api.php"
LEADFLOW = "https://dialogtechapis.com/report/v1/leadflow/v2/history"
INFINITY = "https://api.infinitycloud.com/reports/v2/igrps/7"
AK = "AKpublic4242"
PLAIN_SECRET = "skTopS3cretValue9f8e"
# Characters URL-encoding changes (no whitespace: a credential with any is refused).
WEIRD_SECRET = "sk/Pl+us=Amp&Sp;ace!~*#?"
DT_API_KEY = "dtApiKeyHidden77aa"
USER = "alice"
PASSWORD = "pwInfinityS3cretX1"
BASIC_TOKEN = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
INF_API_KEY = "infApiKeyHiddenZz991"
START, END = dt.date(2017, 1, 1), dt.date(2017, 1, 2)
CSV = (
    b'"Caller ID","Name","Page","Ref","Click Description","Click Date/Time","Number Connected",'
    b'"Call Duration","Referral Keywords","Referral Domain","IP Address","Call 1 Result",'
    b'"Call 2 Result"\n'
    b'"0001112222","Click to Call","","","On Call Number","Jan 13 2017 10:52 PM","5556667777",'
    b'"9","","","127.0.0.1","ANSWER","ANSWER"\n'
)
INVALID_ACCOUNT = b"<response><result>INVALID ACCOUNT</result></response>"


def spellings(secret: str) -> set[str]:
    """The ways a secret can be written: raw, quoted, and as httpx puts it in a query."""
    in_query = str(httpx.QueryParams({"k": secret}))[len("k=") :]
    return {secret, quote(secret, safe=""), quote_plus(secret), in_query}


def assert_clean(text: str, secrets: set[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"secret {secret!r} leaked into:\n{text}"


def assert_exception_clean(exc: BaseException, secrets: set[str]) -> None:
    assert_clean(str(exc), secrets)
    assert_clean(repr(exc), secrets)
    assert_clean("".join(traceback.format_exception(exc)), secrets)
    assert_clean(library_frame_locals(exc), secrets)
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        assert_clean(str(cause), secrets)
        assert_clean(repr(cause), secrets)
        if isinstance(cause, httpx.RequestError):
            assert_clean(repr(cause.request), secrets)


def library_frame_locals(exc: BaseException) -> str:
    """What error trackers record: the locals of every frame the error passed through,
    down the cause chain, except this module's (its tests hold the secret on purpose)
    and respx's (the mock makes its own plain copies of the request, where a real
    transport has httpcore's, whose repr shows only the method)."""
    lines = []
    summary: traceback.TracebackException | None = traceback.TracebackException.from_exception(
        exc, capture_locals=True
    )
    while summary is not None:
        for frame in summary.stack:
            if frame.filename != __file__ and f"{os.sep}respx{os.sep}" not in frame.filename:
                lines += [f"{name} = {value}" for name, value in (frame.locals or {}).items()]
        summary = summary.__cause__ or summary.__context__
    assert lines, "no library frame: the check would be vacuous"
    return "\n".join(lines)


def echo(status: int) -> object:
    """A side effect answering ``status`` with a body that repeats the request back:
    its URL and its credential headers (as some servers' error pages do)."""

    def respond(request: httpx.Request) -> httpx.Response:
        headers = "; ".join(
            f"{name}={request.headers[name]}"
            for name in ("authorization", "x-api-key")
            if name in request.headers
        )
        return httpx.Response(status, text=f"failed: {request.url} {headers}")

    return respond


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "dialogtech_async", "respx", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture(params=[PLAIN_SECRET, WEIRD_SECRET], ids=["plain", "url-special"])
def secret(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- legacy API: the secret travels in the query string ------------------------------------


async def test_successful_report(
    mock: respx.MockRouter, logs: pytest.LogCaptureFixture, secret: str
) -> None:
    route = mock.get(LEGACY).respond(200, content=CSV)
    async with dta.Session(AK, secret) as session:
        report = session.click_to_report(START, END)
        assert len(await report.collect()) == 1
        assert_clean(repr(session), spellings(secret))
        assert_clean(repr(report), spellings(secret))
    assert route.calls.last.request.url.params["secret_access_key"] == secret  # it was sent
    assert "HTTP Request: GET" in logs.text
    assert f"access_key={AK}" in logs.text  # the access key may appear
    assert_clean(logs.text, spellings(secret))


async def test_failing_report(
    mock: respx.MockRouter, logs: pytest.LogCaptureFixture, secret: str
) -> None:
    route = mock.get(LEGACY).mock(side_effect=echo(500))
    async with dta.Session(AK, secret) as session:
        fast(session, max_retries=1)
        report = session.click_to_report(START, END)
        with pytest.raises(dta.ServerError) as caught:
            await report.collect()
        assert_clean(repr(report), spellings(secret))
    assert route.call_count == 2
    assert "retrying GET" in logs.text
    assert AK in caught.value.message  # the echoed body is in the message, redacted
    assert_exception_clean(caught.value, spellings(secret))
    assert_clean(logs.text, spellings(secret))


async def test_transport_error_on_a_report(
    mock: respx.MockRouter, logs: pytest.LogCaptureFixture, secret: str
) -> None:
    mock.get(LEGACY).mock(side_effect=httpx.ConnectError("connection refused"))
    async with dta.Session(AK, secret) as session:
        fast(session, max_retries=1)
        with pytest.raises(dta.TransportError) as caught:
            await session.click_to_report(START, END).collect()
    assert "retrying GET" in logs.text
    assert "secret_access_key=***" in str(caught.value)  # the URL is there, redacted
    assert_exception_clean(caught.value, spellings(secret))
    assert_clean(logs.text, spellings(secret))


async def test_stream_interrupted(
    mock: respx.MockRouter, logs: pytest.LogCaptureFixture, secret: str
) -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield CSV
            raise httpx.ReadError("connection reset by peer")

    mock.get(LEGACY).mock(side_effect=lambda request: httpx.Response(200, stream=Broken()))
    async with dta.Session(AK, secret) as session:
        report = session.click_to_report(START, END)
        with pytest.raises(dta.StreamInterruptedError) as caught:
            async for _ in report:
                pass
        assert_clean(repr(report), spellings(secret))
    assert caught.value.records_delivered == 1
    assert_exception_clean(caught.value, spellings(secret))
    assert_clean(logs.text, spellings(secret))


async def test_click_to_call(
    mock: respx.MockRouter, logs: pytest.LogCaptureFixture, secret: str
) -> None:
    mock.get(LEGACY).mock(
        side_effect=[
            httpx.Response(200, text="Call Connected"),
            httpx.Response(200, content=INVALID_ACCOUNT),
            httpx.ReadTimeout("timed out"),
        ]
    )
    async with dta.Session(AK, secret) as session:
        assert (await session.click_to_call("5551112222", "8772955100")).connected
        with pytest.raises(dta.AuthenticationError) as in_band:
            await session.click_to_call("5551112222", "8772955100")
        with pytest.raises(dta.TransportError) as timed_out:
            await session.click_to_call("5551112222", "8772955100")
        assert_clean(repr(session), spellings(secret))
    assert "HTTP Request: GET" in logs.text
    assert_exception_clean(in_band.value, spellings(secret))
    assert_exception_clean(timed_out.value, spellings(secret))
    assert_clean(logs.text, spellings(secret))


async def test_a_secret_shared_by_two_sessions_stays_redacted_when_one_closes(
    mock: respx.MockRouter, logs: pytest.LogCaptureFixture
) -> None:
    mock.get(LEGACY).respond(200, content=CSV)
    async with dta.Session(AK, PLAIN_SECRET) as second:
        async with dta.Session(AK, PLAIN_SECRET) as first:
            await first.click_to_report(START, END).collect()
        await second.click_to_report(START, END).collect()
    assert logs.text.count("HTTP Request: GET") == 2
    assert_clean(logs.text, spellings(PLAIN_SECRET))


# --- LeadFlow: the secret and the API key travel in headers --------------------------------


async def test_leadflow_with_api_key(
    mock: respx.MockRouter, logs: pytest.LogCaptureFixture, secret: str
) -> None:
    secrets = spellings(secret) | spellings(DT_API_KEY)
    route = mock.get(LEADFLOW).mock(
        side_effect=[httpx.Response(200, json=[{"sid": "S1"}]), echo(401)]
    )
    async with dta.Session(AK, secret, api_key=DT_API_KEY) as session:
        assert len(await session.leadflow_history(sid="S1").collect()) == 1
        with pytest.raises(dta.AuthenticationError) as caught:
            await session.leadflow_history(sid="S1").collect()
        assert_clean(repr(session), secrets)
    sent = route.calls.last.request.headers
    assert (sent["authorization"], sent["x-api-key"]) == (f"{AK}:{secret}", DT_API_KEY)
    assert "HTTP Request: GET" in logs.text
    assert_exception_clean(caught.value, secrets)
    assert_clean(logs.text, secrets)


# --- Infinity: HTTP Basic or an API key ----------------------------------------------------


async def test_infinity_with_password(
    mock: respx.MockRouter, logs: pytest.LogCaptureFixture
) -> None:
    secrets = spellings(PASSWORD) | spellings(BASIC_TOKEN)
    route = mock.get(f"{INFINITY}/pbxActiveCalls").mock(
        side_effect=[httpx.Response(200, json=[{"state": "ringing"}]), echo(403), echo(503)]
    )
    async with dta.InfinitySession(USER, PASSWORD) as session:
        fast(session, max_retries=0)
        assert len(await session.pbx_active_calls(7).collect()) == 1
        with pytest.raises(dta.PermissionDeniedError) as denied:
            await session.pbx_active_calls(7).collect()
        report = session.pbx_active_calls(7)
        with pytest.raises(dta.ServerError) as failed:
            await report.collect()
        assert_clean(repr(session), secrets)
        assert_clean(repr(report), secrets)
        assert USER in repr(session)
    assert route.calls[0].request.headers["authorization"] == f"Basic {BASIC_TOKEN}"
    assert "HTTP Request: GET" in logs.text
    for exc in (denied.value, failed.value):
        assert_exception_clean(exc, secrets)
    assert_clean(logs.text, secrets)


async def test_infinity_with_api_key(
    mock: respx.MockRouter, logs: pytest.LogCaptureFixture
) -> None:
    secrets = spellings(INF_API_KEY)
    route = mock.get(f"{INFINITY}/activeCall").mock(
        side_effect=[
            httpx.Response(200, json=[{"igrp": 7, "dgrp": 1, "txr": "T"}]),
            echo(400),
            httpx.ConnectError("connection refused"),
        ]
    )
    async with dta.InfinitySession(api_key=INF_API_KEY) as session:
        fast(session, max_retries=0)
        assert await session.active_call(7, call_ref="r") is not None
        with pytest.raises(dta.BadRequestError) as rejected:
            await session.active_call(7, call_ref="r")
        with pytest.raises(dta.TransportError) as unreachable:
            await session.active_call(7, call_ref="r")
        assert_clean(repr(session), secrets)
    assert route.calls[0].request.headers["authorization"] == f"ApiKey {INF_API_KEY}"
    assert "HTTP Request: GET" in logs.text
    for exc in (rejected.value, unreachable.value):
        assert_exception_clean(exc, secrets)
    assert_clean(logs.text, secrets)


async def test_transport_error_over_a_real_connection(secret: str) -> None:
    # httpx's own transport (no respx): nothing listens on the port.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with dta.Session(AK, secret, base_url=f"http://127.0.0.1:{port}", max_retries=0) as s:
        with pytest.raises(dta.TransportError) as caught:
            await s.click_to_report(START, END).collect()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert_exception_clean(caught.value, spellings(secret))

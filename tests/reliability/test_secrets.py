"""No secret in logs, errors, reprs or tracebacks -- over real sockets, every logger at DEBUG.

tests/test_redaction.py checks the same with respx, which replaces httpx's transport, so
httpcore (the connection pool and HTTP/1.1 layer, with its own DEBUG tracing) never runs
there. Here every request goes to the sandbox server on 127.0.0.1, with the sandbox set
to the secrets used: the DialogTech secret access key (plain and with every character
URL encoding changes), the newest APIs' ``access_key:secret`` Authorization value and
x-api-key, the Infinity password with its Basic token, and the Infinity API key. A wrong
secret (the 401 cases) is a secret too.

Each scenario runs one path -- success, 401, 403, 500 (retried), in-band error,
transport error, dropped stream, read timeout, validation error -- and every captured log
record (whatever its logger), the exception's str, repr and formatted traceback (its
causes included) and the reprs of sessions and reports are searched for every spelling
of every secret: raw, URL-quoted, as httpx writes it in a query, base64 for Basic.

The sandbox server's own loggers (uvicorn) are left out: the server stands for the API.
Some error answers are made to echo the secrets back (as some servers' error pages do):
the messages must carry them redacted.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx

import dialogtech_async as dta
from dialogtech_async.testing import (
    DropBeforeHeaders,
    DropMidBody,
    ErrorStatus,
    InBandError,
    Latency,
    RunningSandbox,
    serve_in_thread,
)

ACCESS_KEY = "AKpublic4242"
# No whitespace: a credential with any is refused at construction (see the test below).
SECRETS = {"plain": "skTopS3cretValue9f8e", "url-special": "sk/Pl+us=Amp&Sp;ace!~*%#?"}
WRONG_SECRET = "skWrongButSecret0000"
DT_API_KEY = "dtApiKeyHidden77aa"
USER = "alice"
PASSWORD = "pwInfinity/S3cret+X1"
INF_API_KEY = "infApiKeyHiddenZz991"
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
FAST = dta.RetryPolicy(max_retries=1, backoff_base=0.001, max_backoff=0.01)


def spellings(secret: str) -> set[str]:
    """Every way ``secret`` could be written on the way out."""
    in_query = str(httpx.QueryParams({"k": secret}))[len("k=") :]
    in_url = str(httpx.URL("http://h/", params={"k": secret})).split("k=", 1)[1]
    return {secret, quote(secret, safe=""), quote_plus(secret), in_query, in_url}


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module", params=list(SECRETS))
def secret(request: pytest.FixtureRequest) -> str:
    return SECRETS[str(request.param)]


@pytest.fixture(scope="module")
def server(secret: str) -> Iterator[RunningSandbox]:
    with serve_in_thread(
        rows=10,
        chunk_rows=2,
        access_key=ACCESS_KEY,
        secret_access_key=secret,
        api_key=DT_API_KEY,
        infinity_username=USER,
        infinity_password=PASSWORD,
        infinity_api_key=INF_API_KEY,
    ) as running:
        yield running


@pytest.fixture
def forbidden(secret: str) -> set[str]:
    values = [
        secret,
        f"{ACCESS_KEY}:{secret}",
        DT_API_KEY,
        PASSWORD,
        basic(USER, PASSWORD),
        INF_API_KEY,
        WRONG_SECRET,
        f"{ACCESS_KEY}:{WRONG_SECRET}",
        basic(USER, WRONG_SECRET),
    ]
    return set().union(*(spellings(value) for value in values))


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "dialogtech_async", "asyncio", "anyio", "trio"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


class Leaks:
    """Collects every text that must be free of secrets."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def add_error(self, error: BaseException) -> None:
        seen: BaseException | None = error
        while seen is not None:
            self.add(f"str({type(seen).__name__})", str(seen))
            self.add(f"repr({type(seen).__name__})", repr(seen))
            seen = seen.__cause__ or seen.__context__
        self.add("traceback", "".join(traceback.format_exception(error)))

    def check(self, forbidden: set[str]) -> None:
        for where, text in self.texts:
            for secret in forbidden:
                assert secret not in text, f"{secret!r} leaked into {where}:\n{text}"


def client_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if not r.name.startswith("uvicorn")]


def dialogtech(sandbox: RunningSandbox, secret: str, **options: Any) -> dta.Session:
    session = dta.Session(
        ACCESS_KEY,
        secret,
        api_key=DT_API_KEY,
        base_url=sandbox.base_url,
        newest_base_url=sandbox.base_url,
        **options,
    )
    session._retry = FAST
    return session


def infinity(sandbox: RunningSandbox, **credentials: str) -> dta.InfinitySession:
    session = dta.InfinitySession(base_url=sandbox.base_url, **credentials)
    session._retry = FAST
    return session


async def collect(report: dta.Report[Any], leaks: Leaks) -> tuple[list[Any], BaseException | None]:
    records: list[Any] = []
    try:
        async with report:
            async for record in report:
                records.append(record)
    except dta.DialogTechError as exc:
        leaks.add_error(exc)
        return records, exc
    finally:
        leaks.add("repr(report)", repr(report))
    return records, None


async def attempt(call: Callable[[], Awaitable[Any]], leaks: Leaks) -> BaseException | None:
    try:
        await call()
    except dta.DialogTechError as exc:
        leaks.add_error(exc)
        return exc
    return None


def report_kinds(
    s: dta.Session, inf_basic: dta.InfinitySession, inf_key: dta.InfinitySession
) -> dict[str, Callable[[], dta.Report[Any]]]:
    return {
        "click_to_report_csv": lambda: s.click_to_report(START, END, format="csv"),
        "click_to_report_xml": lambda: s.click_to_report(START, END, format="xml"),
        "leadflow_history": lambda: s.leadflow_history(
            dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)
        ),
        "pbx_active_calls_basic": lambda: inf_basic.pbx_active_calls(12),
        "pbx_user_status_api_key": lambda: inf_key.pbx_user_status(12),
    }


ENDPOINTS = {
    "click_to_report_csv": "report.clickto",
    "click_to_report_xml": "report.clickto",
    "leadflow_history": "leadflow.history",
    "pbx_active_calls_basic": "pbxActiveCalls",
    "pbx_user_status_api_key": "pbxUserStatus",
}


async def test_every_path_over_real_sockets(
    sandbox: RunningSandbox, secret: str, forbidden: set[str], logs: pytest.LogCaptureFixture
) -> None:
    leaks = Leaks()
    # What each session's error answers echo back: the secrets that session sent.
    dialogtech_echo = f"denied: secret={secret} auth={ACCESS_KEY}:{secret} key={DT_API_KEY}"
    echoes = {
        "pbx_active_calls_basic": f"denied: secret={PASSWORD} basic={basic(USER, PASSWORD)}",
        "pbx_user_status_api_key": f"denied: secret={INF_API_KEY} header=ApiKey {INF_API_KEY}",
    }
    async with (
        dialogtech(sandbox, secret) as s,
        infinity(sandbox, username=USER, password=PASSWORD) as inf_basic,
        infinity(sandbox, api_key=INF_API_KEY) as inf_key,
    ):
        kinds = report_kinds(s, inf_basic, inf_key)
        for kind, make in kinds.items():
            endpoint = ENDPOINTS[kind]
            echo = echoes.get(kind, dialogtech_echo)
            # success
            records, error = await collect(make(), leaks)
            assert error is None, f"{kind}: {error!r}"
            assert len(records) == 10
            # 403 and 500 whose bodies echo every secret back; 500 is retried (and logged)
            sandbox.app.add_fault(ErrorStatus(403, body=echo), endpoint=endpoint)
            _, error = await collect(make(), leaks)
            assert isinstance(error, dta.PermissionDeniedError), kind
            assert "denied: secret=***" in str(error)  # the message is kept, redacted
            sandbox.app.add_fault(ErrorStatus(500, body=echo), endpoint=endpoint, times=2)
            _, error = await collect(make(), leaks)
            assert isinstance(error, dta.ServerError), kind
            # transport errors: no answer at all, and a stream cut after records
            sandbox.app.add_fault(DropBeforeHeaders(), endpoint=endpoint, times=2)
            _, error = await collect(make(), leaks)
            assert type(error) is dta.TransportError, kind
            sandbox.app.add_fault(DropMidBody(after_records=4), endpoint=endpoint)
            _, error = await collect(make(), leaks)
            assert isinstance(error, dta.StreamInterruptedError), kind
        # in-band errors of the legacy API, one echoing the secret
        for fmt in ("csv", "xml"):
            sandbox.app.add_fault(InBandError("INVALID ACCOUNT", None), endpoint="report.clickto")
            _, error = await collect(s.click_to_report(START, END, format=fmt), leaks)  # type: ignore[arg-type]
            assert isinstance(error, dta.AuthenticationError)
        # click-to-call: success, a status, an in-band error, a dropped connection
        assert await s.click_to_call("3125550100", "8772955100")
        sandbox.app.add_fault(ErrorStatus(500, body=dialogtech_echo), endpoint="clickto.call")
        error = await attempt(lambda: s.click_to_call("3125550100", "8772955100"), leaks)
        assert isinstance(error, dta.ServerError)
        sandbox.app.add_fault(InBandError("INVALID ACCOUNT", None), endpoint="clickto.vr")
        error = await attempt(lambda: s.click_to_vr("678", "3125550100"), leaks)
        assert isinstance(error, dta.AuthenticationError)
        sandbox.app.add_fault(DropBeforeHeaders(), endpoint="clickto.call")
        error = await attempt(lambda: s.click_to_call("3125550100", "8772955100"), leaks)
        assert isinstance(error, dta.TransportError)
        # Infinity's active call, with the API key
        assert await inf_key.active_call(12, call_ref="abc")
        # validation errors (nothing sent)
        error = await attempt(lambda: s.click_to_call("call me", "8772955100"), leaks)
        assert isinstance(error, dta.ValidationError)
        with pytest.raises(dta.ValidationError) as invalid:
            inf_basic.pbx_user_status(0)
        leaks.add_error(invalid.value)
        for session in (s, inf_basic, inf_key):
            leaks.add(f"repr({type(session).__name__})", repr(session))
            leaks.add(f"str({type(session).__name__})", str(session))
    for session in (s, inf_basic, inf_key):
        leaks.add("repr(closed session)", repr(session))

    records = client_records(logs)
    for record in records:
        leaks.add(f"log record {record.name}", record.getMessage())
        leaks.add(f"log record {record.name} (formatted)", logs.handler.format(record))
    leaks.add("captured log text", logs.text)
    leaks.check(forbidden)
    # Not vacuous: both httpx's request lines and httpcore's tracing were captured...
    names = {record.name for record in records}
    assert "httpx" in names
    assert any(name.startswith("httpcore.") for name in names)
    assert any("HTTP Request: GET" in record.getMessage() for record in records)
    assert any("retrying GET" in record.getMessage() for record in records)
    # ...and the request lines show where the secret went, redacted.
    assert any("secret_access_key=***" in record.getMessage() for record in records)


async def test_wrong_credentials_401(
    sandbox: RunningSandbox, forbidden: set[str], logs: pytest.LogCaptureFixture
) -> None:
    """Wrong secrets are refused (401, or the legacy in-band "INVALID ACCOUNT") and are
    as secret as right ones."""
    leaks = Leaks()
    async with (
        dialogtech(sandbox, WRONG_SECRET) as s,
        infinity(sandbox, username=USER, password=WRONG_SECRET) as inf,
    ):
        _, error = await collect(
            s.leadflow_history(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)), leaks
        )
        assert isinstance(error, dta.AuthenticationError)
        assert error.status_code == 401
        _, error = await collect(inf.pbx_active_calls(12), leaks)
        assert isinstance(error, dta.AuthenticationError)
        assert error.status_code == 401
        _, error = await collect(s.click_to_report(START, END), leaks)
        assert isinstance(error, dta.AuthenticationError)
        error = await attempt(lambda: s.click_to_call("3125550100", "8772955100"), leaks)
        assert isinstance(error, dta.AuthenticationError)
        leaks.add("repr", repr(s) + repr(inf))
    for record in client_records(logs):
        leaks.add(f"log record {record.name}", record.getMessage())
    leaks.check(forbidden)
    assert sandbox.app.requests["leadflow.history"] == 1  # a 401 is not retried


async def test_in_band_error_echoing_the_secret_is_redacted(
    sandbox: RunningSandbox, secret: str, forbidden: set[str], logs: pytest.LogCaptureFixture
) -> None:
    """Regression: a legacy in-band error whose message repeats the secret the request
    carried was raised with the secret in its message (reports and click-to actions)."""
    leaks = Leaks()
    message = f"invalid secret_access_key {secret} for {ACCESS_KEY}"
    async with dialogtech(sandbox, secret) as s:
        for fmt in ("csv", "xml"):
            sandbox.app.add_fault(InBandError("failed", message), endpoint="report.clickto")
            _, error = await collect(s.click_to_report(START, END, format=fmt), leaks)  # type: ignore[arg-type]
            assert isinstance(error, dta.APIStatusError), fmt
            assert "invalid secret_access_key ***" in str(error), str(error)
        sandbox.app.add_fault(InBandError("failed", message), endpoint="clickto.call")
        error = await attempt(lambda: s.click_to_call("3125550100", "8772955100"), leaks)
        assert isinstance(error, dta.APIStatusError)
        assert "invalid secret_access_key ***" in str(error), str(error)
    # Infinity's in-band form: a 200 whose body is a JSON string.
    body = json.dumps(f"invalid key {INF_API_KEY}")
    sandbox.app.add_fault(ErrorStatus(200, body=body), endpoint="pbxActiveCalls")
    async with infinity(sandbox, api_key=INF_API_KEY) as inf:
        _, error = await collect(inf.pbx_active_calls(12), leaks)
    assert isinstance(error, dta.APIStatusError)
    assert "invalid key ***" in str(error), str(error)
    assert error.message == "invalid key ***"
    for record in client_records(logs):
        leaks.add(f"log record {record.name}", record.getMessage())
    leaks.check(forbidden)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_timeouts_and_refused_connections(
    sandbox: RunningSandbox,
    secret: str,
    forbidden: set[str],
    logs: pytest.LogCaptureFixture,
    anyio_backend: str,
) -> None:
    leaks = Leaks()
    timeout = httpx.Timeout(connect=5, read=0.2, write=5, pool=5)
    sandbox.app.add_fault(Latency(5), endpoint="report.clickto", times=2)
    sandbox.app.add_fault(Latency(5), endpoint="clickto.call")
    async with dialogtech(sandbox, secret, timeout=timeout, call_timeout=0.2) as s:
        _, error = await collect(s.click_to_report(START, END), leaks)
        assert type(error) is dta.TransportError
        assert "timed out" in str(error)
        error = await attempt(lambda: s.click_to_call("3125550100", "8772955100"), leaks)
        assert type(error) is dta.TransportError
    with serve_in_thread() as gone:
        dead = gone.base_url
    async with dta.Session(ACCESS_KEY, secret, base_url=dead, newest_base_url=dead) as s:
        s._retry = FAST
        _, error = await collect(s.click_to_report(START, END), leaks)
        assert isinstance(error, dta.TransportError)
        assert "secret_access_key=***" in str(error)
        _, error = await collect(
            s.leadflow_history(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)), leaks
        )
        assert isinstance(error, dta.TransportError)
    await anyio.lowlevel.checkpoint()
    for record in client_records(logs):
        leaks.add(f"log record {record.name}", record.getMessage())
    leaks.check(forbidden)


@pytest.mark.parametrize("read_from_a_file", ["skTopS3cretValue9f8e\n", "skTopS3cret\r\n"])
def test_a_key_with_its_newline_is_refused_before_any_log_or_request(
    read_from_a_file: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with respx.mock(assert_all_called=False) as router:
        router.route().respond(200, text="Call Connected")
        with pytest.raises(dta.ValidationError) as caught:
            dta.Session(ACCESS_KEY, read_from_a_file, api_key=DT_API_KEY)
        with pytest.raises(dta.ValidationError):
            dta.InfinitySession(api_key=read_from_a_file)
        assert router.calls.call_count == 0
    shown = str(caught.value) + repr(caught.value) + caplog.text
    assert read_from_a_file.strip() not in shown
    assert "\\n" not in shown

"""Every sandbox fault against every kind of endpoint, over a real loopback server.

The rule each case checks: a request under a fault ends either with the complete record
sequence of a clean run of the same request (after retries), or with a typed error
(a ``DialogTechError`` subclass, the one expected for that fault) -- and the records
delivered before an error are an exact prefix of the clean run: never a duplicate, never
a changed record. Click-to-call and click-to-VR reach the server exactly once under every
fault (they place phone calls). Afterwards the same session serves a clean request, so a
fault never leaves the pool broken.

The places where a cut body cannot be told from a complete one -- a CSV report cut at a
record boundary, a click-to answer cut short -- are asserted as they are (the
``truncated_*`` cases, ``test_csv_cut_at_any_byte_is_an_error_or_a_clean_prefix``) and
documented in docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

import dialogtech_async as dta
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_INFINITY_API_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    ChunkLatency,
    DropBeforeHeaders,
    DropMidBody,
    ErrorStatus,
    Fault,
    InBandError,
    Latency,
    MalformedBody,
    RunningSandbox,
    SlowAnswer,
    TruncatedBody,
    click_to_rows,
    leadflow_rows,
    serve_in_thread,
)

ROWS = 30
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
LF_START, LF_END = dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)
IGRP = 12
FAST = dta.RetryPolicy(max_retries=2, backoff_base=0.001, max_backoff=0.01)

#: The kinds of endpoint: the sandbox's request counter key of each.
ENDPOINTS = {
    "click_to_report_csv": "report.clickto",
    "click_to_report_xml": "report.clickto",
    "leadflow_history": "leadflow.history",
    "pbx_active_calls": "pbxActiveCalls",
    "click_to_call": "clickto.call",
    "click_to_vr": "clickto.vr",
}
REPORTS = ("click_to_report_csv", "click_to_report_xml", "leadflow_history", "pbx_active_calls")
JSON_REPORTS = ("leadflow_history", "pbx_active_calls")
CALLS = ("click_to_call", "click_to_vr")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=ROWS, chunk_rows=5) as running:
        yield running


@dataclass
class Clients:
    session: dta.Session
    infinity: dta.InfinitySession


@contextlib.asynccontextmanager
async def open_clients(sandbox: RunningSandbox) -> AsyncIterator[Clients]:
    """Both sessions on the sandbox, with millisecond retry waits.

    A context manager, not an async fixture: pytest-asyncio would run such a fixture on
    asyncio even for the trio tests.
    """
    async with (
        dta.Session(
            SANDBOX_ACCESS_KEY,
            SANDBOX_SECRET_ACCESS_KEY,
            base_url=sandbox.base_url,
            newest_base_url=sandbox.base_url,
        ) as session,
        dta.InfinitySession(api_key=SANDBOX_INFINITY_API_KEY, base_url=sandbox.base_url) as inf,
    ):
        session._retry = FAST  # millisecond backoff; set before any Report is created
        inf._retry = FAST
        yield Clients(session, inf)


async def run(kind: str, c: Clients, got: list[Any]) -> None:
    """Make the request of ``kind``, appending each record (or the call result) to ``got``
    as it is delivered, so that what came before an error is kept."""
    if kind == "click_to_call":
        got.append(await c.session.click_to_call("3125550100", "8772955100"))
        return
    if kind == "click_to_vr":
        got.append(await c.session.click_to_vr(menu_id="678", phone_to_call="3125550100"))
        return
    report: dta.Report[Any]
    if kind == "click_to_report_csv":
        report = c.session.click_to_report(START, END, format="csv")
    elif kind == "click_to_report_xml":
        report = c.session.click_to_report(START, END, format="xml")
    elif kind == "leadflow_history":
        report = c.session.leadflow_history(LF_START, LF_END)
    else:
        report = c.infinity.pbx_active_calls(IGRP)
    async with report:
        async for record in report:
            got.append(record)


async def outcome(kind: str, c: Clients) -> tuple[list[Any], BaseException | None]:
    got: list[Any] = []
    try:
        with anyio.fail_after(10):
            await run(kind, c, got)
    except Exception as exc:  # checked by the caller: must be a DialogTechError
        return got, exc
    return got, None


# --- what each fault should do to each kind --------------------------------------------


@dataclass(frozen=True)
class Expect:
    """``error`` None: the complete clean sequence. ``requests``: what the server sees."""

    error: type[dta.DialogTechError] | None
    requests: int
    delivered: int | None = None  # exact records before the error, when it is known
    answer_cut: bool = False  # a click-to answer cut short: its text, never "connected"


def complete(requests: int = 1) -> Expect:
    return Expect(None, requests)


@dataclass(frozen=True)
class Case:
    fault: Fault
    times: int
    reports: Expect | dict[str, Expect]
    calls: Expect

    def expect(self, kind: str) -> Expect:
        if kind in CALLS:
            return self.calls
        if isinstance(self.reports, Expect):
            return self.reports
        return self.reports[kind]


def per_format(legacy: Expect, json: Expect) -> dict[str, Expect]:
    return {kind: json if kind in JSON_REPORTS else legacy for kind in REPORTS}


CASES: dict[str, Case] = {
    "latency": Case(Latency(0.05), 1, complete(), complete()),
    "latency_between_chunks": Case(ChunkLatency(0.01), 1, complete(), complete()),
    # Retried reports recover; a click-to action is never sent again after a status.
    "429_retry_after_once": Case(
        ErrorStatus(429, retry_after=1), 1, complete(2), Expect(dta.RateLimitError, 1)
    ),
    "429_retry_after_always": Case(
        ErrorStatus(429, retry_after=1),
        3,
        Expect(dta.RateLimitError, 3),
        Expect(dta.RateLimitError, 1),
    ),
    "408_once": Case(ErrorStatus(408), 1, complete(2), Expect(dta.APIStatusError, 1)),
    "500_once": Case(ErrorStatus(500), 1, complete(2), Expect(dta.ServerError, 1)),
    "502_once": Case(ErrorStatus(502), 1, complete(2), Expect(dta.ServerError, 1)),
    "503_once": Case(ErrorStatus(503), 1, complete(2), Expect(dta.ServerError, 1)),
    "504_once": Case(ErrorStatus(504), 1, complete(2), Expect(dta.ServerError, 1)),
    "503_always": Case(ErrorStatus(503), 3, Expect(dta.ServerError, 3), Expect(dta.ServerError, 1)),
    "drop_before_headers_once": Case(
        DropBeforeHeaders(), 1, complete(2), Expect(dta.TransportError, 1)
    ),
    "drop_before_headers_always": Case(
        DropBeforeHeaders(), 3, Expect(dta.TransportError, 3), Expect(dta.TransportError, 1)
    ),
    # Broken before any record was delivered: starting over repeats nothing.
    "drop_mid_body_before_records": Case(
        DropMidBody(after_bytes=10), 1, complete(2), Expect(dta.TransportError, 1)
    ),
    # Broken after records were delivered: never restarted (records would repeat).
    "drop_mid_body_after_records": Case(
        DropMidBody(after_records=12),
        1,
        Expect(dta.StreamInterruptedError, 1),
        Expect(dta.TransportError, 1),
    ),
    "drop_mid_body_at_the_end": Case(
        DropMidBody(), 1, Expect(dta.StreamInterruptedError, 1), Expect(dta.TransportError, 1)
    ),
    # Clean end of a short body (no Content-Length): CSV, XML and JSON are cut.
    "truncated_inside_a_record": Case(
        TruncatedBody(after_bytes=1000), 1, Expect(dta.ResponseFormatError, 1), complete()
    ),
    "truncated_in_the_first_field": Case(
        TruncatedBody(after_bytes=4),
        1,
        Expect(dta.ResponseFormatError, 1, 0),
        # A plain-text answer has no end marker: "Call Connected" cut to "Call" is the
        # start of a call outcome, not one, so it is an error, never a result.
        Expect(dta.ResponseFormatError, 1),
    ),
    "truncated_at_a_record_boundary": Case(
        TruncatedBody(after_records=12),
        1,
        {
            # FINDING (see the module docstring): CSV has no end marker; 12 records of 30
            # come out as a complete report. Asserted as it is, not hidden.
            "click_to_report_csv": Expect(None, 1, 12),
            "click_to_report_xml": Expect(dta.ResponseFormatError, 1, 12),
            "leadflow_history": Expect(dta.ResponseFormatError, 1, 12),
            "pbx_active_calls": Expect(dta.ResponseFormatError, 1, 12),
        },
        complete(),  # a click-to answer has no records: sent whole
    ),
    "malformed_first_record": Case(
        MalformedBody(at_record=0), 1, Expect(dta.ResponseFormatError, 1, 0), complete()
    ),
    "malformed_later_record": Case(
        MalformedBody(at_record=12), 1, Expect(dta.ResponseFormatError, 1, 12), complete()
    ),
    # The legacy XML error document with HTTP 200; the JSON endpoints cannot parse it.
    "in_band_failed": Case(
        InBandError(),
        1,
        per_format(Expect(dta.BadRequestError, 1, 0), Expect(dta.ResponseFormatError, 1, 0)),
        Expect(dta.BadRequestError, 1),
    ),
    "in_band_invalid_account": Case(
        InBandError("INVALID ACCOUNT", None),
        1,
        per_format(Expect(dta.AuthenticationError, 1, 0), Expect(dta.ResponseFormatError, 1, 0)),
        Expect(dta.AuthenticationError, 1),
    ),
    "slow_click_to_answer": Case(SlowAnswer(0.2), 1, complete(), complete()),
}


@pytest.mark.anyio
@pytest.mark.parametrize("case_id", list(CASES))
async def test_fault(sandbox: RunningSandbox, case_id: str) -> None:
    """One fault, each kind of endpoint in turn (one session pair: creating httpx clients
    is the slow part of these tests)."""
    case = CASES[case_id]
    async with open_clients(sandbox) as clients:
        for kind in ENDPOINTS:
            await check_fault(sandbox, clients, case, kind)


async def check_fault(sandbox: RunningSandbox, clients: Clients, case: Case, kind: str) -> None:
    expect = case.expect(kind)
    endpoint = ENDPOINTS[kind]
    sandbox.app.reset()
    clean, error = await outcome(kind, clients)
    assert error is None, kind
    assert len(clean) == (1 if kind in CALLS else ROWS), kind
    sandbox.app.reset()

    sandbox.app.add_fault(case.fault, endpoint=endpoint, times=case.times)
    got, error = await outcome(kind, clients)

    assert sandbox.app.requests[endpoint] == expect.requests, kind
    if kind in CALLS:
        assert sandbox.app.requests[endpoint] == 1, kind  # a phone call is placed once at most
    # Whatever happened, what was delivered is the clean run's start: no duplicate, no
    # changed record.
    assert expect.answer_cut or got == clean[: len(got)], kind
    if expect.answer_cut:
        assert error is None, f"{kind}: unexpected {error!r}"
        assert got == [dta.CallResult(message="Call")], kind
        assert not got[0].connected
    elif expect.error is None:
        assert error is None, f"{kind}: unexpected {error!r}"
        assert len(got) == (len(clean) if expect.delivered is None else expect.delivered), kind
    else:
        assert isinstance(error, dta.DialogTechError), f"{kind}: untyped error {error!r}"
        assert type(error) is expect.error, f"{kind}: {error!r}"
        if expect.delivered is not None:
            assert len(got) == expect.delivered, kind
        check_error(error, got)
    # The fault left the session's pool usable.
    sandbox.app.reset()
    again, error = await outcome(kind, clients)
    assert error is None, kind
    assert again == clean, kind


def check_error(error: dta.DialogTechError, got: list[Any]) -> None:
    if isinstance(error, dta.StreamInterruptedError):
        assert error.records_delivered == len(got) > 0
    elif isinstance(error, dta.TransportError):
        assert got == []  # a plain TransportError means nothing was delivered
        assert isinstance(error.__cause__, httpx.TransportError)
    if isinstance(error, dta.RateLimitError):
        assert error.retry_after == 1.0
    if isinstance(error, dta.APIStatusError):
        assert got == []
    if isinstance(error, dta.ResponseFormatError) and error.record_index is not None:
        assert error.record_index == len(got)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["click_to_report_csv", "leadflow_history"])
async def test_clean_runs_match_the_sandbox_data(sandbox: RunningSandbox, kind: str) -> None:
    """The clean runs the matrix compares with are themselves right."""
    async with open_clients(sandbox) as clients:
        got, error = await outcome(kind, clients)
    assert error is None
    if kind == "click_to_report_csv":
        expected = [row["Caller ID"] for row in click_to_rows(START, END, rows=ROWS)]
        assert [record.caller_id for record in got] == expected
    else:
        expected = [row["sid"] for row in leadflow_rows(LF_START, LF_END, rows=ROWS)]
        assert [record.sid for record in got] == expected


@pytest.mark.anyio
async def test_retry_after_is_honoured(sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(ErrorStatus(429, retry_after=1), endpoint="report.clickto")
    async with open_clients(sandbox) as clients:
        clients.session._retry = dta.RetryPolicy(max_retries=1, backoff_base=0.001, max_backoff=5)
        started = time.monotonic()
        records = await clients.session.click_to_report(START, END).collect()
        elapsed = time.monotonic() - started
    assert elapsed >= 0.9
    assert len(records) == ROWS
    assert sandbox.app.requests["report.clickto"] == 2


@pytest.mark.anyio
async def test_click_to_call_refused_connection_is_a_transport_error() -> None:
    """Connection refused (the one failure after which a click-to action may be retried,
    since it certainly never left): a typed TransportError once the retries are spent."""
    with serve_in_thread() as gone:
        dead = gone.base_url  # the port is free again once the server has stopped
    async with dta.Session(SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, base_url=dead) as s:
        s._retry = FAST
        with pytest.raises(dta.TransportError) as caught:
            await s.click_to_call("3125550100", "8772955100")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


# --- truncation, byte by byte ------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_bodies(server: RunningSandbox) -> dict[str, bytes]:
    """A two-record body of each report kind, exactly as the sandbox sends it."""
    legacy = {
        "action": "report.clickto",
        "access_key": SANDBOX_ACCESS_KEY,
        "secret_access_key": SANDBOX_SECRET_ACCESS_KEY,
        "start_date": "20240101",
        "end_date": "20240102",
        "rows": "2",
    }
    newest = {"Authorization": f"{SANDBOX_ACCESS_KEY}:{SANDBOX_SECRET_ACCESS_KEY}"}
    with httpx.Client(base_url=server.base_url) as http:
        bodies = {
            "click_to_report_csv": http.get("/ibp_api.php", params={**legacy, "format": "csv"}),
            "click_to_report_xml": http.get("/ibp_api.php", params={**legacy, "format": "xml"}),
            "leadflow_history": http.get(
                "/report/v1/leadflow/v2/history",
                params={
                    "start_date": "2024-01-01T00:00:00",
                    "end_date": "2024-01-02T00:00:00",
                    "rows": "2",
                },
                headers=newest,
            ),
            "pbx_active_calls": http.get(
                f"/reports/v2/igrps/{IGRP}/pbxActiveCalls",
                params={"format": "jsonarray", "rows": "2"},
                headers={"Authorization": f"ApiKey {SANDBOX_INFINITY_API_KEY}"},
            ),
        }
    return {kind: response.content for kind, response in bodies.items()}


CONTENT_TYPES = {
    "click_to_report_csv": "text/csv; charset=utf-8",
    "click_to_report_xml": "text/xml; charset=iso-8859-1",
    "leadflow_history": "application/json",
    "pbx_active_calls": "application/json",
}


class CutServer:
    """Sessions whose every request gets ``body`` -- set it to a cut body, ended cleanly.

    In-process (httpx.MockTransport): a sweep over every cut point makes hundreds of
    requests, and what a clean early end does to the parsers needs no socket.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.body = b""
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self._respond))
        self.clients = Clients(
            dta.Session("ak", "sk", http_client=self.http),
            dta.InfinitySession(api_key="k", http_client=self.http),
        )

    def _respond(self, request: httpx.Request) -> httpx.Response:
        headers = {"content-type": CONTENT_TYPES[self.kind]}
        return httpx.Response(200, content=self.body, headers=headers)

    async def read(self, body: bytes) -> tuple[list[Any], BaseException | None]:
        self.body = body
        return await outcome(self.kind, self.clients)

    async def __aenter__(self) -> CutServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.clients.session.aclose()
        await self.clients.infinity.aclose()
        await self.http.aclose()


@pytest.mark.parametrize("kind", ["click_to_report_xml", "leadflow_history", "pbx_active_calls"])
async def test_xml_and_json_cut_at_any_byte_are_an_error(
    clean_bodies: dict[str, bytes], kind: str
) -> None:
    body = clean_bodies[kind]
    async with CutServer(kind) as server:
        clean, error = await server.read(body)
        assert error is None
        assert len(clean) == 2
        # Every cut that drops more than the final line break.
        for cut in range(len(body.rstrip())):
            got, error = await server.read(body[:cut])
            assert isinstance(error, dta.ResponseFormatError), f"cut at {cut}: {error!r}"
            assert got == clean[: len(got)], f"cut at {cut}"


def csv_record_ends(body: bytes) -> list[int]:
    """Offsets just past each line's closing quote (header first), in a body whose lines
    hold no line break inside a field (true of two-record sandbox bodies)."""
    ends, start = [], 0
    while (newline := body.find(b"\n", start)) >= 0:
        ends.append(newline)
        start = newline + 1
    ends.append(len(body.rstrip(b"\r\n")))
    return [end - 1 if body[end - 1 : end] == b"\r" else end for end in ends]


async def test_csv_cut_at_any_byte_is_an_error_or_a_clean_prefix(
    clean_bodies: dict[str, bytes],
) -> None:
    """Every cut of a CSV report is a typed error, except where the cut cannot be seen.

    FINDING (asserted as it is): CSV has no end marker, and a streamed body has no
    Content-Length, so these cuts come out as complete reports --

    - at the end of a record (before or after its line break): the records before it;
    - inside the header, just after a field's closing quote: an empty report;
    - the empty body: an empty report.

    Never a changed record: a cut that drops only the last field of the last record (the
    parser would see an empty last field) is an error. A cut just after the first header
    field, ``"Caller ID"``, looks like a quoted message and is an APIStatusError
    (BadRequestError); every other cut is a ResponseFormatError.
    """
    kind = "click_to_report_csv"
    body = clean_bodies[kind]
    assert b"\n" not in body.replace(b'"\n"', b"").replace(b'"\r\n"', b"")  # a row a line
    # Where each line ends, and so which cuts are invisible: k records before the cut.
    line_ends = csv_record_ends(body)
    invisible = {end + extra: k for k, end in enumerate(line_ends) for extra in (0, 1)}
    first_field_end = body.index(b'",') + 1
    async with CutServer(kind) as server:
        clean, error = await server.read(body)
        assert error is None
        assert len(clean) == len(line_ends) - 1 == 2
        cuts = [(cut, *await server.read(body[:cut])) for cut in range(len(body))]
    silent: dict[int, int] = {}
    for cut, got, error in cuts:
        assert got == clean[: len(got)], f"cut at {cut}: a record changed"
        if cut == first_field_end:
            assert type(error) is dta.BadRequestError, f"cut at {cut}: {error!r}"
        elif error is not None:
            assert type(error) is dta.ResponseFormatError, f"cut at {cut}: {error!r}"
        else:
            silent[cut] = len(got)
    header_field_ends = {  # just past a closing quote: the next byte is a comma
        cut: 0 for cut in range(1, line_ends[0]) if body[cut - 1 : cut + 1] == b'",'
    }
    header_field_ends.pop(first_field_end)
    assert silent == {0: 0} | header_field_ends | {
        cut: k for cut, k in invisible.items() if cut < len(body)
    }


async def test_csv_cut_in_the_first_header_field_is_a_format_error_not_an_api_error(
    clean_bodies: dict[str, bytes],
) -> None:
    """Regression: ``"Cal`` (a cut header) was taken for an in-band API message and raised
    as BadRequestError('"Cal'); it is a cut CSV field, a ResponseFormatError."""
    async with CutServer("click_to_report_csv") as server:
        for cut in range(1, 11):
            got, error = await server.read(clean_bodies["click_to_report_csv"][:cut])
            assert got == []
            assert type(error) is dta.ResponseFormatError, f"cut at {cut}: {error!r}"


async def test_csv_cut_before_the_last_field_is_an_error_not_an_empty_field(
    clean_bodies: dict[str, bytes],
) -> None:
    """Regression: a body cut just after the last comma of the last record gave that record
    with an empty last field ("Call 2 Result": "" instead of "ANSWER"), as if complete.
    The API quotes every field, so a CSV report ending in anything but a quote is cut."""
    body = clean_bodies["click_to_report_csv"]
    last_comma = body.rstrip(b"\r\n").rfind(b",")
    async with CutServer("click_to_report_csv") as server:
        clean, _ = await server.read(body)
        got, error = await server.read(body[: last_comma + 1])
    assert type(error) is dta.ResponseFormatError, repr(error)
    assert got == clean[: len(got)]


# --- bad arguments: a ValidationError naming the parameter, and nothing reaches the server


Call = Callable[[Clients], Any]

BAD_ARGUMENTS: list[tuple[str, Call, str]] = [
    ("report_window_shorter_than_a_day", lambda c: c.session.click_to_report(
        START, END, window=dt.timedelta(hours=12)), "window"),
    ("report_concurrency_zero", lambda c: c.session.click_to_report(
        START, END, window=dt.timedelta(days=7), concurrency=0), "concurrency"),
    ("report_ref_not_text", lambda c: c.session.click_to_report(START, END, ref=7), "ref"),
    ("leadflow_window_with_sid", lambda c: c.session.leadflow_history(
        sid="abc", window=dt.timedelta(days=1)), "window"),
    ("leadflow_window_zero", lambda c: c.session.leadflow_history(
        LF_START, LF_END, window=dt.timedelta(0)), "window"),
    ("leadflow_concurrency_zero", lambda c: c.session.leadflow_history(
        LF_START, LF_END, window=dt.timedelta(hours=1), concurrency=0), "concurrency"),
    ("call_id_empty", lambda c: c.session.click_to_call("3125550100", ""), "id"),
    ("call_phone_none", lambda c: c.session.click_to_call(None, "8772955100"), "phone_to_call"),
    ("vr_phone_too_long", lambda c: c.session.click_to_vr("678", "1" * 16), "phone_to_call"),
    ("active_call_ref_not_text", lambda c: c.infinity.active_call(IGRP, call_ref=5), "call_ref"),
]  # fmt: skip


async def invoke(call: Call, clients: Clients) -> None:
    """Most methods raise at once (before returning a Report); coroutines when awaited."""
    result = call(clients)
    if isinstance(result, Awaitable):
        await result


@pytest.mark.parametrize(
    ("call", "parameter"),
    [pytest.param(call, parameter, id=name) for name, call, parameter in BAD_ARGUMENTS],
)
async def test_bad_argument_sends_nothing(
    sandbox: RunningSandbox, call: Call, parameter: str
) -> None:
    async with open_clients(sandbox) as clients:
        with pytest.raises(dta.ValidationError) as caught:
            await invoke(call, clients)
    assert caught.value.parameter == parameter
    assert parameter in str(caught.value)
    assert sum(sandbox.app.requests.values()) == 0


@pytest.mark.parametrize("make", [dta.Session, dta.InfinitySession])
def test_negative_max_retries_is_a_validation_error(make: Callable[..., object]) -> None:
    """Regression: it was a bare ValueError, not the documented ValidationError."""
    credentials = {"api_key": "k"} if make is dta.InfinitySession else {}
    args = () if credentials else ("ak", "sk")
    with pytest.raises(dta.ValidationError) as caught:
        make(*args, max_retries=-1, **credentials)
    assert caught.value.parameter == "max_retries"

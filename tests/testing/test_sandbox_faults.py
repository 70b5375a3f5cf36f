"""Fault injection: what a client observes for each fault the sandbox can inject."""

from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest

from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    ChunkLatency,
    DropBeforeHeaders,
    DropMidBody,
    ErrorStatus,
    InBandError,
    Latency,
    MalformedBody,
    RunningSandbox,
    TruncatedBody,
    serve_in_thread,
)

CREDENTIALS = {"access_key": SANDBOX_ACCESS_KEY, "secret_access_key": SANDBOX_SECRET_ACCESS_KEY}
REPORT = {**CREDENTIALS, "action": "report.clickto", "start_date": "20170101"}
REPORT["end_date"] = "20170131"
CSV = {**REPORT, "format": "csv"}
LEADFLOW = "/report/v1/leadflow/v2/history"
LEADFLOW_AUTH = {"Authorization": f"{SANDBOX_ACCESS_KEY}:{SANDBOX_SECRET_ACCESS_KEY}"}
LEADFLOW_RANGE = {"start_date": "2017-01-01", "end_date": "2017-01-31"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=100, chunk_rows=20) as running:
        yield running


def report(client: httpx.Client, **params: str) -> httpx.Response:
    return client.get("/ibp_api.php", params={**CSV, **params})


def read_until_error(client: httpx.Client, params: dict[str, str]) -> tuple[bytes, Exception]:
    received = bytearray()
    with client.stream("GET", "/ibp_api.php", params=params) as response:
        try:
            for chunk in response.iter_raw():
                received += chunk
        except httpx.HTTPError as exc:
            return bytes(received), exc
    raise AssertionError("the body ended cleanly")


def test_latency_before_headers(client: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(Latency(0.3))
    started = time.monotonic()
    assert report(client).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_chunk_latency_shows_the_body_is_streamed(
    client: httpx.Client, sandbox: RunningSandbox
) -> None:
    sandbox.app.add_fault(ChunkLatency(0.1))  # 100 rows in chunks of 20: 4 pauses
    started = time.monotonic()
    with client.stream("GET", "/ibp_api.php", params=CSV) as response:
        chunks = response.iter_raw()
        first = next(chunks)
        first_at = time.monotonic() - started
        body = first + b"".join(chunks)
    total = time.monotonic() - started
    assert total >= 0.4
    assert first_at < 0.1
    assert first.startswith(b'"Caller ID"')
    assert first.count(b'\n"') < 100  # the first chunk holds a part of the rows only
    assert body == report(client).content


def test_rate_limited_then_ok(client: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(ErrorStatus(429, retry_after=2), action="report.clickto", times=2)
    for _ in range(2):
        response = report(client)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "2"
        assert response.text == "Too Many Requests"
    assert report(client).status_code == 200
    assert sandbox.app.requests["report.clickto"] == 3
    assert sandbox.app.pending_faults() == 0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors(client: httpx.Client, sandbox: RunningSandbox, status: int) -> None:
    sandbox.app.add_fault(ErrorStatus(status))
    response = report(client)
    assert response.status_code == status
    assert "retry-after" not in response.headers
    assert 0 < len(response.content) < 40


def test_faults_match_path_action_and_endpoint(
    client: httpx.Client, sandbox: RunningSandbox
) -> None:
    app = sandbox.app
    app.add_fault(ErrorStatus(503), action="clickto.call")
    app.add_fault(ErrorStatus(502), path="/reports/v2/igrps/*/activeCall")
    app.add_fault(ErrorStatus(504), endpoint="leadflow.history")
    assert report(client).status_code == 200
    assert client.get("/reports/v2/igrps/5/pbxUserStatus").status_code == 401
    assert client.get("/reports/v2/igrps/5/activeCall").status_code == 502
    assert client.get(LEADFLOW).status_code == 504
    call = {**CREDENTIALS, "action": "clickto.call", "type": "1", "id": "1", "phone_to_call": "2"}
    assert client.get("/ibp_api.php", params=call).status_code == 503
    assert app.pending_faults() == 0


def test_faults_of_different_kinds_hit_the_same_request(
    client: httpx.Client, sandbox: RunningSandbox
) -> None:
    sandbox.app.add_fault(Latency(0.2))
    sandbox.app.add_fault(ErrorStatus(503))
    started = time.monotonic()
    assert report(client).status_code == 503
    assert time.monotonic() - started >= 0.2


def test_every_matching_request_until_cleared(
    client: httpx.Client, sandbox: RunningSandbox
) -> None:
    sandbox.app.add_fault(ErrorStatus(503), times=None)
    assert [report(client).status_code for _ in range(3)] == [503, 503, 503]
    sandbox.app.clear_faults()
    assert report(client).status_code == 200


def test_drop_before_headers(client: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(DropBeforeHeaders())
    with pytest.raises(httpx.RemoteProtocolError):
        report(client)
    assert sandbox.app.requests["report.clickto"] == 1  # it did arrive, once
    assert report(client).status_code == 200


def test_drop_mid_body_after_bytes(client: httpx.Client, sandbox: RunningSandbox) -> None:
    full = report(client).content
    sandbox.app.add_fault(DropMidBody(after_bytes=5000))
    received, error = read_until_error(client, CSV)
    assert isinstance(error, httpx.RemoteProtocolError)  # not a clean end
    assert received == full[:5000]


def test_drop_mid_body_after_records(client: httpx.Client, sandbox: RunningSandbox) -> None:
    full = report(client).content
    sandbox.app.add_fault(DropMidBody(after_records=30))
    received, error = read_until_error(client, CSV)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert len(list(csv.reader(io.StringIO(received.decode(), newline="")))) == 1 + 30
    assert full.startswith(received)


def test_drop_mid_json_body(client: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(DropMidBody(after_records=0), endpoint="leadflow.history")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(LEADFLOW, params=LEADFLOW_RANGE, headers=LEADFLOW_AUTH)


def test_truncated_body_ends_cleanly(client: httpx.Client, sandbox: RunningSandbox) -> None:
    full = report(client).content
    sandbox.app.add_fault(TruncatedBody(after_bytes=1234))
    response = report(client)
    assert response.status_code == 200
    assert "content-length" not in response.headers
    assert response.content == full[:1234]
    sandbox.app.add_fault(TruncatedBody(after_records=2), endpoint="leadflow.history")
    response = client.get(LEADFLOW, params=LEADFLOW_RANGE, headers=LEADFLOW_AUTH)
    assert response.content.startswith(b'{"response": [\n{')
    assert response.content.count(b'"sid"') == 2
    assert not response.content.endswith(b"]}")


def test_truncated_small_body(client: httpx.Client, sandbox: RunningSandbox) -> None:
    full = report(client, secret_access_key="wrong")
    assert full.headers["content-length"] == str(len(full.content))
    sandbox.app.add_fault(TruncatedBody(after_bytes=60))
    response = report(client, secret_access_key="wrong")
    assert "content-length" not in response.headers
    assert response.content == full.content[:60]


def test_malformed_csv(client: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(MalformedBody(at_record=42))
    rows = list(csv.reader(io.StringIO(report(client).content.decode(), newline="")))
    assert [i for i, row in enumerate(rows[1:]) if len(row) != 13] == [42]
    assert len(rows[43]) == 12


def test_malformed_xml(client: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(MalformedBody(at_record=3))
    body = report(client, format="xml").content
    with pytest.raises(ET.ParseError, match="mismatched tag"):
        ET.fromstring(body)
    records = body.split(b"<record>")
    assert b"</CallerID>" in records[4]
    assert b"</CallerID>" not in records[3]


def test_malformed_json(client: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(MalformedBody(at_record=5), endpoint="leadflow.history")
    body = client.get(LEADFLOW, params=LEADFLOW_RANGE, headers=LEADFLOW_AUTH).content
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    lines = body.split(b"\n")
    assert lines[6].startswith(b'{"call_date" "')  # line 0 is '{"response": ['
    assert all(line.startswith(b'{"call_date": "') for line in lines[1:6])


def test_malformed_infinity_json(client: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(MalformedBody(at_record=0), path="/reports/*")
    response = client.get(
        "/reports/v2/igrps/9/pbxUserStatus",
        params={"format": "jsonarray"},
        auth=("sandbox-user", "sandbox-password"),
    )
    assert response.content.startswith(b'[\n{"userId" 1000, ')


def test_in_band_error(client: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(InBandError(message="Report & server busy"))
    response = report(client)
    assert response.status_code == 200
    assert response.content == (
        b"<?xml version='1.0' encoding='iso-8859-1'?>\n<response>\n    <result>failed</result>\n"
        b"    <message>Report &amp; server busy</message>\n</response>"
    )
    sandbox.app.add_fault(InBandError("INVALID ACCOUNT", None))
    assert b"<result>INVALID ACCOUNT</result>\n</response>" in report(client).content


def test_connections_are_released_after_drops(sandbox: RunningSandbox) -> None:
    baseline = sandbox.open_connections()  # the module's client may hold one
    sandbox.app.add_fault(DropMidBody(after_bytes=100))
    with httpx.Client(base_url=sandbox.base_url) as client, pytest.raises(httpx.HTTPError):
        report(client)
    deadline = time.monotonic() + 2
    while sandbox.open_connections() > baseline and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.open_connections() == baseline


def test_fault_arguments_are_checked(sandbox: RunningSandbox) -> None:
    with pytest.raises(ValueError, match="times"):
        sandbox.app.add_fault(Latency(1), times=0)
    with pytest.raises(TypeError):
        sandbox.app.add_fault("slow")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="after_bytes or after_records"):
        TruncatedBody()
    with pytest.raises(ValueError, match="not both"):
        DropMidBody(after_bytes=1, after_records=1)


def test_a_client_that_leaves_stops_the_stream(sandbox: RunningSandbox) -> None:
    # 2 million rows would take seconds to generate: the server must notice the client left.
    with httpx.Client(base_url=sandbox.base_url, timeout=2) as client:
        with client.stream("GET", "/ibp_api.php", params={**CSV, "rows": "2000000"}) as response:
            next(response.iter_raw())
        started = time.monotonic()
        assert report(client).status_code == 200
        assert time.monotonic() - started < 0.5

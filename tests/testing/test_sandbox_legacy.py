"""The sandbox's legacy API (/ibp_api.php): click-to report, click-to-call, click-to-VR."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from _fixtures import read

from dialogtech_async.testing import (
    CLICK_TO_CSV_FIELDS,
    CLICK_TO_XML_TAGS,
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    RunningSandbox,
    SlowAnswer,
    click_to_rows,
    serve_in_thread,
)

# The spec's example bodies (tests/fixtures), up to their first record.
SPEC_CSV_HEADER = read("clickto_report.csv").split(b"\n", 1)[0]
SPEC_XML_HEAD = read("clickto_report.xml").split(b"<data>\n", 1)[0] + b"<data>\n"
INVALID_ACCOUNT = (
    b"<?xml version='1.0' encoding='iso-8859-1'?>\n<response>\n"
    b"    <result>INVALID ACCOUNT</result>\n</response>"
)
DATETIME = re.compile(
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d\d \d{4} \d{1,2}:\d\d [AP]M"
)
START, END = dt.date(2017, 1, 1), dt.date(2017, 1, 31)
CREDENTIALS = {"access_key": SANDBOX_ACCESS_KEY, "secret_access_key": SANDBOX_SECRET_ACCESS_KEY}
REPORT = {
    **CREDENTIALS,
    "action": "report.clickto",
    "start_date": "20170101",
    "end_date": "20170131",
}
CALL = {**CREDENTIALS, "action": "clickto.call", "type": "1", "id": "8772955100"}
VR = {**CREDENTIALS, "action": "clickto.vr", "menu_id": "55443322"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=300) as running:
        yield running


def get(client: httpx.Client, **params: str | int) -> httpx.Response:
    return client.get("/ibp_api.php", params=params)


def parse_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def failed(message: str) -> bytes:
    return (
        b"<?xml version='1.0' encoding='iso-8859-1'?>\n<response>\n    <result>failed</result>\n"
        b"    <message>" + message.encode() + b"</message>\n</response>"
    )


def test_csv_header_quoting_and_row_count(client: httpx.Client) -> None:
    response = get(client, **REPORT, format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "content-length" not in response.headers  # streamed
    body = response.content
    assert body.split(b"\n", 1)[0] == SPEC_CSV_HEADER
    assert not body.endswith(b"\n")
    rows = parse_csv(body)
    assert rows[0] == list(CLICK_TO_CSV_FIELDS)
    assert len(rows) == 1 + 300
    assert all(len(row) == 13 for row in rows)
    # Every field quoted, quotes doubled, "\n" between rows: csv's QUOTE_ALL writes it back.
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    assert out.getvalue().encode()[:-1] == body


def test_csv_values_are_awkward_but_legal(client: httpx.Client) -> None:
    rows = parse_csv(get(client, **REPORT, format="csv").content)[1:]
    names = {row[1] for row in rows}
    assert any("\n" in n for n in names)
    assert any('"' in n for n in names)
    assert any("," in n for n in names)
    assert "Café Müller" in names
    assert "" in names
    for row in rows:
        record = dict(zip(CLICK_TO_CSV_FIELDS, row, strict=True))
        assert re.fullmatch(r"\d{10}", record["Caller ID"])
        assert re.fullmatch(r"\d{10}", record["Number Connected"])
        assert re.fullmatch(r"\d+", record["Call Duration"])
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", record["IP Address"])
        assert DATETIME.fullmatch(record["Click Date/Time"])


def test_rows_ascend_over_the_date_range(client: httpx.Client) -> None:
    rows = parse_csv(get(client, **REPORT, format="csv").content)[1:]
    times = [dt.datetime.strptime(row[5], "%b %d %Y %I:%M %p") for row in rows]
    assert times == sorted(times)
    assert times[0] == dt.datetime(2017, 1, 1)
    assert times[-1].date() == dt.date(2017, 1, 31)


def test_helper_predicts_the_csv_rows(client: httpx.Client) -> None:
    rows = parse_csv(get(client, **REPORT, format="csv", rows=50).content)
    expected = list(click_to_rows(START, END, rows=50))
    assert [dict(zip(rows[0], row, strict=True)) for row in rows[1:]] == expected


def test_deterministic_per_seed(client: httpx.Client) -> None:
    bodies = []
    for seed in (7, 7, 8):
        with serve_in_thread(seed=seed, rows=40) as running:
            bodies.append(client.get(running.url("/ibp_api.php"), params=REPORT).content)
    assert bodies[0] == bodies[1]
    assert bodies[0] != bodies[2]


def test_xml_prolog_dtd_and_latin1(client: httpx.Client) -> None:
    response = get(client, **REPORT, format="xml")
    assert response.headers["content-type"] == "text/xml; charset=iso-8859-1"
    body = response.content
    assert body.startswith(SPEC_XML_HEAD)
    assert b"Caf\xe9 M\xfcller" in body  # iso-8859-1, not UTF-8
    assert "Café Müller" in body.decode("iso-8859-1")
    root = ET.fromstring(body)
    records = [{child.tag: child.text or "" for child in record} for record in root]
    assert len(records) == 300
    assert all(list(r) == list(CLICK_TO_XML_TAGS) for r in records)
    # Same data as the CSV form, field for field.
    expected = [dict(zip(CLICK_TO_XML_TAGS, r.values(), strict=True)) for r in
                click_to_rows(START, END, rows=300)]  # fmt: skip
    assert records == expected


def test_xml_is_the_default_format(client: httpx.Client) -> None:
    response = get(client, **REPORT)
    assert response.content.startswith(SPEC_XML_HEAD)


def test_filters(client: httpx.Client) -> None:
    rows = parse_csv(get(client, **REPORT, format="csv", ref="ref-3").content)[1:]
    assert rows
    assert {row[3] for row in rows} == {"ref-3"}
    assert len(rows) == len(list(click_to_rows(START, END, rows=300, ref="ref-3")))
    rows = parse_csv(get(client, **REPORT, format="csv", click_id=1002).content)[1:]
    assert 0 < len(rows) < 300
    assert len(rows) == len(list(click_to_rows(START, END, rows=300, click_id=1002)))


def test_zero_rows(client: httpx.Client) -> None:
    assert get(client, **REPORT, format="csv", rows=0).content == SPEC_CSV_HEADER
    assert get(client, **REPORT, rows=0).content == SPEC_XML_HEAD + b"</data>\n"


@pytest.mark.parametrize("params", [REPORT, CALL, VR])
@pytest.mark.parametrize(
    "credentials",
    [
        {"secret_access_key": "wrong"},
        {"access_key": "wrong"},
        {"access_key": ""},
        {"secret_access_key": ""},
    ],
)
def test_invalid_account(
    client: httpx.Client, params: dict[str, str], credentials: dict[str, str]
) -> None:
    response = get(client, **{**params, "phone_to_call": "5551112222", **credentials})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content == INVALID_ACCOUNT


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({**REPORT, "start_date": ""}, "start_date is required"),
        ({**REPORT, "end_date": "2017-01-31"}, "end_date must be a date in YYYYMMDD format"),
        ({**REPORT, "end_date": "20161231"}, "end_date is before start_date"),
        ({**REPORT, "format": "json"}, "format must be xml or csv"),
        ({**REPORT, "rows": "many"}, "rows must be a non-negative integer"),
        ({**REPORT, "action": "report.nothing"}, "invalid action"),
        ({**CREDENTIALS}, "action is required"),
        ({**CALL, "type": "3", "phone_to_call": "5551112222"}, "type must be 1 or 2"),
        ({**CALL}, "phone_to_call is required"),
        (
            {**CALL, "phone_to_call": "555-111"},
            "phone_to_call must be an unformatted phone number (digits only)",
        ),
        (
            {**CALL, "phone_to_call": "5551112222", "ref": "x" * 33},
            "ref is longer than 32 characters",
        ),
        ({**VR, "menu_id": "", "phone_to_call": "5551112222"}, "menu_id is required"),
    ],
)
def test_failed_in_band(client: httpx.Client, params: dict[str, str], message: str) -> None:
    response = get(client, **params)
    assert response.status_code == 200
    assert response.content == failed(message)


def test_click_to_call_and_vr(client: httpx.Client, sandbox: RunningSandbox) -> None:
    response = get(client, **CALL, phone_to_call="5551112222", page="home.html", ref="abc")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Call Connected"
    assert get(client, **CALL, phone_to_call="5551110000").text == "No Answer"
    assert get(client, **VR, phone_to_call="5551112222").text == "Call Connected"
    assert get(client, **VR, phone_to_call="5550000").text == "No Answer"
    assert sandbox.app.requests == {"clickto.call": 2, "clickto.vr": 2}


def test_slow_answer_fault(client: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.app.add_fault(SlowAnswer(0.3), action="clickto.call")
    started = time.monotonic()
    assert get(client, **CALL, phone_to_call="5551112222").text == "Call Connected"
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    get(client, **CALL, phone_to_call="5551112222")
    assert time.monotonic() - started < 0.3  # used up


def test_call_answer_delay_and_client_timeout(client: httpx.Client) -> None:
    with serve_in_thread(call_answer_delay=5.0) as running:
        with pytest.raises(httpx.ReadTimeout):
            client.get(
                running.url("/ibp_api.php"), params={**CALL, "phone_to_call": "5551112222"},
                timeout=httpx.Timeout(5.0, read=0.2),
            )  # fmt: skip
        assert running.app.requests["clickto.call"] == 1  # the server stops waiting, too

"""Fuzzing the parsers with corrupted documents: rows or a documented error, nothing else.

Valid documents (the spec's examples and larger sandbox-shaped ones) are corrupted at
random -- bytes flipped, inserted, deleted, duplicated, replaced by the characters that
matter to each syntax, the body cut short -- then fed whole or in random chunks. Each
parser must return rows (dicts with str keys) or raise one of its documented errors:

- CSVParser: ResponseFormatError;
- XMLParser: ResponseFormatError (UnsafeXMLError included);
- JSONParser: ResponseFormatError, or an APIStatusError when the corrupted body has
  become a JSON string (the APIs' in-band error message).

Never another exception type, never a hang (hypothesis' deadline), and memory bounded
(tracemalloc, for documents of a few hundred KB). Valid round trips and clean splits are
tests/test_parser_splits.py's; not repeated here.

``FUZZ_EXAMPLES`` (environment) raises the number of examples for a longer local run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dialogtech_async as dta
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser
from dialogtech_async.testing import (
    CLICK_TO_CSV_FIELDS,
    CLICK_TO_XML_TAGS,
    click_to_rows,
    leadflow_rows,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=dt.timedelta(seconds=2),  # a hang (or a quadratic blow-up) fails the example
    database=None,
    derandomize=EXAMPLES <= 300,  # the same examples in CI; a fresh search when raised
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ParserFactory = Callable[[], Any]
ALLOWED: dict[str, tuple[type[Exception], ...]] = {
    "csv": (dta.ResponseFormatError,),
    "xml": (dta.ResponseFormatError,),
    "json": (dta.ResponseFormatError, dta.APIStatusError),
}
PARSERS: dict[str, ParserFactory] = {"csv": CSVParser, "xml": XMLParser, "json": JSONParser}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def csv_body(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(CLICK_TO_CSV_FIELDS)
    for row in click_to_rows(dt.date(2024, 1, 1), dt.date(2024, 1, 31), rows=rows):
        writer.writerow(row.values())
    return out.getvalue().encode()


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_body(rows: int) -> bytes:
    parts = ["<?xml version='1.0' encoding='iso-8859-1'?>\n<data>\n"]
    for row in click_to_rows(dt.date(2024, 1, 1), dt.date(2024, 1, 31), rows=rows):
        fields = "".join(
            f"<{tag}>{_xml_text(value)}</{tag}>"
            for tag, value in zip(CLICK_TO_XML_TAGS, row.values(), strict=True)
        )
        parts.append(f"  <record>{fields}</record>\n")
    parts.append("</data>\n")
    return "".join(parts).encode("iso-8859-1", "xmlcharrefreplace")


def json_body(rows: int) -> bytes:
    calls = leadflow_rows(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2), rows=rows)
    records = ",\n".join(json.dumps(call, default=float) for call in calls)
    return ('{"response": [\n' + records + "\n]}").encode()


#: Valid documents of each format, small enough to mutate quickly.
CORPUS: dict[str, list[bytes]] = {
    "csv": [
        fixture("clickto_report.csv"),
        fixture("clickto_report_unicode.csv"),
        b"\xef\xbb\xbf" + fixture("clickto_report_unicode.csv"),
        csv_body(5),
    ],
    "xml": [
        fixture("clickto_report.xml"),
        fixture("clickto_report_latin1.xml"),
        xml_body(5),
    ],
    "json": [
        fixture("leadflow_history.json"),
        fixture("infinity_active_call_advanced.json"),
        fixture("infinity_active_call_basic.json"),
        fixture("infinity_pbx_active_calls.json"),
        fixture("infinity_pbx_user_status.json"),
        json_body(5),
        b"\n]\n",
        b'"auth required"',
    ],
}
#: Bytes that mean something to one of the syntaxes, or to a decoder.
SPECIAL = [
    b'"', b",", b"\n", b"\r", b"<", b">", b"&", b"/", b";", b"!", b"?", b"[", b"]", b"{",
    b"}", b":", b"\\", b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"&lol;", b"<!ENTITY",
    b"<!DOCTYPE x [", b"\\u", b"\\ud800", b"1e99999", b"-", b"null", b"]]>", b"<![CDATA[",
]  # fmt: skip


@st.composite
def corrupted(draw: st.DrawFn, fmt: str) -> tuple[bytes, list[int]]:
    """A corrupted document of ``fmt`` and the points where to split it."""
    body = bytearray(draw(st.sampled_from(CORPUS[fmt])))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(body)))
        op = draw(st.sampled_from(["flip", "insert", "special", "delete", "copy", "cut"]))
        if op == "flip" and at < len(body):
            body[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "special":
            body[at:at] = draw(st.sampled_from(SPECIAL)) * draw(st.integers(1, 3))
        elif op == "delete":
            del body[at : at + draw(st.integers(1, 16))]
        elif op == "copy":
            start = draw(st.integers(0, len(body)))
            body[at:at] = body[start : start + draw(st.integers(1, 64))]
        elif op == "cut":
            del body[at:]
    cuts = draw(st.lists(st.integers(0, len(body)), max_size=6))
    return bytes(body), sorted(cuts)


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(points)]


def parse(fmt: str, chunks: list[bytes]) -> list[dict[str, Any]]:
    """Feed ``chunks`` and close; rows, or a documented error (any other fails the test)."""
    parser = PARSERS[fmt]()
    rows: list[dict[str, Any]] = []
    try:
        for chunk in chunks:
            rows += parser.feed(chunk)
        rows += parser.close()
    except Exception as exc:
        check_error(fmt, parser, exc)
        return rows
    for row in rows:
        assert isinstance(row, dict)
        assert all(isinstance(key, str) for key in row)
    return rows


def check_error(fmt: str, parser: Any, exc: Exception) -> None:
    if not isinstance(exc, ALLOWED[fmt]):
        raise AssertionError(f"{fmt}: undocumented {type(exc).__name__}: {exc}") from exc
    assert str(exc)  # says what went wrong
    # The fault is kept: raised again by a later call, never turned into a success.
    with pytest.raises(ALLOWED[fmt]):
        parser.close()


@pytest.mark.parametrize("fmt", ["csv", "xml", "json"])
def test_corpus_is_valid(fmt: str) -> None:
    for body in CORPUS[fmt]:
        parse(fmt, [body])


@FUZZ
@given(case=corrupted("csv"))
def test_corrupted_csv(case: tuple[bytes, list[int]]) -> None:
    parse("csv", split(*case))


@FUZZ
@given(case=corrupted("xml"))
def test_corrupted_xml(case: tuple[bytes, list[int]]) -> None:
    parse("xml", split(*case))


@FUZZ
@given(case=corrupted("json"))
def test_corrupted_json(case: tuple[bytes, list[int]]) -> None:
    parse("json", split(*case))


@FUZZ
@given(fmt=st.sampled_from(["csv", "xml", "json"]), body=st.binary(max_size=512))
def test_random_bytes(fmt: str, body: bytes) -> None:
    parse(fmt, [body])


def feed_and_close(parser: Any, body: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = parser.feed(body)
    return rows + parser.close()


@pytest.mark.parametrize(
    "body",
    [b'{"resp\\q": [{"a": 1}]}', b'{"resp\x01": [{"a": 1}]}', b'{"resp\xff": [{"a": 1}]}'],
    ids=["bad-escape", "control-character", "invalid-utf8"],
)
def test_json_bad_first_key_is_a_format_error(body: bytes) -> None:
    with pytest.raises(dta.ResponseFormatError):
        feed_and_close(JSONParser(), body)


@pytest.mark.parametrize("encoding", ["hso-8859-1", "shift_jis", "rot13", "idna"])
def test_xml_unusable_declared_encoding_is_a_format_error(encoding: str) -> None:
    body = f"<?xml version='1.0' encoding='{encoding}'?><data><record><a>x</a></record></data>"
    with pytest.raises(dta.ResponseFormatError):
        feed_and_close(XMLParser(), body.encode())


# --- memory ----------------------------------------------------------------------------

BIG = {"csv": csv_body(1500), "xml": xml_body(800), "json": json_body(500)}
MEMORY_LIMIT = 4 * 1024 * 1024  # bytes; the documents are 250-450 KB


@settings(
    max_examples=max(12, EXAMPLES // 25),
    deadline=None,
    database=None,
    derandomize=EXAMPLES <= 300,
)
@given(
    fmt=st.sampled_from(["csv", "xml", "json"]),
    data=st.data(),
)
def test_memory_stays_bounded_on_corrupted_large_documents(fmt: str, data: st.DataObject) -> None:
    body = bytearray(BIG[fmt])
    assert 200_000 < len(body) < 500_000
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(body) - 1))
        body[at:at] = data.draw(st.sampled_from(SPECIAL))
    chunk = data.draw(st.sampled_from([1024, 16 * 1024, 64 * 1024]))
    parser = PARSERS[fmt]()
    tracemalloc.start()
    try:
        try:
            for start in range(0, len(body), chunk):
                parser.feed(bytes(body[start : start + chunk]))  # rows dropped as they come
            parser.close()
        except Exception as exc:
            check_error(fmt, parser, exc)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"{fmt}: peak {peak} bytes"


def test_memory_of_a_clean_large_document_is_bounded_too() -> None:
    for fmt, body in BIG.items():
        parser = PARSERS[fmt]()
        tracemalloc.start()
        try:
            count = 0
            for start in range(0, len(body), 16 * 1024):
                count += len(parser.feed(body[start : start + 16 * 1024]))
            count += len(parser.close())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count in (1500, 800, 500)
        assert peak < 1024 * 1024, f"{fmt}: peak {peak} bytes"

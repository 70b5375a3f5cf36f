"""Hostile and odd bodies: every outcome a typed error or rows, memory bounded by limits."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import _fixtures as fx
import pytest

import dialogtech_async as dta
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser

SMALL = dta.BodyLimits(max_depth=32, max_field_bytes=64 * 1024)


def _pieces(body: bytes, size: int) -> Iterator[bytes]:
    return (body[i : i + size] for i in range(0, len(body), size))


def _peak(run: Callable[[], Any]) -> tuple[Any, int]:
    """What ``run`` returned or raised, and the peak memory it allocated."""
    tracemalloc.start()
    try:
        try:
            outcome: Any = run()
        except Exception as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


_outcome = fx.outcome


# --- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'[{"":' * 50_001, b"[" + b'{"a":[' * 40_000, b"[{}, " + b"[" * 99_000],
    ids=["brackets", "objects", "nested-in-record", "after-a-record"],
)
@pytest.mark.parametrize("chunk_size", [1 << 16, 1 << 30])
def test_json_deep_nesting_is_a_typed_error_in_bounded_memory(body: bytes, chunk_size: int) -> None:
    (_rows, error), peak = _peak(lambda: _outcome(JSONParser(), _pieces(body, chunk_size)))
    assert isinstance(error, dta.ResponseFormatError)
    assert "max_depth" in str(error) or "not an object" in str(error)
    assert peak < 4 * len(body) + (1 << 20)


def test_json_depth_limit_is_configurable_and_named() -> None:
    record = b'{"a": ' * 40 + b"1" + b"}" * 40
    rows, error = _outcome(JSONParser(limits=SMALL), [b"[{}, " + record + b"]"])
    assert rows == [{}]
    assert isinstance(error, dta.ResponseFormatError)
    assert "max_depth (32)" in str(error)
    assert error.record_index == 1
    assert _outcome(JSONParser(), [b"[" + record + b"]"])[1] is None  # 41 <= 64


@pytest.mark.parametrize("limit", [2, 3, 4])
def test_json_depth_at_the_limit_passes_and_one_deeper_is_refused_among_flat_records(
    limit: int,
) -> None:
    # The array is depth 1, a record 2: a record nested `limit - 1` objects deep is at
    # the limit. Flat records around it, read in one batch with it.
    def nested(levels: int) -> bytes:
        return b'{"a": ' * (levels - 1) + b"{}" + b"}" * (levels - 1)

    flat = b'{"x": "1"}, ' * 20
    limits = dta.BodyLimits(max_depth=limit)
    at_limit = b"[" + flat + nested(limit - 1) + b", " + flat + b'{"x": "2"}]'
    rows, error = _outcome(JSONParser(limits=limits), [at_limit])
    assert error is None
    assert len(rows) == 42
    deeper = b"[" + flat + nested(limit) + b", " + flat + b'{"x": "2"}]'
    rows, error = _outcome(JSONParser(limits=limits), [deeper])
    assert isinstance(error, dta.ResponseFormatError)
    assert f"max_depth ({limit})" in str(error)
    assert error.record_index == 20
    assert len(rows) == 20


@pytest.mark.parametrize(
    "bad", [b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff", b"\xe2\x82"]
)
@pytest.mark.parametrize("chunk_size", [1, 3, 1 << 16])
def test_json_invalid_utf8_in_a_string_is_a_format_error_with_its_offset(
    bad: bytes, chunk_size: int
) -> None:
    body = b'[{"a": "ok"}, {"a": "x' + bad + b'y"}]'
    rows, error = _outcome(JSONParser(), _pieces(body, chunk_size))
    assert rows == [{"a": "ok"}]
    assert isinstance(error, dta.ResponseFormatError)
    assert "UTF-8" in str(error)
    assert error.byte_offset == body.index(bad)


@pytest.mark.parametrize(
    "number", [b"123123e100000", b"0.4e0066999999999999999999999", b"1e999999999999999999999"]
)
def test_json_numbers_python_cannot_hold_are_format_errors(number: bytes) -> None:
    _rows, error = _outcome(JSONParser(), [b"[" + number + b"]"])
    assert isinstance(error, dta.ResponseFormatError)
    assert error.byte_offset == 1
    _rows, error = _outcome(JSONParser(), [b'[{"n": ' + number + b"}]"])
    assert error is None or isinstance(error, dta.ResponseFormatError)  # a Decimal, or refused


@pytest.mark.parametrize("body", [b"[NaN]", b'[{"a": NaN}]', b'[{"a": -Infinity}]'])
def test_json_nan_and_infinity_are_not_json(body: bytes) -> None:
    assert isinstance(_outcome(JSONParser(), [body])[1], dta.ResponseFormatError)


@pytest.mark.parametrize(
    "body",
    [
        b'{"message": "Internal server error"}',
        b'{"error": "access denied", "status": 403}',
        b'{"errors": ["bad start_date"], "code": 400}',
    ],
)
def test_json_error_object_is_an_error_not_a_record_of_nones(body: bytes) -> None:
    rows, error = _outcome(JSONParser(), [body])
    assert rows == []
    assert isinstance(error, dta.APIStatusError)


def test_an_object_with_other_keys_is_still_one_record() -> None:
    body = b'{"message": "hi", "sid": "S1"}'
    assert _outcome(JSONParser(), [body]) == ([{"message": "hi", "sid": "S1"}], None)


@pytest.mark.parametrize("chunk_size", [1 << 12, 1 << 16])
def test_json_huge_string_is_refused_at_the_limit_in_bounded_memory(chunk_size: int) -> None:
    body = b'[{"a": 1}, {"a": "' + b"x" * (8 << 20) + b'"}]'
    limit = dta.BodyLimits().max_field_bytes
    (rows, error), peak = _peak(lambda: _outcome(JSONParser(), _pieces(body, chunk_size)))
    assert rows == [{"a": 1}]
    assert isinstance(error, dta.ResponseFormatError)
    assert "max_field_bytes" in str(error)
    assert peak < 4 * limit


def test_json_record_over_the_limit_is_refused_however_it_arrives() -> None:
    body = b'[{"a": "' + b"x" * 70_000 + b'"}]'
    for size in (1 << 10, 1 << 16, len(body)):
        rows, error = _outcome(JSONParser(limits=SMALL), _pieces(body, size))
        assert rows == []
        assert isinstance(error, dta.ResponseFormatError)
        assert "max_field_bytes (65536)" in str(error)


def test_json_records_with_nested_braces_in_strings_and_values() -> None:
    body = b'[{"a": "}{]["}, {"b": {"c": [1, {"d": "}"}]}}, {"e": "x"}]'
    expected = fx.parse_all(JSONParser(), [body])
    assert len(expected) == 3
    for size in range(1, len(body)):
        assert fx.parse_all(JSONParser(), _pieces(body, size)) == expected


# --- CSV ----------------------------------------------------------------------------------


def test_csv_newlines_inside_an_open_quote_are_refused_at_the_limit_in_linear_work() -> None:
    # Searching back for the record's end from every line break made this 1 MB feed
    # take 7 s and a 4 MB one 102 s; the limit makes it end typed, in bounded memory.
    body = b'"a","b"\n"x","' + b"\n" * (6 << 20)
    (rows, error), peak = _peak(lambda: _outcome(CSVParser(), _pieces(body, 1 << 20)))
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)
    assert "max_field_bytes" in str(error)
    assert peak < 4 * dta.BodyLimits().max_field_bytes


def test_csv_many_newlines_in_quotes_within_the_limit_are_one_field() -> None:
    body = b'"a","b"\n"x","' + b"\r\n" * 100_000 + b'"\n'
    for size in (1 << 10, 1 << 16, len(body)):
        assert fx.parse_all(CSVParser(), _pieces(body, size)) == [{"a": "x", "b": "\r\n" * 100_000}]


def test_csv_field_of_100_mb_without_delimiter_is_refused_in_bounded_memory() -> None:
    def run() -> tuple[list[Any], Any]:
        parser = CSVParser()
        rows = parser.feed(b'"a","b"\n"x","')
        piece = b"y" * (1 << 20)
        try:
            for _ in range(100):
                rows += parser.feed(piece)
        except dta.ResponseFormatError as exc:
            return rows, exc
        return rows, None

    (_rows, error), peak = _peak(run)
    assert isinstance(error, dta.ResponseFormatError)
    assert "max_field_bytes" in str(error)
    assert peak < 4 * dta.BodyLimits().max_field_bytes


def test_csv_record_limit_is_configurable() -> None:
    body = b'"a"\n"' + b"x" * 70_000 + b'"\n'
    _rows, error = _outcome(CSVParser(limits=SMALL), _pieces(body, 1 << 12))
    assert isinstance(error, dta.ResponseFormatError)
    assert "max_field_bytes (65536)" in str(error)
    assert _outcome(CSVParser(), [body])[1] is None


def test_csv_header_of_100_000_columns_is_read_in_bounded_memory() -> None:
    names = [f"c{i}" for i in range(100_000)]
    body = (",".join(names) + "\n" + ",".join("v" for _ in names) + "\n").encode()
    (rows, error), peak = _peak(lambda: _outcome(CSVParser(), _pieces(body, 1 << 16)))
    assert error is None
    assert len(rows) == 1
    assert len(rows[0]) == 100_000
    assert peak < 64 << 20


# --- XML ----------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1 << 16, 1 << 30])
def test_xml_nested_100_000_deep_is_refused_in_bounded_memory(chunk_size: int) -> None:
    body = b"<data>" + b"<a>" * 100_000
    (rows, error), peak = _peak(lambda: _outcome(XMLParser(), _pieces(body, chunk_size)))
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)
    assert "max_depth (64)" in str(error)
    assert peak < 4 * len(body) + (1 << 20)


def test_xml_depth_limit_is_configurable() -> None:
    body = b"<data><record><f>" + b"<a>" * 40 + b"</a>" * 40 + b"</f></record></data>"
    assert _outcome(XMLParser(), [body]) == ([{"f": ""}], None)
    _rows, error = _outcome(XMLParser(limits=SMALL), [body])
    assert "max_depth (32)" in str(error)


@pytest.mark.parametrize(
    "body",
    [
        b"<data><record><a>" + b"x" * (5 << 20) + b"</a></record></data>",  # a text node
        b"<data><record><a>" + b"x&amp;" * (3 << 20) + b"</a></record></data>",  # references
        b"<data><!--" + b"x" * (5 << 20) + b"--></data>",  # a comment
        b'<data><record a="' + b"x" * (5 << 20) + b'"/></data>',  # an attribute
    ],
    ids=["text", "references", "comment", "attribute"],
)
def test_xml_huge_text_comment_or_attribute_is_refused_in_bounded_memory(body: bytes) -> None:
    # `text += data` made a 64 MB text node in 64 KB chunks take 17-20 s.
    limit = dta.BodyLimits().max_field_bytes
    (rows, error), peak = _peak(lambda: _outcome(XMLParser(), _pieces(body, 1 << 16)))
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)
    assert "max_field_bytes" in str(error)
    assert peak < 6 * limit


def test_xml_long_text_within_the_limit_is_joined_whatever_the_chunks() -> None:
    body = b"<data><record><a>" + b"xy" * 500_000 + b"</a></record></data>"
    for size in (1 << 10, 1 << 16, len(body)):
        assert fx.parse_all(XMLParser(), _pieces(body, size)) == [{"a": "xy" * 500_000}]


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body/></html>",
        b"<data><row><a>1</a></row></data>",
        b"<response><items><record><a>1</a></record></items></response>",
    ],
)
def test_xml_that_is_not_a_report_is_an_error_not_an_empty_report(body: bytes) -> None:
    _rows, error = _outcome(XMLParser(root_tag="data"), [body])
    assert isinstance(error, dta.ResponseFormatError)
    if b"<record>" not in body:  # without root_tag: refused at the end
        assert isinstance(_outcome(XMLParser(), [body])[1], dta.ResponseFormatError)


def test_xml_root_tag_accepts_the_report_and_its_empty_form() -> None:
    body = b"<data><record><a>1</a></record></data>"
    assert _outcome(XMLParser(root_tag="data"), [body]) == ([{"a": "1"}], None)
    assert _outcome(XMLParser(root_tag="data"), [b"<data/>"]) == ([], None)


@pytest.mark.parametrize("charset", ["utf-8-sig", "UTF-8-SIG", "utf_8_sig"])
def test_csv_charset_utf_8_sig_is_read_with_or_without_its_mark(charset: str) -> None:
    body = '"Name"\n"Zoë"\n'.encode()
    for data in (body, b"\xef\xbb\xbf" + body):
        for size in (1, len(data)):
            rows = fx.parse_all(CSVParser(encoding=charset), _pieces(data, size))
            assert rows == [{"Name": "Zoë"}]


@pytest.mark.parametrize("size", [1 << 10, 1 << 16])
def test_xml_long_markup_within_the_limit_is_read_whatever_the_chunks(size: int) -> None:
    # Chunks wait while long markup is open (expat would scan it again at each): the
    # records around it still come, the same, and the last ones at close.
    body = (
        b"<data><record><a>1</a></record><!--"
        + b"x" * (1 << 20)
        + b'--><record b="'
        + b"y" * (300 << 10)
        + b'"><a>2</a></record></data>'
    )
    assert fx.parse_all(XMLParser(), _pieces(body, size)) == [{"a": "1"}, {"a": "2"}]


@pytest.mark.parametrize("size", [7, 1 << 16, 1 << 30])
def test_csv_floods_of_blank_lines_are_skipped_and_offsets_kept(size: int) -> None:
    flood = b"\r\n" * 300_000
    body = b'"a","b"\n' + flood + b'"1","2"\n' + flood + b'"3"\n'
    rows, error = _outcome(CSVParser(), _pieces(body, size))
    assert rows == [{"a": "1", "b": "2"}]
    assert isinstance(error, dta.ResponseFormatError)
    assert error.byte_offset == body.index(b'"3"')

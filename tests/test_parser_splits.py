"""The parsers' invariant: the same bytes split anywhere give exactly the same rows.

Chunks may end anywhere: inside a quoted field, a tag, a JSON string, a line break pair,
a UTF-8 byte order mark or between the bytes of one UTF-8 character.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import _fixtures as fx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dialogtech_async as dta
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser

ParserFactory = Callable[[], Any]


def _json_rows(body: bytes) -> list[dict[str, Any]]:
    """The rows of a JSON array, by the standard library (the reference)."""
    value = json.loads(body, parse_float=Decimal)
    assert isinstance(value, list)
    return value


class _ByValues:
    """A CSVParser read through ``feed_values``/``close_values``, keyed here by its header."""

    def __init__(self) -> None:
        self._parser = CSVParser()

    def feed(self, data: bytes) -> list[dict[str, str]]:
        return self._keyed(self._parser.feed_values(data))

    def close(self) -> list[dict[str, str]]:
        return self._keyed(self._parser.close_values())

    def _keyed(self, rows: list[list[str]]) -> list[dict[str, str]]:
        return [dict(zip(self._parser.fieldnames or (), row, strict=True)) for row in rows]


def _with_values_twins(
    cases: dict[str, tuple[ParserFactory, bytes, list[dict[str, Any]]]],
) -> dict[str, tuple[ParserFactory, bytes, list[dict[str, Any]]]]:
    """``cases`` plus each CSV case read by values: every check below holds for both."""
    twins = {
        f"{name} by values": (_ByValues, body, rows)
        for name, (factory, body, rows) in cases.items()
        if factory is CSVParser
    }
    return {**cases, **twins}


# name -> (parser factory, body, expected rows)
CASES: dict[str, tuple[ParserFactory, bytes, list[dict[str, Any]]]] = {
    "csv spec": (CSVParser, fx.read("clickto_report.csv"), fx.CSV_ROWS),
    "csv unicode": (
        CSVParser,
        fx.read("clickto_report_unicode.csv"),
        [*fx.CSV_ROWS, fx.UNICODE_CSV_EXTRA_ROW],
    ),
    "csv bom unicode": (
        CSVParser,
        b"\xef\xbb\xbf" + fx.read("clickto_report_unicode.csv"),
        [*fx.CSV_ROWS, fx.UNICODE_CSV_EXTRA_ROW],
    ),
    "xml spec": (XMLParser, fx.read("clickto_report.xml"), fx.XML_ROWS),
    "xml latin1": (
        XMLParser,
        fx.read("clickto_report_latin1.xml"),
        [*fx.XML_ROWS, fx.LATIN1_XML_EXTRA_ROW],
    ),
    "json leadflow": (
        JSONParser,
        fx.read("leadflow_history.json"),
        _json_rows(fx.read("leadflow_history.json")),
    ),
    "json active call": (
        JSONParser,
        fx.read("infinity_active_call_advanced.json"),
        _json_rows(fx.read("infinity_active_call_advanced.json")),
    ),
}
CASES = _with_values_twins(CASES)

# Small bodies, cut at every pair of positions.
SMALL_CASES: dict[str, tuple[ParserFactory, bytes, list[dict[str, Any]]]] = {
    "csv": (
        CSVParser,
        b'\xef\xbb\xbf"Name","Note"\r\n"Zo\xc3\xab \xc3\x91and\xc3\xba","a,""b""\r\nc"\r\n'
        b'"\xf0\x9f\x93\x9e",""\n\r\nx,y',
        [
            {"Name": "Zoë Ñandú", "Note": 'a,"b"\r\nc'},
            {"Name": "📞", "Note": ""},
            {"Name": "x", "Note": "y"},
        ],
    ),
    "xml": (
        XMLParser,
        b"<?xml version='1.0' encoding='iso-8859-1'?>\n"
        b"<data><record><Name>Caf\xe9</Name><Ref>&lt;&amp;&#233;</Ref><Page/></record>"
        b"<record><Name>Zo\xeb</Name></record></data>",
        [{"Name": "Café", "Ref": "<&é", "Page": ""}, {"Name": "Zoë"}],
    ),
    "xml utf8": (
        XMLParser,
        "<data><record><n>Zoë Ñandú 📞</n></record><record><n>x</n></record></data>".encode(),
        [{"n": "Zoë Ñandú 📞"}, {"n": "x"}],
    ),
    "json": (
        JSONParser,
        '{"response": [{"n": "Zoë Ñandú 📞", "p": 1.50},\n {"n": "\\u00e9", "q": null}]}'.encode(),
        [{"n": "Zoë Ñandú 📞", "p": Decimal("1.50")}, {"n": "é", "q": None}],
    ),
    "json object": (
        JSONParser,
        '{"igrp": 1, "pt_tag": "Ñ📞", "triggerDatetime": "2024-07-01 14:07:09"}'.encode(),
        [{"igrp": 1, "pt_tag": "Ñ📞", "triggerDatetime": "2024-07-01 14:07:09"}],
    ),
    "json empty": (functools.partial(JSONParser, empty_marker=True), b"\n]\n", []),
}
SMALL_CASES = _with_values_twins(SMALL_CASES)


def test_fixture_bodies_have_multibyte_characters() -> None:
    # The exhaustive cuts below go between the bytes of these characters.
    assert "📞".encode() in CASES["csv unicode"][1]
    assert "Ñandú".encode() in CASES["csv unicode"][1]
    assert "Café".encode("iso-8859-1") in CASES["xml latin1"][1]
    assert "Ñandú 📞".encode() in CASES["json leadflow"][1]


@pytest.mark.parametrize("name", list(CASES))
def test_unsplit(name: str) -> None:
    factory, body, expected = CASES[name]
    assert fx.parse_all(factory(), [body]) == expected


@pytest.mark.parametrize("name", list(CASES))
def test_every_single_split_point(name: str) -> None:
    factory, body, expected = CASES[name]
    for cut in range(len(body) + 1):
        assert fx.parse_all(factory(), [body[:cut], body[cut:]]) == expected, cut


@pytest.mark.parametrize("name", list(CASES))
def test_one_byte_at_a_time(name: str) -> None:
    factory, body, expected = CASES[name]
    assert fx.parse_all(factory(), [body[i : i + 1] for i in range(len(body))]) == expected


@pytest.mark.parametrize("name", list(CASES))
def test_empty_chunks_anywhere_change_nothing(name: str) -> None:
    factory, body, expected = CASES[name]
    middle = len(body) // 2
    chunks = [b"", body[:middle], b"", b"", body[middle:], b""]
    assert fx.parse_all(factory(), chunks) == expected


def test_every_pair_of_split_points_spec_csv() -> None:
    body = fx.read("clickto_report.csv")
    for first in range(len(body) + 1):
        for second in range(first, len(body) + 1):
            chunks = [body[:first], body[first:second], body[second:]]
            assert fx.parse_all(CSVParser(), chunks) == fx.CSV_ROWS, (first, second)


@pytest.mark.parametrize("name", list(SMALL_CASES))
def test_every_pair_of_split_points_small_bodies(name: str) -> None:
    factory, body, expected = SMALL_CASES[name]
    assert fx.parse_all(factory(), [body]) == expected
    for first in range(len(body) + 1):
        for second in range(first, len(body) + 1):
            chunks = [body[:first], body[first:second], body[second:]]
            assert fx.parse_all(factory(), chunks) == expected, (first, second)


# --- malformed bodies: the same rows first, then the same error --------------------------

MALFORMED: dict[str, tuple[ParserFactory, bytes, list[dict[str, Any]]]] = {
    "csv field count": (
        CSVParser,
        b'"a","b"\r\n"\xc3\xa9","1"\r\n"2","3","4"\r\n"5","6"\r\n',
        [{"a": "é", "b": "1"}],
    ),
    "csv quoting": (CSVParser, b'a,b\n1,2\n"3"x,4\n5,6\n', [{"a": "1", "b": "2"}]),
    "csv unterminated": (CSVParser, b'a,b\n1,2\n"3,4\n5,6\n', [{"a": "1", "b": "2"}]),
    "csv bad utf8": (CSVParser, b"a,b\n1,2\n3,\xff\n5,6\n", [{"a": "1", "b": "2"}]),
    "xml mismatched": (
        XMLParser,
        b"<data><record><a>\xc3\xa9</a></record><record><a>2</b></record></data>",
        [{"a": "é"}],
    ),
    "xml truncated": (XMLParser, b"<data><record><a>1</a></record><record><a>2", [{"a": "1"}]),
    "json malformed": (JSONParser, b'[{"a": "\xc3\xa9"}, {"a" 2}, {"a": 3}]', [{"a": "é"}]),
    "json non-object": (JSONParser, b'[{"a": 1}, 2, {"a": 3}]', [{"a": 1}]),
    "json truncated": (JSONParser, b'[{"a": 1}, {"a": 2', [{"a": 1}]),
}
MALFORMED = _with_values_twins(MALFORMED)


def _error_facts(error: Exception, name: str) -> tuple[Any, ...]:
    assert isinstance(error, dta.ResponseFormatError), error
    # A JSON error's byte offset is where the chunk that revealed it started.
    offset = None if name.startswith("json") else error.byte_offset
    return type(error), error.record_index, offset


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_bodies_split_anywhere(name: str) -> None:
    factory, body, expected = MALFORMED[name]
    rows, error = fx.parse_until_error(factory(), [body])
    assert rows == expected
    facts = _error_facts(error, name)
    assert facts[1] == len(expected)
    for cut in range(len(body) + 1):
        rows, error = fx.parse_until_error(factory(), [body[:cut], body[cut:]])
        assert (rows, _error_facts(error, name)) == (expected, facts), cut
    rows, error = fx.parse_until_error(factory(), [body[i : i + 1] for i in range(len(body))])
    assert (rows, _error_facts(error, name)) == (expected, facts)


# --- random documents, random splits -------------------------------------------------------

_SPECIALS = ['"', ",", "\r", "\n", "\t", "<", ">", "&", "'", "]", "é", "Ñ", "ü", "📞", "€", " "]
_CSV_TEXT = st.text(
    st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        st.sampled_from(_SPECIALS),
    ),
    max_size=12,
)
# XML 1.0 characters only (no C0 controls but tab, CR and LF; no U+FFFE, U+FFFF).
_XML_TEXT = st.text(
    st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        st.sampled_from(_SPECIALS),
    ),
    max_size=12,
)
_XML_TAG = st.sampled_from(["Caller_ID", "Name", "Click_Date_Time", "a", "Zoë", "x-1", "n.2"])
_JSON_VALUE = st.one_of(
    _CSV_TEXT,
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False),
)


def _cuts(data: st.DataObject, body: bytes) -> list[bytes]:
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=8), label="cuts")
    return fx.chunks_at(body, cuts)


_SETTINGS = settings(max_examples=150, deadline=None, database=None)


@_SETTINGS
@given(
    header=st.lists(_CSV_TEXT, min_size=1, max_size=4, unique=True),
    rows=st.lists(st.lists(_CSV_TEXT, min_size=4, max_size=4), max_size=6),
    newline=st.sampled_from(["\r\n", "\n"]),
    final_newline=st.booleans(),
    bom=st.booleans(),
    data=st.data(),
)
def test_random_csv_split_anywhere(
    header: list[str],
    rows: list[list[str]],
    newline: str,
    final_newline: bool,
    bom: bool,
    data: st.DataObject,
) -> None:
    values = [row[: len(header)] for row in rows]
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=newline).writerows([header, *values])
    text = out.getvalue() if final_newline else out.getvalue().removesuffix(newline)
    body = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    expected = [dict(zip(header, row, strict=True)) for row in values]
    chunks = _cuts(data, body)
    assert fx.parse_all(CSVParser(), chunks) == expected
    assert fx.parse_all(_ByValues(), chunks) == expected


def _xml_escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")  # a literal CR would be read as a line break


@_SETTINGS
@given(
    records=st.lists(st.dictionaries(_XML_TAG, _XML_TEXT, max_size=4), max_size=5),
    encoding=st.sampled_from(["utf-8", "iso-8859-1"]),
    indent=st.sampled_from(["", "\n  ", "\r\n\t"]),
    data=st.data(),
)
def test_random_xml_split_anywhere(
    records: list[dict[str, str]], encoding: str, indent: str, data: st.DataObject
) -> None:
    parts = [f"<?xml version='1.0' encoding='{encoding}'?>", "<data>"]
    for record in records:
        fields = "".join(
            f"{indent}<{tag}>{_xml_escape(value)}</{tag}>" for tag, value in record.items()
        )
        parts.append(f"{indent}<record>{fields}{indent}</record>")
    parts.append(f"{indent}</data>")
    body = "".join(parts).encode(encoding, "xmlcharrefreplace")
    assert fx.parse_all(XMLParser(), _cuts(data, body)) == records


@_SETTINGS
@given(
    records=st.lists(st.dictionaries(_CSV_TEXT, _JSON_VALUE, max_size=4), max_size=5),
    wrapper=st.sampled_from([None, "response", "data"]),
    ensure_ascii=st.booleans(),
    separator=st.sampled_from([",", ", ", ",\n  ", "\r\n,"]),
    data=st.data(),
)
def test_random_json_split_anywhere(
    records: list[dict[str, Any]],
    wrapper: str | None,
    ensure_ascii: bool,
    separator: str,
    data: st.DataObject,
) -> None:
    def literal(value: Any) -> str:
        if isinstance(value, Decimal):
            return str(value)
        return json.dumps(value, ensure_ascii=ensure_ascii)

    objects = [
        "{" + separator.join(f"{literal(k)}: {literal(v)}" for k, v in record.items()) + "}"
        for record in records
    ]
    array = "[" + separator.join(objects) + "]"
    text = array if wrapper is None else f'{{"{wrapper}": {array}}}'
    body = text.encode()
    assert json.loads(body, parse_float=Decimal) == (
        records if wrapper is None else {wrapper: records}
    )
    rows = fx.parse_all(JSONParser(), _cuts(data, body))
    assert rows == records
    for row, record in zip(rows, records, strict=True):
        for key, value in record.items():
            assert type(row[key]) is type(value), key

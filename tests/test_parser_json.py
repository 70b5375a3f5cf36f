"""JSONParser: LeadFlow history and Infinity jsonarray bodies, in-band error strings."""

from __future__ import annotations

import json
import sys
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import _fixtures as fx
import pytest

import dialogtech_async as dta
from dialogtech_async.parsers import JSONParser


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


# --- shapes -----------------------------------------------------------------------------


def test_top_level_array() -> None:
    body = b'[{"a": 1, "b": "x"}, {"a": 2, "b": null, "c": [1, {"d": true}]}]'
    assert fx.parse_all(JSONParser(), [body]) == [
        {"a": 1, "b": "x"},
        {"a": 2, "b": None, "c": [1, {"d": True}]},
    ]


def test_records_come_as_soon_as_they_close() -> None:
    parser = JSONParser()
    assert parser.feed(b'[{"a": 1}, {"a"') == [{"a": 1}]
    assert parser.feed(b": 2}") == [{"a": 2}]
    assert parser.feed(b"]") == []
    assert parser.close() == []


def test_response_wrapper_object() -> None:
    body = b'{"response": [{"sid": "A"}, {"sid": "B"}]}'
    assert fx.parse_all(JSONParser(), [body]) == [{"sid": "A"}, {"sid": "B"}]


def test_wrapper_key_split_across_feeds() -> None:
    chunks = [b" {", b' "resp', b'onse"', b" ", b":", b"\n ", b'[{"sid": "A"}', b"]}"]
    assert fx.parse_all(JSONParser(), chunks) == [{"sid": "A"}]


def test_empty_wrapper_gives_no_rows() -> None:
    assert fx.parse_all(JSONParser(), [b'{"response": []}']) == []


def test_top_level_object_is_one_record() -> None:
    body = b'{"igrp": 123, "dgrp": 4567, "txr": "T9", "nested": {"x": [1]}}'
    assert fx.parse_all(JSONParser(), [body]) == [
        {"igrp": 123, "dgrp": 4567, "txr": "T9", "nested": {"x": [1]}}
    ]


def test_top_level_object_fed_byte_by_byte() -> None:
    body = b'{"igrp": 123, "txr": "T9"}'
    rows = fx.parse_all(JSONParser(), [body[i : i + 1] for i in range(len(body))])
    assert rows == [{"igrp": 123, "txr": "T9"}]


def test_empty_top_level_object_holds_no_records() -> None:
    assert fx.parse_all(JSONParser(), [b"{ }"]) == []


@pytest.mark.parametrize(
    "chunks",
    [[b"\n]\n"], [b"\n", b"]", b"\n"], [b"]"], [b"  \r\n] "]],
    ids=["whole", "pieces", "bare", "whitespace"],
)
def test_infinity_empty_result(chunks: list[bytes]) -> None:
    assert fx.parse_all(JSONParser(empty_marker=True), chunks) == []


@pytest.mark.parametrize("body", [b"]", b"\n]\n", b"[\x0c]", b'[{"a":\x0c1}]', b"[\x0b]"])
def test_a_lone_closer_and_whitespace_json_does_not_have_are_refused(body: bytes) -> None:
    rows, error = fx.parse_until_error(JSONParser(), [body])
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)


def test_empty_array() -> None:
    assert fx.parse_all(JSONParser(), [b"[]"]) == []


def test_anything_after_the_empty_result_marker_is_malformed() -> None:
    rows, error = fx.parse_until_error(JSONParser(empty_marker=True), [b"\n]\n", b'{"a": 1}'])
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)


def test_leading_whitespace_and_utf8_bom() -> None:
    body = b'\xef\xbb\xbf \n[{"name": "Zo\xc3\xab"}, {"n": 1.5}]'
    expected = [{"name": "Zoë"}, {"n": Decimal("1.5")}]
    assert fx.parse_all(JSONParser(), [body]) == expected
    for cut in range(1, 6):  # the mark itself cut between chunks, too
        assert fx.parse_all(JSONParser(), fx.chunks_at(body, [cut])) == expected
    assert fx.parse_all(JSONParser(empty_marker=True), [b"\xef\xbb\xbf\n]\n"]) == []
    assert fx.parse_all(JSONParser(empty_marker=True), [b"\xef", b"\xbb", b"\xbf]"]) == []


def test_prefix_option() -> None:
    body = b'{"meta": {"count": 2}, "data": {"rows": [{"a": 1}, {"a": 2}]}}'
    assert fx.parse_all(JSONParser(prefix="data.rows.item"), [body]) == [{"a": 1}, {"a": 2}]
    # Without the prefix the body is one record, the whole object.
    assert fx.parse_all(JSONParser(), [body]) == [json.loads(body)]


def test_prefix_option_on_a_top_level_array() -> None:
    body = b'[{"a": 1}, {"a": 2}]'
    assert fx.parse_all(JSONParser(prefix="item"), [body]) == [{"a": 1}, {"a": 2}]


# --- numbers --------------------------------------------------------------------------


def test_numbers_with_fractions_are_decimal() -> None:
    body = b'[{"price": 12.50, "margin": -0.05, "big": 1e3, "n": 7, "neg": -3}]'
    [row] = fx.parse_all(JSONParser(), [body])
    assert row["price"] == Decimal("12.50")
    assert str(row["price"]) == "12.50"  # the digits sent, not 12.5 of a float
    assert isinstance(row["margin"], Decimal)
    assert row["margin"] == Decimal("-0.05")
    assert row["big"] == 1000
    assert row["n"] == 7
    assert type(row["n"]) is int
    assert row["neg"] == -3
    assert not any(isinstance(value, float) for value in _walk(row))


def test_leadflow_fixture() -> None:
    rows = fx.parse_all(JSONParser(), [fx.read("leadflow_history.json")])
    assert len(rows) == 5
    assert all(list(row) == list(fx.LEADFLOW_KEYS) for row in rows)
    assert rows[0]["offer_price"] == Decimal("12.50")
    assert rows[0]["talk_minutes"] == Decimal("2.3")
    assert rows[0]["first_name"] == "Zoë"
    assert rows[0]["last_name"] == "Ñandú 📞"
    assert rows[0]["street_address"] == '1 Main St, Apt "B"'
    assert rows[1]["advertiser"] is None
    assert not any(isinstance(value, float) for row in rows for value in _walk(row))


# --- in-band error strings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        (b'"auth required"', dta.AuthenticationError),
        (b'"access denied"', dta.PermissionDeniedError),
        (b'"startDate: invalid date format"', dta.BadRequestError),
        (b'\n"limit must be at most 10000"\n', dta.BadRequestError),
    ],
)
def test_top_level_string_is_an_api_error(body: bytes, error_type: type[Exception]) -> None:
    rows, error = fx.parse_until_error(JSONParser(), [body])
    assert rows == []
    assert type(error) is error_type
    assert isinstance(error, dta.APIStatusError)
    assert error.message == json.loads(body)


def test_top_level_string_split_across_feeds() -> None:
    chunks = [b'"au', b"th req", b'uired"']
    rows, error = fx.parse_until_error(JSONParser(), chunks)
    assert rows == []
    assert isinstance(error, dta.AuthenticationError)


def test_api_error_string_with_escapes() -> None:
    body = b'"access denied: \\"piiData\\" \\u00e9"'
    rows, error = fx.parse_until_error(JSONParser(), [body])
    assert rows == []
    assert isinstance(error, dta.PermissionDeniedError)
    assert error.message == 'access denied: "piiData" é'


# --- malformed bodies -----------------------------------------------------------------


def test_truncated_json_fails_at_close() -> None:
    parser = JSONParser()
    assert parser.feed(b'[{"a": 1}, {"a": 2}, {"a": ') == [{"a": 1}, {"a": 2}]
    with pytest.raises(dta.ResponseFormatError) as info:
        parser.close()
    assert info.value.record_index == 2


def test_truncated_after_last_record_fails_at_close() -> None:
    parser = JSONParser()
    assert parser.feed(b'[{"a": 1}') == [{"a": 1}]
    with pytest.raises(dta.ResponseFormatError):
        parser.close()


def test_truncated_top_level_object_fails_at_close() -> None:
    parser = JSONParser()
    assert parser.feed(b'{"igrp": 1, "txr": "T') == []
    with pytest.raises(dta.ResponseFormatError):
        parser.close()


def test_truncated_error_string_fails_at_close() -> None:
    rows, error = fx.parse_until_error(JSONParser(), [b'"auth req'])
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)


def test_malformed_json_after_good_records() -> None:
    parser = JSONParser()
    assert parser.feed(b'[{"a": 1}, {"a" 2}]') == [{"a": 1}]
    with pytest.raises(dta.ResponseFormatError, match="malformed JSON") as info:
        parser.close()
    assert info.value.record_index == 1
    assert info.value.byte_offset is not None


@pytest.mark.parametrize(
    "body",
    [b"[{'a': 1}]", b'[{"a": 1,}]', b'[{"a": tru}]', b"[1 2]", b'[{"a": 1}] [{"a": 2}]'],
)
def test_malformed_json(body: bytes) -> None:
    rows, error = fx.parse_until_error(JSONParser(), [body])
    assert isinstance(error, dta.ResponseFormatError)
    assert rows in ([], [{"a": 1}])


@pytest.mark.parametrize("body", [b"42", b"null", b"true", b"<html>", b"   x"])
def test_unexpected_top_level_value(body: bytes) -> None:
    rows, error = fx.parse_until_error(JSONParser(), [body])
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)


def test_empty_body_is_malformed() -> None:
    rows, error = fx.parse_until_error(JSONParser(), [b"", b" \n"])
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)


@pytest.mark.parametrize("element", [b"1", b'"x"', b"null", b"[1]", b"true"])
def test_non_object_element_is_malformed(element: bytes) -> None:
    parser = JSONParser()
    # The records before the bad element come first, however the body was split.
    assert parser.feed(b'[{"a": 1}, ' + element + b', {"a": 3}]') == [{"a": 1}]
    with pytest.raises(dta.ResponseFormatError, match="not an object") as info:
        parser.close()
    assert info.value.record_index == 1


def test_non_object_first_element_raises_at_once() -> None:
    parser = JSONParser()
    with pytest.raises(dta.ResponseFormatError) as info:
        parser.feed(b'[7, {"a": 1}]')
    assert info.value.record_index == 0


def test_error_is_raised_again_by_every_later_call() -> None:
    parser = JSONParser()
    with pytest.raises(dta.ResponseFormatError) as first:
        parser.feed(b"[{x")
    with pytest.raises(dta.ResponseFormatError) as second:
        parser.feed(b'"a": 1}]')
    with pytest.raises(dta.ResponseFormatError) as third:
        parser.close()
    assert first.value is second.value is third.value


def test_feed_after_close_is_refused() -> None:
    parser = JSONParser()
    parser.feed(b"[]")
    parser.close()
    with pytest.raises(RuntimeError):
        parser.feed(b"[]")


# --- memory -----------------------------------------------------------------------------

_BIG_RECORD = (
    b'{"call_date": "2017-01-13 22:52:07", "set_name": "Home Services", '
    b'"first_name": "Zo\xc3\xab", "offer_price": 12.50, "talk_seconds": 138, '
    b'"lead_status": "Connected", "recording_link": "https://example.com/r?' + b"x" * 800 + b'"},\n'
)


def _big_body(blocks: int, records_per_block: int, chunk_size: int) -> Iterator[bytes]:
    block = _BIG_RECORD * records_per_block
    yield b"[\n"
    for _ in range(blocks):
        for start in range(0, len(block), chunk_size):
            yield block[start : start + chunk_size]
    yield b'{"sid": "last"}]'


def test_memory_stays_bounded_while_feeding_a_large_body() -> None:
    blocks, per_block = 100, 100  # 10,000 records, about 10 MB
    assert blocks * per_block * len(_BIG_RECORD) > 9_000_000
    parser = JSONParser()
    count = 0
    tracemalloc.start()
    try:
        for chunk in _big_body(blocks, per_block, 64 * 1024):
            count += len(parser.feed(chunk))
        last = parser.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count + len(last) == blocks * per_block + 1
    assert peak < 3 * 1024 * 1024


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_first_chunk_larger_than_the_sniff_limit_is_read_whole(wrapped: bool) -> None:
    # A gzip-encoded response decompresses into chunks far larger than any socket read.
    records = b",".join([_BIG_RECORD.rstrip(b",\n")] * 200)
    body = b'{"response": [' + records + b"]}" if wrapped else b"[" + records + b"]"
    assert len(body) > 1 << 17
    parser = JSONParser()
    rows = parser.feed(body) + parser.close()
    assert len(rows) == 200
    assert rows[0] == json.loads(_BIG_RECORD.rstrip(b",\n"), parse_float=Decimal)


@pytest.mark.parametrize(
    ("body", "chunk_size"),
    [
        (b"{" + b" " * 5000, 512),  # the first key never arrives
        (b'"' + b"x" * 5000, 512),  # an "error message" without end
        (b'"' + b"x" * 5000, 1 << 20),  # the same in one chunk
        (b'[{"a": "' + b"x" * 5000, 512),  # a string without end
    ],
)
def test_an_undecided_start_is_bounded_by_max_field_bytes(body: bytes, chunk_size: int) -> None:
    chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    parser = JSONParser(limits=dta.BodyLimits(max_field_bytes=4096))
    rows, error = fx.parse_until_error(parser, [*chunks, b"more"])
    assert rows == []
    assert isinstance(error, dta.ResponseFormatError)
    assert "max_field_bytes (4096)" in str(error)


_PAD = b" " * (1 << 17)


@pytest.mark.parametrize(
    "body",
    [_PAD + b'[{"a": 1}]', b"{" + _PAD + b'"response": [{"a": 1}]}', b'[{"a": 1}' + _PAD + b"]"],
)
def test_whitespace_between_tokens_is_read_whatever_the_chunks(body: bytes) -> None:
    outcomes = [_outcome(body, size) for size in (1 << 12, 1 << 16, len(body))]
    assert outcomes == [([{"a": 1}], None)] * 3


_LIMIT = sys.get_int_max_str_digits()


def test_a_number_too_long_for_int_is_refused_not_a_crash() -> None:
    body = b'[{"a": ' + b"9" * (_LIMIT + 1) + b"}]"
    with pytest.raises(dta.ResponseFormatError, match="bad number"):
        JSONParser().feed(body)


@pytest.mark.parametrize("chunk_size", [1, 7, 1000, _LIMIT // 2, _LIMIT + 3, 1 << 16])
def test_records_before_a_number_too_long_come_first(chunk_size: int) -> None:
    good = b'{"n": ' + b"1" * _LIMIT + b"}, "  # as long as int() takes: fine
    body = b"[" + good * 3 + b'{"n": -' + b"7" * (_LIMIT + 1) + b"}]"
    rows, error = _outcome(body, chunk_size)
    assert rows == [{"n": int("1" * _LIMIT)}] * 3
    assert error is not None
    assert error.startswith("malformed JSON: bad number")
    assert error.endswith(f"at record 3, byte {len(b'[' + good * 3)}")


def test_a_string_of_many_digits_is_text_like_any_other() -> None:
    body = b'[{"s": "' + b"5" * (_LIMIT + 1) + b'"}]'
    assert _outcome(body, 1 << 16) == ([{"s": "5" * (_LIMIT + 1)}], None)


@pytest.mark.parametrize("chunk_size", [1 << 20, 1 << 12, 64])
def test_a_malformed_bodys_error_names_where_the_parser_stopped(chunk_size: int) -> None:
    records = b", ".join(b'{"id": %d}' % i for i in range(3000))
    body = b"[" + records + b', {"id" 3000}]'
    stopped = body.index(b'" 3000}') + len(b'" ')  # where ':' was expected
    rows, error = _outcome(body, chunk_size)
    assert len(rows) == 3000
    assert error is not None
    assert int(error.rsplit("byte ", 1)[1]) == stopped


def _outcome(body: bytes, chunk_size: int) -> tuple[list[Any], str | None]:
    """The rows delivered, and the error raised after them (if any)."""
    parser, rows = JSONParser(), []
    try:
        for start in range(0, len(body), chunk_size):
            rows += parser.feed(body[start : start + chunk_size])
        rows += parser.close()
    except dta.ResponseFormatError as exc:
        return rows, f"{exc} at record {exc.record_index}, byte {exc.byte_offset}"
    return rows, None


@pytest.mark.parametrize("element", [b"0.0", b"12", b"-1e5"])
def test_a_number_cut_at_a_chunk_end_is_judged_whole(element: bytes) -> None:
    body = b'{"": [' + element + b"]}"
    whole = _outcome(body, len(body))
    assert whole[1] is not None
    assert "not an object" in whole[1]
    for size in range(1, len(body)):
        assert _outcome(body, size) == whole


@pytest.mark.parametrize("chunk", [1, 7, 100, 4096])
def test_byte_offset_after_non_ascii_records_at_any_chunking(chunk: int) -> None:
    # The offset of what is held is counted from the bytes decoded, not by encoding the
    # records parsed: both faults must still name the byte they are at.
    record = b'{"name": "Zo\xc3\xab \xe2\x82\xac", "n": 1}'
    good = b"[" + b", ".join([record] * 40) + b"]"
    for fault, at in ((b"\x01", len(good) - 30), (b"\xff", len(good) - 50)):
        bad = good[:at] + fault + good[at + 1 :]
        pieces = [bad[start : start + chunk] for start in range(0, len(bad), chunk)]
        with pytest.raises(dta.ResponseFormatError) as caught:
            fx.parse_all(JSONParser(), pieces)
        assert caught.value.byte_offset == at

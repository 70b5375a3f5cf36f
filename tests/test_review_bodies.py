"""Review: hostile bodies end in a typed error, the records before the fault delivered once."""

from __future__ import annotations

import json

import hypothesis
import pytest
from hypothesis import strategies as st

import dialogtech_async as dta
from dialogtech_async.parsers import JSONParser


@pytest.mark.parametrize("escape", [b"\\ud800", b"\\uDFFF", b"x\\udc00y"])
@pytest.mark.parametrize("nested", [False, True])
def test_a_lone_surrogate_in_json_is_a_format_error_after_the_records_before(
    escape: bytes, nested: bool
) -> None:
    # JSON's grammar allows it; UTF-8 cannot hold it, so no file or Arrow column could.
    value = b'{"in": ["%s"]}' % escape if nested else b'"%s"' % escape
    body = b'[{"a": "ok", "b": "\\ud83d\\ude00"}, {"a": %s}, {"a": "after"}]' % value
    parser = JSONParser()
    rows = parser.feed(body)
    assert rows == [{"a": "ok", "b": "\N{GRINNING FACE}"}]  # a pair is one character
    with pytest.raises(dta.ResponseFormatError, match="lone surrogate") as caught:
        parser.close()
    assert caught.value.record_index == 1


def test_a_lone_surrogate_in_a_key_is_a_format_error() -> None:
    parser = JSONParser()
    with pytest.raises(dta.ResponseFormatError, match="lone surrogate"):
        parser.feed(b'[{"\\ud800": 1}]') + parser.close()


def test_a_lone_surrogate_fed_byte_by_byte_is_still_found() -> None:
    # The parser looks for surrogate escapes in the bytes it is fed, across chunk edges.
    body = b'[{"a": "ok"}, {"a": "x\\ud800y"}]'
    parser = JSONParser()

    def feed_byte_by_byte() -> list[dict[str, str]]:
        rows = []
        for byte in body:
            rows += parser.feed(bytes([byte]))
        return rows

    with pytest.raises(dta.ResponseFormatError, match="lone surrogate") as caught:
        feed_byte_by_byte()
    assert caught.value.record_index == 1


def test_escaped_surrogate_pairs_and_escaped_backslashes_are_text() -> None:
    body = b'[{"a": "\\ud83d\\ude00", "b": "\\\\ud800", "c": "\\u00eb"}]'
    parser = JSONParser()
    rows = parser.feed(body) + parser.close()
    assert rows == [{"a": "\N{GRINNING FACE}", "b": "\\ud800", "c": "\u00eb"}]


_PIECES = ["\\ud83d", "\\ude00", "\\uD83D", "\\uDE00", "\\udbff", "\\\\", "\\n", "\\u00eb"]
_PIECES += ["\\\\ud83d", "\\\\ude00", "u", "d83d", "ude00", "x", "\\"]


@hypothesis.settings(max_examples=2000, deadline=None)
@hypothesis.given(st.lists(st.sampled_from(_PIECES), max_size=8))
@hypothesis.example(["\\\\ud83d", "\\ude00"])  # text "\\ud83d", then a lone low escape
def test_a_lone_surrogate_is_refused_exactly_when_the_text_holds_one(pieces: list[str]) -> None:
    # The parser looks at the records only where its regex says one may be: never
    # missing one (an escaped backslash before "ud83d" makes text, not an escape).
    body = b'[{"a": "' + "".join(pieces).encode() + b'"}]'
    try:
        (expected,) = json.loads(body)
    except json.JSONDecodeError:
        hypothesis.assume(False)
    lone = any("\ud800" <= char <= "\udfff" for char in expected["a"])
    parser = JSONParser()
    if lone:
        with pytest.raises(dta.ResponseFormatError, match="lone surrogate"):
            parser.feed(body) + parser.close()
    else:
        assert parser.feed(body) + parser.close() == [expected]

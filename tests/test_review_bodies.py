"""Review: hostile bodies end in a typed error, the records before the fault delivered once."""

from __future__ import annotations

import pytest

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

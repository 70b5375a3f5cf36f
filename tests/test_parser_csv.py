"""CSVParser: the Click-to Report CSV (RFC 4180, header row gives the keys)."""

from __future__ import annotations

from collections.abc import Iterator

import _fixtures as fx
import pytest

import dialogtech_async as dta
from dialogtech_async._parsers import DEFAULT_LIMITS
from dialogtech_async.parsers import CSVParser

#: The longest record held while waiting for its end, by default.
MAX_RECORD = DEFAULT_LIMITS.max_field_bytes

# --- the spec's example ----------------------------------------------------------------


def test_spec_example_gives_both_records_keyed_by_header() -> None:
    body = fx.read("clickto_report.csv")
    assert not body.endswith(b"\n")  # as the spec shows it: no line break after the last row
    parser = CSVParser()
    rows = fx.parse_all(parser, [body])
    assert rows == fx.CSV_ROWS
    assert list(rows[0]) == list(fx.CSV_HEADER)
    assert parser.fieldnames == list(fx.CSV_HEADER)


def test_last_row_without_line_break_comes_from_close() -> None:
    body = fx.read("clickto_report.csv")
    parser = CSVParser()
    # Until the body ends, the last row may still grow: only the first is complete.
    assert parser.feed(body) == [fx.CSV_ROWS[0]]
    assert parser.close() == [fx.CSV_ROWS[1]]
    assert parser.close() == []


def test_design_doc_example() -> None:
    parser = CSVParser()
    assert parser.feed(b'"Caller ID","Name"\n"312","A') == []
    assert parser.feed(b'na"') == []
    assert parser.close() == [{"Caller ID": "312", "Name": "Ana"}]


def test_header_row_gives_the_keys_in_order() -> None:
    rows = fx.parse_all(CSVParser(), [b"z,a,m\n1,2,3\n"])
    assert rows == [{"z": "1", "a": "2", "m": "3"}]
    assert list(rows[0]) == ["z", "a", "m"]


# --- RFC 4180 ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", [1, 2, 13, 256, 257, 5000])
def test_rows_of_any_width_become_dicts_like_dict_zip(width: int) -> None:
    header = [f"col {i}" for i in range(width)]
    rows = [[f"r{r}c{i}" for i in range(width)] for r in range(3)]
    body = "\n".join(",".join(line) for line in [header, *rows]).encode()
    parser = CSVParser()
    expected = [dict(zip(header, row, strict=True)) for row in rows]
    assert parser.feed(body) + parser.close() == expected


def test_a_repeated_header_name_keeps_its_last_value() -> None:
    parser = CSVParser()
    [row] = parser.feed(b"a,b,a\n1,2,3\n")
    assert row == {"a": "3", "b": "2"}
    assert list(row) == ["a", "b"]


def test_fieldnames_is_a_copy() -> None:
    parser = CSVParser()
    assert parser.feed(b"a,b\n1,2\n") == [{"a": "1", "b": "2"}]
    names = parser.fieldnames
    assert names == ["a", "b"]
    names[0] = "changed"
    assert parser.feed(b"3,4\n") == [{"a": "3", "b": "4"}]
    assert parser.fieldnames == ["a", "b"]


def test_header_names_that_look_like_code_come_out_verbatim() -> None:
    names = ['"}; import os; {"', "k0", "\\", "lambda: 1", "{v0}"]
    header = ",".join('"' + name.replace('"', '""') + '"' for name in names)
    parser = CSVParser()
    rows = parser.feed(header.encode() + b"\n1,2,3,4,5\n")
    assert rows == [dict(zip(names, "12345", strict=True))]


def test_cr_only_line_ends_give_rows_as_they_come() -> None:
    body = b'"a","b"\r"1","2"\r"3","4\r5"\r"6","7"'  # a CR inside quotes is data
    expected = [{"a": "1", "b": "2"}, {"a": "3", "b": "4\r5"}, {"a": "6", "b": "7"}]
    parser = CSVParser()
    assert parser.feed(body[:20]) == expected[:1]  # not held until close()
    assert parser.feed(body[20:]) + parser.close() == expected[1:]
    for cut in range(1, len(body)):
        assert fx.parse_all(CSVParser(), fx.chunks_at(body, [cut])) == expected


def test_crlf_cut_between_cr_and_lf() -> None:
    body = b'"a","b"\r\n"1","2"\r\n"3","4"\r\n'
    for cut in range(1, len(body)):
        rows = fx.parse_all(CSVParser(), fx.chunks_at(body, [cut]))
        assert rows == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}], cut


def test_a_quote_left_open_is_refused_once_the_record_passes_the_limit() -> None:
    # Otherwise the rest of the body would be held, and searched again at every chunk.
    row = b'"1","2"\n'
    body = b'"a","b"\n' + row * 3 + b'"5" inch","x"\n' + row * (MAX_RECORD // len(row))
    fed: list[int] = []

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1 << 16):
            fed.append(start)
            yield body[start : start + (1 << 16)]

    rows, error = fx.parse_until_error(CSVParser(), chunks())
    assert rows == [{"a": "1", "b": "2"}] * 3
    assert isinstance(error, dta.ResponseFormatError)
    assert "longer than" in str(error)
    assert error.record_index == 3
    assert error.byte_offset == len(b'"a","b"\n' + row * 3)
    assert fed[-1] <= MAX_RECORD + (1 << 17)  # refused on its way, not at the end


def test_rfc4180_quoting() -> None:
    body = (
        b'"name","note","empty","plain"\r\n'
        b'"Smith, John","He said ""hi""","",unquoted\r\n'
        b'"a\r\nb","c\nd","e\rf",""""\r\n'
        b",,,\r\n"
    )
    assert fx.parse_all(CSVParser(), [body]) == [
        {"name": "Smith, John", "note": 'He said "hi"', "empty": "", "plain": "unquoted"},
        {"name": "a\r\nb", "note": "c\nd", "empty": "e\rf", "plain": '"'},
        {"name": "", "note": "", "empty": "", "plain": ""},
    ]


def test_quoted_line_break_is_not_a_record_end_even_fed_alone() -> None:
    parser = CSVParser()
    assert parser.feed(b'"k","v"\n"1","first line\n') == []
    assert parser.feed(b'second line"\n') == [{"k": "1", "v": "first line\nsecond line"}]
    assert parser.close() == []


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_crlf_and_lf_line_ends(newline: bytes) -> None:
    body = newline.join([b'"a","b"', b'"1","2"', b'"3","4"', b""])
    assert fx.parse_all(CSVParser(), [body]) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_mixed_line_ends() -> None:
    body = b"a,b\r\n1,2\n3,4\r\n5,6"
    assert fx.parse_all(CSVParser(), [body]) == [
        {"a": "1", "b": "2"},
        {"a": "3", "b": "4"},
        {"a": "5", "b": "6"},
    ]


# --- BOM and encodings --------------------------------------------------------------------


def test_utf8_bom_is_skipped() -> None:
    body = b"\xef\xbb\xbf" + fx.read("clickto_report.csv")
    parser = CSVParser()
    rows = fx.parse_all(parser, [body])
    assert rows == fx.CSV_ROWS
    assert parser.fieldnames is not None
    assert parser.fieldnames[0] == "Caller ID"  # not "\ufeffCaller ID"


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_utf8_bom_split_across_feeds(cut: int) -> None:
    body = b"\xef\xbb\xbf" + b'"Caller ID","Name"\n"312","Zo\xc3\xab"\n'
    parser = CSVParser()
    rows = parser.feed(body[:cut])
    rows += parser.feed(body[cut:])
    rows += parser.close()
    assert rows == [{"Caller ID": "312", "Name": "Zoë"}]


def test_utf8_bom_fed_one_byte_at_a_time() -> None:
    body = b"\xef\xbb\xbfk\n\xc3\xa9"
    rows = fx.parse_all(CSVParser(), [body[i : i + 1] for i in range(len(body))])
    assert rows == [{"k": "é"}]


def test_bom_only_and_empty_bodies_give_no_rows() -> None:
    assert fx.parse_all(CSVParser(), [b"\xef\xbb\xbf"]) == []
    assert fx.parse_all(CSVParser(), [b""]) == []
    assert fx.parse_all(CSVParser(), []) == []


def test_header_only_gives_no_rows() -> None:
    parser = CSVParser()
    assert fx.parse_all(parser, [b'"a","b"\r\n']) == []
    assert parser.fieldnames == ["a", "b"]


def test_utf8_is_the_default_encoding() -> None:
    rows = fx.parse_all(CSVParser(), ["name\nZoë Ñandú 📞\n".encode()])
    assert rows == [{"name": "Zoë Ñandú 📞"}]


def test_iso_8859_1_encoding() -> None:
    body = "Name,City\nCafé,Zürich\n".encode("iso-8859-1")
    assert b"\xe9" in body
    rows = fx.parse_all(CSVParser(encoding="iso-8859-1"), [body])
    assert rows == [{"Name": "Café", "City": "Zürich"}]


def test_iso_8859_1_bytes_are_not_utf8() -> None:
    # The same bytes read as UTF-8 are invalid: the encoding= option is what makes them work.
    body = "Name\nCafé\n".encode("iso-8859-1")
    with pytest.raises(dta.ResponseFormatError):
        fx.parse_all(CSVParser(), [body])


@pytest.mark.parametrize(
    "encoding",
    ["utf-16", "utf-16-le", "utf-32", "cp500", "iso-2022-jp", "iso2022_kr", "utf-7", "hz"],
)
def test_non_ascii_compatible_encoding_is_refused(encoding: str) -> None:
    with pytest.raises(ValueError, match="ASCII-compatible"):
        CSVParser(encoding=encoding)


def test_a_multi_byte_encoding_whose_other_bytes_are_high_is_read() -> None:
    # Shift_JIS's second bytes are 0x40 and up: never a quote, comma or line break.
    body = 'Name,City\n"あい","東京"\n'.encode("shift_jis")
    for cut in range(len(body) + 1):
        rows = fx.parse_all(CSVParser(encoding="shift_jis"), [body[:cut], body[cut:]])
        assert rows == [{"Name": "あい", "City": "東京"}], cut


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(LookupError):
        CSVParser(encoding="no-such-codec")


def test_invalid_utf8_is_a_format_error_after_the_good_rows() -> None:
    body = b"k\n1\n2\n\xff3\n4\n"
    parser = CSVParser()
    # The two rows before the bad bytes come first, as if each had been fed alone.
    assert parser.feed(body) == [{"k": "1"}, {"k": "2"}]
    with pytest.raises(dta.ResponseFormatError) as info:
        parser.close()
    assert info.value.record_index == 2
    assert info.value.byte_offset == len(b"k\n1\n2\n")


# --- malformed bodies -----------------------------------------------------------------


def test_row_with_more_fields_is_reported_exactly() -> None:
    header = b'"a","b"\r\n'
    good = b'"1","2"\r\n"3","4"\r\n'
    bad = b'"5","6","7"\r\n'
    parser = CSVParser()
    rows = parser.feed(header + good + bad + b'"8","9"\r\n')
    # The rows before the bad one are handed over first ...
    assert rows == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    # ... and the error comes on the next call.
    with pytest.raises(dta.ResponseFormatError) as info:
        parser.close()
    error = info.value
    assert error.record_index == 2  # 0-based index of the bad data row
    assert error.byte_offset == len(header + good)  # where the bad row starts
    assert "3 fields" in str(error)
    assert "header has 2" in str(error)
    assert "record 2" in str(error)
    assert f"byte offset {len(header + good)}" in str(error)


def test_short_last_row_without_line_break() -> None:
    parser = CSVParser()
    assert parser.feed(b"a,b,c\n1,2,3\n4,5") == [{"a": "1", "b": "2", "c": "3"}]
    with pytest.raises(dta.ResponseFormatError, match="2 fields") as info:
        parser.close()
    assert info.value.record_index == 1
    assert info.value.byte_offset == len(b"a,b,c\n1,2,3\n")


def test_byte_offset_counts_bytes_not_characters_and_includes_the_bom() -> None:
    body = b"\xef\xbb\xbf" + "a,b\né,ñ\n1,2,3\n".encode()
    rows, error = fx.parse_until_error(CSVParser(), [body])
    assert rows == [{"a": "é", "b": "ñ"}]
    assert isinstance(error, dta.ResponseFormatError)
    assert error.record_index == 1
    # 3 (BOM) + 4 ("a,b\n") + 6 ("é,ñ\n": two 2-byte letters) = 13
    assert error.byte_offset == 13


def test_bad_row_in_a_later_feed_has_body_offsets() -> None:
    parser = CSVParser()
    assert parser.feed(b"a,b\n1,2\n") == [{"a": "1", "b": "2"}]
    assert parser.feed(b"3,4\n") == [{"a": "3", "b": "4"}]
    # No good row before the fault in this call: it raises at once.
    with pytest.raises(dta.ResponseFormatError) as info:
        parser.feed(b"5\n6,7\n")
    assert info.value.record_index == 2
    assert info.value.byte_offset == 12


def test_error_is_raised_again_by_every_later_call() -> None:
    parser = CSVParser()
    assert parser.feed(b"a,b\n1,2\n1,2,3\n") == [{"a": "1", "b": "2"}]
    with pytest.raises(dta.ResponseFormatError) as first:
        parser.feed(b"4,5\n")
    with pytest.raises(dta.ResponseFormatError) as second:
        parser.feed(b"6,7\n")
    with pytest.raises(dta.ResponseFormatError) as third:
        parser.close()
    assert first.value is second.value is third.value


def test_no_rows_after_a_fault_that_raised_at_once() -> None:
    parser = CSVParser()
    with pytest.raises(dta.ResponseFormatError):
        parser.feed(b"a,b\n1,2,3\n")
    # The rows after the bad one are never delivered.
    with pytest.raises(dta.ResponseFormatError):
        parser.feed(b"4,5\n")


def test_unterminated_quote_at_close() -> None:
    parser = CSVParser()
    assert parser.feed(b'"a","b"\n"1","2"\n"3","never closed\n4,5\n') == [{"a": "1", "b": "2"}]
    with pytest.raises(dta.ResponseFormatError, match="quoted field") as info:
        parser.close()
    assert info.value.record_index == 1
    assert info.value.byte_offset == len(b'"a","b"\n"1","2"\n')


def test_bad_quoting_is_a_format_error() -> None:
    parser = CSVParser()
    assert parser.feed(b'"a","b"\n"1","2"\n"3"x,"4"\n') == [{"a": "1", "b": "2"}]
    with pytest.raises(dta.ResponseFormatError, match="quoting") as info:
        parser.close()
    assert info.value.record_index == 1
    assert info.value.byte_offset == 16


def test_blank_lines_are_skipped() -> None:
    body = b"\r\n\n" + b'"a","b"\r\n' + b"\r\n" + b'"1","2"\r\n' + b"\n\r\n\n" + b'"3","4"\n\n'
    assert fx.parse_all(CSVParser(), [body]) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_blank_lines_do_not_shift_error_positions() -> None:
    body = b"a,b\n\n1,2\n\n\n1\n"
    rows, error = fx.parse_until_error(CSVParser(), [body])
    assert rows == [{"a": "1", "b": "2"}]
    assert isinstance(error, dta.ResponseFormatError)
    assert error.record_index == 1
    assert error.byte_offset == len(b"a,b\n\n1,2\n\n\n")


def test_feed_after_close_is_refused() -> None:
    parser = CSVParser()
    parser.close()
    with pytest.raises(RuntimeError):
        parser.feed(b"a\n")


# --- memory -----------------------------------------------------------------------------


def test_parser_holds_at_most_the_incomplete_record() -> None:
    header = b'"Caller ID","Name","Note","Click Date/Time","Call Duration"\r\n'
    record = (
        '"0001112222","Zoë, ""Ñandú""","line one\r\nline two","Jan 13 2017 10:52 PM","9"\r\n'
    ).encode()
    chunk_size = 64 * 1024
    block = record * 1000  # not a multiple of the chunk size: chunks end mid-record
    blocks = 10 * 1024 * 1024 // len(block) + 1
    parser = CSVParser()
    parser.feed(header)
    count = 0
    longest_tail = 0
    for _ in range(blocks):
        for start in range(0, len(block), chunk_size):
            count += len(parser.feed(block[start : start + chunk_size]))
            longest_tail = max(longest_tail, len(parser._tail))
    count += len(parser.close())
    assert blocks * len(block) > 10 * 1024 * 1024
    assert count == blocks * 1000
    assert 0 < longest_tail < len(record) + chunk_size
    assert longest_tail < len(record)  # only the incomplete record is kept


def test_a_record_larger_than_a_chunk_is_held_only_until_it_ends() -> None:
    chunk_size = 64 * 1024
    field = b"x\r\n" * 30_000  # 90 KB, line breaks inside (csv's field limit is 128 KB)
    big = b'"' + field + b'","' + field + b'","' + field + b'"\r\n'  # one 270 KB record
    small = b'"2","y","z"\r\n'
    body = b'"a","b","c"\r\n' + big + small * 50_000
    parser = CSVParser()
    rows = []
    tails = []
    for start in range(0, len(body), chunk_size):
        rows += parser.feed(body[start : start + chunk_size])
        tails.append(len(parser._tail))
    rows += parser.close()
    text = field.decode()
    assert rows[0] == {"a": text, "b": text, "c": text}
    assert rows[1:] == [{"a": "2", "b": "y", "c": "z"}] * 50_000
    assert len(big) - chunk_size < max(tails) < len(big) + chunk_size  # it had to be held
    # Once the big record has ended, only a part of a small one is held.
    assert max(tails[len(big) // chunk_size + 1 :]) < len(small)

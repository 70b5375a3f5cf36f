"""An incremental RFC 4180 CSV parser whose header row gives the keys."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import repeat

from .._codegen import compiled
from .._exceptions import ResponseFormatError
from ._base import KeepsFaults, Row, keeping_faults
from ._limits import DEFAULT_LIMITS, BodyLimits

_BOM = codecs.BOM_UTF8
#: Python's names of the encodings that shift into other characters with ASCII bytes.
_STATEFUL = ("iso2022_", "utf-7", "hz")
_QUOTE = b'"'
# Rows wider than this get their dicts from dict(zip(...)): compiling a dict display
# takes time that grows faster than its width (0.2 s at 10,000 fields).
_MAX_GENERATED_WIDTH = 256


class CSVParser(KeepsFaults):
    """Push parser for CSV with a header row (RFC 4180).

    Quoted fields may hold commas, doubled quotes and line breaks; lines end in CRLF,
    LF or CR; a UTF-8 byte order mark is skipped; the last row needs no line break. Only
    whole records are decoded and parsed, so a chunk may end anywhere, even inside a
    multi-byte character: a record ends at a line break preceded by an even number of
    quotes. The parser keeps only the incomplete last record, up to
    ``limits.max_field_bytes`` (4 MiB): a longer one is a quote left open. Each byte
    is looked at a bounded number of times, however the body is split.

    That rule is RFC 4180's: a quote may only open a field or be doubled inside a quoted
    one. A body breaking it (``a,b"`` with a bare quote in an unquoted field, which the API,
    quoting every field, never sends) gives rows or an error that may depend on where its
    chunks split.

    Args:
        encoding: the body's character set (an ASCII-compatible one, as HTTP charsets are).
        limits: ``max_field_bytes`` bounds one record.

    Raises:
        ResponseFormatError: a row whose field count differs from the header's, bad
            quoting, undecodable bytes, a record over ``max_field_bytes``, or an
            unterminated quote at ``close()``.
    """

    def __init__(self, *, encoding: str = "utf-8", limits: BodyLimits = DEFAULT_LIMITS) -> None:
        codec = codecs.lookup(encoding)
        if codec.name == "utf-8-sig":  # UTF-8 whose mark is skipped, as it is for utf-8
            codec = codecs.lookup("utf-8")
        # Splitting on the bytes of line breaks and '"' is only sound when they mean the
        # same characters in the encoding, which is true of every ASCII-compatible one.
        # The 7-bit stateful encodings write ASCII as ASCII, but their other characters
        # with ASCII bytes too ('"' among them): not compatible.
        if '\r\n",'.encode(codec.name) != b'\r\n",' or codec.name.startswith(_STATEFUL):
            raise ValueError(f"CSVParser needs an ASCII-compatible encoding, not {encoding!r}")
        self._encoding = codec.name
        self._strip_bom = codec.name == "utf-8"
        self._max_record = limits.max_field_bytes
        # The csv module's own bound on one field (128 KiB by default) is process-wide:
        # raised to ours, never lowered, so a field within our limit is read.
        if csv.field_size_limit() < limits.max_field_bytes:
            csv.field_size_limit(limits.max_field_bytes)
        self._tail = bytearray()  # the record begun, not yet ended
        self._tail_quotes = 0  # the quotes in it: never counted again
        self._tail_offset = 0  # byte offset in the body where ``_tail`` starts
        self._fieldnames: list[str] | None = None
        self._to_dicts: Callable[[list[list[str]]], list[Row]] | None = None
        self._records = 0
        self._closed = False
        self._take_records: Callable[[bytes], int | None] | None = None

    def take_records_with(self, take: Callable[[bytes], int | None]) -> None:
        """Offer each run of whole records after the header to ``take`` first.

        ``take`` gets their bytes and returns how many records it read, which this
        parser then counts and returns as that many empty lists; or None to leave them
        to this parser, which reads them (and says what is wrong with them) as usual.
        For a reader in C that is exact on the bodies it accepts (Arrow's).
        """
        self._take_records = take

    @property
    def encoding(self) -> str:
        """The codec's name the body is decoded with."""
        return self._encoding

    @property
    def fieldnames(self) -> list[str] | None:
        """The header row's names, once it has been read (a copy)."""
        return None if self._fieldnames is None else list(self._fieldnames)

    @keeping_faults
    def feed(self, data: bytes) -> list[Row]:
        """Consume a chunk of the body; return the records it completed."""
        return self._dicts(self._feed(data))

    @keeping_faults
    def close(self) -> list[Row]:
        """Mark the end of the body; return the last record (it needs no line break)."""
        return self._dicts(self._close())

    @keeping_faults
    def feed_values(self, data: bytes) -> list[list[str]]:
        """Like ``feed``, but each record is the list of its values in ``fieldnames`` order.

        Use either ``feed`` and ``close`` or ``feed_values`` and ``close_values`` on one
        parser. No dict is built per record: about 0.6 of the cost of ``feed``.
        """
        return self._feed(data)

    @keeping_faults
    def close_values(self) -> list[list[str]]:
        """Like ``close``, but each record is the list of its values (see ``feed_values``)."""
        return self._close()

    def _dicts(self, rows: list[list[str]]) -> list[Row]:
        if not rows:
            return []
        if self._to_dicts is None:
            assert self._fieldnames is not None  # rows come after the header
            names = self._fieldnames
            self._to_dicts = (
                _dict_builder(len(names))(*names)
                if len(names) <= _MAX_GENERATED_WIDTH
                else lambda rows: list(map(dict, map(zip, repeat(names), rows)))
            )
        return self._to_dicts(rows)

    def _feed(self, data: bytes) -> list[list[str]]:
        if self._closed:
            raise RuntimeError("feed() after close()")
        if self._strip_bom and self._tail_offset == 0 and len(self._tail) < len(_BOM):
            data = bytes(self._tail) + data  # still at the body's start: a BOM or not
            self._tail.clear()
            self._tail_quotes = 0
            if len(data) < len(_BOM) and _BOM.startswith(data):
                self._tail += data  # not yet known whether this is a BOM
                return []
            if data.startswith(_BOM):
                data = data[len(_BOM) :]
                self._tail_offset = len(_BOM)
        end = _last_record_end(data, self._tail_quotes)
        if end < 0:
            self._tail += data
            self._tail_quotes += data.count(_QUOTE)
            if len(self._tail) > self._max_record:
                raise ResponseFormatError(
                    f"CSV record longer than max_field_bytes ({self._max_record})"
                    " (a quote left open?)",
                    record_index=self._records,
                    byte_offset=self._tail_offset,
                )
            return []
        records = bytes(self._tail) + data[:end] if self._tail else data[:end]
        self._tail[:] = data[end:]
        self._tail_quotes = self._tail.count(_QUOTE)
        # Blank lines carry no record, and the csv module costs some 0.3 us a line: a
        # flood of line breaks between records (64 MiB of them in a 65 KB gzip body)
        # is skipped in C. Records start here, so these are outside any quote.
        whole = len(records)
        records = records.lstrip(b"\r\n")
        offset = self._tail_offset + whole - len(records)
        self._tail_offset += whole
        return self._parse(records, offset) if records else []

    def _close(self) -> list[list[str]]:
        if self._closed:
            return []
        self._closed = True
        buf = bytes(self._tail)
        self._tail.clear()
        if self._strip_bom and self._tail_offset == 0 and buf.startswith(_BOM):
            buf = buf[len(_BOM) :]
            self._tail_offset = len(_BOM)
        if buf.count(_QUOTE) % 2:
            unterminated = ResponseFormatError(
                "CSV body ends inside a quoted field",
                record_index=self._records,
                byte_offset=self._tail_offset,
            )
            self._keep_fault(unterminated, rows_before=False)
        return self._parse(buf, self._tail_offset) if buf else []

    def _parse(self, chunk: bytes, offset: int) -> list[list[str]]:
        """Parse whole records ``chunk`` found at ``offset`` in the body."""
        if (
            self._take_records is not None
            and self._fieldnames is not None
            and len(chunk) <= self._max_record  # no field over the csv module's limit
        ):
            taken = self._take_records(chunk)
            if taken is not None:
                return self._records_of([[]] * taken)
        try:
            text = chunk.decode(self._encoding)
        except UnicodeDecodeError as exc:
            # The whole records before the bad bytes come first, as if fed one by one.
            end = _last_record_end(chunk[: exc.start], 0)
            before = self._parse(chunk[:end], offset) if end > 0 else []
            if self._fault is None:  # else a bad row before the bad bytes came first
                undecodable = ResponseFormatError(
                    f"CSV body is not valid {self._encoding}: {exc.reason}",
                    record_index=self._records,
                    byte_offset=offset + exc.start,
                )
                self._keep_fault(undecodable, rows_before=bool(before))
            return before
        header_in_text = self._fieldnames is None
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        except csv.Error:
            return self._rows_before_fault(text, offset)
        if header_in_text:
            rows = [row for row in rows if row]
            if not rows:
                return []
            self._fieldnames = rows.pop(0)
        width = len(self._fieldnames or ())
        widths = set(map(len, rows))
        if widths != {width}:
            if not rows:
                return []
            if widths - {width, 0}:
                if header_in_text:
                    self._fieldnames = None  # it is read again with the rows
                return self._rows_before_fault(text, offset)
            rows = [row for row in rows if row]  # blank lines carry no record
        return self._records_of(rows)

    def _records_of(self, rows: list[list[str]]) -> list[list[str]]:
        self._records += len(rows)
        return rows

    def _rows_before_fault(self, text: str, offset: int) -> list[list[str]]:
        """Parse ``text`` again up to its first bad row (the error path only).

        Returns the records before the bad row, keeping the error for the next call;
        raises it at once when there are none.
        """
        starts: list[int] = []
        reader = csv.reader(_lines_noting_starts(text, starts), strict=True)
        good: list[list[str]] = []
        while True:
            first_line = len(starts)
            try:
                row = next(reader)
            except csv.Error as exc:
                message = f"bad CSV quoting: {exc}"
                break
            if not row:
                continue
            if self._fieldnames is None:
                self._fieldnames = row
            elif len(row) != len(self._fieldnames):
                message = f"CSV row has {len(row)} fields, the header has {len(self._fieldnames)}"
                break
            else:
                good.append(row)
        char_offset = starts[first_line] if first_line < len(starts) else len(text)
        error = ResponseFormatError(
            message,
            record_index=self._records + len(good),
            byte_offset=offset + len(text[:char_offset].encode(self._encoding)),
        )
        self._keep_fault(error, rows_before=bool(good))
        return self._records_of(good)


@lru_cache(maxsize=64)
def _dict_builder(width: int) -> Callable[..., Callable[[list[list[str]]], list[Row]]]:
    """For rows of ``width`` values: a function of the header's names that returns one
    turning a batch of rows into dicts.

    A dict display, its keys in closure cells, over rows unpacked in a comprehension:
    half the time of ``dict(zip(names, row))`` (330 vs 600 ns a row of 13). The source
    is made of the width alone, never of text from the body. A repeated name keeps its
    last value, as with ``dict(zip(...))``.
    """
    names = ", ".join(f"k{i}" for i in range(width))
    values = ", ".join(f"v{i}" for i in range(width))
    pairs = ", ".join(f"k{i}: v{i}" for i in range(width))
    lines = [
        f"def bind({names}):",
        f"    return lambda rows: [{{{pairs}}} for ({values},) in rows]",
    ]
    return compiled(lines, {}, f"<CSV rows of {width} fields>")


def _lines_noting_starts(text: str, starts: list[int]) -> Iterator[str]:
    """Yield the lines of ``text`` as csv.reader reads them, noting where each starts."""
    position = 0
    for line in io.StringIO(text, newline=""):
        starts.append(position)
        position += len(line)
        yield line


def _last_record_end(data: bytes, quotes_before: int) -> int:
    """Return the length of the longest prefix of ``data`` that ends a record, or -1
    when no record ends in it; ``quotes_before`` quotes came before ``data`` in the
    record it continues.

    A line break (LF, or a CR: old Mac files) ends a record when the quotes before it are
    balanced (RFC 4180 section 2: quotes inside a field are doubled, so they never
    unbalance the count). A CR of a CRLF taken for the end leaves the LF to the next
    records, where it reads as a blank line.

    The last few line breaks are tried from the end (a chunk of records ends in one);
    past them, one regular expression reads the whole records from the start, in C: a
    chunk of line breaks inside an open quote costs no Python step per line break.
    """
    quotes = quotes_before + data.count(_QUOTE)  # quotes before ``end``
    end = len(data)
    lf, cr = data.rfind(b"\n"), data.rfind(b"\r")
    for _ in range(_QUICK_TRIES):
        newline = max(lf, cr)
        if newline < 0:
            return -1
        quotes -= data.count(_QUOTE, newline, end)
        if quotes % 2 == 0:
            return newline + 1
        end = newline
        if newline == lf:
            lf = data.rfind(b"\n", 0, newline)
        else:
            cr = data.rfind(b"\r", 0, newline)
    start = 0
    if quotes_before % 2:  # inside a quoted field: it closes first
        closing = _CLOSING_QUOTE.match(data)
        if closing is None:
            return -1
        start = closing.end()
    records_end = _WHOLE_RECORDS.match(data, start).end()  # type: ignore[union-attr]
    return records_end if records_end > start else -1


_QUICK_TRIES = 8
_CLOSING_QUOTE = re.compile(rb'[^"]*+"')
#: Whole records: unquoted bytes or quoted runs (line breaks allowed in them), then a
#: line break. Possessive: nothing is read twice.
_WHOLE_RECORDS = re.compile(rb'(?:(?:[^"\r\n]|"[^"]*+")*+[\r\n])*+')

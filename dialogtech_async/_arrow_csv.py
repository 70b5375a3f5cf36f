"""Whole CSV records read by Arrow's CSV reader, where it reads them as ``CSVParser`` does.

Arrow's reader and the csv module agree on RFC 4180 records, but not on a quote that
closes a field and is followed by more of it (``"a"b``): the csv module (strict) refuses
it, Arrow reads ``ab``. So the records are checked first, in C (numpy): where every quote
opens, closes or doubles inside a quoted field, quote number k of a run of whole records
opens a field or ends a doubled pair when k is even, so a comma, a line break or a quote
comes before it; it closes a field or starts a pair when k is odd, so one of those comes
after it. Records failing that (a quote inside an unquoted field too, which is fine but
rare) are left to ``CSVParser``, as is anything Arrow refuses (a row of another width,
bad UTF-8): it reads them, and says what is wrong, as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["CSVTables", "csv_tables"]

_QUOTE = ord('"')
_SEPARATORS = b',\r\n"'
_BOM = b"\xef\xbb\xbf"


class CSVTables:
    """A ``CSVParser.take_records_with`` reader: whole records of ``width`` fields into
    tables of text columns ("" read as null), kept in ``tables`` until the caller takes them."""

    def __init__(self, width: int) -> None:
        import numpy
        import pyarrow as pa
        import pyarrow.csv as csv

        self._np, self._pa = numpy, pa
        names = [f"c{i}" for i in range(width)]
        self._read = csv.read_csv
        self._options = {
            "read_options": csv.ReadOptions(column_names=names, use_threads=False),
            "parse_options": csv.ParseOptions(newlines_in_values=True),
            # "" (quoted or not) is null, as in the records; no other text is.
            "convert_options": csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        }
        separator = numpy.zeros(256, bool)
        separator[list(_SEPARATORS)] = True
        self._separator = separator
        self.tables: list[pa.Table] = []

    def __call__(self, data: bytes) -> int | None:
        """Read ``data``, whole UTF-8 records; None when ``CSVParser`` must read them."""
        # A mark at a run's start: UTF8_CP1252 drops it, as if it began the body.
        if data.startswith(_BOM) or not self._quotes_balanced_in_fields(data):
            return None
        try:
            table = self._read(self._pa.py_buffer(data), **self._options)
        except self._pa.ArrowInvalid:  # another width, bad UTF-8: the parser says where
            return None
        self.tables.append(table)
        return int(table.num_rows)

    def take(self) -> list[pa.Table]:
        """The tables read since the last call."""
        tables, self.tables = self.tables, []
        return tables

    def _quotes_balanced_in_fields(self, data: bytes) -> bool:
        """Whether every quote of ``data`` opens, closes or doubles (see the module)."""
        np = self._np
        raw = np.frombuffer(b"\n" + data + b"\n", np.uint8)
        quotes = np.flatnonzero(raw == _QUOTE)
        if not len(quotes):
            return True
        if len(quotes) % 2:
            return False
        separator = self._separator
        opening_ok = separator[raw[quotes[0::2] - 1]].all()
        return bool(opening_ok and separator[raw[quotes[1::2] + 1]].all())


def csv_tables(width: int) -> CSVTables | None:
    """A reader for records of ``width`` fields, or None without numpy, or for a single
    field (where Arrow and the csv module differ on a line holding only ``""``)."""
    if width < 2:
        return None
    try:
        return CSVTables(width)
    except ImportError:
        return None


def text_columns(tables: list[pa.Table]) -> list[Any]:
    """The text columns of ``tables``, one array each."""
    import pyarrow as pa

    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    return [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in table.columns]

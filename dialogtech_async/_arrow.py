"""Arrow record batches built column-wise from a parser's rows, without records.

The schema comes from the record type (``schema``):

- ``str`` -> ``string``; ``int`` -> ``int64``; ``bool`` -> ``bool``;
- ``Decimal`` -> ``decimal128(18, scale)`` with the scale the API writes (``DECIMAL_SCALES``:
  cents for prices, tenths for minutes). A value with more decimal places is a
  ``ResponseFormatError``: a value is never rounded;
- click-to times (no zone sent) -> ``timestamp[us]``; LeadFlow ``call_date`` ->
  ``timestamp[us, tz=America/New_York]``; Infinity ``trigger_datetime`` ->
  ``timestamp[us, tz=UTC]``; Infinity times kept as sent (``state_start_datetime``, in the
  ``tz=`` asked for) -> ``timestamp[us]``, the wall time as sent (an offset, if one was
  sent, is dropped);
- ``LeadStatus`` -> ``string`` (the API's text);
- mapping fields (``extra``, ``pass_through_tags``, ``custom_variables``) -> ``string``
  holding a JSON object (the API's keys and values as received; decimals as strings),
  null when empty. Values of any JSON type survive, which ``map<string, string>`` would not.

The values are those of the typed records. A batch of text (CSV, read by Arrow's CSV
reader when ``_arrow_csv`` can vouch for it, or rows whose values are all strings) is
converted in C: text taken as it is, integers of ASCII digits cast, click-to times
parsed when written the API's way, and every other value (dates, decimals, Y/N, odd
integers) read by the converter's own rule once per distinct value of the batch. Any
batch that path cannot be sure of (extra or gathered keys, JSON numbers, a value a rule
or Arrow refuses) goes through the converter's public ``convert``, which builds the
records and says which field of which record is wrong.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import operator
import typing
import weakref
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import msgspec

from ._arrow_csv import CSVTables, csv_tables, text_columns
from ._convert import CONVERTER, RecordConverter, snake_case
from ._exceptions import DialogTechError, ResponseFormatError
from ._legacy import UTF8_CP1252
from ._parsers import CSVParser, Parser, Row
from ._records import DateFormat, LeadStatus

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["MISSING_PYARROW", "ArrowDecoder", "BatchBuilder", "require_pyarrow", "schema"]

MISSING_PYARROW = "Arrow and Parquet output need pyarrow: pip install 'dialogtech-async[arrow]'"

#: Decimal places the APIs write, by field; other Decimal fields get ``DEFAULT_SCALE``.
DECIMAL_SCALES = {
    "offer_price": 2,  # dollars and cents
    "affiliate_price": 2,
    "margin": 2,
    "talk_minutes": 1,  # "tenths of a minute" (the LeadFlow document)
    "total_minutes": 1,
}
DEFAULT_SCALE = 6
#: Rows gathered before a batch is made, so that a slow stream's chunks completing a row
#: or two do not each make a tiny batch.
BATCH_ROWS = 256
#: Bytes gathered before the parser reads them. Each read of Arrow's CSV reader, and each
#: compute call on a column, costs some tens of microseconds whatever its size, and
#: network reads are often small: 64 KiB reached 1.2x typed iteration, 256 KiB (about
#: 1,500 click-to rows) 1.9x, its batches still well within the CPU's caches.
GATHER_BYTES = 256 * 1024
#: 18 digits fit a decimal128 in Parquet's INT64 physical type, readable everywhere.
DECIMAL_PRECISION = 18

# Times sent in a zone the request chose (``tz=``) are stored as UTC instants: a
# column's type cannot change from one request to the next.
_ZONE_NAMES = {
    DateFormat.EASTERN: "America/New_York",
    DateFormat.UTC: "UTC",
    DateFormat.AS_SENT: "UTC",
}
_MAPPING_FIELDS = frozenset(("extra", "pass_through_tags", "custom_variables"))
#: Fields read in C from text: taken as they are, or cast (integers); the rest go by the
#: converter's rule, once per distinct value.
_KINDS = {str | None: "str", LeadStatus | str | None: "str", int | None: "int"}
#: ``_convert``'s integers of text, in RE2's ASCII terms (other digits: the rule reads them).
_ASCII_INTEGER = r"^-?[0-9]+$"
#: The click-to times ``_convert`` reads, written the API's way ("Jan 13 2017 10:52 PM"):
#: other spacing, case or digits go by the rule.
_CLICK_TO_TIME = (
    r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{1,2} [1-9][0-9]{3}"
    r" (0?[1-9]|1[0-2]):[0-5][0-9] (AM|PM)$"
)
_CLICK_TO_FORMAT = "%b %d %Y %I:%M %p"
#: Key layouts whose plan a builder keeps: a bound on what varying keys can make it hold.
MAX_PLANS = 256
_json = msgspec.json.Encoder(enc_hook=lambda value: dict(value))
#: Per field of a schema: its column (None: absent), its kind (``_kind``) and its type.
_Plan = tuple[tuple[int | None, "pa.Field", str, Any], ...]
#: Each field's values (lists or tuples, one per row), by field name.
Columns = dict[str, Any]


def require_pyarrow() -> Any:
    """The pyarrow module, or an ImportError saying what to install."""
    try:
        import pyarrow
    except ImportError as exc:
        raise ImportError(MISSING_PYARROW) from exc
    return pyarrow


def _arrow_type(name: str, type_: Any) -> pa.DataType:
    pa = require_pyarrow()
    if name in _MAPPING_FIELDS:
        return pa.string()
    marker = _date_format(type_)
    if marker is not None:
        return pa.timestamp("us", tz=_ZONE_NAMES.get(marker))
    kinds = {
        str | None: pa.string(),
        LeadStatus | str | None: pa.string(),
        int | None: pa.int64(),
        bool | None: pa.bool_(),
        Decimal | None: pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALES.get(name, DEFAULT_SCALE)),
    }
    for kind, arrow in kinds.items():
        if type_ == kind:
            return arrow
    raise TypeError(f"no Arrow type for field {name!r} of type {type_!r}")


_schemas: dict[type, pa.Schema] = {}


def schema(record_type: type) -> pa.Schema:
    """The Arrow schema of ``record_type``'s batches: one column per field, in order."""
    found = _schemas.get(record_type)
    if found is None:
        pa = require_pyarrow()
        hints = typing.get_type_hints(record_type, include_extras=True)
        fields = attrs.fields(record_type)
        found = pa.schema([pa.field(f.name, _arrow_type(f.name, hints[f.name])) for f in fields])
        _schemas[record_type] = found
    return found


def _date_format(type_: Any) -> DateFormat | None:
    """The DateFormat marker of ``Annotated[datetime, DateFormat.X] | None``, if any."""
    for arg in typing.get_args(type_):
        for marker in getattr(arg, "__metadata__", ()):
            if isinstance(marker, DateFormat):
                return marker
    return None


def _kind(type_: Any) -> str:
    """How a field of ``type_`` is read from text by ``BatchBuilder._read_text``."""
    if _date_format(type_) is DateFormat.CLICK_TO:
        return "click"
    return _KINDS.get(type_, "rule")


def _json_text(values: list[Any]) -> list[str | None]:
    encode = _json.encode
    return [encode(v).decode() if v else None for v in values]


def _as_sent(values: list[Any], zone: dt.tzinfo) -> list[Any]:
    """Times as sent, made aware as the records are: a naive one in the request's zone."""
    combine = dt.datetime.combine  # replace(tzinfo=) at a fifth of the cost
    return [combine(v, v.time(), zone) if v is not None and v.tzinfo is None else v for v in values]


class BatchBuilder:
    """Makes ``pyarrow.RecordBatch``es of ``converter``'s record type from raw rows.

    Args:
        converter: the record converter whose rules give the values.
    """

    def __init__(self, converter: RecordConverter[Any]) -> None:
        self._pa = require_pyarrow()
        self._converter = converter
        self._type = converter.record_type
        self.schema = schema(self._type)
        self._names = [f.name for f in attrs.fields(self._type)]
        self._pc = importlib.import_module("pyarrow.compute")
        hints = self._hints = typing.get_type_hints(self._type, include_extras=True)
        self._as_sent = {n for n in self._names if _date_format(hints[n]) is DateFormat.AS_SENT}
        self._null_text = self._pa.scalar(None, self._pa.string())
        # Per key layout: how its text columns become arrays in C (None: they cannot).
        self._plans: dict[tuple[str, ...], _Plan | None] = {}
        self._not_text: set[tuple[str, ...]] = set()  # layouts whose columns held non-text

    def from_rows(self, rows: list[Row], first_index: int = 0) -> pa.RecordBatch:
        """The batch of ``rows`` (dicts, the API's keys); ``first_index`` is the first
        row's index in the report, for errors.

        Raises:
            ResponseFormatError: a value that cannot be read, as the converter says it.
        """
        if rows:
            keys = tuple(rows[0])
            width = len(keys)
            if keys not in self._not_text and all(len(row) == width for row in rows):
                try:
                    columns = (
                        list(zip(*map(operator.itemgetter(*keys), rows), strict=True))
                        if width > 1
                        else [[row[keys[0]] for row in rows]]
                    )
                except KeyError:  # other keys in some row
                    columns = None
                if columns is not None:
                    fast = self._text_batch(keys, columns)
                    if fast is not None:
                        return fast
        return self.batch(self.values(rows, first_index), len(rows), first_index)

    def from_columns(
        self, keys: tuple[str, ...], columns: list[tuple[str, ...]], first_index: int = 0
    ) -> pa.RecordBatch:
        """The batch of a text table given by columns (CSV), as ``convert_columns`` takes it."""
        if columns and columns[0]:
            fast = self._text_batch(keys, columns)
            if fast is not None:
                return fast
        values = self.text_values(keys, columns, first_index)
        return self.batch(values, len(columns[0]) if columns else 0, first_index)

    def from_arrow_text(
        self, keys: tuple[str, ...], columns: list[pa.Array]
    ) -> pa.RecordBatch | None:
        """The batch of a text table read by Arrow (``columns[i]`` holds ``keys[i]``'s
        values), or None when the converter must read its values (see ``_text_batch``)."""
        return self._text_batch(keys, columns) if columns and len(columns[0]) else None

    def _text_batch(self, keys: tuple[str, ...], columns: list[Any]) -> pa.RecordBatch | None:
        """The batch of columns of text in C (pyarrow compute), or None where it cannot
        be sure to give the typed records' values: a key that is not a field of its own,
        a column that is not all text, a value a rule refuses or Arrow cannot hold. The
        caller then takes the converter's way, which says which value of which record.

        Text fields are taken whole, "" made null; integers of ASCII digits are cast;
        every other value (dates, decimals, Y/N, odd integers) is read by the
        converter's own rule once per distinct value of the batch (dates and prices
        repeat), the batch's column then taken from those.
        """
        plan = self._plan(keys)
        if plan is None:
            return None
        pa = self._pa
        n = len(columns[0])
        arrays = []
        try:
            for position, field, kind, type_ in plan:
                if position is None:
                    arrays.append(pa.nulls(n, field.type))
                    continue
                column = columns[position]
                if isinstance(column, pa.Array):  # read by Arrow's CSV reader, "" as null
                    text = column
                else:
                    try:
                        text = pa.array(column, pa.string())
                    except pa.ArrowTypeError:  # JSON numbers, booleans: not a text layout
                        if len(self._not_text) >= MAX_PLANS:
                            self._not_text.clear()
                        self._not_text.add(keys)
                        return None
                    if "" in column:
                        text = self._pc.if_else(self._pc.equal(text, ""), self._null_text, text)
                arrays.append(self._read_text(text, field, kind, type_))
        except (pa.ArrowException, ValueError, TypeError, KeyError, ArithmeticError):
            return None
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _read_text(self, text: pa.Array, field: pa.Field, kind: str, type_: Any) -> pa.Array:
        """One column of text (nulls for "") as ``field``'s array (see ``_text_batch``)."""
        pc = self._pc
        if kind == "str":
            return text
        if kind == "int" and pc.all(pc.match_substring_regex(text, _ASCII_INTEGER)).as_py():
            return text.cast(field.type)
        encoded = text.dictionary_encode()
        distinct = encoded.dictionary
        values = self._click_times(distinct) if kind == "click" else None
        if values is None:
            read = CONVERTER.get_structure_hook(type_)
            values = self._pa.array([read(v, type_) for v in distinct.to_pylist()], field.type)
        return values.take(encoded.indices)

    def _click_times(self, text: pa.Array) -> pa.Array | None:
        """Click-to times written the API's way, read in C; None if any is not."""
        pc = self._pc
        if not pc.all(pc.match_substring_regex(text, _CLICK_TO_TIME)).as_py():
            return None
        try:
            times = pc.strptime(text, format=_CLICK_TO_FORMAT, unit="us")
        except self._pa.ArrowInvalid:  # "Jan 00 ...": the rule says what is wrong
            return None
        # strptime moves "Feb 30" on to March, which the rule refuses: the month written
        # back must be the one read.
        month = pc.utf8_slice_codeunits(text, 0, 3)
        if not pc.all(pc.equal(pc.strftime(times, "%b"), month)).as_py():
            return None
        return times

    def _plan(self, keys: tuple[str, ...]) -> _Plan | None:
        """Per field of the schema: its column in ``keys`` (None: absent, all null), its
        kind ("str", "int" or "rule") and its type; None when a key is not a field of its
        own (extra, prefixed, repeated keys: the converter gathers those)."""
        if keys in self._plans:
            return self._plans[keys]
        positions: dict[str, int] = {}
        plan: _Plan | None = None
        for position, key in enumerate(keys):
            name = snake_case(key)
            if name not in self._hints or name in _MAPPING_FIELDS or name in positions:
                break
            positions[name] = position
        else:
            if not self._as_sent & positions.keys():
                plan = tuple(
                    (positions.get(f.name), f, _kind(self._hints[f.name]), self._hints[f.name])
                    for f in self.schema
                )
        if len(self._plans) >= MAX_PLANS:
            self._plans.clear()
        self._plans[keys] = plan
        return plan

    def values(self, rows: list[Row], first_index: int = 0) -> Columns:
        """Each field's values (``Columns``) for ``rows``, as the typed records hold them."""
        return self._from_records(self._converter.convert(rows, first_index))

    def text_values(
        self, keys: tuple[str, ...], columns: list[tuple[str, ...]], first_index: int = 0
    ) -> Columns:
        """Each field's values for a text table given by columns (CSV)."""
        return self._from_records(self._converter.convert_columns(keys, columns, first_index))

    def _from_records(self, records: list[Any]) -> Columns:
        """The slow path's values, from records the converter built."""
        get = operator.attrgetter
        return {name: list(map(get(name), records)) for name in self._names}

    def batch(self, values: Columns, n: int, first_index: int = 0) -> pa.RecordBatch:
        """The record batch of ``n`` rows' ``values``; ``first_index``: the first row's
        index in the report.

        Raises:
            ResponseFormatError: a value that its Arrow type cannot hold exactly.
        """
        pa = self._pa
        arrays = []
        for field in self.schema:
            column = values[field.name]
            if field.name in _MAPPING_FIELDS:
                column = _json_text(column)
            elif field.name in self._as_sent:
                column = _as_sent(column, self._converter.zones.get(field.name, dt.timezone.utc))
            try:
                arrays.append(pa.array(column, field.type))
            except (pa.ArrowInvalid, OverflowError):  # OverflowError: an int over int64
                raise self._unfit(field, column, first_index) from None
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def concat(self, batches: list[pa.RecordBatch]) -> pa.RecordBatch:
        """One batch of the rows of ``batches``, in order."""
        return self._pa.Table.from_batches(batches).combine_chunks().to_batches()[0]

    def _unfit(self, field: pa.Field, column: list[Any], first_index: int) -> ResponseFormatError:
        """The error for a value its Arrow type cannot hold exactly (decimal places)."""
        pa = self._pa
        for index, value in enumerate(column):
            try:
                pa.array([value], field.type)
            except (pa.ArrowInvalid, OverflowError) as exc:
                return ResponseFormatError(
                    f"{self._type.__name__}.{field.name}: {value} does not fit the Arrow"
                    f" column's {field.type} ({exc})",
                    record_index=first_index + index,
                )
        raise AssertionError("every value fits")  # pragma: no cover


class ArrowDecoder:
    """A parser and a ``BatchBuilder`` fused: bytes in, a list of at most one
    ``RecordBatch`` out.

    After the first batch, chunks are read once ``GATHER_BYTES`` have come (or at the
    end), and a batch is made once at least ``BATCH_ROWS`` rows are complete, so chunks
    that complete a row or two (small reads, slow streams) do not each make a tiny batch.
    The rows before a fault (a malformed body, a bad value) come first, as a batch; the
    error is raised by the next call, and by every later one.
    """

    def __init__(self, parser: Parser, builder: BatchBuilder) -> None:
        self._builder = builder
        self._converted = 0  # rows whose values were read (pending or handed out)
        self._delivered = 0
        self._pending: list[pa.RecordBatch] = []
        self._fault: DialogTechError | None = None
        self._tables: CSVTables | None = None  # Arrow's reader, once the header is known
        self._gathered = bytearray()  # chunks not yet fed to the parser
        if isinstance(parser, CSVParser):
            self._parser: CSVParser | None = parser
            self._read: Callable[..., list[Any]] = parser.feed_values
            self._finish: Callable[[], list[Any]] = parser.close_values
        else:
            self._parser = None
            self._read, self._finish = parser.feed, parser.close

    def feed(self, data: bytes) -> list[pa.RecordBatch]:
        """Consume a chunk; return a batch once ``BATCH_ROWS`` rows are complete."""
        if self._fault is not None:
            raise self._fault
        self._gathered += data
        # The first batch goes out as soon as it is complete: opening a report reads to
        # its first rows, and a body broken early has delivered what came before.
        if self._delivered and len(self._gathered) < GATHER_BYTES:
            return []
        return self._step(self._read, self._flush())

    def close(self) -> list[pa.RecordBatch]:
        """End of the body: the batch of the rows left, if any."""
        if self._gathered and self._fault is None:
            before_fault = self._step(self._read, self._flush(), take=False)
            if before_fault:
                return before_fault
        return self._step(self._finish, take=True)

    def _flush(self) -> bytes:
        data = bytes(self._gathered)
        self._gathered.clear()
        return data

    def _step(
        self, read: Callable[..., list[Any]], *data: bytes, take: bool | None = None
    ) -> list[pa.RecordBatch]:
        """Read ``data``; make a batch if ``take``, or (None) once ``BATCH_ROWS`` are in."""
        if self._fault is not None:
            raise self._fault
        try:
            self._add(self._read_rows(read, *data))
        except DialogTechError as exc:
            self._fault = exc
            if self._converted == self._delivered:
                raise
            return self._take()  # the rows before the fault first
        if take is False or (take is None and self._converted - self._delivered < BATCH_ROWS):
            return []
        return self._take()

    def _read_rows(self, read: Callable[..., list[Any]], *data: bytes) -> list[Any]:
        """The parser's rows of ``data``; those Arrow's CSV reader read are made into a
        batch here, or, when its columns cannot be taken as they are, returned as rows."""
        parser = self._parser
        if parser is not None and self._tables is None and parser.fieldnames is not None:
            # UTF-8 bodies only; Arrow's reader refuses bytes that are not UTF-8, which
            # the parser then reads (UTF8_CP1252: as cp1252).
            utf8 = parser.encoding in ("utf-8", UTF8_CP1252)
            self._tables = csv_tables(len(parser.fieldnames)) if utf8 else None
            if self._tables is not None:
                parser.take_records_with(self._tables)
        try:
            rows = read(*data)
        finally:
            tables = self._tables.take() if self._tables is not None else []
        if not tables or not rows:
            return rows
        assert parser is not None
        keys = tuple(parser.fieldnames or ())
        columns = text_columns(tables)
        batch = self._builder.from_arrow_text(keys, columns)
        if batch is None:  # a value the fast path cannot take: the converter says which
            return [list(row) for row in zip(*(c.to_pylist() for c in columns), strict=True)]
        self._pending.append(batch)
        self._converted += batch.num_rows
        return []

    def _add(self, rows: list[Any]) -> None:
        """Make the batch of ``rows``; on a bad value, keep that of the rows before it."""
        if not rows:
            return
        try:
            batch = self._batch(rows)
        except ResponseFormatError as exc:
            good = None if exc.record_index is None else exc.record_index - self._converted
            if good and 0 < good < len(rows):
                self._add(rows[:good])  # raises an error of a row before, if one has one
            raise
        self._pending.append(batch)
        self._converted += batch.num_rows

    def _batch(self, rows: list[Any]) -> pa.RecordBatch:
        if self._parser is not None:
            keys = tuple(self._parser.fieldnames or ())
            columns = list(zip(*rows, strict=True))
            return self._builder.from_columns(keys, columns, self._converted)
        return self._builder.from_rows(rows, self._converted)

    def _take(self) -> list[pa.RecordBatch]:
        pending, self._pending = self._pending, []
        if not pending:
            return []
        batch = pending[0] if len(pending) == 1 else self._builder.concat(pending)
        self._delivered += batch.num_rows
        return [batch]


#: One builder per converter, so that its plans serve every report.
_builders: weakref.WeakKeyDictionary[RecordConverter[Any], BatchBuilder] = (
    weakref.WeakKeyDictionary()
)


def arrow_decoder(converter: RecordConverter[Any]) -> Callable[[Parser], ArrowDecoder]:
    """For ``Report``: turns a raw-row parser into the decoder of Arrow batches."""
    builder = _builders.get(converter)
    if builder is None:
        builder = _builders[converter] = BatchBuilder(converter)
    return functools.partial(ArrowDecoder, builder=builder)


def _rows_in(batches: list[pa.RecordBatch]) -> int:
    return sum(batch.num_rows for batch in batches)


def arrow_items(
    converter: RecordConverter[Any],
) -> tuple[Callable[[Parser], ArrowDecoder], Callable[[list[pa.RecordBatch]], int]]:
    """For a Stream's ``choose_items``: Arrow batches of ``converter``'s record type, and
    how many records a list of them holds."""
    return arrow_decoder(converter), _rows_in


def table_of(batches: list[pa.RecordBatch], record_type: type) -> pa.Table:
    """The batches of a pull as one table (with the record type's schema when empty)."""
    pa = require_pyarrow()
    return pa.Table.from_batches(batches, schema=schema(record_type))

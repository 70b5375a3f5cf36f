"""Typed records to an Arrow table with a schema fixed by the record class.

The schema comes from the class, not from the values, so every partition of a dataset has
the same columns and types (a window with no values in a column still gets the column's
type, which schema inference would make ``null``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import operator
import typing
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import attrs
import pyarrow as pa

from ._records import DateFormat

#: Prices and minutes: the API sends at most a few decimal places.
_DECIMAL = pa.decimal128(38, 9)
#: What a DateFormat marker says about the zone of the datetimes it reads.
_ZONES: dict[DateFormat, str | None] = {
    DateFormat.CLICK_TO: None,  # the legacy API's local time, sent without a zone
    DateFormat.EASTERN: "America/New_York",
    DateFormat.UTC: "UTC",
    DateFormat.AS_SENT: None,
}
_PLAIN: dict[type, pa.DataType] = {
    str: pa.string(),
    bool: pa.bool_(),
    int: pa.int64(),
    decimal.Decimal: _DECIMAL,
    dt.date: pa.date32(),
}


def _arrow_type(hint: Any) -> pa.DataType:
    """The Arrow type of one field's annotation (``X | None`` is nullable X)."""
    marker = None
    if typing.get_origin(hint) is typing.Annotated:
        hint, marker = typing.get_args(hint)[:2]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if args:  # a union: an enum of strings "or the API's text" is text
        hint = args[0] if len(args) == 1 else str
        return _arrow_type(hint)
    if hint is dt.datetime:
        return pa.timestamp("us", tz=_ZONES.get(marker) if marker else None)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return pa.string()
    if typing.get_origin(hint) is not None and issubclass(typing.get_origin(hint), Mapping):
        return pa.string()  # ``extra``: unconverted keys, kept as a JSON object
    return _PLAIN[hint]


def _is_plain(hint: Any) -> bool:
    """Whether values of this annotation go into Arrow as they are."""
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    args = typing.get_args(hint)
    if args and typing.get_origin(hint) is not None and not isinstance(hint, type):
        return all(_is_plain(a) for a in args)  # a union
    return hint in _PLAIN or hint is dt.datetime or hint is type(None)


@cache
def _needs_cell(record_type: type) -> frozenset[str]:
    """The fields whose values ``_cell`` must turn into text (enums, ``extra``)."""
    hints = typing.get_type_hints(record_type, include_extras=True)
    return frozenset(f.name for f in attrs.fields(record_type) if not _is_plain(hints[f.name]))


@cache
def record_schema(record_type: type) -> pa.Schema:
    """The Arrow schema of an attrs record class."""
    hints = typing.get_type_hints(record_type, include_extras=True)
    fields = attrs.fields(record_type)
    return pa.schema([pa.field(f.name, _arrow_type(hints[f.name])) for f in fields])


def _cell(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return json.dumps(dict(value), default=str) if value else None
    return value


def record_table(records: Sequence[Any], record_type: type) -> pa.Table:
    """``records`` (instances of ``record_type``) as a table of ``record_schema``."""
    schema = record_schema(record_type)
    rows = list(map(operator.attrgetter(*schema.names), records))
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = []
    convert = _needs_cell(record_type)
    for column, field in zip(columns, schema, strict=True):
        if field.name in convert:
            column = tuple(map(_cell, column))
        arrays.append(pa.array(column, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)

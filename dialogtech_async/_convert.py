"""Conversion rules: raw rows (API keys -> text or JSON values) to typed records.

``_KINDS`` holds every rule about values, each in the forms the paths read it by;
``configure_converter`` registers their hooks on a cattrs converter. ``RecordConverter``
maps the API's keys to fields: for each key layout (a CSV header, an XML record's tags)
it generates the functions building records, once, so a row costs one dict lookup per
field and no per-row decisions.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import itertools
import re
import string
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import attrs
import cattrs

from ._codegen import define
from ._exceptions import ResponseFormatError
from ._parsers import Row
from ._records import DateFormat, LeadStatus

__all__ = ["RecordConverter", "configure_converter", "snake_case"]

T = TypeVar("T")

EASTERN = ZoneInfo("America/New_York")
#: Key layouts compiled and kept per converter (each a few generated functions): far
#: more than one report's layouts, a bound on what varying keys can make it hold.
MAX_LAYOUTS = 256
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_YES_NO = {"Y": True, "N": False, "y": True, "n": False, True: True, False: False}
_LEAD_STATUSES = {status.value: status for status in LeadStatus}
# Where the generic snake_case rule does not give the name DESIGN.md promises.
_FIELD_ALIASES = {"click_date_time": "click_datetime"}
# Prefixed keys gathered into one mapping field (Infinity's pass-through tags and custom
# variables), the prefix removed.
_PREFIX_FIELDS = {"pt_": "pass_through_tags", "c_": "custom_variables"}
_EXTRA = "extra"
_GATHERS_OR_EXTRA = frozenset((*_PREFIX_FIELDS.values(), _EXTRA))
# Keys the structuring function reads the gathered mappings from: no API key has a NUL.
_GATHERED = "\0"


@functools.lru_cache(maxsize=1024)
def snake_case(key: str) -> str:
    """The record field name for an API key.

    ``"Click Date/Time"`` and ``"Click_Date_Time"`` -> ``"click_datetime"``,
    ``"triggerDatetime"`` -> ``"trigger_datetime"``, ``"Call 1 Result"`` -> ``"call_1_result"``.
    """
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    name = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()
    return _FIELD_ALIASES.get(name, name)


# --- readers: any value of a kind (the cattrs hooks', via ``_optional``) -------------------


@functools.lru_cache(maxsize=4096)  # rows close in time share their minute
def parse_click_to_time(text: str) -> dt.datetime:
    """Parse the legacy API's "Jan 13 2017 10:52 PM" without strptime.

    A month of reports holds some 44,000 distinct minutes but only 31 days and 1,440
    clock times: the day and the clock are parsed once each and cached apart, so a
    minute not seen lately costs two cache hits and a datetime.
    """
    try:
        day, clock, half = text.rsplit(None, 2)
        return dt.datetime(*_click_to_day(day), *_click_to_clock(clock, half))
    except (ValueError, KeyError, TypeError, AttributeError):  # AttributeError: not text
        raise ValueError(f"expected a date like 'Jan 13 2017 10:52 PM', got {text!r}") from None


@functools.lru_cache(maxsize=4096)
def _click_to_day(text: str) -> tuple[int, int, int]:
    """ "Jan 13 2017" -> (2017, 1, 13)."""
    month, day, year = text.split()
    if not (len(year) == 4 and year.isdigit() and day.isdigit() and len(day) <= 2):
        raise ValueError(text)  # not "Jan 13 17"
    return int(year), _MONTHS[month.title()], int(day)


@functools.lru_cache(maxsize=2048)  # every minute of the day, AM and PM: 1,440
def _click_to_clock(clock: str, half: str) -> tuple[int, int]:
    """ "10:52", "PM" -> (22, 52)."""
    hour, minute = clock.split(":")
    if not (hour.isdigit() and len(hour) <= 2 and minute.isdigit() and len(minute) == 2):
        raise ValueError(clock)  # not "+1:-0"
    if half.upper() not in ("AM", "PM") or not 1 <= int(hour) <= 12:
        raise ValueError(half)
    return int(hour) % 12 + (12 if half.upper() == "PM" else 0), int(minute)


@functools.lru_cache(maxsize=8192)
def _parse_iso(text: str, zone: dt.tzinfo | None) -> dt.datetime:
    """ISO-8601 (a space or T between date and time, ``Z`` for UTC), in ``zone``: a naive
    time is taken as ``zone``'s, one with an offset is the same instant in ``zone``."""
    value = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    if zone is None:
        return value
    return _COMBINE(value, value.time(), zone) if value.tzinfo is None else value.astimezone(zone)


#: Integer and decimal text as the APIs write it: digits, a sign, a point, an exponent.
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
#: Larger than any count or duration the APIs send; an int field beyond it is an error.
_INT_BOUND = Decimal(10) ** 30


def _optional(read: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    """A cattrs hook: None and "" become None, anything else goes through ``read``."""

    def hook(value: Any, _type: Any) -> Any:
        # Not `value == ""`: a Decimal compared with a str asks the numbers ABCs first
        # (about 1 us, a fifth of the LeadFlow converter's time).
        if value is None or (value.__class__ is str and not value):
            return None
        return read(value)

    return hook


def _read_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        return str(value)  # JSON numbers where text is documented (zip codes, phones)
    raise ValueError(f"expected text, got {type(value).__name__}")


def _read_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, (Decimal, float)):
        # A JSON number with a fraction or an exponent. Bounded first: int() of 1e1000000
        # builds a million-digit integer (39 s).
        number = Decimal(value)  # exact, a float's too
        if not (number.is_finite() and abs(number) < _INT_BOUND):
            raise ValueError(f"expected an integer, got {value}")
        whole = int(number)
        if whole != number:
            raise ValueError(f"expected an integer, got {value}")  # int() would truncate it
        return whole
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        raise ValueError(f"expected an integer, got {value!r}")  # not "1_000" or " 9 "
    return int(value)


def _read_decimal(value: Any) -> Decimal:
    if isinstance(value, (bool, float)):
        raise ValueError(f"expected a decimal number, got {type(value).__name__}")
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValueError(f"expected a decimal number, got {value!r}")  # not "NaN", "1_000"
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"expected a decimal number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a decimal number, got {value!r}")
    return number


class _TextMemo(dict[str, Any]):
    """Values read from non-empty text, kept by their text: prices, seconds and counts
    repeat down a report's column (the APIs may send "7.25" for 7.25), and a hit is one
    dict subscript, a third of an ``lru_cache`` call. Bounded: emptied when full, and a
    text longer than ``longest`` (a body's 4 MB run of digits) is read but not kept."""

    def __init__(self, read: Callable[[str], Any], size: int = 4096, longest: int = 40) -> None:
        super().__init__()
        self._read = read
        self._size = size
        self._longest = longest

    def __missing__(self, text: str) -> Any:
        value = self._read(text)  # raises for text that is no such value: never kept
        if len(text) <= self._longest:
            if len(self) >= self._size:
                self.clear()
            self[text] = value
        return value


def _read_bool(value: Any) -> bool:
    try:
        return _YES_NO[value]
    except (KeyError, TypeError):
        raise ValueError(f"expected Y or N, got {value!r}") from None


def _read_lead_status(value: Any) -> LeadStatus | str:
    text = _read_str(value)
    return _LEAD_STATUSES.get(text, text)  # a status the API adds later is kept, not fatal


def _read_iso(zone: dt.tzinfo | None) -> Callable[[Any], dt.datetime]:
    return lambda value: _parse_iso(_read_str(value), zone)


# --- value kinds: each reader and its generated forms, in one row -------------------------


@attrs.frozen
class _Kind:
    """One kind of field value and its three ways to be read, which must agree.

    A hook call is two Python calls a value (``_optional``, ``read``), the largest part
    of a record's cost, so the generated functions read the common values by the source
    templates ``inline`` and ``column`` and hand the rest (None and "", odd values,
    errors) to the hook. In them ``$text`` tests ``v`` for non-empty text, ``$slow`` is
    the hook's result (None and "" said inline: the APIs send many), ``$hook`` the bare
    hook call and ``$inline`` the kind's inline form. A test reads every kind every way.
    """

    #: The hook's reader of a value that is neither None nor "": JSON, XML or CSV values.
    read: Callable[[Any], Any]
    #: Source reading ``v``, one value from a row of any format.
    inline: str
    #: Source reading ``c``, a whole column of text from a CSV table (every value a str);
    #: a column without empty strings, the usual case, can be taken or mapped whole in C.
    column: str = "[$inline for v in c]"
    #: The globals the forms refer to, by name.
    names: Mapping[str, Any] = attrs.field(factory=dict)


_FROMISO = dt.datetime.fromisoformat  # one bound method for every ISO kind
#: A naive time made aware: ``combine(d, d.time(), zone)`` is ``d.replace(tzinfo=zone)``
#: (fold kept) at a fifth of the cost: ``replace`` parses its keywords twice (CPython 3.11).
_COMBINE = dt.datetime.combine


def _iso_kind(zone: dt.tzinfo | None = None, *, name: str = "") -> _Kind:
    """ISO-8601 times in ``zone`` (``_parse_iso``), named ``name`` in the source; no
    zone: as sent."""
    # Inline, not _parse_iso: its cache misses on times to the second. Not "Z", which
    # fromisoformat reads only from Python 3.11: the hook reads it.
    fresh = "$text and v[-1] != 'Z'"
    names: dict[str, Any] = {"fromiso": _FROMISO, "combine": _COMBINE}
    if zone is None:
        return _Kind(_read_iso(zone), f"fromiso(v) if {fresh} else $slow", names=names)
    aware = (
        f"combine(d, d.time(), {name}) if (d := fromiso(v)).tzinfo is None"
        f" else d.astimezone({name})"
    )
    return _Kind(_read_iso(zone), f"({aware}) if {fresh} else $slow", names={**names, name: zone})


#: Every kind, by its field type, or by the ``DateFormat`` marker of a time field.
_KINDS: Mapping[Any, _Kind] = MappingProxyType(
    {
        str | None: _Kind(
            _read_str,
            "v if $text else $slow",
            column='c if "" not in c else [v or None for v in c]',
        ),
        int | None: _Kind(
            _read_int,
            "v if v.__class__ is int else ints[v] if $text else $slow",
            column="[ints[v] if v else None for v in c]",
            names={"ints": _TextMemo(_read_int)},
        ),
        Decimal | None: _Kind(  # JSON numbers with a fraction come as Decimal
            _read_decimal,
            "v if v.__class__ is Decimal and v.is_finite() else decimals[v] if $text else $slow",
            names={"Decimal": Decimal, "decimals": _TextMemo(_read_decimal)},
        ),
        bool | None: _Kind(  # any hashable value: _YES_NO holds True and False too
            _read_bool,
            "y if (y := yes_no(v)) is not None else $slow",
            names={"yes_no": _YES_NO.get},
        ),
        LeadStatus | str | None: _Kind(
            _read_lead_status,
            "statuses.get(v, v) if $text else $slow",
            names={"statuses": _LEAD_STATUSES},
        ),
        DateFormat.CLICK_TO: _Kind(
            parse_click_to_time,
            "click(v) if $text else $slow",
            column='list(map(click, c)) if "" not in c else [click(v) if v else None for v in c]',
            names={"click": parse_click_to_time},
        ),
        DateFormat.EASTERN: _iso_kind(EASTERN, name="eastern"),
        DateFormat.UTC: _iso_kind(dt.timezone.utc, name="utc"),
        DateFormat.AS_SENT: _iso_kind(),
    }
)
#: What the generated functions of every kind refer to (no two kinds bind a name apart).
_KIND_NAMES = {name: value for kind in _KINDS.values() for name, value in kind.names.items()}


def _date_format(type_: Any) -> DateFormat | None:
    """The DateFormat marker of ``Annotated[datetime, DateFormat.X] | None``, if any."""
    for arg in typing.get_args(type_):
        if typing.get_origin(arg) is typing.Annotated:
            for marker in arg.__metadata__:
                if isinstance(marker, DateFormat):
                    return marker
    return None


def _kind(type_: Any) -> _Kind | None:
    """The kind of a field's type, if it has one."""
    try:
        return _KINDS.get(_date_format(type_) or type_)
    except TypeError:  # unhashable: no type of the records
        return None


def _hook(type_: Any) -> Callable[[Any, Any], Any]:
    """The cattrs hook of a field type of a known kind."""
    kind = _kind(type_)
    if kind is None:
        raise TypeError(f"no value rule for {type_!r}")
    return _optional(kind.read)


def _source(template: str, number: int, **forms: str) -> str:
    """A kind's ``template`` for field ``number``: its hook and type are ``h<n>``, ``t<n>``."""
    hook = f"h{number}(v, t{number})"
    slow = f"(None if v is None or v.__class__ is str and not v else {hook})"
    text = "v.__class__ is str and v"
    return f"({string.Template(template).substitute(forms, hook=hook, slow=slow, text=text)})"


def _value_expression(number: int, type_: Any) -> str:
    """Python source turning the value ``v`` of field ``number`` into the field's value."""
    kind = _kind(type_)
    return _source("$hook" if kind is None else kind.inline, number)


def _text_column_expression(number: int, type_: Any) -> str:
    """Python source turning column ``c`` of field ``number``, all text (CSV), into values."""
    kind = _kind(type_)
    column = "[$hook for v in c]" if kind is None else kind.column
    return _source(column, number, inline=_value_expression(number, type_))


def configure_converter(converter: cattrs.Converter) -> cattrs.Converter:
    """Register every value rule of the records on ``converter`` and return it."""
    converter.register_structure_hook_factory(lambda t: _kind(t) is not None, _hook)
    converter.register_structure_hook_func(
        lambda t: bool(t == Mapping[str, Any]), lambda value, _type: value
    )
    return converter


CONVERTER = configure_converter(cattrs.Converter(detailed_validation=False))


# --- key layouts -----------------------------------------------------------------------

#: Consumes an iterator in C, keeping nothing (the ``starmap`` calls setting a field).
_drain = collections.deque[Any](maxlen=0).extend

#: Per field of a layout: (API key, field, the converter's hook, the field's type).
_Reads = tuple[tuple[str, str, Callable[[Any, Any], Any], Any], ...]


@attrs.define(frozen=True, slots=True)
class _Layout:
    """How the rows with one key order become records."""

    structure: Callable[[Mapping[str, Any]], Any]
    #: Build the records of a batch a column at a time, from dict rows that all have
    #: exactly this layout's keys, or from columns of text in this layout's key order (a
    #: CSV table). None where the layout has extra or gathered keys.
    columns: Callable[[list[Row]], list[Any]] | None
    text_columns: Callable[[list[tuple[str, ...]]], list[Any]] | None
    extra_keys: tuple[str, ...]
    gathered: tuple[tuple[str, str, str], ...]  # (API key, field, key in the mapping)
    reads: _Reads  # for error reports


def _slot_setters(record_type: type) -> dict[str, Any]:
    """Each field's slot setter, for a plain frozen slotted attrs class.

    A frozen attrs ``__init__`` sets each field by ``object.__setattr__``, one Python-level
    call per field. A batch instead sets one field of all its records by ``starmap`` of
    the slot's member descriptor, a loop that stays in C: about half the time of
    ``__init__`` per ClickToRecord.
    That skips ``__init__``, so the class must have nothing for ``__init__`` to run.
    """
    fields = attrs.fields(record_type)
    plain = record_type.__dictoffset__ == 0 and not hasattr(record_type, "__attrs_post_init__")
    for field in fields:
        plain = plain and field.validator is None and field.converter is None
        plain = plain and field.init and not isinstance(field.default, attrs.Factory)  # type: ignore[arg-type]
    if not plain:
        raise TypeError(f"{record_type.__name__} is not a plain slotted attrs record")
    return {field.name: getattr(record_type, field.name).__set__ for field in fields}


class RecordConverter(Generic[T]):
    """Turns raw rows into ``record_type`` records.

    Args:
        record_type: an attrs record class of ``dialogtech_async`` (frozen, slotted, no
            validators, converters or factories).
        converter: the cattrs converter with the value rules (``configure_converter``).
    """

    #: The zone of each field whose naive times the API sends in a zone the request
    #: chose (Infinity's ``tz=``); a subclass makes the records aware in it.
    zones: Mapping[str, dt.tzinfo] = MappingProxyType({})

    def __init__(self, record_type: type[T], converter: cattrs.Converter = CONVERTER) -> None:
        self.record_type = record_type
        self._converter = converter
        self._types = typing.get_type_hints(record_type, include_extras=True)
        self._setters = _slot_setters(record_type)
        self._gathers = {f for f in _PREFIX_FIELDS.values() if f in self._types}
        # Least recently used first. Bounded: Infinity's c_/pt_ keys vary from row to row,
        # and a converter lives as long as the process.
        self._layouts: collections.OrderedDict[tuple[str, ...], _Layout] = collections.OrderedDict()

    def convert(self, rows: list[Row], first_index: int = 0) -> list[T]:
        """Convert ``rows``; ``first_index`` is the first row's index in the report.

        Raises:
            ResponseFormatError: a value that cannot be read, naming the field, the value
                and the record index.
        """
        layouts = self._layouts
        if rows:
            keys = tuple(rows[0])
            layout = self._layout(keys)
            if layout.columns is not None and set(map(len, rows)) == {len(keys)}:
                try:
                    return layout.columns(rows)
                except (ValueError, TypeError, KeyError, ArithmeticError):
                    pass  # other keys in some row, or a bad value: row by row says which
        records: list[T] = []
        append = records.append
        index = first_index
        try:
            for row in rows:
                keys = tuple(row)
                layout = layouts.get(keys) or self._compile(keys)
                if layout.extra_keys or layout.gathered:
                    row = dict(row)  # gather into a copy: the caller's row stays as it was
                if layout.extra_keys:
                    row[_GATHERED + _EXTRA] = {key: row[key] for key in layout.extra_keys}
                if layout.gathered:
                    self._gather(row, layout)
                append(layout.structure(row))
                index += 1
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            raise self._conversion_error(row, layout, index, exc) from None
        return records

    def convert_columns(
        self, keys: tuple[str, ...], columns: list[tuple[str, ...]], first_index: int = 0
    ) -> list[T]:
        """Convert a table of text given by columns: ``columns[i]`` holds ``keys[i]``'s
        values, one per row (``zip(*CSVParser.feed_values(...))``).

        The same records as ``convert`` on the rows as dicts, without building the dicts.
        """
        if not columns or not columns[0]:
            return []
        layout = self._layout(keys)
        if layout.text_columns is not None:
            try:
                return layout.text_columns(columns)
            except (ValueError, TypeError, KeyError, ArithmeticError):
                pass  # a bad value: row by row says which
        rows = [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]
        return self.convert(rows, first_index)

    def _layout(self, keys: tuple[str, ...]) -> _Layout:
        """The layout of ``keys``, marked as the most recently used (once per batch)."""
        layout = self._layouts.get(keys)
        if layout is None:
            return self._compile(keys)
        self._layouts.move_to_end(keys)
        return layout

    def _gather(self, row: Row, layout: _Layout) -> None:
        for field in self._gathers:
            row[_GATHERED + field] = {}
        for key, field, name in layout.gathered:
            row[_GATHERED + field][name] = row[key]

    def _compile(self, keys: tuple[str, ...]) -> _Layout:
        renames: dict[str, str] = {}
        extra: list[str] = []
        gathered: list[tuple[str, str, str]] = []
        for key in keys:
            field = snake_case(key)
            prefix = next((p for p in _PREFIX_FIELDS if key.startswith(p)), None)
            if field in self._types and field not in renames and field not in _GATHERS_OR_EXTRA:
                renames[field] = key
            elif prefix is not None and _PREFIX_FIELDS[prefix] in self._gathers:
                gathered.append((key, _PREFIX_FIELDS[prefix], key[len(prefix) :]))
            else:
                extra.append(key)
        reads = tuple(
            (key, field, self._converter.get_structure_hook(self._types[field]), self._types[field])
            for field, key in renames.items()
        )
        by_columns = not (extra or gathered) and len(keys) >= 2
        layout = _Layout(
            self._generate(reads),
            self._generate_columns(keys, reads, text=False) if by_columns else None,
            self._generate_columns(keys, reads, text=True) if by_columns else None,
            tuple(extra),
            tuple(gathered),
            reads,
        )
        self._layouts[keys] = layout
        if len(self._layouts) > MAX_LAYOUTS:
            self._layouts.popitem(last=False)
        return layout

    def _namespace(self, reads: _Reads) -> dict[str, Any]:
        """What the compiled functions refer to: the class, hooks and types by number."""
        namespace: dict[str, Any] = {"cls": self.record_type, **_KIND_NAMES}
        for number, (_key, _field, hook, type_) in enumerate(reads):
            namespace[f"h{number}"] = hook
            namespace[f"t{number}"] = type_
        return namespace

    def _generate(self, reads: _Reads) -> Callable[[Mapping[str, Any]], Any]:
        """Compile one function building a record from one row of this layout."""
        namespace = self._namespace(reads)
        lines = []
        arguments = []
        for number, (key, field, _hook, type_) in enumerate(reads):
            lines.append(f"    v = o[{key!r}]")
            lines.append(f"    a{number} = {_value_expression(number, type_)}")
            arguments.append(f"{field}=a{number}")
        for field in (*self._gathers, _EXTRA):
            if field in self._types:
                arguments.append(f"{field}=o.get({_GATHERED + field!r}, EMPTY)")
        namespace["EMPTY"] = attrs.fields_dict(self.record_type)[_EXTRA].default  # type: ignore[arg-type]
        lines.append(f"    return cls({', '.join(arguments)})")
        return define("structure", "o", lines, namespace, self.record_type.__qualname__)

    def _generate_columns(
        self, keys: tuple[str, ...], reads: _Reads, *, text: bool
    ) -> Callable[[list[Any]], list[Any]]:
        """Compile one function building a batch's records a column at a time.

        Each column is converted by one comprehension: over the dict rows, reading its
        key (no tuple per row, as a transposition would make), or over a text table's
        column, taken whole when it has nothing to convert. Each field is set on all
        records by one ``starmap`` of its slot setter. No Python function runs per field
        of a row.
        """
        namespace = self._namespace(reads)
        namespace.update(
            new=object.__new__, repeat=itertools.repeat, starmap=itertools.starmap, drain=_drain
        )
        if text:
            columns = ", ".join(f"c{position}" for position in range(len(keys)))
            lines = [f"    {columns}, = columns", "    n = len(c0)"]
        else:
            lines = ["    n = len(rows)"]
        # Every value is converted before the first record exists: a bad one leaves none
        # half set.
        by_field = {field: (keys.index(key), n) for n, (key, field, _h, _t) in enumerate(reads)}
        values = []
        for attribute in attrs.fields(self.record_type):  # type: ignore[arg-type]
            name = attribute.name
            namespace[f"set_{name}"] = self._setters[name]
            if name in by_field:
                column, number = by_field[name]
                type_ = self._types[name]
                if text:
                    lines.append(f"    c = c{column}")
                    lines.append(f"    f_{name} = {_text_column_expression(number, type_)}")
                else:  # `for v in (x,)`: compiled to an assignment (CPython 3.9+)
                    read = f"for o in rows for v in (o[{keys[column]!r}],)"
                    lines.append(f"    f_{name} = [{_value_expression(number, type_)} {read}]")
            else:
                namespace[f"default_{name}"] = attribute.default
                lines.append(f"    f_{name} = repeat(default_{name}, n)")
            values.append(name)
        lines.append("    records = list(map(new, repeat(cls, n)))")
        # starmap over zip: zip hands starmap the same argument tuple each time, so no
        # tuple is made per call as map would (a third less time a field).
        lines += [f"    drain(starmap(set_{name}, zip(records, f_{name})))" for name in values]
        lines.append("    return records")
        name, parameter = ("text_columns", "columns") if text else ("columns", "rows")
        return define(name, parameter, lines, namespace, self.record_type.__qualname__)

    def _conversion_error(
        self, row: Row, layout: _Layout, index: int, exc: Exception
    ) -> ResponseFormatError:
        """Find which field failed (the error path only) and say so."""
        for key, field, read, type_ in layout.reads:
            try:
                read(row[key], type_)
            except (ValueError, TypeError, KeyError, ArithmeticError) as field_exc:
                return ResponseFormatError(
                    f"{self.record_type.__name__}.{field}: cannot read {row[key]!r}"
                    f" from key {key!r}: {field_exc}",
                    record_index=index,
                )
        return ResponseFormatError(
            f"cannot build {self.record_type.__name__}: {exc}", record_index=index
        )

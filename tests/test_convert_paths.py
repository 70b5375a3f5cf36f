"""The converter's two paths agree: whole batches a column at a time, odd rows one by one.

A batch whose rows all have the same keys is built column by column; a row with other
keys sends the batch down the row-by-row path. Both must give the same records.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any

import _fixtures as fx
import attrs
import pytest

import dialogtech_async as dta
from dialogtech_async._convert import _KINDS, CONVERTER, RecordConverter, _read_int, _TextMemo
from dialogtech_async._records import DateFormat
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser


def _rows(parser: Any, name: str) -> list[dict[str, Any]]:
    return fx.parse_all(parser, [fx.read(name)])


CASES = [
    (dta.ClickToRecord, lambda: _rows(CSVParser(), "clickto_report_unicode.csv")),
    (dta.ClickToRecord, lambda: _rows(XMLParser(), "clickto_report_latin1.xml")),
    (dta.LeadFlowCall, lambda: _rows(JSONParser(), "leadflow_history.json")),
    (dta.ActiveCall, lambda: _rows(JSONParser(), "infinity_active_call_advanced.json") * 3),
    (dta.PbxUserStatus, lambda: _rows(JSONParser(), "infinity_pbx_user_status.json")),
]


@pytest.mark.parametrize(("record", "rows"), CASES)
def test_columns_and_rows_give_the_same_records(record: type, rows: Any) -> None:
    converter = RecordConverter(record)
    batch = rows()
    assert len(batch) >= 2
    by_columns = converter.convert([dict(row) for row in batch])
    odd = {**batch[0], "a key the API added later": "x"}
    by_rows = converter.convert([dict(row) for row in batch] + [odd])
    assert by_rows[:-1] == by_columns
    assert by_rows[-1].extra["a key the API added later"] == "x"  # type: ignore[attr-defined]


def test_a_row_missing_a_key_goes_row_by_row() -> None:
    converter = RecordConverter(dta.ClickToRecord)
    short = {key: value for key, value in fx.CSV_ROWS[0].items() if key != "Page"}
    # Same number of keys as the others, but not the same keys.
    swapped = {**short, "Surprise": "!"}
    records = converter.convert([dict(fx.CSV_ROWS[0]), swapped, dict(fx.CSV_ROWS[1])])
    assert records[1].page is None
    assert records[1].extra == {"Surprise": "!"}
    assert records[0] == converter.convert([dict(fx.CSV_ROWS[0])])[0]


def test_a_bad_value_in_a_batch_names_its_record() -> None:
    converter = RecordConverter(dta.LeadFlowCall)
    rows = _rows(JSONParser(), "leadflow_history.json")
    rows[2]["talk_seconds"] = "ninety"
    with pytest.raises(dta.ResponseFormatError) as caught:
        converter.convert(rows, first_index=10)
    assert caught.value.record_index == 12
    assert "talk_seconds" in str(caught.value)


# --- CSV tables: columns of text, no dict per row ------------------------------------------


def _columns(rows: list[dict[str, str]]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    keys = tuple(rows[0])
    return keys, list(zip(*(list(row.values()) for row in rows), strict=True))


def _table_rows() -> list[dict[str, str]]:
    return _rows(CSVParser(), "clickto_report_unicode.csv")


def test_csv_columns_give_the_records_of_the_dict_rows() -> None:
    converter = RecordConverter(dta.ClickToRecord)
    rows = _table_rows() * 3
    records = converter.convert_columns(*_columns(rows))
    assert records == converter.convert([dict(row) for row in rows])
    first = records[0]
    assert first.page is None  # "" in the spec example
    assert first.call_duration == 9
    assert first.click_datetime is not None
    assert first.click_datetime.hour == 22


def test_csv_columns_of_every_kind_of_value() -> None:
    """Columns with and without empty strings take different paths; both are checked."""
    converter = RecordConverter(dta.ClickToRecord)
    rows = _table_rows()
    full = [{**row, "Page": "p", "Click Date/Time": "Mar 02 2017 1:05 AM"} for row in rows]
    empty = [{**row, "Click Date/Time": "", "Call Duration": ""} for row in rows]
    for batch in (full, empty, full + empty):
        assert converter.convert_columns(*_columns(batch)) == converter.convert(batch)
    assert converter.convert_columns(*_columns(empty))[0].click_datetime is None


@pytest.mark.parametrize(
    ("key", "bad"),
    [("Call Duration", "9.5"), ("Call Duration", "9 s"), ("Click Date/Time", "yesterday")],
)
def test_a_bad_value_in_csv_columns_names_its_record(key: str, bad: str) -> None:
    converter = RecordConverter(dta.ClickToRecord)
    rows = _table_rows()
    rows[1][key] = bad
    with pytest.raises(dta.ResponseFormatError) as caught:
        converter.convert_columns(*_columns(rows), first_index=40)
    assert caught.value.record_index == 41
    assert repr(bad) in str(caught.value)


def test_csv_columns_with_a_key_the_api_added_later() -> None:
    converter = RecordConverter(dta.ClickToRecord)
    rows = [{**row, "New Column": "n"} for row in _table_rows()]
    records = converter.convert_columns(*_columns(rows))
    assert [record.extra for record in records] == [{"New Column": "n"}] * len(rows)


# --- records built a field at a time ------------------------------------------------------


@pytest.mark.parametrize(("record", "rows"), CASES)
def test_records_built_by_columns_are_whole_frozen_records(record: type, rows: Any) -> None:
    batch = rows()
    built = RecordConverter(record).convert([dict(row) for row in batch])
    for one in built:
        assert type(one) is record
        copy = attrs.evolve(one)  # through __init__, with every field read from `one`
        assert copy == one
        assert repr(copy) == repr(one)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            one.extra = {}


@attrs.define(frozen=True, slots=True)
class _Checked:
    n: int | None = attrs.field(default=None, validator=attrs.validators.instance_of(int))


@attrs.define(frozen=True, slots=True)
class _Factory:
    n: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.define(frozen=True)
class _WithDict:
    n: int | None = None

    def __attrs_post_init__(self) -> None:
        pass


@pytest.mark.parametrize("record", [_Checked, _Factory, _WithDict])
def test_records_that_need_their_init_are_refused(record: type) -> None:
    # Building by slots skips __init__: a class with work for it would be built wrong.
    with pytest.raises(TypeError, match="not a plain slotted attrs record"):
        RecordConverter(record)


_SAMPLES: list[Any] = [
    None, "", "0", "42", "-5", "+5", " 9", "9.0", "1_000", "\u0663", "\u00b2",
    7, -3, 1, 0, 1.0, True, False, 1.5, Decimal("12.50"), Decimal("7"), Decimal("1"),
    Decimal("0"), Decimal("NaN"), Decimal("1e40"),
    "12.50", "NaN", "Infinity", "Y", "N", "y", "x", "Connected", "Hang Up", "Something New",
    "2024-01-15 09:30:00", "2024-07-01T14:07:09Z", "2024-01-15T09:30:00+01:00", "2024-13-01",
    "Jan 13 2017 10:52 PM", "Jan 13 17 10:52 PM", [1], {"a": 1},
]  # fmt: skip


def _hook_result(value: Any, type_: Any) -> Any:
    try:
        return CONVERTER.structure(value, type_)
    except (ValueError, TypeError, KeyError, ArithmeticError):
        return dta.ResponseFormatError


def _every_path(converter: RecordConverter[Any], name: str, other: str, value: Any) -> list[Any]:
    """Field ``name`` read from ``value`` a column at a time, row by row, and (text only)
    from a CSV table's columns; ResponseFormatError where the path refuses it."""
    rows = [{name: value, other: None}] * 2
    odd = {name: value, other: None, "a key the API added later": "x"}
    batches: list[Any] = [lambda: converter.convert(rows), lambda: converter.convert([*rows, odd])]
    if isinstance(value, str):
        table = [(value, value), ("", "")]
        batches.append(lambda: converter.convert_columns((name, other), table))
    results = []
    for batch in batches:
        try:
            results.append(getattr(batch()[0], name))
        except dta.ResponseFormatError:
            results.append(dta.ResponseFormatError)
    return results


@pytest.mark.parametrize(
    "record", [dta.ClickToRecord, dta.LeadFlowCall, dta.ActiveCall, dta.PbxUserStatus]
)
def test_the_generated_value_rules_agree_with_the_hooks(record: type) -> None:
    # The generated code reads common values inline; whatever it takes, it must give
    # what the converter's hook for the field's type gives, or fail where the hook fails.
    converter = RecordConverter(record)
    types = typing.get_type_hints(record, include_extras=True)
    fields = [name for name, type_ in types.items() if type_ != Mapping[str, Any]]
    for name in fields:
        other = next(field for field in fields if field != name)
        for value in _SAMPLES:
            expected = _hook_result(value, types[name])
            for got in _every_path(converter, name, other, value):
                assert (got, type(got)) == (expected, type(expected)), (name, value)


def _field_type(kind: Any) -> Any:
    """The field type of a value kind: ``_KINDS`` keys time fields by their marker."""
    return Annotated[dt.datetime, kind] | None if isinstance(kind, DateFormat) else kind


@pytest.mark.parametrize("kind", list(_KINDS), ids=str)
def test_every_form_of_every_value_kind_agrees_with_its_hook(kind: Any) -> None:
    # From the table itself: a kind added there is checked here with no more to write.
    fields = {
        "value": attrs.field(type=_field_type(kind), default=None),
        "other": attrs.field(type=str | None, default=None),
        "extra": attrs.field(type=Mapping[str, Any], default=MappingProxyType({})),
    }
    record = attrs.make_class("Sample", fields, frozen=True, slots=True)
    converter = RecordConverter(record)
    for value in _SAMPLES:
        expected = _hook_result(value, _field_type(kind))
        for got in _every_path(converter, "value", "other", value):
            assert (got, type(got)) == (expected, type(expected)), value


def test_text_values_are_kept_by_their_text_a_bounded_number_and_never_a_bad_one() -> None:
    memo = _TextMemo(_read_int, size=3)
    assert [memo["1800"], memo["-5"], memo["1800"]] == [1800, -5, 1800]
    for text in ("1_000", " 9", "x"):
        with pytest.raises(ValueError, match="expected an integer"):
            memo[text]
    assert set(memo) == {"1800", "-5"}  # nothing kept for the bad ones
    for number in range(10):
        assert memo[str(number)] == number
        assert len(memo) <= 3
    digits = "7" * 1000  # read, not kept: a body's long runs of digits do not stay
    assert memo[digits] == int(digits)
    assert digits not in memo


def test_no_two_value_kinds_bind_one_name_to_two_things() -> None:
    # The generated functions see every kind's names in one namespace.
    seen: dict[str, Any] = {}
    for kind in _KINDS.values():
        for name, value in kind.names.items():
            assert seen.setdefault(name, value) is value, name

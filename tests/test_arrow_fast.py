"""The vectorised Arrow paths (Arrow's CSV reader, casts and parses in C) against the
typed records on odd values: the same values, or the same error at the same record."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from test_arrow import assert_same

import dialogtech_async as dta
from dialogtech_async import _arrow, _arrow_csv
from dialogtech_async._arrow import ArrowDecoder, BatchBuilder
from dialogtech_async._convert import RecordConverter
from dialogtech_async.parsers import CSVParser

HEADER = b'"Caller ID","Name","Click Date/Time","Call Duration"\n'
GOOD = b'"1","a","Jan 13 2017 10:52 PM","5"\n'


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Each answer of Arrow's CSV reader (None: left to the parser); every chunk is read
    as it comes."""
    answers: list[int | None] = []
    call = _arrow_csv.CSVTables.__call__

    def spy(self: _arrow_csv.CSVTables, data: bytes) -> int | None:
        answers.append(call(self, data))
        return answers[-1]

    monkeypatch.setattr(_arrow_csv.CSVTables, "__call__", spy)
    monkeypatch.setattr(_arrow, "GATHER_BYTES", 1)
    return answers


def both(body: bytes) -> tuple[list[Any] | dta.ResponseFormatError, Any]:
    """The typed records of a click-to CSV body (or their error), and the Arrow table of
    it fed header first (so that Arrow's reader reads the rest) or its error."""
    converter = RecordConverter(dta.ClickToRecord)
    parser = CSVParser()
    try:
        records: Any = converter.convert(parser.feed(body) + parser.close())
    except dta.ResponseFormatError as exc:
        records = exc
    decoder = ArrowDecoder(CSVParser(), BatchBuilder(converter))
    head, rest = body[: len(HEADER)], body[len(HEADER) :]
    batches: list[pa.RecordBatch] = []
    try:
        for step in (lambda: decoder.feed(head), lambda: decoder.feed(rest), decoder.close):
            batches += step()
        decoder.close()  # raises a fault kept after the rows before it
        table: Any = pa.Table.from_batches(batches, schema=_arrow.schema(dta.ClickToRecord))
    except dta.ResponseFormatError as exc:
        table = exc
    return records, table


def assert_alike(body: bytes) -> None:
    records, table = both(body)
    if isinstance(records, dta.ResponseFormatError):
        assert isinstance(table, dta.ResponseFormatError), table
        assert (str(table), table.record_index) == (str(records), records.record_index)
    else:
        assert not isinstance(table, Exception), table
        assert_same(records, table)


ODD_DURATIONS = [
    "",
    " 5",
    "5 ",
    "+5",
    "-3",
    "-0",
    "007",
    "1.0",
    "1e3",
    "five",
    "٣",
    "\uff11",
]  # Arabic-Indic and full-width digits
ODD_TIMES = [
    "",
    " ",
    "jan 13 2017 10:52 pm",
    "JAN 13 2017 10:52 PM",
    "Jan  13 2017  10:52 PM",
    " Jan 13 2017 10:52 PM ",
    "Jan 1 2017 1:05 AM",
    "Jan 01 2017 01:05 AM",
    "Jan 13 2017 12:00 AM",
    "Jan 13 2017 12:00 PM",
    "Feb 29 2016 11:59 PM",
    "Feb 29 2017 11:59 PM",
    "Feb 30 2016 11:59 PM",
    "Apr 31 2017 10:52 PM",
    "Jan 00 2017 10:52 PM",
    "Jan 13 17 10:52 PM",
    "Jan 13 0001 10:52 PM",
    "Dec 31 9999 11:59 PM",
    "Jan 13 2017 13:52 PM",
    "Jan 13 2017 0:52 AM",
    "Jan 13 2017 10:5 PM",
    "Jan 13 2017 10:60 PM",
    "Jan 13 2017 10:52",
    "Janu 13 2017 10:52 PM",
    "2017-01-13 22:52",
]
ODD_TEXT = ["", " ", "NULL", "N/A", 'say ""hi""', "two\nlines", "\u00e9\u4e2d", "\ufeffmark"]


@pytest.mark.parametrize("duration", ODD_DURATIONS)
def test_odd_integers(duration: str, taken: list[int | None]) -> None:
    assert_alike(HEADER + GOOD + f'"2","b","Jan 13 2017 10:52 PM","{duration}"\n'.encode() + GOOD)
    assert taken[:1] == [3]  # Arrow's reader read them; the rules did the rest


@pytest.mark.parametrize("time", ODD_TIMES)
def test_odd_click_to_times(time: str, taken: list[int | None]) -> None:
    assert_alike(HEADER + GOOD + f'"2","b","{time}","6"\n'.encode() + GOOD)
    assert taken[:1] == [3]


@pytest.mark.parametrize("text", ODD_TEXT)
def test_odd_text(text: str, taken: list[int | None]) -> None:
    assert_alike(HEADER + GOOD + f'"2","{text}","Jan 13 2017 10:52 PM","6"\n'.encode() + GOOD)
    assert taken[:1] == [3]


def test_an_int64_overflow_is_an_error(taken: list[int | None]) -> None:
    body = HEADER + GOOD + b'"2","b","Jan 13 2017 10:52 PM","99999999999999999999"\n'
    records, table = both(body)
    assert not isinstance(records, Exception)  # a Python int holds it
    assert isinstance(table, dta.ResponseFormatError)
    assert table.record_index == 1
    assert "call_duration" in str(table)


@pytest.mark.parametrize(
    "rows",
    [
        b'"1","a"b,"Jan 13 2017 10:52 PM","5"\n',  # more after a closing quote
        b'"1","a" ,"Jan 13 2017 10:52 PM","5"\n',
        b'"1","a"""b","Jan 13 2017 10:52 PM","5"\n',
        b'"1",a"b,"Jan 13 2017 10:52 PM","5"\n',  # a quote in an unquoted field: fine
        b'"1", "a","Jan 13 2017 10:52 PM","5"\n',
        b'"1","a","Jan 13 2017 10:52 PM"\n',  # a field short
        b'"1","a\xff","Jan 13 2017 10:52 PM","5"\n',  # not UTF-8
        b'\n\n"1","a","Jan 13 2017 10:52 PM","5"\r\n\r\n',  # blank lines, CRLF
    ],
)
def test_odd_csv_is_left_to_the_parser(rows: bytes, taken: list[int | None]) -> None:
    assert_alike(HEADER + GOOD + rows + GOOD)


def test_arrow_reads_well_formed_csv(taken: list[int | None]) -> None:
    assert_alike(HEADER + GOOD + b'"2","x ""y"", z","Jan 13 2017 10:52 PM","6"\n' + GOOD)
    assert taken == [3]
    both(HEADER + GOOD + b'"1","a"b,"Jan 13 2017 10:52 PM","5"\n')
    assert taken[-1] is None


ODD_DECIMALS = ["7.25", "7.2", "7", "-0.5", ".5", "5.", "1e2", "", "7.255", "NaN", " 7", "1_0"]
ODD_BOOLS = ["Y", "N", "y", "n", "", "yes", "true", "1", " Y"]


@pytest.mark.parametrize("price", ODD_DECIMALS)
@pytest.mark.parametrize("flag", ODD_BOOLS)
def test_odd_decimals_and_flags_in_text_rows(price: str, flag: str) -> None:
    converter = RecordConverter(dta.LeadFlowCall)
    good = {"sid": "a", "offerPrice": "1.50", "reroute": "N", "callDate": "2024-01-02 10:00:00"}
    rows = [good, {**good, "offerPrice": price, "reroute": flag}, good]
    try:
        records: Any = converter.convert(rows, 5)
    except dta.ResponseFormatError as exc:
        records = exc
    try:
        table: Any = pa.Table.from_batches([BatchBuilder(converter).from_rows(rows, 5)])
    except dta.ResponseFormatError as exc:
        table = exc
    if price == "7.255" and not isinstance(records, Exception):  # finer than cents
        assert isinstance(table, dta.ResponseFormatError)
        assert table.record_index == 6
    elif isinstance(records, dta.ResponseFormatError):
        assert isinstance(table, dta.ResponseFormatError), table
        assert (str(table), table.record_index) == (str(records), records.record_index)
    else:
        assert_same(records, table)


def test_rows_fed_a_few_at_a_time_make_one_batch(taken: list[int | None]) -> None:
    decoder = ArrowDecoder(CSVParser(), BatchBuilder(RecordConverter(dta.ClickToRecord)))
    fed = decoder.feed(HEADER)
    for number in range(5):
        fed += decoder.feed(f'"{number}","n","Jan 13 2017 10:52 PM","{number}"\n'.encode())
    (batch,) = fed + decoder.close()
    assert batch.column("call_duration").to_pylist() == [0, 1, 2, 3, 4]
    assert taken == [1] * 5

"""record_reader: a parser and a converter fused, as a Report runs them."""

from __future__ import annotations

from typing import Any

import _fixtures as fx
import pytest

import dialogtech_async as dta
from dialogtech_async._convert import RecordConverter
from dialogtech_async._reader import record_reader
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser

CASES = [
    (dta.ClickToRecord, CSVParser, "clickto_report_unicode.csv"),
    (dta.ClickToRecord, XMLParser, "clickto_report_latin1.xml"),
    (dta.LeadFlowCall, JSONParser, "leadflow_history.json"),
]


def _read(reader: Any, chunks: list[bytes]) -> list[Any]:
    records: list[Any] = []
    for chunk in chunks:
        records += reader.feed(chunk)
    return records + reader.close()


@pytest.mark.parametrize(("record", "parser", "name"), CASES)
@pytest.mark.parametrize("chunk_size", [1, 13, 1 << 16])
def test_records_split_anywhere_are_those_of_the_whole_rows(
    record: type, parser: Any, name: str, chunk_size: int
) -> None:
    body = fx.read(name)
    converter = RecordConverter(record)
    expected = converter.convert(fx.parse_all(parser(), [body]))
    chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    assert _read(record_reader(parser(), converter), chunks) == expected


def _csv_body(rows: int, bad_at: int | None = None) -> bytes:
    lines = ['"Caller ID","Call Duration"']
    lines += [f'"312555{i:04d}","{"ninety" if i == bad_at else i}"' for i in range(rows)]
    return "\n".join(lines).encode()


def test_a_bad_value_in_a_later_chunk_names_its_index_in_the_body() -> None:
    body = _csv_body(50, bad_at=37)
    reader = record_reader(CSVParser(), RecordConverter(dta.ClickToRecord))
    chunks = [body[start : start + 100] for start in range(0, len(body), 100)]
    records, caught = fx.parse_until_error(reader, chunks)  # several records a chunk
    assert isinstance(caught, dta.ResponseFormatError)
    assert caught.record_index == 37
    assert "call_duration" in str(caught)
    assert "'ninety'" in str(caught)
    assert [record.call_duration for record in records] == list(range(len(records)))
    assert 0 < len(records) <= 37


def test_a_malformed_body_gives_the_records_before_the_fault_first() -> None:
    body = _csv_body(5) + b'\n"1","2","3"\n"4","5"\n'
    reader = record_reader(CSVParser(), RecordConverter(dta.ClickToRecord))
    assert [record.call_duration for record in reader.feed(body)] == [0, 1, 2, 3, 4]
    with pytest.raises(dta.ResponseFormatError) as caught:
        reader.close()
    assert caught.value.record_index == 5


_BAD_FOURTH = {
    "csv": b'"Caller ID","Call Duration"\n"1","9"\n"2","8"\n"3","7"\n"4","x"\n"5","5"\n',
    "xml": (
        b"<data>"
        + b"".join(
            b"<record><Caller_ID>%d</Caller_ID><Call_Duration>%s</Call_Duration></record>"
            % (i, duration)
            for i, duration in enumerate([b"9", b"8", b"7", b"x", b"5"], start=1)
        )
        + b"</data>"
    ),
}


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_the_records_before_a_bad_value_come_first_however_the_body_is_split(fmt: str) -> None:
    body = _BAD_FOURTH[fmt]
    converter = RecordConverter(dta.ClickToRecord)
    for size in [1, 7, 40, len(body)]:
        reader = record_reader(CSVParser() if fmt == "csv" else XMLParser(), converter)
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        received, error = fx.parse_until_error(reader, chunks)
        assert [record.caller_id for record in received] == ["1", "2", "3"], size
        assert isinstance(error, dta.ResponseFormatError)
        assert error.record_index == 3
        assert "call_duration" in str(error)
        with pytest.raises(dta.ResponseFormatError) as again:  # the error stays
            reader.close()
        assert again.value is error

"""The converter's two paths agree: whole batches a column at a time, odd rows one by one.

A batch whose rows all have the same keys is built column by column; a row with other
keys sends the batch down the row-by-row path. Both must give the same records.
"""

from __future__ import annotations

from typing import Any

import _fixtures as fx
import pytest

import dialogtech_async as dta
from dialogtech_async._convert import RecordConverter
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

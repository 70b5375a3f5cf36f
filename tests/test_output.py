"""asdict, and the files the command line writes: whole or kept apart, never half."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _fixtures import read

import dialogtech_async as dta
from dialogtech_async._arrow import BatchBuilder, schema
from dialogtech_async._convert import RecordConverter
from dialogtech_async._output import encode_lines, open_output
from dialogtech_async.parsers import JSONParser

CALL = dta.LeadFlowCall(
    call_date=dt.datetime(2024, 3, 1, 10, 0, tzinfo=ZoneInfo("America/New_York")),
    lead_status=dta.LeadStatus.HANG_UP,
    offer_price=Decimal("7.25"),
    reroute=True,
    talk_seconds=30,
    extra={"bonus": [Decimal("1.5"), {"x": Decimal("2")}], "note": "é"},
)


def test_asdict_is_json_safe_and_in_field_order() -> None:
    plain = dta.asdict(CALL)
    assert list(plain) == [f.name for f in attrs.fields(dta.LeadFlowCall)]
    assert plain["call_date"] == "2024-03-01T10:00:00-05:00"
    assert plain["lead_status"] == "Hang Up"
    assert plain["offer_price"] == "7.25"
    assert plain["reroute"] is True
    assert plain["talk_seconds"] == 30
    assert plain["extra"] == {"bonus": ["1.5", {"x": "2"}], "note": "é"}
    assert json.loads(json.dumps(plain)) == plain


def test_asdict_of_every_spec_example() -> None:
    for record_type, fixture in [
        (dta.LeadFlowCall, "leadflow_history.json"),
        (dta.ActiveCall, "infinity_active_call_advanced.json"),
        (dta.PbxUserStatus, "infinity_pbx_user_status.json"),
    ]:
        parser = JSONParser()
        rows = parser.feed(read(fixture)) + parser.close()
        for record in RecordConverter(record_type).convert(rows):
            plain = dta.asdict(record)
            assert json.loads(json.dumps(plain)) == plain
            line = encode_lines([record])
            assert json.loads(line) == plain  # the JSON Lines hold what asdict gives


def test_asdict_takes_records_only() -> None:
    with pytest.raises(TypeError, match="takes a record"):
        dta.asdict({"a": 1})


def test_utc_times_are_written_with_z() -> None:
    call = dta.ActiveCall(trigger_datetime=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    assert dta.asdict(call)["trigger_datetime"] == "2024-01-01T00:00:00Z"


def test_a_file_takes_its_name_only_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("old\n")
    output = open_output(str(path), type(CALL))
    output.write([CALL, CALL])
    assert path.read_text() == "old\n"  # still the old one while writing
    output.commit()
    assert [json.loads(line) for line in path.read_text().splitlines()] == [dta.asdict(CALL)] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_abort_keeps_a_partial_beside_the_untouched_file(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    output = open_output(str(path), type(CALL))
    output.write([CALL])
    kept = output.abort()
    assert kept == tmp_path / "out.partial.csv"
    assert kept.read_text(encoding="utf-8").splitlines()[0].startswith("call_date,set_name,")
    assert path.read_text() == "old\n"


def test_abort_with_nothing_written_leaves_nothing(tmp_path: Path) -> None:
    output = open_output(str(tmp_path / "out.jsonl"), type(CALL))
    output.write([])
    assert output.abort() is None
    assert list(tmp_path.iterdir()) == []


def test_an_empty_report_is_a_valid_empty_parquet_file(tmp_path: Path) -> None:
    output = open_output(str(tmp_path / "none.parquet"), dta.ClickToRecord)
    output.commit()
    table = pq.read_table(tmp_path / "none.parquet")
    assert table.num_rows == 0
    assert table.schema == schema(dta.ClickToRecord)


def test_parquet_row_groups_gather_small_batches(tmp_path: Path) -> None:
    from dialogtech_async import _parquet

    output = open_output(str(tmp_path / "r.parquet"), dta.PbxActiveCall)
    rows = [{"state": "ringing", "callRef": str(i)} for i in range(10)]
    builder = BatchBuilder(RecordConverter(dta.PbxActiveCall))
    for _ in range(5):
        output.write_batch(builder.from_rows(rows))
    output.commit()
    metadata = pq.read_metadata(tmp_path / "r.parquet")
    assert metadata.num_rows == 50
    assert metadata.num_row_groups == 1  # 50 rows < ROW_GROUP_ROWS: one group
    assert _parquet.ROW_GROUP_ROWS > 50
    assert pq.read_table(tmp_path / "r.parquet").column("extra")[0].as_py() == '{"callRef":"0"}'
    assert isinstance(pq.read_table(tmp_path / "r.parquet"), pa.Table)


@pytest.mark.parametrize(
    ("target", "message"),
    [("out.txt", "must end in .jsonl, .csv or .parquet"), ("nowhere/out.jsonl", "no directory")],
)
def test_bad_targets_are_refused_before_anything_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(dta.ValidationError, match=message):
        open_output(target, type(CALL))
    assert list(tmp_path.iterdir()) == []


def test_the_file_gets_the_mode_open_would_give(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    output = open_output(str(path), type(CALL))
    output.write([CALL])
    output.commit()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask

"""Arrow batches and Parquet files: the typed records' values, column-wise."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _fixtures import read

import dialogtech_async as dta
from dialogtech_async import _arrow
from dialogtech_async._arrow import BatchBuilder, require_pyarrow, schema
from dialogtech_async._convert import RecordConverter
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_INFINITY_API_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    RunningSandbox,
    serve_in_thread,
)

MAPPINGS = {"extra", "pass_through_tags", "custom_variables"}
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=700, chunk_rows=64) as running:
        yield running


def session(server: RunningSandbox) -> dta.Session:
    url = server.base_url
    return dta.Session(
        SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, base_url=url, newest_base_url=url
    )


def infinity(server: RunningSandbox) -> dta.InfinitySession:
    return dta.InfinitySession(api_key=SANDBOX_INFINITY_API_KEY, base_url=server.base_url)


def expected(record: Any) -> dict[str, Any]:
    """A record's fields as its Arrow row should hold them (the documented mapping)."""
    row = {}
    for field in attrs.fields(type(record)):
        value = getattr(record, field.name)
        if field.name in MAPPINGS:
            value = json.loads(json.dumps(dta.asdict(record)[field.name])) or None
        elif isinstance(value, dt.datetime) and value.tzinfo is None and field.name in ZONED:
            value = value.replace(tzinfo=dt.timezone.utc)  # a bare converter: no tz= zone
        row[field.name] = value
    return row


#: Times sent in the request's zone: instants in UTC in Arrow, whatever the zone.
ZONED = {"state_start_datetime"}


def arrow_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    for row in rows:
        for name in MAPPINGS & row.keys():
            row[name] = json.loads(row[name]) if row[name] is not None else None
    return rows


def assert_same(records: list[Any], table: pa.Table) -> None:
    assert table.num_rows == len(records) > 0
    assert table.schema == schema(type(records[0]))
    got = arrow_rows(table)
    for index, (record, row) in enumerate(zip(records, got, strict=True)):
        want = expected(record)
        for name, value in want.items():
            assert row[name] == value, (index, name, row[name], value)
            assert type(row[name]) is type(value) or value is None or isinstance(value, str)


async def pull_both(make: Any) -> tuple[list[Any], pa.Table]:
    records = await make().collect()
    table = await make().to_arrow()
    return records, table


@pytest.mark.parametrize("fmt", ["csv", "xml"])
async def test_click_to_report_matches_records(server: RunningSandbox, fmt: str) -> None:
    async with session(server) as s:
        records, table = await pull_both(lambda: s.click_to_report(START, END, fmt))
    assert_same(records, table)


async def test_leadflow_matches_records(server: RunningSandbox) -> None:
    async with session(server) as s:
        records, table = await pull_both(
            lambda: s.leadflow_history(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 3))
        )
    assert_same(records, table)
    assert table.schema.field("call_date").type == pa.timestamp("us", tz="America/New_York")
    assert table.schema.field("offer_price").type == pa.decimal128(18, 2)
    assert any(isinstance(v, Decimal) for v in table.column("offer_price").to_pylist())


@pytest.mark.parametrize("tz", [None, "America/Chicago"])
async def test_infinity_reports_match_records(server: RunningSandbox, tz: str | None) -> None:
    async with infinity(server) as inf:
        for make in (lambda: inf.pbx_active_calls(123, tz), lambda: inf.pbx_user_status(123, tz)):
            records, table = await pull_both(make)
            assert_same(records, table)
            assert table.column("extra").null_count == 0  # the undocumented keys, as JSON


async def test_bulk_windows_in_date_order(server: RunningSandbox) -> None:
    async with session(server) as s:
        week = dt.timedelta(days=7)
        records, table = await pull_both(
            lambda: s.click_to_report(START, END, window=week, concurrency=3)
        )
        bulk = s.click_to_report(START, END, window=week, concurrency=3)
        async with bulk:
            batches = [batch async for batch in bulk.arrow_batches()]
        assert bulk.records_yielded == sum(b.num_rows for b in batches) == len(records)
        assert bulk.windows_done == bulk.windows_total == 5
    assert_same(records, table)
    times = table.column("click_datetime").to_pylist()
    assert times == sorted(times)


async def test_bare_bulk_arrow_batches(server: RunningSandbox) -> None:
    async with session(server) as s:
        day = dt.timedelta(days=1)
        bulk = s.leadflow_history(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 3), window=day)
        rows = sum([batch.num_rows async for batch in bulk.arrow_batches()])
    assert rows == bulk.records_yielded == 3 * 700


async def test_records_yielded_counts_rows(
    server: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_arrow, "GATHER_BYTES", 16 * 1024)  # the report is ~120 KB
    async with session(server) as s, s.click_to_report(START, END) as report:
        batches = [batch async for batch in report.arrow_batches()]
    assert len(batches) > 1  # one per gathered run of chunks, not one for the report
    assert report.records_yielded == sum(b.num_rows for b in batches) == 700


# --- the spec's example bodies, through the builder alone ------------------------------


def parsed(parser: Any, body: bytes) -> list[Any]:
    return parser.feed(body) + parser.close()


@pytest.mark.parametrize(
    ("record_type", "fixture", "make_parser"),
    [
        (dta.ClickToRecord, "clickto_report.xml", XMLParser),
        (dta.ClickToRecord, "clickto_report_latin1.xml", XMLParser),
        (dta.LeadFlowCall, "leadflow_history.json", JSONParser),
        (dta.PbxActiveCall, "infinity_pbx_active_calls.json", JSONParser),
        (dta.PbxUserStatus, "infinity_pbx_user_status.json", JSONParser),
        (dta.ActiveCall, "infinity_active_call_advanced.json", JSONParser),
        (dta.ActiveCall, "infinity_active_call_basic.json", JSONParser),
    ],
)
def test_spec_examples_from_rows(record_type: type, fixture: str, make_parser: Any) -> None:
    converter = RecordConverter(record_type)
    rows = parsed(make_parser(), read(fixture))
    records = converter.convert(rows)
    table = pa.Table.from_batches([BatchBuilder(converter).from_rows(rows)])
    assert_same(records, table)


@pytest.mark.parametrize("fixture", ["clickto_report.csv", "clickto_report_unicode.csv"])
def test_spec_examples_from_text_columns(fixture: str) -> None:
    converter = RecordConverter(dta.ClickToRecord)
    parser = CSVParser()
    values = parser.feed_values(read(fixture)) + parser.close_values()
    keys = tuple(parser.fieldnames or ())
    columns = list(zip(*values, strict=True))
    records = converter.convert_columns(keys, columns)
    table = pa.Table.from_batches([BatchBuilder(converter).from_columns(keys, columns)])
    assert_same(records, table)


def test_mixed_layouts_and_gathered_tags() -> None:
    converter = RecordConverter(dta.ActiveCall)
    rows = [
        {"igrp": "1", "txr": "a", "pt_source": "x", "c_plan": "gold", "new": [Decimal("1.5")]},
        {"igrp": 2, "txr": "b"},
        {"igrp": None, "triggerDatetime": "2024-01-01T10:00:00Z", "callDuration": "7"},
    ]
    records = converter.convert(rows)
    assert_same(records, pa.Table.from_batches([BatchBuilder(converter).from_rows(rows)]))
    assert records[0].extra == {"new": [Decimal("1.5")]}


def test_every_type_mapping() -> None:
    types = {f.name: f.type for f in schema(dta.LeadFlowCall)}
    assert types["set_name"] == pa.string()
    assert types["lead_status"] == pa.string()
    assert types["talk_seconds"] == pa.int64()
    assert types["reroute"] == pa.bool_()
    assert types["talk_minutes"] == pa.decimal128(18, 1)
    assert types["margin"] == pa.decimal128(18, 2)
    assert types["call_date"] == pa.timestamp("us", tz="America/New_York")
    assert types["extra"] == pa.string()
    assert schema(dta.ClickToRecord).field("click_datetime").type == pa.timestamp("us")
    assert schema(dta.ActiveCall).field("trigger_datetime").type == pa.timestamp("us", tz="UTC")
    assert schema(dta.ActiveCall).field("pass_through_tags").type == pa.string()
    assert schema(dta.PbxUserStatus).field("state_start_datetime").type == pa.timestamp(
        "us", tz="UTC"
    )


def test_a_value_finer_than_the_scale_is_an_error_not_rounded() -> None:
    builder = BatchBuilder(RecordConverter(dta.LeadFlowCall))
    rows = [{"sid": "a", "offer_price": "1.25"}, {"sid": "b", "offer_price": "1.255"}]
    with pytest.raises(dta.ResponseFormatError, match=r"offer_price: 1\.255") as caught:
        builder.from_rows(rows, first_index=10)
    assert caught.value.record_index == 11


def test_a_bad_value_is_the_converters_error() -> None:
    converter = RecordConverter(dta.ClickToRecord)
    keys = ("Caller ID", "Call Duration")
    columns = [("1", "2"), ("5", "five")]
    with pytest.raises(dta.ResponseFormatError) as typed:
        converter.convert_columns(keys, columns, 3)
    with pytest.raises(dta.ResponseFormatError) as arrow:
        BatchBuilder(converter).from_columns(keys, columns, 3)
    assert str(arrow.value) == str(typed.value)
    assert arrow.value.record_index == typed.value.record_index == 4


async def test_a_bad_value_mid_report_comes_after_the_good_rows(
    server: RunningSandbox,
) -> None:
    from dialogtech_async._arrow import ArrowDecoder

    body = b'"Caller ID","Call Duration"\n"1","5"\n"2","6"\n"3","x"\n'
    decoder = ArrowDecoder(CSVParser(), BatchBuilder(RecordConverter(dta.ClickToRecord)))
    (batch,) = decoder.feed(body)  # the first batch is not gathered
    assert batch.column("call_duration").to_pylist() == [5, 6]
    with pytest.raises(dta.ResponseFormatError, match="call_duration") as caught:
        decoder.close()
    assert caught.value.record_index == 2


# --- without pyarrow -------------------------------------------------------------------


def test_missing_pyarrow_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, server: RunningSandbox
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` fails
    with pytest.raises(ImportError, match=r"pip install 'dialogtech-async\[arrow\]'"):
        require_pyarrow()
    report = session(server).click_to_report(START, END)
    with pytest.raises(ImportError, match=r"dialogtech-async\[arrow\]"):
        report.arrow_batches()


# --- Parquet ---------------------------------------------------------------------------


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def temp_size(directory: Path) -> int:
    return max((p.stat().st_size for p in directory.glob(".*.tmp")), default=0)


async def test_write_parquet_reads_back_in_duckdb(server: RunningSandbox, tmp_path: Path) -> None:
    path = tmp_path / "calls.parquet"
    path.write_bytes(b"old")
    async with session(server) as s:
        week = dt.timedelta(days=7)
        rows = await dta.write_parquet(s.click_to_report(START, END, window=week), path)
        records = await s.click_to_report(START, END, window=week).collect()
    assert rows == len(records) == 5 * 700
    assert names(tmp_path) == ["calls.parquet"]  # no temporary file left
    back = duckdb.sql(f"SELECT * FROM '{path}'").to_arrow_table()
    assert_same(records, back)


async def test_cancelled_write_parquet_keeps_a_valid_partial(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    path.write_bytes(b"keep me")
    with serve_in_thread(rows=200_000, chunk_rows=500) as big:
        async with session(big) as s:
            task = asyncio.ensure_future(dta.write_parquet(s.click_to_report(START, END), path))
            # Until the first row group is written (the file holds more than its magic).
            while temp_size(tmp_path) <= 4:  # noqa: ASYNC110 - polling a file, no event
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert path.read_bytes() == b"keep me"  # never touched
    table = pq.read_table(tmp_path / "big.partial.parquet")  # whole: row groups, footer
    assert 0 < table.num_rows < 200_000
    assert table.schema == schema(dta.ClickToRecord)
    assert names(tmp_path) == ["big.parquet", "big.partial.parquet"]


def test_rows_before_a_malformed_body_come_first() -> None:
    from dialogtech_async._arrow import ArrowDecoder

    builder = BatchBuilder(RecordConverter(dta.ClickToRecord))
    decoder = ArrowDecoder(CSVParser(), builder)
    assert decoder.feed(b'"Caller ID","Call Duration"\n"1","5"\n') == []  # held: one row
    assert decoder.feed(b'"2","6"\n"3","7') == []
    (batch,) = decoder.close()  # the body ends inside a quoted field
    assert batch.column("caller_id").to_pylist() == ["1", "2"]
    with pytest.raises(dta.ResponseFormatError):
        decoder.close()


async def test_arrow_batches_after_records_started_is_refused(server: RunningSandbox) -> None:
    async with session(server) as s:
        bulk = s.click_to_report(START, END, window=dt.timedelta(days=7))
        async with bulk:
            await anext(aiter(bulk))  # records are being read
            with pytest.raises(RuntimeError, match="can be iterated only once"):
                bulk.arrow_batches()


@pytest.mark.anyio
async def test_arrow_and_parquet_under_each_backend(
    server: RunningSandbox, tmp_path: Path, anyio_backend: str
) -> None:
    async with session(server) as s:
        table = await s.click_to_report(START, END, window=dt.timedelta(days=10)).to_arrow()
        rows = await dta.write_parquet(s.click_to_report(START, END), tmp_path / "r.parquet")
    assert table.num_rows == 4 * 700
    assert rows == pq.read_metadata(tmp_path / "r.parquet").num_rows == 700

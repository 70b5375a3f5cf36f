"""Review: the output files, the command line and dataset.pull under careless use."""

from __future__ import annotations

import datetime as dt
import errno
import functools
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dialogtech_async as dta
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    RunningSandbox,
    serve_in_thread,
)

START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 3)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=20) as running:
        yield running


def session(server: RunningSandbox) -> dta.Session:
    url = server.base_url
    return dta.Session(
        SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, base_url=url, newest_base_url=url
    )


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_write_parquet_to_a_directory_is_refused_before_the_pull(
    server: RunningSandbox, tmp_path: Path
) -> None:
    (tmp_path / "calls").mkdir()
    async with session(server) as s:
        report = s.click_to_report(START, END)
        with pytest.raises(dta.ValidationError, match="is a directory"):
            await dta.write_parquet(report, tmp_path / "calls")
        assert report.records_yielded == 0  # nothing pulled for nothing
    assert names(tmp_path) == ["calls"]  # no temporary file left


def test_a_dataset_out_that_is_a_file_is_refused_before_anything_runs(tmp_path: Path) -> None:
    from dialogtech_async.dataset import Account, pull

    out = tmp_path / "dataset"
    out.write_text("mine")
    with pytest.raises(dta.ValidationError, match="not a directory") as caught:
        pull(
            accounts=[Account("acme", "k", "s")],
            report="click_to_report",
            start=START,
            end=END,
            out=out,
            scheduler="tcp://127.0.0.1:1",  # never reached
        )
    assert caught.value.parameter == "out"
    assert out.read_text() == "mine"


@pytest.mark.parametrize("name", ["a%20b", "100%"])
def test_an_account_name_with_a_percent_sign_is_refused(name: str) -> None:
    from dialogtech_async.dataset import Account

    # Hive readers (pyarrow, DuckDB) decode %XX in a partition's value: 'a%20b' reads as 'a b'.
    with pytest.raises(dta.ValidationError, match="account name"):
        Account(name, "k", "s")


def test_an_empty_report_to_csv_is_its_header_line(tmp_path: Path) -> None:
    import attrs

    from dialogtech_async._output import open_output

    output = open_output(str(tmp_path / "none.csv"), dta.ClickToRecord)
    output.commit()
    # A reader (pandas, DuckDB) takes a header alone as no rows; an empty file it refuses.
    lines = (tmp_path / "none.csv").read_text(encoding="utf-8").splitlines()
    assert lines == [",".join(field.name for field in attrs.fields(dta.ClickToRecord))]


def test_a_second_interrupted_run_keeps_the_first_runs_partial_file(tmp_path: Path) -> None:
    from dialogtech_async._output import open_output

    record = dta.PbxActiveCall(state="ringing")
    kept = []
    for count in (2, 1):  # the second run interrupted sooner, with less
        output = open_output(str(tmp_path / "calls.jsonl"), dta.PbxActiveCall)
        output.write([record] * count)
        kept.append(output.abort())
    assert kept == [tmp_path / "calls.partial.jsonl", tmp_path / "calls.partial-2.jsonl"]
    assert [len(path.read_text().splitlines()) for path in kept if path] == [2, 1]


def test_dataset_accounts_given_as_a_generator_are_all_pulled(
    server: RunningSandbox, tmp_path: Path
) -> None:
    from dialogtech_async.dataset import Account, pull

    keys = (SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY)
    result = pull(
        accounts=(Account(name, *keys) for name in ("acme", "globex")),  # type: ignore[arg-type]
        report="click_to_report",
        start=START,
        end=START,
        out=tmp_path,
        base_url=server.base_url,
        workers=1,
    )
    assert [p.account for p in result.written] == ["acme", "globex"]


async def test_a_batch_the_output_failed_to_write_is_not_written_again(
    server: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialogtech_async import _cli
    from dialogtech_async._progress import Progress

    class DiskFull:
        arrow = False

        def __init__(self) -> None:
            self.given: list[list[Any]] = []

        def write(self, records: list[Any]) -> None:
            self.given.append(records)
            if len(self.given) == 1:  # the file may hold part of the batch now
                raise OSError("No space left on device")

    monkeypatch.setattr(_cli, "WRITE_BATCH", 5)
    output = DiskFull()
    async with session(server) as s:
        with pytest.raises(OSError, match="No space"):
            await _cli._pull(s.click_to_report(START, END), output, Progress(io.StringIO()))  # type: ignore[arg-type]
    assert [len(batch) for batch in output.given if batch] == [5]  # not handed out twice


class FullDisk(io.RawIOBase):
    """A file on a disk with ``room`` bytes left: then ENOSPC, as a full disk answers."""

    def __init__(self, path: Path, room: int) -> None:
        self._file = open(path, "wb", buffering=0)  # noqa: SIM115 - closed by close()
        self._room = room

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if not self._room:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken = bytes(data[: self._room])
        self._room -= len(taken)
        return self._file.write(taken) or 0

    def close(self) -> None:
        self._file.close()
        super().close()


def fill(output: Any) -> None:
    """Write batches as the command line does, until the disk is full."""
    while True:
        output.write([dta.PbxActiveCall(state="ringing")] * 256)


@pytest.mark.parametrize("name", ["calls.csv", "calls.jsonl"])
def test_a_full_disk_keeps_the_partial_and_says_so_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    from dialogtech_async import _output

    def beside(path: Path) -> tuple[io.BufferedWriter, Path]:
        temp = path.with_name(f".{path.name}.x.tmp")
        return io.BufferedWriter(FullDisk(temp, room=20_000), buffer_size=4096), temp

    monkeypatch.setattr(_output, "create_beside", beside)
    output = _output.open_output(str(tmp_path / name), dta.PbxActiveCall)
    with pytest.raises(OSError, match="No space"):
        fill(output)
    kept = output.abort()  # no second error while keeping what reached the disk
    assert kept == tmp_path / name.replace(".", ".partial.")
    assert names(tmp_path) == [kept.name]  # no temporary file left
    assert 0 < kept.stat().st_size <= 20_000


def full_disk_beside(path: Path, room: int = 30_000) -> tuple[io.BufferedWriter, Path]:
    temp = path.with_name(f".{path.name}.x.tmp")
    return io.BufferedWriter(FullDisk(temp, room), buffer_size=1024), temp


def readable_parquet(directory: Path) -> list[str]:
    import pyarrow.parquet as pq

    found = []
    for path in directory.glob("*.parquet"):
        pq.read_metadata(path)  # raises for a file without its footer
        found.append(path.name)
    return found


def test_a_full_disk_mid_parquet_keeps_no_unreadable_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialogtech_async import _output
    from dialogtech_async._arrow import BatchBuilder
    from dialogtech_async._convert import RecordConverter

    monkeypatch.setattr(_output, "create_beside", full_disk_beside)
    monkeypatch.setattr("dialogtech_async._parquet.ROW_GROUP_ROWS", 100)
    output = _output.open_output(str(tmp_path / "calls.parquet"), dta.PbxActiveCall)
    rows = [{"state": "ringing", "callRef": f"{i:040d}"} for i in range(2000)]
    batch = BatchBuilder(RecordConverter(dta.PbxActiveCall)).from_rows(rows)
    with pytest.raises(OSError, match="No space"):
        fill_parquet(output, batch)
    assert output.abort() is None  # a Parquet file without its footer is no file at all
    assert names(tmp_path) == []


def fill_parquet(output: Any, batch: Any) -> None:
    while True:
        output.write_batch(batch)


async def test_write_parquet_on_a_full_disk_keeps_no_unreadable_partial(
    server: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beside = functools.partial(full_disk_beside, room=3_000)
    monkeypatch.setattr("dialogtech_async._parquet.create_beside", beside)
    monkeypatch.setattr("dialogtech_async._parquet.ROW_GROUP_ROWS", 10)
    async with session(server) as s:
        with pytest.raises(OSError, match="No space"):
            await dta.write_parquet(
                s.click_to_report(START, dt.date(2024, 3, 1)), tmp_path / "r.parquet"
            )
    assert readable_parquet(tmp_path) == names(tmp_path)  # every file kept can be read

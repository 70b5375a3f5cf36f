"""The command line, end to end against its embedded sandbox."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import respx

import dialogtech_async
from dialogtech_async import _progress
from dialogtech_async._cli import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, main
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    DropMidBody,
    serve_in_thread,
)

REPORT = ["click-to-report", "--sandbox", "--quiet", "--start", "2024-01-01", "--end", "2024-01-31"]


def test_click_to_report_to_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.jsonl"
    assert main([*REPORT, "--rows", "300", "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300
    first = json.loads(lines[0])
    assert first["click_datetime"].startswith("2024-01-01")
    assert "300 records written" in capsys.readouterr().out


def test_xml_report_to_csv(tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    assert main([*REPORT, "--rows", "120", "--format", "xml", "--out", str(out)]) == 0
    with out.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 120
    assert rows[0]["caller_id"].isdigit()


def test_leadflow_and_click_to_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "calls.jsonl"
    args = ["leadflow-history", "--sandbox", "--quiet", "--rows", "50", "--out", str(out)]
    assert main([*args, "--start", "2024-01-01T00:00", "--end", "2024-01-02T00:00"]) == 0
    assert len(out.read_text().splitlines()) == 50
    assert main(["click-to-call", "--sandbox", "--phone", "3125550100", "--id", "8772955100"]) == 0
    assert capsys.readouterr().out.strip().endswith("Call Connected")


def test_an_error_prints_one_line_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.jsonl"
    args = ["click-to-report", "--sandbox", "--start", "2024-02-01", "--end", "2024-01-01"]
    assert main([*args, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: ValidationError")
    assert "Traceback" not in err[0]


def interrupt(tmp_path: Path, name: str, at_size: int, rows: str = "3000000") -> str:
    """Run a pull of ``name`` in a child process, Ctrl-C it once its temporary file has
    ``at_size`` bytes, and return its stderr."""
    command = [sys.executable, "-m", "dialogtech_async", *REPORT, "--rows", rows]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    out = tmp_path / name
    with subprocess.Popen(
        [*command, "--out", str(out)], stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            temps = list(tmp_path.glob(f".{name}.*.tmp"))
            if temps and temps[0].stat().st_size >= at_size:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == EXIT_INTERRUPTED
    assert not list(tmp_path.glob("*.tmp"))
    return stderr


def test_sigint_keeps_a_valid_partial_file_beside_the_untouched_one(tmp_path: Path) -> None:
    out = tmp_path / "big.jsonl"
    out.write_text("precious\n")
    stderr = interrupt(tmp_path, "big.jsonl", 100_000)
    assert out.read_text() == "precious\n"
    partial = tmp_path / "big.partial.jsonl"
    lines = partial.read_text(encoding="utf-8").splitlines()
    assert 0 < len(lines) < 3_000_000
    for line in lines:
        json.loads(line)  # every line whole
    assert f"interrupted: {len(lines):,} records written to {partial}" in stderr


def test_sigint_during_parquet_keeps_a_readable_partial(tmp_path: Path) -> None:
    stderr = interrupt(tmp_path, "big.parquet", 5)  # past the magic: a row group is out
    assert not (tmp_path / "big.parquet").exists()
    partial = tmp_path / "big.partial.parquet"
    (rows,) = duckdb.sql(f"SELECT count(*) FROM '{partial}'").fetchall()
    assert 0 < rows[0] < 3_000_000
    assert f"interrupted: {rows[0]:,} records written to {partial}" in stderr


def test_windowed_pull_writes_the_same_records(tmp_path: Path) -> None:
    whole, windowed = tmp_path / "whole.jsonl", tmp_path / "windowed.jsonl"
    args = [*REPORT, "--rows", "40"]
    assert main([*args, "--out", str(whole)]) == 0
    assert main([*args, "--window", "7d", "--concurrency", "3", "--out", str(windowed)]) == 0
    # Five windows of 40 sandbox rows each, in date order.
    records = [json.loads(line) for line in windowed.read_text().splitlines()]
    assert len(records) == 5 * 40
    times = [record["click_datetime"] for record in records]
    assert times == sorted(times)


def test_mid_stream_failure_keeps_what_was_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALOGTECH_ACCESS_KEY", SANDBOX_ACCESS_KEY)
    monkeypatch.setenv("DIALOGTECH_SECRET_ACCESS_KEY", SANDBOX_SECRET_ACCESS_KEY)
    out = tmp_path / "cut.jsonl"
    with serve_in_thread(rows=1000, chunk_rows=50) as sandbox:
        sandbox.app.add_fault(DropMidBody(after_records=300), action="report.clickto")
        args = [a for a in REPORT if a != "--sandbox"]
        status = main([*args, "--base-url", sandbox.base_url, "--out", str(out)])
    assert status == 1
    assert not out.exists()  # only a complete report takes the name
    partial = tmp_path / "cut.partial.jsonl"
    written = partial.read_text().splitlines()
    assert 0 < len(written) <= 300
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "StreamInterruptedError" in err[0]
    assert f"({len(written)} records written to {partial})" in err[0]
    assert SANDBOX_SECRET_ACCESS_KEY not in err[0]


# --- nothing is lost ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--start", "2024-02-01", "--end", "2024-01-31"],  # refused by the library
        ["--start", "2024-01-01", "--end", "2024-01-31", "--window", "0d"],  # by argparse
        ["--start", "2024-01-01", "--end", "2024-01-31", "--concurrency", "2"],
    ],
)
def test_refused_arguments_leave_an_existing_file_alone(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "keep.jsonl"
    out.write_text("precious\n")
    command = ["click-to-report", "--sandbox", "--quiet", *args, "--out", str(out)]
    try:
        status = main(command)
    except SystemExit as exc:  # argparse's refusal
        status = exc.code
    assert status in (1, 2)
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.jsonl"]


def test_missing_credentials_name_the_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DIALOGTECH_ACCESS_KEY", "DIALOGTECH_SECRET_ACCESS_KEY", "INFINITY_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("INFINITY_USERNAME", raising=False)
    out = tmp_path / "keep.jsonl"
    out.write_text("precious\n")
    args = ["--start", "2024-01-01", "--end", "2024-01-31", "--out", str(out)]
    assert main(["click-to-report", *args]) == 1
    err = capsys.readouterr().err
    assert "DIALOGTECH_ACCESS_KEY and DIALOGTECH_SECRET_ACCESS_KEY" in err
    assert "pass it" not in err
    assert main(["infinity", "user-status", "--igrp", "1", "--out", str(out)]) == 1
    assert "INFINITY_API_KEY, or INFINITY_USERNAME and INFINITY_PASSWORD" in capsys.readouterr().err
    assert out.read_text() == "precious\n"


def test_concurrency_without_window_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*REPORT, "--concurrency", "8", "--out", "x.jsonl"])
    assert exit_.value.code == 2
    assert "--concurrency needs --window" in capsys.readouterr().err


def test_out_dash_writes_json_lines_to_stdout() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "dialogtech_async", *REPORT[:2], *REPORT[3:]]
    done = subprocess.run(
        [*command, "--rows", "150", "--out", "-"], capture_output=True, env=env, check=True
    )
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 150
    assert all(json.loads(line)["caller_id"] for line in lines)
    assert "150 records written to standard output" in done.stderr.decode()


# --- help and messages -------------------------------------------------------------------


def test_help_is_plain_text_with_each_commands_purpose(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text
    assert "DIALOGTECH_ACCESS_KEY" in text
    assert "pull the click-to report" in text
    assert "pull the LeadFlow call history" in text
    with pytest.raises(SystemExit):
        main(["click-to-call", "--help"])
    text = capsys.readouterr().out
    assert "place a click-to-call" in text
    assert "which number is dialled first" in " ".join(text.split())  # --type explained
    with pytest.raises(SystemExit):
        main(["click-to-report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "the body the API is asked for" in text  # --format
    assert "report.parquet" in text
    with pytest.raises(SystemExit):
        main(["infinity", "user-status", "--help"])
    assert "time zone of the times" in capsys.readouterr().out  # --tz
    with pytest.raises(SystemExit):
        main(["pull", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "``" not in text
    assert "many accounts into a Parquet dataset" in text
    assert "click-to (the click-to report) or leadflow" in text  # --report


def test_argument_errors_name_what_was_expected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["click-to-report", "--start", "2024-13-01", "--end", "2024-01-31", "--out", "x"])
    err = capsys.readouterr().err
    assert "expected a date, YYYY-MM-DD, got '2024-13-01'" in err
    assert "_date" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"dialogtech-async {dialogtech_async.__version__}"


def test_final_line_is_formatted_like_the_progress_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress, "PLAIN_INTERVAL", 0.0)  # a plain line at every batch
    out = tmp_path / "r.jsonl"
    args = [a for a in REPORT if a != "--quiet"]
    assert main([*args, "--rows", "5000", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    figures = r"[\d,]+ records{}  [\d,]+ bytes  [\d,]+ rec/s  \d+\.\d s"
    progress = captured.err.strip().splitlines()
    assert progress
    assert all(re.fullmatch(figures.format(""), line) for line in progress), progress
    where = f" written to {re.escape(str(out))}"
    assert re.fullmatch(figures.format(where), captured.out.strip())
    assert captured.out.startswith("5,000 records written")


def test_rich_bar_on_a_terminal_counts_windows() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    class Pull:
        records_yielded, bytes_read, windows_done, windows_total = 12_345, 999_999, 2, 5

    screen = Terminal()
    progress = _progress.Progress(screen)
    progress.update(Pull())
    progress.stop(Pull())
    text = screen.getvalue()
    assert "12,345 records" in text
    assert "2/5" in text
    assert "windows" in text


# --- output formats ----------------------------------------------------------------------


def test_a_decimal_inside_extra_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DIALOGTECH_ACCESS_KEY", "ak")
    monkeypatch.setenv("DIALOGTECH_SECRET_ACCESS_KEY", "sk")
    body = b'[{"call_date": "2024-01-01 10:00:00", "sid": "a", "new_field": [1.5, {"x": 2.25}]}]'
    out = tmp_path / "calls.jsonl"
    with respx.mock:
        respx.get(url__startswith="https://proxy.test/").respond(
            200, content=body, headers={"Content-Type": "application/json"}
        )
        args = ["leadflow-history", "--base-url", "https://proxy.test", "--quiet"]
        assert main([*args, "--sid", "a", "--out", str(out)]) == 0, capsys.readouterr().err
    (line,) = out.read_text().splitlines()
    assert json.loads(line)["extra"] == {"new_field": ["1.5", {"x": "2.25"}]}


def test_parquet_holds_the_json_lines_values(tmp_path: Path) -> None:
    jsonl, parquet = tmp_path / "r.jsonl", tmp_path / "r.parquet"
    args = ["leadflow-history", "--sandbox", "--quiet", "--rows", "400"]
    span = ["--start", "2024-01-01T00:00", "--end", "2024-01-03T00:00", "--window", "1d"]
    assert main([*args, *span, "--out", str(jsonl)]) == 0
    assert main([*args, *span, "--out", str(parquet)]) == 0
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    table = duckdb.sql(f"SELECT * FROM '{parquet}'").to_arrow_table()
    assert table.num_rows == len(lines) == 3 * 400
    for line, row in zip(lines, table.to_pylist(), strict=True):
        for name, value in row.items():
            if name == "extra":
                assert (json.loads(value) if value else {}) == line[name]
            elif isinstance(value, (dt.datetime, decimal.Decimal)):
                assert value == (
                    dt.datetime.fromisoformat(line[name])
                    if isinstance(value, dt.datetime)
                    else decimal.Decimal(line[name])
                ), name
            else:
                assert value == line[name], name


def test_csv_and_jsonl_hold_the_same_values(tmp_path: Path) -> None:
    jsonl, table = tmp_path / "r.jsonl", tmp_path / "r.csv"
    for out in (jsonl, table):
        assert main([*REPORT, "--rows", "200", "--format", "xml", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    with table.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(lines) == 200
    assert list(rows[0]) == list(lines[0])  # the records' field order
    for row, line in zip(rows, lines, strict=True):
        for name, value in line.items():
            if name == "extra":
                assert json.loads(row[name]) == value
            else:
                assert row[name] == ("" if value is None else str(value)), name


def test_parquet_without_pyarrow_says_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` fails
    out = tmp_path / "r.parquet"
    assert main([*REPORT, "--rows", "10", "--out", str(out)]) == 1
    assert "pip install 'dialogtech-async[arrow]'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_reader_that_stops_early_ends_the_pull_quietly() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "dialogtech_async", *REPORT, "--rows", "300000", "--out", "-"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as child:
        assert child.stdout is not None
        json.loads(child.stdout.readline())  # `| head -1`
        child.stdout.close()
        _, stderr = child.communicate(timeout=120)
    assert child.returncode == EXIT_BROKEN_PIPE
    assert b"Traceback" not in stderr

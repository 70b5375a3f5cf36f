"""The command line, end to end against its embedded sandbox."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dialogtech_async._cli import EXIT_INTERRUPTED, main
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


def test_sigint_leaves_a_valid_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "big.jsonl"
    command = [sys.executable, "-m", "dialogtech_async", *REPORT, "--rows", "3000000"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    with subprocess.Popen(
        [*command, "--out", str(out)], stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        deadline = time.monotonic() + 60
        while (not out.exists() or out.stat().st_size < 100_000) and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == EXIT_INTERRUPTED
    lines = out.read_text(encoding="utf-8").splitlines()
    assert 0 < len(lines) < 3_000_000
    for line in lines:
        json.loads(line)  # every line whole
    assert f"interrupted: {len(lines)} records written" in stderr


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
    written = out.read_text().splitlines()
    assert 0 < len(written) <= 300
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "StreamInterruptedError" in err[0]
    assert f"({len(written)} records written to" in err[0]
    assert SANDBOX_SECRET_ACCESS_KEY not in err[0]

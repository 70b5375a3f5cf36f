"""``dialogtech-async pull``: accounts.toml, exit statuses, keys kept out of the output."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dialogtech_async import ValidationError
from dialogtech_async._dataset_cli import add_pull_command, load_accounts, run_pull
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    RunningSandbox,
    serve_in_thread,
)

ACCOUNTS = """
[accounts.acme]
access_key_env = "ACME_KEY"
secret_access_key_env = "ACME_SECRET"

[accounts.globex]
access_key_env = "GLOBEX_KEY"
secret_access_key_env = "GLOBEX_SECRET"
api_key_env = "GLOBEX_API_KEY"
"""
ENV = {
    "ACME_KEY": "acme-key",
    "ACME_SECRET": "acme-secret-123",
    "GLOBEX_KEY": "globex-key",
    "GLOBEX_SECRET": "globex-secret-456",
    "GLOBEX_API_KEY": "globex-api-789",
}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=5) as running:
        yield running


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dialogtech-async")
    add_pull_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["pull", *argv])


def accounts_file(tmp_path: Path, text: str = ACCOUNTS) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(text)
    return path


def test_accounts_come_from_the_environment_variables_the_file_names(tmp_path: Path) -> None:
    acme, globex = load_accounts(accounts_file(tmp_path), ENV)
    assert (acme.name, acme.access_key, acme.secret_access_key, acme.api_key) == (
        "acme",
        "acme-key",
        "acme-secret-123",
        None,
    )
    assert globex.api_key == "globex-api-789"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[accounts.acme]\naccess_key = "k"\nsecret_access_key = "s"\n', "holds a key itself"),
        ('[accounts.acme]\naccess_key_env = "ACME_KEY"\n', "secret_access_key_env"),
        (
            '[accounts.acme]\naccess_key_env = "ACME_KEY"\nsecret_access_key_env = "UNSET"\n',
            "UNSET is not set",
        ),
        ("title = 'no accounts'\n", "no \\[accounts"),
        ("[accounts\n", "not valid TOML"),
        ('[accounts.acme]\naccess_key_env = "A"\nsecret_env = "B"\n', "unknown"),
    ],
)
def test_a_bad_accounts_file_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        load_accounts(accounts_file(tmp_path, text), ENV)
    assert "acme-key" not in str(caught.value)


def test_window_and_report_spellings() -> None:
    args = parse(
        "--sandbox", "--report", "click-to", "--start", "2024-01-01", "--end", "2024-01-31",
        "--window", "1w", "--out", "x",
    )  # fmt: skip
    assert args.window.days == 7
    with pytest.raises(SystemExit):
        parse("--sandbox", "--report", "click-to", "--start", "2024-01-01", "--end", "2024-01-02",
              "--window", "36h", "--out", "x")  # fmt: skip


def test_sandbox_pull_then_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = (
        "--sandbox", "--rows", "3", "--accounts", str(accounts_file(tmp_path)),
        "--report", "click-to", "--start", "2024-01-01", "--end", "2024-01-02",
        "--out", str(tmp_path / "dataset"), "--workers", "1",
    )  # fmt: skip
    assert run_pull(parse(*argv)) == 0
    out = capsys.readouterr().out
    assert "4 partitions written, 0 skipped, 0 failed" in out
    files = sorted((tmp_path / "dataset").rglob("*.parquet"))
    assert [f.relative_to(tmp_path / "dataset").parts[1:3] for f in files] == [
        ("account=acme", "date=2024-01-01"),
        ("account=acme", "date=2024-01-02"),
        ("account=globex", "date=2024-01-01"),
        ("account=globex", "date=2024-01-02"),
    ]
    assert {pq.read_metadata(f).num_rows for f in files} == {3}

    assert run_pull(parse(*argv)) == 0
    assert "0 partitions written, 4 skipped" in capsys.readouterr().out


def test_failed_windows_exit_1_and_keys_stay_out_of_the_output(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sandbox: RunningSandbox,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ACME_KEY", SANDBOX_ACCESS_KEY)
    monkeypatch.setenv("ACME_SECRET", SANDBOX_SECRET_ACCESS_KEY)
    args = parse(
        "--accounts", str(accounts_file(tmp_path)), "--base-url", sandbox.base_url,
        "--report", "leadflow", "--start", "2024-01-01", "--end", "2024-01-01",
        "--out", str(tmp_path / "dataset"), "--workers", "1",
    )  # fmt: skip
    status = run_pull(args)
    assert status == 1
    captured = capsys.readouterr()
    assert "1 partitions written, 0 skipped, 1 failed" in captured.out
    assert "failed: globex 2024-01-01..2024-01-01: AuthenticationError" in captured.out
    assert "_failed.json" in captured.out
    for secret in ("globex-secret-456", "globex-api-789", "globex-key"):
        assert secret not in captured.out + captured.err


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(
        "--report", "click-to", "--start", "2024-01-02", "--end", "2024-01-01",
        "--out", str(tmp_path), "--accounts", str(accounts_file(tmp_path, "[accounts\n")),
    )  # fmt: skip
    assert run_pull(args) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_the_progress_bar_shows_the_dashboard_link(capsys: pytest.CaptureFixture[str]) -> None:
    from dialogtech_async._dataset_cli import _Bar
    from dialogtech_async.dataset import PullProgress

    bar = _Bar()
    with bar.progress:
        bar(PullProgress(0, 4, "http://127.0.0.1:8787/status"))
        bar(PullProgress(4, 4, "http://127.0.0.1:8787/status"))
    err = capsys.readouterr().err
    assert "Dask dashboard: http://127.0.0.1:8787/status" in err
    assert "4/4" in err


def test_ctrl_c_says_what_is_kept_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dialogtech_async import dataset

    def interrupted(**arguments: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(dataset, "pull", interrupted)
    args = parse(
        "--report", "click-to", "--start", "2024-01-01", "--end", "2024-01-02",
        "--out", str(tmp_path), "--sandbox",
    )  # fmt: skip
    assert run_pull(args) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err
    assert "run the same command again" in err


@pytest.mark.parametrize("missing", ["rich", "distributed"])
def test_a_missing_extra_is_one_line_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    missing: str,
) -> None:
    import sys

    if missing == "rich":
        monkeypatch.setitem(sys.modules, "rich.console", None)
    else:
        monkeypatch.setitem(sys.modules, "distributed", None)
    args = parse(
        "--report", "click-to", "--start", "2024-01-01", "--end", "2024-01-02",
        "--out", str(tmp_path), "--sandbox",
    )  # fmt: skip
    assert run_pull(args) == 1
    [line] = capsys.readouterr().err.strip().splitlines()  # no traceback
    assert line.startswith("error: ImportError:")
    assert "pip install 'dialogtech-async[" in line

"""dataset.pull(): many accounts on a LocalCluster of 2 worker processes, against the sandbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import duckdb
import httpx
import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster

from dialogtech_async import ValidationError
from dialogtech_async.dataset import Account, pull
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    DropMidBody,
    ErrorStatus,
    Latency,
    RunningSandbox,
    click_to_rows,
    leadflow_rows,
    serve_in_thread,
)

ROWS = 7  # records the sandbox sends per request (per window)
# More than one Arrow batch (256 rows) a window: a break after it comes after records.
LONG_ROWS = 600
JAN_1 = dt.date(2024, 1, 1)
ACME = Account("acme", SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY)
GLOBEX = Account("globex", SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=ROWS) as running:
        yield running


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """2 worker processes of 3 threads; leases of a killed worker expire in seconds."""
    fast_leases = {
        "distributed.scheduler.locks.lease-timeout": "3s",
        "distributed.scheduler.locks.lease-validation-interval": "0.5s",
    }
    with (
        dask.config.set(fast_leases),
        LocalCluster(
            n_workers=2, threads_per_worker=3, processes=True, dashboard_address=":0"
        ) as local,
    ):
        yield local


def days(n: int) -> dt.date:
    return JAN_1 + dt.timedelta(days=n - 1)


def parquet_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def run(cluster: LocalCluster, sandbox: RunningSandbox, out: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "accounts": [ACME],
        "report": "click_to_report",
        "start": JAN_1,
        "end": days(4),
        "window": dt.timedelta(days=1),
        "out": out,
        "scheduler": cluster.scheduler_address,
        "base_url": sandbox.base_url,
        "per_account_concurrency": 4,
    }
    return pull(**{**arguments, **kwargs})  # type: ignore[arg-type]


def test_every_partition_written_once_with_the_sandboxs_rows_then_skipped(
    cluster: LocalCluster, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    result = run(cluster, sandbox, tmp_path, accounts=[ACME, GLOBEX], end=days(3))
    assert result.ok
    assert result.failed == []
    assert result.skipped == []
    assert [(p.account, p.start, p.end) for p in result.written] == [
        (name, days(d), days(d)) for name in ("acme", "globex") for d in (1, 2, 3)
    ]
    assert sandbox.app.requests["report.clickto"] == 6
    for part in result.written:
        path = Path(part.path)
        assert path == (
            tmp_path / "report=click_to_report" / f"account={part.account}"
            f"/date={part.start}" / "part-0.parquet"
        )
        table = pq.read_table(path)
        expected = list(click_to_rows(part.start, part.end, rows=ROWS))
        assert part.rows == table.num_rows == ROWS
        assert table.column("caller_id").to_pylist() == [r["Caller ID"] for r in expected]
        assert {t.date() for t in table.column("click_datetime").to_pylist()} == {part.start}
    assert parquet_files(tmp_path) == sorted(Path(p.path) for p in result.written)
    assert not list(tmp_path.rglob("*.tmp"))
    assert not (tmp_path / "report=click_to_report" / "_failed.json").exists()

    again = run(cluster, sandbox, tmp_path, accounts=[ACME, GLOBEX], end=days(3))
    assert again.written == []
    assert again.failed == []
    assert [(p.account, p.start) for p in again.skipped] == [
        (p.account, p.start) for p in result.written
    ]
    assert sandbox.app.requests["report.clickto"] == 6  # nothing pulled twice


def test_leadflow_history_partitions_hold_whole_days(
    cluster: LocalCluster, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    result = run(cluster, sandbox, tmp_path, report="leadflow_history", end=days(2))
    assert result.ok
    assert [p.start for p in result.written] == [days(1), days(2)]
    for part in result.written:
        table = pq.read_table(part.path)
        start = dt.datetime.combine(part.start, dt.time())
        last = start + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
        expected = list(leadflow_rows(start, last, rows=ROWS))
        assert table.column("sid").to_pylist() == [r["sid"] for r in expected]
    assert sandbox.app.requests["leadflow.history"] == 2


def test_a_window_failing_after_its_retries_is_listed_and_the_rest_complete(
    cluster: LocalCluster, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # One lease: the first window holds it through its 3 tries, so it takes all 3 errors.
    sandbox.app.add_fault(ErrorStatus(503, retry_after=0), action="report.clickto", times=3)
    result = run(cluster, sandbox, tmp_path, per_account_concurrency=1, max_retries=2)
    assert not result.ok
    [failed] = result.failed
    assert failed.account == "acme"
    assert failed.error.startswith("ServerError")
    assert len(result.written) == 3
    assert failed.start not in {p.start for p in result.written}
    assert len(parquet_files(tmp_path)) == 3
    listed = json.loads(Path(result.failed_file or "").read_text())
    assert listed == {
        "report": "click_to_report",
        "failed": [
            {
                "account": "acme",
                "start": str(failed.start),
                "end": str(failed.end),
                "error": failed.error,
            }
        ],
    }

    resumed = run(cluster, sandbox, tmp_path)  # pulls only the window that failed
    assert resumed.ok
    assert [p.start for p in resumed.written] == [failed.start]
    assert len(resumed.skipped) == 3
    assert not Path(result.failed_file or "").exists()
    assert sandbox.app.requests["report.clickto"] == 4 + 2 + 1


@pytest.fixture
def long_sandbox() -> Iterator[RunningSandbox]:
    """Windows long enough for Arrow batches to be handed out before a break."""
    with serve_in_thread(rows=LONG_ROWS, chunk_rows=100) as running:
        yield running


def test_a_stream_broken_mid_body_is_pulled_again_whole(
    cluster: LocalCluster, long_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """A partition is rewritten from its first record, so a broken stream is retried."""
    fault = DropMidBody(after_records=LONG_ROWS - 100)
    long_sandbox.app.add_fault(fault, action="report.clickto", times=1)
    result = run(cluster, long_sandbox, tmp_path)
    assert result.ok
    assert [p.rows for p in result.written] == [LONG_ROWS] * 4
    assert long_sandbox.app.requests["report.clickto"] == 4 + 1


def test_a_window_broken_after_its_retries_leaves_no_file_behind(
    cluster: LocalCluster, long_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Records arrived before each break: no partial Parquet file is left in the dataset."""
    fault = DropMidBody(after_records=LONG_ROWS - 100)
    long_sandbox.app.add_fault(fault, action="report.clickto", times=3)
    result = run(cluster, long_sandbox, tmp_path, per_account_concurrency=1, max_retries=2)
    [failed] = result.failed
    assert failed.error.startswith("StreamInterruptedError")
    assert len(result.written) == 3
    broken = tmp_path / "report=click_to_report" / "account=acme" / f"date={failed.start}"
    assert not broken.exists() or not list(broken.iterdir())
    assert len(parquet_files(tmp_path)) == 3


def test_429s_are_retried_inside_the_task(
    cluster: LocalCluster, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox.app.add_fault(ErrorStatus(429, retry_after=0), action="report.clickto", times=2)
    result = run(cluster, sandbox, tmp_path, end=days(3))
    assert result.ok
    assert [p.rows for p in result.written] == [ROWS] * 3
    assert sandbox.app.requests["report.clickto"] == 3 + 2


def test_the_per_account_semaphore_holds_across_the_cluster(
    cluster: LocalCluster, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # 6 threads in 2 processes could send 6 requests at once; the semaphore allows 2.
    sandbox.app.add_fault(Latency(0.2), action="report.clickto", times=None)
    result = run(cluster, sandbox, tmp_path, end=days(8), per_account_concurrency=2)
    assert result.ok
    assert len(result.written) == 8
    assert 1 <= sandbox.app.max_concurrent_requests[SANDBOX_ACCESS_KEY] <= 2


async def test_the_sandbox_counts_concurrent_requests_per_access_key(
    sandbox: RunningSandbox,
) -> None:
    """What the semaphore test reads could show more than 2: three requests held at once."""
    sandbox.app.add_fault(Latency(1.0), action="report.clickto", times=3)
    params = {
        "action": "report.clickto",
        "access_key": SANDBOX_ACCESS_KEY,
        "secret_access_key": SANDBOX_SECRET_ACCESS_KEY,
        "start_date": "20240101",
        "end_date": "20240101",
    }
    async with httpx.AsyncClient(base_url=sandbox.base_url) as client:
        await asyncio.gather(*(client.get("/ibp_api.php", params=params) for _ in range(3)))
        await client.get("/ibp_api.php", params={**params, "access_key": "other"})
    assert sandbox.app.max_concurrent_requests == {SANDBOX_ACCESS_KEY: 3, "other": 1}


def test_keys_never_show_in_reprs_errors_logs_or_failed_json(
    cluster: LocalCluster,
    sandbox: RunningSandbox,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = Account("acme", "key-1a2b3c", "secret-9z8y7x", api_key="apikey-5q6w")
    assert "key-1a2b3c" not in repr(wrong)
    assert "secret-9z8y7x" not in repr(wrong)
    assert "apikey-5q6w" not in repr(wrong)
    assert "acme" in repr(wrong)
    with caplog.at_level(logging.DEBUG):
        result = run(cluster, sandbox, tmp_path, accounts=[wrong], end=days(2))
        leadflow = run(
            cluster, sandbox, tmp_path, accounts=[wrong], report="leadflow_history", end=days(1)
        )
    failures = result.failed + leadflow.failed
    assert len(failures) == 3
    assert all(f.error.startswith("AuthenticationError") for f in failures)
    texts = [
        repr(result),
        repr(leadflow),
        caplog.text,
        Path(result.failed_file or "").read_text(),
        Path(leadflow.failed_file or "").read_text(),
    ]
    assert "acme" in caplog.text
    for text in texts:
        for key in ("key-1a2b3c", "secret-9z8y7x", "apikey-5q6w"):
            assert key not in text


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"report": "pbx_active_calls"}, "report"),
        ({"accounts": []}, "accounts"),
        ({"accounts": [ACME, ACME]}, "accounts"),
        ({"window": dt.timedelta(hours=36)}, "window"),
        ({"end": dt.date(2023, 12, 31)}, "end"),
        ({"per_account_concurrency": 0}, "per_account_concurrency"),
        ({"per_account_concurrency": True}, "per_account_concurrency"),
        ({"window": 1}, "window"),
        ({"start": dt.datetime(2024, 1, 1, 12)}, "start"),
        ({"end": "2024-01-02"}, "end"),
        ({"workers": 1.5}, "workers"),
        ({"max_retries": -1}, "max_retries"),
        ({"base_url": "localhost:8000"}, "base_url"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(
    tmp_path: Path, changes: dict[str, object], parameter: str
) -> None:
    arguments: dict[str, object] = {
        "accounts": [ACME],
        "report": "click_to_report",
        "start": JAN_1,
        "end": JAN_1,
        "out": tmp_path,
        "scheduler": "tcp://127.0.0.1:1",  # never reached
        **changes,
    }
    with pytest.raises(ValidationError) as caught:
        pull(**arguments)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["", "a/b", "..", "a=b", " acme", "c:\\x", "a\nb"])
def test_an_account_name_must_name_a_directory(name: str) -> None:
    with pytest.raises(ValidationError, match="account name"):
        Account(name, "k", "s")


def test_an_account_needs_its_keys() -> None:
    with pytest.raises(ValidationError, match="secret_access_key"):
        Account("acme", "k", "")


def test_the_embedded_local_cluster_is_the_default(sandbox: RunningSandbox, tmp_path: Path) -> None:
    seen = []
    result = pull(
        accounts=[ACME],
        report="click_to_report",
        start=JAN_1,
        end=days(2),
        out=tmp_path,
        base_url=sandbox.base_url,
        workers=1,
        progress=seen.append,
    )
    assert [p.rows for p in result.written] == [ROWS, ROWS]
    assert [(s.done, s.total) for s in seen] == [(0, 2), (1, 2), (2, 2)]


def test_a_worker_killed_mid_pull_leaves_every_partition_complete_once(
    cluster: LocalCluster, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # Slow requests, so that the kill lands while tasks are running on both workers.
    sandbox.app.add_fault(Latency(0.3), action="report.clickto", times=None)
    outcome: list[object] = []
    puller = threading.Thread(
        target=lambda: outcome.append(
            run(cluster, sandbox, tmp_path, accounts=[ACME, GLOBEX], end=days(8))
        )
    )
    with Client(cluster) as client:
        pids = client.run(os.getpid)
        puller.start()
        while not parquet_files(tmp_path) and puller.is_alive():
            time.sleep(0.02)
        time.sleep(0.15)  # the next windows' requests are now waiting out their latency
        busy = [address for address, keys in client.processing().items() if keys]
        victim = pids[(busy or list(pids))[0]]  # one running tasks, when the pull has any
        assert puller.is_alive()  # mid-pull
        os.kill(victim, signal.SIGKILL)
        puller.join(timeout=120)
        assert not puller.is_alive()
        client.wait_for_workers(2, timeout=60)  # the nanny restarts it for the next tests
        assert victim not in client.run(os.getpid).values()
    [result] = outcome
    assert result.failed == []  # type: ignore[attr-defined]
    assert len(result.written) + len(result.skipped) == 16  # type: ignore[attr-defined]
    files = parquet_files(tmp_path)
    assert len(files) == 16
    assert not list(tmp_path.rglob("*.tmp"))
    counts = duckdb.sql(
        f"SELECT account, date, count(*) FROM read_parquet('{tmp_path}/**/*.parquet',"
        " hive_partitioning=true) GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert counts == [(name, days(d), ROWS) for name in ("acme", "globex") for d in range(1, 9)]


def test_the_contracts_keywords() -> None:
    import inspect

    contract = {"accounts", "report", "start", "end", "window", "out", "scheduler"}
    contract |= {"per_account_concurrency", "base_url"}
    parameters = inspect.signature(pull).parameters
    assert contract <= set(parameters)
    assert parameters["scheduler"].default is None
    assert parameters["per_account_concurrency"].default == 4
    assert parameters["base_url"].default is None


def test_failed_windows_of_other_days_stay_listed_until_pulled(
    cluster: LocalCluster, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox.app.add_fault(ErrorStatus(503, retry_after=0), action="report.clickto", times=1)
    first = run(cluster, sandbox, tmp_path, end=days(1), max_retries=0)
    [failed] = first.failed
    later = run(cluster, sandbox, tmp_path, start=days(2), end=days(2))  # other days: ok
    assert later.ok
    assert later.failed_file == first.failed_file  # day 1 is still missing: still listed
    listed = json.loads(Path(later.failed_file or "").read_text())["failed"]
    assert [(e["account"], e["start"]) for e in listed] == [("acme", str(failed.start))]
    resumed = run(cluster, sandbox, tmp_path, end=days(2))
    assert resumed.ok
    assert resumed.failed_file is None
    assert not Path(first.failed_file or "").exists()


def test_a_relative_out_is_the_callers_directory_not_the_workers(
    cluster: LocalCluster, sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the workers were started elsewhere
    result = run(cluster, sandbox, Path("dataset"), end=days(1))
    assert result.ok
    assert parquet_files(tmp_path / "dataset") == [Path(result.written[0].path)]

"""What one Dask task of ``dataset.pull`` does: pull one (account, window), write its file.

Runs on the workers. A task never raises for a failed window: it returns an ``Outcome``
whose error text is already redacted, so secrets never travel back in a traceback and one
window's failure never stops the rest.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ._bulk import split_range
from ._dialogtech import Session
from ._exceptions import StreamInterruptedError
from ._parquet import write_parquet
from ._redact import REDACTED, redact_text, secret_forms
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from distributed import Semaphore

    from ._report import Report

#: The reports a dataset can hold, by the name used in its ``report=`` directory.
REPORTS = ("click_to_report", "leadflow_history")
ReportName = Literal["click_to_report", "leadflow_history"]
#: One file per partition; a fixed name makes "already written" a single ``stat``.
PART_NAME = "part-0.parquet"
#: Where the windows that still failed after their retries are listed, per report.
FAILED_NAME = "_failed.json"


@attrs.define(frozen=True, slots=True, repr=False)
class Credentials:
    """One account's keys, as a task carries them to a worker."""

    access_key: str
    secret_access_key: str
    api_key: str | None = None

    def __repr__(self) -> str:
        return f"Credentials({REDACTED})"

    def secrets(self) -> set[str]:
        """Every spelling of every key, for redacting error text."""
        keys = (self.access_key, self.secret_access_key, self.api_key)
        return {form for key in keys if key for form in secret_forms(key)}


@attrs.define(frozen=True, slots=True)
class Task:
    """One (account, window) to pull into ``path``."""

    report: ReportName
    account: str
    credentials: Credentials
    start: dt.date
    end: dt.date
    path: str
    base_url: str | None
    max_retries: int


@attrs.define(frozen=True, slots=True)
class Outcome:
    """What a task did: ``written`` (with its row count), ``skipped`` or ``failed``."""

    status: Literal["written", "skipped", "failed"]
    rows: int | None = None
    error: str | None = None  # "<ErrorType>: <redacted message>"


def windows(start: dt.date, end: dt.date, window: dt.timedelta) -> list[tuple[dt.date, dt.date]]:
    """Inclusive (first, last) day pairs covering ``start``..``end``."""
    return split_range(start, end, window, dt.timedelta(days=1))


def partition_path(out: Path, report: str, account: str, start: dt.date) -> Path:
    """``out/report=<report>/account=<account>/date=<start>/part-0.parquet`` (Hive style)."""
    return out / f"report={report}" / f"account={account}" / f"date={start}" / PART_NAME


def run_task(task: Task, semaphore: Semaphore) -> Outcome:
    """Pull ``task``'s window unless its file exists (a Dask task: runs on a worker)."""
    path = Path(task.path)
    if path.exists():  # written by an earlier run, or by this task before its worker died
        return Outcome("skipped")
    try:
        # Held until the response is read: at most max_leases requests per account.
        with semaphore:
            rows = asyncio.run(_pull_retrying(task, path))
    except Exception as exc:
        message = redact_text(str(exc), task.credentials.secrets())
        return Outcome("failed", error=f"{type(exc).__name__}: {message}")
    return Outcome("written", rows=rows)


async def _pull_retrying(task: Task, path: Path) -> int:
    """``_pull``, again when the connection broke mid-body, within the retry budget.

    A session never retries a stream that has delivered records, since they would be
    delivered twice; a partition is rewritten from its first record, so here it is safe.
    """
    policy = RetryPolicy(max_retries=task.max_retries)
    for retry in range(task.max_retries + 1):
        try:
            return await _pull(task, path)
        except StreamInterruptedError:
            if retry == task.max_retries:
                raise
            await asyncio.sleep(policy.delay(retry))
    raise AssertionError("unreachable")  # pragma: no cover


async def _pull(task: Task, path: Path) -> int:
    keys = task.credentials
    # One base_url reaches every endpoint (the sandbox's, a proxy's).
    urls: dict[str, Any] = {} if task.base_url is None else {"base_url": task.base_url}
    async with Session(
        keys.access_key,
        keys.secret_access_key,
        api_key=keys.api_key,
        max_retries=task.max_retries,
        **urls,
    ) as session:
        report: Report[Any]
        if task.report == "click_to_report":
            report = session.click_to_report(task.start, task.end)
        else:
            # Whole days in the API's zone: the last day ends a microsecond before midnight.
            last = dt.datetime.combine(task.end + dt.timedelta(days=1), dt.time())
            report = session.leadflow_history(task.start, last - dt.timedelta(microseconds=1))
        return await _write_partition(report, path)


async def _write_partition(report: Report[Any], path: Path) -> int:
    """Write ``report`` to ``path`` atomically; return its row count.

    A temporary name in the same directory, then a rename: a reader (or a resumed pull)
    sees the whole file or none. The temporary name does not end in ``.parquet``, so no
    partial file (write_parquet keeps one on failure) is ever read as part of the dataset.
    Leftovers of workers that died are removed first: every ``*.tmp`` in a partition's
    directory belongs to that partition.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob("*.tmp"):
        stale.unlink(missing_ok=True)
    token = uuid.uuid4().hex
    temporary = path.with_name(f".{path.name}.{token}.tmp")
    try:
        rows = await write_parquet(report, temporary)
        _fsync(temporary)  # the rename must not outlive the data on a crash
        os.replace(temporary, path)
    finally:
        for leftover in path.parent.glob(f"*{token}*"):
            leftover.unlink(missing_ok=True)
    return rows


def _fsync(path: Path) -> None:
    with open(path, "rb") as file:
        os.fsync(file.fileno())

"""Many accounts, many windows: reports pulled on Dask distributed into a Parquet dataset.

::

    from dialogtech_async.dataset import Account, pull

    result = pull(
        accounts=[Account(name="acme", access_key="...", secret_access_key="...")],
        report="click_to_report",              # or "leadflow_history"
        start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31), window=dt.timedelta(days=1),
        out="dataset/",
    )
    result.written, result.skipped, result.failed

One Dask task per (account, window) writes
``out/report=<report>/account=<name>/date=<window start>/part-0.parquet`` under a
temporary name, then renames it, so a file on disk is always whole. A second run with
the same arguments skips the files that exist and pulls only what is missing (or failed).
Requests to one account are limited cluster-wide by a ``distributed.Semaphore`` per
account; 429s and 5xx are retried inside the task by the session's retry policy (and a
stream broken mid-body is pulled again whole, within the same budget); a window
that still fails is listed in ``result.failed`` and in ``out/report=<report>/_failed.json``.

``scheduler=None`` starts a ``LocalCluster`` of worker processes for the call; an address
(``"tcp://host:8786"``) or a ``distributed.Client`` uses that cluster instead. ``out`` must
be a directory every worker can reach under the same path. Credentials are sent to the
workers with each task: on a real cluster, use TLS for Dask's comms (``tls://``
addresses, a ``distributed.security.Security``).

Needs the ``dataset`` extra: ``pip install 'dialogtech-async[dataset]'``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from . import _validate as check
from ._config import DEFAULT_MAX_RETRIES
from ._dataset import (
    FAILED_NAME,
    REPORTS,
    Credentials,
    Outcome,
    ReportName,
    Task,
    partition_path,
    run_task,
    windows,
)
from ._exceptions import ValidationError
from ._redact import REDACTED

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "REPORTS",
    "Account",
    "FailedPartition",
    "Partition",
    "PullProgress",
    "PullResult",
    "pull",
]

logger = logging.getLogger("dialogtech_async.dataset")

#: Threads per worker process of the embedded cluster: while one task parses, another's
#: request is on the network.
LOCAL_THREADS_PER_WORKER = 2
#: Characters an account name must not hold: it is a directory name and a Hive value.
#: ``%``: Hive readers (pyarrow, DuckDB) decode ``%XX`` in a value, so ``a%20b`` reads as ``a b``.
_UNSAFE_NAME = frozenset('/\\=:*?"<>|%\0')


def _check_name(instance: Account, attribute: attrs.Attribute[str], value: str) -> None:
    if (
        not isinstance(value, str)
        or value.strip() != value
        or value in ("", ".", "..")
        or _UNSAFE_NAME.intersection(value)
        or not value.isprintable()
    ):
        raise ValidationError(
            f"account name {value!r} cannot name a directory (no /, \\, =, :, %, spaces around)",
            parameter="accounts",
        )


def _check_key(instance: Account, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.name == "api_key":
        return
    if not isinstance(value, str) or not value:
        raise ValidationError(
            f"account {instance.name!r}: {attribute.name} must be a non-empty string",
            parameter="accounts",
        )


@attrs.define(frozen=True, slots=True, repr=False)
class Account:
    """One DialogTech account: a name for its directory, and its keys.

    The repr shows the name only; the keys are ``***`` in reprs, logs and errors.
    """

    name: str = attrs.field(validator=_check_name)
    access_key: str = attrs.field(validator=_check_key)
    secret_access_key: str = attrs.field(validator=_check_key)
    api_key: str | None = attrs.field(default=None, validator=_check_key)

    def __repr__(self) -> str:
        api_key = None if self.api_key is None else REDACTED
        return (
            f"Account(name={self.name!r}, access_key={REDACTED!r},"
            f" secret_access_key={REDACTED!r}, api_key={api_key!r})"
        )

    def _credentials(self) -> Credentials:
        return Credentials(self.access_key, self.secret_access_key, self.api_key)


@attrs.define(frozen=True, slots=True)
class Partition:
    """One (account, window) of a dataset: days ``start``..``end`` inclusive.

    ``rows`` is the number of records written, or None for a partition skipped.
    """

    account: str
    start: dt.date
    end: dt.date
    path: str
    rows: int | None = None


@attrs.define(frozen=True, slots=True)
class FailedPartition:
    """A window that still failed after its retries; ``error`` is redacted text."""

    account: str
    start: dt.date
    end: dt.date
    error: str


@attrs.define(frozen=True, slots=True)
class PullProgress:
    """Handed to ``pull(progress=...)`` at the start and after each partition."""

    done: int
    total: int
    #: The Dask dashboard's address, when the scheduler serves one.
    dashboard_link: str | None


@attrs.define(frozen=True, slots=True)
class PullResult:
    """What ``pull`` did to each partition, each list ordered by account then date."""

    written: list[Partition]
    skipped: list[Partition]
    failed: list[FailedPartition]
    #: Where the failed windows are listed: this call's, and those of earlier calls for
    #: other days or accounts, still missing (None when there are none).
    failed_file: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every partition is complete on disk."""
        return not self.failed


def pull(
    *,
    accounts: Sequence[Account],
    report: ReportName,
    start: dt.date,
    end: dt.date,
    window: dt.timedelta = dt.timedelta(days=1),
    out: str | os.PathLike[str],
    scheduler: str | Client | None = None,
    per_account_concurrency: int = 4,
    base_url: str | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    workers: int | None = None,
    progress: Callable[[PullProgress], None] | None = None,
) -> PullResult:
    """Pull ``report`` for every account and window into a Hive-partitioned dataset.

    Args:
        accounts: the accounts, with names unique among them.
        report: "click_to_report" or "leadflow_history".
        start: the first day.
        end: the last day (inclusive), not before ``start``.
        window: the days one partition holds (whole days, at least one).
        out: the dataset's directory, reachable by every worker under this path (a
            relative one is taken from the caller's working directory).
        scheduler: None for an embedded ``LocalCluster`` (worker processes); a scheduler
            address such as ``"tcp://host:8786"``, or a ``distributed.Client``.
        per_account_concurrency: at most this many requests to one account at once,
            across the whole cluster.
        base_url: where to send every request instead of DialogTech's hosts (the
            sandbox, a proxy).
        max_retries: retries of each window's request (429, 5xx, timeouts).
        workers: worker processes of the embedded cluster (default: one per CPU).
        progress: called with a ``PullProgress`` at the start and after each partition.

    Returns:
        A PullResult; ``result.ok`` is False when some window failed.

    Raises:
        ValidationError: bad arguments (nothing is pulled).
    """
    if report not in REPORTS:
        raise ValidationError(f"report must be one of {', '.join(REPORTS)}", parameter="report")
    # A list of them: a generator would be used up by the checks, and nothing pulled.
    accounts = list(accounts) if isinstance(accounts, Iterable) else []
    if not accounts or not all(isinstance(a, Account) for a in accounts):
        raise ValidationError("accounts must be a non-empty list of Account", parameter="accounts")
    names = [a.name for a in accounts]
    if len(set(names)) != len(names):
        raise ValidationError("account names must be unique", parameter="accounts")
    check.count(per_account_concurrency, "per_account_concurrency", minimum=1)
    check.count(max_retries, "max_retries", minimum=0)
    if base_url is not None:  # else every window would fail on the workers, the same way
        check.http_url(base_url)
    if not isinstance(window, dt.timedelta) or window % dt.timedelta(days=1):
        raise ValidationError("window must be a whole number of days", parameter="window")
    for name, day in (("start", start), ("end", end)):
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise ValidationError(f"{name} must be a date (a day, no time)", parameter=name)
    if end < start:
        raise ValidationError("end must not be before start", parameter="end")
    if workers is not None:
        check.count(workers, "workers", minimum=1)
    # Absolute: a worker process resolves a relative path against its own directory.
    root = Path(out).absolute()
    if root.exists() and not root.is_dir():
        # Else every window would fail on the workers, then the listing of the failures.
        raise ValidationError(f"out {str(root)!r} is not a directory", parameter="out")
    days = windows(start, end, window)
    todo: list[Task] = []
    skipped: list[Partition] = []
    # Window by window across the accounts: the tasks running at once belong to many
    # accounts, rather than all to one whose semaphore would keep most of them waiting.
    for first, last in days:
        for account in accounts:
            path = partition_path(root, report, account.name, first)
            if path.exists():
                skipped.append(Partition(account.name, first, last, str(path)))
            else:
                credentials = account._credentials()
                todo.append(
                    Task(
                        report,
                        account.name,
                        credentials,
                        first,
                        last,
                        str(path),
                        base_url,
                        max_retries,
                    )
                )
    written: list[Partition] = []
    failed: list[FailedPartition] = []
    total = len(todo) + len(skipped)

    def record(task: Task, outcome: Outcome) -> None:
        if outcome.status == "failed":
            error = outcome.error or "unknown error"
            logger.warning("%s %s..%s failed: %s", task.account, task.start, task.end, error)
            failed.append(FailedPartition(task.account, task.start, task.end, error))
            return
        part = Partition(task.account, task.start, task.end, task.path, outcome.rows)
        (written if outcome.status == "written" else skipped).append(part)

    if todo:
        with _client(scheduler, workers) as client:
            _run(client, todo, per_account_concurrency, len(skipped), total, progress, record)
    elif progress is not None:
        progress(PullProgress(total, total, None))

    def order(part: Partition | FailedPartition) -> tuple[int, dt.date]:
        return names.index(part.account), part.start

    failed.sort(key=order)
    return PullResult(
        written=sorted(written, key=order),
        skipped=sorted(skipped, key=order),
        failed=failed,
        failed_file=_write_failed(root / f"report={report}", report, failed, names, start, end),
    )


def _run(
    client: Client,
    todo: list[Task],
    per_account_concurrency: int,
    done: int,
    total: int,
    progress: Callable[[PullProgress], None] | None,
    record: Callable[[Task, Outcome], None],
) -> None:
    """Submit one task per (account, window) and record each outcome as it arrives."""
    from distributed import Semaphore, as_completed

    run = uuid.uuid4().hex[:12]  # task keys and semaphores of this call only
    semaphores = {
        name: Semaphore(  # type: ignore[no-untyped-call]
            max_leases=per_account_concurrency,
            name=f"dialogtech-async-{run}-{name}",
            scheduler_rpc=client.scheduler,
            loop=client.loop,
        )
        for name in dict.fromkeys(t.account for t in todo)
    }
    link = _dashboard_link(client)
    if progress is not None:
        progress(PullProgress(done, total, link))
    futures = {
        client.submit(
            run_task,
            task,
            semaphores[task.account],
            key=f"dialogtech-pull-{run}-{task.report}-{task.account}-{task.start}",
            pure=False,
        ): task
        for task in todo
    }
    try:
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            task = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # the task itself died (KilledWorker, a lost worker)
                outcome = Outcome("failed", error=f"{type(exc).__name__}: {exc}")
            record(task, outcome)
            done += 1
            if progress is not None:
                progress(PullProgress(done, total, link))
    finally:
        client.cancel(list(futures))  # type: ignore[no-untyped-call]
        for semaphore in semaphores.values():
            # A worker that died may still hold leases: they expire by themselves.
            with contextlib.suppress(Exception), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                semaphore.close()  # type: ignore[no-untyped-call]


def _dashboard_link(client: Client) -> str | None:
    if "dashboard" not in (client.scheduler_info().get("services") or {}):
        return None  # no bokeh: the scheduler serves no dashboard
    return str(client.dashboard_link)


@contextlib.contextmanager
def _client(scheduler: str | Client | None, workers: int | None) -> Iterator[Client]:
    """A client of the given scheduler, or of a LocalCluster started for the call."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "dialogtech_async.dataset needs Dask distributed: "
            "pip install 'dialogtech-async[dataset]'"
        ) from None
    if isinstance(scheduler, Client):
        yield scheduler
    elif scheduler is not None:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
    else:
        with (
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=LOCAL_THREADS_PER_WORKER,
                processes=True,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster) as client,  # type: ignore[no-untyped-call]
        ):
            yield client


def _write_failed(
    directory: Path,
    report: str,
    failed: list[FailedPartition],
    accounts: list[str],
    start: dt.date,
    end: dt.date,
) -> str | None:
    """List ``failed`` in ``directory/_failed.json``, with the windows listed there before
    that this call did not cover (other accounts or days): they are still missing. The
    file is removed when it would list none."""
    path = directory / FAILED_NAME
    entries = [
        entry
        for entry in _listed(path)
        if entry["account"] not in accounts
        or entry["end"] < str(start)  # ISO dates: in order as text
        or entry["start"] > str(end)
    ]
    entries += [
        {"account": f.account, "start": str(f.start), "end": str(f.end), "error": f.error}
        for f in failed
    ]
    if not entries:
        path.unlink(missing_ok=True)  # a resumed run that completed what failed before
        return None
    entries.sort(key=lambda entry: (entry["account"], entry["start"]))
    directory.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{FAILED_NAME}.{uuid.uuid4().hex}.tmp")
    temporary.write_text(json.dumps({"report": report, "failed": entries}, indent=2) + "\n")
    os.replace(temporary, path)
    return str(path)


def _listed(path: Path) -> list[dict[str, str]]:
    """The entries of an earlier ``_failed.json`` (none if it is missing or not ours)."""
    try:
        entries = json.loads(path.read_text())["failed"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    keys = {"account", "start", "end", "error"}
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and e.keys() == keys]

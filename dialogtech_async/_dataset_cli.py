"""``dialogtech-async pull``: many accounts into a Parquet dataset, on Dask distributed.

``accounts.toml`` names each account and the environment variables holding its keys,
never the keys themselves::

    [accounts.acme]
    access_key_env = "ACME_ACCESS_KEY"
    secret_access_key_env = "ACME_SECRET_ACCESS_KEY"
    api_key_env = "ACME_API_KEY"            # optional: LeadFlow's x-api-key

The command exits 0 when every partition is complete, 1 when some window failed (they
are listed in ``_failed.json``; run the same command again to pull them), 2 on bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._exceptions import DialogTechError, ValidationError

if TYPE_CHECKING:
    from .dataset import Account, PullProgress

__all__ = ["add_pull_command", "load_accounts", "run_pull"]

EXIT_FAILED_WINDOWS = 1
EXIT_USAGE = 2
#: Exit status after Ctrl-C, as shells report a SIGINT death.
EXIT_INTERRUPTED = 130
#: ``--report`` spellings: the CLI's short names, the dataset's, and the other commands'.
_REPORTS = {
    "click-to": "click_to_report",
    "click-to-report": "click_to_report",
    "click_to_report": "click_to_report",
    "leadflow": "leadflow_history",
    "leadflow-history": "leadflow_history",
    "leadflow_history": "leadflow_history",
}
_WINDOW = re.compile(r"([1-9][0-9]*)([dw]?)")
_KEYS = ("access_key", "secret_access_key", "api_key")


def _window(text: str) -> dt.timedelta:
    match = _WINDOW.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"window must be days like 1d or weeks like 1w: {text!r}")
    count, unit = int(match[1]), match[2]
    return dt.timedelta(weeks=count) if unit == "w" else dt.timedelta(days=count)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


#: ``pull --help``'s text: the module docstring without its markup.
_DESCRIPTION = __doc__.replace("``", "").replace("::", ":") if __doc__ else None


def add_pull_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``pull`` to the command line's subparsers (``parser.add_subparsers()``)."""
    pull = subparsers.add_parser(
        "pull",
        help="many accounts into a Parquet dataset, on Dask distributed",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pull.add_argument("--accounts", type=Path, help="accounts.toml (optional with --sandbox)")
    pull.add_argument(
        "--report",
        required=True,
        choices=sorted(_REPORTS),
        metavar="REPORT",
        help="click-to (the click-to report) or leadflow (LeadFlow history)",
    )
    pull.add_argument("--start", required=True, type=_date, help="first day, YYYY-MM-DD")
    pull.add_argument("--end", required=True, type=_date, help="last day (inclusive)")
    pull.add_argument("--window", type=_window, default=dt.timedelta(days=1), help="e.g. 1d, 7d")
    pull.add_argument("--out", required=True, type=Path, help="the dataset's directory")
    pull.add_argument("--scheduler", help="a Dask scheduler, tcp://host:8786 (default: local)")
    pull.add_argument("--workers", type=int, help="local worker processes (default: CPUs)")
    pull.add_argument(
        "--per-account-concurrency",
        type=int,
        default=4,
        metavar="N",
        help="at most N requests at once to one account, cluster-wide (default 4)",
    )
    pull.add_argument(
        "--max-retries", type=int, default=2, metavar="N", help="retries of a window (default 2)"
    )
    pull.add_argument("--sandbox", action="store_true", help="use the built-in sandbox server")
    pull.add_argument("--rows", type=int, default=1000, help="sandbox: records per window")
    pull.add_argument("--base-url", help="an API host to use instead (a proxy, a sandbox)")
    pull.add_argument("--debug", action="store_true", help="show tracebacks")
    pull.set_defaults(command="pull")
    return pull  # type: ignore[no-any-return]


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as file:
            document: dict[str, Any] = tomllib.load(file)
            return document
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path}: not valid TOML: {exc}", parameter="accounts") from None


def load_accounts(path: Path, environ: dict[str, str] | None = None) -> list[Account]:
    """The accounts of ``path``, their keys read from the environment variables it names.

    Raises:
        ValidationError: the file is malformed, holds a key itself, or names a variable
            that is not set (the message names the variable, never a value).
    """
    from .dataset import Account

    env = os.environ if environ is None else environ
    table = _read_toml(path).get("accounts")
    if not isinstance(table, dict) or not table:
        raise ValidationError(f"{path}: no [accounts.<name>] tables", parameter="accounts")
    accounts = []
    for name, entry in table.items():
        where = f"{path}: [accounts.{name}]"
        if not isinstance(entry, dict):
            raise ValidationError(f"{where} must be a table", parameter="accounts")
        if any(key in entry for key in _KEYS):
            raise ValidationError(
                f"{where} holds a key itself: name its environment variable instead"
                " (access_key_env, secret_access_key_env, api_key_env)",
                parameter="accounts",
            )
        unknown = set(entry) - {f"{key}_env" for key in _KEYS}
        if unknown:
            raise ValidationError(f"{where}: unknown {sorted(unknown)}", parameter="accounts")
        keys: dict[str, str | None] = {}
        for key in _KEYS:
            variable = entry.get(f"{key}_env")
            if variable is None and key == "api_key":
                keys[key] = None
                continue
            if not isinstance(variable, str) or not env.get(variable):
                raise ValidationError(
                    f"{where}: {key}_env must name a set environment variable"
                    + (f" ({variable} is not set)" if isinstance(variable, str) else ""),
                    parameter="accounts",
                )
            keys[key] = env[variable]
        accounts.append(Account(name, **keys))  # type: ignore[arg-type]
    return accounts


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[tuple[list[Account], str | None]]:
    """The accounts and base URL: from the file, or the sandbox's keys and a server."""
    if not args.sandbox:
        if args.accounts is None:
            raise ValidationError("--accounts is required (or --sandbox)", parameter="accounts")
        yield load_accounts(args.accounts), args.base_url
        return
    from .dataset import Account
    from .testing import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, serve_in_thread

    names = ["sandbox"]
    if args.accounts is not None:
        names = list(_read_toml(args.accounts).get("accounts") or names)
    accounts = [Account(n, SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY) for n in names]
    with serve_in_thread(rows=args.rows) as sandbox:
        yield accounts, sandbox.base_url


class _Bar:
    """Partitions done / total as a rich progress bar on stderr, and the dashboard link."""

    def __init__(self) -> None:
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
        except ImportError:
            raise ImportError(
                "dialogtech-async pull shows its progress with rich:"
                " pip install 'dialogtech-async[cli]'"
            ) from None

        self.console = Console(stderr=True)
        self.progress = Progress(
            "partitions",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._task: Any = None

    def __call__(self, update: PullProgress) -> None:
        if self._task is None:
            if update.dashboard_link:
                self.console.print(f"Dask dashboard: {update.dashboard_link}")
            self._task = self.progress.add_task("pull", total=update.total)
        self.progress.update(self._task, completed=update.done)


def run_pull(args: argparse.Namespace) -> int:
    """Run ``dialogtech-async pull``; returns the exit status."""
    from .dataset import pull

    try:
        bar = _Bar()
        with _target(args) as (accounts, base_url), bar.progress:
            result = pull(
                accounts=accounts,
                report=_REPORTS[args.report],  # type: ignore[arg-type]
                start=args.start,
                end=args.end,
                window=args.window,
                out=args.out,
                scheduler=args.scheduler,
                per_account_concurrency=args.per_account_concurrency,
                base_url=base_url,
                max_retries=args.max_retries,
                workers=args.workers,
                progress=bar,
            )
    except KeyboardInterrupt:  # the partitions on disk are whole: a rerun skips them
        print(
            f"\ninterrupted: the partitions written are kept in {args.out};"
            " run the same command again to pull the rest",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except (DialogTechError, OSError, ImportError) as exc:
        if args.debug:
            raise
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ValidationError) else EXIT_FAILED_WINDOWS
    print(
        f"{len(result.written)} partitions written, {len(result.skipped)} skipped,"
        f" {len(result.failed)} failed, in {args.out}"
    )
    for failed in result.failed:
        print(f"failed: {failed.account} {failed.start}..{failed.end}: {failed.error}")
    if result.failed:
        print(f"listed in {result.failed_file}; run the same command again to retry them")
        return EXIT_FAILED_WINDOWS
    return 0

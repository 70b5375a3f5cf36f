"""The ``dialogtech-async`` command line: pull a report into a file, with progress.

Credentials come from the environment (DIALOGTECH_ACCESS_KEY, DIALOGTECH_SECRET_ACCESS_KEY,
DIALOGTECH_API_KEY; INFINITY_USERNAME and INFINITY_PASSWORD, or INFINITY_API_KEY), or
``--sandbox`` runs everything against the built-in sandbox server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ._bulk import BulkReport
from ._dialogtech import Session
from ._exceptions import DialogTechError
from ._infinity import InfinitySession
from ._output import RecordWriter, record_dict
from ._report import Report

#: Exit status after Ctrl-C, as shells report a SIGINT death.
EXIT_INTERRUPTED = 130


class Progress:
    """Records, bytes, rate and elapsed time on stderr, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self._stream = stream
        self._enabled = enabled
        self._start = time.monotonic()
        self._last = 0.0

    def update(self, report: Report[Any] | BulkReport[Any], *, final: bool = False) -> None:
        now = time.monotonic()
        if not self._enabled or (not final and now - self._last < 0.1):
            return
        self._last = now
        elapsed = max(now - self._start, 1e-9)
        total = f"/{report.content_length:,}" if report.content_length else ""
        self._stream.write(
            f"\r{report.records_yielded:,} records  {report.bytes_read:,}{total} bytes"
            f"  {report.records_yielded / elapsed:,.0f} rec/s  {elapsed:.1f} s"
            + ("\n" if final else "")
        )
        self._stream.flush()


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _days(text: str) -> dt.timedelta:
    """A window length: "7d", or a number of days."""
    return dt.timedelta(days=int(text.removesuffix("d")))


def _datetime(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--sandbox", action="store_true", help="use the built-in sandbox server")
    common.add_argument("--rows", type=int, default=1000, help="sandbox: records per report")
    common.add_argument("--quiet", action="store_true", help="no progress display")
    common.add_argument("--debug", action="store_true", help="tracebacks on errors")
    common.add_argument("--base-url", help="an API host to use instead (a proxy, a sandbox)")
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--out", type=Path, required=True, help="report.jsonl or report.csv")

    parser = argparse.ArgumentParser(prog="dialogtech-async", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("click-to-report", parents=[common, out])
    report.add_argument("--start", type=_date, required=True, help="YYYY-MM-DD")
    report.add_argument("--end", type=_date, required=True, help="YYYY-MM-DD")
    report.add_argument("--format", choices=("csv", "xml"), default="csv")
    report.add_argument("--click-id")
    report.add_argument("--ref")
    for bulk in (
        report,
        leadflow := commands.add_parser("leadflow-history", parents=[common, out]),
    ):
        bulk.add_argument("--window", type=_days, help="split into windows, e.g. 7d")
        bulk.add_argument("--concurrency", type=int, default=4, help="windows read at once")
    leadflow.add_argument("--start", type=_datetime, help="ISO-8601 (naive: US Eastern)")
    leadflow.add_argument("--end", type=_datetime, help="ISO-8601 (naive: US Eastern)")
    leadflow.add_argument("--sid")
    leadflow.add_argument("--set-id", type=int)
    call = commands.add_parser("click-to-call", parents=[common])
    call.add_argument("--phone", required=True, help="phone_to_call")
    call.add_argument("--id", required=True, help="the other number")
    call.add_argument("--type", type=int, choices=(1, 2), default=1)
    call.add_argument("--page")
    call.add_argument("--ref")
    vr = commands.add_parser("click-to-vr", parents=[common])
    vr.add_argument("--menu-id", required=True)
    vr.add_argument("--phone", required=True)
    infinity = commands.add_parser("infinity").add_subparsers(dest="endpoint", required=True)
    for name in ("active-calls", "user-status"):
        sub = infinity.add_parser(name, parents=[common, out])
        sub.add_argument("--igrp", type=int, required=True)
        sub.add_argument("--tz")
        if name == "active-calls":
            sub.add_argument("--exclude-pii", action="store_true")
        else:
            sub.add_argument("--sort", action="append")
    one = infinity.add_parser("active-call", parents=[common])
    one.add_argument("--igrp", type=int, required=True)
    one.add_argument("--call-ref")
    one.add_argument("--src-phone-number")
    return parser


@contextlib.contextmanager
def _endpoints(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Session keywords: the environment's credentials, or a sandbox started for the run."""
    if not args.sandbox:
        if args.base_url is None:
            yield {}
        else:
            url = {"base_url": args.base_url}
            yield {"dialogtech": {**url, "newest_base_url": args.base_url}, "infinity": url}
        return
    try:
        from .testing import (
            SANDBOX_ACCESS_KEY,
            SANDBOX_INFINITY_API_KEY,
            SANDBOX_SECRET_ACCESS_KEY,
            serve_in_thread,
        )

        sandbox = serve_in_thread(rows=args.rows)
    except ImportError:
        raise SystemExit(
            "--sandbox needs uvicorn: pip install 'dialogtech-async[sandbox]'"
        ) from None
    with sandbox as running:
        yield {
            "dialogtech": {
                "access_key": SANDBOX_ACCESS_KEY,
                "secret_access_key": SANDBOX_SECRET_ACCESS_KEY,
                "base_url": running.base_url,
                "newest_base_url": running.base_url,
            },
            "infinity": {"api_key": SANDBOX_INFINITY_API_KEY, "base_url": running.base_url},
        }


async def _pull(
    report: Report[Any] | BulkReport[Any], writer: RecordWriter, progress: Progress
) -> None:
    async with report:
        async for record in report:
            writer.write((record,))
            progress.update(report)
    progress.update(report, final=True)


async def _run(
    args: argparse.Namespace, config: dict[str, Any], writer: RecordWriter | None
) -> str:
    progress = Progress(sys.stderr, enabled=not args.quiet and sys.stderr.isatty())
    if args.command == "infinity":
        async with InfinitySession(**config.get("infinity", {})) as inf:
            if args.endpoint == "active-call":
                call = await inf.active_call(
                    args.igrp, call_ref=args.call_ref, src_phone_number=args.src_phone_number
                )
                return json.dumps(record_dict(call) if call else None)
            assert writer is not None
            if args.endpoint == "active-calls":
                report: Report[Any] | BulkReport[Any] = inf.pbx_active_calls(
                    args.igrp, args.tz, args.exclude_pii
                )
            else:
                report = inf.pbx_user_status(args.igrp, args.tz, args.sort)
            await _pull(report, writer, progress)
            return f"{writer.count} records written to {writer.path}"
    async with Session(**config.get("dialogtech", {})) as session:
        if args.command == "click-to-call":
            result = await session.click_to_call(
                args.phone, args.id, args.type, page=args.page, ref=args.ref
            )
            return result.message
        if args.command == "click-to-vr":
            return (await session.click_to_vr(args.menu_id, args.phone)).message
        assert writer is not None
        if args.command == "click-to-report":
            report = session.click_to_report(
                args.start,
                args.end,
                args.format,
                click_id=args.click_id,
                ref=args.ref,
                window=args.window,
                concurrency=args.concurrency,
            )
        else:
            report = session.leadflow_history(
                args.start,
                args.end,
                sid=args.sid,
                set_id=args.set_id,
                window=args.window,
                concurrency=args.concurrency,
            )
        await _pull(report, writer, progress)
        return f"{writer.count} records written to {writer.path}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    writer: RecordWriter | None = None
    try:
        with _endpoints(args) as config:
            if getattr(args, "out", None) is not None:
                writer = RecordWriter(args.out)
            try:
                message = asyncio.run(_run(args, config, writer))
            finally:
                if writer is not None:
                    writer.close()
    except KeyboardInterrupt:
        written = f": {writer.count} records written to {writer.path}" if writer else ""
        print(f"\ninterrupted{written}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (DialogTechError, ValueError, OSError) as exc:
        if args.debug:
            raise
        written = f" ({writer.count} records written to {writer.path})" if writer else ""
        print(f"error: {type(exc).__name__}: {exc}{written}", file=sys.stderr)
        return 1
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())

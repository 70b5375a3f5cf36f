"""The ``dialogtech-async`` command line: pull a report into a file, with progress.

Everything is checked before the output is touched; the file is written under a
temporary name beside it and renamed when the report is complete, so an existing file is
never emptied by a failed run. On Ctrl-C or an error, what was written is kept as
``<name>.partial.<suffix>`` and the message says where.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator
from typing import Any

from . import __version__
from ._bulk import BulkReport
from ._dataset_cli import EXIT_INTERRUPTED, add_pull_command, run_pull
from ._dialogtech import Session
from ._exceptions import DialogTechError, ValidationError
from ._infinity import InfinitySession
from ._output import Output, asdict, open_output
from ._progress import Progress, summary
from ._records import ClickToRecord, LeadFlowCall, PbxActiveCall, PbxUserStatus
from ._report import Report

#: Exit status when standard output's reader goes away, as shells report a SIGPIPE death.
EXIT_BROKEN_PIPE = 141
#: Records handed to the writer at once: enough that encoding runs in C for long
#: stretches; few enough that the records held stay young for the garbage collector
#: (2,048 cost a fifth more time than 256, measured).
WRITE_BATCH = 256

DESCRIPTION = """\
Pull DialogTech and Infinity reports into JSON Lines, CSV or Parquet files, with progress.

Credentials come from the environment: DIALOGTECH_ACCESS_KEY and
DIALOGTECH_SECRET_ACCESS_KEY (and DIALOGTECH_API_KEY where the account has one) for
DialogTech; INFINITY_API_KEY, or INFINITY_USERNAME and INFINITY_PASSWORD, for Infinity.
--sandbox runs against a built-in sandbox server instead, no credentials needed.
"""
OUT_HELP = (
    "where to write: report.jsonl, report.csv or report.parquet (the suffix says the"
    " format), or - for JSON Lines on standard output"
)
_CREDENTIALS = {
    "dialogtech": (
        ("DIALOGTECH_ACCESS_KEY", "DIALOGTECH_SECRET_ACCESS_KEY"),
        "set DIALOGTECH_ACCESS_KEY and DIALOGTECH_SECRET_ACCESS_KEY in the environment",
    ),
    "infinity": (
        ("INFINITY_API_KEY",),
        "set INFINITY_API_KEY, or INFINITY_USERNAME and INFINITY_PASSWORD, in the environment",
    ),
}
_RECORD_TYPES: dict[str, type] = {
    "click-to-report": ClickToRecord,
    "leadflow-history": LeadFlowCall,
    "active-calls": PbxActiveCall,
    "user-status": PbxUserStatus,
}


def _argument_type(name: str, parse: Any, expected: str) -> Any:
    """An argparse type whose error says what was expected (not a private helper's name)."""

    def read(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None

    read.__name__ = name
    return read


def _days(text: str) -> dt.timedelta:
    days = int(text.removesuffix("d"))
    if days < 1:
        raise ValueError(text)
    return dt.timedelta(days=days)


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise ValueError(text)
    return number


DATE = _argument_type("date", dt.date.fromisoformat, "a date, YYYY-MM-DD")
DATETIME = _argument_type("datetime", dt.datetime.fromisoformat, "an ISO-8601 date and time")
DAYS = _argument_type("days", _days, "a number of days, e.g. 7d")
POSITIVE = _argument_type("count", _positive, "a whole number of at least 1")
INTEGER = _argument_type("integer", int, "a whole number")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--sandbox", action="store_true", help="use the built-in sandbox server")
    common.add_argument("--rows", type=POSITIVE, default=1000, help="sandbox: records per report")
    common.add_argument("--quiet", action="store_true", help="no progress display")
    common.add_argument("--debug", action="store_true", help="tracebacks on errors")
    common.add_argument("--base-url", help="an API host to use instead (a proxy, a sandbox)")
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--out", required=True, help=OUT_HELP)

    parser = argparse.ArgumentParser(
        prog="dialogtech-async",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_pull_command(commands)

    def command(
        group: Any, name: str, summary: str, parents: list[argparse.ArgumentParser]
    ) -> argparse.ArgumentParser:
        return group.add_parser(  # type: ignore[no-any-return]
            name, parents=parents, help=summary, description=summary
        )

    report = command(
        commands, "click-to-report", "pull the click-to report (calls from web clicks)",
        [common, out],
    )  # fmt: skip
    report.add_argument("--start", type=DATE, required=True, help="first day, YYYY-MM-DD")
    report.add_argument("--end", type=DATE, required=True, help="last day (included), YYYY-MM-DD")
    report.add_argument(
        "--format", choices=("csv", "xml"), default="csv",
        help="the body the API is asked for (the records are the same; default: csv)",
    )  # fmt: skip
    report.add_argument("--click-id", help="only this click-to-call button's records")
    report.add_argument("--ref", help="only records with this ref value")
    leadflow = command(
        commands, "leadflow-history", "pull the LeadFlow call history", [common, out]
    )
    for bulk in (report, leadflow):
        bulk.add_argument("--window", type=DAYS, help="split into windows read at once, e.g. 7d")
        bulk.add_argument(
            "--concurrency", type=POSITIVE, help="windows read at once (with --window; default 4)"
        )
    leadflow.add_argument("--start", type=DATETIME, help="ISO-8601 (naive: US Eastern)")
    leadflow.add_argument("--end", type=DATETIME, help="ISO-8601 (naive: US Eastern)")
    leadflow.add_argument("--sid", help="one call, by its sid")
    leadflow.add_argument("--set-id", type=INTEGER, help="only this LeadFlow set")
    call = command(commands, "click-to-call", "place a click-to-call (a real call)", [common])
    call.add_argument("--phone", required=True, help="the number to call (phone_to_call)")
    call.add_argument("--id", required=True, help="the other number of the call (id)")
    call.add_argument(
        "--type", type=int, choices=(1, 2), default=1,
        help="which number is dialled first: 1, --phone; 2, --id (default: 1)",
    )  # fmt: skip
    call.add_argument("--page", help="the page the call came from, for reports")
    call.add_argument("--ref", help="your reference, for reports")
    vr = command(commands, "click-to-vr", "connect a number to a virtual receptionist", [common])
    vr.add_argument("--menu-id", required=True, help="the receptionist's menu id")
    vr.add_argument("--phone", required=True, help="the number to call")
    infinity = command(commands, "infinity", "Infinity real-time reports", []).add_subparsers(
        dest="endpoint", required=True, metavar="ENDPOINT"
    )
    tz_help = "time zone of the times, e.g. Europe/London (default: UTC)"
    for name, summary_text in (
        ("active-calls", "pull the PBX calls in progress"),
        ("user-status", "pull the PBX users' statuses"),
    ):
        sub = command(infinity, name, summary_text, [common, out])
        sub.add_argument("--igrp", type=INTEGER, required=True, help="the installation group")
        sub.add_argument("--tz", help=tz_help)
        if name == "active-calls":
            sub.add_argument("--exclude-pii", action="store_true", help="redact phone numbers")
        else:
            sub.add_argument("--sort", action="append", help="sort key (repeatable)")
    one = command(infinity, "active-call", "look up one call in progress", [common])
    one.add_argument("--igrp", type=INTEGER, required=True, help="the installation group")
    one.add_argument("--call-ref", help="the call's reference")
    one.add_argument("--src-phone-number", help="the caller's number (E.164)")
    return parser


def _check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Refuse what argparse alone cannot see (before anything is opened)."""
    concurrency = getattr(args, "concurrency", None)
    if concurrency is not None and args.window is None:
        parser.error("--concurrency needs --window (a single report is one request)")
    if hasattr(args, "window") and concurrency is None:
        args.concurrency = 4
    if args.sandbox:
        return
    api = "infinity" if args.command == "infinity" else "dialogtech"
    if args.command in ("click-to-call", "click-to-vr", "click-to-report", "leadflow-history"):
        names, advice = _CREDENTIALS["dialogtech"]
        missing = [name for name in names if not os.environ.get(name)]
    else:
        names, advice = _CREDENTIALS["infinity"]
        basic = os.environ.get("INFINITY_USERNAME") and os.environ.get("INFINITY_PASSWORD")
        missing = [] if basic or os.environ.get(names[0]) else list(names)
    if missing:
        raise ValidationError(
            f"no {api} credentials: {advice} (or try --sandbox)", parameter="credentials"
        )


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


async def _pull(report: Report[Any] | BulkReport[Any], output: Output, progress: Progress) -> None:
    try:
        async with report:
            if output.arrow:
                async for batch in report.arrow_batches():
                    output.write_batch(batch)
                    progress.update(report)
                return
            pending: list[Any] = []
            try:
                async for record in report:
                    pending.append(record)
                    if len(pending) == WRITE_BATCH:
                        batch, pending = pending, []  # given once, even if writing fails
                        output.write(batch)
                        progress.update(report)
            finally:  # Ctrl-C or an error: what was received is written, whole
                output.write(pending)
    finally:
        progress.stop(report)


def _open_report(
    args: argparse.Namespace, session: Session | InfinitySession
) -> Report[Any] | BulkReport[Any]:
    if isinstance(session, InfinitySession):
        if args.endpoint == "active-calls":
            return session.pbx_active_calls(args.igrp, args.tz, args.exclude_pii)
        return session.pbx_user_status(args.igrp, args.tz, args.sort)
    report: Report[Any] | BulkReport[Any]
    bulk: dict[str, Any] = {"window": args.window, "concurrency": args.concurrency}
    if args.command == "click-to-report":
        report = session.click_to_report(
            args.start, args.end, args.format, click_id=args.click_id, ref=args.ref, **bulk
        )
    else:
        report = session.leadflow_history(
            args.start, args.end, sid=args.sid, set_id=args.set_id, **bulk
        )
    return report


async def _run(args: argparse.Namespace, config: dict[str, Any], output: Output | None) -> str:
    session: Session | InfinitySession
    if args.command == "infinity":
        session = InfinitySession(**config.get("infinity", {}))
    else:
        session = Session(**config.get("dialogtech", {}))
    async with session:
        if args.command == "click-to-call":
            assert isinstance(session, Session)
            result = await session.click_to_call(
                args.phone, args.id, args.type, page=args.page, ref=args.ref
            )
            return result.message
        if args.command == "click-to-vr":
            assert isinstance(session, Session)
            return (await session.click_to_vr(args.menu_id, args.phone)).message
        if getattr(args, "endpoint", None) == "active-call":
            assert isinstance(session, InfinitySession)
            call = await session.active_call(
                args.igrp, call_ref=args.call_ref, src_phone_number=args.src_phone_number
            )
            return output_json(asdict(call) if call else None)
        assert output is not None
        report = _open_report(args, session)  # arguments checked: nothing written yet
        progress = Progress(sys.stderr, enabled=not args.quiet)
        await _pull(report, output, progress)
        output.commit()
        figures = summary(output.count, report.bytes_read, progress.elapsed)
        where = "standard output" if output.path is None else output.path
        return figures.replace(" records", f" records written to {where}", 1)


def output_json(value: Any) -> str:
    """One JSON value as text (the active-call lookup's answer)."""
    import msgspec

    return msgspec.json.encode(value).decode()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "pull":
        return run_pull(args)
    output: Output | None = None
    try:
        _check(args, parser)
        if getattr(args, "out", None) is not None:
            record_type = _RECORD_TYPES[getattr(args, "endpoint", None) or args.command]
            output = open_output(args.out, record_type)
        with _endpoints(args) as config:
            message = asyncio.run(_run(args, config, output))
    except BrokenPipeError:  # `--out - | head`: the reader has what it wanted
        if output is None or output.path is not None:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        kept = _kept(output)
        print(f"\ninterrupted{f': {kept}' if kept else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (DialogTechError, ValueError, OSError, ImportError) as exc:
        kept = _kept(output)
        if args.debug:
            raise
        print(f"error: {type(exc).__name__}: {exc}{f' ({kept})' if kept else ''}", file=sys.stderr)
        return 1
    print(message, file=sys.stderr if output is not None and output.path is None else sys.stdout)
    return 0


def _kept(output: Output | None) -> str | None:
    """Keep what was written before a failure; say where, for its message."""
    if output is None:
        return None
    kept = output.abort()
    if output.path is None:
        return f"{output.count:,} records written to standard output"
    if kept is None and output.count:  # a Parquet file without its footer: unreadable
        return f"the file could not be finished, its records lost; {output.path} untouched"
    if kept is None:
        return f"nothing written; {output.path} untouched"
    return f"{output.count:,} records written to {kept}"


if __name__ == "__main__":
    sys.exit(main())

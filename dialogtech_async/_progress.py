"""The command line's progress display on stderr: a rich bar on a terminal, plain lines
otherwise (a log file or a CI job gets a line every ``PLAIN_INTERVAL`` seconds)."""

from __future__ import annotations

import time
from typing import Any, Protocol, TextIO

#: Seconds between lines when stderr is not a terminal.
PLAIN_INTERVAL = 5.0


class Pull(Protocol):
    """What the display reads: a Report's or a BulkReport's counters."""

    @property
    def records_yielded(self) -> int: ...
    @property
    def bytes_read(self) -> int: ...


def summary(records: int, byte_count: int, elapsed: float) -> str:
    """The figures of a pull, as both the progress and the final line show them."""
    rate = records / max(elapsed, 1e-9)
    return f"{records:,} records  {byte_count:,} bytes  {rate:,.0f} rec/s  {elapsed:.1f} s"


def windows(report: Any) -> tuple[int, int] | None:
    """(windows done, windows in all) of a bulk pull; None for a single report."""
    total = getattr(report, "windows_total", None)
    return None if total is None else (report.windows_done, total)


class Progress:
    """Records, bytes, rate and elapsed time; for a bulk pull, windows done of all and
    an ETA. ``update`` is cheap to call often: it redraws at most 10 times a second."""

    def __init__(self, stream: TextIO, *, enabled: bool = True) -> None:
        self._stream = stream
        self._enabled = enabled
        self.start = time.monotonic()
        self._last = 0.0
        self._bar: Any = None
        self._task: Any = None
        self._rich = enabled and stream.isatty()

    @property
    def elapsed(self) -> float:
        """Seconds since the display was made."""
        return time.monotonic() - self.start

    def update(self, report: Pull) -> None:
        """Show ``report``'s counters (at most 10 times a second)."""
        if not self._enabled:
            return
        now = time.monotonic()
        interval = 0.1 if self._rich else PLAIN_INTERVAL
        if now - self._last < interval:
            return
        self._last = now
        self._show(report)

    def _show(self, report: Pull) -> None:
        figures = summary(report.records_yielded, report.bytes_read, self.elapsed)
        done = windows(report)
        if self._rich and self._bar is None:
            self._bar = _rich_bar(self._stream, bulk=done is not None)
            self._rich = self._bar is not None
        if self._bar is None:
            ahead = f"  windows {done[0]}/{done[1]}" if done else ""
            self._stream.write(figures + ahead + "\n")
            self._stream.flush()
            return
        if self._task is None:
            self._task = self._bar.add_task("pull", total=done[1] if done else None, figures="")
            self._bar.start()
        self._bar.update(self._task, completed=done[0] if done else 0, figures=figures)

    def stop(self, report: Pull | None = None) -> None:
        """Show the last figures (a terminal's bar is left drawn) and stop redrawing."""
        if self._bar is not None and self._task is not None:
            if report is not None:
                self._show(report)
            self._bar.stop()
        self._enabled = False


def _rich_bar(stream: TextIO, *, bulk: bool) -> Any:
    """A rich progress display (the ``[cli]`` extra), or None without rich (plain lines).

    A bulk pull's bar counts windows, with an ETA from their pace; a single report's
    length is rarely known (no Content-Length on streamed reports), so it gets a spinner.
    """
    try:
        from rich import progress
        from rich.console import Console
    except ImportError:
        return None
    columns: list[Any] = [progress.SpinnerColumn(), progress.TextColumn("{task.fields[figures]}")]
    if bulk:
        columns += [
            progress.BarColumn(),
            progress.MofNCompleteColumn(),
            progress.TextColumn("windows, ETA"),
            progress.TimeRemainingColumn(),
        ]
    return progress.Progress(*columns, console=Console(file=stream), refresh_per_second=10)

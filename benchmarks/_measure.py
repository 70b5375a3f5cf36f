"""What every section shares: the sandbox's bodies, a file server, and a fresh process per
measurement that reports its best time of ``repeat`` runs and its peak RSS growth."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from dialogtech_async import testing

START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
LEAD_START, LEAD_END = dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1)
KEYS = {
    "access_key": testing.SANDBOX_ACCESS_KEY,
    "secret_access_key": testing.SANDBOX_SECRET_ACCESS_KEY,
}
CHUNK = 64 * 1024  # what httpx reads from a socket at a time
PATHS = {"csv": "ibp_api.php", "xml": "ibp_api.php", "json": "report/v1/leadflow/v2/history"}


def body(fmt: str, rows: int) -> bytes:
    """The sandbox's body; ``json-str``: LeadFlow with numbers and dates as strings (the
    API's documents do not say which of the two shapes it sends)."""
    if fmt == "json":
        return testing.leadflow_body(LEAD_START, LEAD_END, rows=rows)
    if fmt != "json-str":
        return testing.click_to_body(START, END, rows=rows, format=fmt)  # type: ignore[arg-type]

    def record(row: dict[str, Any]) -> str:
        row = {k: str(v) if type(v) in (int, Decimal) else v for k, v in row.items()}
        row["call_date"] = row["call_date"].replace(" ", "T") + "-05:00"
        return json.dumps(row)

    records = testing.leadflow_rows(LEAD_START, LEAD_END, rows=rows)
    return ('{"response": [' + ",\n".join(map(record, records)) + "]}").encode()


@contextlib.contextmanager
def serve(bodies: list[tuple[str, int]]) -> Iterator[str]:
    """Serve each (format, rows) body from a file, by ``http.server`` in another process
    (next to no CPU of its own), under ``{url}/{format}-{rows}``: a Session's base URL."""
    with tempfile.TemporaryDirectory() as directory:
        for fmt, rows in bodies:
            path = Path(directory, f"{fmt}-{rows}", PATHS[fmt.removesuffix("-str")])
            path.parent.mkdir(parents=True)
            path.write_bytes(body(fmt, rows))
        command = [sys.executable, "-u", "-m", "http.server", "-b", "127.0.0.1", "0"]
        server = subprocess.Popen(
            command, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert server.stdout is not None  # "Serving HTTP on 127.0.0.1 port 41234 ..."
            yield f"http://127.0.0.1:{server.stdout.readline().split()[5]}"
        finally:
            server.kill()
            server.wait()


def status_kb(key: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key + ":"))


def measure(run: Callable[[], int], rows: int, repeat: int) -> dict[str, float]:
    """In the fresh process: best wall and CPU time of ``repeat`` runs, and the peak RSS
    (Linux's high-water mark, reset first) less the resident set before them."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM
    before, best, cpu = status_kb("VmRSS"), float("inf"), float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        count = run()
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)  # this process's: less load-bound
    assert count == rows, f"{count} records of {rows}"
    peak = (status_kb("VmHWM") - before) / 1024
    return {"per_s": rows / best, "per_cpu_s": rows / cpu, "peak_mb": peak}


def spawn(script: str, *args: object) -> dict[str, float]:
    """Run ``script`` with ``args`` in a fresh process; its last line of output is JSON."""
    out = subprocess.run([sys.executable, script, *map(str, args)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{args} failed:\n{out.stderr}")
    return json.loads(out.stdout.splitlines()[-1])  # type: ignore[no-any-return]

"""Output at library speed: the CLI to JSON Lines and to Parquet, and arrow_batches(),
each against typed iteration of the same pull, in one run.

    python benchmarks/bench_output.py [--rows 1000000] [--rounds 3]

The sandbox's click-to report (CSV) is made once and served from a file by http.server
(the sides measure the client, not the sandbox). Each side runs in a fresh process with
pyarrow imported, rounds interleaved; its best round counts (records/s; peak RSS above
what it held before the pull). Public API only: the CLI runs by its entry point.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pyarrow.parquet

import dialogtech_async as dta
from dialogtech_async.testing import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, serve_in_thread

SIDES = ("typed", "arrow", "cli-jsonl", "cli-parquet")
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
KEYS = {"access_key": SANDBOX_ACCESS_KEY, "secret_access_key": SANDBOX_SECRET_ACCESS_KEY}


async def pull(url: str, arrow: bool) -> int:
    """Typed records, or Arrow batches, of the whole report: the rows seen."""
    rows = 0
    async with dta.Session(**KEYS, base_url=url) as s, s.click_to_report(START, END) as report:
        async for item in report.arrow_batches() if arrow else report:
            rows += item.num_rows if arrow else 1
    return rows


def cli(url: str, out: Path) -> int:
    """The command line's main job, by its entry point: the rows it says it wrote."""
    (script,) = entry_points(group="console_scripts", name="dialogtech-async")
    os.environ.update({f"DIALOGTECH_{key.upper()}": value for key, value in KEYS.items()})
    command = ["click-to-report", "--base-url", url, "--quiet", "--out", str(out)]
    assert script.load()([*command, "--start", f"{START}", "--end", f"{END}"]) == 0
    if out.suffix == ".parquet":
        return int(pyarrow.parquet.read_metadata(out).num_rows)
    return out.read_bytes().count(b"\n")


def side(name: str, url: str) -> None:
    """One round of one side, in this fresh process: its figures as a JSON line."""
    before = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    with tempfile.TemporaryDirectory() as directory:
        began = time.perf_counter()
        if name.startswith("cli"):
            rows = cli(url, Path(directory, "report." + name.removeprefix("cli-")))
        else:
            rows = asyncio.run(pull(url, arrow=name == "arrow"))
        seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    print(json.dumps({"rows": rows, "rate": rows / seconds, "peak_mb": peak / 2**20}))


def serve_body(rows: int, directory: Path) -> tuple[str, subprocess.Popen[str]]:
    """The report's body, made by the sandbox once, served from a file."""
    params = {"action": "report.clickto", "format": "csv", **KEYS}
    params.update(start_date=f"{START:%Y%m%d}", end_date=f"{END:%Y%m%d}")
    with serve_in_thread(rows=rows) as sandbox:
        body = httpx.get(f"{sandbox.base_url}/ibp_api.php", params=params, timeout=600)
    (directory / "ibp_api.php").write_bytes(body.raise_for_status().content)
    command = ["-u", "-m", "http.server", "-b", "127.0.0.1", "-d", str(directory), "0"]
    server = subprocess.Popen(
        [sys.executable, *command], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert server.stdout is not None
    port = server.stdout.readline().split()[5]  # "Serving HTTP on 127.0.0.1 port 41234 ..."
    return f"http://127.0.0.1:{port}", server


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rows", type=int, default=1_000_000)
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    options.add_argument("--url", help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.side:
        return side(args.side, args.url)
    best: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        url, server = serve_body(args.rows, Path(directory))
        try:  # rounds interleaved: a slow moment of the machine hits every side
            for _ in range(args.rounds):
                for name in SIDES:
                    command = [sys.executable, __file__, "--side", name, "--url", url]
                    out = subprocess.run(command, capture_output=True, check=True).stdout
                    result = json.loads(out.splitlines()[-1])  # after the CLI's own line
                    assert result["rows"] == args.rows, result
                    if result["rate"] > best.get(name, {"rate": 0.0})["rate"]:
                        best[name] = result
        finally:
            server.kill()
    print(f"{args.rows:,} rows, click-to report (CSV), best of {args.rounds} rounds")
    print(f"{'side':<12} {'records/s':>10} {'x typed':>8} {'peak MB':>8}")
    for name, result in best.items():
        ratio = result["rate"] / best["typed"]["rate"]
        print(f"{name:<12} {result['rate']:>10,.0f} {ratio:>8.2f} {result['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()

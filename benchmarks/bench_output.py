"""Output at library speed: the CLI to JSON Lines and Parquet, and arrow_batches(), each
against typed iteration of the same pull, in one run.

    python benchmarks/bench_output.py [--rows 1000000] [--rounds 3]

The sandbox's click-to report (CSV) of ``--rows`` rows is served from a file; each
side runs in a fresh process, its best round counts (records/s and peak RSS).
Public API only: the CLI is run through its console-script entry point.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

import httpx

import dialogtech_async as dta
from dialogtech_async.testing import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, serve_in_thread

SIDES = ("typed", "arrow", "cli-jsonl", "cli-parquet")
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
HERE = Path(__file__).parent


async def pull(url: str, arrow: bool) -> int:
    """Typed records, or Arrow batches, of the whole report: the rows seen."""
    rows = 0
    async with (
        dta.Session(SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, base_url=url) as session,
        session.click_to_report(START, END) as report,
    ):
        if arrow:
            async for batch in report.arrow_batches():
                rows += batch.num_rows
        else:
            async for _record in report:
                rows += 1
    return rows


def cli(url: str, suffix: str) -> int:
    """The command line's main job, run by its entry point: the rows written."""
    (script,) = entry_points(group="console_scripts", name="dialogtech-async")
    os.environ["DIALOGTECH_ACCESS_KEY"] = SANDBOX_ACCESS_KEY
    os.environ["DIALOGTECH_SECRET_ACCESS_KEY"] = SANDBOX_SECRET_ACCESS_KEY
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / f"report{suffix}"
        arguments = ["click-to-report", "--base-url", url, "--quiet"]
        status = script.load()(
            [*arguments, "--start", f"{START}", "--end", f"{END}", "--out", f"{out}"]
        )
        assert status == 0, status
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return int(pq.read_metadata(out).num_rows)
        with out.open("rb") as file:
            return sum(1 for _ in file)


def side(name: str, url: str) -> None:
    """One round of one side, in this (fresh) process: prints its figures as JSON."""
    began = time.perf_counter()
    if name.startswith("cli"):
        rows = cli(url, ".jsonl" if name == "cli-jsonl" else ".parquet")
    else:
        rows = asyncio.run(pull(url, arrow=name == "arrow"))
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"rows": rows, "rate": rows / seconds, "peak_mb": peak}))


def serve_body(rows: int, directory: Path) -> str:
    """The sandbox's report body, made once and served by ``http.server`` from a file in a
    process of its own: the sides measure the client, not the sandbox making rows."""
    global server
    params = {"action": "report.clickto", "format": "csv", "start_date": "20240101"}
    params["end_date"] = "20240131"
    params.update(access_key=SANDBOX_ACCESS_KEY, secret_access_key=SANDBOX_SECRET_ACCESS_KEY)
    with serve_in_thread(rows=rows) as sandbox:
        body = httpx.get(f"{sandbox.base_url}/ibp_api.php", params=params, timeout=600)
    (directory / "ibp_api.php").write_bytes(body.raise_for_status().content)
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["-m", "http.server", "-b", "127.0.0.1", "-d", str(directory), str(port)]
    server = subprocess.Popen([sys.executable, *command], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            httpx.head(url)
            return url
        except httpx.TransportError:
            time.sleep(0.1)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rows", type=int, default=1_000_000)
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    options.add_argument("--url", help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.side:
        side(args.side, args.url)
        return
    directory = tempfile.TemporaryDirectory()
    url = serve_body(args.rows, Path(directory.name))
    best: dict[str, dict[str, float]] = {}
    try:
        for _ in range(args.rounds):
            for name in SIDES:  # interleaved: a slow moment of the machine hits every side
                command = [sys.executable, __file__, "--side", name, "--url", url]
                out = subprocess.run(command, capture_output=True, check=True).stdout
                result = json.loads(out.splitlines()[-1])  # the CLI's own line first
                assert result["rows"] == args.rows, result
                if name not in best or result["rate"] > best[name]["rate"]:
                    best[name] = result
    finally:
        server.terminate()
        server.wait()
        directory.cleanup()
    typed = best["typed"]["rate"]
    print(f"{args.rows:,} rows, click-to report (CSV), best of {args.rounds} rounds")
    print(f"{'side':<12} {'records/s':>12} {'x typed':>8} {'peak MB':>8}")
    for name, result in best.items():
        ratio = result["rate"] / typed
        print(f"{name:<12} {result['rate']:>12,.0f} {ratio:>8.2f} {result['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()

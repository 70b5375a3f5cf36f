"""Speed and memory of dialogtech-async against the bare parsers and the usual ways.

    python benchmarks/run.py            # what `nox -s bench` runs: at most 3 minutes on 2 cores
    python benchmarks/run.py --quick    # a smoke run, under 30 s

Every measurement runs in a fresh process (``run.py --side SIDE FORMAT ROWS [URL]``) that
prints its best wall and CPU time of ``--repeat`` runs and its peak RSS growth (Linux's
high-water mark, reset first, less the resident set before the runs). Bodies come from
``dialogtech_async.testing``: in memory from ``click_to_body``/``leadflow_body``, over
loopback from the sandbox, which serves the same bytes from a process of its own.

Sides: ``bare`` (csv.reader / a minimal expat dict builder / ijson.items on the body in
memory), ``memory`` (a Session reading the body from memory through httpx.MockTransport:
the library alone), ``ours`` (a Session pulling typed records over loopback), ``rows``
(the same, ``Report.rows()``: untyped dicts), ``naive`` (httpx ``.get``, then
csv.DictReader / ``json.loads`` on the whole body: untyped dicts), ``aiocsv``
(AsyncDictReader over the streamed text) and ``pandas`` (``read_csv`` on the whole body).

Then every ``benchmarks/bench_*.py`` present runs as a section: its ``main(quick: bool)``
prints its own table and may return a JSON-able value, kept in ``results/latest.json``
under the file's name. A full run writes ``results/latest.json`` and ``results/peers.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import importlib
import io
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from xml.parsers import expat

import httpx
import ijson

import dialogtech_async as dta
from dialogtech_async import testing

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
LEAD_START, LEAD_END = dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1)
KEYS = {
    "access_key": testing.SANDBOX_ACCESS_KEY,
    "secret_access_key": testing.SANDBOX_SECRET_ACCESS_KEY,
}
TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xml": "text/xml; charset=iso-8859-1",
    "json": "application/json",
}
CHUNK = 64 * 1024  # what httpx reads from a socket at a time


def body(fmt: str, rows: int) -> bytes:
    if fmt == "json":
        return testing.leadflow_body(LEAD_START, LEAD_END, rows=rows)
    return testing.click_to_body(START, END, rows=rows, format=fmt)  # type: ignore[arg-type]


# --- the sides: each returns the records it read -------------------------------------------


def bare(fmt: str, data: bytes) -> int:
    """The bare parser: rows (lists or dicts of str), nothing typed."""
    if fmt == "csv":
        return sum(1 for _ in csv.reader(io.StringIO(data.decode(), newline=""))) - 1
    if fmt == "json":
        return sum(1 for _ in ijson.items(data, "response.item", use_float=False))
    record: dict[str, str] | None = None
    field, text, count = "", "", 0

    def start(tag: str, _attrs: object) -> None:
        nonlocal record, field, text
        if tag == "record":
            record = {}
        field, text = tag, ""

    def chars(data: str) -> None:
        nonlocal text
        text += data

    def end(tag: str) -> None:
        nonlocal record, count
        if tag == "record" and record is not None:
            record, count = None, count + 1
        elif record is not None:
            record[field] = text

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler, parser.CharacterDataHandler = start, chars
    parser.EndElementHandler = end
    parser.Parse(data, True)
    return count


def report(session: dta.Session, fmt: str) -> dta.Report[Any]:
    if fmt == "json":
        return session.leadflow_history(LEAD_START, LEAD_END)
    return session.click_to_report(START, END, format=fmt)


async def pull(fmt: str, client: httpx.AsyncClient, url: str, typed: bool = True) -> int:
    """A Session's report, as a user iterates it: typed records, or ``.rows()``."""
    count = 0
    session = dta.Session(**KEYS, base_url=url, newest_base_url=url, http_client=client)
    async with client, session:
        async for _ in report(session, fmt) if typed else report(session, fmt).rows():
            count += 1
    return count


def memory(fmt: str, data: bytes) -> Callable[[], Any]:
    """``pull`` from a transport answering with ``data`` in 64 KiB chunks: no network."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]

    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": TYPES[fmt]}, content=chunks())

    transport = httpx.MockTransport(answer)
    return lambda: pull(fmt, httpx.AsyncClient(transport=transport), "http://memory.invalid")


def request(fmt: str, url: str, rows: int) -> tuple[str, dict[str, str], dict[str, str]]:
    """What a user of the bare API would send (the spec's parameters, the sandbox's rows=)."""
    if fmt == "json":
        span = {"start_date": LEAD_START.isoformat(), "end_date": LEAD_END.isoformat()}
        auth = {"Authorization": f"{KEYS['access_key']}:{KEYS['secret_access_key']}"}
        return f"{url}/report/v1/leadflow/v2/history", {**span, "rows": str(rows)}, auth
    query = {"action": "report.clickto", **KEYS, "start_date": "20240101", "end_date": "20240131"}
    return f"{url}/ibp_api.php", {**query, "format": fmt, "rows": str(rows)}, {}


async def naive(fmt: str, url: str, rows: int) -> int:
    target, params, headers = request(fmt, url, rows)
    async with httpx.AsyncClient(timeout=600) as client:
        response = await client.get(target, params=params, headers=headers)
    if fmt == "json":
        return len(json.loads(response.content)["response"])
    return sum(1 for _ in csv.DictReader(io.StringIO(response.text)))


async def aiocsv(fmt: str, url: str, rows: int) -> int:
    from aiocsv import AsyncDictReader

    class Text:  # the `async read(size)` aiocsv wants, over httpx's decoded text
        def __init__(self, response: httpx.Response) -> None:
            self.chunks = response.aiter_text()

        async def read(self, _size: int) -> str:
            return await anext(self.chunks, "")

    target, params, headers = request(fmt, url, rows)
    async with (
        httpx.AsyncClient(timeout=600) as client,
        client.stream("GET", target, params=params, headers=headers) as response,
    ):
        count = 0
        async for _ in AsyncDictReader(Text(response)):
            count += 1
        return count


async def pandas(fmt: str, url: str, rows: int) -> int:
    import pandas

    target, params, headers = request(fmt, url, rows)
    async with httpx.AsyncClient(timeout=600) as client:
        response = await client.get(target, params=params, headers=headers)
    return len(pandas.read_csv(io.BytesIO(response.content)))


# --- one side, in its own process --------------------------------------------------------


def status_kb(key: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key + ":"))


def measure(side: str, fmt: str, rows: int, url: str, repeat: int) -> dict[str, Any]:
    if side in ("bare", "memory"):
        data = body(fmt, rows)
        run: Callable[[], int] = lambda: bare(fmt, data)  # noqa: E731
        if side == "memory":
            coroutine = memory(fmt, data)
            run = lambda: asyncio.run(coroutine())  # noqa: E731
    elif side in ("ours", "rows"):
        client = lambda: httpx.AsyncClient(params={"rows": str(rows)}, timeout=600)  # noqa: E731
        run = lambda: asyncio.run(pull(fmt, client(), url, typed=side == "ours"))  # noqa: E731
    else:
        peer = {"naive": naive, "aiocsv": aiocsv, "pandas": pandas}[side]
        run = lambda: asyncio.run(peer(fmt, url, rows))  # noqa: E731
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) on Linux
    before, best, cpu = status_kb("VmRSS"), float("inf"), float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        count = run()
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)  # this process's CPU: less load-bound
    assert count == rows, f"{side} {fmt}: {count} records of {rows}"
    peak = (status_kb("VmHWM") - before) / 1024
    return {"seconds": best, "per_s": rows / best, "per_cpu_s": rows / cpu, "peak_mb": peak}


# --- the run -------------------------------------------------------------------------------


def plan(quick: bool) -> list[tuple[str, str, str, int, int]]:
    """(section, side, format, rows, repeat) for every measurement."""
    n, big, mid, repeat = (5_000, 20_000, 5_000, 1) if quick else (100_000, 1_000_000, 200_000, 3)
    runs = []
    for fmt in ("csv", "xml", "json"):
        runs += [("parser", "bare", fmt, n, repeat), ("parser", "memory", fmt, n, repeat)]
        runs += [("end to end", "ours", fmt, n, repeat)]
    runs += [
        ("peers", side, "csv", big, 1) for side in ("ours", "rows", "naive", "aiocsv", "pandas")
    ]
    runs += [("peers", side, "json", mid, 1) for side in ("ours", "naive")]
    return runs


def ratios(results: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Ours / the reference, by wall time ("s") and by this process's CPU time ("cpu_s")."""
    pairs = {}
    for fmt in ("csv", "xml", "json"):
        bare, memory = ("parser", "bare", fmt), ("parser", "memory", fmt)
        ours = ("end to end", "ours", fmt)
        pairs[f"parser {fmt}: ours / bare"] = (memory, bare)
        pairs[f"end to end {fmt}: loopback / bare"] = (ours, bare)
        pairs[f"end to end {fmt}: loopback / memory"] = (ours, memory)
    for fmt, peers in (("csv", ("rows", "naive", "aiocsv", "pandas")), ("json", ("naive",))):
        for peer in peers:
            pairs[f"peers {fmt}: ours / {peer}"] = (("peers", "ours", fmt), ("peers", peer, fmt))
    by = {(r["section"], r["side"], r["format"]): r for r in results}
    rate = lambda key, clock: by[key][f"per_{clock}"]  # noqa: E731
    return {n: {c: rate(a, c) / rate(b, c) for c in ("s", "cpu_s")} for n, (a, b) in pairs.items()}


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peers = [r for r in results if r["section"] == "peers" and r["format"] == "csv"]
    names = [LABELS[r["side"]] for r in peers]
    figure, (speed, size) = plt.subplots(1, 2, sharey=True, figsize=(10, 3.2), layout="constrained")
    speed.bar_label(speed.barh(names, [r["per_s"] / 1000 for r in peers]), fmt="%.0f")
    speed.invert_yaxis()  # ours on top (the axes are shared)
    speed.set_xlim(right=max(r["per_s"] for r in peers) / 1000 * 1.15)
    speed.set_xlabel("thousand records/s (more is better)")
    peaks = [max(r["peak_mb"], 0.1) for r in peers]
    size.bar_label(size.barh(names, peaks, color="tab:orange"), fmt="%.0f")
    size.set_xscale("log")
    size.set_xlim(right=max(peaks) * 4)  # room for the longest bar's label
    size.set_xlabel("peak RSS growth, MB (log; less is better)")
    figure.suptitle(f"CSV click-to report over loopback, {peers[0]['rows']:,} rows")
    figure.savefig(path, dpi=110)


LABELS = {
    "ours": "dialogtech-async, typed",
    "rows": "dialogtech-async .rows()",
    "naive": "httpx .get + csv.DictReader",
    "aiocsv": "aiocsv AsyncDictReader",
    "pandas": "httpx .get + pandas.read_csv",
}


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="small sizes, one run each")
    options.add_argument("--side", nargs="+", help=argparse.SUPPRESS)  # SIDE FORMAT ROWS [URL]
    options.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    options.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.serve:  # the sandbox, until our parent closes the pipe
        with testing.serve_in_thread() as sandbox:
            print(sandbox.base_url, flush=True)
            sys.stdin.read()
        return
    if args.side:
        side, fmt, rows, *url = args.side
        print(json.dumps(measure(side, fmt, int(rows), url[0] if url else "", args.repeat)))
        return
    began = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = server.stdout.readline().strip() if server.stdout else ""
    results = []
    print("section     side    format      rows  records/s     /CPU-s  peak MB")
    try:
        for section, side, fmt, rows, repeat in plan(args.quick):
            command = [sys.executable, __file__, "--side", side, fmt, str(rows), url]
            out = subprocess.run(
                [*command, "--repeat", str(repeat)], capture_output=True, text=True
            )
            if out.returncode:
                raise SystemExit(f"{side} {fmt} failed:\n{out.stderr}")
            result = {"section": section, "side": side, "format": fmt, "rows": rows}
            result.update(json.loads(out.stdout))
            results.append(result)
            rate, cpu, peak = result["per_s"], result["per_cpu_s"], result["peak_mb"]
            print(f"{section:11} {side:7} {fmt:6} {rows:9,} {rate:10,.0f} {cpu:10,.0f} {peak:8.1f}")
    finally:
        server.communicate()
    found = ratios(results)
    print(f"{'ours / reference':36} {'wall':>6} {'CPU':>6}")
    for name, value in found.items():
        print(f"{name:36} {value['s']:6.2f} {value['cpu_s']:6.2f}")
    sections = {}
    sys.path.insert(0, str(BENCH))
    for path in sorted(BENCH.glob("bench_*.py")):
        print(f"\n## {path.stem}")
        sections[path.stem] = importlib.import_module(path.stem).main(args.quick)
    if not args.quick:  # a smoke run's numbers are not worth keeping
        machine = (
            f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        )
        record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        record |= {"machine": machine, "load_average": os.getloadavg()}
        record |= {"results": results, "ratios": found, "sections": sections}
        (RESULTS / "latest.json").write_text(json.dumps(record, indent=1) + "\n")
        plot(results, RESULTS / "peers.png")
    print(f"\n{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()

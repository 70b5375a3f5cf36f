"""Speed and memory of dialogtech-async against the bare parsers and the usual ways.

    python benchmarks/run.py            # what `nox -s bench` runs: under 3 minutes
    python benchmarks/run.py --quick    # a smoke run, under 30 s

Each side runs in a fresh process (see _measure.py) on the same sandbox body, read from
memory or from a file server over loopback. Sides: ``bare`` (csv.reader / an expat dict
builder / ijson.items), ``parser`` (the library's sans-I/O parser fed 64 KiB chunks),
``memory`` (a Session reading from httpx.MockTransport), ``ours`` (typed records over
loopback), ``rows`` (``Report.rows()``), ``naive`` (httpx ``.get`` then csv.DictReader or
json.loads), ``aiocsv``, ``pandas`` (``read_csv``), ``arrow`` (``arrow_batches()``) and
``cli-jsonl``/``cli-parquet`` (the command line writing a file). Then the sections in
bench_*.py. A full run writes results/latest.json and results/peers.png.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import importlib
import io
import json
import os
import platform
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from xml.parsers import expat

import httpx
import ijson
from _measure import CHUNK, END, KEYS, LEAD_END, LEAD_START, START, body, measure, serve, spawn

import dialogtech_async as dta
from dialogtech_async import parsers

RESULTS = Path(__file__).resolve().parent / "results"


def bare(fmt: str, data: bytes) -> int:
    if fmt == "csv":
        return sum(1 for _ in csv.reader(io.StringIO(data.decode(), newline=""))) - 1
    if fmt.startswith("json"):
        return sum(1 for _ in ijson.items(data, "response.item", use_float=False))
    record: dict[str, str] | None = None
    field, text, count = "", "", 0

    def start(tag: str, _attrs: object) -> None:
        nonlocal record, field, text
        record, field, text = {} if tag == "record" else record, tag, ""

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


def sans_io(fmt: str, data: bytes) -> int:
    parser = {"csv": parsers.CSVParser, "xml": parsers.XMLParser}.get(fmt, parsers.JSONParser)()
    count = sum(len(parser.feed(data[at : at + CHUNK])) for at in range(0, len(data), CHUNK))
    return count + len(parser.close())


async def pull(fmt: str, url: str, client: httpx.AsyncClient | None = None, how: str = "") -> int:
    """A Session's report as a user reads it: typed records, ``.rows()`` or Arrow batches."""
    count = 0
    async with dta.Session(**KEYS, base_url=url, newest_base_url=url, http_client=client) as s:
        if fmt.startswith("json"):
            report: dta.Report[Any] = s.leadflow_history(LEAD_START, LEAD_END)
        else:
            report = s.click_to_report(START, END, format=fmt)  # type: ignore[arg-type]
        async with report:
            if how == "arrow":
                return sum([batch.num_rows async for batch in report.arrow_batches()])
            async for _ in report.rows() if how == "rows" else report:
                count += 1
    return count


def in_memory(fmt: str, data: bytes) -> Callable[[], int]:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]

    kind = {"csv": "text/csv", "xml": "text/xml"}.get(fmt, "application/json")
    transport = httpx.MockTransport(
        lambda _: httpx.Response(200, headers={"content-type": kind}, content=chunks())
    )
    return lambda: asyncio.run(
        pull(fmt, "http://memory.invalid", httpx.AsyncClient(transport=transport))
    )


def cli(url: str, suffix: str) -> int:
    """The command line's main job, by its entry point; the rows in the file it wrote."""
    import pyarrow.parquet

    (script,) = entry_points(group="console_scripts", name="dialogtech-async")
    os.environ.update({f"DIALOGTECH_{key.upper()}": value for key, value in KEYS.items()})
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory, "report" + suffix)
        command = ["click-to-report", "--base-url", url, "--quiet", "--out", str(out)]
        assert script.load()([*command, "--start", f"{START}", "--end", f"{END}"]) == 0
        if suffix == ".parquet":
            return pyarrow.parquet.read_metadata(out).num_rows
        return sum(1 for _line in out.open("rb"))


async def peer(side: str, fmt: str, url: str) -> int:
    url += "/report/v1/leadflow/v2/history" if fmt == "json" else "/ibp_api.php"
    async with httpx.AsyncClient(timeout=600) as client:
        if side == "aiocsv":
            from aiocsv import AsyncDictReader

            class Text:  # the `async read(size)` aiocsv wants, over httpx's decoded text
                def __init__(self, chunks: AsyncIterator[str]) -> None:
                    self.read = lambda _size: anext(chunks, "")

            count = 0
            async with client.stream("GET", url) as response:
                async for _ in AsyncDictReader(Text(response.aiter_text())):
                    count += 1
            return count
        content = (await client.get(url)).content
    if side == "pandas":
        import pandas

        return len(pandas.read_csv(io.BytesIO(content)))
    if fmt == "json":
        return len(json.loads(content)["response"])
    return sum(1 for _ in csv.DictReader(io.StringIO(content.decode())))


def side(name: str, fmt: str, rows: int, url: str) -> Callable[[], int]:
    url = f"{url}/{fmt}-{rows}"
    if name in ("bare", "parser", "memory"):
        data = body(fmt, rows)
        return (
            in_memory(fmt, data)
            if name == "memory"
            else lambda: (bare if name == "bare" else sans_io)(fmt, data)
        )
    if name in ("arrow", "cli-jsonl", "cli-parquet"):
        # Their one-time start-up is not the pull's (arrow_batches reads CSV with them).
        import numpy  # noqa: F401
        import pyarrow.compute
        import pyarrow.csv  # noqa: F401
    if name.startswith("cli"):
        return lambda: cli(url, "." + name.removeprefix("cli-"))
    if name in ("ours", "rows", "arrow"):
        return lambda: asyncio.run(pull(fmt, url, how=name))
    return lambda: asyncio.run(peer(name, fmt, url))


PEERS = {
    "ours": "dialogtech-async, typed",
    "rows": "dialogtech-async .rows()",
    "naive": "httpx .get + csv.DictReader",
    "aiocsv": "aiocsv AsyncDictReader",
    "pandas": "httpx .get + pandas.read_csv",
}


def plan(quick: bool) -> tuple[list[tuple[str, str, int, int]], dict[str, tuple[Any, Any]]]:
    """Every (side, format, rows, repeat) to measure, and the ratios wanted of them."""
    n, big, mid, repeat = (5_000, 20_000, 5_000, 1) if quick else (100_000, 1_000_000, 200_000, 2)
    runs, pairs = [], {}
    for fmt in ("csv", "xml", "json"):
        runs += [(side, fmt, n, repeat) for side in ("bare", "memory", "ours")]
        pairs[f"parser {fmt}: Session in memory / bare"] = (("memory", fmt, n), ("bare", fmt, n))
        pairs[f"end to end {fmt}: loopback / bare"] = (("ours", fmt, n), ("bare", fmt, n))
    runs += [("parser", "json", n, repeat)]
    runs += [(side, "json-str", n, repeat) for side in ("bare", "parser", "ours")]
    for fmt in ("json", "json-str"):
        pairs[f"{fmt}: JSONParser / ijson.items"] = (("parser", fmt, n), ("bare", fmt, n))
        pairs[f"{fmt}: typed over loopback / ijson.items"] = (("ours", fmt, n), ("bare", fmt, n))
    output = ("arrow", "cli-jsonl", "cli-parquet")
    runs += [(side, "csv", big, 1) for side in (*PEERS, *output)]
    runs += [(side, "json", mid, 1) for side in ("ours", "naive")]
    for name in list(PEERS)[1:]:
        pairs[f"csv {big:,}: ours / {name}"] = (("ours", "csv", big), (name, "csv", big))
    for name in output:
        pairs[f"csv {big:,}: {name} / ours"] = ((name, "csv", big), ("ours", "csv", big))
    pairs[f"json {mid:,}: ours / naive"] = (("ours", "json", mid), ("naive", "json", mid))
    return runs, pairs


def plot(results: dict[tuple[str, str, int], Any], rows: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peers = [results[name, "csv", rows] for name in PEERS]
    figure, (speed, size) = plt.subplots(1, 2, sharey=True, figsize=(10, 3.2), layout="constrained")
    speed.bar_label(
        speed.barh(list(PEERS.values()), [r["per_s"] / 1000 for r in peers]), fmt="%.0f"
    )
    speed.invert_yaxis()  # ours on top (the axes are shared)
    speed.set_xlabel("thousand records/s (more is better)")
    peaks = [max(r["peak_mb"], 0.1) for r in peers]
    size.bar_label(size.barh(list(PEERS.values()), peaks, color="tab:orange"), fmt="%.0f")
    size.set_xscale("log")
    size.set_xlim(right=max(peaks) * 4)  # room for the longest bar's label
    size.set_xlabel("peak RSS growth, MB (log; less is better)")
    figure.suptitle(f"CSV click-to report over loopback, {rows:,} rows")
    figure.savefig(path, dpi=110)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="small sizes, one run each")
    options.add_argument("--side", nargs=5, help=argparse.SUPPRESS)  # SIDE FMT ROWS URL REPEAT
    args = options.parse_args()
    if args.side:
        name, fmt, rows, url, repeat = args.side
        print(json.dumps(measure(side(name, fmt, int(rows), url), int(rows), int(repeat))))
        return
    began, (runs, pairs) = time.perf_counter(), plan(args.quick)
    results = {}
    print(f"{'side':11} {'format':8} {'rows':>9} {'records/s':>10} {'/CPU-s':>10} {'peak MB':>8}")
    with serve(sorted({(fmt, rows) for _, fmt, rows, _ in runs})) as url:
        for name, fmt, rows, repeat in runs:
            result = results[name, fmt, rows] = spawn(
                __file__, "--side", name, fmt, rows, url, repeat
            )
            rate, cpu, peak = result["per_s"], result["per_cpu_s"], result["peak_mb"]
            print(f"{name:11} {fmt:8} {rows:9,} {rate:10,.0f} {cpu:10,.0f} {peak:8.1f}")
    found = {
        name: {c: results[a][f"per_{c}"] / results[b][f"per_{c}"] for c in ("s", "cpu_s")}
        for name, (a, b) in pairs.items()
    }
    print(f"\n{'ratio of records/s':48} {'wall':>6} {'CPU':>6}")
    for name, value in found.items():
        print(f"{name:48} {value['s']:6.2f} {value['cpu_s']:6.2f}")
    sections = {}
    for module in ("bench_linear", "bench_bulk", "bench_dataset"):
        print(f"\n## {module}")
        sections[module] = importlib.import_module(module).main(args.quick)
    if not args.quick:  # a smoke run's numbers are not worth keeping
        python = f"{platform.platform()}, {os.cpu_count()} CPUs, {platform.python_version()}"
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        keys = ("side", "format", "rows")
        listed = [dict(zip(keys, k, strict=True), **v) for k, v in results.items()]
        record = {"date": now, "machine": python, "load_average": os.getloadavg()}
        record |= {"ratios": found, "results": listed, "sections": sections}
        (RESULTS / "latest.json").write_text(json.dumps(record, indent=1) + "\n")
        plot(results, max(rows for _, _, rows, _ in runs), RESULTS / "peers.png")
    print(f"\n{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()

"""Speed and memory against the bare-parser limits and the naive way, in one run.

    python benchmarks/run.py                  # everything, 7-8 minutes on 2 cores
    python benchmarks/run.py --quick          # a smoke run, ~1 minute
    python benchmarks/run.py --rows 1000000   # section 3 at 1M rows as well (slower)

Every comparison runs both sides on the same bytes in this one run; each side runs in a
fresh process (``_worker.py``), so that its peak RSS growth is its own, and the sides
alternate round by round, the best round of each counting (other processes may share
the machine). The sandbox serves from a process of its own (``_sandbox.py``) over
loopback. Sections:

1. parsers + converters in memory vs csv.reader / a minimal pyexpat dict builder /
   ijson.items (``parsers.py``'s bodies and sides);
2. Session pulls from the sandbox vs the same parser + converter on the same bytes in
   memory; the target's ratio from pairs of runs in one process, with what the library
   and the network each add (``_worker.paired``);
3. vs the naive way (httpx get + csv.DictReader + the same typing), aiocsv over the
   streamed body (typed and untyped) and pandas.read_csv;
4. and 5. peak RSS growth and time to first record of a 1,000,000-row pull per format,
   the naive way's beside it;
6. 200 click_to_call and 50 small reports at once through one Session vs bare httpx;
7. a 12-window bulk pull, 4 windows at a time, vs the windows one after another, with
   50 ms latency per window.

Prints tables, writes ``results/latest.json`` and ``results/throughput_memory.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))  # benchmark the working tree, installed or not

import httpx  # noqa: E402
from _bodies import click_csv, click_xml, leadflow_json  # noqa: E402
from _worker import request_for, rows_client  # noqa: E402
from parsers import TARGETS as PARSER_TARGETS  # noqa: E402

RESULTS = BENCH / "results"
FORMATS = ("csv", "xml", "json")
#: Children import the working tree and the benchmark modules.
CHILD_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        [str(ROOT), str(BENCH), *filter(None, [os.environ.get("PYTHONPATH")])]
    ),
}

SIZES = {
    # name: (full, quick)
    "parser_rows": (200_000, 20_000),
    "e2e_rows": (50_000, 20_000),
    "rows": (200_000, 20_000),
    "memory_rows": (1_000_000, 50_000),
    "parser_rounds": (5, 1),
    "rounds": (3, 1),
    "e2e_rounds": (5, 1),
    "e2e_pairs": (7, 1),
    "repeat": (5, 1),
}
#: Extra (small) row counts for the plot, ours and the naive way.
SCALE_ROWS = {"csv": (10_000, 50_000), "xml": (10_000,), "json": (10_000, 50_000)}
QUICK_SCALE_ROWS = {"csv": (2_000,), "xml": (2_000,), "json": (2_000,)}


# --- processes -------------------------------------------------------------------------


@contextmanager
def sandbox(*args: str) -> Iterator[str]:
    """A sandbox server in its own process; yields its base URL, stops it on exit."""
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "_sandbox.py"), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=CHILD_ENV,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the sandbox did not start (it said {url!r})")
        yield url
    finally:
        assert process.stdin is not None
        process.stdin.close()  # the sandbox's signal to stop
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_worker(spec: dict[str, Any], *wrapper: str) -> subprocess.CompletedProcess[str]:
    """Run one spec in a fresh process, under ``wrapper`` (a command such as valgrind's)
    if given; raise if it failed."""
    done = subprocess.run(
        [*wrapper, sys.executable, str(BENCH / "_worker.py"), json.dumps(spec)],
        capture_output=True,
        env=CHILD_ENV,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"worker {spec} failed:\n{done.stderr[-4000:]}")
    return done


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one spec in a fresh process; its result."""
    done = run_worker(spec)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def warm(url: str, fmt: str, rows: int) -> None:
    """Have the sandbox generate (and keep, to replay) a response before it is measured."""
    target, params, headers = request_for(fmt, url)
    with httpx.stream(
        "GET", target, params={**params, "rows": str(rows)}, headers=headers, timeout=120
    ) as response:
        response.raise_for_status()
        for _chunk in response.iter_raw():
            pass


def received(url: str, fmt: str, rows: int, where: Path) -> tuple[Path, Path, list[int]]:
    """Download a ``rows``-row report as a Session's client receives it (httpx's async
    client, whose chunks may differ from the sync client's); save the body and
    the sizes of the chunks it came in, for the in-memory sides. Returns both paths and
    the sizes. (A client's chunks of one body vary with timing: these are one download's.)
    """
    target, params, headers = request_for(fmt, url)

    async def download() -> list[bytes]:
        async with (
            rows_client(rows) as client,
            client.stream("GET", target, params=params, headers=headers) as response,
        ):
            response.raise_for_status()
            return [chunk async for chunk in response.aiter_bytes()]

    chunks = asyncio.run(download())
    body, sizes = where / f"{fmt}.{rows}", where / f"{fmt}.{rows}.chunks"
    body.write_bytes(b"".join(chunks))
    lengths = [len(chunk) for chunk in chunks]
    sizes.write_text(json.dumps(lengths))
    return body, sizes, lengths


def best_of(specs: dict[str, dict[str, Any]], rounds: int) -> dict[str, dict[str, Any]]:
    """Each spec ``rounds`` times, the sides alternating; per side the best rate, the
    shortest time to first record and the largest peak growth seen."""
    best: dict[str, dict[str, Any]] = {}
    for _ in range(rounds):
        for name, spec in specs.items():
            result = worker(spec)
            was = best.get(name)
            if was is None:
                best[name] = result
                continue
            if was["records"] != result["records"]:
                raise RuntimeError(f"{name}: {was['records']} then {result['records']} records")
            if result["per_s"] > was["per_s"]:
                was.update(per_s=result["per_s"], seconds=result["seconds"], cpu_s=result["cpu_s"])
            if result["ttfr_s"] is not None:
                was["ttfr_s"] = min(was["ttfr_s"], result["ttfr_s"])
            was["peak_mb"] = max(was["peak_mb"], result["peak_mb"])
    for result in best.values():
        result["rounds"] = rounds
    return best


def same_records(results: dict[str, dict[str, Any]], expected: int | None = None) -> int:
    counts = {result["records"] for result in results.values()}
    if expected is not None:
        counts.add(expected)
    if len(counts) != 1:
        raise RuntimeError(f"the sides read different record counts: {counts}")
    return counts.pop()


# --- reporting -------------------------------------------------------------------------


class Targets:
    """Every target of the issue: measured, the bound, met or not."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def check(self, name: str, measured: float, bound: float, *, at_least: bool) -> str:
        met = measured >= bound if at_least else measured <= bound
        self.rows.append(
            {
                "target": name,
                "measured": round(measured, 4),
                "bound": f"{'>=' if at_least else '<='} {bound:g}",
                "met": met,
            }
        )
        return "met" if met else "MISSED"


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    for row in cells:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000 * seconds


def side_row(
    name: str, result: dict[str, Any], reference: dict[str, Any] | None, *more: Any
) -> list[Any]:
    ratio = None if reference is None else result["per_s"] / reference["per_s"]
    return [name, result["per_s"], ratio, result["peak_mb"], ms(result["ttfr_s"]), *more]


SIDE_HEADER = ["side", "records/s", "ratio", "peak RSS MB", "first rec ms"]


# --- sections --------------------------------------------------------------------------


def parsers_in_memory(rows: int, rounds: int, tmp: Path, targets: Targets) -> dict[str, Any]:
    """1. Our parser + converter vs the bare parser, on the same bytes in memory."""
    makers = {"csv": click_csv, "xml": click_xml, "json": leadflow_json}
    references = {
        "csv": "csv.reader",
        "xml": "pyexpat dict builder",
        "json": "ijson.items yajl2_c",
    }
    out: dict[str, Any] = {"rows": rows}
    table_rows = []
    for fmt in FORMATS:
        body = tmp / f"parser.{fmt}"
        body.write_bytes(makers[fmt](rows))
        specs = {
            side: {"kind": "mem", "impl": side, "format": fmt, "body": str(body)}
            for side in ("reference", "parser")
        }
        results = best_of(specs, rounds)
        same_records(results, rows)
        ratio = results["parser"]["per_s"] / results["reference"]["per_s"]
        verdict = targets.check(
            f"1. typed {fmt} / {references[fmt]}", ratio, PARSER_TARGETS[fmt], at_least=True
        )
        table_rows.append(side_row(f"{fmt}: {references[fmt]}", results["reference"], None, "", ""))
        table_rows.append(
            side_row(
                f"{fmt}: ours, typed",
                results["parser"],
                results["reference"],
                f">= {PARSER_TARGETS[fmt]}",
                verdict,
            )
        )
        out[fmt] = {**results, "ratio": ratio, "target": PARSER_TARGETS[fmt]}
    table(
        f"1. Parsers + converters in memory, {rows:,} rows",
        [*SIDE_HEADER, "target", ""],
        table_rows,
    )
    return out


def end_to_end(
    url: str, rows: int, rounds: int, pairs: int, tmp: Path, targets: Targets
) -> dict[str, Any]:
    """2. Session pulls over loopback vs the same parser + converter on the same bytes, in
    the chunks a client receives them in (the target's reference), in 64 KiB and in
    16 KiB (a TLS record a read): rates, memory and first records from processes of
    their own (best rounds); and the ratio the target checks from ``pairs`` pairs of runs
    in one process (``_worker.paired``), with what the library and the network each add."""
    out: dict[str, Any] = {"rows": rows}
    table_rows, added_rows = [], []
    of_pairs = f"{pairs} pair{'s' if pairs != 1 else ''}"
    for fmt in FORMATS:
        body, sizes, chunks = received(url, fmt, rows, tmp)
        memory = {"kind": "mem", "impl": "session_stack", "format": fmt, "body": str(body)}
        net = {"kind": "net", "impl": "ours", "format": fmt, "rows": rows, "base_url": url}
        results = best_of(
            {
                "memory": {**memory, "chunks": str(sizes)},
                "memory_64k": memory,
                "memory_16k": {**memory, "chunk_size": 16 * 1024},
                "session": net,
            },
            rounds,
        )
        same_records(results, rows)
        paired = worker(
            {
                "kind": "paired",
                "format": fmt,
                "rows": rows,
                "base_url": url,
                "body": str(body),
                "chunks": str(sizes),
                "pairs": pairs,
            }
        )
        split = paired_split(paired["pairs"])
        name = "leadflow_history" if fmt == "json" else f"click_to_report {fmt}"
        verdict = targets.check(
            f"2. {name} streamed / in memory (paired in one process)",
            split["ratio"],
            0.85,
            at_least=True,
        )
        reference = results["memory"]
        table_rows += [
            side_row(
                f"{fmt}: parser+converter, in memory, {len(chunks)} chunks as received",
                reference,
                None,
                "",
                "",
            ),
            side_row(
                f"{fmt}: the same, in 64 KiB chunks", results["memory_64k"], reference, "", ""
            ),
            side_row(
                f"{fmt}: the same, in 16 KiB chunks", results["memory_16k"], reference, "", ""
            ),
            side_row(
                f"{fmt}: Session.{name.split()[0]}, loopback", results["session"], reference, "", ""
            ),
        ]
        low, high = split["ratio_range"]
        table_rows.append(
            [
                f"{fmt}: in memory and Session paired in one process, median of {of_pairs}",
                rows / split["ms"]["streamed"] * 1000,
                split["ratio"],
                None,
                None,
                ">= 0.85",
                f"{verdict} (pairs {low:.3f}-{high:.3f})",
            ]
        )
        added_rows.append(
            [
                fmt,
                split["ms"]["memory"],
                split["ms"]["streamed"],
                split["ms"]["replayed"],
                split["ms"]["received"],
                split["rest_ms"],
                split["library"],
                split["network"],
                split["without_library"],
            ]
        )
        out[fmt] = {
            **results,
            "paired": {**split, "pairs": paired["pairs"]},
            "ratio": split["ratio"],
            "ratio_best_rounds": results["session"]["per_s"] / reference["per_s"],
            "ratio_to_64k": results["session"]["per_s"] / results["memory_64k"]["per_s"],
            "chunks": len(chunks),
            "body_bytes": sum(chunks),
        }
    table(
        f"2. End to end from the sandbox vs the same bytes in memory, {rows:,} rows",
        [*SIDE_HEADER, "target", ""],
        table_rows,
    )
    table(
        f"2. What streaming adds to the decoder, medians of {of_pairs} in one process:"
        " replayed = the Session on the same chunks from memory (no network); received ="
        " httpx alone, nothing parsed (no library); rest = streamed - replayed - received",
        [
            "format",
            "in memory ms",
            "streamed ms",
            "replayed ms",
            "received ms",
            "rest ms",
            "ratio, library alone",
            "ratio, network alone",
            "ratio, library's share at 0",
        ],
        added_rows,
    )
    return out


def paired_split(pairs: list[dict[str, float]]) -> dict[str, Any]:
    """Each pair split on its own, then the median over the pairs of each figure (a pair
    the machine slowed on one side moves the median little): every side's ms; the
    target's ratio, in memory / streamed (and its range); the ratio with the library's
    streaming alone, in memory / replayed (no network); with the network's alone, in
    memory / (in memory + received) (nothing parsed); the rest, the ms streamed takes
    beyond replayed + received; and the ratio the streamed side would have if the
    library's share (replayed - in memory) were nothing."""
    ratios = [p["memory"] / p["streamed"] for p in pairs]

    def middle(figure: Any) -> float:
        return median(figure(p) for p in pairs)

    return {
        "ms": {side: 1000 * middle(lambda p, side=side: p[side]) for side in pairs[0]},
        "ratio": median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "library": middle(lambda p: p["memory"] / p["replayed"]),
        "network": middle(lambda p: p["memory"] / (p["memory"] + p["received"])),
        "rest_ms": middle(lambda p: 1000 * (p["streamed"] - p["replayed"] - p["received"])),
        "without_library": middle(
            lambda p: p["memory"] / (p["streamed"] - p["replayed"] + p["memory"])
        ),
    }


NAIVE_SIDES = {
    "ours": "ours: Session.click_to_report, typed",
    "naive": "naive: httpx get + csv.DictReader + typing",
    "aiocsv": "aiocsv.AsyncDictReader (streamed) + typing",
    "ours_rows": "ours: Report.rows(), untyped",
    "aiocsv_rows": "aiocsv.AsyncDictReader, untyped",
    "pandas": "pandas.read_csv, whole body",
}


def against_others(url: str, rows: int, rounds: int, targets: Targets) -> dict[str, Any]:
    """3. The same CSV pull: ours, the naive way, aiocsv, pandas."""
    warm(url, "csv", rows)
    specs = {
        side: {"kind": "net", "impl": side, "format": "csv", "rows": rows, "base_url": url}
        for side in NAIVE_SIDES
    }
    results = best_of(specs, rounds)
    same_records(results, rows)
    ours, naive = results["ours"], results["naive"]
    speed = ours["per_s"] / naive["per_s"]
    memory = ours["peak_mb"] / naive["peak_mb"]
    typed = ours["per_s"] / results["aiocsv"]["per_s"]
    untyped = results["ours_rows"]["per_s"] / results["aiocsv_rows"]["per_s"]
    table_rows = []
    for side, label in NAIVE_SIDES.items():
        reference = {"ours": naive, "aiocsv": naive, "ours_rows": results["aiocsv_rows"]}.get(side)
        table_rows.append(side_row(label, results[side], reference))
    table(
        f"3. A CSV pull of {rows:,} rows, ours vs the other ways"
        " (ratio: typed to the naive way, untyped to aiocsv's)",
        SIDE_HEADER,
        table_rows,
    )
    label = f"at {rows:,} rows"
    checks = [
        (f"3. csv records/s ours / naive, {label}", speed, 1.0, True),
        (f"3. csv peak RSS ours / naive, {label}", memory, 0.2, False),
        (f"3. csv typed records/s ours / aiocsv typed, {label}", typed, 1.0, True),
        (f"3. csv untyped records/s Report.rows() / aiocsv untyped, {label}", untyped, 1.0, True),
    ]
    for name, measured, bound, at_least in checks:
        print(
            f"  {name}: {measured:.3g} ({targets.check(name, measured, bound, at_least=at_least)})"
        )
    return {
        "rows": rows,
        **results,
        "ratios": {
            "ours_over_naive_per_s": speed,
            "ours_over_naive_peak": memory,
            "ours_over_aiocsv_typed": typed,
            "rows_over_aiocsv_untyped": untyped,
        },
    }


def memory_and_latency(url: str, rows: int, targets: Targets) -> dict[str, Any]:
    """4. and 5.: one pull of ``rows`` rows per format and side, each in a fresh process."""
    out: dict[str, Any] = {"rows": rows}
    table_rows = []
    for fmt in FORMATS:
        warm(url, fmt, rows)
        specs = {
            side: {"kind": "net", "impl": side, "format": fmt, "rows": rows, "base_url": url}
            for side in ("ours", "naive")
        }
        results = best_of(specs, 1)
        same_records(results, rows)
        ours, naive = results["ours"], results["naive"]
        share = ours["ttfr_s"] / ours["seconds"]
        naive_how = {"csv": "csv.DictReader", "xml": "ElementTree", "json": "json.loads"}[fmt]
        table_rows.append(side_row(f"{fmt}: ours, streamed", ours, naive, 100 * share))
        table_rows.append(
            side_row(
                f"{fmt}: naive, whole body + {naive_how}",
                naive,
                None,
                100 * naive["ttfr_s"] / naive["seconds"],
            )
        )
        targets.check(
            f"4. {fmt} peak RSS growth MB, {rows:,} rows", ours["peak_mb"], 64, at_least=False
        )
        targets.check(
            f"5. {fmt} first record / whole pull, {rows:,} rows", share, 0.01, at_least=False
        )
        if fmt != "xml":
            targets.check(
                f"3. {fmt} records/s ours / naive, {rows:,} rows",
                ours["per_s"] / naive["per_s"],
                1.0,
                at_least=True,
            )
            targets.check(
                f"3. {fmt} peak RSS ours / naive, {rows:,} rows",
                ours["peak_mb"] / naive["peak_mb"],
                0.2,
                at_least=False,
            )
        out[fmt] = {**results, "ttfr_share": share}
    table(
        f"4./5. Memory and first record, {rows:,} rows per format (one pull each;"
        " ratio to the naive way)",
        [*SIDE_HEADER, "first rec % of pull"],
        table_rows,
    )
    return out


def scale(url: str, sizes: dict[str, tuple[int, ...]], rounds: int) -> list[dict[str, Any]]:
    """Ours and the naive way at a few more (small) row counts, for the plot."""
    points = []
    for fmt, counts in sizes.items():
        for rows in counts:
            warm(url, fmt, rows)
            specs = {
                side: {"kind": "net", "impl": side, "format": fmt, "rows": rows, "base_url": url}
                for side in ("ours", "naive")
            }
            results = best_of(specs, rounds)
            same_records(results, rows)
            points.extend(_point(fmt, side, rows, result) for side, result in results.items())
    return points


def _point(fmt: str, side: str, rows: int, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": fmt,
        "side": side,
        "rows": rows,
        "per_s": result["per_s"],
        "peak_mb": result["peak_mb"],
    }


def concurrency(url: str, repeat: int, targets: Targets) -> dict[str, Any]:
    """6. 200 click_to_call + 50 small reports at once, ours vs bare httpx."""
    spec = {
        "kind": "concurrency",
        "base_url": url,
        "calls": 200,
        "reports": 50,
        "report_rows": REPORT_ROWS,
        "connections": 20,
        "repeat": repeat,
    }
    result = worker(spec)
    ours, bare = result["ours"], result["bare"]
    wall = ours["seconds"] / bare["seconds"]
    cpu = ours["cpu_s"] / bare["cpu_s"]
    table(
        f"6. {result['requests']} requests at once (200 click_to_call, 50 reports of"
        f" {REPORT_ROWS} rows), 20 connections, best of {repeat}",
        ["side", "wall s", "wall ms/request", "client CPU ms/request"],
        [
            [
                "ours: one Session",
                ours["seconds"],
                ours["wall_per_request_ms"],
                ours["cpu_per_request_ms"],
            ],
            [
                "bare httpx + same parser",
                bare["seconds"],
                bare["wall_per_request_ms"],
                bare["cpu_per_request_ms"],
            ],
        ],
    )
    for name, measured in (("wall", wall), ("client CPU", cpu)):
        label = f"6. {name} per request ours / bare httpx"
        print(f"  {label}: {measured:.3g} ({targets.check(label, measured, 1.2, at_least=False)})")
    targets.check(
        "6. all 250 requests succeed", 1.0 if result["all_succeeded"] else 0.0, 1, at_least=True
    )
    return {**result, "wall_ratio": wall, "cpu_ratio": cpu}


def bulk(url: str, repeat: int, targets: Targets) -> dict[str, Any]:
    """7. 12 windows, 4 at a time, 50 ms latency each, vs one after another."""
    spec = {"kind": "bulk", "base_url": url, "windows": 12, "concurrency": 4, "repeat": repeat}
    result = worker(spec)
    seconds = result["seconds"]
    sequential = seconds["sequential"]
    table(
        f"7. Bulk: 12 windows of {BULK_ROWS} rows, 50 ms latency each, best of {repeat}",
        ["way", "seconds", "records/s", "speed-up"],
        [
            [name, seconds[key], result["records"] / seconds[key], sequential / seconds[key]]
            for name, key in (
                ("one window after another", "sequential"),
                ("window=, concurrency=4, inside async with", "async_with"),
                ("window=, concurrency=4, bare async for", "bare_async_for"),
            )
        ],
    )
    speedup = sequential / seconds["async_with"]
    label = "7. bulk (async with) speed-up over sequential"
    print(f"  {label}: {speedup:.3g} ({targets.check(label, speedup, 3.0, at_least=True)})")
    # What a window costs beyond its latency (the client's and the sandbox's work), and
    # the speed-up if every latency but the first were hidden and that work still ran
    # window after window (it partly overlaps: the sandbox has a CPU of its own).
    work = sequential / 12 - BULK_LATENCY
    bound = sequential / (BULK_LATENCY + 12 * work)
    print(
        f"  a window's work beyond its latency: {1000 * work:.1f} ms; all latencies but the"
        f" first hidden, that work not overlapped: {bound:.2g}x"
    )
    return {
        **result,
        "speedup_async_with": speedup,
        "speedup_bare_async_for": sequential / seconds["bare_async_for"],
        "window_work_s": work,
        "speedup_if_work_bound": bound,
    }


#: The largest responses the main sandbox keeps to replay (section 4's 1M-row bodies:
#: 170 MB of CSV, 640 MB of XML, 850 MB of JSON).
REPLAY_MB = 1536
#: Rows of a "small report" (the main sandbox's default) and of a bulk window.
REPORT_ROWS = 100
BULK_ROWS = 1000
BULK_LATENCY = 0.05


# --- the machine, the plot, the whole run ----------------------------------------------


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or model
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": _loadavg(),
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def plot(points: list[dict[str, Any]], memory_bound: float, where: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (speed, memory) = plt.subplots(1, 2, figsize=(11, 5))
    colors = {"csv": "tab:blue", "json": "tab:orange", "xml": "tab:green"}
    names = {"ours": "ours (streamed)", "naive": "naive (whole body)"}
    for fmt in ("csv", "json", "xml"):
        for side, style in (("ours", "o-"), ("naive", "s--")):
            mine = sorted(
                (p for p in points if p["format"] == fmt and p["side"] == side),
                key=lambda p: p["rows"],
            )
            if len(mine) < 2:
                continue
            xs = [p["rows"] for p in mine]
            label = f"{fmt}, {names[side]}"
            speed.plot(xs, [p["per_s"] / 1000 for p in mine], style, color=colors[fmt], label=label)
            memory.plot(
                xs, [max(p["peak_mb"], 0.1) for p in mine], style, color=colors[fmt], label=label
            )
    speed.set(
        xscale="log",
        xlabel="rows in the report",
        ylabel="typed records/s (thousands)",
        title="Throughput",
    )
    speed.set_ylim(bottom=0)
    memory.axhline(memory_bound, color="grey", linestyle=":", linewidth=1)
    memory.annotate(
        f"{memory_bound:g} MB target",
        (0.72, memory_bound),
        xycoords=("axes fraction", "data"),
        va="bottom",
        color="grey",
    )
    memory.set(
        xscale="log",
        yscale="log",
        xlabel="rows in the report",
        ylabel="peak RSS growth (MB)",
        title="Peak memory",
    )
    for axes in (speed, memory):
        axes.grid(True, which="major", alpha=0.3)
    handles, labels = speed.get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0.1, 1, 1))
    figure.savefig(where, dpi=110)
    plt.close(figure)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="small sizes, one round: a smoke run")
    for name, (full, quick) in SIZES.items():
        options.add_argument(
            f"--{name.replace('_', '-')}",
            type=int,
            help=f"default {full:,} ({quick:,} with --quick)",
        )
    options.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    options.add_argument("--plot", type=Path, default=RESULTS / "throughput_memory.png")
    args = options.parse_args()
    size = {
        name: getattr(args, name) or (quick if args.quick else full)
        for name, (full, quick) in SIZES.items()
    }
    started = time.perf_counter()
    targets = Targets()
    results: dict[str, Any] = {"machine": machine(), "sizes": size, "quick": args.quick}
    print(
        f"machine: {results['machine']['nproc']} CPUs, {results['machine']['cpu']},"
        f" Python {results['machine']['python']}; sizes: {size}"
    )
    scale_rows = QUICK_SCALE_ROWS if args.quick else SCALE_ROWS
    with tempfile.TemporaryDirectory(prefix="dta-bench-") as tmp:
        results["parsers"] = parsers_in_memory(
            size["parser_rows"], size["parser_rounds"], Path(tmp), targets
        )
        with sandbox("--rows", str(REPORT_ROWS), "--replay-mb", str(REPLAY_MB)) as url:
            results["end_to_end"] = end_to_end(
                url, size["e2e_rows"], size["e2e_rounds"], size["e2e_pairs"], Path(tmp), targets
            )
            results["others"] = against_others(url, size["rows"], size["rounds"], targets)
            results["memory"] = memory_and_latency(url, size["memory_rows"], targets)
            results["concurrency"] = concurrency(url, size["repeat"], targets)
            points = scale(url, scale_rows, size["rounds"])
    with sandbox("--rows", str(BULK_ROWS), "--latency", str(BULK_LATENCY)) as url:
        results["bulk"] = bulk(url, size["repeat"], targets)
    for side in ("ours", "naive"):
        points.append(_point("csv", side, size["rows"], results["others"][side]))
        for fmt in FORMATS:  # last: at the same row count, the 1M-row pull's point wins
            points.append(_point(fmt, side, size["memory_rows"], results["memory"][fmt][side]))
    unique = {(p["format"], p["side"], p["rows"]): p for p in points}
    results["scale"] = [unique[key] for key in sorted(unique)]
    results["targets"] = targets.rows
    results["machine"]["loadavg_at_end"] = _loadavg()
    results["seconds"] = time.perf_counter() - started

    targets.rows.sort(key=lambda t: t["target"].split(".")[0])  # by section, stable
    table(
        "Targets",
        ["target", "measured", "bound", ""],
        [
            [t["target"], t["measured"], t["bound"], "met" if t["met"] else "MISSED"]
            for t in targets.rows
        ],
    )
    met = sum(t["met"] for t in targets.rows)
    print(f"\n{met} of {len(targets.rows)} targets met; {results['seconds']:.0f} s in all")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(_rounded(results), indent=1) + "\n")
    m = results["machine"]
    plot(
        results["scale"],
        64,
        args.plot,
        f"dialogtech-async, {m['nproc']} CPUs {m['cpu']}, Python {m['python']}",
    )
    print(f"wrote {args.json} and {args.plot}")


def _rounded(value: Any) -> Any:
    """Numbers to 4 significant digits: the JSON stays small and readable."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


if __name__ == "__main__":
    main()

"""Bulk pulls: concurrency=4 against 1, however the pull is iterated (public API only).

Twelve weekly windows from the sandbox, each answered after 50 ms (a WAN's latency).
Prints the seconds of each way and its speed-up over concurrency=1, from one run:

    python benchmarks/bench_bulk.py [--rows 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import dialogtech_async as dta
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    Latency,
    serve_in_thread,
)

START, WEEK = dt.date(2024, 1, 1), dt.timedelta(days=7)
END = START + 12 * WEEK - dt.timedelta(days=1)


async def bare(s: dta.Session, concurrency: int) -> int:
    n = 0
    async for _ in s.click_to_report(START, END, window=WEEK, concurrency=concurrency):
        n += 1
    return n


async def comprehension(s: dta.Session, concurrency: int) -> int:
    bulk = s.click_to_report(START, END, window=WEEK, concurrency=concurrency)
    return len([r async for r in bulk])


async def managed(s: dta.Session, concurrency: int) -> int:
    async with s.click_to_report(START, END, window=WEEK, concurrency=concurrency) as bulk:
        return len([r async for r in bulk])


WAYS: dict[str, Callable[[dta.Session, int], Awaitable[int]]] = {
    "bare async for": bare,
    "comprehension": comprehension,
    "async with": managed,
}


async def timed(base_url: str, way: Callable[..., Awaitable[int]], concurrency: int) -> float:
    async with dta.Session(SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, base_url=base_url) as s:
        started = time.perf_counter()
        count = await way(s, concurrency)
        elapsed = time.perf_counter() - started
    assert count > 0
    return elapsed


async def main(args: Any, base_url: str) -> None:
    print(f"12 weekly windows, {args.rows} rows each, 50 ms latency; median of {args.repeat}")
    for name, way in WAYS.items():
        one = statistics.median([await timed(base_url, way, 1) for _ in range(args.repeat)])
        four = statistics.median([await timed(base_url, way, 4) for _ in range(args.repeat)])
        print(f"{name:>15}: concurrency=1 {one:.3f} s, =4 {four:.3f} s, ratio {one / four:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    with serve_in_thread(rows=arguments.rows) as sandbox:
        sandbox.app.add_fault(Latency(0.05), endpoint="report.clickto", times=None)
        asyncio.run(main(arguments, sandbox.base_url))

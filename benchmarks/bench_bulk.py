"""Bulk pulls: twelve weekly windows, each answered after 50 ms (a WAN's latency), read by
a bare ``async for`` at concurrency=4 and at 1; the median seconds of each and the ratio."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time

from _measure import KEYS, START

import dialogtech_async as dta
from dialogtech_async.testing import Latency, serve_in_thread

WEEK = dt.timedelta(days=7)


async def seconds(url: str, concurrency: int) -> float:
    async with dta.Session(**KEYS, base_url=url) as session:
        started, count = time.perf_counter(), 0
        end = START + 12 * WEEK - dt.timedelta(days=1)
        async for _ in session.click_to_report(START, end, window=WEEK, concurrency=concurrency):
            count += 1
        assert count > 0
        return time.perf_counter() - started


def main(quick: bool) -> dict[str, float]:
    repeat = 1 if quick else 3
    with serve_in_thread(rows=200) as sandbox:
        sandbox.app.add_fault(Latency(0.05), endpoint="report.clickto", times=None)
        one, four = (
            statistics.median(asyncio.run(seconds(sandbox.base_url, c)) for _ in range(repeat))
            for c in (1, 4)
        )
    print(f"concurrency=1 {one:.3f} s, =4 {four:.3f} s: {one / four:.2f}x faster")
    return {"concurrency_1_s": one, "concurrency_4_s": four, "ratio": one / four}

"""dataset.pull() on 1 and on 2 Dask worker processes: partitions per second and the
ratio. The sandbox serves from a thread of this process, on the same cores; both
clusters start before any clock does, rounds alternate, the best round of each counts."""

from __future__ import annotations

import datetime as dt
import tempfile
import time

import duckdb
from _measure import KEYS, START
from distributed import LocalCluster

from dialogtech_async.dataset import Account, pull
from dialogtech_async.testing import serve_in_thread

THREADS = 2  # per worker: the embedded cluster's default


def main(quick: bool) -> dict[str, float]:
    windows, rows, rounds = (4, 2_000, 1) if quick else (16, 20_000, 2)
    best, end = {1: 0.0, 2: 0.0}, START + dt.timedelta(days=windows - 1)
    account = Account("bench", KEYS["access_key"], KEYS["secret_access_key"])
    with (
        tempfile.TemporaryDirectory() as root,
        serve_in_thread(rows=rows) as sandbox,
        LocalCluster(n_workers=1, threads_per_worker=THREADS, dashboard_address=":0") as one,
        LocalCluster(n_workers=2, threads_per_worker=THREADS, dashboard_address=":0") as two,
    ):
        for _ in range(rounds):
            for workers, cluster in ((1, one), (2, two)):
                out, began = tempfile.mkdtemp(dir=root), time.perf_counter()
                result = pull(
                    accounts=[account], report="click_to_report", start=START, end=end,
                    out=out, scheduler=cluster.scheduler_address, base_url=sandbox.base_url,
                    per_account_concurrency=workers * THREADS,
                )  # fmt: skip
                best[workers] = max(best[workers], windows / (time.perf_counter() - began))
                assert result.ok, result.failed
                assert len(result.written) == windows
        parquet = f"read_parquet('{out}/**/*.parquet', hive_partitioning=true)"
        assert duckdb.sql(f"SELECT count(*) FROM {parquet}").fetchall() == [(windows * rows,)]
    one, two = best[1], best[2]
    print(f"{windows} x {rows:,}; partitions/s: 1 worker {one:.2f}, 2: {two:.2f}, {two / one:.2f}x")
    return {"partitions_per_s_1": one, "partitions_per_s_2": two, "ratio": two / one}

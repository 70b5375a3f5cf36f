"""dataset.pull() on 1 and on 2 Dask worker processes: partitions per second, and the ratio.

    python benchmarks/bench_dataset.py [--windows 16] [--rows 20000] [--rounds 3]

The sandbox serves every window from a thread of this process (on the same cores). Both
clusters start before any clock does; rounds alternate between them, each into a fresh
directory; the best round of each is reported. DuckDB counts the last dataset's rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import tempfile
import time

import duckdb
from distributed import LocalCluster

from dialogtech_async.dataset import Account, pull
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    serve_in_thread,
)

THREADS_PER_WORKER = 2  # the embedded cluster's default
ROOT = tempfile.mkdtemp(prefix="bench-dataset-")


def local_cluster(workers: int) -> LocalCluster:
    return LocalCluster(
        n_workers=workers, threads_per_worker=THREADS_PER_WORKER, dashboard_address=":0"
    )


def rate(address: str, workers: int, base_url: str, windows: int) -> tuple[float, str]:
    """Partitions a second of one pull; and the dataset's directory."""
    start = dt.date(2024, 1, 1)
    out = tempfile.mkdtemp(prefix=f"{workers}w-", dir=ROOT)
    began = time.perf_counter()
    result = pull(
        accounts=[Account("bench", SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY)],
        report="click_to_report",
        start=start,
        end=start + dt.timedelta(days=windows - 1),
        out=out,
        scheduler=address,
        per_account_concurrency=workers * THREADS_PER_WORKER,
        base_url=base_url,
    )
    elapsed = time.perf_counter() - began
    if not result.ok or len(result.written) != windows:
        raise RuntimeError(f"the pull did not complete: {result.failed}")
    return windows / elapsed, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--windows", type=int, default=16, help="partitions (days) per run")
    parser.add_argument("--rows", type=int, default=20_000, help="records per partition")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    best = {1: 0.0, 2: 0.0}
    with (
        serve_in_thread(rows=args.rows) as sandbox,
        local_cluster(1) as one_worker,
        local_cluster(2) as two_workers,
    ):
        # Rounds alternate, so that other load on the machine falls on both sides alike.
        for _ in range(args.rounds):
            for workers, cluster in ((1, one_worker), (2, two_workers)):
                speed, out = rate(
                    cluster.scheduler_address, workers, sandbox.base_url, args.windows
                )
                best[workers] = max(best[workers], speed)
    one, two = best[1], best[2]
    [rows] = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{out}/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert rows == (args.windows * args.rows,), rows
    shutil.rmtree(ROOT)
    figures = {
        "cpus": os.cpu_count(),
        "load_average_1_5_15_min": [round(x, 1) for x in os.getloadavg()],  # other jobs
        "windows": args.windows,
        "rows_per_window": args.rows,
        "partitions_per_s": {"1 worker": round(one, 2), "2 workers": round(two, 2)},
        "ratio_2_over_1": round(two / one, 2),
        "records_per_s_2_workers": round(two * args.rows),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

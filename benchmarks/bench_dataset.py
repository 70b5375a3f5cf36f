"""dataset.pull() on 1 and on 2 Dask worker processes: partitions per second, and the ratio.

    python benchmarks/bench_dataset.py [--windows 16] [--rows 20000] [--rounds 2]

The sandbox serves every window from a thread of this process (its work is counted on
the same cores). Each cluster is started before its clock starts; each round pulls into
a fresh directory. The best round of each side is reported, and the DuckDB row count of
the last dataset checks what was written.
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


def best_rate(workers: int, base_url: str, windows: int, rounds: int) -> tuple[float, str]:
    """Partitions a second, best of ``rounds``; and the last dataset's directory."""
    account = Account("bench", SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY)
    start = dt.date(2024, 1, 1)
    rates, out = [], ""
    with LocalCluster(
        n_workers=workers, threads_per_worker=THREADS_PER_WORKER, dashboard_address=None
    ) as cluster:
        for _ in range(rounds):
            out = tempfile.mkdtemp(prefix=f"bench-dataset-{workers}w-", dir=ROOT)
            began = time.perf_counter()
            result = pull(
                accounts=[account],
                report="click_to_report",
                start=start,
                end=start + dt.timedelta(days=windows - 1),
                out=out,
                scheduler=cluster.scheduler_address,
                per_account_concurrency=2 * workers * THREADS_PER_WORKER,
                base_url=base_url,
            )
            elapsed = time.perf_counter() - began
            if not result.ok or len(result.written) != windows:
                raise RuntimeError(f"the pull did not complete: {result.failed}")
            rates.append(windows / elapsed)
    return max(rates), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--windows", type=int, default=16, help="partitions (days) per run")
    parser.add_argument("--rows", type=int, default=20_000, help="records per partition")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with serve_in_thread(rows=args.rows) as sandbox:
        one, _ = best_rate(1, sandbox.base_url, args.windows, args.rounds)
        two, out = best_rate(2, sandbox.base_url, args.windows, args.rounds)
    [rows] = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{out}/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert rows == (args.windows * args.rows,), rows
    shutil.rmtree(ROOT)
    print(
        json.dumps(
            {
                "cpus": os.cpu_count(),
                "windows": args.windows,
                "rows_per_window": args.rows,
                "partitions_per_s": {"1 worker": round(one, 2), "2 workers": round(two, 2)},
                "ratio_2_over_1": round(two / one, 2),
                "records_per_s_2_workers": round(two * args.rows),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

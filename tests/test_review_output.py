"""Review: the output files, the command line and dataset.pull under careless use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

import dialogtech_async as dta
from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    RunningSandbox,
    serve_in_thread,
)

START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 3)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with serve_in_thread(rows=20) as running:
        yield running


def session(server: RunningSandbox) -> dta.Session:
    url = server.base_url
    return dta.Session(
        SANDBOX_ACCESS_KEY, SANDBOX_SECRET_ACCESS_KEY, base_url=url, newest_base_url=url
    )


async def test_write_parquet_to_a_directory_is_refused_before_the_pull(
    server: RunningSandbox, tmp_path: Path
) -> None:
    (tmp_path / "calls").mkdir()
    async with session(server) as s:
        report = s.click_to_report(START, END)
        with pytest.raises(dta.ValidationError, match="is a directory"):
            await dta.write_parquet(report, tmp_path / "calls")
        assert report.records_yielded == 0  # nothing pulled for nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calls"]  # no temporary left

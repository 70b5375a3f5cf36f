"""Whole bodies in one piece (click_to_body, leadflow_body): the bytes the sandbox serves."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import httpx
import pytest

from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    click_to_body,
    leadflow_body,
    serve_in_thread,
)

START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
LEAD_START, LEAD_END = dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1)


@pytest.mark.parametrize("rows", [0, 1, 450])
@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_click_to_body_is_what_the_sandbox_serves(rows: int, fmt: Literal["csv", "xml"]) -> None:
    with serve_in_thread(chunk_rows=200) as sandbox:
        served = httpx.get(
            f"{sandbox.base_url}/ibp_api.php",
            params={
                "action": "report.clickto",
                "access_key": SANDBOX_ACCESS_KEY,
                "secret_access_key": SANDBOX_SECRET_ACCESS_KEY,
                "start_date": "20240101",
                "end_date": "20240131",
                "format": fmt,
                "rows": str(rows),
            },
        )
    assert served.status_code == 200
    assert click_to_body(START, END, rows=rows, format=fmt) == served.content


@pytest.mark.parametrize("rows", [0, 1, 450])
def test_leadflow_body_is_what_the_sandbox_serves(rows: int) -> None:
    with serve_in_thread(chunk_rows=200, seed=7) as sandbox:
        served = httpx.get(
            f"{sandbox.base_url}/report/v1/leadflow/v2/history",
            params={
                "start_date": LEAD_START.isoformat(),
                "end_date": LEAD_END.isoformat(),
                "rows": str(rows),
            },
            headers={"Authorization": f"{SANDBOX_ACCESS_KEY}:{SANDBOX_SECRET_ACCESS_KEY}"},
        )
    assert served.status_code == 200
    assert leadflow_body(LEAD_START, LEAD_END, rows=rows, seed=7) == served.content

"""A paged Infinity pull whose later page cannot be had: the caller holds the rows of
the pages before it, so the error says how many (as any break after records does)."""

from __future__ import annotations

import httpx
import pytest

import dialogtech_async as dta
from dialogtech_async import _infinity

ROW = {"userId": 1, "userName": "Ana", "state": "available", "dashboard": True}


def handler(failures: list[str], offsets: list[int]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        offsets.append(offset)
        if offset > 0 and failures:
            failures.pop(0)
            raise httpx.ConnectError("refused", request=request)
        rows = [dict(ROW, userId=offset + i) for i in range(3 if offset == 0 else 1)]
        return httpx.Response(200, json=rows)

    return httpx.MockTransport(answer)


async def drain(report: dta.Report[dta.PbxUserStatus], got: list[dta.PbxUserStatus]) -> None:
    async for status in report:
        got.append(status)


async def test_a_later_page_that_fails_is_an_interruption(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_infinity, "INFINITY_PAGE_SIZE", 3)
    offsets: list[int] = []
    policy = dta.RetryPolicy(max_retries=2, backoff_base=0, max_backoff=0)
    async with (
        httpx.AsyncClient(transport=handler(["connect"] * 3, offsets)) as client,
        dta.InfinitySession(api_key="k1", http_client=client, retry=policy) as s,
    ):
        got: list[dta.PbxUserStatus] = []
        with pytest.raises(dta.StreamInterruptedError) as caught:
            await drain(s.pbx_user_status(1), got)
    assert len(got) == 3
    assert caught.value.records_delivered == 3
    assert offsets == [0, 3, 3, 3]  # the next page had its own budget of 3 tries


async def test_a_later_page_is_retried_within_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_infinity, "INFINITY_PAGE_SIZE", 3)
    offsets: list[int] = []
    policy = dta.RetryPolicy(max_retries=2, backoff_base=0, max_backoff=0)
    async with (
        httpx.AsyncClient(transport=handler(["connect"] * 2, offsets)) as client,
        dta.InfinitySession(api_key="k1", http_client=client, retry=policy) as s,
    ):
        got = await s.pbx_user_status(1).collect()
    assert [status.extra["userId"] for status in got] == [0, 1, 2, 3]
    assert offsets == [0, 3, 3, 3]

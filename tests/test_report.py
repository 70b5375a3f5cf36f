"""Report: lazy sending, collect()/rows(), progress, single use, closing, broken streams.

HTTP is mocked with respx; bodies that arrive in chunks, break or hang are respx side
effects returning an ``httpx.Response`` whose stream is a ``Body`` below. Retries are kept
fast by swapping the session's RetryPolicy for one with millisecond waits (``fast()``).
"""

from __future__ import annotations

import datetime as dt
import gzip
import weakref
from collections.abc import AsyncIterator

import _fixtures as fx
import anyio
import httpx
import pytest
import respx
from _fixtures import fast

import dialogtech_async as dta
from dialogtech_async.testing import CLICK_TO_CSV_HEADER

LEGACY = "https://secure.dialogtech.com/ibp_api.php"
LEADFLOW = "https://dialogtechapis.com/report/v1/leadflow/v2/history"
AK, SK = "ak-public-1234", "sk-secret-5678"
START, END = dt.date(2017, 1, 1), dt.date(2017, 1, 31)

HEADER = CLICK_TO_CSV_HEADER + b"\n"
ROW_1 = (
    b'"0001112222","Click to Call","","","On Call Number","Jan 13 2017 10:52 PM","5556667777",'
    b'"9","","","127.0.0.1","ANSWER","ANSWER"\n'
)
ROW_2 = (
    b'"0001112222","","","","URL based","Feb 01 2017 3:57 PM","9998887777","1","","",'
    b'"192.168.1.1","ANSWER","ANSWER"'
)
SPEC_CSV = HEADER + ROW_1 + ROW_2  # the spec's example, no trailing newline
RAW_1 = fx.CSV_ROWS[0]  # the spec's first record, as a raw row


class Body(httpx.AsyncByteStream):
    """A response body sent in ``chunks``, then failing with ``error`` or hanging."""

    def __init__(self, *chunks: bytes, error: Exception | None = None, hang: bool = False) -> None:
        self.chunks = chunks
        self.error = error
        self.hang = hang
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error
        if self.hang:
            await anyio.sleep_forever()

    async def aclose(self) -> None:
        self.closed = True


async def test_nothing_is_sent_until_opened(mock: respx.MockRouter) -> None:
    """Creating a report sends nothing; ``async with`` sends it and checks the answer."""
    route = mock.get(LEGACY).respond(200, content=SPEC_CSV)
    async with dta.Session(AK, SK) as session:
        report = session.click_to_report(START, END)
        assert route.call_count == 0
        assert report.status_code is None
        async with report:
            assert route.call_count == 1
            assert report.status_code == 200
            assert report.records_yielded == 0
            first = await report.__anext__()
            assert first.caller_id == "0001112222"
    assert route.call_count == 1


async def test_collect_and_iteration_give_typed_records(mock: respx.MockRouter) -> None:
    mock.get(LEGACY).respond(200, content=SPEC_CSV)
    async with dta.Session(AK, SK) as session:
        collected = await session.click_to_report(START, END).collect()
        iterated = [record async for record in session.click_to_report(START, END)]
    assert collected == iterated
    assert [record.call_duration for record in collected] == [9, 1]
    assert collected[1].click_datetime == dt.datetime(2017, 2, 1, 15, 57)
    assert collected[1].name is None  # empty strings become None


async def test_a_record_handed_out_is_held_by_the_caller_alone(
    mock: respx.MockRouter,
) -> None:
    # One chunk, one batch of records: the Report must not keep the ones handed out.
    mock.get(LEGACY).respond(200, content=HEADER + ROW_1 * 5 + ROW_2)
    gone: list[bool] = []
    async with dta.Session(AK, SK) as session, session.click_to_report(START, END) as report:
        previous: weakref.ref[dta.ClickToRecord] | None = None
        async for record in report:
            if previous is not None:
                gone.append(previous() is None)
            previous = weakref.ref(record)
    assert gone == [True] * 5


async def test_rows_gives_the_raw_dicts(mock: respx.MockRouter) -> None:
    mock.get(LEGACY).respond(200, content=SPEC_CSV)
    mock.get(LEADFLOW).respond(200, json={"response": [{"sid": "S1", "talk_seconds": 12}]})
    async with dta.Session(AK, SK) as session:
        report = session.click_to_report(START, END)
        rows = [row async for row in report.rows()]
        leadflow = [row async for row in session.leadflow_history(sid="S1").rows()]
    assert len(rows) == 2
    assert all(type(row) is dict for row in rows)
    assert rows[0] == RAW_1
    assert rows[1]["Click Date/Time"] == "Feb 01 2017 3:57 PM"
    assert report.records_yielded == 2
    assert leadflow == [{"sid": "S1", "talk_seconds": 12}]


async def test_progress_counters(mock: respx.MockRouter) -> None:
    mock.get(LEGACY).respond(200, content=SPEC_CSV)
    async with dta.Session(AK, SK) as session:
        report = session.click_to_report(START, END)
        assert (report.bytes_read, report.records_yielded, report.content_length) == (0, 0, None)
        async with report:
            await report.__anext__()
            assert report.records_yielded == 1
            assert 0 < report.bytes_read <= len(SPEC_CSV)
            assert report.content_length == len(SPEC_CSV)
            assert report.status_code == 200
            async for _ in report:
                pass
    assert report.records_yielded == 2
    assert report.bytes_read == len(SPEC_CSV)
    assert "2 records" in repr(report)


async def test_bytes_read_of_a_compressed_body_counts_it_as_sent(mock: respx.MockRouter) -> None:
    # Progress is bytes_read / content_length: both count the gzip bytes, never the
    # inflated ones (which passed 100%).
    body = HEADER + (ROW_1 * 5_000) + ROW_2
    sent = gzip.compress(body)
    chunks = [sent[at : at + 4096] for at in range(0, len(sent), 4096)]
    headers = {"Content-Encoding": "gzip", "Content-Length": str(len(sent))}
    mock.get(LEGACY).mock(
        side_effect=lambda _: httpx.Response(200, headers=headers, stream=Body(*chunks))
    )
    seen = []
    async with dta.Session(AK, SK) as session, session.click_to_report(START, END) as report:
        async for _ in report:
            seen.append(report.bytes_read)
    assert report.content_length == len(sent) < len(body)
    assert seen == sorted(seen)
    assert seen[0] > 0
    assert report.bytes_read == len(sent)
    assert report.records_yielded == 5_001


async def test_bytes_read_counts_a_last_chunk_that_inflates_to_nothing(
    mock: respx.MockRouter,
) -> None:
    # The gzip trailer (CRC and size) may come alone, as the body's last chunk: it makes
    # no output, but it was received, and a finished report has read the whole body.
    sent = gzip.compress(HEADER + ROW_1 + ROW_2)
    headers = {"Content-Encoding": "gzip", "Content-Length": str(len(sent))}
    mock.get(LEGACY).mock(
        side_effect=lambda _: httpx.Response(
            200, headers=headers, stream=Body(sent[:-8], sent[-8:])
        )
    )
    async with dta.Session(AK, SK) as session, session.click_to_report(START, END) as report:
        assert len(await report.collect()) == 2
    assert report.bytes_read == report.content_length == len(sent)


async def test_a_csv_report_is_read_in_its_charset(mock: respx.MockRouter) -> None:
    body = SPEC_CSV.replace(b'"Click to Call"', '"Zoë Café"'.encode("iso-8859-1"))
    assert body != SPEC_CSV
    headers = {"content-type": "text/csv; charset=ISO-8859-1"}
    mock.get(LEGACY).respond(200, content=body, headers=headers)
    async with dta.Session(AK, SK) as session:
        records = await session.click_to_report(START, END).collect()
    assert records[0].name == "Zoë Café"


@pytest.mark.parametrize("charset", ["bogus", "utf-16"])
async def test_a_csv_report_in_a_charset_that_cannot_be_read_is_a_format_error(
    mock: respx.MockRouter, charset: str
) -> None:
    headers = {"content-type": f"text/csv; charset={charset}"}
    mock.get(LEGACY).respond(200, content=SPEC_CSV, headers=headers)
    async with dta.Session(AK, SK) as session:
        with pytest.raises(dta.ResponseFormatError, match=f"charset '{charset}'"):
            await session.click_to_report(START, END).collect()


async def test_records_yielded_stays_exact_when_left_inside_a_batch(
    mock: respx.MockRouter,
) -> None:
    # Both records come in one batch; the count is of those handed out, not of the batch.
    mock.get(LEGACY).respond(200, content=SPEC_CSV)
    async with dta.Session(AK, SK) as session:
        async with session.click_to_report(START, END) as report:
            async for _ in report:
                break
            assert report.records_yielded == 1
        assert report.records_yielded == 1
        assert "1 records" in repr(report)


async def test_progress_counters_of_a_chunked_body_without_length(
    mock: respx.MockRouter,
) -> None:
    body = Body(HEADER[:10], HEADER[10:] + ROW_1[:5], ROW_1[5:], ROW_2)
    mock.get(LEGACY).mock(side_effect=lambda request: httpx.Response(200, stream=body))
    async with dta.Session(AK, SK) as session:
        report = session.click_to_report(START, END)
        records = await report.collect()
    assert len(records) == 2
    assert report.content_length is None
    assert report.bytes_read == len(SPEC_CSV)
    assert report.records_yielded == 2


async def test_anext_then_async_for_continues_the_same_iteration(
    mock: respx.MockRouter,
) -> None:
    route = mock.get(LEGACY).respond(200, content=SPEC_CSV)
    async with dta.Session(AK, SK) as session, session.click_to_report(START, END) as report:
        first = await anext(report)
        rest = [record async for record in report]
    assert first.click_description == "On Call Number"
    assert [record.click_description for record in rest] == ["URL based"]
    assert report.records_yielded == 2
    assert route.call_count == 1


async def test_a_report_is_iterated_once(mock: respx.MockRouter) -> None:
    route = mock.get(LEGACY).respond(200, content=SPEC_CSV)
    async with dta.Session(AK, SK) as session:
        report = session.click_to_report(START, END)
        assert len(await report.collect()) == 2
        with pytest.raises(RuntimeError, match="once"):
            [record async for record in report]
        with pytest.raises(RuntimeError, match="once"):
            await report.collect()
        rows_report = session.click_to_report(START, END)
        [row async for row in rows_report.rows()]
        with pytest.raises(RuntimeError, match="once"):
            [record async for record in rows_report]
    assert route.call_count == 2


async def test_closed_session_refuses_requests(mock: respx.MockRouter) -> None:
    catch_all = mock.route().respond(200, text="Call Connected")
    session = dta.Session(AK, SK)
    early = session.click_to_report(START, END)  # made while open, iterated after close
    await session.aclose()
    assert session.closed is True
    with pytest.raises(dta.SessionClosedError):
        session.click_to_report(START, END)
    with pytest.raises(dta.SessionClosedError):
        session.leadflow_history(sid="x")
    with pytest.raises(dta.SessionClosedError):
        await session.click_to_call("5551112222", "8772955100")
    with pytest.raises(dta.SessionClosedError):
        await early.collect()
    with pytest.raises(dta.SessionClosedError):
        async with session:
            pass
    await session.aclose()  # a second close is harmless
    assert catch_all.call_count == 0


async def test_closed_infinity_session_refuses_requests(mock: respx.MockRouter) -> None:
    catch_all = mock.route().respond(200, json=[])
    async with dta.InfinitySession(api_key="k") as session:
        pass
    with pytest.raises(dta.SessionClosedError):
        session.pbx_active_calls(1)
    with pytest.raises(dta.SessionClosedError):
        await session.active_call(1, call_ref="x")
    assert catch_all.call_count == 0


async def test_the_session_closes_its_own_client_only() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=SPEC_CSV)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    try:
        async with dta.Session(AK, SK, http_client=client) as session:
            records = await session.click_to_report(START, END).collect()
        assert len(records) == 2
        assert len(seen) == 1  # the caller's client carried the request
        assert seen[0].url.params["secret_access_key"] == SK
        assert session.closed is True
        assert client.is_closed is False
        response = await client.get("https://example.com/")  # still usable
        assert response.status_code == 200
    finally:
        await client.aclose()

    async with dta.Session(AK, SK) as owned:
        own_client = owned._client
    assert own_client.is_closed is True


async def test_break_releases_the_response(mock: respx.MockRouter) -> None:
    body = Body(HEADER + ROW_1, ROW_2, hang=True)
    mock.get(LEGACY).mock(side_effect=lambda request: httpx.Response(200, stream=body))
    async with dta.Session(AK, SK) as session:
        async with session.click_to_report(START, END) as report:
            async for _ in report:
                break
        assert body.closed is True
        assert report.records_yielded == 1


async def test_an_exception_in_the_consumer_releases_the_response(
    mock: respx.MockRouter,
) -> None:
    body = Body(HEADER + ROW_1, hang=True)
    mock.get(LEGACY).mock(side_effect=lambda request: httpx.Response(200, stream=body))

    async def consume(report: dta.Report[dta.ClickToRecord]) -> None:
        async with report:
            async for _ in report:
                raise ZeroDivisionError

    async with dta.Session(AK, SK) as session:
        with pytest.raises(ZeroDivisionError):
            await consume(session.click_to_report(START, END))
    assert body.closed is True


async def test_cancellation_releases_the_response(mock: respx.MockRouter) -> None:
    body = Body(HEADER + ROW_1, hang=True)
    mock.get(LEGACY).mock(side_effect=lambda request: httpx.Response(200, stream=body))
    got: list[dta.ClickToRecord] = []
    async with dta.Session(AK, SK) as session:
        with anyio.move_on_after(0.05) as scope:
            async for record in session.click_to_report(START, END):
                got.append(record)
        assert scope.cancelled_caught
        assert body.closed is True
    assert len(got) == 1


async def test_stream_broken_after_records_is_not_retried(mock: respx.MockRouter) -> None:
    route = mock.get(LEGACY).mock(
        side_effect=lambda request: httpx.Response(
            200,
            stream=Body(HEADER, ROW_1, ROW_2[:20], error=httpx.ReadError("connection reset")),
        )
    )
    got: list[dta.ClickToRecord] = []

    async def consume(report: dta.Report[dta.ClickToRecord]) -> None:
        async for record in report:
            got.append(record)

    async with dta.Session(AK, SK) as session:
        fast(session)
        with pytest.raises(dta.StreamInterruptedError) as caught:
            await consume(session.click_to_report(START, END))
    assert len(got) == 1
    assert caught.value.records_delivered == len(got)
    assert isinstance(caught.value, dta.TransportError)
    assert isinstance(caught.value.__cause__, httpx.ReadError)
    assert route.call_count == 1  # never silently restarted: records would repeat


async def test_stream_broken_before_any_record_is_retried(mock: respx.MockRouter) -> None:
    route = mock.get(LEGACY).mock(
        side_effect=[
            httpx.Response(200, stream=Body(HEADER, ROW_1[:30], error=httpx.ReadError("reset"))),
            httpx.Response(200, stream=Body(HEADER + ROW_1 + ROW_2)),
        ]
    )
    async with dta.Session(AK, SK) as session:
        fast(session)
        report = session.click_to_report(START, END)
        records = await report.collect()
    assert route.call_count == 2
    assert [record.call_duration for record in records] == [9, 1]
    assert report.records_yielded == 2
    assert report.bytes_read == len(SPEC_CSV)  # counts the body that was delivered


async def test_stream_broken_before_records_every_time_is_a_transport_error(
    mock: respx.MockRouter,
) -> None:
    route = mock.get(LEGACY).mock(
        side_effect=lambda request: httpx.Response(
            200, stream=Body(HEADER, error=httpx.ReadError("reset"))
        )
    )
    async with dta.Session(AK, SK) as session:
        fast(session, max_retries=2)
        with pytest.raises(dta.TransportError) as caught:
            await session.click_to_report(START, END).collect()
    assert not isinstance(caught.value, dta.StreamInterruptedError)
    assert isinstance(caught.value.__cause__, httpx.ReadError)
    assert route.call_count == 3

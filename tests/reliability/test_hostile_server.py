"""A hostile loopback server (raw asyncio): compressed, odd and wrong bodies end in a
typed error or the whole report, never a raw httpx or Memory error, never "complete"
with rows missing or made up."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

import dialogtech_async as dta
from dialogtech_async._decompress import ACCEPT_ENCODING
from dialogtech_async.testing._data import CLICK_TO_CSV_HEADER, iter_click_to

START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 2)
ROWS = list(iter_click_to(0, START, END, 8))
CSV = CLICK_TO_CSV_HEADER + b"\r\n" + b"".join(row.csv() + b"\r\n" for row in ROWS)
Served = tuple[int, dict[str, str], bytes]


@pytest_asyncio.fixture
async def server() -> AsyncIterator[tuple[str, list[Served]]]:
    """A server answering every request with the next of ``answers`` (the last again)."""
    answers: list[Served] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        status, headers, body = answers[0] if len(answers) == 1 else answers.pop(0)
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", answers
    finally:
        listener.close()
        await listener.wait_closed()


def _session(base_url: str) -> dta.Session:
    return dta.Session("ak", "sk", base_url=base_url, newest_base_url=base_url, max_retries=0)


GZ = {"Content-Encoding": "gzip"}


async def test_two_gzip_members_give_every_row(server: tuple[str, list[Served]]) -> None:
    url, answers = server
    cut = CSV.index(ROWS[3].csv())
    answers.append((200, GZ, gzip.compress(CSV[:cut]) + gzip.compress(CSV[cut:])))
    async with _session(url) as session:
        records = await session.click_to_report(START, END).collect()
    assert len(records) == 8


async def test_stacked_gzip_is_decoded_in_bounded_pieces(server: tuple[str, list[Served]]) -> None:
    url, answers = server
    answers.append((200, {"Content-Encoding": "gzip, gzip"}, gzip.compress(gzip.compress(CSV))))
    async with _session(url) as session:
        records = await session.click_to_report(START, END).collect()
    assert len(records) == 8


async def test_a_gzip_bomb_is_refused_at_a_limit_not_a_memory_error(
    server: tuple[str, list[Served]],
) -> None:
    # 3,477 bytes, "gzip, gzip", raised a raw MemoryError at 2 GB.
    url, answers = server
    body = CLICK_TO_CSV_HEADER + b'\r\n"' + b"\n" * (256 << 20)
    answers.append((200, {"Content-Encoding": "gzip, gzip"}, gzip.compress(gzip.compress(body))))
    assert len(answers[0][2]) < 1 << 20
    async with _session(url) as session:
        with pytest.raises(dta.ResponseFormatError, match="max_field_bytes"):
            await session.click_to_report(START, END).collect()


@pytest.mark.parametrize(
    "body", [b"plain text, not gzip", gzip.compress(CSV)[:-40], gzip.compress(CSV)[:60]]
)
async def test_malformed_gzip_is_a_format_error_everywhere(
    server: tuple[str, list[Served]], body: bytes
) -> None:
    url, answers = server
    answers.append((200, GZ, body))
    async with _session(url) as session:
        with pytest.raises(dta.ResponseFormatError, match="gzip"):
            await session.click_to_report(START, END).collect()
        with pytest.raises(dta.ResponseFormatError, match="gzip"):
            await session.click_to_call(phone_to_call="5551112222", id="8772955100")
        answers[0] = (500, GZ, body)  # an error body: the status says enough
        with pytest.raises(dta.ServerError):
            await session.click_to_report(START, END).collect()


async def test_xhtml_on_the_xml_endpoint_is_an_error_not_an_empty_report(
    server: tuple[str, list[Served]],
) -> None:
    url, answers = server
    page = b"<!DOCTYPE html><html><head><title>Down for maintenance</title></head></html>"
    answers.append((200, {"Content-Type": "text/html"}, page))
    async with _session(url) as session:
        with pytest.raises(dta.ResponseFormatError, match="html"):
            await session.click_to_report(START, END, format="xml").collect()


async def test_json_error_object_on_leadflow_is_an_error_not_a_record_of_nones(
    server: tuple[str, list[Served]],
) -> None:
    url, answers = server
    answers.append((200, {}, b'{"message": "Internal server error"}'))
    async with _session(url) as session:
        with pytest.raises(dta.APIStatusError, match="Internal server error"):
            await session.leadflow_history(sid="SID-1").collect()


def test_the_session_asks_only_for_encodings_it_reads() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Accept-Encoding"])
        return httpx.Response(200, text="Call Connected")

    async def run() -> None:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with client, dta.Session("ak", "sk", http_client=client) as session:
            await session.click_to_call(phone_to_call="5551112222", id="8772955100")

    asyncio.run(run())
    assert seen == [ACCEPT_ENCODING]
    assert set(seen[0].replace(" ", "").split(",")) <= {"gzip", "deflate", "br"}


async def test_a_gzip_flood_of_line_breaks_leaves_the_event_loop_free(
    server: tuple[str, list[Served]],
) -> None:
    # 64 MiB of line breaks in a 65 KB gzip body blocked the loop past a 30 s deadline.
    url, answers = server
    body = CSV.replace(b"\r\n", b"\r\n" + b"\n" * (8 << 20))
    answers.append((200, GZ, gzip.compress(body)))
    ticks, done = 0, False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    async with _session(url) as session:
        records = await session.click_to_report(START, END).collect()
    done = True
    await task
    assert len(records) == 8
    assert ticks >= 64  # the other task ran between the 1 MiB pieces (64 MiB inflated)

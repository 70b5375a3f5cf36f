"""LeadFlow JSON: the library against ``ijson.items`` on the same bytes, in one run.

The sandbox's records (all 34 keys) in two value shapes, the documents not saying which
the API sends: numbers as JSON numbers (``12.5``, ``138``, ``call_date`` with a space),
and as strings (``"12.50"``, ``"138"``, ``call_date`` with a ``T`` and an offset). Rows
per second of ``ijson.items`` over the body in memory, of ``JSONParser`` fed it in 64 KB
chunks, and of typed ``LeadFlowCall`` records end to end from a loopback server (another
process; one session), with the ratios to ``ijson.items``. Best of 5 runs each. Public
API only: ``python benchmarks/bench_json.py [rows]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import multiprocessing
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ijson

import dialogtech_async as dta
from dialogtech_async.parsers import JSONParser
from dialogtech_async.testing import leadflow_rows

ROWS, REPEAT, CHUNK = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, 5, 64 * 1024


def body(as_strings: bool) -> bytes:
    def shaped(value: Any) -> Any:
        if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
            return str(value) if as_strings else value if isinstance(value, int) else float(value)
        return value

    def record(row: dict[str, Any]) -> str:
        row = {key: shaped(value) for key, value in row.items()}
        if as_strings:  # ISO with a T and an offset
            row["call_date"] = row["call_date"].replace(" ", "T") + "-05:00"
        return json.dumps(row)

    rows = leadflow_rows(dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 31), rows=ROWS)
    return ("[" + ",\n".join(map(record, rows)) + "]").encode()


def serve(data: bytes, ports: Any) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError):  # the session closed
            while await reader.readuntil(b"\r\n\r\n"):  # keep-alive: a session's requests
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(data)}\r\n\r\n".encode())
                for at in range(0, len(data), CHUNK):
                    writer.write(data[at : at + CHUNK])
                    await writer.drain()

    async def listen() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ports.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(listen())


def best(run: Callable[[], int]) -> float:
    """Rows per second, best of REPEAT runs."""
    return ROWS / min(timed(run) for _ in range(REPEAT))


def timed(run: Callable[[], int]) -> float:
    start = time.perf_counter()
    assert run() == ROWS
    return time.perf_counter() - start


def parser_rows(data: bytes) -> int:
    parser, count = JSONParser(), 0
    for at in range(0, len(data), CHUNK):
        count += len(parser.feed(data[at : at + CHUNK]))
    return count + len(parser.close())


async def typed_records(port: int) -> float:
    url, times = f"http://127.0.0.1:{port}", []
    async with dta.Session("ak", "sk", base_url=url, newest_base_url=url) as session:
        for _ in range(REPEAT):
            start = time.perf_counter()
            assert sum([1 async for _ in session.leadflow_history(sid="SID")]) == ROWS
            times.append(time.perf_counter() - start)
    return ROWS / min(times)


def main() -> None:
    print(f"{ROWS:,} LeadFlow rows; rows/s, and the ratio to ijson.items")
    for shape, as_strings in (("numbers", False), ("strings", True)):
        data = body(as_strings)
        ports: Any = multiprocessing.Queue()
        server = multiprocessing.Process(target=serve, args=(data, ports), daemon=True)
        server.start()
        try:
            port = ports.get(timeout=60)
            items = functools.partial(ijson.items, data, "item", use_float=False)
            bare = best(lambda: sum(1 for _ in items()))  # noqa: B023 - called at once
            raw = best(functools.partial(parser_rows, data))
            typed = asyncio.run(typed_records(port))
        finally:
            server.terminate()
        print(
            f"{shape:<8} ijson.items {bare:9,.0f} | JSONParser {raw:9,.0f} ({raw / bare:.2f})"
            f" | typed over loopback {typed:9,.0f} ({typed / bare:.2f})"
        )


if __name__ == "__main__":
    main()

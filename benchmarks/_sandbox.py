"""The sandbox server in a process of its own, for the benchmarks.

    python benchmarks/_sandbox.py [--rows 100] [--latency 0.05] [--replay-mb 1536]

Prints its base URL on one line, then serves until its standard input closes (so it
ends with the benchmark that started it, whatever happens to that).

A process of its own, because the sandbox spends microseconds generating each row,
which in the client's process would be charged to the client (they would share the
GIL). And with ``--replay-mb``, a response to a request that pins ``rows=`` (the
benchmarks' large pulls) is generated once and then replayed from memory, the same
messages, so the same bytes in the same chunks: on a 2-CPU machine a server busy
generating rows on the other CPU slows the client's own parsing markedly (shared
caches and memory bandwidth; the README gives the numbers), which would be charged to
whichever side runs while the server is busy. Requests without ``rows=`` (click-to
calls, small reports, anything with a fault) always reach the sandbox app.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from dialogtech_async.testing import Latency, SandboxConfig, create_app, serve_in_thread

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


class Replay:
    """ASGI middleware: the responses to ``rows=`` requests, recorded and sent again.

    A request is the same as an earlier one when its method, path, query parameters (in
    any order) and Authorization header are. Keeps complete 200 responses only, at most
    ``limit`` body bytes of them, forgetting the least recently used first.
    """

    def __init__(self, app: App, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.size = 0
        self.responses: OrderedDict[tuple[Any, ...], tuple[list[Message], int]] = OrderedDict()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        query: bytes = scope.get("query_string", b"")
        if scope["type"] != "http" or b"rows=" not in query:
            await self.app(scope, receive, send)
            return
        # The same request, however its client ordered the query or its headers.
        headers = dict(scope["headers"])
        params = tuple(sorted(parse_qsl(query.decode("latin-1"), keep_blank_values=True)))
        key = (scope["method"], scope["path"], params, headers.get(b"authorization"))
        if key in self.responses:
            self.responses.move_to_end(key)
            for message in self.responses[key][0]:
                await send(message)
                await asyncio.sleep(0)  # as the sandbox does after each chunk
            return
        recorded: list[Message] = []
        size = 0

        async def record(message: Message) -> None:
            nonlocal size
            recorded.append(message)
            size += len(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, record)
        complete = (
            bool(recorded)
            and recorded[0].get("status") == 200
            and recorded[-1].get("more_body") is False
        )
        if complete and size <= self.limit:
            self.responses[key] = (recorded, size)
            self.size += size
            while self.size > self.limit:
                _, (_, dropped) = self.responses.popitem(last=False)
                self.size -= dropped


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rows", type=int, default=100, help="rows of a report without rows=")
    options.add_argument("--chunk-rows", type=int, default=SandboxConfig.chunk_rows)
    options.add_argument(
        "--latency", type=float, default=0.0, help="seconds before every click-to report answers"
    )
    options.add_argument(
        "--replay-mb", type=int, default=0, help="replay rows= responses, this many MB at most"
    )
    args = options.parse_args()
    app = create_app(SandboxConfig(rows=args.rows, chunk_rows=args.chunk_rows))
    if args.latency:
        app.add_fault(Latency(args.latency), action="report.clickto", times=None)
    served: Any = Replay(app, args.replay_mb << 20) if args.replay_mb else app
    with serve_in_thread(served) as sandbox:
        print(sandbox.base_url, flush=True)
        sys.stdin.read()  # until the parent closes the pipe (or dies)


if __name__ == "__main__":
    main()

"""A queue for the connections of a session's own pool, in front of httpcore's.

A request cancelled while it waits in httpcore's pool, at the moment the pool hands it a
new connection, leaves that connection in the pool for ever (encode/httpcore#1093). The
session holds such a request's cancellation back until it has its connection (see
``BaseSession._send_once``); with its own pool it also queues requests here first, where
waiting can be cancelled at any moment, so that a request reaches httpcore's pool only
when a connection is free for it and never waits there. A caller's ``http_client=`` may
be shared with other code, so its requests are not queued here.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Callable

import anyio
import httpx


class PoolSlots:
    """``max_connections`` slots; one is held from a send until its response is closed."""

    def __init__(self, max_connections: int, pool_timeout: float | None) -> None:
        #: How many connections the pool holds.
        self.max_connections = max_connections
        self._pool_timeout = pool_timeout
        self._semaphore: anyio.Semaphore | None = None  # made in the event loop, on first use

    async def acquire(self, request: httpx.Request) -> Callable[[], None]:
        """Wait for a slot (as long as the pool's timeout); returns its release.

        Raises:
            httpx.PoolTimeout: no slot came in time, as httpx's own pool would raise.
        """
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.max_connections)
        semaphore = self._semaphore
        with anyio.move_on_after(self._pool_timeout if self._pool_timeout is not None else None):
            await semaphore.acquire()
            released = False

            def release() -> None:
                nonlocal released
                if not released:
                    released = True
                    semaphore.release()

            return release
        raise httpx.PoolTimeout("no connection of the pool came free in time", request=request)


class ReleasingStream(httpx.AsyncByteStream):
    """A response body that hands its slot back when the response is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release = release
        # A response dropped unclosed (a report opened, then forgotten) gives its slot
        # back when collected, as httpcore's pool gets its connection back then.
        weakref.finalize(self, release).atexit = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._inner.__aiter__()  # no generator of its own: nothing more to finalize

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._release()

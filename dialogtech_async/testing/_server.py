"""Run the sandbox app under uvicorn on 127.0.0.1, in a thread with its own event loop.

A thread, not a task of the caller's loop: uvicorn is asyncio-only, and a thread serves
asyncio, trio and synchronous callers alike (and a test that blocks its own loop cannot
starve the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from ._app import SandboxApp, SandboxConfig

if TYPE_CHECKING:
    import uvicorn

__all__ = ["RunningSandbox", "serve", "serve_in_thread"]

_START_TIMEOUT = 10.0  # seconds; binding 127.0.0.1:0 takes milliseconds
# In-flight responses get this long at shutdown, then uvicorn cancels them.
_GRACEFUL_SHUTDOWN = 1
_STOP_TIMEOUT = 10.0


class RunningSandbox:
    """A sandbox server that is accepting connections.

    Attributes:
        app: the SandboxApp it serves (add faults, read counters through it).
        host: ``127.0.0.1``.
        port: the bound port.
        base_url: ``http://127.0.0.1:<port>``, for a client's ``base_url=``.
    """

    def __init__(self, app: SandboxApp, server: uvicorn.Server, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.base_url = f"http://{host}:{port}"
        self._server = server

    def __repr__(self) -> str:
        return f"<RunningSandbox {self.base_url}>"

    def url(self, path: str = "") -> str:
        """``base_url`` joined with ``path`` (which should start with "/")."""
        return self.base_url + path

    def open_connections(self) -> int:
        """How many client connections the server holds open right now."""
        return len(self._server.server_state.connections)


def _new_server(app: SandboxApp, host: str, port: int) -> uvicorn.Server:
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the sandbox server needs uvicorn: pip install 'dialogtech-async[sandbox]'"
        ) from None
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        interface="asgi3",
        lifespan="off",
        ws="none",
        log_level="warning",
        log_config=None,  # leave the process's logging configuration alone
        access_log=False,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
    )
    return uvicorn.Server(config)


class _ServerThread:
    def __init__(self, app: SandboxApp, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.server = _new_server(app, host, port)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="dialogtech-sandbox", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # uvicorn exits with SystemExit when it cannot bind
            self.error = exc

    def start(self) -> RunningSandbox:
        self.thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the sandbox server did not start") from self.error
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("the sandbox server did not start in time")
            time.sleep(0.002)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return RunningSandbox(self.app, self.server, self.host, port)

    def stop(self) -> None:
        if self.thread.ident is None:  # never started
            return
        self.server.should_exit = True
        self.thread.join(_STOP_TIMEOUT)
        if self.thread.is_alive():  # pragma: no cover - a response stuck past every timeout
            self.server.force_exit = True
            self.thread.join(_STOP_TIMEOUT)


def _app_from(app: SandboxApp | None, config: dict[str, Any]) -> SandboxApp:
    if app is None:
        return SandboxApp(SandboxConfig(**config))
    if config:
        raise TypeError("pass either an app or configuration keywords, not both")
    return app


@contextlib.contextmanager
def serve_in_thread(
    app: SandboxApp | None = None, *, host: str = "127.0.0.1", port: int = 0, **config: Any
) -> Iterator[RunningSandbox]:
    """Serve ``app`` (or a new one built from SandboxConfig keywords) while in the block.

    Synchronous: for plain tests, scripts and the command line. ``port=0`` picks a free
    port. The server stops on exit, exception or not.
    """
    handle = _ServerThread(_app_from(app, config), host, port)
    running = handle.start()
    try:
        yield running
    finally:
        handle.stop()


@contextlib.asynccontextmanager
async def serve(
    app: SandboxApp | None = None, *, host: str = "127.0.0.1", port: int = 0, **config: Any
) -> AsyncIterator[RunningSandbox]:
    """Async form of serve_in_thread(), for asyncio and trio (starting and stopping the
    server thread happen in a worker thread, so the caller's event loop keeps running)."""
    import anyio  # a dependency of dialogtech-async; it speaks both asyncio and trio
    import anyio.to_thread

    handle = _ServerThread(_app_from(app, config), host, port)
    try:
        # Inside the try: a cancelled start still waits for the thread, then must stop it.
        yield await anyio.to_thread.run_sync(handle.start)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(handle.stop)

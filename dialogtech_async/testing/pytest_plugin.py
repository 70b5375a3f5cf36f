"""A pytest plugin serving the dialogtech-async sandbox to tests.

Enable it in a ``conftest.py`` at the root of your tests::

    pytest_plugins = ["dialogtech_async.testing.pytest_plugin"]

Fixtures:

- ``dialogtech_session``: an open ``dialogtech_async.Session`` bound to the sandbox
  (every endpoint, LeadFlow included, with the sandbox's credentials), closed after
  the test.
- ``infinity_session``: an open ``dialogtech_async.InfinitySession`` likewise.
- ``dialogtech_sandbox``: the RunningSandbox they use (uvicorn on 127.0.0.1, in a
  thread), new for each test; queue faults and read counters on
  ``dialogtech_sandbox.app``.
- ``dialogtech_sandbox_config``: the SandboxConfig it uses; override this fixture to
  change the defaults for a module or directory.

::

    async def test_report(dialogtech_session, dialogtech_sandbox):
        records = await dialogtech_session.click_to_report(start, end).collect()
        assert dialogtech_sandbox.app.requests["report.clickto"] == 1

The session fixtures run on asyncio, through pytest-asyncio (in the ``test`` extra),
whatever its mode: an ``async def`` test that asks for one of them is marked
``asyncio`` by this plugin, so strict mode (pytest-asyncio's default) needs no
configuration and no marker. Tests marked ``anyio`` are left to anyio's plugin.

A marker changes the configuration of one test::

    @pytest.mark.dialogtech_sandbox(rows=10, call_answer_delay=0.5)
    async def test_something(dialogtech_sandbox): ...
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import pytest

from .._dialogtech import Session
from .._infinity import InfinitySession
from ._app import SandboxApp, SandboxConfig
from ._server import RunningSandbox, serve_in_thread

pytest_asyncio: ModuleType | None
try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - depends on the environment
    pytest_asyncio = None

__all__ = [
    "dialogtech_sandbox",
    "dialogtech_sandbox_config",
    "dialogtech_session",
    "infinity_session",
]

_MARKER = "dialogtech_sandbox"
#: The fixtures that need an event loop: a test asking for one runs on asyncio.
_ASYNC_FIXTURES = frozenset({"dialogtech_session", "infinity_session"})
_NEEDS = "the dialogtech_session and infinity_session fixtures need pytest-asyncio"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``dialogtech_sandbox`` marker (so --strict-markers accepts it)."""
    config.addinivalue_line(
        "markers", f"{_MARKER}(**config): SandboxConfig fields for the dialogtech_sandbox fixture"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: Any) -> None:
    """Mark ``async def`` tests that use a session fixture ``asyncio``, so they run in
    pytest-asyncio's strict mode too (unless marked ``asyncio`` or ``anyio`` already)."""
    if not (name.startswith("test") and inspect.iscoroutinefunction(obj)):
        return
    try:
        wanted = set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):  # pragma: no cover - a callable without a signature
        return
    marks = {mark.name for mark in getattr(obj, "pytestmark", [])}
    if wanted & _ASYNC_FIXTURES and not marks & {"asyncio", "anyio"}:
        pytest.mark.asyncio(obj)


@pytest.fixture
def dialogtech_sandbox_config() -> SandboxConfig:
    """The sandbox configuration; override to change it for many tests."""
    return SandboxConfig()


@pytest.fixture
def dialogtech_sandbox(
    request: pytest.FixtureRequest, dialogtech_sandbox_config: SandboxConfig
) -> Iterator[RunningSandbox]:
    """A sandbox server running for the duration of one test."""
    config = dialogtech_sandbox_config
    marker = request.node.get_closest_marker(_MARKER)
    if marker is not None:
        config = dataclasses.replace(config, **marker.kwargs)
    with serve_in_thread(SandboxApp(config)) as running:
        yield running


def _async_fixture(function: Any) -> Any:
    if pytest_asyncio is None:  # pragma: no cover - depends on the environment

        @pytest.fixture(name=function.__name__)
        def missing() -> None:
            pytest.fail(f"{_NEEDS}: pip install 'dialogtech-async[test]'", pytrace=False)

        return missing
    # The test's own loop: the session's connections belong to it.
    return pytest_asyncio.fixture(function, loop_scope="function")


@_async_fixture
async def dialogtech_session(dialogtech_sandbox: RunningSandbox) -> AsyncIterator[Session]:
    """An open Session bound to the sandbox (one ``base_url`` for every endpoint)."""
    config = dialogtech_sandbox.app.config
    async with Session(
        config.access_key,
        config.secret_access_key,
        api_key=config.api_key,
        base_url=dialogtech_sandbox.base_url,
    ) as session:
        yield session


@_async_fixture
async def infinity_session(dialogtech_sandbox: RunningSandbox) -> AsyncIterator[InfinitySession]:
    """An open InfinitySession bound to the sandbox (HTTP Basic, the sandbox's user)."""
    config = dialogtech_sandbox.app.config
    async with InfinitySession(
        config.infinity_username, config.infinity_password, base_url=dialogtech_sandbox.base_url
    ) as session:
        yield session

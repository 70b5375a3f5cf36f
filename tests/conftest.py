"""Shared test configuration: the sandbox fixture users get is the one we use."""

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from dialogtech_async.testing import RunningSandbox

pytest_plugins = ["dialogtech_async.testing.pytest_plugin"]


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: Any) -> None:
    """Plain ``async def`` tests run on asyncio; ``@pytest.mark.anyio`` ones are left to
    anyio's plugin, which runs them on each ``anyio_backend``. (pytest-asyncio's auto
    mode would take those too and run the "trio" case on asyncio, silently.)"""
    marks = getattr(obj, "pytestmark", [])
    if (
        name.startswith("test")
        and inspect.iscoroutinefunction(obj)
        and not any(mark.name == "anyio" for mark in marks)
    ):
        pytest.mark.asyncio(obj)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every anyio test runs under asyncio and under trio."""
    return str(request.param)


@pytest.fixture
def sandbox(server: RunningSandbox) -> Iterator[RunningSandbox]:
    """The module's ``server`` (started once), its faults and counters reset per test."""
    server.app.reset()
    yield server
    server.app.reset()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """respx in place of the network; modules wanting a default answer override it."""
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def no_credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials from the environment, unless the test sets them."""
    for name in (
        "DIALOGTECH_ACCESS_KEY",
        "DIALOGTECH_SECRET_ACCESS_KEY",
        "DIALOGTECH_API_KEY",
        "INFINITY_USERNAME",
        "INFINITY_PASSWORD",
        "INFINITY_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)

"""A pytest plugin serving the dialogtech-async sandbox to tests.

Enable it in a ``conftest.py`` at the root of your tests::

    pytest_plugins = ["dialogtech_async.testing.pytest_plugin"]

Fixtures:

- ``dialogtech_sandbox``: a RunningSandbox (uvicorn on 127.0.0.1, in a thread), new for
  each test; point a session at ``dialogtech_sandbox.base_url`` and queue faults on
  ``dialogtech_sandbox.app``.
- ``dialogtech_sandbox_config``: the SandboxConfig it uses; override this fixture to
  change the defaults for a module or directory.

A marker changes the configuration of one test::

    @pytest.mark.dialogtech_sandbox(rows=10, call_answer_delay=0.5)
    async def test_something(dialogtech_sandbox): ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from ._app import SandboxApp, SandboxConfig
from ._server import RunningSandbox, serve_in_thread

__all__ = ["dialogtech_sandbox", "dialogtech_sandbox_config"]

_MARKER = "dialogtech_sandbox"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``dialogtech_sandbox`` marker (so --strict-markers accepts it)."""
    config.addinivalue_line(
        "markers", f"{_MARKER}(**config): SandboxConfig fields for the dialogtech_sandbox fixture"
    )


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

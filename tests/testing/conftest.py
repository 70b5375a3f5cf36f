"""Fixtures of the sandbox's own tests. Each module serves its own ``sandbox`` (module
scope, with the rows it needs); ``client`` is an httpx client on it, without credentials
unless the module overrides it; every test starts with no faults and no requests seen."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from dialogtech_async.testing import RunningSandbox


@pytest.fixture(scope="module")
def plain(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url) as c:  # one a module: each costs ~40 ms
        yield c


@pytest.fixture(scope="module")
def client(plain: httpx.Client) -> httpx.Client:
    return plain


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> None:
    if "sandbox" in request.fixturenames:  # the modules that serve one
        request.getfixturevalue("sandbox").app.reset()

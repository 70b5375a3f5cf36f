"""The pytest plugin as a user meets it: a fresh project, pytest-asyncio in its default
(strict) mode, no configuration but the plugin line, no markers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USER_TESTS = """
import datetime as dt

import dialogtech_async as dta


async def test_click_to_report(dialogtech_session, dialogtech_sandbox):
    records = await dialogtech_session.click_to_report(
        dt.date(2024, 1, 1), dt.date(2024, 1, 2)
    ).collect()
    assert len(records) == 12
    assert dialogtech_sandbox.app.requests["report.clickto"] == 1


async def test_leadflow_reaches_the_sandbox(dialogtech_session, dialogtech_sandbox):
    calls = await dialogtech_session.leadflow_history(
        dt.date(2024, 1, 1), dt.date(2024, 1, 1)
    ).collect()
    assert len(calls) == 12
    assert dialogtech_sandbox.app.requests["leadflow.history"] == 1


async def test_infinity(infinity_session):
    users = await infinity_session.pbx_user_status(5).collect()
    assert len(users) == 12
    assert isinstance(users[0], dta.PbxUserStatus)


async def test_the_session_is_the_sandbox_s(dialogtech_session, dialogtech_sandbox):
    result = await dialogtech_session.click_to_call("3125550100", "8772955100")
    assert result.connected
"""

CONFTEST = """
import pytest

from dialogtech_async.testing import SandboxConfig

pytest_plugins = ["dialogtech_async.testing.pytest_plugin"]


@pytest.fixture
def dialogtech_sandbox_config():
    return SandboxConfig(rows=12)
"""


def test_session_fixtures_work_in_pytest_asyncio_strict_mode(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the rootdir: none of our settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DIALOGTECH_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error::ResourceWarning"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "4 passed" in output, output
    assert "mode=Mode.STRICT" in output, output  # pytest-asyncio's default, untouched


@pytest.mark.parametrize("fixture", ["dialogtech_session", "infinity_session"])
def test_session_fixtures_are_registered(fixture: str, pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("dialogtech_async.testing.pytest_plugin")
    assert plugin is not None
    assert fixture in plugin.__all__

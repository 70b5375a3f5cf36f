"""Running the sandbox: serve() under asyncio and trio, serve_in_thread(), the pytest plugin."""

from __future__ import annotations

import time

import httpx
import pytest
import trio

from dialogtech_async.testing import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_ACCESS_KEY,
    SandboxApp,
    SandboxConfig,
    create_app,
    serve,
    serve_in_thread,
)

pytest_plugins = ["pytester"]

CALL = {
    "action": "clickto.call",
    "access_key": SANDBOX_ACCESS_KEY,
    "secret_access_key": SANDBOX_SECRET_ACCESS_KEY,
    "type": "2",
    "id": "8772955100",
    "phone_to_call": "5551112222",
}


async def test_serve_under_asyncio() -> None:
    async with serve(rows=3) as running:
        assert running.base_url == f"http://127.0.0.1:{running.port}"
        async with httpx.AsyncClient(base_url=running.base_url) as client:
            response = await client.get("/ibp_api.php", params=CALL)
            assert response.text == "Call Connected"
            assert running.open_connections() == 1  # the pooled keep-alive connection
        assert running.app.requests["clickto.call"] == 1


def test_serve_under_trio() -> None:
    async def main() -> str:
        async with serve() as running, httpx.AsyncClient() as client:
            response = await client.get(running.url("/ibp_api.php"), params=CALL)
            return response.text

    assert trio.run(main) == "Call Connected"


def test_serve_in_thread_with_an_app_and_recorded_requests() -> None:
    app = create_app(SandboxConfig(rows=5), seed=4)
    assert app.config == SandboxConfig(rows=5, seed=4)
    with serve_in_thread(app) as running:
        assert running.app is app
        response = httpx.get(running.url("/nowhere?x=%2B1"), headers={"X-Test": "yes"})
        assert response.status_code == 404
    [request] = app.request_log
    assert request.endpoint == "unknown"
    assert request.target == "/nowhere?x=%2B1"
    assert ("x-test", "yes") in request.headers
    assert app.requests == {"unknown": 1}


def test_server_stops_when_the_block_raises() -> None:
    url = ""
    with pytest.raises(KeyError), serve_in_thread() as running:  # noqa: PT012
        url = running.url("/ibp_api.php")
        raise KeyError(url)
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


def test_app_or_config_not_both() -> None:
    with pytest.raises(TypeError), serve_in_thread(SandboxApp(), rows=3):
        pass


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        SandboxConfig(chunk_rows=0)
    with pytest.raises(ValueError, match="infinity_mode"):
        SandboxConfig(infinity_mode="fancy")  # type: ignore[arg-type]


def test_open_connections_follow_the_clients() -> None:
    with serve_in_thread() as running:
        assert running.open_connections() == 0
        with httpx.Client(base_url=running.base_url) as client:
            client.get("/ibp_api.php")
            assert running.open_connections() == 1
        deadline = time.monotonic() + 2
        while running.open_connections() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert running.open_connections() == 0


async def test_app_runs_in_process_without_a_server() -> None:
    transport = httpx.ASGITransport(app=create_app(rows=2))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        response = await client.get("/ibp_api.php", params={**CALL, "phone_to_call": "1110000"})
    assert response.text == "No Answer"


def test_method_not_allowed() -> None:
    with serve_in_thread() as running:
        response = httpx.post(running.url("/ibp_api.php"), params=CALL)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_pytest_plugin(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # loading them all takes seconds
    pytester.makepyfile(
        """
        import httpx
        import pytest

        from dialogtech_async.testing import SandboxConfig

        def test_fixture(dialogtech_sandbox):
            assert dialogtech_sandbox.app.config == SandboxConfig()
            response = httpx.get(dialogtech_sandbox.url("/ibp_api.php"))
            assert "<result>failed</result>" in response.text

        @pytest.mark.dialogtech_sandbox(rows=7, seed=2)
        def test_marker(dialogtech_sandbox):
            assert dialogtech_sandbox.app.config == SandboxConfig(rows=7, seed=2)

        class TestOverride:
            @pytest.fixture
            def dialogtech_sandbox_config(self):
                return SandboxConfig(rows=3)

            def test_config_fixture(self, dialogtech_sandbox):
                assert dialogtech_sandbox.app.config.rows == 3
        """
    )
    plugin = "dialogtech_async.testing.pytest_plugin"
    options = ["--strict-markers", "-p", "no:cacheprovider"]
    result = pytester.runpytest_inprocess("-p", plugin, *options)
    result.assert_outcomes(passed=3)

"""The anyio tests really run on the backend they name (see tests/conftest.py)."""

import pytest
import sniffio


@pytest.mark.anyio
async def test_anyio_tests_run_on_their_backend(anyio_backend: str) -> None:
    assert sniffio.current_async_library() == anyio_backend


async def test_plain_async_tests_run_on_asyncio() -> None:
    assert sniffio.current_async_library() == "asyncio"

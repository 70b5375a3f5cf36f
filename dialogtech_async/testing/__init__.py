"""A sandbox server for dialogtech-async: every endpoint, synthetic data, injected faults.

::

    from dialogtech_async.testing import ErrorStatus, serve_in_thread

    with serve_in_thread(rows=50) as sandbox:      # uvicorn on 127.0.0.1, any free port
        sandbox.app.add_fault(ErrorStatus(429, retry_after=1), action="report.clickto")
        ...  # point a client at sandbox.base_url
        assert sandbox.app.requests["report.clickto"] == 2

``async with serve(...)`` does the same from asyncio or trio. ``create_app()`` builds the
ASGI app alone (it needs no uvicorn); serving it needs the ``sandbox`` extra
(``pip install 'dialogtech-async[sandbox]'``). For pytest, see ``pytest_plugin``.
"""

from __future__ import annotations

from ._app import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_INFINITY_API_KEY,
    SANDBOX_INFINITY_PASSWORD,
    SANDBOX_INFINITY_USERNAME,
    SANDBOX_SECRET_ACCESS_KEY,
    RecordedRequest,
    SandboxApp,
    SandboxConfig,
    create_app,
    legacy_error_body,
)
from ._data import (
    CLICK_TO_CSV_FIELDS,
    CLICK_TO_CSV_HEADER,
    CLICK_TO_XML_TAGS,
    INFINITY_REFERENCE_TIME,
    LEADFLOW_FIELDS,
    click_to_body,
    click_to_rows,
    leadflow_body,
    leadflow_row_for_sid,
    leadflow_rows,
)
from ._faults import (
    ChunkLatency,
    DropBeforeHeaders,
    DropMidBody,
    ErrorStatus,
    Fault,
    InBandError,
    Latency,
    MalformedBody,
    SlowAnswer,
    TruncatedBody,
)
from ._server import RunningSandbox, serve, serve_in_thread

__all__ = [
    "CLICK_TO_CSV_FIELDS",
    "CLICK_TO_CSV_HEADER",
    "CLICK_TO_XML_TAGS",
    "INFINITY_REFERENCE_TIME",
    "LEADFLOW_FIELDS",
    "SANDBOX_ACCESS_KEY",
    "SANDBOX_INFINITY_API_KEY",
    "SANDBOX_INFINITY_PASSWORD",
    "SANDBOX_INFINITY_USERNAME",
    "SANDBOX_SECRET_ACCESS_KEY",
    "ChunkLatency",
    "DropBeforeHeaders",
    "DropMidBody",
    "ErrorStatus",
    "Fault",
    "InBandError",
    "Latency",
    "MalformedBody",
    "RecordedRequest",
    "RunningSandbox",
    "SandboxApp",
    "SandboxConfig",
    "SlowAnswer",
    "TruncatedBody",
    "click_to_body",
    "click_to_rows",
    "create_app",
    "leadflow_body",
    "leadflow_row_for_sid",
    "leadflow_rows",
    "legacy_error_body",
    "serve",
    "serve_in_thread",
]

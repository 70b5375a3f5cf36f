"""The machinery both sessions share: one pooled httpx client, retries, error mapping."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar

import anyio
import httpx

from ._auth import SecretAuth
from ._config import DEFAULT_LIMITS, MAX_ERROR_BODY, REPORT_TIMEOUT
from ._convert import RecordConverter
from ._decompress import ACCEPT_ENCODING, decoded_body
from ._exceptions import (
    APIStatusError,
    DialogTechError,
    ResponseFormatError,
    SessionClosedError,
    TransportError,
    ValidationError,
    status_error,
)
from ._parsers import DEFAULT_LIMITS as DEFAULT_BODY_LIMITS
from ._parsers import BodyLimits
from ._redact import hide_secrets, redact_text, redact_url, register_secrets, unregister_secrets
from ._report import DecoderFactory, Report
from ._retry import RetryPolicy, is_retryable_status, retry_after

logger = logging.getLogger("dialogtech_async")

T = TypeVar("T")
S = TypeVar("S", bound="BaseSession")

#: Query parameters (an ``httpx.QueryParams`` for repeated keys such as ``sort[]``).
Params = Mapping[str, str]

#: Failures in which the request certainly never reached the server.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class BaseSession:
    """One pooled ``httpx.AsyncClient`` with an auth scheme and a retry policy.

    Subclasses add the endpoint methods. Not for direct use.
    """

    def __init__(
        self,
        *,
        auth: SecretAuth,
        base_url: str,
        timeout: httpx.Timeout | float | None,
        max_retries: int,
        limits: httpx.Limits | None,
        http_client: httpx.AsyncClient | None,
        more_secrets: set[str] | None = None,
        body_limits: BodyLimits | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValidationError("max_retries must be >= 0", parameter="max_retries")
        self._auth = auth
        self._base_url = httpx.URL(base_url)
        self._secrets = auth.secrets() | (more_secrets or set())
        self._retry = RetryPolicy(max_retries=max_retries)
        self._body_limits = DEFAULT_BODY_LIMITS if body_limits is None else body_limits
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(
            timeout=REPORT_TIMEOUT if timeout is None else timeout,
            limits=limits or DEFAULT_LIMITS,
            follow_redirects=False,
        )
        self._closed = False
        register_secrets(self._secrets)

    async def __aenter__(self: S) -> S:
        self._require_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (unless the caller passed ``http_client=``)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._owns_client:
                await self._client.aclose()
        finally:
            unregister_secrets(self._secrets)

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` was called."""
        return self._closed

    @property
    def retry_policy(self) -> RetryPolicy:
        """How idempotent requests are retried."""
        return self._retry

    def _require_open(self) -> httpx.AsyncClient:
        if self._closed:
            raise SessionClosedError(f"{type(self).__name__} is closed")
        return self._client

    def _url(self, path: str, base: httpx.URL | None = None) -> httpx.URL:
        """``path`` under ``base`` (the session's base URL): appended to the base's own
        path, so a proxy's prefix (``https://gw.example.com/dialogtech``) is kept."""
        base = self._base_url if base is None else base
        return base.copy_with(path=base.path.rstrip("/") + path)

    def _report(
        self,
        url: httpx.URL,
        params: Params,
        make_decoder: DecoderFactory,
        converter: RecordConverter[T],
        *,
        description: str,
        auth: httpx.Auth | None = None,
        page_size: int | None = None,
    ) -> Report[T]:
        """A Report for a GET (idempotent: retried) of ``url`` with ``params``; with
        ``page_size``, read page by page through ``limit`` and ``offset``."""
        self._require_open()

        async def open_response(offset: int) -> httpx.Response:
            page = params
            if page_size is not None:
                page = httpx.QueryParams(params).merge({"limit": page_size, "offset": offset})
            return await self._send("GET", url, page, idempotent=True, auth=auth)

        return Report(
            open_response,
            make_decoder,
            converter,
            retry=self._retry,
            transport_error=self._transport_error,
            description=description,
            redact=self._redact_error,
            page_size=page_size,
            limits=self._body_limits,
        )

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        params: Params,
        *,
        idempotent: bool,
        timeout: httpx.Timeout | None = None,  # noqa: ASYNC109 - httpx's own per-request timeout
        auth: httpx.Auth | None = None,
    ) -> httpx.Response:
        """Send a request and return its successful response, unread (streaming).

        Idempotent requests are retried on transport failures and retryable statuses;
        others only when the request certainly never left (the connection failed).
        """
        client = self._require_open()
        extensions = {"timeout": timeout.as_dict()} if timeout is not None else None
        retry = 0
        while True:
            request = hide_secrets(
                client.build_request(
                    method,
                    url,
                    params=params,
                    headers={"Accept-Encoding": ACCEPT_ENCODING},
                    extensions=extensions,
                )
            )
            try:
                try:
                    response = await client.send(request, auth=auth or self._auth, stream=True)
                except BaseException:  # cancellation included
                    await reclaim_orphaned_connections(client)
                    raise
            except httpx.TransportError as exc:
                if retry < self._retry.max_retries and (idempotent or isinstance(exc, _NEVER_SENT)):
                    await self._wait(retry, None, f"{type(exc).__name__}", request)
                    retry += 1
                    continue
                raise self._transport_error(exc, request) from exc
            if response.is_success:
                return response
            if (
                idempotent
                and retry < self._retry.max_retries
                and is_retryable_status(response.status_code)
            ):
                await response.aclose()
                await self._wait(retry, retry_after(response), str(response.status_code), request)
                retry += 1
                continue
            raise await self._status_error(response)

    async def _wait(
        self, retry: int, after: float | None, reason: str, request: httpx.Request
    ) -> None:
        delay = self._retry.delay(retry, after)
        logger.info(
            "retrying %s %s in %.2fs after %s (retry %d of %d)",
            request.method,
            redact_url(request.url),
            delay,
            reason,
            retry + 1,
            self._retry.max_retries,
        )
        await anyio.sleep(delay)

    def _redact_error(self, error: DialogTechError) -> None:
        """Remove this session's secrets from ``error``'s message, in place (an error
        built from a response body may quote secrets the server echoed back)."""
        error.args = tuple(
            redact_text(arg, self._secrets) if isinstance(arg, str) else arg for arg in error.args
        )
        if isinstance(error, APIStatusError):
            error.message = redact_text(error.message, self._secrets)

    def _transport_error(self, exc: httpx.TransportError, request: httpx.Request) -> TransportError:
        """The one translation of httpx's transport errors into ours."""
        reason = redact_text(str(exc), self._secrets) or "no detail"
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        return TransportError(
            f"{request.method} {redact_url(request.url)} {kind}: {type(exc).__name__} ({reason})"
        )

    async def _status_error(self, response: httpx.Response) -> Exception:
        """Read (a bounded part of) an error response and build the typed error."""
        body = b""
        try:
            async for chunk in decoded_body(response, self._body_limits):
                body += chunk
                if len(body) >= MAX_ERROR_BODY:
                    break
        except (httpx.TransportError, ResponseFormatError):
            pass  # the status says enough
        finally:
            await response.aclose()
        message = redact_text(status_body_message(body), self._secrets)
        return status_error(
            response.status_code,
            message or response.reason_phrase,
            url=redact_url(response.request.url),
            retry_after=retry_after(response),
        )


async def reclaim_orphaned_connections(client: httpx.AsyncClient) -> None:
    """Work around encode/httpcore#1093 (httpcore 1.0.9 and before), after a failed send.

    A request cancelled (or timed out) while waiting for the pool, just after the pool gave
    it a new, not yet connected, connection, leaves that connection in the pool for ever:
    neither idle nor closed, owned by no request, it holds one of the ``max_connections``
    slots. Drop such connections and hand their slots to the requests still waiting. A
    no-op for transports that are not httpcore's pool (a caller's own transport).
    """
    pool: Any = getattr(getattr(client, "_transport", None), "_pool", None)
    connections = getattr(pool, "_connections", None)
    requests = getattr(pool, "_requests", None)
    if not isinstance(connections, list) or not isinstance(requests, list):
        return
    owned = {id(getattr(request, "connection", None)) for request in requests}
    orphans = [
        connection
        for connection in connections
        if id(connection) not in owned
        and getattr(connection, "_connection", False) is None  # never connected
        and getattr(connection, "_connect_failed", True) is False
    ]
    if not orphans:
        return
    with pool._optional_thread_lock:
        for connection in orphans:
            connections.remove(connection)
        closing = pool._assign_requests_to_connections()
    await pool._close_connections(closing)  # shielded by httpcore


def status_body_message(body: bytes) -> str:
    """The API's message in an error body: a JSON string, a JSON object's message, or text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        value = json.loads(text)
    except ValueError:
        return text[:500]
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("message", "error", "detail", "errors"):
            if key in value:
                return str(value[key])
    return text[:500]

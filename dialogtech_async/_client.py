"""The machinery both sessions share: one pooled httpx client, retries, error mapping."""

from __future__ import annotations

import copy
import functools
import json
import ssl
import weakref
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import anyio
import attrs
import httpx

from . import _validate as check
from ._auth import SecretAuth
from ._config import DEFAULT_LIMITS, MAX_ERROR_BODY, REPORT_TIMEOUT, USER_AGENT
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
from ._retry import RetryPolicy, retry_after, wait_to_retry
from ._slots import PoolSlots, ReleasingStream
from ._stream import BodyDecoderFactory, Stream

T = TypeVar("T")
S = TypeVar("S", bound="BaseSession")

#: Query parameters (an ``httpx.QueryParams`` for repeated keys such as ``sort[]``).
Params = Mapping[str, str]

#: Failures in which the request certainly never reached the server.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: httpcore's trace events (ends of their names) just before a request's first byte
#: leaves on a new connection or an idle one: past a session's close, none leaves.
_BEFORE_SENDING = (
    "connect_tcp.started",
    "connect_unix_socket.started",
    "send_request_headers.started",
)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, made once per process and shared by every session
    that owns its client: loading the CA bundle takes some 16 ms, which each Session
    would pay again (a dataset pull makes one per task). ``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` are read when it is made, at the first session."""
    return httpx.create_ssl_context()


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
        retry: RetryPolicy | None = None,
        body_limits: BodyLimits | None = None,
    ) -> None:
        check.session_options(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            limits=limits,
            http_client=http_client,
        )
        _check_retry(retry)
        self._auth = auth
        self._base_url = httpx.URL(base_url)
        self._secrets = auth.secrets() | (more_secrets or set())
        #: How reports are retried (read by each report when it is created).
        self._retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        #: Bounds on what one response body may make the parsers hold.
        self._body_limits = DEFAULT_BODY_LIMITS if body_limits is None else body_limits
        self._owns_client = http_client is None
        limits = limits or DEFAULT_LIMITS
        self._client = http_client or httpx.AsyncClient(
            timeout=REPORT_TIMEOUT if timeout is None else timeout,
            limits=limits,
            follow_redirects=False,
            verify=_tls_context(),
        )
        #: The own pool's connections, queued for before httpcore's pool (see _slots).
        self._slots = (
            PoolSlots(limits.max_connections, self._client.timeout.pool)
            if http_client is None and limits.max_connections is not None
            else None
        )
        #: A per-request timeout over the client's (``with_options(timeout=...)``).
        self._timeout: httpx.Timeout | None = None
        self._parent: BaseSession | None = None  # the session whose pool this one shares
        self._streams: weakref.WeakSet[Stream[Any]] = weakref.WeakSet()
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

    def with_options(
        self: S,
        *,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> S:
        """A session sharing this one's connection pool, with other options.

        Closing it closes its own reports, never the shared pool; closing this session
        closes it too.

        Args:
            timeout: the httpx timeout of its requests (reports; click-to actions keep
                their own long read timeout).
            max_retries: its reports' retries.
            retry: its retry policy (instead of ``max_retries``).
        """
        self._require_open()
        check.timeout_value(timeout)
        if max_retries is not None:
            check.count(max_retries, "max_retries", minimum=0)
        _check_retry(retry)
        derived = copy.copy(self)
        derived._parent = self
        derived._owns_client = False
        derived._streams = weakref.WeakSet()
        if retry is not None:
            derived._retry = retry
        elif max_retries is not None:
            derived._retry = attrs.evolve(self._retry, max_retries=max_retries)
        if timeout is not None:
            derived._timeout = (
                timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
            )
        register_secrets(derived._secrets)  # counted: each session unregisters its own
        return derived

    async def aclose(self) -> None:
        """Close the session: its open reports end with ``SessionClosedError``, no new
        request leaves, and the connection pool is closed (unless the caller passed
        ``http_client=``, or the pool is shared with the session this one derives from).
        """
        if self._closed:
            return
        self._closed = True
        try:
            error = SessionClosedError(f"{type(self).__name__} was closed")
            streams = list(self._streams)
            for stream in streams:
                stream._begin_close(error)
            with anyio.CancelScope(shield=True):
                for stream in streams:
                    await stream._end_close()
                if self._owns_client:
                    await self._client.aclose()
        finally:
            unregister_secrets(self._secrets)

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` was called (on this session or the one it derives from)."""
        return self._closed or (self._parent is not None and self._parent.closed)

    @property
    def _connections(self) -> int | None:
        """The own pool's size (None: unbounded, or a caller's ``http_client=``)."""
        return self._slots.max_connections if self._slots is not None else None

    @property
    def retry_policy(self) -> RetryPolicy:
        """How idempotent requests are retried."""
        return self._retry

    def _require_open(self) -> httpx.AsyncClient:
        if self.closed:
            raise SessionClosedError(f"{type(self).__name__} is closed")
        return self._client

    def _track(self, stream: Stream[Any]) -> None:
        """An open stream, closed by ``aclose()`` (and by the parent's)."""
        self._streams.add(stream)
        if self._parent is not None:
            self._parent._track(stream)

    def _untrack(self, stream: Stream[Any]) -> None:
        self._streams.discard(stream)
        if self._parent is not None:
            self._parent._untrack(stream)

    def _url(self, path: str, base: httpx.URL | None = None) -> httpx.URL:
        """``path`` under ``base`` (the session's base URL): appended to the base's own
        path, so a proxy's prefix (``https://gw.example.com/dialogtech``) is kept."""
        base = self._base_url if base is None else base
        return base.copy_with(path=base.path.rstrip("/") + path)

    def _stream(
        self,
        url: httpx.URL,
        params: Params,
        body_decoder: BodyDecoderFactory,
        converter: RecordConverter[T],
        *,
        description: str,
        auth: httpx.Auth | None = None,
        page_size: int | None = None,
    ) -> Stream[T]:
        """The pull of a GET of ``url`` with ``params`` (idempotent: its Stream retries
        it); with ``page_size``, read page by page through ``limit`` and ``offset``."""
        self._require_open()

        async def send(offset: int) -> httpx.Response:
            page = params
            if page_size is not None:
                page = httpx.QueryParams(params).merge({"limit": page_size, "offset": offset})
            return await self._send_once("GET", url, page, auth=auth)

        return Stream(
            self,
            send,
            body_decoder,
            converter,
            description=description,
            page_size=page_size,
        )

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        params: Params,
        *,
        timeout: httpx.Timeout | None = None,  # noqa: ASYNC109 - httpx's own per-request timeout
        auth: httpx.Auth | None = None,
    ) -> httpx.Response:
        """Send a request that must not be sent twice (a click-to action: it places a
        call) and return its successful response, unread.

        Tried again only when it certainly never left (the connection failed).
        """
        retry = 0
        while True:
            try:
                response = await self._send_once(method, url, params, timeout=timeout, auth=auth)
            except TransportError as exc:
                if retry < self._retry.max_retries and isinstance(exc.__cause__, _NEVER_SENT):
                    await wait_to_retry(
                        self._retry,
                        retry,
                        what=f"{method} {redact_url(url)}",
                        reason=type(exc.__cause__).__name__,
                    )
                    retry += 1
                    continue
                raise
            if response.is_success:
                return response
            raise await self._status_error(response)

    async def _send_once(
        self,
        method: str,
        url: httpx.URL,
        params: Params,
        *,
        timeout: httpx.Timeout | None = None,  # noqa: ASYNC109 - httpx's own per-request timeout
        auth: httpx.Auth | None = None,
    ) -> httpx.Response:
        """Send one request and return its response unread (streaming), whatever its status.

        Cancel-safe whatever the transport: while the request waits for a pool slot it
        is not abandoned (a request cancelled just as the pool hands it a new connection
        would leave that connection in the pool for ever, encode/httpcore#1093); the
        caller's cancellation is held back until the transport reports (httpcore's
        ``trace`` extension, which a wrapping transport passes on) that the request has
        its connection, where cancelling closes that connection cleanly. Once the
        session is closed, the request never leaves.

        Raises:
            TransportError: from httpx's, with it as ``__cause__``.
            SessionClosedError: the session was closed.
        """
        client = self._require_open()
        timeout = timeout if timeout is not None else self._timeout
        extensions = {"timeout": timeout.as_dict()} if timeout is not None else {}
        request = hide_secrets(
            client.build_request(
                method, url, params=params, headers=_headers(client), extensions=extensions
            )
        )
        pool_wait = anyio.CancelScope(shield=True)

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event.endswith(_BEFORE_SENDING) and self.closed:
                raise SessionClosedError(f"{type(self).__name__} was closed")
            if pool_wait.shield:
                pool_wait.shield = False  # the request has its connection

        request.extensions["trace"] = trace
        release: Callable[[], None] | None = None
        try:
            if self._slots is not None:
                release = await self._slots.acquire(request)
            with pool_wait:
                # Never follow a redirect, even with a caller's client that does: httpx
                # strips only Authorization across origins, not x-api-key.
                response = await client.send(
                    request, auth=auth or self._auth, stream=True, follow_redirects=False
                )
            pool_wait.shield = False  # a transport that does not trace: the send is over
            if release is not None:
                assert isinstance(response.stream, httpx.AsyncByteStream)
                response.stream, release = ReleasingStream(response.stream, release), None
            return response
        except httpx.TransportError as exc:
            if self.closed:
                raise SessionClosedError(f"{type(self).__name__} was closed") from exc
            raise self._transport_error(exc, request) from exc
        except RuntimeError as exc:  # httpx: "the client has been closed"
            if self.closed or client.is_closed:
                raise SessionClosedError(f"{type(self).__name__} was closed") from exc
            raise
        finally:
            if release is not None:  # no response holds the slot
                release()

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
            with anyio.CancelScope(shield=True):
                await response.aclose()
        message = redact_text(status_body_message(body), self._secrets)
        return status_error(
            response.status_code,
            message or response.reason_phrase,
            url=redact_url(response.request.url),
            retry_after=retry_after(response),
        )


def _check_retry(retry: object) -> None:
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ValidationError(
            f"retry must be a dialogtech_async.RetryPolicy, not {type(retry).__name__}",
            parameter="retry",
        )


def _headers(client: httpx.AsyncClient) -> dict[str, str]:
    """``dialogtech-async/<version>`` before the client's own User-Agent (httpx's), and
    only the encodings ``_decompress`` decodes in bounded pieces."""
    theirs = client.headers.get("User-Agent")
    return {
        "User-Agent": f"{USER_AGENT} {theirs}" if theirs else USER_AGENT,
        "Accept-Encoding": ACCEPT_ENCODING,
    }


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

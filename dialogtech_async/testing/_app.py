"""The sandbox ASGI application: every endpoint the client speaks, on one host.

Routes (all GET):

- ``/ibp_api.php?action=report.clickto|clickto.call|clickto.vr``: the legacy API.
- ``/report/v1/leadflow/v2/history``: LeadFlow history (the "newest API" auth headers).
- ``/reports/v2/igrps/{igrp}/pbxActiveCalls|pbxUserStatus|activeCall``: Infinity v2.

Sandbox-only conventions, none of which the real APIs have:

- ``rows=N`` in the query pins the number of generated records (default: config.rows);
  click_id/ref/set_id/active filters then keep a subset of those N.
- ``report.clickto`` answers XML when ``format`` is absent (the legacy API is XML-first).
- ``clickto.call``/``clickto.vr`` answer ``No Answer`` when phone_to_call ends in 0000.
- ``activeCall`` finds no call when callRef or srcPhoneNumber ends in 0000.
- Infinity answers ``{"rows": [...]}`` unless ``format=jsonarray`` asks for a bare array.
- pbxActiveCalls rows (undocumented upstream): callRef, igrp, srcPhoneNumber,
  dialledPhoneNumber, destPhoneNumber (E.164, or "redacted"), state (ringing, queueing,
  bridged), startDatetime ("YYYY-MM-DD HH:MM:SS" in tz, default UTC), duration (s),
  pbxUserId (null unless bridged), queueName (null while ringing).
- Infinity "now" is fixed (INFINITY_REFERENCE_TIME), so its output is deterministic too.

The app runs on asyncio (uvicorn). Dropping a connection needs the server's transport,
which uvicorn's ``send`` carries; under another server the drop faults raise instead.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import json
import re
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from . import _data
from ._faults import (
    AppliedFaults,
    DropBeforeHeaders,
    ErrorStatus,
    Fault,
    FaultQueue,
    InBandError,
    Latency,
    Message,
    Response,
    Send,
    SlowAnswer,
    drop_connection,
    send_response,
    sleep_unless,
    status_response,
)

__all__ = [
    "SANDBOX_ACCESS_KEY",
    "SANDBOX_INFINITY_API_KEY",
    "SANDBOX_INFINITY_PASSWORD",
    "SANDBOX_INFINITY_USERNAME",
    "SANDBOX_SECRET_ACCESS_KEY",
    "RecordedRequest",
    "SandboxApp",
    "SandboxConfig",
    "create_app",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

SANDBOX_ACCESS_KEY = "sandbox-access-key"
SANDBOX_SECRET_ACCESS_KEY = "sandbox-secret"
SANDBOX_INFINITY_USERNAME = "sandbox-user"
SANDBOX_INFINITY_PASSWORD = "sandbox-password"
SANDBOX_INFINITY_API_KEY = "sandbox-infinity-key"

LEGACY_PATH = "/ibp_api.php"
LEADFLOW_PATH = "/report/v1/leadflow/v2/history"
_INFINITY_PATH = re.compile(r"/reports/v2/igrps/([^/]*)/(pbxActiveCalls|pbxUserStatus|activeCall)")
LEGACY_ACTIONS = ("report.clickto", "clickto.call", "clickto.vr")
# Infinity refuses pages larger than this (public clients page at 10,000 rows).
INFINITY_MAX_LIMIT = 10_000
_DIGITS = re.compile(r"[0-9]+")
_PHONE = re.compile(r"\+?[0-9]{3,15}|anonymous")
_SORTS = ("stateStartDatetime", "stateStartDatetime-asc", "stateStartDatetime-desc")
# Header values and query parameters a RecordedRequest's repr does not show.
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "cookie"})
_SECRET_QUERY = re.compile(r"((?:^|[?&])(?:secret_access_key|access_key)=)[^&]*")

_CSV = "text/csv; charset=utf-8"
_XML = "text/xml; charset=iso-8859-1"
_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    """Settings of a sandbox app; every field has a working default."""

    rows: int = 1000  # records per report request that does not pin rows=N
    seed: int = 0  # the synthetic data is a pure function of it
    chunk_rows: int = 200  # records per body chunk sent
    access_key: str = SANDBOX_ACCESS_KEY
    secret_access_key: str = SANDBOX_SECRET_ACCESS_KEY
    api_key: str | None = None  # when set, LeadFlow also requires the x-api-key header
    infinity_username: str = SANDBOX_INFINITY_USERNAME
    infinity_password: str = SANDBOX_INFINITY_PASSWORD
    infinity_api_key: str = SANDBOX_INFINITY_API_KEY
    infinity_mode: Literal["advanced", "basic"] = "advanced"  # activeCall field set
    infinity_pii_permission: bool = True  # False: activeCall is 403, PBX numbers redacted
    call_answer_delay: float = 0.0  # seconds before click-to actions answer

    def __post_init__(self) -> None:
        if self.rows < 0:
            raise ValueError("rows must not be negative")
        if self.chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        if self.infinity_mode not in ("advanced", "basic"):
            raise ValueError("infinity_mode must be 'advanced' or 'basic'")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox received it.

    The fields hold what was sent, credentials included (tests check them); the repr
    shows ``***`` for credential headers and query values.
    """

    endpoint: str  # the counter key, e.g. "report.clickto" or "activeCall"
    method: str
    target: str  # raw path and query string, exactly as sent (percent-escapes kept)
    headers: tuple[tuple[str, str], ...]  # lower-cased names, latin-1 decoded

    def __repr__(self) -> str:
        headers = tuple(
            (name, "***" if name in _SECRET_HEADERS else value) for name, value in self.headers
        )
        target = _SECRET_QUERY.sub(r"\1***", self.target)
        return (
            f"RecordedRequest(endpoint={self.endpoint!r}, method={self.method!r},"
            f" target={target!r}, headers={headers!r})"
        )


class _Invalid(Exception):
    """A request the endpoint refuses; its message goes into the endpoint's error body."""


class _Request:
    def __init__(
        self, endpoint: str, scope: Scope, query: dict[str, list[str]], faults: AppliedFaults
    ) -> None:
        self.endpoint = endpoint
        self.query = query
        self.faults = faults
        self.headers: dict[str, str] = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
        }
        self.disconnected = asyncio.Event()

    def param(self, name: str) -> str | None:
        """The first value of ``name``; an empty value counts as absent."""
        values = self.query.get(name)
        return values[0] if values and values[0] != "" else None

    def int_param(self, name: str, default: int | None = None) -> int | None:
        value = self.param(name)
        if value is None:
            return default
        if not _DIGITS.fullmatch(value):
            raise _Invalid(f"{name} must be a non-negative integer")
        return int(value)

    async def sleep(self, seconds: float) -> None:
        await sleep_unless(self.disconnected, seconds)

    async def watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.disconnected.set()


def _json_body(status: int, value: object) -> Response:
    return Response(status, _JSON, json.dumps(value).encode())


def legacy_error_body(result: str, message: str | None = None) -> bytes:
    """The legacy API's in-band error document (sent with HTTP 200)."""
    lines = ["<?xml version='1.0' encoding='iso-8859-1'?>", "<response>"]
    lines.append(f"    <result>{_data._xml_text(result)}</result>")
    if message is not None:
        lines.append(f"    <message>{_data._xml_text(message)}</message>")
    lines.append("</response>")
    return _data._latin1("\n".join(lines))


def _yyyymmdd(req: _Request, name: str) -> dt.date:
    value = req.param(name)
    if value is None:
        raise _Invalid(f"{name} is required")
    try:
        if not _DIGITS.fullmatch(value) or len(value) != 8:
            raise ValueError(value)
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise _Invalid(f"{name} must be a date in YYYYMMDD format") from None


def _digits_param(req: _Request, name: str, *, required: bool) -> str | None:
    value = req.param(name)
    if value is None:
        if required:
            raise _Invalid(f"{name} is required")
        return None
    if not _DIGITS.fullmatch(value):
        raise _Invalid(f"{name} must be an unformatted phone number (digits only)")
    return value


def _max_length(req: _Request, name: str, limit: int) -> None:
    value = req.param(name)
    if value is not None and len(value) > limit:
        raise _Invalid(f"{name} is longer than {limit} characters")


def _iso_datetime(req: _Request, name: str) -> dt.datetime:
    text = req.param(name) or ""
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"  # Python 3.10's fromisoformat does not know "Z"
    try:
        value = _data.to_eastern(dt.datetime.fromisoformat(text))
    except ValueError:
        raise _Invalid(f"{name} must be an ISO-8601 datetime") from None
    if not 2000 <= value.year < 2100:  # sids encode the call time in 32 bits from 2000
        raise _Invalid(f"{name} is out of range")
    return value


def _zone(req: _Request) -> dt.tzinfo:
    name = req.param("tz")
    if name is None:
        return dt.timezone.utc
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise _Invalid(f"invalid tz: {name}") from None


def _broken_json(encoded: bytes) -> bytes:
    return encoded.replace(b'":', b'"', 1)


def _json_record(row: dict[str, _data.JSONValue], broken: bool) -> bytes:
    encoded = json.dumps(row, ensure_ascii=False).encode()
    return _broken_json(encoded) if broken else encoded


class SandboxApp:
    """An ASGI 3 app serving synthetic DialogTech and Infinity data, with fault injection.

    Attributes:
        config: the SandboxConfig.
        requests: ``Counter`` of requests received, keyed by endpoint name
            (``report.clickto``, ``clickto.call``, ``clickto.vr``, ``leadflow.history``,
            ``pbxActiveCalls``, ``pbxUserStatus``, ``activeCall``; ``ibp_api.php`` for a
            legacy request with an unknown action, ``unknown`` for any other path).
        request_log: every request received, as RecordedRequest, oldest first.
        max_concurrent_requests: ``Counter`` of the most requests seen in flight at once
            (from arrival until the response's last byte), keyed by the DialogTech
            ``access_key`` sent (query string or LeadFlow's Authorization header): what a
            per-account rate limit is checked against.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.requests: Counter[str] = Counter()
        self.request_log: list[RecordedRequest] = []
        self.max_concurrent_requests: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._faults = FaultQueue()
        self._lock = threading.Lock()  # tests read the log from another thread

    def __repr__(self) -> str:
        return f"<SandboxApp rows={self.config.rows} seed={self.config.seed}>"

    # --- test controls -------------------------------------------------------------------

    def add_fault(
        self,
        fault: Fault,
        *,
        path: str | None = None,
        action: str | None = None,
        endpoint: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Queue ``fault`` for the next ``times`` matching requests (None: every one).

        Args:
            fault: what to do, one of the classes in ``dialogtech_async.testing``.
            path: only requests whose path matches this glob (``fnmatch``), e.g.
                ``"/reports/v2/igrps/*/activeCall"``.
            action: only legacy requests with this ``action=``, e.g. ``"clickto.call"``.
            endpoint: only requests to this endpoint name (the ``requests`` keys).
            times: how many matching requests the fault hits.
        """
        self._faults.add(fault, path=path, action=action, endpoint=endpoint, times=times)

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self._faults.clear()

    def pending_faults(self) -> int:
        """How many queued fault entries are not used up yet."""
        return self._faults.pending()

    def reset(self) -> None:
        """Clear faults, counters and the request log."""
        self._faults.clear()
        with self._lock:
            self.requests.clear()
            self.request_log.clear()
            self.max_concurrent_requests.clear()

    @property
    def request_targets(self) -> list[str]:
        """The raw request targets (path and query, as sent), oldest first."""
        with self._lock:
            return [r.target for r in self.request_log]

    @property
    def last_request_target(self) -> str | None:
        """The raw target of the latest request, or None before any."""
        with self._lock:
            return self.request_log[-1].target if self.request_log else None

    # --- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets here
        path: str = scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        endpoint, handler = self._route(path, query)
        self._record(scope, endpoint)
        action = query.get("action", [None])[0] if path == LEGACY_PATH else None
        req = _Request(endpoint, scope, query, self._faults.take(endpoint, path, action))
        account = _account_key(req)
        self._enter(account)
        watcher = asyncio.ensure_future(req.watch(receive))
        try:
            await self._serve(req, scope["method"], handler, send)
        finally:
            self._leave(account)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    def _enter(self, account: str | None) -> None:
        if account is None:
            return
        with self._lock:
            self._in_flight[account] += 1
            if self._in_flight[account] > self.max_concurrent_requests[account]:
                self.max_concurrent_requests[account] = self._in_flight[account]

    def _leave(self, account: str | None) -> None:
        if account is not None:
            with self._lock:
                self._in_flight[account] -= 1

    def _route(
        self, path: str, query: dict[str, list[str]]
    ) -> tuple[str, Callable[[_Request], Awaitable[Response]]]:
        if path == LEGACY_PATH:
            action = query.get("action", [""])[0]
            return (action if action in LEGACY_ACTIONS else "ibp_api.php"), self._legacy
        if path == LEADFLOW_PATH:
            return "leadflow.history", self._leadflow
        match = _INFINITY_PATH.fullmatch(path)
        if match:
            return match[2], partial(self._infinity, match[2], match[1])
        return "unknown", _not_found

    def _record(self, scope: Scope, endpoint: str) -> None:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        target = (raw_path + b"?" + query if query else raw_path).decode("latin-1")
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
        with self._lock:
            self.requests[endpoint] += 1
            self.request_log.append(RecordedRequest(endpoint, scope["method"], target, headers))

    async def _serve(
        self,
        req: _Request,
        method: str,
        handler: Callable[[_Request], Awaitable[Response]],
        send: Send,
    ) -> None:
        faults = req.faults
        latency = faults.get(Latency)
        if latency is not None:
            await req.sleep(latency.seconds)
        if faults.get(DropBeforeHeaders) is not None:
            await drop_connection(send, req.disconnected)
            return
        status = faults.get(ErrorStatus)
        in_band = faults.get(InBandError)
        if method != "GET":
            response = Response(405, _TEXT, b"Method Not Allowed", headers=[(b"allow", b"GET")])
        elif status is not None:
            response = status_response(status)
        elif in_band is not None:
            response = Response(200, _XML, legacy_error_body(in_band.result, in_band.message))
        else:
            response = await handler(req)
        await send_response(
            send,
            response,
            faults,
            chunk_rows=self.config.chunk_rows,
            disconnected=req.disconnected,
        )

    # --- legacy API ----------------------------------------------------------------------

    async def _legacy(self, req: _Request) -> Response:
        action = req.param("action")
        try:
            if action not in LEGACY_ACTIONS:
                raise _Invalid("action is required" if action is None else "invalid action")
            cfg = self.config
            if (req.param("access_key"), req.param("secret_access_key")) != (
                cfg.access_key,
                cfg.secret_access_key,
            ):
                return Response(200, _XML, legacy_error_body("INVALID ACCOUNT"))
            if action == "report.clickto":
                return self._click_to_report(req)
            return await self._click_to(req, action)
        except _Invalid as exc:
            return Response(200, _XML, legacy_error_body("failed", str(exc)))

    def _click_to_report(self, req: _Request) -> Response:
        start, end = _yyyymmdd(req, "start_date"), _yyyymmdd(req, "end_date")
        if end < start:
            raise _Invalid("end_date is before start_date")
        fmt = req.param("format") or "xml"
        if fmt not in ("xml", "csv"):
            raise _Invalid("format must be xml or csv")
        rows = _data.iter_click_to(
            self.config.seed,
            start,
            end,
            req.int_param("rows", self.config.rows) or 0,
            click_id=req.int_param("click_id"),
            ref=req.param("ref"),
        )
        if fmt == "csv":
            return Response(
                200, _CSV, _data.CLICK_TO_CSV_HEADER, (r.csv for r in rows), prefix=b"\n"
            )
        return Response(
            200, _XML, _data.CLICK_TO_XML_HEAD, (r.xml for r in rows), tail=_data.CLICK_TO_XML_TAIL
        )

    async def _click_to(self, req: _Request, action: str) -> Response:
        if action == "clickto.call":
            if req.param("type") not in ("1", "2"):
                raise _Invalid("type must be 1 or 2")
            _digits_param(req, "id", required=True)
            _max_length(req, "page", 255)
            _max_length(req, "ref", 32)
            _digits_param(req, "first_callerid", required=False)
            _digits_param(req, "second_callerid", required=False)
        else:
            if req.param("menu_id") is None:
                raise _Invalid("menu_id is required")
            if not _DIGITS.fullmatch(req.param("menu_id") or ""):
                raise _Invalid("menu_id must be a number")
        phone = _digits_param(req, "phone_to_call", required=True) or ""
        slow = req.faults.get(SlowAnswer)
        await req.sleep(self.config.call_answer_delay + (slow.seconds if slow else 0.0))
        answer = b"No Answer" if phone.endswith("0000") else b"Call Connected"
        return Response(200, _TEXT, answer)

    # --- LeadFlow history ----------------------------------------------------------------

    async def _leadflow(self, req: _Request) -> Response:
        cfg = self.config
        authorized = req.headers.get("authorization") == f"{cfg.access_key}:{cfg.secret_access_key}"
        if cfg.api_key is not None and req.headers.get("x-api-key") != cfg.api_key:
            authorized = False
        if not authorized:
            return _json_body(401, {"message": "Unauthorized"})
        try:
            rows = self._leadflow_rows(req)
        except _Invalid as exc:
            return _json_body(400, str(exc))
        return Response(
            200,
            _JSON,
            b'{"response": [\n',
            (r.json for r in rows),
            separator=b",\n",
            tail=b"\n]}",
            empty_body=b'{"response": []}',
        )

    def _leadflow_rows(self, req: _Request) -> Iterable[_data.LeadFlowRow]:
        sid = req.param("sid")
        if sid is not None:
            row = _data.LeadFlowRow.for_sid(self.config.seed, sid)
            return [] if row is None else [row]
        if req.param("start_date") is None or req.param("end_date") is None:
            raise _Invalid("start_date and end_date or sid are required")
        start, end = _iso_datetime(req, "start_date"), _iso_datetime(req, "end_date")
        if end < start:
            raise _Invalid("end_date is before start_date")
        active = req.param("active")
        if active not in (None, "0", "1"):
            raise _Invalid("active must be 0 or 1")
        return _data.iter_leadflow(
            self.config.seed,
            start,
            end,
            req.int_param("rows", self.config.rows) or 0,
            set_id=req.int_param("set_id"),
            active=None if active is None else active == "1",
        )

    # --- Infinity ------------------------------------------------------------------------

    def _infinity_authorized(self, req: _Request) -> bool:
        cfg = self.config
        scheme, _, credentials = req.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "apikey":
            return credentials == cfg.infinity_api_key
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded == f"{cfg.infinity_username}:{cfg.infinity_password}"

    async def _infinity(self, kind: str, igrp_text: str, req: _Request) -> Response:
        if not self._infinity_authorized(req):
            response = _json_body(401, "auth required")
            response.headers.append((b"www-authenticate", b'Basic realm="Infinity"'))
            return response
        if not _DIGITS.fullmatch(igrp_text) or int(igrp_text) == 0:
            return _json_body(400, "invalid igrp")
        if kind == "activeCall" and not self.config.infinity_pii_permission:
            return _json_body(403, "access denied")
        try:
            rows = self._infinity_rows(kind, int(igrp_text), req)
            fmt = req.param("format")
            if fmt not in (None, "json", "jsonarray"):
                raise _Invalid("invalid format")
        except _Invalid as exc:
            return _json_body(400, str(exc))
        records = (partial(_json_record, row) for row in rows)
        if fmt == "jsonarray":  # Infinity sends "\n]\n" for an empty array: keep that quirk
            head, tail, empty = b"[\n", b"\n]\n", b"\n]\n"
        else:
            head, tail, empty = b'{"rows": [\n', b"\n]}", b'{"rows": []}'
        return Response(200, _JSON, head, records, separator=b",\n", tail=tail, empty_body=empty)

    def _infinity_rows(
        self, kind: str, igrp: int, req: _Request
    ) -> Iterator[dict[str, _data.JSONValue]]:
        seed = self.config.seed
        zone = _zone(req)
        if kind == "activeCall":
            call_ref, src = req.param("callRef"), req.param("srcPhoneNumber")
            if src is not None and not _PHONE.fullmatch(src):
                raise _Invalid("invalid srcPhoneNumber")
            key = call_ref or src
            if key is None:
                raise _Invalid("callRef or srcPhoneNumber required")
            if key.endswith("0000"):
                return iter(())
            return iter([_data.active_call(seed, igrp, key, src, self.config.infinity_mode)])
        total = req.int_param("rows", self.config.rows) or 0
        limit = req.int_param("limit", INFINITY_MAX_LIMIT) or 0
        if not 1 <= limit <= INFINITY_MAX_LIMIT:
            raise _Invalid(f"limit must be between 1 and {INFINITY_MAX_LIMIT}")
        offset = req.int_param("offset", 0) or 0
        page = range(offset, min(total, offset + limit))
        if kind == "pbxActiveCalls":
            flag = req.query.get("excludePiiData")
            redact = not self.config.infinity_pii_permission or (
                flag is not None and flag[0].lower() not in ("0", "false")
            )
            return (_data.pbx_active_call(seed, igrp, i, zone, redact) for i in page)
        sorts = req.query.get("sort[]", []) + req.query.get("sort", [])
        for sort in sorts:
            if sort not in _SORTS:
                raise _Invalid(f"invalid sort: {sort}")
        # Sorting needs every row in memory; PBX user lists are small, unlike reports.
        users = [_data.pbx_user_status(seed, igrp, i, zone) for i in range(total)]
        for sort in reversed(sorts):  # stable sorts, last key first: the first sort wins
            users.sort(key=lambda u: str(u["stateStartDatetime"]), reverse=sort.endswith("-desc"))
        return iter(users[page.start : page.stop])


def _account_key(req: _Request) -> str | None:
    """The DialogTech access key a request names, if any (legacy query or LeadFlow header)."""
    key = req.param("access_key")
    if key is None and req.endpoint == "leadflow.history":
        key = req.headers.get("authorization", "").partition(":")[0] or None
    return key


async def _not_found(req: _Request) -> Response:
    return Response(404, _TEXT, b"Not Found")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(config: SandboxConfig | None = None, **overrides: Any) -> SandboxApp:
    """Create a sandbox app from ``config`` (default: SandboxConfig()) with field overrides.

    ``create_app(rows=10, seed=3)`` is ``SandboxApp(SandboxConfig(rows=10, seed=3))``.
    """
    if overrides:
        config = replace(config or SandboxConfig(), **overrides)
    return SandboxApp(config)

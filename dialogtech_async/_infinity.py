"""``InfinitySession``: the Infinity Reports API v2 real-time endpoints."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from types import MappingProxyType
from typing import Any

import attrs
import httpx

from . import _validate as check
from ._auth import InfinityApiKeyAuth, InfinityBasicAuth, SecretAuth, from_env
from ._client import BaseSession
from ._config import DEFAULT_MAX_RETRIES, INFINITY_BASE_URL, INFINITY_PAGE_SIZE
from ._convert import RecordConverter
from ._exceptions import ResponseFormatError, ValidationError
from ._parsers import BodyLimits, Decoder, JSONParser
from ._records import ActiveCall, PbxActiveCall, PbxUserStatus
from ._redact import REDACTED
from ._report import Report, T
from ._retry import RetryPolicy
from ._stream import BodyDecoderFactory, ItemsFromParser

#: Infinity's documented sort types, each optionally suffixed -asc or -desc.
SORT_FIELDS = frozenset({"stateStartDatetime"})
_SORT = re.compile(r"(?P<field>[A-Za-z]+)(?:-(?:asc|desc))?")

#: A callRef is an ID of tens of characters; this keeps the URL far below server limits.
MAX_CALL_REF_LENGTH = 256
#: Rows of one paged pull after which the client stops: no installation has ten million
#: active calls or PBX users, so a server still sending full pages is not paging.
MAX_PAGED_ROWS = 10_000_000
#: How much of each page is compared with the previous page's start: a server that
#: ignores ``offset`` sends the same bytes again; two real pages differ in their first row.
PAGE_HEAD_BYTES = 4096

_ACTIVE_CALL = RecordConverter(ActiveCall)
_PBX_ACTIVE_CALL = RecordConverter(PbxActiveCall)
_PBX_USER_STATUS = RecordConverter(PbxUserStatus)


def _auth(username: str | None, password: str | None, api_key: str | None) -> SecretAuth:
    """One scheme: what was passed, else what the environment holds; both is an error
    (which of the two the caller meant cannot be guessed)."""
    passed_basic = username is not None or password is not None
    if passed_basic and api_key is not None:
        raise ValidationError(
            "pass username= and password=, or api_key=, not both", parameter="api_key"
        )
    if not passed_basic and api_key is None:  # nothing passed: the environment's
        api_key = from_env(None, "INFINITY_API_KEY") or None
        username = from_env(None, "INFINITY_USERNAME") or None
        password = from_env(None, "INFINITY_PASSWORD") or None
        if api_key is not None and (username is not None or password is not None):
            raise ValidationError(
                "both INFINITY_API_KEY and INFINITY_USERNAME/INFINITY_PASSWORD are set;"
                " pass the credentials to use",
                parameter="api_key",
            )
        source = "env"
    else:
        source = "argument"
    if api_key is not None:
        variable = "INFINITY_API_KEY" if source == "env" else None
        return InfinityApiKeyAuth(check.credential(api_key, "api_key", variable=variable))
    if username is not None and password is not None:
        if isinstance(username, str) and ":" in username:
            # Basic joins the two with ":" (RFC 7617): the server would split elsewhere.
            raise ValidationError("username must not contain ':'", parameter="username")
        return InfinityBasicAuth(
            check.credential(
                username, "username", variable="INFINITY_USERNAME" if source == "env" else None
            ),
            check.credential(
                password, "password", variable="INFINITY_PASSWORD" if source == "env" else None
            ),
        )
    raise ValidationError(
        "pass username= and password=, or api_key= (or set INFINITY_USERNAME and"
        " INFINITY_PASSWORD, or INFINITY_API_KEY)",
        parameter="username" if username is None else "password",
    )


class InfinitySession(BaseSession):
    """A connection pool and credentials for the Infinity Reports API v2.

    Args:
        username: an Infinity user (HTTP Basic; default ``$INFINITY_USERNAME``).
        password: its password (default ``$INFINITY_PASSWORD``); never logged or shown.
        api_key: an API key instead of a user (``Authorization: ApiKey``; default
            ``$INFINITY_API_KEY``).
        base_url, timeout, max_retries, retry, limits, http_client, body_limits: as for
            ``Session``.
    """

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str = INFINITY_BASE_URL,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        limits: httpx.Limits | None = None,
        http_client: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        body_limits: BodyLimits | None = None,
    ) -> None:
        auth = _auth(username, password, api_key)
        self._username = username if isinstance(auth, InfinityBasicAuth) else None
        super().__init__(
            auth=auth,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            limits=limits,
            http_client=http_client,
            retry=retry,
            body_limits=body_limits,
        )

    def __repr__(self) -> str:
        credentials = (
            f"username={self._username!r}, password={REDACTED!r}"
            if self._username is not None
            else f"api_key={REDACTED!r}"
        )
        return (
            f"InfinitySession({credentials}, base_url={str(self._base_url)!r},"
            f" closed={self.closed})"
        )

    def pbx_active_calls(
        self, igrp: int, tz: str | None = None, exclude_pii: bool = False
    ) -> Report[PbxActiveCall]:
        """The installation's active PBX calls (ringing, queueing, bridged), every page
        of them (10,000 rows a request, by ``limit`` and ``offset``).

        Args:
            igrp: the installation ID.
            tz: an IANA zone to convert dates to.
            exclude_pii: redact personal data even for users allowed to see it
                (``True`` or ``False`` only).
        """
        params = self._params(tz)
        if check.flag(exclude_pii, "exclude_pii"):
            params = params.add("excludePiiData", "1")
        return self._rows(igrp, "pbxActiveCalls", params, _PBX_ACTIVE_CALL, paged=True)

    def pbx_user_status(
        self, igrp: int, tz: str | None = None, sort: Sequence[str] | None = None
    ) -> Report[PbxUserStatus]:
        """The installation's PBX users: state, since when, and dashboard flag, every
        page of them (as ``pbx_active_calls``).

        Args:
            igrp: the installation ID.
            tz: an IANA zone to convert dates to; ``state_start_datetime`` is aware,
                in this zone (UTC without ``tz``).
            sort: sort types, e.g. ``["stateStartDatetime-desc"]``.
        """
        params = self._params(tz)
        if sort is not None and (isinstance(sort, (str, bytes)) or not isinstance(sort, Iterable)):
            raise ValidationError(
                f"sort must be a list of sort types, got {type(sort).__name__}", parameter="sort"
            )
        for value in sort or ():
            match = _SORT.fullmatch(value) if isinstance(value, str) else None
            if match is None or match["field"] not in SORT_FIELDS:
                raise ValidationError(
                    f"sort type {value!r} is not one of {sorted(SORT_FIELDS)}"
                    " (optionally with -asc or -desc)",
                    parameter="sort",
                )
            params = params.add("sort[]", value)
        converter = _zoned(_PBX_USER_STATUS, "state_start_datetime", tz)
        return self._rows(igrp, "pbxUserStatus", params, converter, paged=True)

    async def active_call(
        self, igrp: int, *, call_ref: str | None = None, src_phone_number: str | None = None
    ) -> ActiveCall | None:
        """The marketing details of one call from the last 24 hours, or None.

        Pass exactly one of ``call_ref`` and ``src_phone_number``: the caller ID as the
        API records it, E.164 ("+441234567890", sent as ``%2B44...``), a local number
        ("01234567890") or "anonymous". Users without the PII permission are refused
        (``PermissionDeniedError``).
        """
        if (call_ref is None) == (src_phone_number is None):
            raise ValidationError(
                "pass exactly one of call_ref and src_phone_number", parameter="call_ref"
            )
        params = self._params(None)
        if call_ref is not None:
            params = params.add(
                "callRef", check.non_empty(call_ref, "call_ref", max_length=MAX_CALL_REF_LENGTH)
            )
        else:
            params = params.add(
                "srcPhoneNumber", check.caller_id(src_phone_number, "src_phone_number")
            )
        # Read the (one-row) body to its end: leaving the iteration early abandons httpx's
        # body generators, which trio reports as a ResourceWarning (encode/httpx#3686).
        calls = await self._rows(igrp, "activeCall", params, _ACTIVE_CALL).collect()
        return calls[0] if calls else None

    def _params(self, tz: str | None) -> httpx.QueryParams:
        params = httpx.QueryParams({"format": "jsonarray"})
        if check.time_zone(tz) is not None:
            params = params.add("tz", tz or "")
        return params

    def _rows(
        self,
        igrp: int,
        endpoint: str,
        params: httpx.QueryParams,
        converter: RecordConverter[T],
        *,
        paged: bool = False,
    ) -> Report[T]:
        igrp = check.positive_int(igrp, "igrp")
        limits = self._body_limits

        def parser() -> JSONParser:
            # Infinity may answer an empty result with the text "\n]\n".
            return JSONParser(limits=limits, empty_marker=True)

        if paged:
            body_decoder: BodyDecoderFactory = PageGuard(parser).decoder
        else:
            body_decoder = lambda _response, items: items(parser())  # noqa: E731
        stream = self._stream(
            self._url(f"/reports/v2/igrps/{igrp}/{endpoint}"),
            params,
            body_decoder,
            converter,
            description=f"Infinity {endpoint} (igrp {igrp})",
            page_size=INFINITY_PAGE_SIZE if paged else None,
        )
        return Report(stream)


class PageGuard:
    """Stops a paged pull whose server does not page: a page that starts as the one
    before it did (``offset`` ignored), or an offset past ``MAX_PAGED_ROWS``.

    Raises ``ResponseFormatError`` before any row of the repeated page is delivered.
    """

    def __init__(self, parser: Callable[[], JSONParser]) -> None:
        self._parser = parser
        # The offset and first bytes of the latest page seen (a retried page: the same
        # offset again, which is no repeat).
        self._previous: tuple[int, bytes] | None = None

    def decoder(self, response: httpx.Response, items: ItemsFromParser) -> Decoder[Any]:
        """The decoder of one page (a ``BodyDecoderFactory``)."""
        offset = int(response.request.url.params.get("offset") or 0)
        if offset > MAX_PAGED_ROWS:
            raise ResponseFormatError(
                f"paged report still sending full pages at offset {offset}, past"
                f" {MAX_PAGED_ROWS} rows: the server is not paging"
            )
        return _GuardedPage(self, items(self._parser()), offset)

    def seen(self, head: bytes, offset: int) -> None:
        """Record a page's first bytes, refusing it if it repeats the previous page."""
        previous, self._previous = self._previous, (offset, head)
        if previous is not None and previous[0] != offset and previous[1] == head:
            raise ResponseFormatError(
                f"the page at offset {offset} repeats the previous page: the server ignored offset",
                byte_offset=0,
            )


class _GuardedPage:
    """A page's decoder, noting its first bytes for the guard. A page after the first
    is held back until they are compared: its rows may be the previous page's again.
    The first page is not held, so a connection dropped in it is seen after its rows."""

    def __init__(self, guard: PageGuard, inner: Decoder[Any], offset: int) -> None:
        self._guard = guard
        self._inner = inner
        self._offset = offset
        self._hold = offset > 0
        self._head: bytes | None = b""
        self._fed = 0  # bytes of the head already given to the inner decoder

    def feed(self, data: bytes) -> list[Any]:
        if self._head is None:
            return self._inner.feed(data)
        self._head += data
        if len(self._head) >= PAGE_HEAD_BYTES:
            return self._release()
        if self._hold:
            return []
        self._fed = len(self._head)
        return self._inner.feed(data)

    def close(self) -> list[Any]:
        rows = self._release() if self._head is not None else []
        return rows + self._inner.close()

    def _release(self) -> list[Any]:
        assert self._head is not None
        head, self._head = self._head, None
        self._guard.seen(head[:PAGE_HEAD_BYTES], self._offset)
        return self._inner.feed(head[self._fed :])


class _ZonedTimes(RecordConverter[T]):
    """A converter whose naive ``field`` times are made aware in ``zone``: Infinity sends
    its local times without an offset, in the ``tz=`` zone asked for (UTC without)."""

    def __init__(self, record_type: type[T], field: str, zone: dt.tzinfo) -> None:
        super().__init__(record_type)
        self._field = field
        self._zone = zone
        self.zones = MappingProxyType({field: zone})

    def convert(self, rows: list[Any], first_index: int = 0) -> list[T]:
        return self._aware(super().convert(rows, first_index))

    def convert_columns(
        self, keys: tuple[str, ...], columns: list[tuple[str, ...]], first_index: int = 0
    ) -> list[T]:
        return self._aware(super().convert_columns(keys, columns, first_index))

    def _aware(self, records: list[T]) -> list[T]:
        field, zone = self._field, self._zone
        for n, record in enumerate(records):
            value = getattr(record, field)
            if value is not None and value.tzinfo is None:
                records[n] = attrs.evolve(record, **{field: value.replace(tzinfo=zone)})  # type: ignore[misc]
        return records


_ZONED: dict[tuple[type[Any], str, str | None], RecordConverter[Any]] = {}


def _zoned(converter: RecordConverter[T], field: str, tz: str | None) -> RecordConverter[T]:
    """``converter``'s records with ``field`` aware in ``tz`` (one converter per zone)."""
    key = (converter.record_type, field, tz)
    found = _ZONED.get(key)
    if found is None:
        zone = dt.timezone.utc if tz is None else zoneinfo.ZoneInfo(tz)
        found = _ZONED[key] = _ZonedTimes(converter.record_type, field, zone)
    return found

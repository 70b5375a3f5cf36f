"""``InfinitySession``: the Infinity Reports API v2 real-time endpoints."""

from __future__ import annotations

import re
from collections.abc import Sequence

import httpx

from . import _validate as check
from ._auth import InfinityApiKeyAuth, InfinityBasicAuth, SecretAuth, from_env
from ._client import BaseSession
from ._config import DEFAULT_MAX_RETRIES, INFINITY_BASE_URL, INFINITY_PAGE_SIZE
from ._convert import RecordConverter
from ._exceptions import ValidationError
from ._parsers import BodyLimits, JSONParser
from ._records import ActiveCall, PbxActiveCall, PbxUserStatus
from ._redact import REDACTED
from ._report import Report, T

#: Infinity's documented sort types, each optionally suffixed -asc or -desc.
SORT_FIELDS = frozenset({"stateStartDatetime"})
_SORT = re.compile(r"(?P<field>[A-Za-z]+)(?:-(?:asc|desc))?")

_ACTIVE_CALL = RecordConverter(ActiveCall)
_PBX_ACTIVE_CALL = RecordConverter(PbxActiveCall)
_PBX_USER_STATUS = RecordConverter(PbxUserStatus)


def _auth(username: str | None, password: str | None, api_key: str | None) -> SecretAuth:
    api_key = from_env(api_key, "INFINITY_API_KEY")
    username = from_env(username, "INFINITY_USERNAME")
    password = from_env(password, "INFINITY_PASSWORD")
    if username and password:
        return InfinityBasicAuth(username, password)
    if api_key:
        return InfinityApiKeyAuth(api_key)
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
        base_url, timeout, max_retries, limits, http_client, body_limits: as for
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
            exclude_pii: redact personal data even for users allowed to see it.
        """
        params = self._params(tz)
        if exclude_pii:
            params = params.add("excludePiiData", "1")
        return self._rows(igrp, "pbxActiveCalls", params, _PBX_ACTIVE_CALL, paged=True)

    def pbx_user_status(
        self, igrp: int, tz: str | None = None, sort: Sequence[str] | None = None
    ) -> Report[PbxUserStatus]:
        """The installation's PBX users: state, since when, and dashboard flag, every
        page of them (as ``pbx_active_calls``).

        Args:
            igrp: the installation ID.
            tz: an IANA zone to convert dates to.
            sort: sort types, e.g. ``["stateStartDatetime-desc"]``.
        """
        params = self._params(tz)
        if isinstance(sort, str):
            raise ValidationError("sort must be a list of sort types", parameter="sort")
        for value in sort or ():
            match = _SORT.fullmatch(value) if isinstance(value, str) else None
            if match is None or match["field"] not in SORT_FIELDS:
                raise ValidationError(
                    f"sort type {value!r} is not one of {sorted(SORT_FIELDS)}"
                    " (optionally with -asc or -desc)",
                    parameter="sort",
                )
            params = params.add("sort[]", value)
        return self._rows(igrp, "pbxUserStatus", params, _PBX_USER_STATUS, paged=True)

    async def active_call(
        self, igrp: int, *, call_ref: str | None = None, src_phone_number: str | None = None
    ) -> ActiveCall | None:
        """The marketing details of one call from the last 24 hours, or None.

        Pass exactly one of ``call_ref`` and ``src_phone_number`` (E.164, "+44...").
        Users without the PII permission are refused (``PermissionDeniedError``).
        """
        if (call_ref is None) == (src_phone_number is None):
            raise ValidationError(
                "pass exactly one of call_ref and src_phone_number", parameter="call_ref"
            )
        params = self._params(None)
        if call_ref is not None:
            params = params.add("callRef", check.text(call_ref, "call_ref") or "")
        else:
            number = check.e164(src_phone_number or "", "src_phone_number")
            params = params.add("srcPhoneNumber", number)
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
        return self._report(
            self._url(f"/reports/v2/igrps/{igrp}/{endpoint}"),
            params,
            lambda _response, decode: decode(
                JSONParser(limits=self._body_limits, empty_marker=True)
            ),
            converter,
            description=f"Infinity {endpoint} (igrp {igrp})",
            page_size=INFINITY_PAGE_SIZE if paged else None,
        )

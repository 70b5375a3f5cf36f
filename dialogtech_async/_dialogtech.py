"""``Session``: the DialogTech APIs (click-to call, click-to VR, click-to report, LeadFlow)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, overload

import httpx

from . import _validate as check
from ._auth import DialogTechHeaderAuth, LegacyKeyAuth, from_env
from ._bulk import BulkReport, split_range, windowed
from ._client import BaseSession
from ._config import (
    CALL_READ_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    LEGACY_BASE_URL,
    NEWEST_BASE_URL,
    REPORT_TIMEOUT,
)
from ._convert import EASTERN, RecordConverter
from ._decompress import decoded_body
from ._exceptions import ResponseFormatError, ValidationError, in_band_error
from ._legacy import MAX_MESSAGE_BYTES, LegacyReportParser, error_message
from ._parsers import BodyLimits, CSVParser, Decoder, JSONParser, Parser, XMLParser
from ._records import CallResult, ClickToRecord, LeadFlowCall
from ._redact import REDACTED, mask, redact_text
from ._report import Decode, Report

#: The legacy API's single entry point (spec: "Base URL ... ibp_api.php").
LEGACY_PATH = "/ibp_api.php"
#: The LeadFlow history report on the newest APIs' host.
LEADFLOW_PATH = "/report/v1/leadflow/v2/history"
#: Spec limits of the click-to-call parameters.
MAX_PAGE_LENGTH = 255
MAX_REF_LENGTH = 32

_CLICK_TO = RecordConverter(ClickToRecord)
_LEADFLOW = RecordConverter(LeadFlowCall)


def _credential(value: str | None, variable: str, parameter: str) -> str:
    found = from_env(value, variable)
    if not found:
        raise ValidationError(
            f"{parameter} is required (pass it, or set {variable})", parameter=parameter
        )
    return found


class Session(BaseSession):
    """A connection pool and the credentials for the DialogTech APIs.

    Args:
        access_key: from the account's Key Manager (default: ``$DIALOGTECH_ACCESS_KEY``).
        secret_access_key: its secret (default: ``$DIALOGTECH_SECRET_ACCESS_KEY``); never
            logged, never shown in reprs or errors.
        api_key: the newest APIs' ``x-api-key``, where the account has one
            (default: ``$DIALOGTECH_API_KEY``).
        base_url: the legacy API's scheme and host, and a path prefix if any (a
            proxy's): ``/ibp_api.php`` is appended.
        newest_base_url: the newest APIs' (LeadFlow history), likewise.
        timeout: httpx timeout for reports (default: connect 10 s, 60 s between bytes).
        max_retries: retries of report requests (click-to actions: only when the
            connection failed before sending).
        limits: the pool's ``httpx.Limits``.
        http_client: an ``httpx.AsyncClient`` of yours, which the session will not close.
        call_timeout: how long click-to actions wait for the API's answer, which comes
            only once the first leg of the call is answered (default 120 s).
        body_limits: bounds on what one response body may make the parsers hold
            (``BodyLimits``: nesting depth, one record's bytes, inflation per step).

    Use it as ``async with Session(...) as session:``; ``aclose()`` closes it otherwise.
    """

    def __init__(
        self,
        access_key: str | None = None,
        secret_access_key: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str = LEGACY_BASE_URL,
        newest_base_url: str = NEWEST_BASE_URL,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        limits: httpx.Limits | None = None,
        http_client: httpx.AsyncClient | None = None,
        call_timeout: float = CALL_READ_TIMEOUT,
        body_limits: BodyLimits | None = None,
    ) -> None:
        self._access_key = _credential(access_key, "DIALOGTECH_ACCESS_KEY", "access_key")
        secret = _credential(secret_access_key, "DIALOGTECH_SECRET_ACCESS_KEY", "secret_access_key")
        api_key = from_env(api_key, "DIALOGTECH_API_KEY")
        self._api_key = api_key
        self._newest_base_url = httpx.URL(newest_base_url)
        self._call_timeout = httpx.Timeout(REPORT_TIMEOUT.connect, read=call_timeout)
        self._newest_auth = DialogTechHeaderAuth(self._access_key, secret, api_key)
        super().__init__(
            auth=LegacyKeyAuth(self._access_key, secret),
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            limits=limits,
            http_client=http_client,
            more_secrets=self._newest_auth.secrets(),
            body_limits=body_limits,
        )

    def __repr__(self) -> str:
        return (
            f"Session(access_key={self._access_key!r}, secret_access_key={REDACTED!r},"
            f" api_key={mask(self._api_key)!r}, base_url={str(self._base_url)!r},"
            f" closed={self.closed})"
        )

    # --- click-to actions: they place phone calls, so they are never sent twice ---

    async def click_to_call(
        self,
        phone_to_call: str | int,
        id: str | int,
        type: Literal[1, 2] = 1,
        page: str | None = None,
        ref: str | None = None,
        first_callerid: str | int | None = None,
        second_callerid: str | int | None = None,
    ) -> CallResult:
        """Connect two phone numbers (spec: Click-to-Call).

        The API answers once the first leg is answered or not; this waits up to
        120 s for it. The request is retried only if the connection failed before it
        was sent: a retry after that could place a second call.

        Args:
            phone_to_call: the caller's number; formatting like "(312) 555-0100" is removed.
            id: the other number (a registered or tracking number with a key).
            type: 1 calls ``phone_to_call`` first, 2 calls ``id`` first.
            page: where the click came from (at most 255 characters).
            ref: your reference for reporting (at most 32 characters).
            first_callerid: the caller ID shown on the first leg.
            second_callerid: the caller ID shown on the second leg.

        Returns:
            ``CallResult``: ``.connected`` is True for "Call Connected".
        """
        check.choice(type, (1, 2, "1", "2"), "type")
        params = {
            "action": "clickto.call",
            "type": str(type),
            "id": check.phone_digits(id, "id"),
            "phone_to_call": check.phone_digits(phone_to_call, "phone_to_call"),
        }
        optional = {
            "page": check.text(page, "page", max_length=MAX_PAGE_LENGTH),
            "ref": check.text(ref, "ref", max_length=MAX_REF_LENGTH),
            "first_callerid": None
            if first_callerid is None
            else check.phone_digits(first_callerid, "first_callerid"),
            "second_callerid": None
            if second_callerid is None
            else check.phone_digits(second_callerid, "second_callerid"),
        }
        params.update({key: value for key, value in optional.items() if value is not None})
        return await self._click_to_action(params)

    async def click_to_vr(self, menu_id: str | int, phone_to_call: str | int) -> CallResult:
        """Connect a phone number to a Virtual Receptionist (spec: Click-to-VR).

        Sent once, like ``click_to_call``.

        Args:
            menu_id: the Virtual Receptionist's building-block ID.
            phone_to_call: the number to join to it.
        """
        params = {
            "action": "clickto.vr",
            "menu_id": check.digits_id(menu_id, "menu_id"),
            "phone_to_call": check.phone_digits(phone_to_call, "phone_to_call"),
        }
        return await self._click_to_action(params)

    async def _click_to_action(self, params: dict[str, str]) -> CallResult:
        response = await self._send(
            "GET", self._url(LEGACY_PATH), params, idempotent=False, timeout=self._call_timeout
        )
        try:
            body = b""
            async for chunk in decoded_body(response, self._body_limits):
                body += chunk
                if len(body) > MAX_MESSAGE_BYTES:
                    raise ResponseFormatError(
                        "click-to answer is too long to be a status message",
                        byte_offset=len(body),
                    )
        except httpx.TransportError as exc:
            raise self._transport_error(exc, response.request) from exc
        finally:
            await response.aclose()
        message = error_message(body)
        if message is not None:
            raise in_band_error(redact_text(message, self._secrets))
        text = body.decode(response.charset_encoding or "utf-8", "replace").strip()
        if not text:
            raise ResponseFormatError("click-to answer is empty", byte_offset=0)
        return CallResult(message=text)

    # --- reports: GETs, retried ---

    @overload
    def click_to_report(
        self,
        start_date: dt.date,
        end_date: dt.date,
        format: Literal["csv", "xml"] = ...,
        click_id: str | int | None = ...,
        ref: str | None = ...,
        *,
        window: None = ...,
        concurrency: int = ...,
    ) -> Report[ClickToRecord]: ...

    @overload
    def click_to_report(
        self,
        start_date: dt.date,
        end_date: dt.date,
        format: Literal["csv", "xml"] = ...,
        click_id: str | int | None = ...,
        ref: str | None = ...,
        *,
        window: dt.timedelta,
        concurrency: int = ...,
    ) -> BulkReport[ClickToRecord]: ...

    def click_to_report(
        self,
        start_date: dt.date,
        end_date: dt.date,
        format: Literal["csv", "xml"] = "csv",
        click_id: str | int | None = None,
        ref: str | None = None,
        *,
        window: dt.timedelta | None = None,
        concurrency: int = 1,
    ) -> Report[ClickToRecord] | BulkReport[ClickToRecord]:
        """All click-to activity between two dates, inclusive (spec: Click-to Report).

        Returns at once; the request is sent when iteration starts::

            async with session.click_to_report(start, end) as report:
                async for record in report:
                    ...

        Args:
            start_date: the first day (a ``datetime.date``), sent as YYYYMMDD.
            end_date: the last day, not before ``start_date``.
            format: "csv" or "xml" on the wire; the records are the same.
            click_id: only this click-to building block's activity.
            ref: only records with this custom reference.
            window: split the range into windows this long (whole days), fetched
                ``concurrency`` at a time and yielded in date order (a ``BulkReport``).
            concurrency: how many windows are read at once.
        """
        start, end = check.date_range(start_date, end_date)
        check.choice(format, ("csv", "xml"), "format")
        params = {"action": "report.clickto", "format": format}
        if click_id is not None:
            params["click_id"] = check.digits_id(click_id, "click_id")
        if ref is not None:
            params["ref"] = check.text(ref, "ref") or ""

        def make_decoder(response: httpx.Response, decode: Decode) -> Decoder[Any]:
            inner: Parser = (
                _csv_parser(response.charset_encoding, self._body_limits)
                if format == "csv"
                else XMLParser(root_tag="data", limits=self._body_limits)
            )
            return LegacyReportParser(decode(inner), expect=format)

        def one(first: dt.date, last: dt.date) -> Report[ClickToRecord]:
            dates = {"start_date": first.strftime("%Y%m%d"), "end_date": last.strftime("%Y%m%d")}
            return self._report(
                self._url(LEGACY_PATH),
                {**params, **dates},
                make_decoder,
                _CLICK_TO,
                description=f"click-to report {first}..{last} ({format})",
            )

        if window is None:
            return one(start, end)
        ranges = split_range(start, end, window, dt.timedelta(days=1))
        return windowed(one, ranges, concurrency)

    @overload
    def leadflow_history(
        self,
        start_date: dt.datetime | dt.date | None = ...,
        end_date: dt.datetime | dt.date | None = ...,
        *,
        sid: str | None = ...,
        set_id: int | None = ...,
        active: bool | None = ...,
        window: None = ...,
        concurrency: int = ...,
    ) -> Report[LeadFlowCall]: ...

    @overload
    def leadflow_history(
        self,
        start_date: dt.datetime | dt.date | None = ...,
        end_date: dt.datetime | dt.date | None = ...,
        *,
        sid: str | None = ...,
        set_id: int | None = ...,
        active: bool | None = ...,
        window: dt.timedelta,
        concurrency: int = ...,
    ) -> BulkReport[LeadFlowCall]: ...

    def leadflow_history(
        self,
        start_date: dt.datetime | dt.date | None = None,
        end_date: dt.datetime | dt.date | None = None,
        *,
        sid: str | None = None,
        set_id: int | None = None,
        active: bool | None = None,
        window: dt.timedelta | None = None,
        concurrency: int = 1,
    ) -> Report[LeadFlowCall] | BulkReport[LeadFlowCall]:
        """LeadFlow call details (spec: LeadFlow History Report), on the newest API.

        Either ``sid`` or both dates; with ``sid`` the dates are ignored, as the API does.
        Naive datetimes (and dates, at midnight) are taken to be US Eastern time, the
        zone the API reports in; they are sent as ISO-8601 with their UTC offset.

        Args:
            start_date: the start of the range.
            end_date: the end of the range, not before the start.
            sid: one call's session ID.
            set_id: only calls of this LeadFlow set.
            active: True for active calls only, False for inactive calls only.
            window: split the date range into windows this long, fetched ``concurrency``
                at a time and yielded in order (a ``BulkReport``); not with ``sid``.
            concurrency: how many windows are read at once.
        """
        params: dict[str, str] = {}
        ranges: list[tuple[dt.datetime, dt.datetime]] = []
        if sid is not None:
            if not isinstance(sid, str) or not sid:
                raise ValidationError("sid must be a non-empty string", parameter="sid")
            params["sid"] = sid
        elif start_date is None or end_date is None:
            raise ValidationError(
                "pass sid, or both start_date and end_date",
                parameter="start_date" if start_date is None else "end_date",
            )
        else:
            start = check.aware_datetime(start_date, "start_date", EASTERN)
            end = check.aware_datetime(end_date, "end_date", EASTERN)
            if end < start:
                raise ValidationError(
                    f"end_date {end.isoformat()} is before start_date {start.isoformat()}",
                    parameter="end_date",
                )
            ranges.append((start, end))
        if set_id is not None:
            params["set_id"] = str(check.positive_int(set_id, "set_id"))
        if active is not None:
            check.choice(active, (True, False, 0, 1), "active")
            params["active"] = "1" if active else "0"

        def one(first: dt.datetime | None, last: dt.datetime | None) -> Report[LeadFlowCall]:
            dates = (
                {}
                if first is None or last is None
                else {"start_date": first.isoformat(), "end_date": last.isoformat()}
            )
            return self._report(
                self._url(LEADFLOW_PATH, self._newest_base_url),
                {**params, **dates},
                lambda _response, decode: decode(JSONParser(limits=self._body_limits)),
                _LEADFLOW,
                description="LeadFlow history",
                auth=self._newest_auth,
            )

        if window is None:
            return one(*ranges[0]) if ranges else one(None, None)
        if not ranges:
            raise ValidationError("window needs start_date and end_date", parameter="window")
        # The API's range is inclusive: windows meet a microsecond apart.
        step = dt.timedelta(microseconds=1)
        return windowed(one, split_range(*ranges[0], window, step), concurrency)


def _csv_parser(charset: str | None, limits: BodyLimits) -> CSVParser:
    """A CSV parser for a response's ``charset`` (UTF-8 when it names none)."""
    try:
        return CSVParser(encoding=charset or "utf-8", limits=limits)
    except (LookupError, ValueError) as exc:  # unknown, or not ASCII-compatible (UTF-16)
        raise ResponseFormatError(
            f"CSV report in charset {charset!r}, which cannot be read: {exc}", byte_offset=0
        ) from exc

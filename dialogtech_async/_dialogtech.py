"""``Session``: the DialogTech APIs (click-to call, click-to VR, click-to report, LeadFlow)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, overload

import httpx

from . import _validate as check
from ._auth import DialogTechHeaderAuth, LegacyKeyAuth, from_env
from ._bulk import BulkReport, OnError, check_bulk_options, windowed
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
from ._legacy import MAX_MESSAGE_BYTES, UTF8_CP1252, LegacyErrorGuard, error_message
from ._parsers import BodyLimits, CSVParser, Decoder, JSONParser, Parser, XMLParser
from ._records import CallResult, ClickToRecord, LeadFlowCall
from ._redact import REDACTED, mask, redact_text
from ._report import Report
from ._retry import RetryPolicy
from ._stream import ItemsFromParser, Stream
from ._windows import MAX_WINDOWS, Window
from ._windows import split as split_windows

#: The legacy API's single entry point (spec: "Base URL ... ibp_api.php").
LEGACY_PATH = "/ibp_api.php"
#: The LeadFlow history report on the newest APIs' host.
LEADFLOW_PATH = "/report/v1/leadflow/v2/history"
#: A LeadFlow session ID is 20 hex digits; this leaves room for other forms while keeping
#: the query far below the URL lengths servers and httpx accept.
MAX_SID_LENGTH = 256
#: Spec limits of the click-to-call parameters.
MAX_PAGE_LENGTH = 255
#: Also the longest ``ref`` the click-to report filters on: the one click-to-call sets.
MAX_REF_LENGTH = 32
#: The answers that are call outcomes (the spec's two, and a busy line); any other text
#: is the API's error message ("INVALID ACCOUNT"), raised as an error.
CALL_OUTCOMES = frozenset({"call connected", "no answer", "busy"})

_CLICK_TO = RecordConverter(ClickToRecord)
_LEADFLOW = RecordConverter(LeadFlowCall)


def _credential(value: str | None, variable: str, parameter: str) -> str:
    found = from_env(value, variable)
    if found is None or found == "":
        raise ValidationError(
            f"{parameter} is required (pass it, or set {variable})", parameter=parameter
        )
    return check.credential(found, parameter, variable=None if value is not None else variable)


class Session(BaseSession):
    """A connection pool and the credentials for the DialogTech APIs.

    Args:
        access_key: from the account's Key Manager (default: ``$DIALOGTECH_ACCESS_KEY``).
        secret_access_key: its secret (default: ``$DIALOGTECH_SECRET_ACCESS_KEY``); never
            logged, never shown in reprs or errors.
        api_key: the newest APIs' ``x-api-key``, where the account has one
            (default: ``$DIALOGTECH_API_KEY``).
        base_url: the scheme and host of every endpoint, and a path prefix if any (a
            proxy's): ``/ibp_api.php`` is appended for the legacy API, the LeadFlow
            path for the newest one. One ``base_url`` (the sandbox's, a proxy's)
            reaches every endpoint. Default: the production hosts.
        newest_base_url: the newest APIs' (LeadFlow history) host, when it differs from
            ``base_url``'s.
        timeout: httpx timeout for reports (default: connect 10 s, 60 s between bytes).
        max_retries: retries of a report's request (one budget for connect errors,
            error statuses and bodies broken before the first record; click-to actions:
            only when the connection failed before sending).
        retry: the whole retry policy (a ``RetryPolicy``), instead of ``max_retries``.
        limits: the pool's ``httpx.Limits``.
        http_client: an ``httpx.AsyncClient`` of yours, which the session will not close.
            Redirects are never followed, even if it would (the credentials would go
            along): a 3xx answer is an ``APIStatusError``.
        call_timeout: how long click-to actions wait for the API's answer, which comes
            only once the first leg of the call is answered (default 120 s).
        body_limits: bounds on what one response body may make the parsers hold
            (``BodyLimits``: nesting depth, one record's bytes, inflation per step).

    Credentials must be ``str`` without whitespace or control characters (a key read
    from a file keeps its newline): ``ValidationError`` otherwise, not showing the value.

    Use it as ``async with Session(...) as session:``; ``aclose()`` closes it otherwise.
    """

    def __init__(
        self,
        access_key: str | None = None,
        secret_access_key: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        newest_base_url: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        limits: httpx.Limits | None = None,
        http_client: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        call_timeout: float = CALL_READ_TIMEOUT,
        body_limits: BodyLimits | None = None,
    ) -> None:
        self._access_key = _credential(access_key, "DIALOGTECH_ACCESS_KEY", "access_key")
        secret = _credential(secret_access_key, "DIALOGTECH_SECRET_ACCESS_KEY", "secret_access_key")
        # An empty $DIALOGTECH_API_KEY is no key; an empty api_key="" is a mistake.
        found_api_key = from_env(api_key, "DIALOGTECH_API_KEY") or api_key
        if found_api_key is not None:
            found_api_key = check.credential(
                found_api_key,
                "api_key",
                variable=None if api_key is not None else "DIALOGTECH_API_KEY",
            )
        api_key = found_api_key
        self._api_key = api_key
        if base_url is None:
            base_url = LEGACY_BASE_URL
            newest_base_url = NEWEST_BASE_URL if newest_base_url is None else newest_base_url
        elif newest_base_url is None:
            newest_base_url = check.http_url(base_url)
        self._newest_base_url = httpx.URL(check.http_url(newest_base_url, "newest_base_url"))
        call_read = check.positive_number(call_timeout, "call_timeout")
        self._call_timeout = httpx.Timeout(REPORT_TIMEOUT.connect, read=call_read)
        self._newest_auth = DialogTechHeaderAuth(self._access_key, secret, api_key)
        super().__init__(
            auth=LegacyKeyAuth(self._access_key, secret),
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            limits=limits,
            http_client=http_client,
            retry=retry,
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
        phone_to_call: str,
        id: str,
        type: Literal[1, 2] = 1,
        page: str | None = None,
        ref: str | None = None,
        first_callerid: str | None = None,
        second_callerid: str | None = None,
    ) -> CallResult:
        """Connect two phone numbers (spec: Click-to-Call).

        The API answers once the first leg is answered or not; this waits up to
        120 s for it. The request is retried only if the connection failed before it
        was sent: a retry after that could place a second call.

        Phone numbers are ``str`` (an int would lose a leading 0, a float gain ".0"), of
        7 to 15 digits; spaces, dots, dashes, slashes, parentheses and a leading "+" are
        removed, nothing else.

        Args:
            phone_to_call: the caller's number; formatting like "(312) 555-0100" is removed.
            id: the other number (a registered or tracking number with a key).
            type: 1 calls ``phone_to_call`` first, 2 calls ``id`` first.
            page: where the click came from (at most 255 characters).
            ref: your reference for reporting (at most 32 characters).
            first_callerid: the caller ID shown on the first leg.
            second_callerid: the caller ID shown on the second leg.

        Returns:
            ``CallResult``: ``.connected`` is True for "Call Connected", False for the
            call outcomes "No Answer" and "Busy".

        Raises:
            APIStatusError: the API answered with an error instead of an outcome
                (``AuthenticationError`` for "INVALID ACCOUNT", ``BadRequestError`` for
                ``<result>failed</result>`` or any other text).
        """
        params = {
            "action": "clickto.call",
            "type": str(check.choice(type, (1, 2, "1", "2"), "type")),
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

    async def click_to_vr(self, menu_id: str | int, phone_to_call: str) -> CallResult:
        """Connect a phone number to a Virtual Receptionist (spec: Click-to-VR).

        Sent once, like ``click_to_call``; the same answers and errors.

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
            "GET", self._url(LEGACY_PATH), params, timeout=self._call_timeout
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
        if text.lower() not in CALL_OUTCOMES:
            if any(outcome.startswith(text.lower()) for outcome in CALL_OUTCOMES):
                raise ResponseFormatError(
                    f"click-to answer {text!r} is the start of a call outcome: the body was cut",
                    byte_offset=len(body),
                )
            raise in_band_error(redact_text(text[:500], self._secrets))
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
        max_windows: int = ...,
        on_error: OnError = ...,
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
        window: Window,
        concurrency: int = ...,
        max_windows: int = ...,
        on_error: OnError = ...,
    ) -> BulkReport[ClickToRecord]: ...

    def click_to_report(
        self,
        start_date: dt.date,
        end_date: dt.date,
        format: Literal["csv", "xml"] = "csv",
        click_id: str | int | None = None,
        ref: str | None = None,
        *,
        window: Window | None = None,
        concurrency: int = 1,
        max_windows: int = MAX_WINDOWS,
        on_error: OnError = "raise",
    ) -> Report[ClickToRecord] | BulkReport[ClickToRecord]:
        """All click-to activity between two dates, inclusive (spec: Click-to Report).

        Returns at once; ``async with`` (or ``open()``, or the first step of iteration)
        sends the request and raises an error status or in-band error before any record::

            async with session.click_to_report(start, end) as report:
                async for record in report:
                    ...

        Both dates are inclusive (the end date's whole day is in the report), as for
        ``leadflow_history``.

        Args:
            start_date: the first day (a ``datetime.date``), sent as YYYYMMDD. A naive
                ``datetime`` stands for its date; an aware one is refused
                (``ValidationError``), since its day depends on its zone: pass
                ``value.date()`` in the account's zone.
            end_date: the last day, included, not before ``start_date``.
            format: "csv" or "xml" on the wire; the records are the same.
            click_id: only this click-to building block's activity.
            ref: only records with this custom reference (at most 32 characters, the
                longest click-to-call sets).
            window: split the range into windows of this many whole days (a
                ``timedelta``), or ``"month"`` for calendar months, fetched
                ``concurrency`` at a time and yielded in date order (a ``BulkReport``).
            concurrency: how many windows are read at once (at most the pool's
                ``max_connections``: an open window holds a connection).
            max_windows: refuse a range needing more windows (requests) than this
                (default 1,000).
            on_error: for a window that fails, "raise" (default) or "skip": the pull
                goes on and ``.failed`` lists (start, end, error) of each one skipped.
        """
        start, end = check.date_range(start_date, end_date)
        format = check.choice(format, ("csv", "xml"), "format")
        check_bulk_options(concurrency, max_windows, on_error)
        params = {"action": "report.clickto", "format": format}
        if click_id is not None:
            params["click_id"] = check.digits_id(click_id, "click_id")
        if ref is not None:
            params["ref"] = check.text(ref, "ref", max_length=MAX_REF_LENGTH) or ""

        def body_decoder(response: httpx.Response, items: ItemsFromParser) -> Decoder[Any]:
            inner: Parser = (
                _csv_parser(response.charset_encoding, self._body_limits)
                if format == "csv"
                else XMLParser(root_tag="data", limits=self._body_limits)
            )
            return LegacyErrorGuard(items(inner), expect=format)

        def stream_between(first: dt.date, last: dt.date) -> Stream[ClickToRecord]:
            dates = {"start_date": first.strftime("%Y%m%d"), "end_date": last.strftime("%Y%m%d")}
            return self._stream(
                self._url(LEGACY_PATH),
                {**params, **dates},
                body_decoder,
                _CLICK_TO,
                description=f"click-to report {first}..{last} ({format})",
            )

        if window is None:
            return Report(stream_between(start, end))
        return windowed(
            stream_between,
            split_windows(start, end, window, max_windows),
            concurrency,
            on_error,
            self._connections,
        )

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
        max_windows: int = ...,
        on_error: OnError = ...,
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
        window: Window,
        concurrency: int = ...,
        max_windows: int = ...,
        on_error: OnError = ...,
    ) -> BulkReport[LeadFlowCall]: ...

    def leadflow_history(
        self,
        start_date: dt.datetime | dt.date | None = None,
        end_date: dt.datetime | dt.date | None = None,
        *,
        sid: str | None = None,
        set_id: int | None = None,
        active: bool | None = None,
        window: Window | None = None,
        concurrency: int = 1,
        max_windows: int = MAX_WINDOWS,
        on_error: OnError = "raise",
    ) -> Report[LeadFlowCall] | BulkReport[LeadFlowCall]:
        """LeadFlow call details (spec: LeadFlow History Report), on the newest API.

        Either ``sid`` or both dates; with ``sid`` the dates are ignored, as the API does.
        Naive datetimes are taken to be US Eastern time, the zone the API reports in;
        they are sent as ISO-8601 with their UTC offset. The range is inclusive at both
        ends, and a ``date`` is its whole day in US Eastern time: ``end_date=date(2024,
        1, 31)`` includes the 31st (to 23:59:59.999999), as the click-to report does.

        Args:
            start_date: the start of the range.
            end_date: the end of the range, included, not before the start.
            sid: one call's session ID.
            set_id: only calls of this LeadFlow set.
            active: True for active calls only, False for inactive calls only.
            window: split the date range into windows this long (a ``timedelta``), or
                ``"month"`` for calendar months (US Eastern, or the zone of an aware
                ``start_date``), fetched ``concurrency`` at a time and yielded in order
                (a ``BulkReport``); not with ``sid``.
            concurrency: how many windows are read at once (at most the pool's
                ``max_connections``: an open window holds a connection).
            max_windows: refuse a range needing more windows (requests) than this
                (default 1,000).
            on_error: for a window that fails, "raise" (default) or "skip": the pull
                goes on and ``.failed`` lists (start, end, error) of each one skipped.
        """
        check_bulk_options(concurrency, max_windows, on_error)
        params: dict[str, str] = {}
        ranges: list[tuple[dt.datetime, dt.datetime]] = []
        if sid is not None:
            params["sid"] = check.non_empty(sid, "sid", max_length=MAX_SID_LENGTH)
        elif start_date is None or end_date is None:
            raise ValidationError(
                "pass sid, or both start_date and end_date",
                parameter="start_date" if start_date is None else "end_date",
            )
        else:
            start = check.aware_datetime(start_date, "start_date", EASTERN)
            end = check.aware_datetime(end_date, "end_date", EASTERN, end=True)
            if end < start:
                raise ValidationError(
                    f"end_date {end.isoformat()} is before start_date {start.isoformat()}",
                    parameter="end_date",
                )
            ranges.append((start, end))
        if set_id is not None:
            params["set_id"] = str(check.positive_int(set_id, "set_id"))
        if active is not None:
            params["active"] = "1" if check.flag(active, "active") else "0"

        def stream_between(
            first: dt.datetime | None, last: dt.datetime | None
        ) -> Stream[LeadFlowCall]:
            dates = (
                {}
                if first is None or last is None
                else {"start_date": first.isoformat(), "end_date": last.isoformat()}
            )
            return self._stream(
                self._url(LEADFLOW_PATH, self._newest_base_url),
                {**params, **dates},
                lambda _response, items: items(JSONParser(limits=self._body_limits)),
                _LEADFLOW,
                description="LeadFlow history",
                auth=self._newest_auth,
            )

        if window is None:
            return Report(stream_between(*ranges[0]) if ranges else stream_between(None, None))
        if not ranges:
            raise ValidationError("window needs start_date and end_date", parameter="window")
        return windowed(
            stream_between,
            split_windows(*ranges[0], window, max_windows),
            concurrency,
            on_error,
            self._connections,
        )


def _csv_parser(charset: str | None, limits: BodyLimits) -> CSVParser:
    """A CSV parser for a response's ``charset``; when it names none, UTF-8 with cp1252
    for the bytes that are not UTF-8 (``UTF8_CP1252``)."""
    try:
        return CSVParser(encoding=charset or UTF8_CP1252, limits=limits)
    except (LookupError, ValueError) as exc:  # unknown, or not ASCII-compatible (UTF-16)
        raise ResponseFormatError(
            f"CSV report in charset {charset!r}, which cannot be read: {exc}", byte_offset=0
        ) from exc

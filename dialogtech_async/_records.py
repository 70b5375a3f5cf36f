"""Typed records: plain declarations; the conversion rules live in ``_convert``.

Field names are the snake_case form of the API's keys. Each field's annotation says
how its text is read (see ``_convert.configure_converter``): the ``Annotated`` markers
name the API's date formats. Empty strings become ``None``; keys the API adds later are
kept, unconverted, in ``extra``.
"""

import datetime as dt
import enum
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Annotated, Any

import attrs

__all__ = [
    "ActiveCall",
    "CallResult",
    "ClickToRecord",
    "LeadFlowCall",
    "LeadStatus",
    "PbxActiveCall",
    "PbxUserStatus",
]


class DateFormat(enum.Enum):
    """How an API spells a timestamp (used as an ``Annotated`` marker)."""

    #: "Jan 13 2017 10:52 PM", the legacy API's local time (no zone given).
    CLICK_TO = "click-to"
    #: ISO-8601 in US Eastern time when no offset is given (LeadFlow ``call_date``).
    EASTERN = "eastern"
    #: ISO-8601 in UTC when no offset is given (Infinity ``triggerDatetime``).
    UTC = "utc"
    #: ISO-8601 kept as sent (naive when no offset is given; Infinity converts to ``tz=``).
    AS_SENT = "as-sent"


ClickToTime = Annotated[dt.datetime, DateFormat.CLICK_TO]
EasternTime = Annotated[dt.datetime, DateFormat.EASTERN]
UTCTime = Annotated[dt.datetime, DateFormat.UTC]
LocalTime = Annotated[dt.datetime, DateFormat.AS_SENT]


class _EmptyMapping(Mapping[str, Any]):
    """The mapping fields' default: empty, read-only, one shared instance, which pickles
    and copies as itself (a ``MappingProxyType`` cannot be pickled at all)."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> str:
        return "_EMPTY"  # pickle: the module's global of that name


_EMPTY: Mapping[str, Any] = _EmptyMapping()


def _contents(value: Any) -> Any:
    """A mapping field's value in a hashable form (JSON objects and arrays made frozen)."""
    if isinstance(value, Mapping):
        return frozenset((key, _contents(item)) for key, item in value.items())
    if isinstance(value, list):
        return tuple(map(_contents, value))
    return value


def _mapping() -> Any:
    """A mapping field: compared and hashed by its contents (a dict has no hash), so
    records can be set members and dict keys, and records that differ only in ``extra``
    (as PBX records mostly do) do not all share one hash."""
    return attrs.field(default=_EMPTY, eq=_contents)


class LeadStatus(str, enum.Enum):
    """Whether a LeadFlow call was transferred to an advertiser, and if not, why."""

    CONNECTED = "Connected"
    AFFILIATE_CAP = "Affiliate Cap"
    NO_BUYER = "No Buyer"
    HANG_UP = "Hang Up"


@attrs.define(frozen=True, slots=True)
class CallResult:
    """The answer to a click-to-call or click-to-VR request."""

    #: The API's text, e.g. "Call Connected" or "No Answer".
    message: str

    @property
    def connected(self) -> bool:
        """True when the first leg of the call was answered ("Call Connected")."""
        return self.message.strip().lower() == "call connected"


@attrs.define(frozen=True, slots=True)
class ClickToRecord:
    """One row of the click-to report (CSV headers or XML tags of the spec)."""

    caller_id: str | None = None
    name: str | None = None
    page: str | None = None
    ref: str | None = None
    click_description: str | None = None
    click_datetime: ClickToTime | None = None
    number_connected: str | None = None
    #: Seconds.
    call_duration: int | None = None
    referral_keywords: str | None = None
    referral_domain: str | None = None
    ip_address: str | None = None
    call_1_result: str | None = None
    call_2_result: str | None = None
    extra: Mapping[str, Any] = _mapping()


@attrs.define(frozen=True, slots=True)
class LeadFlowCall:
    """One call of the LeadFlow history report."""

    #: When the call reached DialogTech, tz-aware in America/New_York.
    call_date: EasternTime | None = None
    set_name: str | None = None
    affiliate: str | None = None
    phone_label: str | None = None
    affiliate_number: str | None = None
    advertiser: str | None = None
    offer: str | None = None
    transfer_number: str | None = None
    caller_id: str | None = None
    #: A ``LeadStatus``, or the API's text when it sends a value not documented.
    lead_status: LeadStatus | str | None = None
    entered_zip: str | None = None
    lf_state: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    street_address: str | None = None
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    reroute: bool | None = None
    repeat_affiliate_caller: bool | None = None
    #: Undocumented values: kept as sent.
    affiliate_cap: str | None = None
    offer_qualified: bool | None = None
    offer_price: Decimal | None = None
    affiliate_qualified: bool | None = None
    affiliate_price: Decimal | None = None
    margin: Decimal | None = None
    #: Tenths of a minute.
    talk_minutes: Decimal | None = None
    talk_seconds: int | None = None
    total_minutes: Decimal | None = None
    total_seconds: int | None = None
    #: Minutes, rounded up.
    call_duration: int | None = None
    recording_link: str | None = None
    #: Undocumented values: kept as sent.
    contest_qualification: str | None = None
    sid: str | None = None
    extra: Mapping[str, Any] = _mapping()


@attrs.define(frozen=True, slots=True)
class ActiveCall:
    """The marketing details of one active Infinity call (basic or advanced mode).

    Basic mode fills ``igrp``, ``dgrp`` and ``txr`` only.
    """

    igrp: int | None = None
    dgrp: int | None = None
    txr: str | None = None
    igrp_name: str | None = None
    vid: str | None = None
    dgrp_name: str | None = None
    ch: int | None = None
    ch_name: str | None = None
    ch_type: str | None = None
    pub: str | None = None
    campaign: str | None = None
    ad_group: str | None = None
    match_ref: str | None = None
    src_phone_number: str | None = None
    dialled_phone_number: str | None = None
    dest_phone_number: str | None = None
    #: tz-aware, UTC.
    trigger_datetime: UTCTime | None = None
    landing_page_title: str | None = None
    page_title: str | None = None
    landing_href: str | None = None
    conversion_href: str | None = None
    vref: str | None = None
    call_state: str | None = None
    #: Seconds the A-leg was answered.
    call_duration: int | None = None
    #: Seconds the A-leg and B-leg were bridged.
    bridge_duration: int | None = None
    #: ``pt_<tag>`` keys, without the prefix.
    pass_through_tags: Mapping[str, Any] = _mapping()
    #: ``c_<var>`` keys, without the prefix.
    custom_variables: Mapping[str, Any] = _mapping()
    extra: Mapping[str, Any] = _mapping()


@attrs.define(frozen=True, slots=True)
class PbxActiveCall:
    """One active PBX call. The API documents only its state; the rest is in ``extra``."""

    #: "ringing", "queueing" or "bridged".
    state: str | None = None
    extra: Mapping[str, Any] = _mapping()


@attrs.define(frozen=True, slots=True)
class PbxUserStatus:
    """One PBX user's status. Fields beyond the documented ones are in ``extra``."""

    #: "available" or "unavailable".
    state: str | None = None
    #: When the state last changed: tz-aware, in the ``tz=`` asked for (UTC without).
    state_start_datetime: LocalTime | None = None
    #: Whether the user is shown on the real-time dashboard.
    dashboard: bool | None = None
    extra: Mapping[str, Any] = _mapping()

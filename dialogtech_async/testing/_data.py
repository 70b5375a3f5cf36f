"""Deterministic synthetic data for the sandbox, and its byte encodings.

Row ``i`` of a report is a pure function of ``(seed, i)`` for its content and of
``(i, rows, date range)`` for its timestamp: timestamps are spread evenly over the range,
in ascending order. Content comes from a pool of row templates built once per seed, so
encoding a row is a few byte concatenations: the sandbox shares a process (and the GIL)
with the client under test and must stay much faster than it.

The values are awkward on purpose: quotes, commas, ampersands, angle brackets, embedded
newlines, latin-1 letters (click-to data stays inside latin-1, since its XML is
iso-8859-1), astral-plane characters in JSON, empty strings and nulls.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

__all__ = [
    "CLICK_TO_CSV_FIELDS",
    "CLICK_TO_CSV_HEADER",
    "CLICK_TO_XML_HEAD",
    "CLICK_TO_XML_TAGS",
    "CLICK_TO_XML_TAIL",
    "INFINITY_REFERENCE_TIME",
    "LEADFLOW_FIELDS",
    "click_to_body",
    "click_to_rows",
    "leadflow_body",
    "leadflow_row_for_sid",
    "leadflow_rows",
]

T = TypeVar("T")
JSONValue = str | int | bool | Decimal | None

# Rows repeat their content (not their timestamps) every POOL_SIZE templates on average;
# a larger pool costs start-up time per seed and buys nothing for parsers.
POOL_SIZE = 512
_MASK64 = (1 << 64) - 1
_CLICK_SALT = 0xC11C
_LEAD_SALT = 0x1EAD

CLICK_TO_CSV_FIELDS: tuple[str, ...] = (
    "Caller ID",
    "Name",
    "Page",
    "Ref",
    "Click Description",
    "Click Date/Time",
    "Number Connected",
    "Call Duration",
    "Referral Keywords",
    "Referral Domain",
    "IP Address",
    "Call 1 Result",
    "Call 2 Result",
)
#: XML element names: the CSV names with spaces and slashes turned into underscores.
CLICK_TO_XML_TAGS: tuple[str, ...] = tuple(
    f.replace(" ", "_").replace("/", "_") for f in CLICK_TO_CSV_FIELDS
)
_WHEN = CLICK_TO_CSV_FIELDS.index("Click Date/Time")

#: The CSV header line, without line end (rows are each preceded by "\n").
CLICK_TO_CSV_HEADER: bytes = ",".join(f'"{f}"' for f in CLICK_TO_CSV_FIELDS).encode()
#: Everything before the first ``<record>``: the spec example's prolog and internal DTD.
CLICK_TO_XML_HEAD: bytes = (
    "<?xml version='1.0' encoding='iso-8859-1'?>\n"
    "<!DOCTYPE data [\n"
    "  <!ELEMENT data (record+)>\n"
    f"  <!ELEMENT record ({','.join(CLICK_TO_XML_TAGS)})>\n"
    + "".join(f"   <!ELEMENT {tag} (#PCDATA)>\n" for tag in CLICK_TO_XML_TAGS)
    + "]>\n<data>\n"
).encode("iso-8859-1")
CLICK_TO_XML_TAIL = b"</data>\n"

#: The keys of a LeadFlow history object, in the order of the spec's response table.
LEADFLOW_FIELDS: tuple[str, ...] = (
    "call_date",
    "set_name",
    "affiliate",
    "phone_label",
    "affiliate_number",
    "advertiser",
    "offer",
    "transfer_number",
    "caller_id",
    "lead_status",
    "entered_zip",
    "lf_state",
    "first_name",
    "last_name",
    "street_address",
    "city",
    "state",
    "zipcode",
    "reroute",
    "repeat_affiliate_caller",
    "affiliate_cap",
    "offer_qualified",
    "offer_price",
    "affiliate_qualified",
    "affiliate_price",
    "margin",
    "talk_minutes",
    "talk_seconds",
    "total_minutes",
    "total_seconds",
    "call_duration",
    "recording_link",
    "contest_qualification",
    "sid",
)

#: "Now" for the Infinity real-time endpoints, fixed so that their output is deterministic.
INFINITY_REFERENCE_TIME = dt.datetime(2024, 1, 15, 12, 0, 0, tzinfo=dt.timezone.utc)


def _mix64(x: int) -> int:
    """SplitMix64 finaliser: a fast, well-spread, portable hash of an int."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _rng(*key: object) -> random.Random:
    # str seeds are hashed with SHA-512: stable across runs, whatever PYTHONHASHSEED is.
    return random.Random(":".join(map(str, key)))


def _digits(r: random.Random, n: int) -> str:
    return str(r.randint(2, 9)) + "".join(str(r.randint(0, 9)) for _ in range(n - 1))


def _pick(r: random.Random, seq: Sequence[T]) -> T:
    return seq[r.randrange(len(seq))]


# --- Click-to report -------------------------------------------------------------------

_NAMES = (
    "Click to Call",
    "",
    'Acme "Best" Plumbing',
    "Smith, Jones & Co.",
    "Front desk\nsecond line",
    "Café Müller",
    "José Peña <VIP>",
    "O'Brien's Pub",
    "Ünïcödé Façade Ltd",
)
_PAGES = ("", "home.html", "/contact?x=1&y=2", "https://example.com/pricing#plans")
_DESCRIPTIONS = ("On Call Number", "URL based", "Click to Call", "Click to VR", "Click to FindMe")
_KEYWORDS = ("", "", "plumber chicago", '24/7 "emergency" repair', "crème brûlée, à la carte")
_DOMAINS = ("", "", "www.google.com", "bing.com", "duckduckgo.com")
_CLICK_IDS = (1001, 1002, 1003, 1004, 1005)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# "10:52 PM" for every minute of a day: hour without a leading zero, as in the spec.
_CLOCK = tuple(
    f"{(m // 60) % 12 or 12}:{m % 60:02d} {'AM' if m < 720 else 'PM'}" for m in range(1440)
)


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'  # RFC 4180: every field quoted


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _latin1(text: str) -> bytes:
    return text.encode("iso-8859-1", "xmlcharrefreplace")


@dataclass(frozen=True, slots=True)
class _ClickTemplate:
    values: tuple[str, ...]  # the 13 fields, with "" in place of Click Date/Time
    click_id: int
    csv_before: bytes  # the CSV line up to the opening quote of Click Date/Time
    csv_after: bytes  # from its closing quote to the end of the line
    xml_before: bytes
    xml_after: bytes

    @property
    def ref(self) -> str:
        return self.values[3]


def _click_template(seed: int, k: int) -> _ClickTemplate:
    r = _rng("click", seed, k)
    call1 = _pick(r, ("ANSWER",) * 6 + ("NO ANSWER", "BUSY"))
    call2 = _pick(r, ("ANSWER", "ANSWER", "ANSWER", "NO ANSWER")) if call1 == "ANSWER" else ""
    ref = "" if r.random() < 0.3 else f"ref-{r.randrange(10)}"
    ip = ".".join(str(r.randint(1, 254)) for _ in range(4))
    values = (
        _digits(r, 10),
        _pick(r, _NAMES),
        _pick(r, _PAGES),
        ref,
        _pick(r, _DESCRIPTIONS),
        "",
        _digits(r, 10),
        str(r.randint(1, 1800) if call2 == "ANSWER" else r.randint(0, 30)),
        _pick(r, _KEYWORDS),
        _pick(r, _DOMAINS),
        ip,
        call1,
        call2,
    )
    cells = [_csv_field(v) for v in values]
    tags = [
        f"        <{t}>{_xml_text(v)}</{t}>\n"
        for t, v in zip(CLICK_TO_XML_TAGS, values, strict=True)
    ]
    when_tag = CLICK_TO_XML_TAGS[_WHEN]
    return _ClickTemplate(
        values=values,
        click_id=_pick(r, _CLICK_IDS),
        csv_before=",".join([*cells[:_WHEN], '"']).encode(),
        csv_after=",".join(['"', *cells[_WHEN + 1 :]]).encode(),
        xml_before=_latin1("    <record>\n" + "".join(tags[:_WHEN]) + f"        <{when_tag}>"),
        xml_after=_latin1(f"</{when_tag}>\n" + "".join(tags[_WHEN + 1 :]) + "    </record>\n"),
    )


@lru_cache(maxsize=16)
def _click_pool(seed: int) -> tuple[_ClickTemplate, ...]:
    return tuple(_click_template(seed, k) for k in range(POOL_SIZE))


@dataclass(slots=True)  # not frozen: frozen __init__ costs a microsecond per row
class ClickToRow:
    """One click-to record: a template plus its ``Click Date/Time`` text."""

    template: _ClickTemplate
    when: str

    def values(self) -> tuple[str, ...]:
        """The 13 field values, in CSV column order."""
        v = self.template.values
        return (*v[:_WHEN], self.when, *v[_WHEN + 1 :])

    def csv(self, broken: bool = False) -> bytes:
        """The CSV line, without line end; ``broken`` drops the last field."""
        if broken:
            return ",".join(_csv_field(v) for v in self.values()[:-1]).encode()
        return self.template.csv_before + self.when.encode() + self.template.csv_after

    def xml(self, broken: bool = False) -> bytes:
        """The ``<record>`` element, iso-8859-1; ``broken`` misspells a closing tag."""
        data = self.template.xml_before + self.when.encode() + self.template.xml_after
        return data.replace(b"</Caller_ID>", b"</CallerID>", 1) if broken else data


def iter_click_to(
    seed: int,
    start: dt.date,
    end: dt.date,
    rows: int,
    click_id: int | None = None,
    ref: str | None = None,
) -> Iterator[ClickToRow]:
    """Yield the click-to rows of ``[start, end]`` (whole days), filtered, in time order."""
    pool = _click_pool(seed)
    salt = _mix64(seed ^ _CLICK_SALT)
    span = ((end - start).days + 1) * 1440  # minutes
    day, label = -1, ""
    for i in range(rows):
        t = pool[_mix64(salt ^ i) % POOL_SIZE]
        if (click_id is not None and t.click_id != click_id) or (ref is not None and t.ref != ref):
            continue
        d, minute = divmod(i * span // rows, 1440)
        if d != day:  # offsets only grow, so one cached day label is enough
            day = d
            date = start + dt.timedelta(days=d)
            label = f"{_MONTHS[date.month - 1]} {date.day:02d} {date.year}"
        yield ClickToRow(t, f"{label} {_CLOCK[minute]}")


def click_to_rows(
    start_date: dt.date,
    end_date: dt.date,
    *,
    rows: int,
    seed: int = 0,
    click_id: int | None = None,
    ref: str | None = None,
) -> Iterator[dict[str, str]]:
    """Yield the records the sandbox sends for a click-to report, keyed by CSV header.

    Use it to compute what a client should receive: the same arguments give the same
    records the server streams (``rows`` is the count before the click_id/ref filters).
    """
    for row in iter_click_to(seed, start_date, end_date, rows, click_id, ref):
        yield dict(zip(CLICK_TO_CSV_FIELDS, row.values(), strict=True))


# --- LeadFlow history ------------------------------------------------------------------

_SETS = ((101, "Auto Insurance"), (102, "Home Services"), (103, 'Debt "Relief" Leads'))
_AFFILIATES = ("Acme Media", "Leads & Co", "Zoë's Calls", "📞 Call Pros", "北京 Media")
_LABELS = ("", "Main line", "TV spot, 10pm", "Radio\\Spot 2")
_ADVERTISERS = (
    ("Big Insurer", "Auto Quote"),
    ("HomeFix", "Roof Repair"),
    ("Relief Inc", "Debt Consult"),
)
_STATUSES = ("Connected",) * 6 + ("No Buyer", "No Buyer", "Hang Up", "Hang Up", "Affiliate Cap")
_FIRST = ("Ana", "José", "Mary-Jane", "D'Angelo", "Zoë")
_LAST = ("Smith", "Peña", "O'Neil", 'Jones "JJ"', "Müller")
_STREETS = ("12 Main St", "400 Elm Ave\nApt 4", "1 Rue de l'Église")
_CITIES = (("Chicago", "IL", "60601"), ("Austin", "TX", "73301"), ("Boston", "MA", "02108"))
_EASTERN = ZoneInfo("America/New_York")
# sids encode the call time as seconds since this (naive Eastern) instant, in 8 hex digits.
_SID_EPOCH = dt.datetime(2000, 1, 1)


def _tenths(seconds: int) -> Decimal:
    return Decimal(-(-seconds // 6)).scaleb(-1)  # minutes, rounded up to a tenth


def _cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)  # prints with exactly two decimals


def _json(value: JSONValue) -> str:
    if isinstance(value, Decimal):
        return str(value)  # keeps "12.50", which json.dumps(float) would not
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _LeadTemplate:
    values: dict[str, JSONValue]  # every key but call_date and sid
    set_id: int
    active: bool
    middle: bytes  # from the closing quote of call_date to the opening quote of sid


def _lead_template(seed: int, k: int) -> _LeadTemplate:
    r = _rng("lead", seed, k)
    set_id, set_name = _pick(r, _SETS)
    status = _pick(r, _STATUSES)
    connected = status == "Connected"
    advertiser, offer = _pick(r, _ADVERTISERS) if connected else (None, None)
    talk = r.randint(0, 1800) if connected else 0
    total = talk + r.randint(5, 120)
    offer_q = connected and talk >= 90
    affiliate_q = offer_q and r.random() < 0.8
    offer_price = _cents(r.randint(500, 6000)) if offer_q else None
    affiliate_price = _cents(r.randint(100, 7000)) if affiliate_q else None
    margin = None if offer_price is None else offer_price - (affiliate_price or 0)
    found = r.random() < 0.7  # reverse lookup found the caller
    city, state, zipcode = _pick(r, _CITIES) if found else ("", "", "")
    values: dict[str, JSONValue] = {
        "set_name": set_name,
        "affiliate": _pick(r, _AFFILIATES),
        "phone_label": _pick(r, _LABELS),
        "affiliate_number": _digits(r, 10),
        "advertiser": advertiser,
        "offer": offer,
        "transfer_number": (_digits(r, 10) if r.random() < 0.8 else "IVR 2") if connected else "",
        "caller_id": _digits(r, 10),
        "lead_status": status,
        "entered_zip": _digits(r, 5) if r.random() < 0.4 else "",
        "lf_state": _pick(r, ("IL", "TX", "MA", "CA", "NY")),
        "first_name": _pick(r, _FIRST) if found else "",
        "last_name": _pick(r, _LAST) if found else "",
        "street_address": _pick(r, _STREETS) if found else "",
        "city": city,
        "state": state,
        "zipcode": zipcode,
        "reroute": "Y" if r.random() < 0.1 else "N",
        "repeat_affiliate_caller": "Y" if r.random() < 0.15 else "N",
        "affiliate_cap": "Y" if status == "Affiliate Cap" else "N",
        "offer_qualified": "Y" if offer_q else "N",
        "offer_price": offer_price,
        "affiliate_qualified": "Y" if affiliate_q else "N",
        "affiliate_price": affiliate_price,
        "margin": margin,
        "talk_minutes": _tenths(talk),
        "talk_seconds": talk,
        "total_minutes": _tenths(total),
        "total_seconds": total,
        "call_duration": -(-total // 60),
        "recording_link": f"https://recordings.sandbox.invalid/{seed}/{k}.mp3" if talk else "",
        "contest_qualification": "Y" if r.random() < 0.05 else "N",
    }
    middle = "".join(f', "{key}": {_json(v)}' for key, v in values.items())
    return _LeadTemplate(
        values=values,
        set_id=set_id,
        active=r.random() < 0.05,
        middle=('"' + middle + ', "sid": "').encode(),
    )


@lru_cache(maxsize=16)
def _lead_pool(seed: int) -> tuple[_LeadTemplate, ...]:
    return tuple(_lead_template(seed, k) for k in range(POOL_SIZE))


@dataclass(slots=True)  # not frozen: frozen __init__ costs a microsecond per row
class LeadFlowRow:
    """One LeadFlow history object: a template plus its call_date and sid."""

    template: _LeadTemplate
    call_date: str
    sid: str

    def as_dict(self) -> dict[str, JSONValue]:
        """The object as ``json.loads(body, parse_float=Decimal)`` gives it back."""
        return {"call_date": self.call_date, **self.template.values, "sid": self.sid}

    def json(self, broken: bool = False) -> bytes:
        """The JSON object, UTF-8; ``broken`` drops the colon after the first key."""
        start = b'{"call_date" "' if broken else b'{"call_date": "'
        return b"".join(
            (start, self.call_date.encode(), self.template.middle, self.sid.encode(), b'"}')
        )

    @classmethod
    def for_sid(cls, seed: int, sid: str) -> LeadFlowRow | None:
        """The row of this seed that ``sid`` names, or None when none carries it."""
        if len(sid) != 20:
            return None
        try:
            secs, i = int(sid[:8], 16), int(sid[8:16], 16)
        except ValueError:
            return None
        row = _lead_row(_lead_pool(seed), _mix64(_mix64(seed ^ _LEAD_SALT) ^ i), i, secs)
        return row if row.sid == sid.lower() else None


def to_eastern(value: dt.datetime) -> dt.datetime:
    """Naive US Eastern wall time (aware values are converted, naive ones kept)."""
    if value.tzinfo is not None:
        value = value.astimezone(_EASTERN).replace(tzinfo=None)
    return value.replace(microsecond=0)


@lru_cache(maxsize=1024)
def _lead_day(day: int) -> str:
    return (_SID_EPOCH + dt.timedelta(days=day)).strftime("%Y-%m-%d")


_HH_MM = tuple(f" {m // 60:02d}:{m % 60:02d}" for m in range(1440))
_SS = tuple(f":{s:02d}" for s in range(60))


def _lead_row(pool: Sequence[_LeadTemplate], h: int, i: int, secs: int) -> LeadFlowRow:
    # h: the row's hash (template and sid tag); secs: its call time since _SID_EPOCH.
    day, rest = divmod(secs, 86400)
    minute, second = divmod(rest, 60)
    when = _lead_day(day) + _HH_MM[minute] + _SS[second]
    sid = "%08x%08x%04x" % (secs, i, (h >> 32) & 0xFFFF)  # noqa: UP031 - faster here
    return LeadFlowRow(pool[h % POOL_SIZE], when, sid)


def iter_leadflow(
    seed: int,
    start: dt.datetime,
    end: dt.datetime,
    rows: int,
    set_id: int | None = None,
    active: bool | None = None,
) -> Iterator[LeadFlowRow]:
    """Yield the LeadFlow rows of ``[start, end]`` (naive Eastern), filtered, in time order.

    Inclusive at both ends, as the library's windows are: the rows fall on the whole
    seconds from ``start`` to ``end``.
    """
    pool, salt = _lead_pool(seed), _mix64(seed ^ _LEAD_SALT)
    base = int((start - _SID_EPOCH).total_seconds())
    span = int((end - start).total_seconds()) + 1  # seconds in range, end's included
    for i in range(rows):
        h = _mix64(salt ^ i)
        template = pool[h % POOL_SIZE]
        if (set_id is not None and template.set_id != set_id) or (
            active is not None and template.active != active
        ):
            continue
        yield _lead_row(pool, h, i, base + i * span // rows)


def leadflow_rows(
    start_date: dt.datetime,
    end_date: dt.datetime,
    *,
    rows: int,
    seed: int = 0,
    set_id: int | None = None,
    active: bool | None = None,
) -> Iterator[dict[str, JSONValue]]:
    """Yield the LeadFlow objects the sandbox sends, as ``json.loads(..., parse_float=Decimal)``
    decodes them. Aware datetimes are converted to US Eastern, naive ones are Eastern."""
    start, end = to_eastern(start_date), to_eastern(end_date)
    for row in iter_leadflow(seed, start, end, rows, set_id, active):
        yield row.as_dict()


def leadflow_row_for_sid(sid: str, *, seed: int = 0) -> dict[str, JSONValue] | None:
    """The LeadFlow object the sandbox returns for ``sid=``, or None."""
    row = LeadFlowRow.for_sid(seed, sid)
    return None if row is None else row.as_dict()


def click_to_body(
    start_date: dt.date,
    end_date: dt.date,
    *,
    rows: int,
    format: Literal["csv", "xml"] = "csv",
    seed: int = 0,
) -> bytes:
    """The whole click-to report body the sandbox sends for these arguments, in one piece
    (for benchmarks and parser tests that want the bytes without a server)."""
    found = iter_click_to(seed, start_date, end_date, rows)
    if format == "csv":
        return CLICK_TO_CSV_HEADER + b"".join(b"\n" + row.csv() for row in found)
    return CLICK_TO_XML_HEAD + b"".join(row.xml() for row in found) + CLICK_TO_XML_TAIL


def leadflow_body(
    start_date: dt.datetime, end_date: dt.datetime, *, rows: int, seed: int = 0
) -> bytes:
    """The whole LeadFlow history body the sandbox sends for these arguments, in one piece."""
    start, end = to_eastern(start_date), to_eastern(end_date)
    found = b",\n".join(row.json() for row in iter_leadflow(seed, start, end, rows))
    return b'{"response": [\n' + found + b"\n]}" if found else b'{"response": []}'


# --- Infinity real time ----------------------------------------------------------------

_STATES = ("ringing", "queueing", "bridged")
_QUEUES = ("Sales", "Support", "Billing & Accounts")
_AGENTS = ("Ana Smith", "José Peña", "Zoë O'Brien", 'Sam "the Man" Lee', "李 Wei")


def _infinity_time(moment: dt.datetime, zone: dt.tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _e164(r: random.Random) -> str:
    return _pick(r, ("+44", "+1", "+33")) + _digits(r, 10)


def pbx_active_call(
    seed: int, igrp: int, i: int, zone: dt.tzinfo, redact: bool
) -> dict[str, JSONValue]:
    """Active PBX call ``i``: its callRef, numbers, state, queue and start time."""
    r = _rng("pbxcall", seed, igrp, i)
    state = _pick(r, _STATES)
    elapsed = r.randint(1, 3600)
    src, dest = _e164(r), _e164(r)
    return {
        "callRef": f"{seed % 10000:04d}{i:08d}",
        "igrp": igrp,
        "srcPhoneNumber": "redacted" if redact else src,
        "dialledPhoneNumber": "+44800" + _digits(r, 7),
        "destPhoneNumber": "redacted" if redact else dest,
        "state": state,
        "startDatetime": _infinity_time(
            INFINITY_REFERENCE_TIME - dt.timedelta(seconds=elapsed), zone
        ),
        "duration": elapsed,
        "pbxUserId": 1000 + r.randrange(50) if state == "bridged" else None,
        "queueName": None if state == "ringing" else _pick(r, _QUEUES),
    }


def pbx_user_status(seed: int, igrp: int, i: int, zone: dt.tzinfo) -> dict[str, JSONValue]:
    """PBX user ``i``: id, name, state, when the state started, dashboard flag."""
    r = _rng("pbxuser", seed, igrp, i)
    since = INFINITY_REFERENCE_TIME - dt.timedelta(seconds=r.randint(1, 86400))
    return {
        "userId": 1000 + i,
        "userName": _pick(r, _AGENTS),
        "state": _pick(r, ("available", "unavailable")),
        "stateStartDatetime": _infinity_time(since, zone),
        "dashboard": r.random() < 0.8,
    }


def active_call(
    seed: int, igrp: int, key: str, src: str | None, mode: Literal["advanced", "basic"]
) -> dict[str, JSONValue]:
    """The active call row for ``key`` (the callRef or srcPhoneNumber asked for)."""
    r = _rng("active", seed, igrp, key)
    dgrp, txr = r.randint(1, 99), f"{r.getrandbits(48):012x}"
    if mode == "basic":
        return {"igrp": igrp, "dgrp": dgrp, "txr": txr}
    src = src or _e164(r)
    duration = r.randint(0, 600)
    return {
        "igrp": igrp,
        "igrpName": "Sandbox & Sons Ltd",
        "vid": f"{r.getrandbits(64):016x}",
        "dgrp": dgrp,
        "dgrpName": "Website <main>",
        "ch": r.randint(1, 40),
        "chName": _pick(r, ("Google Ads", "Organic", "Direct")),
        "chType": _pick(r, ("ppc", "seo", "direct")),
        "pub": _pick(r, ("google", "bing", "")),
        "campaign": _pick(r, ("Summer Sale", "Brand, UK", "")),
        "adGroup": _pick(r, ("Plumbers", 'Boilers "24/7"', "")),
        "matchRef": _pick(r, ("emergency plumber", "café near me", "")),
        "txr": txr,
        "srcPhoneNumber": src,
        "dialledPhoneNumber": "+44800" + _digits(r, 7),
        "destPhoneNumber": _e164(r),
        "triggerDatetime": _infinity_time(
            INFINITY_REFERENCE_TIME - dt.timedelta(seconds=duration + 5), dt.timezone.utc
        ),
        "landingPageTitle": "Welcome \u2013 Sandbox",
        "pageTitle": "Contact us",
        "landingHref": "https://www.example.com/?utm_source=google&utm_medium=cpc",
        "conversionHref": "https://www.example.com/contact",
        "vref": _pick(r, ("https://www.google.com/", "")),
        "callState": _pick(r, ("ANSWER", "NOANSWER", "BUSY")),
        "callDuration": duration,
        "bridgeDuration": max(0, duration - r.randint(0, 30)),
        "pt_campaignId": f"cmp-{r.randint(1, 999)}",
        "pt_source": "sandbox",
        "c_customerTier": _pick(r, ("gold", "silver")),
        "c_orderRef": f"ORD-{r.randint(10000, 99999)}",
    }

"""Argument checks, run before anything is sent; each error names its parameter."""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from typing import TypeVar

import httpx

from ._exceptions import ValidationError

T = TypeVar("T")

# A phone number as people write it, on one line: digits, with spaces, dots, dashes,
# slashes or parentheses between them, and at most a leading "+" ("(312) 555-0100",
# "+44 20 7946 0958"). A line break or a tab inside is two numbers pasted together.
# Nothing else: a leading "-" or a letter is not formatting, and is never dropped.
_WRITTEN_PHONE = re.compile(r"\+?\(?[0-9][0-9 ().\-/]*")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/+]")
# E.164: "+", a country code not starting with 0, at most 15 digits in all (ITU-T E.164).
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# A local (national) number as Infinity reports caller IDs: digits, maybe a leading 0.
_LOCAL_NUMBER = re.compile(r"[0-9]{3,15}")
#: The caller ID Infinity gives a withheld number (spec: "local, international or anonymous").
ANONYMOUS = "anonymous"
#: The longest number E.164 allows.
MAX_PHONE_DIGITS = 15
#: The shortest number dialled: a North American or European subscriber number without
#: its area code has 7 digits; anything shorter is a typo or an extension, not a number.
MIN_PHONE_DIGITS = 7


def phone_digits(value: str, parameter: str) -> str:
    """An "unformatted phone number" as the legacy API wants it: digits only.

    Only a ``str`` is taken: an int loses leading zeros and a float gains ".0", so
    either could dial a number the caller never wrote.
    """
    if not isinstance(value, str):
        raise ValidationError(
            f"{parameter} must be a phone number as a str, got {type(value).__name__}",
            parameter=parameter,
        )
    text = value.strip()
    if not text.isascii() or not _WRITTEN_PHONE.fullmatch(text):
        raise ValidationError(
            f"{parameter} must be a phone number of digits, got {value!r}", parameter=parameter
        )
    digits = _PHONE_PUNCTUATION.sub("", text)
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        raise ValidationError(
            f"{parameter} has {len(digits)} digits; a phone number has"
            f" {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS}",
            parameter=parameter,
        )
    return digits


def digits_id(value: str | int, parameter: str) -> str:
    """A numeric identifier (building-block IDs), sent as digits."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isascii() or not text.isdigit():
        raise ValidationError(
            f"{parameter} must be a numeric ID, got {value!r}", parameter=parameter
        )
    return text


def choice(value: object, allowed: tuple[T, ...], parameter: str) -> T:
    """The option of ``allowed`` that ``value`` is, to be sent as the option itself.

    ``value`` must be of the option's type: True and 1.0 equal 1 but are no choice of
    1; a str subclass (a ``StrEnum``, a ``(str, Enum)`` member) is its text, whose
    ``str()`` may be another (``"Format.CSV"``).
    """
    for option in allowed:
        same_kind = isinstance(value, type(option)) and not isinstance(value, bool)
        if (same_kind or type(option) is type(value)) and option == value:
            return option
    raise ValidationError(
        f"{parameter} must be one of {', '.join(map(repr, allowed))}, got {value!r}",
        parameter=parameter,
    )


def text(value: str | None, parameter: str, *, max_length: int | None = None) -> str | None:
    """Optional free text, no longer than the spec's limit."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{parameter} must be a string", parameter=parameter)
    if max_length is not None and len(value) > max_length:
        raise ValidationError(
            f"{parameter} is {len(value)} characters long; the API accepts at most {max_length}",
            parameter=parameter,
        )
    encodable(value, parameter)
    return value


def encodable(value: str, parameter: str) -> str:
    """``value`` must encode to UTF-8 (a lone surrogate, from a bad decode, cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{parameter} holds a character UTF-8 cannot encode at index {exc.start}"
            " (a lone surrogate)",
            parameter=parameter,
        ) from None
    return value


def non_empty(value: object, parameter: str, *, max_length: int | None = None) -> str:
    """A required string with something in it (an ID the API looks up; blanks are not)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{parameter} must be a non-blank string", parameter=parameter)
    return text(value, parameter, max_length=max_length) or value


def flag(value: object, parameter: str) -> bool:
    """A yes/no option: ``True`` or ``False`` only ("no" and 0 are not guessed at)."""
    if not isinstance(value, bool):
        raise ValidationError(
            f"{parameter} must be True or False, got {value!r}", parameter=parameter
        )
    return value


def date_range(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """Two dates, start not after end; a naive datetime stands for its date, an aware
    one is refused (its zone could put it on another day in the API's zone)."""
    for value, parameter in ((start, "start_date"), (end, "end_date")):
        if not isinstance(value, dt.date):
            raise ValidationError(
                f"{parameter} must be a datetime.date, got {type(value).__name__}",
                parameter=parameter,
            )
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            raise ValidationError(
                f"{parameter} must be a date: the report's days are the account's, and an"
                " aware datetime's day depends on its zone (pass value.date(), or convert"
                " it to the account's zone first)",
                parameter=parameter,
            )
    start_day = start.date() if isinstance(start, dt.datetime) else start
    end_day = end.date() if isinstance(end, dt.datetime) else end
    if end_day < start_day:
        raise ValidationError(
            f"end_date {end_day} is before start_date {start_day}", parameter="end_date"
        )
    return start_day, end_day


def aware_datetime(
    value: dt.datetime | dt.date, parameter: str, zone: dt.tzinfo, *, end: bool = False
) -> dt.datetime:
    """A tz-aware datetime; naive ones are taken to be in ``zone``.

    A ``date`` is its whole day in ``zone``: its first microsecond, or with ``end`` its
    last, so that a ``date`` end is inclusive, as in the click-to report.
    """
    if not isinstance(value, dt.date):
        raise ValidationError(
            f"{parameter} must be a datetime, got {type(value).__name__}", parameter=parameter
        )
    if not isinstance(value, dt.datetime):
        if end:
            value = dt.datetime.combine(value, dt.time.max)
        else:
            value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def e164(value: str, parameter: str) -> str:
    """A phone number in E.164 form ("+441234567890")."""
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise ValidationError(
            f"{parameter} must be an E.164 number like '+441234567890', got {value!r}",
            parameter=parameter,
        )
    return value


def caller_id(value: object, parameter: str) -> str:
    """A caller ID as Infinity records it: E.164 ("+441234567890"), a local number
    ("01234567890") or "anonymous" (spec: "may be local, international or anonymous")."""
    if isinstance(value, str) and (
        value == ANONYMOUS or _E164.fullmatch(value) or _LOCAL_NUMBER.fullmatch(value)
    ):
        return value
    raise ValidationError(
        f"{parameter} must be an E.164 number like '+441234567890', a local number like"
        f" '01234567890' or 'anonymous', got {value!r}",
        parameter=parameter,
    )


def positive_int(value: object, parameter: str) -> int:
    """A positive integer (Infinity installation IDs)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(
            f"{parameter} must be a positive int, got {value!r}", parameter=parameter
        )
    return value


def time_zone(value: str | None, parameter: str = "tz") -> str | None:
    """An IANA time zone name, checked against the zone database."""
    if value is None:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(
            f"{parameter} must be an IANA time zone name like 'Europe/London', got {value!r}",
            parameter=parameter,
        ) from None
    return value


# --- session options: checked at construction, not at the first request -----------------

# Whitespace and control characters: a credential read from a file keeps its "\n", which
# no header or query can carry (and which escapes the redaction of its raw form).
_UNPRINTABLE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def credential(value: object, parameter: str, *, variable: str | None = None) -> str:
    """A key or password: a non-empty ``str`` with no whitespace or control character.

    ``variable`` names the environment variable it came from, if it did. The message
    never shows the value: it is a secret, or part of one.
    """
    name = parameter if variable is None else f"{parameter} (from ${variable})"
    if not isinstance(value, str):
        raise ValidationError(
            f"{name} must be a str, got {type(value).__name__}", parameter=parameter
        )
    if not value:
        raise ValidationError(f"{name} is empty", parameter=parameter)
    found = _UNPRINTABLE.search(value)
    if found is not None:
        where = "at its end" if found.start() == len(value) - 1 else f"at index {found.start()}"
        raise ValidationError(
            f"{name} contains whitespace or a control character {where} (a key read"
            " from a file with its newline?); the value is not shown",
            parameter=parameter,
        )
    return value


def positive_number(value: object, parameter: str) -> float:
    """A number of seconds above zero (an int or a float, not a bool or a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError(
            f"{parameter} must be a number of seconds above 0, got {value!r}",
            parameter=parameter,
        )
    return float(value)


def seconds(value: object, parameter: str) -> float:
    """A wait in seconds: a finite number, zero or more (not a bool or a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValidationError(
            f"{parameter} must be a finite number of seconds, 0 or more, got {value!r}",
            parameter=parameter,
        )
    return float(value)


def timeout_value(value: object, parameter: str = "timeout") -> None:
    """``None``, an ``httpx.Timeout``, or seconds above zero."""
    if value is not None and not isinstance(value, httpx.Timeout):
        positive_number(value, parameter)


def count(value: object, parameter: str, *, minimum: int) -> int:
    """A whole number, at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(
            f"{parameter} must be a whole number of at least {minimum}, got {value!r}",
            parameter=parameter,
        )
    return value


def http_url(value: object, parameter: str = "base_url") -> str:
    """An absolute http(s) URL: a scheme and a host (``https://proxy.example.com/dt``)."""
    if isinstance(value, httpx.URL):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationError(
            f"{parameter} must be a str, got {type(value).__name__}", parameter=parameter
        )
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValidationError(f"{parameter} is not a URL: {exc}", parameter=parameter) from None
    # A user, a password or a query may be a secret: refused, and not shown.
    if url.userinfo:
        raise ValidationError(
            f"{parameter} must not hold a user or password (the session's credentials"
            " authenticate it); the value is not shown",
            parameter=parameter,
        )
    if url.query or url.fragment:
        raise ValidationError(
            f"{parameter} must not have a query or a fragment; the value is not shown",
            parameter=parameter,
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise ValidationError(
            f"{parameter} must start with http:// or https:// and name a host,"
            f" like 'https://secure.dialogtech.com'; got {value!r}",
            parameter=parameter,
        )
    return value


def session_options(
    *,
    base_url: object,
    timeout: object,
    max_retries: object,
    limits: object,
    http_client: object,
) -> None:
    """The options every session takes, checked before anything is built."""
    http_url(base_url)
    timeout_value(timeout)
    count(max_retries, "max_retries", minimum=0)
    for value, kind, parameter in (
        (limits, httpx.Limits, "limits"),
        (http_client, httpx.AsyncClient, "http_client"),
    ):
        if value is not None and not isinstance(value, kind):
            raise ValidationError(
                f"{parameter} must be an {kind.__module__}.{kind.__name__} or None,"
                f" got {type(value).__name__}",
                parameter=parameter,
            )
    connections = limits.max_connections if isinstance(limits, httpx.Limits) else None
    if connections is not None and connections < 1:
        raise ValidationError(
            f"limits.max_connections must be at least 1 (or None: no limit), got {connections}",
            parameter="limits",
        )

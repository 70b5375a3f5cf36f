"""Argument checks, run before anything is sent; each error names its parameter."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from ._exceptions import ValidationError

# Characters people put in phone numbers that carry no digit ("(312) 555-0100").
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/+]")
# E.164: "+", a country code not starting with 0, at most 15 digits in all (ITU-T E.164).
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
#: The longest number E.164 allows.
MAX_PHONE_DIGITS = 15


def phone_digits(value: str | int, parameter: str) -> str:
    """An "unformatted phone number" as the legacy API wants it: digits only."""
    text = str(value).strip()
    digits = _PHONE_PUNCTUATION.sub("", text)
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError(
            f"{parameter} must be a phone number of digits, got {value!r}", parameter=parameter
        )
    if len(digits) > MAX_PHONE_DIGITS:
        raise ValidationError(
            f"{parameter} has {len(digits)} digits; a phone number has at most {MAX_PHONE_DIGITS}",
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


def choice(value: object, allowed: tuple[object, ...], parameter: str) -> None:
    """``value`` must be one of ``allowed``, and of its type (True and 1.0 equal 1, but
    would not be sent as "1")."""
    if not any(type(option) is type(value) and option == value for option in allowed):
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
    return value


def date_range(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """Two dates (datetimes are cut to their date), start not after end."""
    for value, parameter in ((start, "start_date"), (end, "end_date")):
        if not isinstance(value, dt.date):
            raise ValidationError(
                f"{parameter} must be a datetime.date, got {type(value).__name__}",
                parameter=parameter,
            )
    start_day = start.date() if isinstance(start, dt.datetime) else start
    end_day = end.date() if isinstance(end, dt.datetime) else end
    if end_day < start_day:
        raise ValidationError(
            f"end_date {end_day} is before start_date {start_day}", parameter="end_date"
        )
    return start_day, end_day


def aware_datetime(value: dt.datetime | dt.date, parameter: str, zone: dt.tzinfo) -> dt.datetime:
    """A tz-aware datetime; naive ones (and dates, at midnight) are taken to be in ``zone``."""
    if not isinstance(value, dt.date):
        raise ValidationError(
            f"{parameter} must be a datetime, got {type(value).__name__}", parameter=parameter
        )
    if not isinstance(value, dt.datetime):
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

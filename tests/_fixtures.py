"""Shared helpers and expected values of the tests (``from _fixtures import ...``: the
tests directory is on pytest's ``pythonpath``).

The expected values below were written from the API documents (the Click-to Report,
LeadFlow History and Infinity real-time specs), not from the library's output.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import dialogtech_async as dta
from dialogtech_async.testing import CLICK_TO_CSV_FIELDS, LEADFLOW_FIELDS

FIXTURES = Path(__file__).parent / "fixtures"
SessionT = TypeVar("SessionT", bound="dta.Session | dta.InfinitySession")


def fast(session: SessionT, max_retries: int = 2) -> SessionT:
    """Millisecond retry waits; set before creating Reports (they capture the policy)."""
    session._retry = dta.RetryPolicy(max_retries=max_retries, backoff_base=0.001, max_backoff=0.01)
    return session


def read(name: str) -> bytes:
    """The bytes of a file in ``tests/fixtures``."""
    return (FIXTURES / name).read_bytes()


def chunks_at(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``data`` cut at the given positions (sorted, duplicates and ends allowed)."""
    points = [0, *sorted(cuts), len(data)]
    return [data[start:end] for start, end in itertools.pairwise(points)]


def parse_all(parser: Any, chunks: Iterable[bytes]) -> list[dict[str, Any]]:
    """Feed every chunk, then close; the rows of all calls."""
    rows: list[dict[str, Any]] = []
    for chunk in chunks:
        rows += parser.feed(chunk)
    rows += parser.close()
    return rows


def outcome(parser: Any, chunks: Iterable[bytes]) -> tuple[list[Any], Any]:
    """Feed every chunk, then close: the rows delivered, and the DialogTechError raised
    after them, or None (any other exception propagates)."""
    from dialogtech_async import DialogTechError

    rows: list[Any] = []
    try:
        for chunk in chunks:
            rows += parser.feed(chunk)
        rows += parser.close()
    except DialogTechError as exc:
        return rows, exc
    return rows, None


def parse_until_error(parser: Any, chunks: Iterable[bytes]) -> tuple[list[Any], Exception]:
    """Feed until the parser raises; the rows delivered before, and the exception."""
    rows: list[Any] = []
    try:
        for chunk in chunks:
            rows += parser.feed(chunk)
        rows += parser.close()
    except Exception as exc:
        return rows, exc
    raise AssertionError(f"no error raised; rows: {rows!r}")


# --- Click-to Report (spec/dialogtech-click-to-report.md, "Example Response") ---------

# The sandbox's names are the one copy: tests/testing/test_sandbox_legacy.py checks its header
# against the spec byte for byte, and test_records.py checks the records' fields against both.
CSV_HEADER: Sequence[str] = CLICK_TO_CSV_FIELDS
# The XML example's child tags of <record>, in the order of its DTD.
XML_TAGS: Sequence[str] = (
    "Caller_ID",
    "Name",
    "Page",
    "Ref",
    "Click_Description",
    "Click_Date_Time",
    "Number_Connected",
    "Call_Duration",
    "Referral_Keywords",
    "Referral_Domain",
    "IP_Address",
    "Call_1_Result",
    "Call_2_Result",
)
# The two records of the spec's example, field by field in header order.
SPEC_VALUES: Sequence[Sequence[str]] = (
    (
        "0001112222",
        "Click to Call",
        "",
        "",
        "On Call Number",
        "Jan 13 2017 10:52 PM",
        "5556667777",
        "9",
        "",
        "",
        "127.0.0.1",
        "ANSWER",
        "ANSWER",
    ),
    (
        "0001112222",
        "",
        "",
        "",
        "URL based",
        "Feb 01 2017 3:57 PM",
        "9998887777",
        "1",
        "",
        "",
        "192.168.1.1",
        "ANSWER",
        "ANSWER",
    ),
)
CSV_ROWS = [dict(zip(CSV_HEADER, values, strict=True)) for values in SPEC_VALUES]
XML_ROWS = [dict(zip(XML_TAGS, values, strict=True)) for values in SPEC_VALUES]

# The extra record of clickto_report_unicode.csv (after the spec's two).
UNICODE_CSV_EXTRA_ROW = dict(
    zip(
        CSV_HEADER,
        (
            "0001112222",
            "Zoë Ñandú 📞",
            "https://example.com/?a=1,b=2",
            'ref "quoted"',
            "multi\r\nline",
            "Jan 13 2017 12:05 AM",
            "5556667777",
            "42",
            "café, crème",
            "example.com",
            "10.0.0.1",
            "ANSWER",
            "NOANSWER",
        ),
        strict=True,
    )
)
# The extra record of clickto_report_latin1.xml (after the spec's two).
LATIN1_XML_EXTRA_ROW = dict(
    zip(
        XML_TAGS,
        (
            "0001112222",
            "Café",
            "https://example.com/?a=1&b=2",
            'ref "quoted" <x>',
            "Zoë Ñandú",
            "Jan 13 2017 12:05 AM",
            "5556667777",
            "42",
            "café, crème",
            "example.com",
            "10.0.0.1",
            "ANSWER",
            "NOANSWER",
        ),
        strict=True,
    )
)

# The error statuses every endpoint maps alike: (status, body, error, message).
COMMON_ERROR_STATUSES = [
    (401, b'"auth required"', dta.AuthenticationError, "auth required"),
    (403, b"access denied", dta.PermissionDeniedError, "access denied"),
    (404, b"", dta.NotFoundError, "Not Found"),
    (500, b"", dta.ServerError, "Internal Server Error"),
    (502, b"", dta.ServerError, "Bad Gateway"),
    (503, b"", dta.ServerError, "Service Unavailable"),
]

# --- LeadFlow History (spec/dialogtech-leadflow-history-report.md, "API Response") ----

# The sandbox's keys (see CSV_HEADER); test_parser_json.py checks them against the spec's example.
LEADFLOW_KEYS: Sequence[str] = LEADFLOW_FIELDS

# --- Infinity real-time Active Call (spec/infinity-reports-api-v2-real-time.txt) ------

ACTIVE_CALL_BASIC_KEYS: Sequence[str] = ("igrp", "dgrp", "txr")
ACTIVE_CALL_ADVANCED_KEYS: Sequence[str] = (
    "igrp",
    "igrpName",
    "vid",
    "dgrp",
    "dgrpName",
    "ch",
    "chName",
    "chType",
    "pub",
    "campaign",
    "adGroup",
    "matchRef",
    "txr",
    "srcPhoneNumber",
    "dialledPhoneNumber",
    "destPhoneNumber",
    "triggerDatetime",
    "landingPageTitle",
    "pageTitle",
    "landingHref",
    "conversionHref",
    "vref",
    "callState",
    "callDuration",
    "bridgeDuration",
)

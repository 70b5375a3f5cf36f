"""LegacyErrorGuard: an in-band error body or a report, decided however the body is split."""

from __future__ import annotations

from typing import Any, Literal

import _fixtures as fx
import pytest

import dialogtech_async as dta
from dialogtech_async._legacy import LegacyErrorGuard
from dialogtech_async.parsers import CSVParser, XMLParser

INVALID_ACCOUNT = (
    b"<?xml version='1.0' encoding='iso-8859-1'?>\n"
    b"<response><result>failed</result><error>INVALID ACCOUNT</error></response>"
)
FAILED = b"<result>failed</result>"
BODIES: list[tuple[bytes, Literal["csv", "xml"], Any]] = [
    (INVALID_ACCOUNT, "xml", dta.AuthenticationError),
    (INVALID_ACCOUNT, "csv", dta.AuthenticationError),
    (FAILED, "xml", dta.BadRequestError),
    (b"Error, invalid date range", "csv", dta.BadRequestError),
    (fx.read("clickto_report.csv"), "csv", fx.CSV_ROWS),
    (fx.read("clickto_report.xml"), "xml", fx.XML_ROWS),
]


def outcome(body: bytes, expect: Literal["csv", "xml"], chunks: list[bytes]) -> Any:
    """The rows, or the type of the error raised, and nothing in between."""
    parser = LegacyErrorGuard(XMLParser() if expect == "xml" else CSVParser(), expect=expect)
    rows: list[Any] = []
    try:
        for chunk in chunks:
            rows += parser.feed(chunk)
        rows += parser.close()
    except dta.DialogTechError as exc:
        assert rows == []  # an error body yields nothing before its error
        return type(exc)
    return rows


@pytest.mark.parametrize(("body", "expect", "expected"), BODIES)
def test_the_same_outcome_at_every_split(
    body: bytes, expect: Literal["csv", "xml"], expected: Any
) -> None:
    assert outcome(body, expect, [body]) == expected
    for cut in range(1, len(body)):  # e.g. "<resp" | "onse>": not yet a data root
        assert outcome(body, expect, fx.chunks_at(body, [cut])) == expected, cut
    assert outcome(body, expect, [body[i : i + 1] for i in range(len(body))]) == expected

"""The legacy ``ibp_api.php``'s in-band errors: a 200 whose body is a message, not data."""

from __future__ import annotations

import re
from typing import Generic, Literal, TypeVar

from defusedxml import DefusedXmlException, ElementTree

from ._exceptions import ResponseFormatError, UnsafeXMLError, in_band_error
from ._parsers import Decoder

T = TypeVar("T")

#: Enough of a body's start to see its first element (past the ~1 KB internal DTD of the
#: click-to report) or its CSV header line.
SNIFF_BYTES = 8 * 1024
#: The longest error message body read whole.
MAX_MESSAGE_BYTES = 64 * 1024
_FIRST_ELEMENT = re.compile(rb"<([A-Za-z_][\w.\-]*)")
_ERROR_ROOTS = frozenset({b"response", b"result", b"error", b"errors"})


def error_message(body: bytes) -> str | None:
    """The message of a legacy error document (``<response><result>failed</result>...``).

    Returns None when ``body`` is not one.

    Raises:
        UnsafeXMLError: the document declares entities or references external resources.
    """
    match = _FIRST_ELEMENT.search(body.lstrip()[:SNIFF_BYTES])
    if match is None or match.group(1) not in _ERROR_ROOTS:
        return None
    try:
        root = ElementTree.fromstring(body)
    except DefusedXmlException as exc:  # entities or external references: never expanded
        raise UnsafeXMLError(f"unsafe XML refused in an error answer: {exc}") from exc
    except Exception:  # malformed: still not data; say what it was
        return body.decode("latin-1")[:500].strip()
    return ": ".join(text.strip() for text in root.itertext() if text.strip())


class LegacyErrorGuard(Generic[T]):
    """Wraps a report decoder, recognising error bodies sent in place of the report.

    It parses nothing itself: it holds back the body's start until it can tell a report
    from a message, then hands the body on to the decoder it wraps.

    Such a body is an XML ``<response><result>...`` document, or plain text where CSV
    was asked for. It raises the matching ``APIStatusError`` (``AuthenticationError`` for
    "INVALID ACCOUNT") instead of yielding no records or garbage.
    """

    def __init__(self, inner: Decoder[T], *, expect: Literal["csv", "xml"]) -> None:
        self._inner = inner
        self._expect = expect
        self._head = b""
        self._mode: Literal["sniff", "data", "error"] = "sniff"
        # CSV: the body's last byte that is not a line break, and the body's length. The
        # API quotes every field, so a report that ends in anything but a quote was cut.
        self._last = 0
        self._size = 0

    def feed(self, data: bytes) -> list[T]:
        """Consume a chunk; return the records it completed."""
        if self._expect == "csv":
            self._see_end(data)
        if self._mode == "data":
            return self._inner.feed(data)
        self._head += data
        if self._mode == "sniff":
            self._mode = self._decide(final=False)
            if self._mode == "data":
                head, self._head = self._head, b""
                return self._inner.feed(head)
        if len(self._head) > MAX_MESSAGE_BYTES:
            raise ResponseFormatError(f"expected a {self._expect} report, got something else")
        return []

    def close(self) -> list[T]:
        """Mark the end of the body; raise the API's error if the body was one."""
        if self._mode == "sniff":
            self._mode = self._decide(final=True)
            if self._mode == "data":
                self._check_csv_end()
                head, self._head = self._head, b""
                return self._inner.feed(head) + self._inner.close()
        if self._mode == "error":
            message = error_message(self._head)
            if message is None:
                message = self._head.decode("utf-8", "replace").strip()[:500]
            raise in_band_error(message or f"empty body where a {self._expect} report was expected")
        self._check_csv_end()
        return self._inner.close()

    def _see_end(self, data: bytes) -> None:
        self._size += len(data)
        end = len(data)
        while end and data[end - 1] in b"\r\n":
            end -= 1
        if end:
            self._last = data[end - 1]

    def _check_csv_end(self) -> None:
        """Refuse a CSV report cut after a comma or inside a field (the parser would take
        ``"x",`` for a row whose last field is empty); a cut at a record boundary cannot
        be seen."""
        if self._expect == "csv" and self._last not in (0, ord('"')):
            raise ResponseFormatError(
                "CSV report ends outside a quoted field: the body was cut",
                byte_offset=self._size,
            )

    def _decide(self, *, final: bool) -> Literal["sniff", "data", "error"]:
        head = self._head.lstrip(b"\xef\xbb\xbf \t\r\n")
        undecided: Literal["sniff", "data"] = (
            "sniff" if not final and len(head) < SNIFF_BYTES else "data"
        )
        if not head:
            return undecided  # an empty body: the inner parser says what it means
        if head.startswith(b"<"):
            match = _FIRST_ELEMENT.search(head)
            if match is None or match.end() == len(head):
                return undecided  # no element yet, or its name may go on ("<resp")
            if match.group(1) in _ERROR_ROOTS:
                return "error"
            return "data" if self._expect == "xml" else "error"
        if self._expect == "xml":
            return "error"  # text where XML was asked for
        line_end = head.find(b"\n")
        if line_end < 0 and undecided == "sniff":
            return "sniff"
        first_line = head if line_end < 0 else head[:line_end]
        # The API quotes every field of its CSV, the header's too ('"Caller ID","Name",...');
        # a message is bare text, which may well contain a comma ("Error, invalid date").
        # An unbalanced quote is a header cut inside its first field, not a message.
        quoted = first_line.startswith(b'"')
        return "data" if quoted and (b"," in first_line or first_line.count(b'"') % 2) else "error"


#: The former name, kept for code that imported it.
LegacyReportParser = LegacyErrorGuard

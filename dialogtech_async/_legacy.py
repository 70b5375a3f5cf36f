"""The legacy ``ibp_api.php``'s in-band errors: a 200 whose body is a message, not data."""

from __future__ import annotations

import codecs
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
#: The click-to report's columns (spec: its DTD), lower-cased, letters and digits only:
#: an unquoted first line naming one of them is a header, not an error message.
_COLUMNS = frozenset(
    {
        b"callerid",
        b"name",
        b"page",
        b"ref",
        b"clickdescription",
        b"clickdatetime",
        b"numberconnected",
        b"callduration",
        b"referralkeywords",
        b"referraldomain",
        b"ipaddress",
        b"call1result",
        b"call2result",
    }
)
_NOT_ALNUM = re.compile(rb"[^a-z0-9]")

#: The codec of a CSV report whose response names no charset: UTF-8, and cp1252 for any
#: bytes that are not UTF-8. The API's XML is iso-8859-1, so its CSV may well be a
#: single-byte encoding too; cp1252 reads iso-8859-1's letters alike, and its own
#: (curly quotes, the euro sign) as well. Valid UTF-8 never reaches the fallback.
UTF8_CP1252 = "dialogtech-utf-8-cp1252"
_FALLBACK_ERRORS = "dialogtech-cp1252-fallback"


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    # cp1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D): latin-1's there.
    text = "".join(codecs.decode(bytes([byte]), "cp1252", "ignore") or chr(byte) for byte in bad)
    return text, error.end


def _decode_utf8_cp1252(data: bytes, errors: str | None = "strict") -> tuple[str, int]:
    text, used = codecs.utf_8_decode(data, _FALLBACK_ERRORS, True)
    # The parser strips a BOM for "utf-8" only: this codec's records do it themselves.
    return (text[1:] if text.startswith("\ufeff") else text), used


def _search(name: str) -> codecs.CodecInfo | None:
    if name != UTF8_CP1252.replace("-", "_") and name != UTF8_CP1252:
        return None
    return codecs.CodecInfo(
        name=UTF8_CP1252,
        encode=codecs.utf_8_encode,
        decode=_decode_utf8_cp1252,  # type: ignore[arg-type]  # typeshed: any Buffer
    )


codecs.register_error(_FALLBACK_ERRORS, _cp1252_fallback)
codecs.register(_search)


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
        # CSV: the body's last byte that is not a line break, and the body's length. When
        # the header is quoted (the API's style, which quotes empty fields too: ""), a
        # body ending in a comma was cut after it.
        self._last = 0
        self._size = 0
        self._quoted_header = False

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
        """Refuse a CSV report in the API's all-quoted style cut after a comma (the parser
        would take ``"x",`` for a row whose last field is empty). A last field without
        quotes is valid (RFC 4180); a cut inside a quoted field is the parser's
        unterminated quote, and one at a record boundary cannot be seen."""
        if self._expect == "csv" and self._quoted_header and self._last == ord(","):
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
        # An unbalanced quote is a header cut inside its first field, not a message. An
        # unquoted header (valid RFC 4180) is told from a message by the columns it names.
        if first_line.startswith(b'"'):
            self._quoted_header = True
            return "data" if b"," in first_line or first_line.count(b'"') % 2 else "error"
        return "data" if _names_a_column(first_line) else "error"


def _names_a_column(line: bytes) -> bool:
    """Whether an unquoted CSV line is a header: fields, one of them a report column."""
    fields = line.rstrip(b"\r").split(b",")
    return len(fields) > 1 and any(_NOT_ALNUM.sub(b"", f.lower()) in _COLUMNS for f in fields)

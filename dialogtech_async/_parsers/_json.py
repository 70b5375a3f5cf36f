"""An incremental JSON parser for record lists, on ijson (its C yajl2 backend when present)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ijson

from .._exceptions import APIStatusError, ResponseFormatError, in_band_error
from ._base import KeepsFaults, Row, keeping_faults

# How much of a body's start may be held while deciding its shape: enough for any
# wrapper key or error message the APIs send, small enough to bound memory.
_MAX_SNIFF = 64 * 1024
_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
# `{ "key" :` followed by the first byte of the key's value.
_FIRST_MEMBER = re.compile(rb'\{\s*"((?:[^"\\]|\\.)*)"\s*:\s*(\S)', re.DOTALL)
_EMPTY_OBJECT = re.compile(rb"\{\s*\}", re.DOTALL)


class _Stage:
    """Hands ijson's backend one stage of the pipeline as the ``target`` of the next."""

    __slots__ = ("send",)

    def __init__(self, stage: Any) -> None:
        self.send = stage


def _c_items_coro(target: Any, prefix: str) -> Any:
    """``ijson.items_coro`` with its three C stages linked directly.

    ``items_coro`` links each stage to the next one's bound ``send`` method. The C stages
    call a stage they recognise by its type directly; a bound method they call as Python
    code, once per JSON event, which made the push pipeline run at 0.4 of
    ``ijson.items``. Handing each stage the next stage itself keeps the events in C: as
    fast as ``ijson.items`` (benchmarks/run.py).
    """
    backend = ijson.get_backend("yajl2_c")
    items = backend.items_basecoro(target, prefix)
    parse = backend.parse_basecoro(_Stage(items))
    return backend.basic_parse_basecoro(_Stage(parse), use_float=False)


def _public_items_coro(target: Any, prefix: str) -> Any:
    return ijson.items_coro(target, prefix, use_float=False)


def _pick_items_coro() -> Callable[[Any, str], Any]:
    """The linked C pipeline when this ijson has it and it parses right, else ijson's own."""
    if ijson.backend != "yajl2_c":
        return _public_items_coro
    try:
        found: list[Any] = ijson.sendable_list()
        coro = _c_items_coro(found, "item")
        coro.send(b'[{"a": 1.5}, {"b": [null]}]')
        coro.close()
    except Exception:  # a release whose C stages do not know each other by type
        return _public_items_coro
    return _c_items_coro if found == [{"a": Decimal("1.5")}, {"b": [None]}] else _public_items_coro


#: Builds the pipeline that sends the objects found at a prefix to a target.
items_coro = _pick_items_coro()


class _DigitRuns:
    """Finds runs of more digits than ``int()`` takes (``sys.get_int_max_str_digits()``,
    4,300 by default) before ijson sees them: ijson's C backend does not check the
    ``ValueError`` such a number raises, and the process dies (a segfault, ijson 3.6).

    A run inside a string is refused too (strings are not tracked); no API sends one.
    Only a few bytes of a chunk are looked at: a run longer than the limit covers two
    bytes half the limit apart, so bytes that far apart are tested, and a run is
    measured only where two of them are digits and so is all between them.
    """

    def __init__(self) -> None:
        self.limit = _int_digits_limit()
        self._carried = 0  # digits at the end of the bytes before

    def too_many_at(self, data: bytes) -> int | None:
        """Where in ``data`` a run of too many digits starts (negative: that many bytes
        before ``data``, in the bytes seen before)."""
        limit, size = self.limit, len(data)
        if not limit:
            return None
        lead = _digits_from(data, 0, limit + 1)
        if self._carried + lead > limit:
            return -self._carried
        if lead == size:
            self._carried += size
            return None
        step = (limit + 1) // 2
        for at in range(step, size - step, step):
            if _is_digit(data[at]) and data[at : at + step + 1].isdigit():
                start = at - _digits_back(data, at, limit + 1) + 1
                if _digits_from(data, start, limit + 1) > limit:
                    return start
        self._carried = _digits_back(data, size - 1, limit + 1)
        return None


def _stopped_at(message: str, data: bytes) -> int:
    """Where in ``data`` yajl stopped, from the context and caret lines of its message
    (just past the bad token); 0 (the start of ``data``) unless that context occurs once
    in ``data`` (yajl prints line breaks as spaces, and a short context may repeat)."""
    lines = message.split("\n")
    if len(lines) < 3 or "(right here)" not in lines[2] or "^" not in lines[2]:
        return 0
    context = lines[1].lstrip(" ")
    snippet = context.rstrip(" ").encode("utf-8", "replace")
    if not snippet or data.count(snippet) != 1:
        return 0
    return data.find(snippet) + lines[2].index("^") - (len(lines[1]) - len(context))


def _int_digits_limit() -> int:
    get = getattr(sys, "get_int_max_str_digits", None)  # Python 3.10.7+ and 3.11+
    return int(get()) if get is not None else 0


def _is_digit(byte: int) -> bool:
    return 48 <= byte <= 57


def _digits_from(data: bytes, start: int, most: int) -> int:
    """How many digits run from ``start`` onwards (counting at most ``most``)."""
    end = min(len(data), start + most)
    position = start
    while position < end and _is_digit(data[position]):
        position += 1
    return position - start


def _digits_back(data: bytes, last: int, most: int) -> int:
    """How many digits run back from ``last`` (counting at most ``most``)."""
    stop = max(-1, last - most)
    position = last
    while position > stop and _is_digit(data[position]):
        position -= 1
    return last - position


class JSONParser(KeepsFaults):
    """Push parser yielding the records of a JSON body, whatever shape the API chose.

    - a top-level array: its elements;
    - a top-level object whose first member is an array (``{"response": [...]}``): that
      array's elements;
    - any other top-level object: the object itself, as one record;
    - a lone ``]`` (Infinity's empty result, sent as ``\\n]\\n``): no records;
    - a top-level string: an error message from the API, raised as the matching
      ``APIStatusError``.

    Numbers with a fraction come out as ``Decimal``, never float. Only the record
    being read is held in memory.

    Args:
        prefix: an ijson prefix (``"item"``, ``"data.item"``) to use instead of guessing.

    Raises:
        ResponseFormatError: truncated or malformed JSON, or an unexpected top-level value.
        APIStatusError: the body is a JSON string (an in-band error message).
    """

    def __init__(self, *, prefix: str | None = None) -> None:
        self._prefix = prefix
        self._head = b""  # the body's start, held until its shape is known
        self._offset = 0  # bytes handed to ijson so far
        self._records = 0
        self._items: list[Any] = ijson.sendable_list()
        self._digits = _DigitRuns()
        self._coro: Any = None
        self._finish: Callable[[], list[Row]] | None = None
        self._closed = False

    @keeping_faults
    def feed(self, data: bytes) -> list[Row]:
        """Consume a chunk of the body; return the records it completed."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        if self._coro is not None:
            # Never send ijson an empty chunk: to ijson that marks the end of the input.
            return self._send(data) if data else []
        self._head += data
        rows = [] if self._finish is not None else self._start(final=False)
        # Judged after the shape is looked for, not before: one decompressed chunk of a
        # gzip-encoded body can be far larger than the limit and start well.
        if self._coro is None:
            self._within_sniff(len(self._head))
        return rows

    @keeping_faults
    def close(self) -> list[Row]:
        """Mark the end of the body; raise if it is incomplete."""
        if self._closed:
            return []
        self._closed = True
        rows: list[Row] = []
        if self._coro is None:
            if self._finish is not None:
                return self._finish()
            rows = self._start(final=True)
            if self._coro is None:
                return rows
        try:
            self._coro.close()
        except ijson.JSONError as exc:
            self._keep_fault(self._malformed(exc), rows_before=False)
        return rows + self._take()

    def _start(self, *, final: bool) -> list[Row]:
        """Decide the body's shape from its start, once enough of it has arrived."""
        head = self._head.lstrip(_WHITESPACE)
        if not final and head and _BOM.startswith(head):
            return []  # a byte order mark cut between chunks
        if head.startswith(_BOM):
            head = head[len(_BOM) :].lstrip(_WHITESPACE)
        skipped = len(self._head) - len(head)  # leading whitespace and BOM: not for ijson
        if not head:
            if final:
                raise ResponseFormatError("JSON body is empty", byte_offset=len(self._head))
            return []
        self._within_sniff(skipped + 1)
        prefix = self._prefix
        first = head[:1]
        if prefix is None:
            if first == b"[":
                prefix = "item"
            elif first == b"]":
                self._head = head
                self._finish = self._finish_empty
                return self._finish() if final else []
            elif first == b'"':
                self._finish = self._finish_message
                return self._finish() if final else []
            elif first == b"{":
                match = _FIRST_MEMBER.match(head) or _EMPTY_OBJECT.match(head)
                if match is None:
                    if not final:
                        return []  # the first key has not arrived yet
                    prefix = ""
                else:
                    self._within_sniff(skipped + match.end())
                    if match.re is _EMPTY_OBJECT:
                        prefix = "item"  # an empty object holds no records
                    elif match.group(2) == b"[":
                        prefix = f"{self._key(match.group(1))}.item"
                    else:
                        prefix = ""
            else:
                raise ResponseFormatError(
                    f"JSON body starts with {first!r}, not an array or object",
                    byte_offset=len(self._head) - len(head),
                )
        self._coro = items_coro(self._items, prefix)
        self._head = b""
        self._offset = skipped
        return self._send(head)

    @staticmethod
    def _within_sniff(decided_at: int) -> None:
        """Refuse a body whose shape is not known within its first ``_MAX_SNIFF`` bytes,
        however it is split into chunks."""
        if decided_at > _MAX_SNIFF:
            raise ResponseFormatError(
                "JSON body does not start like a record list", byte_offset=_MAX_SNIFF
            )

    def _key(self, raw: bytes) -> str:
        """The wrapper object's key, from its bytes between the quotes."""
        try:
            return str(json.loads(b'"' + raw + b'"'))
        except ValueError as exc:  # a bad escape, a control character, bad UTF-8
            raise ResponseFormatError(
                f"malformed JSON: bad object key ({exc})",
                byte_offset=len(self._head) - len(self._head.lstrip(_WHITESPACE)),
            ) from None

    def _send(self, data: bytes) -> list[Row]:
        cut = self._digits.too_many_at(data)
        try:
            if cut is None:
                self._coro.send(data)
            elif cut > 0:  # the records before a number that is too long still come
                self._coro.send(data[:cut])
        except ijson.JSONError as exc:
            self._keep_fault(self._malformed(exc, data), rows_before=bool(self._items))
        if cut is not None and self._fault is None:
            too_long = ResponseFormatError(
                f"JSON number of more than {self._digits.limit} digits",
                record_index=self._records + len(self._items),
                byte_offset=self._offset + cut,
            )
            self._keep_fault(too_long, rows_before=bool(self._items))
        self._offset += len(data)
        return self._take()

    def _take(self) -> list[Row]:
        rows = self._items[:]
        del self._items[:]
        for position, row in enumerate(rows):
            if not isinstance(row, dict):
                error = ResponseFormatError(
                    f"JSON record is a {type(row).__name__}, not an object",
                    record_index=self._records,
                )
                self._keep_fault(error, rows_before=position > 0)
                return rows[:position]
            self._records += 1
        return rows

    def _malformed(self, exc: Exception, data: bytes = b"") -> ResponseFormatError:
        """The error for what ijson refused in ``data``, the bytes from ``_offset`` on."""
        reason = " ".join(str(exc).split()).split(" (right here)")[0]
        return ResponseFormatError(
            f"malformed JSON: {reason}",
            record_index=self._records + len(self._items),
            byte_offset=self._offset + _stopped_at(str(exc), data),
        )

    def _finish_empty(self) -> list[Row]:
        if self._closed and self._head.strip(_WHITESPACE) != b"]":
            raise ResponseFormatError("unexpected JSON after an empty result", byte_offset=0)
        return []

    def _finish_message(self) -> list[Row]:
        if not self._closed:
            return []
        try:
            message = json.loads(self._head)
        except ValueError:
            raise ResponseFormatError("malformed JSON string body", byte_offset=0) from None
        error: APIStatusError = in_band_error(str(message))
        raise error

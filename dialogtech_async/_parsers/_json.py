"""An incremental JSON parser for record lists, on the standard library's C scanner.

The body is decoded to text as it arrives (strict UTF-8), and records are parsed whole
by ``json``'s C scanner (``JSONDecoder.scan_once``, what ``raw_decode`` calls) once
their closing brace has arrived: the whole records of a chunk in one C call (see
``_batch_from``), else one call a record; 1.3-1.7 times the rows per second of an event
parser (``ijson.items``) building the same dicts. A record cut between chunks is parsed again
once more of it has come, but only when its text has doubled since the last try (or a
short one may have closed), so a record of N bytes costs O(N) however it is split.
Nothing but the records' text since the last whole record is held, up to
``BodyLimits.max_field_bytes``.
"""

from __future__ import annotations

import codecs
import functools
import json
import re
from collections.abc import Generator
from decimal import Decimal
from typing import Any, NoReturn

from .._exceptions import ResponseFormatError, in_band_error
from ._base import KeepsFaults, Row, keeping_faults
from ._limits import DEFAULT_LIMITS, BodyLimits

#: JSON's whitespace (RFC 8259 section 2): not form feed, not vertical tab.
_WS = re.compile(r"[ \t\n\r]*")
#: After a record: the comma and the space before the next one, or the array's end.
_AFTER = re.compile(r"[ \t\n\r]*(?:(,)[ \t\n\r]*|(\]))")
#: ``{ "key" :`` and the first character of the key's value.
_FIRST_MEMBER = re.compile(r'\{[ \t\n\r]*"((?:[^"\\]|\\.)*)"[ \t\n\r]*:[ \t\n\r]*(\S)', re.DOTALL)
_EMPTY_OBJECT = re.compile(r"\{[ \t\n\r]*\}")
#: The start of a surrogate escape in the bytes of a body (``JSONParser.feed``).
_SURROGATE_BYTES = re.compile(rb"\\u[dD]")
#: Where a lone surrogate escape may be: a high escape not right before a low one, a low
#: escape not right after a high one, or the letters "ud" after a backslash (that may be
#: an escaped backslash, making what follows text, not an escape). Found nowhere, there is
#: none; found, the records are looked at (``JSONParser._check_surrogates``).
_HIGH, _LOW = r"\\u[dD][89abAB][0-9a-fA-F]{2}", r"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_MAYBE_LONE_SURROGATE = re.compile(rf"{_HIGH}(?!{_LOW})|{_LOW}(?<!{_HIGH}{_LOW})|\\\\u[dD]")
#: What is left after the scanner stopped when the body was cut inside a token (a
#: literal, a number's sign, point or exponent, a \\u escape, the NaN and Infinity it
#: refuses whole): the cut, not a fault.
_CUT_TOKEN = re.compile(
    r"(?:t(?:r(?:u)?)?|f(?:a(?:l(?:s)?)?)?|n(?:u(?:l)?)?|-|[.eE][-+]?|u[0-9a-fA-F]{0,4}"
    r"|Na?|-?I(?:n(?:f(?:i(?:n(?:i(?:t)?)?)?)?)?)?)?\Z"
)
#: A record still this short is tried again whenever a closing brace arrives, so records
#: come out as soon as they close; a longer one only once its text has doubled.
_PROMPT = 4096
#: The keys of an API's error answer (``{"message": "Internal server error"}``), which
#: is not a record.
_ERROR_KEYS = frozenset(
    {"message", "error", "errors", "error_description", "detail", "details", "status"}
    | {"code", "status_code", "statusCode", "title", "type", "success", "timestamp", "path"}
)
_MESSAGE_KEYS = ("message", "error", "errors", "detail", "error_description")


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


#: Prices repeat from record to record: each made once (a Decimal is immutable, so shared).
_decimal = functools.lru_cache(maxsize=4096)(Decimal)

#: Numbers with a fraction or an exponent as Decimal (exact, as sent); NaN and Infinity
#: refused (Python's json accepts them; JSON does not).
_SCAN: Any = json.JSONDecoder(  # type: ignore[attr-defined]
    parse_float=_decimal, parse_constant=_refuse_constant
).scan_once

_Steps = Generator[int, None, None]
_NUMBERS = (int, Decimal)
#: Where the hot loop over an array's records stopped.
_CLOSED, _RECORD, _DELIMITER = object(), object(), object()


class JSONParser(KeepsFaults):
    """Push parser yielding the records of a JSON body, whatever shape the API chose.

    - a top-level array: its elements;
    - a top-level object whose first member is an array (``{"response": [...]}``): that
      array's elements;
    - any other top-level object: the object itself, as one record, unless it is an
      error answer (only keys such as ``message``, ``error``, ``status``), raised as
      the matching ``APIStatusError``;
    - a top-level string: an error message from the API, raised the same way;
    - with ``empty_marker=True``, a lone ``]`` (Infinity's empty result, ``\\n]\\n``):
      no records.

    Numbers with a fraction come out as ``Decimal``, never float. Only the record
    being read is held in memory.

    Args:
        prefix: where the records are, as a path of object keys ending in ``item``
            (``"item"``: the top-level array; ``"data.rows.item"``), or ``""`` for the
            whole document as one record; instead of guessing.
        limits: bounds on nesting depth and on the bytes of one record.
        empty_marker: accept a lone ``]`` as an empty result.

    Raises:
        ResponseFormatError: truncated or malformed JSON, invalid UTF-8, a number
            Python cannot hold, an unexpected top-level value, or a limit exceeded.
        APIStatusError: the body is a JSON string or an error object (in-band error).
    """

    def __init__(
        self,
        *,
        prefix: str | None = None,
        limits: BodyLimits = DEFAULT_LIMITS,
        empty_marker: bool = False,
    ) -> None:
        self._path = None if prefix is None else _path(prefix)
        self._limits = limits
        self._empty_marker = empty_marker
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._text = ""  # text not yet made into records, from byte ``_base`` of the body
        self._base = 0
        self._decoded = 0  # bytes of the body decoded to text (``_base`` and on: ``_text``)
        self._parts: list[str] = []  # text received since the last try
        self._waiting = 0  # its length
        self._received = 0  # bytes fed
        self._retry_at = 0  # the length ``_text`` and ``_parts`` must reach to try again
        self._rows: list[Row] = []
        # Whether a surrogate escape (``\\ud``) may be in the body: looked for in the
        # bytes of each chunk (fast), so that bodies without one skip the text search.
        self._surrogates = False
        self._last_bytes = b""  # the end of the last chunk: an escape may span two
        self._records = 0
        self._final = False
        self._closed = False
        self._batching = True  # see _batch_from
        self._steps = self._document()

    @keeping_faults
    def feed(self, data: bytes) -> list[Row]:
        """Consume a chunk of the body; return the records it completed."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        held = self._utf8.getstate()[0]
        try:
            text = self._utf8.decode(data)
        except UnicodeDecodeError as exc:
            return self._undecodable(held, data, exc)
        self._received += len(data)
        self._decoded += len(held) + len(data) - len(self._utf8.getstate()[0])
        if not self._surrogates:
            edge = self._last_bytes + data[:2]
            self._surrogates = any(
                b"\\" in part and _SURROGATE_BYTES.search(part) for part in (data, edge)
            )
            self._last_bytes = data[-2:] if len(data) >= 2 else (self._last_bytes + data)[-2:]
        return self._take(text, force=False)

    @keeping_faults
    def close(self) -> list[Row]:
        """Mark the end of the body; raise if it is incomplete."""
        if self._closed:
            return []
        self._closed = True
        self._final = True
        held = self._utf8.getstate()[0]
        try:
            text = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return self._undecodable(held, b"", exc)
        self._decoded += len(held)
        return self._take(text, force=True)

    # --- driving the steps ----------------------------------------------------------------

    def _take(self, text: str, *, force: bool) -> list[Row]:
        if text:
            self._parts.append(text)
            self._waiting += len(text)
        pending = len(self._text) + self._waiting
        too_long = self._received - self._base > self._limits.max_field_bytes
        if not (
            force or too_long or pending >= self._retry_at or (pending <= _PROMPT and "}" in text)
        ):
            return []
        rows = self._run()
        if self._fault is None and self._received - self._base > self._limits.max_field_bytes:
            error = ResponseFormatError(
                f"JSON record longer than max_field_bytes ({self._limits.max_field_bytes})",
                record_index=self._records,
                byte_offset=self._base,
            )
            self._keep_fault(error, rows_before=bool(rows))
        return rows

    def _run(self) -> list[Row]:
        """Run the steps over the text received; keep only what they still need."""
        if self._parts:
            parts = self._parts
            self._text = "".join([self._text, *parts]) if self._text else "".join(parts)
            parts.clear()
            self._waiting = 0
        try:
            keep = next(self._steps)
        except StopIteration:
            keep = len(self._text)
        except ResponseFormatError as error:
            self._keep_fault(error, rows_before=bool(self._rows))
            keep = 0
        except Exception as error:  # an in-band error (APIStatusError)
            error.__suppress_context__ = True
            self._fault = error
            raise
        if keep:
            text = self._text
            # An ASCII text (known without a scan) has a byte a character; else the
            # shorter side is encoded (most often the rest: a record cut by the chunk).
            if text.isascii():
                self._base += keep
            elif keep >= len(text) // 2:
                self._base = self._decoded - len(text[keep:].encode())
            else:
                self._base += len(text[:keep].encode())
            self._text = text[keep:]
        self._retry_at = 2 * len(self._text)
        rows = self._rows[:]
        self._rows.clear()
        self._records += len(rows)
        return rows

    def _undecodable(self, held: bytes, chunk: bytes, exc: UnicodeDecodeError) -> list[Row]:
        """The records before bytes that are not UTF-8 (``exc`` counts from the start of
        ``held``, the decoder's bytes of a character begun in the chunk before), then the
        error, unless the JSON broke before them."""
        offset = self._received - len(held) + exc.start
        self._received += len(chunk)
        self._utf8.reset()
        self._decoded += exc.start  # the text before the fault
        final, self._final = self._final, False  # what came before is judged as a prefix
        rows = self._take((held + chunk)[: exc.start].decode(), force=True)
        self._final = final
        if self._fault is None:
            error = ResponseFormatError(
                f"JSON body is not valid UTF-8: {exc.reason}",
                record_index=self._records,
                byte_offset=offset,
            )
            self._keep_fault(error, rows_before=bool(rows))
        return rows

    # --- the steps: a generator that yields where it needs more text ----------------------

    def _document(self) -> _Steps:
        pos = yield from self._skip(0)
        if self._text[pos] == "\ufeff":  # a UTF-8 byte order mark
            pos = yield from self._skip(pos + 1)
        path = self._path
        first = self._text[pos]
        if path is None:
            if first == "[":
                path = []
            elif first == "{":
                pos, path = yield from self._wrapper(pos)
            elif first == '"':
                message, _start, end = yield from self._value(pos)
                yield from self._end(end)
                raise in_band_error(str(message))
            elif first == "]" and self._empty_marker:
                yield from self._end(pos + 1)
                return
            else:
                raise self._error(f"JSON body starts with {first!r}, not an array or object", pos)
        if path is None:  # the whole document is one record
            record, start, end = yield from self._value(pos)
            if not isinstance(record, dict):
                raise self._error(f"JSON record is a {type(record).__name__}, not an object", start)
            _raise_error_answer(record)
            self._add(record, start, end, 0)
            yield from self._end(end)
            return
        pos = yield from self._descend(pos, path)
        yield from self._end(pos)

    def _wrapper(self, pos: int) -> Generator[int, None, tuple[int, list[str] | None]]:
        """At a top-level ``{``: the path of its array when its first member holds one."""
        while True:
            text = self._text
            match = _FIRST_MEMBER.match(text, pos) or _EMPTY_OBJECT.match(text, pos)
            if match is not None:
                break
            if self._final:
                return pos, None  # parsed as one record: that says what is wrong
            yield pos
            pos = 0
        if match.re is _EMPTY_OBJECT:
            return pos, [""]  # no records: any key's search finds the "}" at once
        if match.group(2) != "[":
            return pos, None
        try:
            key = json.loads(f'"{match.group(1)}"')
        except ValueError as exc:
            raise self._error(f"malformed JSON: bad object key ({exc})", pos) from None
        if key in _MESSAGE_KEYS:  # {"errors": [...], ...}: an error answer, not records
            return pos, None
        return pos, [key]

    def _descend(self, pos: int, path: list[str]) -> Generator[int, None, int]:
        """Read the value at ``pos``, yielding the records of the array at ``path``
        (object keys) in it; return where the value ends."""
        if not path:
            return (yield from self._items(pos, depth=1))
        text = self._text
        if text[pos] != "{":
            raise self._error(f"JSON: expected an object holding {path[0]!r}", pos)
        found = False
        pos = yield from self._skip(pos + 1)
        if self._text[pos] == "}":
            return pos + 1
        while True:
            key, start, pos = yield from self._value(pos)
            if not isinstance(key, str):
                raise self._error("malformed JSON: expecting an object key", start)
            pos = yield from self._expect(pos, ":")
            pos = yield from self._skip(pos)
            if key == path[0] and not found:
                found = True
                if len(path) == 1 and self._text[pos] == "{":  # {"response": {}}: empty
                    _value, _start, pos = yield from self._value(pos)
                else:
                    pos = yield from self._descend(pos, path[1:])
            else:
                _value, _start, pos = yield from self._value(pos)
            pos = yield from self._skip(pos)
            close = self._text[pos]
            if close == "}":
                return pos + 1
            if close != ",":
                raise self._error("malformed JSON: expecting ',' or '}'", pos)
            pos = yield from self._skip(pos + 1)

    def _items(self, pos: int, *, depth: int) -> Generator[int, None, int]:
        """The records of the array at ``pos``, its ``[`` at nesting ``depth``."""
        if self._text[pos] != "[":
            raise self._error("JSON: expected an array of records", pos)
        pos = yield from self._skip(pos + 1)
        if self._text[pos] == "]":
            return pos + 1
        while True:
            pos, state = self._records_from(pos, depth)
            if state is _CLOSED:
                return pos
            if state is _RECORD:  # cut (wait for the rest) or malformed (raise)
                record, start, pos = yield from self._value(pos, alone=True)
                self._add(record, start, pos, depth)
            pos = yield from self._skip(pos)
            text = self._text
            if text[pos] == "]":
                return pos + 1
            if text[pos] != ",":
                raise self._error("malformed JSON: expecting ',' or ']'", pos)
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]

    def _records_from(self, pos: int, depth: int) -> tuple[int, object]:
        """The hot loop: the whole records from ``pos`` on, one C call each.

        Returns where it stopped and what comes there: the array's end was passed
        (``_CLOSED``), a record not whole or malformed (``_RECORD``), or the text ends
        after a record (``_DELIMITER``).
        """
        text, rows, scan, after = self._text, self._rows, _SCAN, _AFTER.match
        first, begin = len(rows), pos
        # A record ends in "}": none after ``pos`` is a cut record, left to ``_value``
        # unscanned (a failed scan's error counts the lines of all the text before it).
        last = text.rfind("}")
        short = self._limits.max_field_bytes // 4  # not too long: 4 bytes a character at most
        state = _RECORD
        try:
            if self._batching:
                pos = self._batch_from(pos, short)
                if pos != begin:  # a whole batch was read, up to a record's "}"
                    match = after(text, pos)
                    if match is None:
                        return pos, _DELIMITER
                    pos = match.end()
                    if match.group(2):
                        return pos, _CLOSED
            while pos < last:
                try:
                    record, end = scan(text, pos)
                except (StopIteration, ValueError, ArithmeticError, RecursionError):
                    break
                if record.__class__ is not dict:
                    if _CUT_TOKEN.match(text, end):
                        break  # a number may go on in the next chunk: `_value` waits
                    raise self._error(
                        f"JSON record is a {type(record).__name__}, not an object", pos
                    )
                if end - pos > short:
                    self._check_size(pos, end)
                rows.append(record)
                match = after(text, end)
                if match is None:
                    pos, state = end, _DELIMITER
                    break
                pos = match.end()
                if match.group(2):
                    state = _CLOSED
                    break
        finally:  # the records before a fault were read: a fault among them comes first
            self._check_depth(begin, pos, first, depth)
            self._check_surrogates(begin, pos, first)
        return pos, state

    def _batch_from(self, pos: int, short: int) -> int:
        """Read the records from ``pos`` to the last ``}`` that has arrived in one C call,
        as the elements of an array, and return where they end; ``pos`` if they are not
        whole records (the last ``}`` was inside one, or one is malformed).

        JSON values delimit themselves, so text that parses as an array's elements is
        read the same way one element at a time. One call for a chunk's records, and
        their keys made once for all of them (the scanner's memo lasts one call): 0.7
        of the time of a call per record. A body whose records hold ``}`` in nested
        values or strings often fails the attempt: it is then not made again.
        """
        text = self._text
        cut = text.rfind("}", pos) + 1
        if cut <= pos or cut - pos > short:
            return pos
        try:
            records, end = _SCAN(f"[{text[pos:cut]}]", 0)
        except (StopIteration, ValueError, ArithmeticError, RecursionError):
            self._batching = False
            return pos
        if end != cut - pos + 2 or set(map(type, records)) != {dict}:
            self._batching = False
            return pos
        self._rows += records
        return cut

    def _add(self, record: Any, start: int, end: int, depth: int) -> None:
        """Check and keep one record read by ``_value``."""
        if record.__class__ is not dict:
            raise self._error(f"JSON record is a {type(record).__name__}, not an object", start)
        self._check_size(start, end)
        self._rows.append(record)
        self._check_depth(start, end, len(self._rows) - 1, depth)
        self._check_surrogates(start, end, len(self._rows) - 1)

    def _value(
        self, pos: int, *, alone: bool = False
    ) -> Generator[int, None, tuple[Any, int, int]]:
        """One whole JSON value from ``pos`` (after whitespace): (value, start, end).

        ``alone``: the value is the text's last (a record cut by the chunk's end, or a
        malformed one), scanned as a copy of its own: the scanner's error for a cut
        value counts the lines of all the text before it.
        """
        pos = yield from self._skip(pos)
        while True:
            text = self._text
            shift = pos if alone else 0
            try:
                value, end = _SCAN(text[pos:] if alone else text, pos - shift)
                end += shift
            except StopIteration as exc:
                stopped, reason = exc.value + shift, "expecting a value"
            except json.JSONDecodeError as exc:
                stopped, reason = exc.pos + shift, exc.msg
            except RecursionError:
                raise self._error(
                    f"JSON nested deeper than max_depth ({self._limits.max_depth})", pos
                ) from None
            except (ValueError, ArithmeticError) as exc:  # too many digits; Decimal overflow
                raise self._error(f"malformed JSON: bad number ({exc})", pos) from None
            else:
                cut = value.__class__ in _NUMBERS and _CUT_TOKEN.match(text, end)
                if self._final or not cut:
                    return value, pos, end
                stopped, reason = end, ""  # a number cut at the chunk's end goes on
            if self._final or not (
                reason.startswith("Unterminated string") or _CUT_TOKEN.match(text, stopped)
            ):
                raise self._error(f"malformed JSON: {reason}", stopped)
            yield pos
            pos = 0

    def _skip(self, pos: int) -> Generator[int, None, int]:
        """Where the next character that is not whitespace is, once it has arrived."""
        while True:
            text = self._text
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if pos < len(text):
                return pos
            if self._final:
                raise self._error("JSON body ends early", pos)
            yield pos
            pos = 0

    def _expect(self, pos: int, char: str) -> Generator[int, None, int]:
        pos = yield from self._skip(pos)
        if self._text[pos] != char:
            raise self._error(f"malformed JSON: expecting {char!r}", pos)
        return pos + 1

    def _end(self, pos: int) -> _Steps:
        """Nothing but whitespace may follow the document."""
        while True:
            text = self._text
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if pos < len(text):
                raise self._error("malformed JSON: data after the end of the document", pos)
            if self._final:
                return
            yield pos
            pos = 0

    # --- checks and errors -----------------------------------------------------------------

    def _check_size(self, start: int, end: int) -> None:
        limit = self._limits.max_field_bytes
        if end - start > limit // 4 and (size := len(self._text[start:end].encode())) > limit:
            raise self._error(f"JSON record of {size} bytes, over max_field_bytes ({limit})", start)

    def _check_depth(self, begin: int, end: int, first: int, depth: int) -> None:
        """Refuse the first record over ``max_depth`` among ``_rows[first:]``, read from
        ``_text[begin:end]``, dropping it and those after it.

        Looked for first: when the stretch holds no ``[`` and no ``{`` but the records'
        own, nothing is nested; only otherwise is each record walked.
        """
        rows, text = self._rows, self._text
        limit = self._limits.max_depth - depth
        if len(rows) == first or (
            limit >= 1
            and text.find("[", begin, end) < 0  # memchr: far cheaper than a count
            and not _occurs_more_than(text, "{", begin, end, len(rows) - first)
        ):
            return
        for index in range(first, len(rows)):
            if _depth(rows[index]) > limit:
                del rows[index:]
                raise ResponseFormatError(
                    f"JSON nested deeper than max_depth ({self._limits.max_depth})",
                    record_index=self._records + index,
                )

    def _check_surrogates(self, begin: int, end: int, first: int) -> None:
        """Refuse the first record among ``_rows[first:]`` holding a lone surrogate
        (``"\\ud800"``): JSON's grammar allows the escape, but UTF-8 cannot encode it, so
        no file, Arrow column or request could take the text. The records are looked at
        only when ``_text[begin:end]`` may hold one (``_MAYBE_LONE_SURROGATE``)."""
        if not self._surrogates or not _MAYBE_LONE_SURROGATE.search(self._text, begin, end):
            return  # none, or escaped pairs only (emoji): one character each
        rows = self._rows
        for index in range(first, len(rows)):
            try:  # a pair (an escaped emoji) is one character: it encodes
                json.dumps(rows[index], ensure_ascii=False, default=str).encode()
            except UnicodeEncodeError:
                del rows[index:]
                raise ResponseFormatError(
                    "JSON string holds a lone surrogate escape (not Unicode text)",
                    record_index=self._records + index,
                ) from None

    def _error(self, message: str, pos: int) -> ResponseFormatError:
        return ResponseFormatError(
            message,
            record_index=self._records + len(self._rows),
            byte_offset=self._base + len(self._text[:pos].encode()),
        )


def _path(prefix: str) -> list[str] | None:
    """ijson's prefix syntax: ``"data.rows.item"`` -> ``["data", "rows"]``; ``""`` -> None."""
    if prefix == "":
        return None
    keys = prefix.split(".")
    if keys[-1] != "item":
        raise ValueError(f"prefix must end in 'item' (the array's elements), not {prefix!r}")
    return keys[:-1]


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (without recursion)."""
    depth, level = 0, [value]
    while level:
        depth += 1
        inner: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            inner.extend(child for child in children if isinstance(child, (dict, list)))
        level = inner
    return depth


def _occurs_more_than(text: str, char: str, begin: int, end: int, count: int) -> bool:
    """Whether ``char`` is in ``text[begin:end]`` more than ``count`` times: at most
    ``count + 1`` hops of ``str.find`` (memchr), 2.5 times faster than ``str.count`` (a
    plain loop) over a chunk of records."""
    at = begin - 1
    for _ in range(count + 1):
        at = text.find(char, at + 1, end)
        if at < 0:
            return False
    return True


def _raise_error_answer(record: Row) -> None:
    """Raise the API's error when a lone top-level object is an error answer."""
    if record and record.keys() <= _ERROR_KEYS:
        for key in _MESSAGE_KEYS:
            if key in record:
                raise in_band_error(str(record[key]))

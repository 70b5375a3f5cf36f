"""What every parser is: an object fed bytes that returns the rows completed so far."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from .._exceptions import DialogTechError

T = TypeVar("T")

#: A raw row: the API's own keys mapped to the text (CSV, XML) or JSON value found.
Row = dict[str, Any]


class Parser(Protocol):
    """The push-parser protocol shared by CSV, XML and JSON.

    ``feed`` may be called any number of times with chunks split anywhere; ``close``
    marks the end of input. The rows returned by all calls, concatenated, do not depend
    on where the chunks were split.
    """

    def feed(self, data: bytes) -> list[Row]:
        """Consume ``data``; return the rows it completed (possibly none)."""
        ...

    def close(self) -> list[Row]:
        """Mark the end of input; return the last rows, or raise if the body is incomplete."""
        ...


class Decoder(Protocol[T]):
    """Bytes in, items out: a parser (raw rows), or a parser and a converter (records)."""

    def feed(self, data: bytes) -> list[T]:
        """Consume ``data``; return the items it completed (possibly none)."""
        ...

    def close(self) -> list[T]:
        """Mark the end of input; return the last items, or raise if it is incomplete."""
        ...


class KeepsFaults:
    """The rule every parser follows on a malformed body.

    The rows completed before the fault are returned first; the fault is raised by the
    call that has none left to return, and again by every later call.
    """

    _fault: Exception | None = None

    def _keep_fault(self, error: Exception, *, rows_before: bool) -> None:
        """Keep ``error`` for later calls; raise it now unless rows come before it."""
        error.__suppress_context__ = True  # the parser's own error says what went wrong
        self._fault = error
        if not rows_before:
            raise error


F = TypeVar("F", bound=Callable[..., list[Any]])


def keeping_faults(method: F) -> F:
    """For ``feed``/``close``: raise a kept fault again; keep any error the call raises."""

    @functools.wraps(method)
    def call(self: KeepsFaults, *args: Any) -> list[Any]:
        if self._fault is not None:
            raise self._fault
        try:
            return method(self, *args)
        except DialogTechError as error:
            self._fault = error
            raise

    return cast(F, call)

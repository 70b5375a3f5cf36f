"""What every parser is: an object fed bytes that returns the rows completed so far."""

from __future__ import annotations

from typing import Any, Protocol

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

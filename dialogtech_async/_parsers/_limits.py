"""``BodyLimits``: how much of a response body one step may hold or produce."""

from __future__ import annotations

from typing import Any

import attrs

from .._exceptions import ValidationError

#: Deeper than any record the APIs send (they are flat, or hold one level of tags), far
#: below the interpreter's recursion limit (1,000) that the JSON scanner recurses into.
DEFAULT_MAX_DEPTH = 64
#: Far longer than any value the APIs send (a landing page URL, a page title), short
#: enough that holding and rescanning it stays cheap: a few MB.
DEFAULT_MAX_FIELD_BYTES = 4 * 1024 * 1024
#: zlib inflates report rows about 295:1: a 64 KB read would be 19 MB at once. Handed to
#: the parser in pieces of at most this, a compressed body costs no more memory than an
#: identity one.
DEFAULT_MAX_INFLATE_BYTES = 1024 * 1024


def _positive(_instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"{attribute.name} must be a positive int, not {value!r}", parameter=attribute.name
        )


@attrs.define(frozen=True, slots=True)
class BodyLimits:
    """Bounds on what one response body may make the parsers hold or do.

    Past any of them, reading ends in ``ResponseFormatError`` naming the limit, so a
    broken or hostile server costs at most this much memory and linear time.

    Args:
        max_depth: the deepest nesting of JSON arrays and objects, or of XML elements.
        max_field_bytes: the most bytes held while waiting for the end of one CSV record,
            one XML text node, comment or tag, or one JSON record.
        max_inflate_bytes: the most bytes a compressed body (``Content-Encoding``) is
            inflated to in one step before the parser sees them.
    """

    max_depth: int = attrs.field(default=DEFAULT_MAX_DEPTH, validator=_positive)
    max_field_bytes: int = attrs.field(default=DEFAULT_MAX_FIELD_BYTES, validator=_positive)
    max_inflate_bytes: int = attrs.field(default=DEFAULT_MAX_INFLATE_BYTES, validator=_positive)


#: What every parser and session uses unless given others.
DEFAULT_LIMITS = BodyLimits()

"""Linear time on hostile shapes: 1, 4 and 16 MB of one long token a parser must hold (a
quoted CSV field of line breaks, an XML text node or comment, a JSON string) or of nesting
it must refuse, fed in 64 KiB chunks; the field limit raised so the whole token is parsed.
The ratios 4 MB / 1 MB and 16 MB / 1 MB should be near 4 and 16 (below, if refused early)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from _measure import CHUNK

import dialogtech_async as dta
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser

LIMITS = dta.BodyLimits(max_field_bytes=64 << 20)
SHAPES: dict[str, tuple[Callable[..., Any], Callable[[int], bytes]]] = {
    "csv newlines in quotes": (CSVParser, lambda n: b'"a"\n"' + b"\n" * n + b'"\n'),
    "xml text node": (
        XMLParser,
        lambda n: b"<data><record><a>" + b"x" * n + b"</a></record></data>",
    ),
    "xml comment": (
        XMLParser,
        lambda n: b"<data><record><a>1</a></record><!--" + b"x" * n + b"--></data>",
    ),
    "json string": (JSONParser, lambda n: b'[{"a": "' + b"x" * n + b'"}]'),
    "json nesting (refused)": (JSONParser, lambda n: b"[" * n),
}


def seconds(make: Callable[..., Any], body: bytes) -> float:
    parser, start = make(limits=LIMITS), time.perf_counter()
    try:
        for at in range(0, len(body), CHUNK):
            parser.feed(body[at : at + CHUNK])
        parser.close()
    except dta.ResponseFormatError:
        pass
    return time.perf_counter() - start


def main(quick: bool) -> dict[str, list[float]]:
    sizes, found = (1, 4) if quick else (1, 4, 16), {}
    print(f"{'shape':<24} " + " ".join(f"{s:>3} MB / 1 MB" for s in sizes[1:]))
    for name, (make, body) in SHAPES.items():
        one, *more = [min(seconds(make, body(s << 20)) for _ in range(2)) for s in sizes]
        found[name] = [round(t / one, 1) for t in more]
        print(f"{name:<24} " + " ".join(f"{r:>12.1f}" for r in found[name]))
    return found

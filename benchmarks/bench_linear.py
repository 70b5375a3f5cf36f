"""Linear time on hostile shapes: 1, 4 and 16 MB of each, fed in 64 KB chunks.

Each shape is one long token a parser must hold (a quoted CSV field of line breaks, an
XML text node or comment, a JSON string) or deep nesting it must refuse. The limit on
one field is raised to 64 MiB so the whole token is parsed. Time should grow about
linearly: the ratios 4 MB / 1 MB and 16 MB / 1 MB near 4 and 16 (or below, for what is
refused early). Public API only.

    python benchmarks/bench_linear.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import dialogtech_async as dta
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser

LIMITS = dta.BodyLimits(max_field_bytes=64 << 20)
MB = 1 << 20
CHUNK = 64 * 1024

SHAPES: dict[str, tuple[Callable[[], Any], Callable[[int], bytes]]] = {
    "csv newlines in quotes": (
        lambda: CSVParser(limits=LIMITS),
        lambda n: b'"a"\n"' + b"\n" * n + b'"\n',
    ),
    "xml text node": (
        lambda: XMLParser(limits=LIMITS),
        lambda n: b"<data><record><a>" + b"x" * n + b"</a></record></data>",
    ),
    "xml comment": (
        lambda: XMLParser(limits=LIMITS),
        lambda n: b"<data><record><a>1</a></record><!--" + b"x" * n + b"--></data>",
    ),
    "json string": (
        lambda: JSONParser(limits=LIMITS),
        lambda n: b'[{"a": "' + b"x" * n + b'"}]',
    ),
    "json nesting (refused)": (lambda: JSONParser(limits=LIMITS), lambda n: b"[" * n),
}


def run(make: Callable[[], Any], body: bytes) -> float:
    parser = make()
    start = time.perf_counter()
    try:
        for at in range(0, len(body), CHUNK):
            parser.feed(body[at : at + CHUNK])
        parser.close()
    except dta.ResponseFormatError:
        pass
    return time.perf_counter() - start


def main() -> None:
    print(f"{'shape':<24} {'1 MB':>8} {'4 MB':>8} {'16 MB':>8}   4/1   16/1")
    for name, (make, body) in SHAPES.items():
        times = [min(run(make, body(size * MB)) for _ in range(3)) for size in (1, 4, 16)]
        one, four, sixteen = times
        print(
            f"{name:<24} {one:8.4f} {four:8.4f} {sixteen:8.4f}"
            f"  {four / one:5.1f}  {sixteen / one:5.1f}"
        )


if __name__ == "__main__":
    main()

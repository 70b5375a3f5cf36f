"""Coverage-guided fuzzing of the sans-I/O parsers with atheris (optional, not run in CI).

The hypothesis tests in tests/reliability/test_fuzz.py run in CI; this target is for long
local runs that let libFuzzer find inputs by coverage::

    pip install atheris                # needs a clang-built CPython wheel for your platform
    python fuzz/atheris_parsers.py -max_total_time=600 -rss_limit_mb=512 fuzz/corpus

Each input picks a parser (or the Content-Encoding decoder before the JSON one), a
chunk size and a body. The parser must return rows or raise
its documented error (see docs/reliability.md); anything else, a hang (``-timeout``) or a
memory blow-up (``-rss_limit_mb``) is a finding. Seed the corpus with tests/fixtures/*.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import dialogtech_async as dta
    from dialogtech_async._decompress import ContentDecoder
    from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser


class GzipJSON:
    """JSONParser behind the decoder of a ``gzip, deflate`` body, pieces of 4 KB."""

    def __init__(self) -> None:
        self._decoder = ContentDecoder("deflate, gzip", max_piece=4096)
        self._parser = JSONParser()

    def feed(self, data: bytes) -> list[dict[str, object]]:
        return [row for piece in self._decoder.feed(data) for row in self._parser.feed(piece)]

    def close(self) -> list[dict[str, object]]:
        rows = [row for piece in self._decoder.close() for row in self._parser.feed(piece)]
        return rows + self._parser.close()


PARSERS = (CSVParser, XMLParser, JSONParser, GzipJSON)
ALLOWED: dict[type, tuple[type[Exception], ...]] = {
    CSVParser: (dta.ResponseFormatError,),
    XMLParser: (dta.ResponseFormatError,),  # UnsafeXMLError included
    JSONParser: (dta.ResponseFormatError, dta.APIStatusError),  # a JSON string body
    GzipJSON: (dta.ResponseFormatError, dta.APIStatusError),
}


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    kind = PARSERS[provider.ConsumeIntInRange(0, len(PARSERS) - 1)]
    chunk = provider.ConsumeIntInRange(1, 4096)
    body = provider.ConsumeBytes(provider.remaining_bytes())
    parser = kind()
    try:
        for start in range(0, len(body), chunk):
            rows = parser.feed(body[start : start + chunk])
            assert all(isinstance(row, dict) for row in rows)
        rows = parser.close()
        assert all(isinstance(row, dict) for row in rows)
    except ALLOWED[kind]:
        pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

"""ContentDecoder: Content-Encoding undone in bounded pieces, every gzip member read,
malformed bodies typed; decoded_body over a mock transport."""

from __future__ import annotations

import gzip
import importlib.util
import sys
import tracemalloc
import types
import zlib
from collections.abc import Iterable
from typing import Any

import brotli
import httpx
import pytest

import dialogtech_async as dta
from dialogtech_async._decompress import ContentDecoder, decoded_body

BODY = b"".join(b'"%d","row %d","x"\r\n' % (i, i) for i in range(50_000))  # about 1 MB
LIMIT = 64 * 1024


def _decode(encoding: str | None, chunks: Iterable[bytes], limit: int = LIMIT) -> list[bytes]:
    decoder = ContentDecoder(encoding, max_piece=limit)
    pieces = [piece for chunk in chunks for piece in decoder.feed(chunk)]
    return pieces + list(decoder.close())


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODED = {
    "gzip": gzip.compress(BODY),
    "x-gzip": gzip.compress(BODY),
    "deflate": zlib.compress(BODY),
    "gzip, gzip": gzip.compress(gzip.compress(BODY)),
    "deflate, gzip": gzip.compress(zlib.compress(BODY)),
    "br": brotli.compress(BODY),
    "br, gzip": gzip.compress(brotli.compress(BODY)),
    "identity": BODY,
    "": BODY,
}


@pytest.mark.parametrize("encoding", list(ENCODED))
@pytest.mark.parametrize("size", [4096, 1 << 20])
def test_decoded_in_pieces_no_larger_than_the_limit(encoding: str, size: int) -> None:
    pieces = _decode(encoding, _chunks(ENCODED[encoding], size))
    assert b"".join(pieces) == BODY
    largest = size if encoding in ("", "identity") else LIMIT  # identity: chunks as they are
    assert max(map(len, pieces)) <= largest


def test_byte_by_byte_gives_the_same_bytes() -> None:
    body = BODY[:20_000]
    for encoding, data in [("gzip", gzip.compress(body)), ("deflate", _raw_deflate(body))]:
        assert b"".join(_decode(encoding, _chunks(data, 1))) == body


def test_raw_deflate_is_read_too() -> None:
    assert b"".join(_decode("deflate", [_raw_deflate(BODY)])) == BODY


def test_every_gzip_member_is_read() -> None:
    # Two members (RFC 1952 allows it): httpx's decoder stopped after the first.
    first, second = BODY[: len(BODY) // 3], BODY[len(BODY) // 3 :]
    data = gzip.compress(first) + gzip.compress(second)
    for size in (7, 4096, len(data)):
        assert b"".join(_decode("gzip", _chunks(data, size))) == BODY


def test_a_bomb_is_handed_out_in_bounded_pieces() -> None:
    bomb = gzip.compress(gzip.compress(b"\n" * (64 << 20)))  # 64 MiB in a few KB, twice
    assert len(bomb) < 10_000
    decoder = ContentDecoder("gzip, gzip", max_piece=LIMIT)
    total = 0
    for piece in decoder.feed(bomb):
        assert len(piece) <= LIMIT
        total += len(piece)
    assert total == 64 << 20


def test_a_br_bomb_is_inflated_in_bounded_memory() -> None:
    # 256 MiB in some 400 bytes: without an output bound, brotli made 40 MB at once from
    # 64 bytes of input.
    bomb = brotli.compress(b"\n" * (256 << 20))
    assert len(bomb) < 1000
    for size in (1, 100, len(bomb)):
        decoder = ContentDecoder("br", max_piece=LIMIT)
        total = 0
        tracemalloc.start()
        try:
            for chunk in _chunks(bomb, size):
                for piece in decoder.feed(chunk):
                    assert len(piece) <= LIMIT
                    total += len(piece)
            total += sum(map(len, decoder.close()))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert total == 256 << 20
        assert peak < 1 << 20


class _Brotlipy:
    """brotlipy's Decompressor (it installs a module "brotli" too): no process()."""

    def decompress(self, data: bytes) -> bytes:
        return data


class _OldBrotli:
    """brotli before 1.2: process() takes no output bound."""

    def process(self, data: bytes) -> bytes:
        return data


@pytest.mark.parametrize("decompressor", [_Brotlipy, _OldBrotli])
def test_a_brotli_that_cannot_bound_its_output_is_not_used(
    monkeypatch: pytest.MonkeyPatch, decompressor: Any
) -> None:
    # The package still imports, and br is neither asked for nor read.
    fake = types.ModuleType("brotli")
    fake.Decompressor = decompressor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "brotli", fake)
    spec = importlib.util.find_spec("dialogtech_async._decompress")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)  # a fresh copy: the real one stays
    spec.loader.exec_module(module)
    assert module.ACCEPT_ENCODING == "gzip, deflate"
    with pytest.raises(dta.ResponseFormatError, match="'br' is not supported"):
        module.ContentDecoder("br", max_piece=LIMIT)


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", b"plain text, not gzip"),
        ("gzip", gzip.compress(BODY)[:-100]),  # truncated
        ("gzip", gzip.compress(BODY)[:5000] + b"\x00" * 100 + gzip.compress(BODY)[5100:]),
        ("gzip", gzip.compress(BODY) + b"trailing garbage"),
        ("deflate", b"\x78\x9c not deflate"),
        ("deflate", zlib.compress(BODY) + b"more"),
        ("deflate", b"x"),  # one byte: not even a header
        ("gzip, gzip", gzip.compress(BODY)),  # only one layer
        ("br", b"plain text, not br"),
        ("br", brotli.compress(BODY)[:-20]),  # truncated
        ("br", brotli.compress(BODY) + b"trailing garbage"),
        ("compress", BODY),
        ("gzip, gzip, gzip, gzip, gzip", BODY),
    ],
)
def test_malformed_or_unsupported_is_a_format_error(encoding: str, data: bytes) -> None:
    with pytest.raises(dta.ResponseFormatError) as info:
        _decode(encoding, _chunks(data, 4096))
    assert info.value.__cause__ is None


async def test_decoded_body_reads_the_raw_stream() -> None:
    data = gzip.compress(BODY[: len(BODY) // 2]) + gzip.compress(BODY[len(BODY) // 2 :])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(data)
        )

    limits = dta.BodyLimits(max_inflate_bytes=LIMIT)
    transport = httpx.MockTransport(handler)
    async with (
        httpx.AsyncClient(transport=transport) as client,
        client.stream("GET", "http://test/") as response,
    ):
        pieces = [piece async for piece in decoded_body(response, limits)]
    assert b"".join(pieces) == BODY
    assert max(map(len, pieces)) <= LIMIT


async def test_decoded_body_refuses_gzip_that_is_plain_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"oops")
        )

    transport = httpx.MockTransport(handler)
    async with (
        httpx.AsyncClient(transport=transport) as client,
        client.stream("GET", "http://test/") as response,
    ):
        with pytest.raises(dta.ResponseFormatError, match="gzip"):
            _ = [piece async for piece in decoded_body(response)]

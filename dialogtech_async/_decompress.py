"""Content-Encoding, decoded here in bounded pieces (sans-I/O), and its one async adapter.

httpx's own decoders inflate a whole network chunk at once: zlib turns report rows
about 295:1, so one 64 KB read became 19 MB, ``gzip, gzip`` a raw ``MemoryError``, and a
corrupt body a raw ``httpx.DecodingError``; its gzip decoder also stopped at the first
member (RFC 1952 section 2.2 allows several), ending a report early and "complete".
``ContentDecoder`` hands out at most ``max_piece`` bytes at a time, reads every member,
and says what is wrong with a ``ResponseFormatError``.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio.lowlevel
import httpx

from ._exceptions import ResponseFormatError
from ._parsers import DEFAULT_LIMITS, BodyLimits

_brotli: Any
try:  # br is read with brotli 1.2 or later, whose output can be bounded
    _brotli = importlib.import_module("brotli")  # untyped, and often absent
    _brotli.Decompressor().process(b"", output_buffer_limit=1)
except (ImportError, TypeError, AttributeError):  # pragma: no cover - the environment's
    # None; or one that may inflate a few bytes to any size at once: before 1.2, or
    # brotlipy's module of the same name (no process()), which must not stop the import.
    _brotli = None

#: More encodings stacked than any server applies (one is usual, two seen in the wild).
MAX_LAYERS = 4
#: What the session asks for: what ``ContentDecoder`` reads (httpx would also offer zstd
#: when ``zstandard`` is installed, which is not read here).
ACCEPT_ENCODING = "gzip, deflate" + (", br" if _brotli is not None else "")
_GZIP, _ZLIB, _RAW_DEFLATE = 16 + zlib.MAX_WBITS, zlib.MAX_WBITS, -zlib.MAX_WBITS


class _Inflate:
    """One gzip or deflate layer: input in any pieces, output at most ``limit`` a piece."""

    def __init__(self, name: str, limit: int) -> None:
        self._name = name
        self._limit = limit
        self._inflater: Any = None
        self._head = b""  # deflate: the first bytes, until the wrapper is known
        self.offset = 0  # bytes of this layer's input seen

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            data = self._start(data)
            if self._inflater is None:
                return
        while data or not self._inflater.eof:
            if self._inflater.eof:  # another gzip member follows (RFC 1952 section 2.2)
                if self._name != "gzip":
                    raise self._error("data after the end of the deflate stream")
                self._inflater = zlib.decompressobj(_GZIP)
            try:
                piece = self._inflater.decompress(data, self._limit)
            except zlib.error as exc:
                raise self._error(str(exc)) from None
            consumed = len(data) - len(self._inflater.unconsumed_tail)
            if self._inflater.eof:
                consumed -= len(self._inflater.unused_data)
                data = self._inflater.unused_data
            else:
                data = self._inflater.unconsumed_tail
            self.offset += consumed
            if piece:
                yield piece
            elif not data:
                return  # all input taken, no output pending

    def close(self) -> Iterator[bytes]:
        if self._head:  # a body of one byte: too short for a zlib header, raw then
            head, self._head = self._head, b""
            self._inflater = zlib.decompressobj(_RAW_DEFLATE)
            yield from self.feed(head)
        if self._inflater is not None and not self._inflater.eof:
            raise self._error("the compressed body ends early")

    def _start(self, data: bytes) -> bytes:
        if self._name == "gzip":
            self._inflater = zlib.decompressobj(_GZIP)
            return data
        # "deflate" is the zlib format (RFC 9110 section 8.4.1.2), but servers send raw
        # deflate too: the zlib header is two bytes, method 8, a multiple of 31.
        data = self._head + data
        if len(data) < 2:
            self._head = data
            return b""
        self._head = b""
        wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        self._inflater = zlib.decompressobj(_ZLIB if wrapped else _RAW_DEFLATE)
        return data

    def _error(self, reason: str) -> ResponseFormatError:
        return ResponseFormatError(
            f"malformed {self._name}-encoded body: {reason}", byte_offset=self.offset
        )


class _Brotli:
    """One br layer (with ``brotli`` 1.2 or later), its output bounded the same way."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._decompressor = _brotli.Decompressor()
        self.offset = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        # Once a call's output reaches the limit, the decompressor holds the rest and
        # hands it out on calls with no input, until one gives nothing.
        process = self._decompressor.process
        try:
            piece = process(data, output_buffer_limit=self._limit)
            while piece:
                for start in range(0, len(piece), self._limit):  # the bound is a floor
                    yield piece[start : start + self._limit]
                piece = process(b"", output_buffer_limit=self._limit)
        except _brotli.error as exc:
            raise ResponseFormatError(
                f"malformed br-encoded body: {exc}", byte_offset=self.offset
            ) from None
        self.offset += len(data)

    def close(self) -> Iterator[bytes]:
        if not self._decompressor.is_finished():
            raise ResponseFormatError(
                "malformed br-encoded body: the compressed body ends early",
                byte_offset=self.offset,
            )
        return iter(())


class ContentDecoder:
    """Undo a response's ``Content-Encoding``; bytes in, pieces of at most ``max_piece``
    bytes out (an identity body's chunks pass as they are).

    Args:
        content_encoding: the header's value (``"gzip"``, ``"gzip, gzip"``, None).
        max_piece: the most bytes one piece of output holds.

    Raises:
        ResponseFormatError: an unknown or unsupported encoding, too many stacked, or a
            malformed or truncated compressed body.
    """

    def __init__(self, content_encoding: str | None, *, max_piece: int) -> None:
        names = [
            name.strip().lower() for name in (content_encoding or "").split(",") if name.strip()
        ]
        names = [name for name in names if name != "identity"]
        if len(names) > MAX_LAYERS:
            raise ResponseFormatError(
                f"Content-Encoding stacks {len(names)} encodings, more than {MAX_LAYERS}"
            )
        # Applied in the order listed (RFC 9110 section 8.4): undone from the last.
        self._layers = [_layer(name, max_piece) for name in reversed(names)]

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data``, the next bytes of the body."""
        return self._through(0, data)

    def close(self) -> Iterator[bytes]:
        """The last pieces, at the body's end; raises if a compressed layer is cut."""
        for index, layer in enumerate(self._layers):
            for piece in layer.close():
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            if data:
                yield data
            return
        for piece in self._layers[index].feed(data):
            yield from self._through(index + 1, piece)


def _layer(name: str, limit: int) -> _Inflate | _Brotli:
    if name in ("gzip", "x-gzip"):
        return _Inflate("gzip", limit)
    if name == "deflate":
        return _Inflate("deflate", limit)
    if name == "br" and _brotli is not None:
        return _Brotli(limit)
    raise ResponseFormatError(f"Content-Encoding {name!r} is not supported")


def decoded_body(response: httpx.Response, limits: BodyLimits = DEFAULT_LIMITS) -> DecodedBody:
    """The response's body, its Content-Encoding undone in pieces of at most
    ``limits.max_inflate_bytes``: what ``response.aiter_bytes()`` gives, bounded.
    Its ``received`` counts the body's bytes as sent, before decoding.

    Raises (while iterated):
        ResponseFormatError: a malformed, truncated or unsupported encoding.
        httpx.TransportError: as ``aiter_raw()`` does (the connection broke).
    """
    return DecodedBody(response, limits.max_inflate_bytes)


class DecodedBody:
    """``decoded_body``'s iterator: a plain object, not an async generator, so that one
    left unfinished when its response is closed needs no finalizer (trio warns)."""

    def __init__(self, response: httpx.Response, max_piece: int) -> None:
        self._pending: Iterator[bytes] = iter(())
        self._inflating = False  # a piece of the current network chunk was handed out
        #: Body bytes as sent (compressed, if it is) so far: what Content-Length counts.
        #: A body httpx had read already counts as its pieces are handed out.
        self.received = 0
        try:
            content = response.content  # read already (a mock transport's): decoded
        except httpx.ResponseNotRead:
            encoding = response.headers.get("Content-Encoding")
            self._decoder = ContentDecoder(encoding, max_piece=max_piece)
            self._raw: AsyncIterator[bytes] | None = response.aiter_raw()
            self._read_already = False
        else:
            self._read_already = True
            self._decoder = ContentDecoder(None, max_piece=max_piece)
            self._raw = None
            pieces = range(0, len(content), max_piece)
            self._pending = (content[start : start + max_piece] for start in pieces)

    def __aiter__(self) -> DecodedBody:
        return self

    async def __anext__(self) -> bytes:
        while True:
            piece = next(self._pending, None)
            if piece is not None:
                if self._inflating:  # not the first piece of a network chunk
                    await anyio.lowlevel.checkpoint()  # others run while a bomb inflates
                self._inflating = True
                if self._read_already:
                    self.received += len(piece)
                return piece
            if self._raw is None:
                raise StopAsyncIteration
            self._inflating = False
            try:
                chunk = await self._raw.__anext__()
            except StopAsyncIteration:
                self._raw = None
                self._pending = self._decoder.close()
                continue
            self.received += len(chunk)
            self._pending = self._decoder.feed(chunk)

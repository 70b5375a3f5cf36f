"""Records out: ``asdict``, and files of JSON Lines, CSV or Parquet written a batch at a time.

JSON is written by msgspec, a batch of records per call: each record becomes a
``msgspec.Struct`` of its fields in order (in C, by ``starmap``), which msgspec encodes
without a Python call per value. Values are JSON-safe as ``asdict`` gives them: times
in RFC 3339 (a zero UTC offset written ``Z``), decimals as strings, enums as their value,
mapping fields as objects.

A file is written under a temporary name beside its final one and renamed into place
when complete, so an existing file is never truncated before the new one is whole;
``abort()`` keeps what was written under a name of its own (``report.partial.jsonl``).
"""

from __future__ import annotations

import csv
import io
import itertools
import operator
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import attrs
import msgspec

from ._exceptions import ValidationError
from ._records import _EMPTY

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FORMATS", "Output", "asdict", "check_target", "keep_partial", "open_output"]

#: Output formats by file suffix.
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
FORMATS[".parquet"] = "parquet"


def _plain_mapping(value: Any) -> Any:
    """msgspec's hook for what it does not know: the records' read-only mappings."""
    if value is _EMPTY:  # most records' ``extra``: no dict() through the Mapping ABC
        return _NO_ITEMS
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


_NO_ITEMS: dict[str, Any] = {}  # only read by the encoder


_ENCODER = msgspec.json.Encoder(enc_hook=_plain_mapping)


@attrs.frozen
class _Codec:
    """How one record type's records become msgspec values, fields in their order."""

    names: tuple[str, ...]
    get: Any  # attrgetter of every field, in order: record -> tuple
    as_object: type[msgspec.Struct]  # encodes as {"field": value, ...}
    as_array: type[msgspec.Struct]  # encodes as [value, ...]
    #: Positions of the mapping fields (JSON text in a CSV cell).
    mappings: tuple[int, ...]


_codecs: dict[type, _Codec] = {}


def _codec(record_type: type) -> _Codec:
    found = _codecs.get(record_type)
    if found is None:
        found = _codecs[record_type] = _make_codec(record_type)
    return found


def _make_codec(record_type: type) -> _Codec:
    fields = attrs.fields(record_type)
    names = tuple(field.name for field in fields)
    spec = [(name, Any) for name in names]
    mappings = tuple(i for i, f in enumerate(fields) if isinstance(f.default, Mapping))
    getter = operator.attrgetter(*names) if len(names) > 1 else (lambda r: (getattr(r, names[0]),))
    return _Codec(
        names,
        getter,
        # gc=False: made by the thousand and dropped at once, they hold no cycles.
        msgspec.defstruct(record_type.__name__, spec, gc=False),
        msgspec.defstruct(record_type.__name__ + "Row", spec, array_like=True, gc=False),
        mappings,
    )


def _structs(records: list[Any], kind: str) -> list[Any]:
    codec = _codec(type(records[0]))
    struct = codec.as_object if kind == "object" else codec.as_array
    return list(itertools.starmap(struct, map(codec.get, records)))


def asdict(record: Any) -> dict[str, Any]:
    """A record as a JSON-safe dict, fields in order: what the JSON Lines output holds.

    Datetimes become RFC 3339 text (``2024-01-01T10:00:00-05:00``; a zero UTC offset
    is written ``Z``), ``Decimal`` a string (``"7.25"``, exact), enums their value, mapping
    fields (``extra``, tags) plain dicts with the same rules inside (lists too).

    Args:
        record: a record of this library (an attrs instance, e.g. ``ClickToRecord``).
    """
    if not attrs.has(type(record)):
        raise TypeError(f"asdict() takes a record, not {type(record).__name__}")
    result: dict[str, Any] = msgspec.to_builtins(
        _structs([record], "object")[0], enc_hook=_plain_mapping
    )
    return result


def encode_lines(records: list[Any]) -> bytes:
    """``records`` (all of one type) as JSON Lines, in one call."""
    return _ENCODER.encode_lines(_structs(records, "object")) if records else b""


def create_beside(path: Path) -> tuple[BinaryIO, Path]:
    """A new file for writing beside ``path`` (hidden, unique), and its name. Its mode
    is the one a plain ``open()`` gives (the umask's), not ``mkstemp``'s 0600, since it
    becomes ``path``."""
    for _ in range(100):
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return os.fdopen(descriptor, "wb"), temp
    raise FileExistsError(f"no free temporary name beside {path}")


def check_target(path: Path, name: str) -> None:
    """Refuse a file name that cannot be written (before anything is pulled).

    Raises:
        ValidationError: ``path`` is a directory, or its directory does not exist.
    """
    if not path.parent.is_dir():
        raise ValidationError(f"{name}: no directory {str(path.parent)!r}", parameter=name)
    if path.is_dir():
        raise ValidationError(f"{name}: {str(path)!r} is a directory", parameter=name)


def keep_partial(temp: Path, path: Path) -> Path:
    """Move ``temp``, an interrupted write of ``path``, to ``report.partial.jsonl`` beside
    it and return that name; ``report.partial-2.jsonl`` (and on) when an earlier run's
    partial file is there, which is never replaced (it may hold other days)."""
    for number in itertools.count(1):
        tag = "" if number == 1 else f"-{number}"
        kept = path.with_name(f"{path.stem}.partial{tag}{path.suffix}")
        if not kept.exists():
            os.replace(temp, kept)
            return kept
    raise AssertionError("unreachable")  # pragma: no cover


class Output(ABC):
    """Where the command line's records go: a file, written whole or kept as a partial,
    or standard output. Records come a batch at a time (``write``), Arrow batches to
    Parquet (``write_batch``)."""

    #: True when ``write_batch`` takes Arrow batches instead of records.
    arrow = False

    def __init__(
        self, path: Path | None, record_type: type, stream: BinaryIO | None = None
    ) -> None:
        #: The file written, or None for standard output.
        self.path = path
        #: The records' type: the columns of a file no record came to.
        self.record_type = record_type
        #: Records written so far.
        self.count = 0
        self._stream = stream
        self._temp: Path | None = None

    def _file(self) -> BinaryIO:
        """The open temporary file (made on first use), or the stream given."""
        if self._stream is None:
            assert self.path is not None
            self._stream, self._temp = create_beside(self.path)
        return self._stream

    def write(self, records: list[Any]) -> None:
        """Write a batch of records."""
        raise NotImplementedError

    def write_batch(self, batch: pa.RecordBatch) -> None:
        """Write an Arrow record batch (Parquet)."""
        raise NotImplementedError

    @abstractmethod
    def _finish(self) -> None:
        """Write what a complete file ends with (a header if no record came, a footer)."""

    def commit(self) -> None:
        """Finish the file and move it to its name (replacing any file there)."""
        self._finish()
        self._close()
        if self._temp is not None:
            assert self.path is not None
            os.replace(self._temp, self.path)
            self._temp = None

    def abort(self) -> Path | None:
        """Stop: keep what was written (a valid file of whole records) under
        ``keep_partial``'s name and return it; None when nothing was kept."""
        temp, self._temp = self._temp, None
        if temp is None:
            self._close()
            return None
        # A full disk (or one gone) fails again here: the error that stopped the pull is
        # the one reported, and what reached the file is kept as it is, unless it is
        # Parquet, unreadable without its footer.
        try:
            try:
                self._finish()
            finally:
                self._close()  # closes the file even when its last flush fails
        except Exception:  # OSError; pyarrow's on a file its writer saw fail
            whole = False
        else:
            whole = True
        if not self.count or not (whole or not self.arrow):
            temp.unlink(missing_ok=True)
            return None
        assert self.path is not None
        return keep_partial(temp, self.path)

    def _close(self) -> None:
        if self._stream is not None:
            if self.path is None:
                self._stream.flush()  # standard output stays open
            else:
                self._stream.close()


class _JSONLines(Output):
    def write(self, records: list[Any]) -> None:
        if records:
            file = self._file()
            file.write(encode_lines(records))
            if self.path is None:
                file.flush()  # a reader of the pipe sees each batch as it comes
            self.count += len(records)

    def _finish(self) -> None:
        self._file()  # an empty report is an empty file


class _CSV(Output):
    """CSV with a header of the field names; mapping fields are JSON text, None empty.

    Each batch is written as text into a buffer, then to the file as UTF-8 bytes: the
    file holds no text layer of its own to flush (or fail) when it is closed."""

    def __init__(
        self, path: Path | None, record_type: type, stream: BinaryIO | None = None
    ) -> None:
        super().__init__(path, record_type, stream)
        self._text = io.StringIO()
        self._writer = csv.writer(self._text)
        self._header = False

    def _put(self, rows: list[Any]) -> None:
        """Write ``rows`` after the header (written first, once)."""
        if not self._header:
            self._header = True
            self._writer.writerow(_codec(self.record_type).names)
        self._writer.writerows(rows)
        self._file().write(self._text.getvalue().encode())
        self._text.seek(0)
        self._text.truncate()

    def write(self, records: list[Any]) -> None:
        if not records:
            return
        codec = _codec(type(records[0]))
        rows = msgspec.to_builtins(_structs(records, "array"), enc_hook=_plain_mapping)
        for position in codec.mappings:
            for row in rows:
                row[position] = _ENCODER.encode(row[position]).decode()
        self._put(rows)
        self.count += len(records)

    def _finish(self) -> None:
        self._put([])  # no record came: the header alone


class _Parquet(Output):
    """Row groups of ``ROW_GROUP_ROWS`` written as the batches arrive."""

    arrow = True

    def __init__(
        self, path: Path | None, record_type: type, stream: BinaryIO | None = None
    ) -> None:
        from ._parquet import ParquetSink

        super().__init__(path, record_type, stream)
        self._sink: ParquetSink | None = None
        self._sink_type = ParquetSink

    def write_batch(self, batch: pa.RecordBatch) -> None:
        if self._sink is None:
            self._sink = self._sink_type(self._file(), batch.schema)
        self._sink.write(batch)
        self.count += batch.num_rows

    def _finish(self) -> None:
        if self._sink is None:  # no rows: a valid file of the columns
            from ._arrow import schema

            self._sink = self._sink_type(self._file(), schema(self.record_type))
        self._sink.close()


def open_output(target: str, record_type: type) -> Output:
    """The output for ``--out``: ``-`` (JSON Lines on standard output) or a file name
    whose suffix says the format, for records of ``record_type``. Nothing is created
    until records arrive.

    Raises:
        ValidationError: an unknown suffix, or a directory that does not exist.
    """
    if target == "-":
        import sys

        return _JSONLines(None, record_type, sys.stdout.buffer)
    path = Path(target)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValidationError(
            f"--out must end in .jsonl, .csv or .parquet (or be - for standard output),"
            f" got {path.name!r}",
            parameter="out",
        )
    check_target(path, "out")
    if kind == "parquet":
        from ._arrow import require_pyarrow

        require_pyarrow()
        return _Parquet(path, record_type)
    return (_JSONLines if kind == "jsonl" else _CSV)(path, record_type)

"""A parser and a record converter fused: bytes in, typed records out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ._convert import RecordConverter
from ._exceptions import ResponseFormatError
from ._parsers import CSVParser, Decoder, Parser

T = TypeVar("T")


class _Records(ABC, Generic[T]):
    """Counts the records, so that a conversion error names its index in the report, and
    hands over the records before a bad value first, as a parser does before a fault.

    ``read`` and ``finish`` are the parser's ``feed`` and ``close`` (or their kin);
    subclasses say how what they return becomes records (``_converted``).
    """

    def __init__(
        self,
        read: Callable[[bytes], list[Any]],
        finish: Callable[[], list[Any]],
        converter: RecordConverter[T],
    ) -> None:
        self._read = read
        self._finish = finish
        self._converter = converter
        self._count = 0
        self._fault: ResponseFormatError | None = None

    def feed(self, data: bytes) -> list[T]:
        self._raise_kept()
        return self._converted(self._read(data))

    def close(self) -> list[T]:
        self._raise_kept()
        return self._converted(self._finish())

    def _raise_kept(self) -> None:
        if self._fault is not None:
            raise self._fault

    @abstractmethod
    def _converted(self, rows: list[Any]) -> list[T]:
        """The records of a batch of the parser's rows."""

    def _records(self, convert: Callable[[int | None], list[T]]) -> list[T]:
        """The batch's records by ``convert(n)``, which makes its first ``n`` (None: all).

        On a bad value: the records before it now, its error on the next call.
        """
        try:
            records = convert(None)
        except ResponseFormatError as exc:
            self._fault = exc  # raised again by every later call
            good = None if exc.record_index is None else exc.record_index - self._count
            if not good or good < 0:
                raise
            records = convert(good)
        self._count += len(records)
        return records


class _RowRecords(_Records[T]):
    def __init__(self, parser: Parser, converter: RecordConverter[T]) -> None:
        super().__init__(parser.feed, parser.close, converter)

    def _converted(self, rows: list[Any]) -> list[T]:
        convert = self._converter.convert
        return self._records(lambda n: convert(rows if n is None else rows[:n], self._count))


class _TableRecords(_Records[T]):
    """CSV rows go to the converter as lists of text: no dict is built per row."""

    def __init__(self, parser: CSVParser, converter: RecordConverter[T]) -> None:
        super().__init__(parser.feed_values, parser.close_values, converter)
        self._parser = parser

    def _converted(self, rows: list[list[str]]) -> list[T]:
        columns = list(zip(*rows, strict=True))
        # Drop the rows before the records are made: the garbage collector, which runs
        # every few hundred new containers, then finds fewer of them alive to carry into
        # older generations (a fifth fewer collections' time at 200k rows).
        del rows
        keys = tuple(self._parser.fieldnames or ())
        convert = self._converter.convert_columns
        return self._records(
            lambda n: convert(keys, columns if n is None else [c[:n] for c in columns], self._count)
        )


def record_reader(parser: Parser, converter: RecordConverter[T]) -> Decoder[T]:
    """What turns a body into ``converter``'s records through ``parser``."""
    if isinstance(parser, CSVParser):
        return _TableRecords(parser, converter)
    return _RowRecords(parser, converter)

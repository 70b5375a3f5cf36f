"""Writing records to JSON Lines or CSV, one record at a time."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import attrs


def plain(value: Any) -> Any:
    """A record value as JSON can hold it: ISO dates, decimal strings, enum values."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict) or hasattr(value, "items"):
        return {key: plain(item) for key, item in value.items()}
    return value


def record_dict(record: Any) -> dict[str, Any]:
    """A record (attrs instance) as a dict of plain values."""
    return {field.name: plain(getattr(record, field.name)) for field in attrs.fields(type(record))}


class RecordWriter:
    """Writes records to ``path`` as JSON Lines (``.jsonl``/``.json``) or CSV (``.csv``).

    Each record is written whole, so a file cut short by Ctrl-C is valid up to its
    last line. In CSV, mapping fields (``extra``, tags) are JSON text.
    """

    def __init__(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix not in (".jsonl", ".json", ".ndjson", ".csv"):
            raise ValueError(f"--out must end in .jsonl or .csv, got {path.name!r}")
        self.path = path
        self.count = 0
        self._csv = suffix == ".csv"
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._writer: Any = None

    def write(self, records: Iterable[Any]) -> None:
        for record in records:
            row = record_dict(record)
            if self._csv:
                if self._writer is None:
                    self._writer = csv.DictWriter(self._file, fieldnames=list(row))
                    self._writer.writeheader()
                self._writer.writerow(
                    {k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()}
                )
            else:
                self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
            self.count += 1

    def close(self) -> None:
        self._file.close()

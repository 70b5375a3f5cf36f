"""Parquet files from a report's Arrow batches: row groups written as the batches arrive."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ._arrow import require_pyarrow
from ._arrow import schema as arrow_schema
from ._output import create_beside, partial_path

if TYPE_CHECKING:
    import pyarrow as pa

    from ._bulk import BulkReport
    from ._report import Report

__all__ = ["ParquetSink", "write_parquet"]

#: Rows in one Parquet row group: large enough for readers to skip and compress well,
#: small enough that the rows waiting for it stay a few MB.
ROW_GROUP_ROWS = 65_536
#: zstd: smaller than snappy at a similar speed, read by DuckDB, Polars, Spark, BigQuery.
COMPRESSION = "zstd"


class ParquetSink:
    """Collects batches into row groups of ``ROW_GROUP_ROWS`` and writes each when full.

    ``close()`` writes the rest and the footer; the file is then a valid Parquet file of
    every row written, whether or not the report was complete.
    """

    def __init__(self, file: BinaryIO | str, schema: pa.Schema) -> None:
        self._pa = require_pyarrow()
        import pyarrow.parquet as pq

        self._writer = pq.ParquetWriter(file, schema, compression=COMPRESSION)
        self._pending: list[pa.RecordBatch] = []
        self._rows = 0
        self._closed = False

    def write(self, batch: pa.RecordBatch) -> None:
        """Add a batch; a full row group is written at once."""
        if batch.num_rows:
            self._pending.append(batch)
            self._rows += batch.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            table = self._pa.Table.from_batches(self._pending)
            self._writer.write_table(table, row_group_size=max(self._rows, 1))
            self._pending, self._rows = [], 0

    def close(self) -> None:
        """Write the rows held back and the footer (once)."""
        if not self._closed:
            self._closed = True
            try:
                self._flush()
            finally:
                self._writer.close()


async def write_parquet(report: Report[Any] | BulkReport[Any], path: str | os.PathLike[str]) -> int:
    """Pull ``report`` into the Parquet file ``path``, row groups written as batches
    arrive (memory stays at about one row group); returns the number of rows.

    The file is written under a temporary name beside ``path`` and renamed to it when the
    report is complete, so an existing file is replaced only by a whole one. If the pull
    fails or is cancelled, the rows written so far are kept, as a valid Parquet file, under
    ``report.partial.parquet`` (beside ``path``; none if no row came), and the error
    propagates. Needs the ``[arrow]`` extra.
    """
    require_pyarrow()
    path = Path(path)
    record_type = _record_type(report)
    opened, temp = create_beside(path)
    rows = 0
    try:
        with opened as file:
            sink = ParquetSink(file, arrow_schema(record_type))
            try:
                async with report:
                    async for batch in report.arrow_batches():
                        sink.write(batch)
                        rows += batch.num_rows
            finally:
                sink.close()
    except BaseException:
        if rows:
            os.replace(temp, partial_path(path))
        else:
            os.unlink(temp)
        raise
    os.replace(temp, path)
    return rows


def _record_type(report: Report[Any] | BulkReport[Any]) -> type:
    """The record type of a report's rows (every window of a bulk pull has the same)."""
    windows = getattr(report, "_windows", None)
    first: Any = windows[0].report if windows else report
    record_type: type = first._converter.record_type
    return record_type

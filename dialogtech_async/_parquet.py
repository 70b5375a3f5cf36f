"""Parquet files from a report's Arrow batches: row groups written as the batches arrive."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ._arrow import require_pyarrow
from ._arrow import schema as arrow_schema
from ._output import check_target, create_beside, keep_partial

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

    A row group is encoded and compressed by a thread of its own (pyarrow lets go of the
    GIL), so the next one is parsed meanwhile; at most one is being written while the next
    fills, which bounds memory at two row groups. ``close()`` writes the rest and the
    footer; the file is then a valid Parquet file of every row written, whether or not
    the report was complete.
    """

    def __init__(self, file: BinaryIO | str, schema: pa.Schema) -> None:
        self._pa = require_pyarrow()
        import pyarrow.parquet as pq

        self._writer = pq.ParquetWriter(file, schema, compression=COMPRESSION)
        self._pending: list[pa.RecordBatch] = []
        self._rows = 0
        self._closed = False
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="dialogtech-parquet")
        self._writing: Future[None] | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        """Add a batch; a full row group is written at once."""
        if batch.num_rows:
            self._pending.append(batch)
            self._rows += batch.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        self._wait()  # the row group before, and its error if it failed
        if self._pending:
            table = self._pa.Table.from_batches(self._pending)
            self._pending, self._rows = [], 0
            size = max(table.num_rows, 1)
            self._writing = self._thread.submit(self._writer.write_table, table, size)

    def _wait(self) -> None:
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def close(self) -> None:
        """Write the rows held back and the footer (once)."""
        if not self._closed:
            self._closed = True
            try:
                self._flush()
                self._wait()
            finally:
                self._thread.shutdown(wait=True)
                self._writer.close()


async def write_parquet(report: Report[Any] | BulkReport[Any], path: str | os.PathLike[str]) -> int:
    """Pull ``report`` into the Parquet file ``path``, row groups written as batches
    arrive (memory stays at about one row group); returns the number of rows.

    The file is written under a temporary name beside ``path`` and renamed to it when the
    report is complete, so an existing file is replaced only by a whole one. If the pull
    fails or is cancelled, the rows written so far are kept, as a valid Parquet file, under
    ``report.partial.parquet`` (beside ``path``; none if no row came; ``-2`` and on when
    an earlier run's is there), and the error propagates. Needs the ``[arrow]`` extra.

    Raises:
        ValidationError: ``path`` is a directory, or in a directory that does not exist.
    """
    require_pyarrow()
    path = Path(path)
    check_target(path, "path")
    record_type = report.record_type
    opened, temp = create_beside(path)
    rows = 0
    readable = False  # the footer is in the file
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
                file.flush()
                readable = True
        os.replace(temp, path)
    except BaseException:
        if rows and readable:
            keep_partial(temp, path)
        else:
            os.unlink(temp)
        raise
    return rows

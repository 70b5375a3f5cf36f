"""Typed records per second vs the bare parser on the same bytes, in one run.

    python benchmarks/parsers.py [--rows 200000] [--json results.json]

References: csv.reader over the decoded body; a minimal pyexpat handler building one
dict per record; ijson.items(..., "item") on the same JSON. Ours: the incremental parser
fed 64 KiB chunks plus the record converter, as a Report runs them.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import sys
import time
from collections.abc import Callable, Iterable
from itertools import chain
from pathlib import Path
from typing import Any
from xml.parsers import expat

import ijson

sys.path.insert(0, str(Path(__file__).parent))
from _bodies import CHUNK, chunked, click_csv, click_xml, leadflow_json, sized

from dialogtech_async import ClickToRecord, LeadFlowCall
from dialogtech_async._convert import RecordConverter
from dialogtech_async._reader import record_reader
from dialogtech_async.parsers import CSVParser, JSONParser, XMLParser

#: Targets from the foundation issue: ours / reference.
TARGETS = {"csv": 0.55, "xml": 0.80, "json": 0.55}


def _nothing() -> None:
    """The default ``first`` callback: nobody is timing the first record."""


def bare_csv(body: bytes, first: Callable[[], None] = _nothing) -> int:
    rows = csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
    next(rows, None)  # the header
    if next(rows, None) is None:
        return 0
    first()
    return 1 + sum(1 for _ in rows)


def bare_xml(body: bytes, first: Callable[[], None] = _nothing) -> int:
    records: list[dict[str, str]] = []
    state: dict[str, Any] = {"record": None, "field": None, "text": ""}

    def start(tag: str, _attrs: object) -> None:
        if tag == "record":
            state["record"] = {}
        elif state["record"] is not None:
            state["field"], state["text"] = tag, ""

    def chars(data: str) -> None:
        if state["field"] is not None:
            state["text"] += data

    def end(tag: str) -> None:
        if tag == "record":
            if not records:
                first()
            records.append(state["record"])
            state["record"] = None
        elif state["field"] is not None:
            state["record"][state["field"]] = state["text"]
            state["field"] = None

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler, parser.CharacterDataHandler = start, chars
    parser.EndElementHandler = end
    parser.Parse(body, True)
    return len(records)


def bare_json(body: bytes, first: Callable[[], None] = _nothing) -> int:
    items = ijson.items(body, "response.item", use_float=False)
    if next(items, None) is None:
        return 0
    first()
    return 1 + sum(1 for _ in items)


def drive(
    decoder: Any,
    body: bytes,
    first: Callable[[], None] = _nothing,
    sizes: Iterable[int] | None = None,
    chunk_size: int = CHUNK,
) -> int:
    """Feed ``body`` to ``decoder`` in ``chunk_size``-byte chunks (or chunks of ``sizes``),
    then close it; the records it gave. Like a Report, no batch is held while the next
    chunk is parsed; ``first`` is called when the first records are ready."""
    chunks = chunked(body, chunk_size) if sizes is None else sized(body, sizes)
    count = 0
    for chunk in chain(chunks, [None]):
        done = len(decoder.close() if chunk is None else decoder.feed(chunk))
        if done and not count:
            first()
        count += done
    return count


def ours(make_parser: Callable[[], Any], record: type) -> Callable[..., int]:
    """The incremental parser fused with the converter as a Report runs them
    (``record_reader``), driven over the body by ``drive``."""
    converter = RecordConverter(record)

    def run(body: bytes, first: Callable[[], None] = _nothing) -> int:
        return drive(record_reader(make_parser(), converter), body, first)

    return run


def rate(run: Callable[[bytes], int], body: bytes, repeat: int) -> tuple[float, int]:
    """Best records/s of ``repeat`` runs (the least disturbed by the shared machine)."""
    best, count = 0.0, 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        count = run(body)
        best = max(best, count / (time.perf_counter() - start))
    return best, count


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rows", type=int, default=200_000)
    options.add_argument("--repeat", type=int, default=3)
    options.add_argument("--json", type=Path, help="also write the results here")
    args = options.parse_args()
    cases = {
        "csv": (click_csv(args.rows), bare_csv, ours(CSVParser, ClickToRecord)),
        "xml": (click_xml(args.rows), bare_xml, ours(XMLParser, ClickToRecord)),
        "json": (leadflow_json(args.rows), bare_json, ours(JSONParser, LeadFlowCall)),
    }
    results = {}
    print(f"{'format':6} {'reference rec/s':>16} {'ours rec/s':>12} {'ratio':>6} {'target':>6}")
    for name, (body, reference, mine) in cases.items():
        reference_rate, reference_count = rate(reference, body, args.repeat)
        our_rate, our_count = rate(mine, body, args.repeat)
        assert our_count == reference_count == args.rows, (name, our_count, reference_count)
        ratio = our_rate / reference_rate
        results[name] = {
            "reference_per_s": reference_rate,
            "ours_per_s": our_rate,
            "ratio": ratio,
            "target": TARGETS[name],
        }
        print(
            f"{name:6} {reference_rate:16,.0f} {our_rate:12,.0f} {ratio:6.2f} {TARGETS[name]:6.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "parsers": results}, indent=2))


if __name__ == "__main__":
    main()

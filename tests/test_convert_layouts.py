"""RecordConverter keeps at most MAX_LAYOUTS compiled key layouts, least recently used out."""

from __future__ import annotations

import gc
import tracemalloc

import dialogtech_async as dta
from dialogtech_async._convert import MAX_LAYOUTS, RecordConverter


def _row(n: int) -> dict[str, str]:
    return {"igrp": "1", "txr": f"T{n}", f"c_var{n}": "x", f"pt_tag{n}": "y"}


def test_layouts_are_bounded_and_the_recent_ones_kept() -> None:
    converter = RecordConverter(dta.ActiveCall)
    hot = _row(-1)
    for n in range(3 * MAX_LAYOUTS):
        [record] = converter.convert([_row(n)])
        assert record.custom_variables == {f"var{n}": "x"}
        assert record.pass_through_tags == {f"tag{n}": "y"}
        converter.convert([hot])  # used between the others: never the least recent
    assert len(converter._layouts) == MAX_LAYOUTS
    assert tuple(hot) in converter._layouts
    assert tuple(_row(0)) not in converter._layouts


def test_memory_of_varying_keys_stops_growing() -> None:
    converter = RecordConverter(dta.ActiveCall)
    for n in range(MAX_LAYOUTS):
        converter.convert([_row(n)])
    gc.collect()
    tracemalloc.start()
    try:
        for n in range(MAX_LAYOUTS, 5 * MAX_LAYOUTS):
            converter.convert([_row(n)])
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert grown < 2 << 20  # 1,024 more layouts, each some 10 KB, would be over 10 MB

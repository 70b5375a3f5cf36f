"""Generated functions show their source in tracebacks, and take it with them when dropped."""

from __future__ import annotations

import gc
import linecache
import traceback

import _fixtures as fx
import pytest

import dialogtech_async as dta
from dialogtech_async._codegen import compiled, define
from dialogtech_async._convert import RecordConverter


def _last_frame(error: BaseException) -> traceback.FrameSummary:
    return traceback.extract_tb(error.__traceback__)[-1]


def test_an_error_in_a_generated_structure_function_shows_the_generated_line() -> None:
    converter = RecordConverter(dta.ClickToRecord)
    keys = tuple(fx.CSV_ROWS[0])
    structure = converter._layout(keys).structure
    with pytest.raises(KeyError) as caught:
        structure({})  # no key at all: the first read fails
    frame = _last_frame(caught.value)
    assert frame.name == "structure"
    assert frame.filename.startswith("<dialogtech_async generated structure ClickToRecord #")
    assert frame.line == f"v = o[{keys[0]!r}]"
    assert frame.line in "".join(traceback.format_exception(caught.value))


def test_an_error_in_a_generated_column_shows_the_generated_line() -> None:
    converter = RecordConverter(dta.ClickToRecord)
    keys = tuple(fx.CSV_ROWS[0])
    columns = [tuple(value if key != "Call Duration" else "nine" for key, value in row.items())
               for row in fx.CSV_ROWS]  # fmt: skip
    text_columns = converter._layout(keys).text_columns
    assert text_columns is not None
    with pytest.raises(ValueError, match="nine") as caught:
        text_columns(list(zip(*columns, strict=True)))
    generated = [
        frame
        for frame in traceback.extract_tb(caught.value.__traceback__)
        if frame.filename.startswith("<dialogtech_async generated text_columns ClickToRecord")
    ]
    assert generated
    assert all((frame.line or "").startswith("f_call_duration = ") for frame in generated)


def test_each_generated_function_has_a_file_name_and_source_of_its_own() -> None:
    first = define("divide", "x", ["    return 1 / x"], {}, "a test")
    second = define("divide", "x", ["    y = 2", "    return y / x"], {}, "a test")
    assert first.__code__.co_filename != second.__code__.co_filename
    for function, line in ((first, "return 1 / x"), (second, "return y / x")):
        with pytest.raises(ZeroDivisionError) as caught:
            function(0)
        frame = _last_frame(caught.value)
        assert (frame.name, frame.line) == ("divide", line)


def test_compiled_returns_the_one_function_its_lines_define() -> None:
    # The name comes from what the source defines, not from parsing its first line.
    function = compiled(["def  spaced ( x ) :", "    return x + 1"], {}, "<a test>")
    assert function.__name__ == "spaced"
    assert function(1) == 2
    assert linecache.getline(function.__code__.co_filename, 2).strip() == "return x + 1"


def test_a_dropped_function_takes_its_source_out_of_linecache() -> None:
    # Converters drop layouts as keys vary; linecache must not keep them all.
    function = define("f", "", ["    return 1"], {}, "a test")
    filename = function.__code__.co_filename
    assert filename in linecache.cache
    del function
    gc.collect()
    assert filename not in linecache.cache

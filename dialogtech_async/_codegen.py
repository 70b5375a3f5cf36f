"""Functions generated from source once and then reused on every batch of records.

Each function's source is registered in ``linecache`` under a file name of its own (as
cattrs does), so a traceback through generated code shows the line that failed. The
entry goes when the function does: converters compile and drop layouts as keys vary,
and ``linecache`` would otherwise keep every source ever made.
"""

from __future__ import annotations

import itertools
import linecache
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["compiled", "define"]

#: Numbers the generated "files": two functions never share a linecache entry.
_serial = itertools.count(1)


def define(
    name: str, parameters: str, body: list[str], namespace: dict[str, Any], about: str
) -> Callable[..., Any]:
    """Compile ``def name(parameters):`` with ``body`` (lines indented by four spaces)
    in ``namespace`` and return the function.

    ``about`` says what the function is for, in its traceback file name.
    """
    return _define([f"def {name}({parameters}):", *body], namespace, f"{name} {about}")


def compiled(lines: list[str], namespace: dict[str, Any], filename: str) -> Callable[..., Any]:
    """The one function that ``lines`` (a whole ``def``) define in ``namespace``."""
    return _define(lines, namespace, filename.strip("<>"))


def _define(lines: list[str], namespace: dict[str, Any], about: str) -> Callable[..., Any]:
    filename = f"<dialogtech_async generated {about} #{next(_serial)}>"
    source = "\n".join(lines) + "\n"
    defined: dict[str, Any] = {}  # apart from the globals: the one new name is the function
    exec(compile(source, filename, "exec"), namespace, defined)
    (function,) = defined.values()
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    weakref.finalize(function, linecache.cache.pop, filename, None).atexit = False
    return function  # type: ignore[no-any-return]

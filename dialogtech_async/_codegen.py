"""Functions generated from source once and then reused on every batch of records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def compiled(lines: list[str], namespace: dict[str, Any], filename: str) -> Callable[..., Any]:
    """Define the function whose source is ``lines`` in ``namespace`` and return it."""
    exec(compile("\n".join(lines) + "\n", filename, "exec"), namespace)
    function: Callable[..., Any] = namespace[lines[0].split()[1].split("(")[0]]
    return function

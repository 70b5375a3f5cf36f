"""What ``Report`` and ``BulkReport`` share: the lifetime of a public pull object."""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio

T = TypeVar("T")
P = TypeVar("P", bound="PullLifetime[Any]")


class PullLifetime(ABC, Generic[T]):
    """An async iterator and async context manager over a pull, iterated once.

    ``async with`` opens it (``open()``: errors before any record) and closes it on the
    way out; ``collect()`` does both around a full read. Subclasses give ``open()``,
    ``aclose()`` and ``_iterate()``, the generator that hands out the records.
    """

    def __init__(self) -> None:
        self._managed = False
        self._started = False
        self._handed_out: weakref.ref[AsyncGenerator[Any, None]] | None = None
        self._held: AsyncGenerator[Any, None] | None = None
        self._reader: int | None = None  # the task iterating, from its first step
        self._iterator: AsyncGenerator[Any, None] | None = None  # made by `anext(pull)`

    @abstractmethod
    async def open(self: P) -> P:
        """Send the request(s) and check the answer before any record is read."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close every response; safe to call more than once."""

    @abstractmethod
    def _iterate(self) -> AsyncGenerator[T, None]:
        """The records, handed out one by one (called once per iteration)."""

    async def __aenter__(self: P) -> P:
        self._managed = True
        try:
            return await self.open()
        except BaseException:
            await self.aclose()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[T]:
        if self._iterator is not None:
            return self._iterator  # `async for` after `anext(pull)`: carry on from there
        return self._hand_out(self._iterate())

    async def __anext__(self) -> T:
        if self._iterator is None:
            self._iterator = self._hand_out(self._iterate())
        item: T = await self._iterator.__anext__()
        return item

    async def collect(self) -> list[T]:
        """Read the whole pull into a list (for small ones); not once iterated."""
        if self._started:
            name = type(self).__name__
            raise RuntimeError(
                f"collect() reads a whole {name}, and a {name} can be iterated only once:"
                " this one was iterated already"
            )
        async with self:
            return [record async for record in self]

    def _start_once(self) -> None:
        if self._started:
            raise RuntimeError(f"a {type(self).__name__} can be iterated only once")
        self._started = True
        self._reader = anyio.get_current_task().id

    def _hand_out(self, generator: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
        # Inside `async with`, held until __aexit__ closes it (trio warns about async
        # generators left to its finalizer). Otherwise held weakly: when a bare `async
        # for` is left early, the generator is dropped at once and the event loop's
        # finalizer closes it, and with it the response (a reference cycle would wait
        # for the GC); `aclose()` still closes it if it lives.
        if self._managed:
            self._held = generator
        self._handed_out = weakref.ref(generator)
        return generator

    async def _close_handed_out(self) -> bool:
        """Close the generator handed out, unless another task is reading it: inside a
        step, or between two (busy with the record it was given). Returns whether one
        is, to meet the closed pull and raise at its next step, not end quietly."""
        generator = self._handed_out() if self._handed_out is not None else None
        self._held = None
        if generator is None or getattr(generator, "ag_frame", None) is None:
            self._iterator = None
            return False  # none, or finished
        if getattr(generator, "ag_running", False):
            return True
        if self._reader is not None and self._reader != anyio.get_current_task().id:
            return True  # kept for `anext(pull)` too, to raise there
        self._iterator = None
        await generator.aclose()
        return False

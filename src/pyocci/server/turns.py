"""Listings take turns on the event loop, so that small requests never wait long.

A worker serves every request on one event loop. Reading and rendering a
big collection is CPU work that holds the loop while it runs: with fifty
listings in flight, a ``GET /-/`` used to wait behind a batch of every one
of them, seconds in all. Here each listing works in short steps (fetch one
batch; render a few entities), each step only while it holds one of a few
turns, and it gives the loop back after every step. However many listings
stream, a small request waits for at most a few short steps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

T = TypeVar("T")

#: Listings doing a step at once: two, so that one waiting on the database
#: (PostgreSQL is read in a thread) leaves the loop to another.
STEPS_AT_ONCE = 2
#: Entities rendered in one step: a millisecond or two of work.
ENTITIES_PER_STEP = 50
#: Locations written in one step (a location-only listing): about as long.
LOCATIONS_PER_STEP = 2_500


class Turns:
    """The turns one event loop's listings share (create it on that loop)."""

    def __init__(
        self, at_once: int = STEPS_AT_ONCE, entities_per_step: int = ENTITIES_PER_STEP
    ) -> None:
        self._semaphore = asyncio.Semaphore(at_once)
        self._per_step = entities_per_step

    def step(self, needed: bool = True) -> AbstractAsyncContextManager[Any]:
        """A turn for one step of a listing that `rendered` does not cover (its start:
        the first batch is read before the response starts), when `needed` (as
        `fetch_in_turn` of `rendered`): ``async with turns.step(...)``."""
        return self._semaphore if needed else contextlib.nullcontext()

    async def rendered(
        self,
        batches: AsyncIterator[list[T]],
        write: Callable[[list[T]], bytes],
        *,
        fetch_in_turn: bool = True,
        per_step: int | None = None,
    ) -> AsyncIterator[bytes]:
        """What `write` makes of the entities of `batches`, a few at a time, each
        write in a turn of its own. Each fetch too when `fetch_in_turn` (batches
        read on the loop); never when fetching waits for a cloud or a thread, so
        that a slow cloud does not hold the turns of every other listing. `per_step`:
        how many items one write takes (default: the entities per step)."""
        iterator = aiter(batches)
        per_step = per_step or self._per_step
        while True:
            if fetch_in_turn:
                async with self._semaphore:
                    batch = await anext(iterator, None)
                    await self._pass()
            else:
                batch = await anext(iterator, None)
            if batch is None:
                return
            for start in range(0, len(batch), per_step):
                async with self._semaphore:
                    chunk = write(batch[start : start + per_step])
                    await self._pass()
                if chunk:
                    yield chunk

    @staticmethod
    async def _pass() -> None:
        # Give the loop back while still holding the turn: other listings wait for
        # turns (not ready to run), so one pass of the loop runs at most a few steps
        # before it comes to a small request again.
        await asyncio.sleep(0)

"""One check for concurrent requests carrying the same credentials.

A client that opens several connections at once sends the same credentials on
each before the first check has ended and been remembered. `SingleFlight` makes
those requests share the one check in progress: a password is hashed, or a
token sent to Keystone, once, and the failure throttle counts one attempt, not
one per connection (so a parallel client is not throttled for its parallelism).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import anyio

__all__ = ["SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Flight(Generic[V]):
    __slots__ = ("done", "error", "finished", "value")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.finished = False
        self.value: V | None = None
        self.error: Exception | None = None


class SingleFlight(Generic[K, V]):
    """Runs one computation per key at a time; concurrent callers share its outcome.

    Memory is bounded by the requests in progress: a key is dropped as soon as its
    computation ends.
    """

    def __init__(self) -> None:
        self._flights: dict[K, _Flight[V]] = {}

    async def run(self, key: K, compute: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """The outcome of `compute` for `key`, and whether this call computed it
        (False: it joined a computation already running).

        The computation's exception is raised in every caller that shared it. If
        the computation is cancelled (its request went away), the callers waiting
        on it start it again.
        """
        while (flight := self._flights.get(key)) is not None:
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if flight.finished:
                return flight.value, False  # type: ignore[return-value]
        flight = _Flight[V]()
        self._flights[key] = flight
        try:
            flight.value = await compute()
            flight.finished = True
            return flight.value, True
        except Exception as error:
            flight.error = error
            raise
        finally:
            del self._flights[key]
            flight.done.set()

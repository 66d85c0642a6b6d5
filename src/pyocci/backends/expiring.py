"""`Expiring`: what a backend reads from its cloud now and then, kept for a while.

Templates, zones and the like change rarely but are needed on nearly every
request: they are read once, kept for `ttl` seconds, and read again by the
first request after that. One read at a time: requests that arrive while a
read is under way wait for it instead of asking the cloud too. Values are
kept for at most `max_keys` keys (one per project where each sees its own
templates): past it, the value read longest ago is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import anyio

from pyocci.backends.lookups import Lookups

V = TypeVar("V")


class Expiring(Generic[V]):
    """Values read per key (one key, None, for most uses), each kept for `ttl` seconds,
    for at most `max_keys` keys."""

    def __init__(
        self,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 1024,
        lookups: Lookups | None = None,
    ) -> None:
        self.ttl = ttl
        self.max_keys = max_keys
        #: Where hits and misses are counted (a request that waited for another's read
        #: is a hit), if anywhere.
        self.lookups = lookups
        self._clock = clock
        self._values: dict[Hashable, tuple[float, V]] = {}
        self._lock = anyio.Lock()

    def fresh(self, key: Hashable = None) -> V | None:
        """The value kept for `key` if read less than `ttl` seconds ago."""
        kept = self._values.get(key)
        if kept is not None and self._clock() - kept[0] < self.ttl:
            return kept[1]
        return None

    def last(self, key: Hashable = None) -> V | None:
        """The value last read for `key`, however old, without reading (None if never)."""
        kept = self._values.get(key)
        return kept[1] if kept is not None else None

    async def get(self, read: Callable[[], Awaitable[V]], key: Hashable = None) -> V:
        """The value for `key`, read with `read` when none is fresh."""
        value = self.fresh(key)
        if value is not None:
            if self.lookups is not None:
                self.lookups.hit()
            return value
        async with self._lock:
            # Another request may have read it while this one waited.
            value = self.fresh(key)
            if value is not None:
                if self.lookups is not None:
                    self.lookups.hit()
                return value
            if self.lookups is not None:
                self.lookups.miss()
            value = await read()
            # Read last, dropped last: the dict keeps the order of the reads.
            self._values.pop(key, None)
            self._values[key] = (self._clock(), value)
            while len(self._values) > self.max_keys:
                del self._values[next(iter(self._values))]
            return value

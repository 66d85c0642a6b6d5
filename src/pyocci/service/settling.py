"""Read your writes: wait until the cloud shows a create or a delete done.

Real clouds finish some writes after answering them: Nova detaches a
volume a moment after accepting the detach, EC2 may not describe an
instance in the first second after launching it. A client acts on the
answer it got, so the service reads the entity back, a little less often
each time, until the cloud shows the write done or `wait` seconds have
passed. Past them the write is answered 202 Accepted (still in progress),
never 2xx-done for something still there or not yet there.

Backends whose writes show at once (`Backend.reads_own_writes`, the sim's
store) are not read back at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import anyio

from pyocci.backends.errors import BackendError, EntityNotFoundError
from pyocci.model.entity import Entity

log = logging.getLogger(__name__)

#: The first pause between two reads, in seconds; each next one is longer.
FIRST_PAUSE = 0.05
#: The longest pause between two reads, in seconds.
LONGEST_PAUSE = 1.0

#: Reads an entity again; EntityNotFoundError when the cloud has none.
Read = Callable[[], Awaitable[Entity]]


class _Unreadable:
    """A read back the cloud failed (it timed out, it answered 503): tells nothing."""


UNREADABLE = _Unreadable()


@dataclass(frozen=True, slots=True)
class Settling:
    """Reads entities back until a write shows, for at most `wait` seconds from the
    moment `deadline` is asked for: one request's writes share one wait."""

    wait: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep

    def deadline(self) -> float:
        """When a wait starting now ends, on `clock`."""
        return self.clock() + self.wait

    async def until_present(self, read: Read, ends: float) -> Entity | None:
        """The entity as soon as the cloud shows it; None if it still has not at `ends`
        (or reading it failed each time)."""
        async for found in self._reads(read, ends):
            if isinstance(found, Entity):
                return found
        return None

    async def until_gone(self, read: Read, entity: Entity, ends: float) -> Entity | None:
        """None as soon as the cloud no longer has `entity`; if it still has at `ends`
        (a delete in progress, or reads that failed), the entity as last read."""
        last = entity
        async for found in self._reads(read, ends):
            if found is None:
                return None
            if isinstance(found, Entity):
                last = found
        return last

    async def _reads(self, read: Read, ends: float) -> AsyncIterator[Entity | _Unreadable | None]:
        """Read now, then again after growing pauses, until `ends`: the entity, None
        when the cloud has none, UNREADABLE when the read failed."""
        pause = FIRST_PAUSE
        while True:
            try:
                yield await read()
            except EntityNotFoundError:
                yield None
            except BackendError:
                # The write was answered; a failed read must not turn it into an error
                # (a client repeating a create would make a second entity).
                log.info("reading back a write failed; trying again", exc_info=True)
                yield UNREADABLE
            left = ends - self.clock()
            if left <= 0:
                return
            await self.sleep(min(pause, left))
            pause = min(pause * 2, LONGEST_PAUSE)

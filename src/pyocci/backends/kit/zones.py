"""A cloud's availability zones as OCCI mixins: `Zones`.

Each zone is a mixin that depends on ``availability_zone``
(`pyocci.model.extensions.AVAILABILITY_ZONE`), as an image depends on
``os_tpl``: a compute created with one is placed in that zone, and a
compute shows the zone it is in. What a zone is belongs to the cloud (Nova's
availability zones, OpenNebula's clusters): the backend gives a function
that reads them, as a mapping from the zone's name to what its cloud calls
need (an id, or the name again). They are read at most once per TTL; a
zone whose name cannot be an OCCI term (a space, say) is not offered.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Generic, TypeVar

from pyocci.backends.errors import InvalidRequestError, NotSupportedError
from pyocci.backends.expiring import Expiring
from pyocci.backends.kit.context import chosen
from pyocci.model.category import TERM_PATTERN, Mixin
from pyocci.model.extensions import AVAILABILITY_ZONE
from pyocci.model.infrastructure import COMPUTE

Z = TypeVar("Z")


class Zones(Generic[Z]):
    """The zones of one cloud under `scheme`, read by `read` at most once per `ttl`
    seconds; `what` names them in mixins' titles ("Nova availability zone")."""

    def __init__(
        self,
        scheme: str,
        what: str,
        read: Callable[[], Awaitable[Mapping[str, Z]]],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scheme = scheme
        self.what = what
        self._read = read
        self._zones: Expiring[dict[str, Z]] = Expiring(ttl, clock)

    def mixin(self, name: str) -> Mixin:
        """The mixin of one zone."""
        return Mixin(
            scheme=self.scheme,
            term=name,
            title=f"{self.what} {name}",
            depends=(AVAILABILITY_ZONE.id,),
            applies=(COMPUTE.id,),
            location=f"/mixin/availability_zone/{name}/",
        )

    async def offered(self) -> dict[str, Z]:
        """The zones that can be mixins, by name, read again when older than the TTL."""
        return await self._zones.get(self._offered)

    async def _offered(self) -> dict[str, Z]:
        found = await self._read()
        return {name: zone for name, zone in found.items() if TERM_PATTERN.fullmatch(name)}

    async def names(self) -> tuple[str, ...]:
        """The names of the zones offered."""
        return tuple(await self.offered())

    async def mixins(self) -> list[Mixin]:
        """A mixin per zone offered (for discovery)."""
        return [self.mixin(name) for name in await self.offered()]

    async def chosen(self, mixins: Iterable[str]) -> Z | None:
        """The zone a new compute's mixins choose, if any: 400 for a zone not offered."""
        name = chosen(list(mixins), self.scheme)
        if name is None:
            return None
        offered = await self.offered()
        if name not in offered:
            raise InvalidRequestError(
                f"no availability zone {name!r}; see the mixins at /mixin/availability_zone/"
            )
        return offered[name]

    def check_stays(self, current: Iterable[str], desired: Iterable[str]) -> None:
        """501 when an update would move a compute to another zone (no cloud here moves a
        running machine between zones on a mixin change)."""
        mine = {m for m in current if m.startswith(self.scheme)}
        if {m for m in desired if m.startswith(self.scheme)} - mine:
            raise NotSupportedError("a compute stays in the availability zone it was made in")


async def chosen_zone(zones: Zones[Z] | None, scheme: str, mixins: Iterable[str]) -> Z | None:
    """The zone a new compute's mixins (of `scheme`) choose; 501 when the backend offers no
    zones but one was chosen."""
    if zones is None:
        if chosen(list(mixins), scheme) is not None:
            raise NotSupportedError("this server does not offer availability zones")
        return None
    return await zones.chosen(mixins)


def keep_zone(zones: Zones[Z] | None, current: Iterable[str], desired: Iterable[str]) -> None:
    """501 when an update would move a compute to another zone (see `Zones.check_stays`)."""
    if zones is not None:
        zones.check_stays(current, desired)

"""Nova's availability zones as OCCI mixins.

Each zone Nova calls available is a mixin that depends on
``availability_zone`` (`pyocci.model.extensions.AVAILABILITY_ZONE`), as an
image depends on ``os_tpl``: a compute created with one boots in that zone,
and a compute shows the zone Nova placed it in. Zones are read (one call)
and kept for the templates' TTL; a zone whose name cannot be an OCCI term
(a space, say) is not offered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pyocci.backends.expiring import Expiring
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.model.category import TERM_PATTERN, Mixin
from pyocci.model.extensions import AVAILABILITY_ZONE
from pyocci.model.infrastructure import COMPUTE

ZONE_SCHEME = "http://schemas.pyocci.org/openstack/availability_zone#"


def zone_mixin(name: str) -> Mixin:
    """The mixin of one availability zone."""
    return Mixin(
        scheme=ZONE_SCHEME,
        term=name,
        title=f"Nova availability zone {name}",
        depends=(AVAILABILITY_ZONE.id,),
        applies=(COMPUTE.id,),
        location=f"/mixin/availability_zone/{name}/",
    )


def _available(connection: Any) -> list[str]:
    # Without details Nova lists the zones of compute hosts, not its internal one.
    return [
        zone.name
        for zone in connection.compute.availability_zones(details=False)
        if (zone.state or {}).get("available")
    ]


class Zones:
    """The availability zones of one cloud, read at most once per `ttl` seconds."""

    def __init__(
        self, api: OpenStackApi, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._api = api
        self._names: Expiring[tuple[str, ...]] = Expiring(ttl, clock)

    async def names(self) -> tuple[str, ...]:
        """The available zones that can be mixins, read again when older than the TTL."""
        return await self._names.get(self._read)

    async def _read(self) -> tuple[str, ...]:
        found = await self._api.call_as_service(_available)
        return tuple(name for name in found if TERM_PATTERN.fullmatch(name))

    async def mixins(self) -> list[Mixin]:
        """A mixin per available zone (for discovery)."""
        return [zone_mixin(name) for name in await self.names()]

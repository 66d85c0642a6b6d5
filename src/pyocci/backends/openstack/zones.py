"""Nova's availability zones as OCCI mixins, on the kit's `Zones`.

Each zone Nova calls available is a mixin under `ZONE_SCHEME`: a compute
created with one boots in that zone, and a compute shows the zone Nova
placed it in. Zones are read (one call, as the service) and kept for the
templates' TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pyocci.backends.kit.zones import Zones
from pyocci.backends.openstack.api import OpenStackApi

ZONE_SCHEME = "http://schemas.pyocci.org/openstack/availability_zone#"


def _available(connection: Any) -> dict[str, str]:
    # Without details Nova lists the zones of compute hosts, not its internal one.
    return {
        zone.name: zone.name
        for zone in connection.compute.availability_zones(details=False)
        if (zone.state or {}).get("available")
    }


def nova_zones(
    api: OpenStackApi, ttl: float, clock: Callable[[], float] = time.monotonic
) -> Zones[str]:
    """The cloud's available zones, by name, read at most once per `ttl` seconds."""

    async def read() -> dict[str, str]:
        return await api.call_as_service(_available)

    return Zones(ZONE_SCHEME, "Nova availability zone", read, ttl, clock)

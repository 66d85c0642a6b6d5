"""Nova's availability zones as mixins, against real Nova.

The fixture's Nova has one compute host, in Nova's default zone (``nova``),
and no other zone can be made without moving it (Nova refuses to move a
host with servers back out of a zone, and the session's Nova is shared):
that a zone chosen reaches Nova is read from the server's
``pinned_availability_zone`` (compute API 2.96), the zone it was asked
for. The computes are served with zones (`Computes(..., zones=nova_zones(...))`);
the backend as built by default offers none.
"""

from __future__ import annotations

from typing import Any

import pytest
from openstack_helpers import COMPUTE, compute, wait_state

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import InvalidRequestError, NotSupportedError
from pyocci.backends.openstack import OpenStackBackend
from pyocci.backends.openstack.api import acting_for
from pyocci.backends.openstack.compute import Computes
from pyocci.backends.openstack.zones import ZONE_SCHEME, nova_zones
from pyocci.model.extensions import AVAILABILITY_ZONE

pytestmark = pytest.mark.anyio


@pytest.fixture
def zoned(backend: OpenStackBackend, tenant: Tenant) -> Computes:
    """The computes of `backend`, with zones read on every call (a TTL of 0)."""
    acting_for(tenant)
    zones = nova_zones(backend.api, 0)
    return Computes(backend.api, backend.catalogue, backend.location_of, zones=zones)


async def test_the_default_zone_is_offered(zoned: Computes) -> None:
    assert zoned.zones is not None
    assert await zoned.zones.names() == ("nova",)
    [mixin] = await zoned.zones.mixins()
    assert mixin.id == ZONE_SCHEME + "nova"
    assert mixin.depends == (AVAILABILITY_ZONE.id,)
    assert mixin.location == "/mixin/availability_zone/nova/"
    assert AVAILABILITY_ZONE.id in zoned.capabilities.mixins


def pinned_zone(sdk: Any, server_id: str) -> str | None:
    """The zone a server was asked to boot in (compute API 2.96), None if none was."""
    response = sdk.compute.get(f"/servers/{server_id}", microversion="2.96")
    return response.json()["server"]["pinned_availability_zone"]


async def test_a_compute_boots_in_the_zone_chosen_and_shows_it(
    zoned: Computes, backend: OpenStackBackend, tenant: Tenant, sdk: Any
) -> None:
    chosen = compute(**{"occi.core.title": "placed"})
    chosen.mixins.append(ZONE_SCHEME + "nova")
    created = await zoned.create(tenant, chosen)
    unplaced = await zoned.create(tenant, compute())
    assert pinned_zone(sdk, created.id or "") == "nova", "Nova was asked for the zone"
    assert pinned_zone(sdk, unplaced.id or "") is None
    await wait_state(backend, tenant, created.id or "", "active")
    await wait_state(backend, tenant, unplaced.id or "", "active")
    read = await zoned.get(tenant, COMPUTE, created.id or "")
    assert ZONE_SCHEME + "nova" in read.mixins
    listed = [e async for e in zoned.listing(tenant, Query(kinds=(COMPUTE,)))]
    assert {e.id for e in listed} == {created.id, unplaced.id}
    assert all(ZONE_SCHEME + "nova" in e.mixins for e in listed), "Nova placed both there"


async def test_an_unknown_zone_is_400_naming_it(zoned: Computes, tenant: Tenant) -> None:
    chosen = compute()
    chosen.mixins.append(ZONE_SCHEME + "atlantis")
    with pytest.raises(InvalidRequestError, match="atlantis"):
        await zoned.create(tenant, chosen)


async def test_moving_a_compute_to_another_zone_is_501(
    zoned: Computes, backend: OpenStackBackend, tenant: Tenant
) -> None:
    created = await zoned.create(tenant, compute())
    current = await wait_state(backend, tenant, created.id or "", "active")
    current = await zoned.get(tenant, COMPUTE, current.id or "")
    assert ZONE_SCHEME + "nova" in current.mixins
    desired = compute()
    desired.mixins = [*current.mixins, ZONE_SCHEME + "elsewhere"]
    with pytest.raises(NotSupportedError, match="availability zone"):
        await zoned.update(tenant, current, desired)


async def test_without_zones_a_zone_is_501_and_none_is_shown(
    backend: OpenStackBackend, tenant: Tenant
) -> None:
    acting_for(tenant)
    unzoned = Computes(backend.api, backend.catalogue, backend.location_of)
    assert AVAILABILITY_ZONE.id not in unzoned.capabilities.mixins
    chosen = compute()
    chosen.mixins.append(ZONE_SCHEME + "nova")
    with pytest.raises(NotSupportedError, match="availability zones"):
        await unzoned.create(tenant, chosen)
    created = await unzoned.create(tenant, compute())
    read = await unzoned.get(tenant, COMPUTE, created.id or "")
    assert not [m for m in read.mixins if m.startswith(ZONE_SCHEME)]


async def test_the_backend_offers_nova_zones(backend: OpenStackBackend, tenant: Tenant) -> None:
    assert AVAILABILITY_ZONE.id in backend.capabilities.mixins
    offered = await backend.provider_mixins(tenant)
    assert ZONE_SCHEME + "nova" in {mixin.id for mixin in offered}

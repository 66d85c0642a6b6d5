"""IP reservations: public addresses from the pool, used by one interface at a time."""

from __future__ import annotations

import pytest
from sim_helpers import (
    IPRESERVATION,
    NETWORKINTERFACE,
    POOL,
    assert_declared,
    compute,
    nic,
    reservation,
)

from pyocci.backends.errors import ConflictError, InvalidRequestError, QuotaExceededError
from pyocci.backends.sim import Quotas
from pyocci.model import Resource

pytestmark = pytest.mark.anyio


async def test_a_reservation_takes_a_public_address(backend, tenant, other):
    mine = await backend.create_entity(tenant, reservation(POOL))
    theirs = await backend.create_entity(other, reservation())
    assert mine.attributes["occi.ipreservation.address"] == "203.0.113.2"
    assert theirs.attributes["occi.ipreservation.address"] == "203.0.113.3"
    assert mine.attributes["occi.ipreservation.used"] is False
    assert mine.attributes["occi.ipreservation.state"] == "active"
    assert mine.location == f"/ipreservation/{mine.id}"
    # The pool it came from is named even when the client did not name it.
    assert theirs.mixins == [POOL]
    await assert_declared(backend, tenant, mine)
    chosen = await backend.create_entity(
        tenant, reservation(attributes={"occi.ipreservation.address": "203.0.113.200"})
    )
    assert chosen.attributes["occi.ipreservation.address"] == "203.0.113.200"
    with pytest.raises(ConflictError, match="already in use"):
        await backend.create_entity(
            other, reservation(attributes={"occi.ipreservation.address": "203.0.113.200"})
        )


async def test_a_foreign_pool_is_refused(backend, tenant):
    from pyocci.model import Mixin

    backend.entities.cloud.catalogue.model.add(
        Mixin(
            scheme="http://example.org/pools#",
            term="elsewhere",
            depends=("http://schemas.openstack.org/network#floatingippool",),
        )
    )
    with pytest.raises(InvalidRequestError, match="not a floating IP pool of this cloud"):
        await backend.create_entity(tenant, reservation("http://example.org/pools#elsewhere"))


async def test_an_interface_to_a_reservation_uses_it(backend, tenant):
    held = await backend.create_entity(tenant, reservation())
    vm = await backend.create_entity(tenant, compute(links=[nic(None, held.location)]))
    interface = vm.links[0]
    assert interface.attributes["occi.networkinterface.address"] == "203.0.113.2"
    assert interface.attributes["occi.core.target.kind"] == IPRESERVATION
    assert interface.target == held.location
    used = await backend.get_entity(tenant, IPRESERVATION, held.id)
    assert used.attributes["occi.ipreservation.used"] is True
    other_vm = await backend.create_entity(tenant, compute())
    with pytest.raises(ConflictError, match="already used by an interface"):
        await backend.create_entity(tenant, nic(other_vm.location, held.location))
    with pytest.raises(ConflictError, match="detach first"):
        await backend.delete_entity(tenant, held)
    with pytest.raises(InvalidRequestError, match="cannot change"):
        await backend.update_entity(
            tenant,
            interface,
            nic(
                vm.location,
                held.location,
                attributes={"occi.networkinterface.address": "203.0.113.9"},
            ),
        )
    await backend.delete_entity(tenant, interface)
    free = await backend.get_entity(tenant, IPRESERVATION, held.id)
    assert free.attributes["occi.ipreservation.used"] is False
    # The address stays reserved after the interface goes.
    another = await backend.create_entity(tenant, reservation())
    assert another.attributes["occi.ipreservation.address"] == "203.0.113.3"
    moved = await backend.create_entity(tenant, nic(other_vm.location, held.location))
    assert moved.kind == NETWORKINTERFACE
    await backend.delete_entity(tenant, moved)
    await backend.delete_entity(tenant, held)
    again = await backend.create_entity(tenant, reservation())
    assert again.attributes["occi.ipreservation.address"] == "203.0.113.4"


async def test_a_reservation_keeps_its_address(backend, tenant):
    held = await backend.create_entity(tenant, reservation())
    with pytest.raises(InvalidRequestError, match="cannot change"):
        await backend.update_entity(
            tenant,
            held,
            Resource(
                kind=IPRESERVATION,
                attributes={**held.attributes, "occi.ipreservation.address": "203.0.113.77"},
            ),
        )
    renamed = await backend.update_entity(
        tenant,
        held,
        Resource(
            kind=IPRESERVATION, mixins=held.mixins, attributes={"occi.core.title": "front door"}
        ),
    )
    assert renamed.attributes["occi.ipreservation.address"] == "203.0.113.2"
    assert renamed.attributes["occi.core.title"] == "front door"


async def test_reservations_and_public_links_share_the_quota(make_backend, tenant, other):
    backend = make_backend(quotas=Quotas(public_ips=2))
    await backend.create_entity(tenant, reservation())
    await backend.create_entity(tenant, compute(links=[nic(None, "/network/public")]))
    with pytest.raises(QuotaExceededError, match="public IP addresses: the limit is 2, 2 in use"):
        await backend.create_entity(tenant, reservation())
    # Per tenant.
    await backend.create_entity(other, reservation())


async def test_the_public_pool_runs_out(make_backend, tenant):
    backend = make_backend(public_cidr="198.51.100.0/30", quotas=Quotas(public_ips=None))
    first = await backend.create_entity(tenant, reservation())
    assert first.attributes["occi.ipreservation.address"] == "198.51.100.2"
    with pytest.raises(ConflictError, match=r"no free address left in 198.51.100.0/30"):
        await backend.create_entity(tenant, reservation())

"""Restarts: a new Database and SimBackend on the same URL find everything where it was."""

from __future__ import annotations

import pytest
from sim_helpers import (
    COMPUTE,
    COMPUTE_ACTION,
    IPRESERVATION,
    NETWORK,
    STORAGELINK,
    FakeClock,
    attach,
    compute,
    network,
    nic,
    reservation,
    storage,
)

from pyocci.backends.errors import ConflictError
from pyocci.backends.sim import SimBackend
from pyocci.model import Mixin, standard_model
from pyocci.store import Database, MixinRepository

pytestmark = pytest.mark.anyio


def restarted(url: str, clock: FakeClock) -> tuple[Database, SimBackend]:
    database = Database(url)
    database.upgrade()
    return database, SimBackend(model=standard_model(), database=database, clock=clock)


async def test_everything_survives_a_restart(database_url, tenant, clock):
    database, backend = restarted(database_url, clock)
    net = await backend.create_entity(tenant, network(title="net"))
    disk = await backend.create_entity(tenant, storage(title="disk"))
    held = await backend.create_entity(tenant, reservation())
    vm = await backend.create_entity(
        tenant,
        compute(
            title="vm",
            links=[nic(None, net.location), attach(None, disk.location), nic(None, held.location)],
        ),
    )
    image = (
        await backend.trigger_action(tenant, vm, COMPUTE_ACTION + "save", {"name": "keep me"})
    ).created
    stopped = (await backend.trigger_action(tenant, vm, COMPUTE_ACTION + "stop", {})).entity
    MixinRepository(database).add_user_mixin(
        tenant.id,
        Mixin(scheme="http://example.org/tags#", term="web", location="/tags/web/"),
    )
    MixinRepository(database).associate(tenant.id, "http://example.org/tags#web", [vm.location])
    database.dispose()

    database, backend = restarted(database_url, clock)
    assert await backend.get_entity(tenant, COMPUTE, vm.id) == stopped
    assert len(stopped.links) == 3
    assert await backend.get_entity(tenant, NETWORK, net.id) == net
    used = await backend.get_entity(tenant, IPRESERVATION, held.id)
    assert used.attributes["occi.ipreservation.used"] is True
    assert image in await backend.provider_mixins(tenant)
    clone = await backend.create_entity(tenant, compute(image.id))
    assert clone.mixins[0] == image.id
    assert MixinRepository(database).members(tenant.id, "http://example.org/tags#web") == [
        vm.location
    ]
    # Allocation goes on where it was: no address or MAC is handed out twice.
    second = await backend.create_entity(tenant, compute(links=[nic(None, net.location)]))
    first_nic = stopped.links[0].attributes
    second_nic = second.links[0].attributes
    assert second_nic["occi.networkinterface.address"] != first_nic["occi.networkinterface.address"]
    assert second_nic["occi.networkinterface.mac"] not in {
        link.attributes.get("occi.networkinterface.mac") for link in stopped.links
    }
    # The attached storage is still attached.
    with pytest.raises(ConflictError, match="already attached"):
        await backend.create_entity(tenant, attach(clone.location, disk.location))
    assert (await backend.get_entity(tenant, STORAGELINK, stopped.links[1].id)).target == (
        disk.location
    )
    database.dispose()

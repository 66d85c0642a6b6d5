"""Actions: the model's state machines for every kind, save, and the 1.1 storage actions."""

from __future__ import annotations

import pytest
from sim_helpers import (
    COMPUTE,
    COMPUTE_ACTION,
    IPRESERVATION_ACTION,
    NETWORK,
    NETWORK_ACTION,
    NIC_ACTION,
    SAVED,
    STORAGE,
    STORAGE_ACTION,
    STORAGELINK_ACTION,
    UBUNTU,
    assert_declared,
    attach,
    compute,
    network,
    nic,
    offered,
    reservation,
    storage,
)

from pyocci.backends.errors import (
    ConflictError,
    InvalidRequestError,
    NotSupportedError,
    QuotaExceededError,
)
from pyocci.backends.sim import Quotas
from pyocci.model.infrastructure import OS_TPL

pytestmark = pytest.mark.anyio

START, STOP, RESTART, SUSPEND, SAVE = (
    COMPUTE_ACTION + term for term in ("start", "stop", "restart", "suspend", "save")
)


def state(entity, kind="compute"):
    return entity.attributes[f"occi.{kind}.state"]


async def test_the_compute_life_cycle(backend, tenant):
    vm = await backend.create_entity(tenant, compute())
    for action, parameters, expected in [
        (STOP, {"method": "graceful"}, "inactive"),
        (START, {}, "active"),
        (SUSPEND, {"method": "hibernate"}, "suspended"),
        (START, {}, "active"),
        (RESTART, {"method": "warm"}, "active"),
        (STOP, {"method": "acpioff"}, "inactive"),
        (START, {}, "active"),
        (RESTART, {"method": "graceful"}, "active"),
        (SUSPEND, {"method": "suspend"}, "suspended"),
        (START, {}, "active"),
        (STOP, {"method": "poweroff"}, "inactive"),
    ]:
        outcome = await backend.trigger_action(tenant, vm, action, parameters)
        assert state(outcome.entity) == expected, action
        assert outcome.created is None
        vm = outcome.entity
    assert offered(backend, vm) == [START, SAVE]
    assert state(await backend.get_entity(tenant, COMPUTE, vm.id)) == "inactive"


async def test_an_action_that_does_not_apply_names_the_state(backend, tenant):
    vm = await backend.create_entity(tenant, compute())
    with pytest.raises(ConflictError, match=r"cannot start /compute/.*: it is active"):
        await backend.trigger_action(tenant, vm, START, {})
    await backend.trigger_action(tenant, vm, STOP, {})
    with pytest.raises(ConflictError, match="it is inactive; it applies when it is active"):
        await backend.trigger_action(tenant, vm, SUSPEND, {})
    with pytest.raises(ConflictError, match="restart"):
        await backend.trigger_action(tenant, vm, RESTART, {"method": "cold"})


async def test_actions_of_other_kinds_or_unknown_ones_are_refused(backend, tenant):
    vm = await backend.create_entity(tenant, compute())
    with pytest.raises(InvalidRequestError, match="is not an action of"):
        await backend.trigger_action(tenant, vm, NETWORK_ACTION + "up", {})
    with pytest.raises(NotSupportedError):
        await backend.trigger_action(tenant, vm, "http://example.org/action#reboot", {})


async def test_save_makes_an_image_the_tenant_can_boot(backend, tenant, other):
    vm = await backend.create_entity(tenant, compute(title="golden"))
    outcome = await backend.trigger_action(
        tenant, vm, SAVE, {"method": "hot", "name": "My Golden Image!"}
    )
    image = outcome.created
    assert image is not None
    assert image.id == SAVED + "my-golden-image"
    assert image.depends == (OS_TPL.id,)
    assert image.location == "/mixin/os_tpl/my-golden-image/"
    assert "golden" in image.title and vm.location in image.title
    assert state(outcome.entity) == "active"
    # Offered to this tenant only.
    assert image in await backend.provider_mixins(tenant)
    assert image not in await backend.provider_mixins(other)
    with pytest.raises(InvalidRequestError, match="not an OS template you can use"):
        await backend.create_entity(other, compute(image.id))
    # Boots new computes, and outlives the compute it came from.
    await backend.delete_entity(tenant, vm)
    clone = await backend.create_entity(tenant, compute(image.id))
    assert clone.mixins[0] == image.id
    await assert_declared(backend, tenant, clone)
    # Terms stay unique; a missing name still gives a valid term.
    again = await backend.trigger_action(tenant, clone, SAVE, {"name": "my golden image"})
    assert again.created.term == "my-golden-image-2"
    unnamed = await backend.trigger_action(tenant, clone, SAVE, {"method": "deferred"})
    assert unnamed.created.term == "image-" + clone.id[:8]
    # A saved image can be the target of a rebuild too.
    from pyocci.model import Resource

    rebuilt = await backend.update_entity(
        tenant, clone, Resource(kind=COMPUTE, mixins=[again.created.id], attributes={})
    )
    assert rebuilt.mixins[0] == again.created.id


async def test_save_of_a_stopped_compute(backend, tenant):
    vm = await backend.create_entity(tenant, compute())
    stopped = (await backend.trigger_action(tenant, vm, STOP, {})).entity
    outcome = await backend.trigger_action(tenant, stopped, SAVE, {"name": "cold copy"})
    assert state(outcome.entity) == "inactive"
    assert outcome.created.term == "cold-copy"


async def test_storage_online_offline_backup_snapshot(backend, tenant, clock):
    disk = await backend.create_entity(tenant, storage(5.0))
    assert state(disk, "storage") == "online"
    disk = (await backend.trigger_action(tenant, disk, STORAGE_ACTION + "offline", {})).entity
    assert state(disk, "storage") == "offline"
    with pytest.raises(ConflictError, match="it is offline"):
        await backend.trigger_action(tenant, disk, STORAGE_ACTION + "offline", {})
    # The model lets a backup run online or offline, and keeps the state.
    disk = (await backend.trigger_action(tenant, disk, STORAGE_ACTION + "backup", {})).entity
    assert state(disk, "storage") == "offline"
    disk = (await backend.trigger_action(tenant, disk, STORAGE_ACTION + "online", {})).entity
    clock.advance(60)
    disk = (await backend.trigger_action(tenant, disk, STORAGE_ACTION + "backup", {})).entity
    disk = (await backend.trigger_action(tenant, disk, STORAGE_ACTION + "snapshot", {})).entity
    attributes = disk.attributes
    assert attributes["org.pyocci.sim.backup.count"] == 2
    assert attributes["org.pyocci.sim.snapshot.count"] == 1
    assert attributes["org.pyocci.sim.backup.last"] == "2023-11-14T22:14:20+00:00"
    assert "http://schemas.pyocci.org/sim#storage_history" in disk.mixins
    assert state(disk, "storage") == "online"
    # The attributes are declared by the sim's own mixin, so strict validation passes.
    await assert_declared(backend, tenant, disk)
    # An update keeps the history, whatever the client sends.
    from pyocci.model import Resource

    updated = await backend.update_entity(
        tenant,
        disk,
        Resource(kind=STORAGE, mixins=[], attributes={"occi.storage.size": 5.0}),
    )
    assert updated.attributes["org.pyocci.sim.backup.count"] == 2
    assert "http://schemas.pyocci.org/sim#storage_history" in updated.mixins


async def test_storage_resize_action_grows_only(make_backend, tenant):
    backend = make_backend(quotas=Quotas(storage=20))
    disk = await backend.create_entity(tenant, storage(5.0))
    resize = STORAGE_ACTION + "resize"
    disk = (await backend.trigger_action(tenant, disk, resize, {"size": 8.0})).entity
    assert disk.attributes["occi.storage.size"] == 8.0
    with pytest.raises(InvalidRequestError, match="can only grow"):
        await backend.trigger_action(tenant, disk, resize, {"size": 2.0})
    with pytest.raises(QuotaExceededError, match="storage"):
        await backend.trigger_action(tenant, disk, resize, {"size": 30.0})
    with pytest.raises(InvalidRequestError, match="needs the parameter 'size'"):
        await backend.trigger_action(tenant, disk, resize, {})


async def test_network_up_and_down(backend, tenant):
    net = await backend.create_entity(tenant, network())
    assert state(net, "network") == "active"
    net = (await backend.trigger_action(tenant, net, NETWORK_ACTION + "down", {})).entity
    assert state(net, "network") == "inactive"
    assert offered(backend, net) == [NETWORK_ACTION + "up"]
    net = (await backend.trigger_action(tenant, net, NETWORK_ACTION + "up", {})).entity
    assert state(net, "network") == "active"


async def test_shared_networks_take_no_actions(backend, tenant):
    public = await backend.get_entity(tenant, NETWORK, "public")
    with pytest.raises(ConflictError, match="/network/public belongs to the provider"):
        await backend.trigger_action(tenant, public, NETWORK_ACTION + "down", {})


async def test_link_actions(backend, tenant):
    disk = await backend.create_entity(tenant, storage())
    vm = await backend.create_entity(
        tenant, compute(links=[nic(None, "/network/private"), attach(None, disk.location)])
    )
    interface, attachment = vm.links
    assert offered(backend, interface) == [NIC_ACTION + "down"]
    interface = (await backend.trigger_action(tenant, interface, NIC_ACTION + "down", {})).entity
    assert interface.attributes["occi.networkinterface.state"] == "inactive"
    interface = (await backend.trigger_action(tenant, interface, NIC_ACTION + "up", {})).entity
    assert interface.attributes["occi.networkinterface.state"] == "active"
    attachment = (
        await backend.trigger_action(tenant, attachment, STORAGELINK_ACTION + "offline", {})
    ).entity
    assert attachment.attributes["occi.storagelink.state"] == "inactive"
    with pytest.raises(ConflictError, match="it is inactive"):
        await backend.trigger_action(tenant, attachment, STORAGELINK_ACTION + "offline", {})


async def test_ip_reservation_up_and_down(backend, tenant):
    address = await backend.create_entity(tenant, reservation())
    assert address.attributes["occi.ipreservation.state"] == "active"
    assert address.attributes["occi.network.state"] == "active"
    # Its own life cycle: the inherited network actions are not offered.
    assert offered(backend, address) == [IPRESERVATION_ACTION + "down"]
    down = await backend.trigger_action(tenant, address, IPRESERVATION_ACTION + "down", {})
    assert down.entity.attributes["occi.ipreservation.state"] == "inactive"
    assert down.entity.attributes["occi.network.state"] == "inactive"
    with pytest.raises(ConflictError):
        await backend.trigger_action(tenant, down.entity, NETWORK_ACTION + "up", {})
    assert UBUNTU  # keep the import list honest

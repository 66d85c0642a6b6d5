"""Storage, networks and their links on a real oned: DATABLOCK images, virtual networks,
disks and NICs hot-plugged into VMs."""

from __future__ import annotations

import anyio
import pytest
from one_helpers import COMPUTE, compute, delete, listed, os_tpl, wait_state

from pyocci.backends.api import Query
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
)
from pyocci.model import Link, Resource
from pyocci.model.extensions import SECURITYGROUPLINK
from pyocci.model.infrastructure import (
    BACKUP,
    NETWORK,
    NETWORKINTERFACE,
    OFFLINE,
    ONLINE,
    RESIZE,
    SNAPSHOT,
    STORAGE,
    STORAGELINK,
)

pytestmark = pytest.mark.anyio


def link(kind: str, source: str | None, target: str | None) -> Link:
    return Link(kind=kind, attributes={"occi.core.source": source, "occi.core.target": target})


def storage(size: float, **attributes: object) -> Resource:
    return Resource(kind=STORAGE.id, attributes={"occi.storage.size": size, **attributes})


async def wait_storage(backend, tenant, storage_id: str, state: str) -> Resource:
    with anyio.fail_after(60):
        while True:
            found = await backend.get_entity(tenant, STORAGE.id, storage_id)
            if found.attributes["occi.storage.state"] == state:
                return found
            await anyio.sleep(0.2)


async def wait_network(backend, tenant, network_id: str) -> Resource:
    """The network once oned has made it (LOCK_CREATE until its driver is done)."""
    with anyio.fail_after(60):
        while True:
            found = await backend.get_entity(tenant, NETWORK.id, network_id)
            if found.attributes["occi.network.state"] == "active":
                return found
            await anyio.sleep(0.2)


async def test_a_storage_is_a_persistent_datablock_image(backend, tenant, one_cloud) -> None:
    made = await backend.create_entity(tenant, storage(1.5, **{"occi.core.title": "data"}))
    assert made.location == f"/storage/{made.id}"
    online = await wait_storage(backend, tenant, made.id, "online")
    assert online.attributes["occi.storage.size"] == 1.5
    assert online.title == "data"
    image = one_cloud.client().image.info(int(made.id))
    assert int(image.TYPE) == 2  # DATABLOCK
    assert int(image.PERSISTENT) == 1
    assert int(image.SIZE) == 1536
    listed_ids = [e.id for e in await listed(backend, tenant, Query(kinds=(STORAGE.id,)))]
    assert listed_ids == [made.id]
    offline = await backend.trigger_action(tenant, online, OFFLINE.id, {})
    assert offline.entity.attributes["occi.storage.state"] == "offline"
    back = await backend.trigger_action(tenant, offline.entity, ONLINE.id, {})
    assert back.entity.attributes["occi.storage.state"] == "online"
    await backend.delete_entity(tenant, back.entity)
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, STORAGE.id, made.id)


def resized(entity: Resource, size: float) -> Resource:
    bigger = storage(size)
    bigger.location, bigger.id = entity.location, entity.id
    return bigger


async def test_an_attached_storage_grows_through_its_vms_disk(backend, tenant, one_cloud) -> None:
    made = await backend.create_entity(tenant, storage(1))
    online = await wait_storage(backend, tenant, made.id, "online")
    # Not attached: OpenNebula has no disk to resize or snapshot.
    with pytest.raises(ConflictError, match="link it to a compute"):
        await backend.update_entity(tenant, online, resized(online, 2))
    with pytest.raises(ConflictError, match="snapshots a storage through the compute"):
        await backend.trigger_action(tenant, online, SNAPSHOT.id, {})
    vm = await backend.create_entity(tenant, compute(await os_tpl(backend, tenant)))
    await wait_state(backend, tenant, vm.id, "active")
    attached = await backend.create_entity(tenant, link(STORAGELINK.id, vm.location, made.location))
    await wait_state(backend, tenant, vm.id, "active")
    # A disk a VM uses cannot be disabled: oned's refusal is a conflict, not a failure.
    with pytest.raises(ConflictError, match="cannot be in state"):
        await backend.trigger_action(tenant, online, OFFLINE.id, {})
    grown = await backend.update_entity(tenant, online, resized(online, 2.5))
    assert grown.attributes["occi.storage.size"] == 2.5
    assert int(one_cloud.client().image.info(int(made.id)).SIZE) == 2560
    with pytest.raises(InvalidRequestError, match="never shrinks"):
        await backend.update_entity(tenant, grown, resized(grown, 1))
    await wait_state(backend, tenant, vm.id, "active")
    # OCCI 1.1's resize action does the same.
    acted = await backend.trigger_action(tenant, grown, RESIZE.id, {"size": 3})
    assert acted.entity.attributes["occi.storage.size"] == 3
    await wait_state(backend, tenant, vm.id, "active")
    await backend.trigger_action(tenant, grown, SNAPSHOT.id, {})
    with anyio.fail_after(30):
        while not getattr(one_cloud.client().image.info(int(made.id)).SNAPSHOTS, "SNAPSHOT", None):
            await anyio.sleep(0.2)
    await wait_state(backend, tenant, vm.id, "active")
    await backend.delete_entity(tenant, attached)
    await delete(backend, tenant, vm)
    # Used by the VM until oned has detached it.
    with anyio.fail_after(60):
        while True:
            try:
                await backend.delete_entity(tenant, grown)
                break
            except ConflictError:
                await anyio.sleep(0.2)


async def test_a_backup_is_a_clone_of_the_image(backend, tenant, one_cloud) -> None:
    made = await backend.create_entity(tenant, storage(1, **{"occi.core.title": "papers"}))
    online = await wait_storage(backend, tenant, made.id, "online")
    await backend.trigger_action(tenant, online, BACKUP.id, {})
    storages = await listed(backend, tenant, Query(kinds=(STORAGE.id,)))
    [backup] = [e for e in storages if e.id != made.id]
    assert backup.title.startswith("papers-backup-")
    assert backup.attributes["occi.storage.size"] == 1
    for each in (await wait_storage(backend, tenant, backup.id, "online"), online):
        await backend.delete_entity(tenant, each)


async def test_a_size_that_is_not_positive_is_refused(backend, tenant) -> None:
    with pytest.raises(InvalidRequestError, match=r"occi\.storage\.size"):
        await backend.create_entity(tenant, storage(0))


async def test_the_os_images_a_save_makes_are_not_storage(backend, tenant) -> None:
    assert await listed(backend, tenant, Query(kinds=(STORAGE.id,))) == []


async def test_a_network_is_a_virtual_network_with_its_address_range(
    backend, tenant, one_cloud
) -> None:
    made = await backend.create_entity(
        tenant,
        Resource(
            kind=NETWORK.id,
            attributes={"occi.network.address": "10.9.0.0/24", "occi.network.gateway": "10.9.0.1"},
        ),
    )
    assert made.attributes["occi.network.address"] == "10.9.0.0/24"
    assert made.attributes["occi.network.gateway"] == "10.9.0.1"
    await wait_network(backend, tenant, made.id)
    vnet = one_cloud.client().vn.info(int(made.id))
    ar = vnet.AR_POOL.AR[0]
    assert (ar.IP, int(ar.SIZE)) == ("10.9.0.1", 254)
    assert [e.id for e in await listed(backend, tenant, Query(kinds=(NETWORK.id,)))] == [made.id]
    await backend.delete_entity(tenant, made)
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, NETWORK.id, made.id)


async def test_a_network_needs_an_ipv4_range(backend, tenant) -> None:
    with pytest.raises(InvalidRequestError, match=r"occi\.network\.address"):
        await backend.create_entity(
            tenant, Resource(kind=NETWORK.id, attributes={"occi.network.address": "nowhere"})
        )


async def test_disks_and_nics_are_hot_plugged_links(backend, tenant) -> None:
    vm = await backend.create_entity(tenant, compute(await os_tpl(backend, tenant)))
    await wait_state(backend, tenant, vm.id, "active")
    disk = await backend.create_entity(tenant, storage(1))
    await wait_storage(backend, tenant, disk.id, "online")
    net = await backend.create_entity(
        tenant, Resource(kind=NETWORK.id, attributes={"occi.network.address": "10.8.0.0/28"})
    )
    await wait_network(backend, tenant, net.id)
    attached = await backend.create_entity(tenant, link(STORAGELINK.id, vm.location, disk.location))
    assert attached.id.startswith(f"{vm.id}-disk-")
    assert attached.target == disk.location
    await wait_state(backend, tenant, vm.id, "active")
    nic = await backend.create_entity(
        tenant,
        link(NETWORKINTERFACE.id, vm.location, net.location),
    )
    assert nic.attributes["occi.networkinterface.address"] == "10.8.0.1"
    running = await wait_state(backend, tenant, vm.id, "active")
    # OpenNebula's default security group comes with every network's NICs.
    assert {link.id for link in running.links} == {attached.id, nic.id, f"{vm.id}-sg-0"}
    links = await listed(backend, tenant, Query(kinds=(STORAGELINK.id, NETWORKINTERFACE.id)))
    assert {link.id for link in links} == {attached.id, nic.id}
    assert (await backend.get_entity(tenant, STORAGELINK.id, attached.id)).id == attached.id
    await backend.delete_entity(tenant, nic)
    await wait_state(backend, tenant, vm.id, "active")
    await backend.delete_entity(tenant, attached)
    running = await wait_state(backend, tenant, vm.id, "active")
    assert running.links == []
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, STORAGELINK.id, attached.id)
    await delete(backend, tenant, running)
    with anyio.fail_after(60):
        while True:
            try:
                await backend.delete_entity(tenant, disk)
                break
            except Exception:
                await anyio.sleep(0.5)
    await backend.delete_entity(tenant, net)


async def test_a_link_to_another_tenants_storage_is_refused(backend, tenant, other) -> None:
    vm = await backend.create_entity(tenant, compute(await os_tpl(backend, tenant)))
    theirs = await backend.create_entity(other, storage(1))
    with pytest.raises(InvalidRequestError, match="none of your storages"):
        await backend.create_entity(
            tenant,
            link(STORAGELINK.id, vm.location, theirs.location),
        )
    await delete(backend, tenant, vm)
    await wait_storage(backend, other, theirs.id, "online")
    await backend.delete_entity(other, theirs)


async def test_listing_every_kind_pages_across_them(backend, tenant) -> None:
    vm = await backend.create_entity(tenant, compute(await os_tpl(backend, tenant)))
    disk = await backend.create_entity(tenant, storage(1))
    kinds = (COMPUTE, STORAGE.id, NETWORK.id)
    both = await listed(backend, tenant, Query(kinds=kinds))
    assert [e.id for e in both] == [vm.id, disk.id]
    second = await listed(backend, tenant, Query(kinds=kinds, offset=1, limit=1))
    assert [e.id for e in second] == [disk.id]
    await delete(backend, tenant, vm)
    await wait_storage(backend, tenant, disk.id, "online")
    await backend.delete_entity(tenant, disk)


async def test_links_made_with_a_compute_are_disks_and_nics_after_the_templates(
    backend, tenant, one_cloud
) -> None:
    disk = await backend.create_entity(tenant, storage(1))
    await wait_storage(backend, tenant, disk.id, "online")
    net = await backend.create_entity(
        tenant, Resource(kind=NETWORK.id, attributes={"occi.network.address": "10.8.0.0/24"})
    )
    await wait_network(backend, tenant, net.id)
    wanted = compute(await os_tpl(backend, tenant))
    wanted.links = [
        link(STORAGELINK.id, None, disk.location),
        link(NETWORKINTERFACE.id, None, net.location),
    ]
    vm = await backend.create_entity(tenant, wanted)
    targets = {each.attributes["occi.core.target"]: each.kind for each in vm.links}
    assert targets == {
        disk.location: STORAGELINK.id,
        net.location: NETWORKINTERFACE.id,
        "/securitygroup/0": SECURITYGROUPLINK.id,
    }
    disks = one_cloud.client().vm.info(int(vm.id)).TEMPLATE["DISK"]
    image_ids = [int(each["IMAGE_ID"]) for each in disks]
    assert image_ids == [one_cloud.provisioned.image_id, int(disk.id)]
    await delete(backend, tenant, vm)


async def test_a_link_made_with_a_compute_to_another_tenants_network_is_refused(
    backend, tenant, other
) -> None:
    theirs = await backend.create_entity(
        other, Resource(kind=NETWORK.id, attributes={"occi.network.address": "10.7.0.0/24"})
    )
    wanted = compute(await os_tpl(backend, tenant))
    wanted.links = [link(NETWORKINTERFACE.id, None, theirs.location)]
    with pytest.raises(InvalidRequestError, match="none of your networks"):
        await backend.create_entity(tenant, wanted)
    assert await listed(backend, tenant, Query(kinds=(COMPUTE,))) == []

"""Storage and storage links: sizes, device ids, one attachment at a time, resize."""

from __future__ import annotations

import pytest
from sim_helpers import (
    COMPUTE,
    STORAGE,
    STORAGELINK,
    assert_declared,
    attach,
    compute,
    storage,
)

from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    QuotaExceededError,
)
from pyocci.backends.sim import Quotas
from pyocci.model import Resource

pytestmark = pytest.mark.anyio


def device(link) -> str:
    return link.attributes["occi.storagelink.deviceid"]


async def test_a_storage_starts_online_with_its_size(backend, tenant):
    disk = await backend.create_entity(tenant, storage(12.5, title="data"))
    assert disk.attributes["occi.storage.size"] == 12.5
    assert disk.attributes["occi.storage.state"] == "online"
    assert disk.location == f"/storage/{disk.id}"
    await assert_declared(backend, tenant, disk)


@pytest.mark.parametrize("size", [0, -1.0, None, "big", True])
async def test_a_storage_needs_a_positive_size(backend, tenant, size):
    with pytest.raises(InvalidRequestError, match=r"occi.storage.size"):
        await backend.create_entity(tenant, storage(size))


async def test_device_ids_follow_the_root_disk(backend, tenant):
    disks = [await backend.create_entity(tenant, storage()) for _ in range(3)]
    vm = await backend.create_entity(
        tenant, compute(links=[attach(None, disks[0].location), attach(None, disks[1].location)])
    )
    assert [device(link) for link in vm.links] == ["/dev/vdb", "/dev/vdc"]
    first = vm.links[0]
    assert first.attributes["occi.storagelink.state"] == "active"
    assert first.attributes["occi.core.target.kind"] == STORAGE
    await assert_declared(backend, tenant, first)
    await backend.delete_entity(tenant, first)
    again = await backend.create_entity(tenant, attach(vm.location, disks[2].location))
    assert device(again) == "/dev/vdb"


async def test_a_chosen_device_and_mountpoint(backend, tenant):
    disks = [await backend.create_entity(tenant, storage()) for _ in range(3)]
    vm = await backend.create_entity(tenant, compute())
    chosen = await backend.create_entity(
        tenant,
        attach(
            vm.location,
            disks[0].location,
            {"occi.storagelink.deviceid": "/dev/vdq", "occi.storagelink.mountpoint": "/data"},
        ),
    )
    assert device(chosen) == "/dev/vdq"
    assert chosen.attributes["occi.storagelink.mountpoint"] == "/data"
    with pytest.raises(ConflictError, match="/dev/vdq is already used"):
        await backend.create_entity(
            tenant,
            attach(vm.location, disks[1].location, {"occi.storagelink.deviceid": "/dev/vdq"}),
        )
    # Devices can be renamed, but not onto one in use.
    second = await backend.create_entity(tenant, attach(vm.location, disks[1].location))
    assert device(second) == "/dev/vdb"
    with pytest.raises(ConflictError, match="/dev/vdq is already used"):
        await backend.update_entity(
            tenant,
            second,
            attach(vm.location, disks[1].location, {"occi.storagelink.deviceid": "/dev/vdq"}),
        )
    renamed = await backend.update_entity(
        tenant,
        second,
        attach(vm.location, disks[1].location, {"occi.storagelink.deviceid": "/dev/vdx"}),
    )
    assert device(renamed) == "/dev/vdx"


async def test_a_storage_is_attached_once(backend, tenant):
    disk = await backend.create_entity(tenant, storage())
    one = await backend.create_entity(tenant, compute(links=[attach(None, disk.location)]))
    two = await backend.create_entity(tenant, compute())
    with pytest.raises(ConflictError, match=f"already attached to {one.location}"):
        await backend.create_entity(tenant, attach(two.location, disk.location))
    # Deleting the compute detaches it.
    await backend.delete_entity(tenant, one)
    moved = await backend.create_entity(tenant, attach(two.location, disk.location))
    assert moved.target == disk.location


async def test_an_attached_storage_cannot_be_deleted(backend, tenant):
    disk = await backend.create_entity(tenant, storage())
    vm = await backend.create_entity(tenant, compute(links=[attach(None, disk.location)]))
    with pytest.raises(ConflictError, match="detach first: /storagelink/"):
        await backend.delete_entity(tenant, disk)
    await backend.delete_entity(tenant, vm.links[0])
    await backend.delete_entity(tenant, disk)
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, STORAGE, disk.id)
    assert (await backend.get_entity(tenant, COMPUTE, vm.id)).links == []


async def test_a_storage_link_needs_the_tenants_storage(backend, tenant, other):
    theirs = await backend.create_entity(other, storage())
    vm = await backend.create_entity(tenant, compute())
    with pytest.raises(InvalidRequestError, match="not one of your storage"):
        await backend.create_entity(tenant, attach(vm.location, theirs.location))
    with pytest.raises(InvalidRequestError, match="needs a target"):
        await backend.create_entity(tenant, attach(vm.location, ""))
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, STORAGELINK, "nothing")


async def test_resizing_by_update_grows_only(make_backend, tenant):
    backend = make_backend(quotas=Quotas(storage=30))
    disk = await backend.create_entity(tenant, storage(10.0))

    def sized(size):
        return Resource(kind=STORAGE, attributes={**disk.attributes, "occi.storage.size": size})

    grown = await backend.update_entity(tenant, disk, sized(20.0))
    assert grown.attributes["occi.storage.size"] == 20.0
    with pytest.raises(InvalidRequestError, match="can only grow: it has 20 GiB"):
        await backend.update_entity(tenant, grown, sized(5.0))
    with pytest.raises(QuotaExceededError, match="storage \\(GiB\\): the limit is 30, 20 in use"):
        await backend.update_entity(tenant, grown, sized(31.0))
    unchanged = await backend.update_entity(
        tenant, grown, Resource(kind=STORAGE, attributes={"occi.core.title": "renamed"})
    )
    assert unchanged.attributes["occi.storage.size"] == 20.0
    assert unchanged.attributes["occi.core.title"] == "renamed"

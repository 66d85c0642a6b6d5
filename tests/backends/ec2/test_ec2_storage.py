"""Storage on moto's EC2: EBS volumes, resize, snapshots, attachments at run time."""

from __future__ import annotations

import pytest
from ec2_helpers import STORAGE, STORAGE_ACTION, STORAGELINK, compute, link, listed

from pyocci.backends.api import Query
from pyocci.backends.ec2.storage import SIZE_NOTE
from pyocci.backends.errors import (
    BusyError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.model import Link, Resource

pytestmark = pytest.mark.anyio


def volume(size: float, **attributes) -> Resource:
    return Resource(kind=STORAGE, attributes={"occi.storage.size": size, **attributes})


async def test_a_storage_is_an_ebs_volume(backend, tenant, ec2):
    created = await backend.create_entity(tenant, volume(20, **{"occi.core.title": "data"}))
    assert created.id.startswith("vol-") and created.location == f"/storage/{created.id}"
    assert created.attributes["occi.storage.size"] == 20.0
    assert created.attributes["occi.storage.state"] == "online"
    assert created.title == "data"
    assert ec2.describe_volumes(VolumeIds=[created.id])["Volumes"][0]["Size"] == 20


async def test_fractional_sizes_are_rounded_up_to_what_ebs_allocates(backend, tenant, ec2):
    created = await backend.create_entity(tenant, volume(2.5))
    assert created.attributes["occi.storage.size"] == 3.0
    assert ec2.describe_volumes(VolumeIds=[created.id])["Volumes"][0]["Size"] == 3
    # Discovery says so, in the words of what was just seen.
    note = backend.capabilities.attribute_notes[STORAGE]["occi.storage.size"]
    assert note is SIZE_NOTE
    assert "whole GiB" in note and "rounded up (2.5 makes 3)" in note
    assert "only grows" in note


async def test_resize_grows_and_never_shrinks(backend, tenant, ec2):
    created = await backend.create_entity(tenant, volume(10))
    desired = volume(30, **{"occi.core.id": created.id})
    grown = await backend.update_entity(tenant, created, desired)
    assert grown.attributes["occi.storage.size"] == 30.0
    assert ec2.describe_volumes(VolumeIds=[created.id])["Volumes"][0]["Size"] == 30
    with pytest.raises(InvalidRequestError, match="only grow"):
        await backend.update_entity(tenant, grown, volume(5, **{"occi.core.id": created.id}))
    resized = await backend.trigger_action(tenant, grown, STORAGE_ACTION + "resize", {"size": 40})
    assert resized.entity.attributes["occi.storage.size"] == 40.0


async def test_backup_and_snapshot_take_ebs_snapshots(backend, tenant, ec2):
    created = await backend.create_entity(tenant, volume(10))
    await backend.trigger_action(tenant, created, STORAGE_ACTION + "backup", {})
    await backend.trigger_action(tenant, created, STORAGE_ACTION + "snapshot", {})
    snapshots = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [created.id]}])
    descriptions = sorted(s["Description"] for s in snapshots["Snapshots"])
    assert descriptions == [f"OCCI backup of {created.id}", f"OCCI snapshot of {created.id}"]


async def test_attach_at_run_time_then_detach(backend, tenant, images, ec2):
    machine = await backend.create_entity(tenant, compute(images["debian-12"]))
    disk = await backend.create_entity(tenant, volume(8))
    attached = await backend.create_entity(
        tenant, link(STORAGELINK, disk.location, source=machine.location)
    )
    assert attached.id == f"{machine.id}_{disk.id}"
    assert attached.attributes["occi.storagelink.deviceid"] == "/dev/sdf"
    assert attached.source == machine.location and attached.target == disk.location
    assert ec2.describe_volumes(VolumeIds=[disk.id])["Volumes"][0]["State"] == "in-use"
    again = await backend.get_entity(tenant, STORAGELINK, attached.id)
    assert again.attributes == attached.attributes
    # An attached volume cannot be deleted: EC2 says so, OCCI answers 409. Only the
    # client can change that (detach first): a plain 409, no Retry-After.
    with pytest.raises(ConflictError, match="VolumeInUse") as refused:
        await backend.delete_entity(tenant, disk)
    assert not isinstance(refused.value, BusyError)
    assert f"attached to {machine.id}: delete its storagelink first" in str(refused.value)
    await backend.delete_entity(tenant, attached)
    assert ec2.describe_volumes(VolumeIds=[disk.id])["Volumes"][0]["State"] == "available"
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, STORAGELINK, attached.id)
    await backend.delete_entity(tenant, disk)
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, STORAGE, disk.id)
    assert disk.id not in {each.id for each in await listed(backend, tenant, Query((STORAGE,)))}


async def test_another_tenants_volume_cannot_be_attached(backend, tenant, other, images):
    machine = await backend.create_entity(tenant, compute(images["debian-12"]))
    theirs = await backend.create_entity(other, volume(8))
    with pytest.raises(EntityNotFoundError):
        await backend.create_entity(
            tenant, link(STORAGELINK, theirs.location, source=machine.location)
        )


async def test_a_mount_point_and_title_are_kept_with_the_instance(
    backend, make_backend, tenant, images, ec2
):
    disk = await backend.create_entity(tenant, volume(8))
    inline = link(
        STORAGELINK,
        disk.location,
        **{"occi.storagelink.mountpoint": "/data", "occi.core.title": "data disk"},
    )
    machine = await backend.create_entity(tenant, compute(images["debian-12"], links=[inline]))
    attached = next(each for each in machine.links if each.target == disk.location)
    assert attached.attributes["occi.storagelink.mountpoint"] == "/data"
    # Read afresh (another backend, as after a restart): the instance's tags hold them.
    again = await make_backend().get_entity(tenant, STORAGELINK, attached.id)
    assert again.attributes["occi.storagelink.mountpoint"] == "/data"
    assert again.attributes["occi.core.title"] == "data disk"
    desired = Link(kind=STORAGELINK, attributes={**again.attributes})
    desired.attributes["occi.storagelink.mountpoint"] = "/srv"
    updated = await backend.update_entity(tenant, again, desired)
    assert updated.attributes["occi.storagelink.mountpoint"] == "/srv"
    desired.attributes["occi.storagelink.deviceid"] = "/dev/sdz"
    with pytest.raises(NotSupportedError, match="deviceid"):
        await backend.update_entity(tenant, updated, desired)
    await backend.delete_entity(tenant, updated)
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [machine.id]}])["Tags"]
    assert not [tag for tag in tags if attached.id in tag["Key"]]

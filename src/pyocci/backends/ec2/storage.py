"""Storage on EC2: EBS volumes, their attachments (storagelinks), snapshots and resizes.

EBS sizes are whole GiB and only grow (ModifyVolume); backup and snapshot
both take an EBS snapshot; online and offline have no EBS equivalent and
are not offered (501).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from pyocci.backends.base import Tenant
from pyocci.backends.ec2 import entities, ids, linkmeta
from pyocci.backends.ec2.context import Ec2, source_instance, target_id
from pyocci.backends.ec2.placement import Place
from pyocci.backends.ec2.tenancy import NAME_TAG, SUMMARY_TAG
from pyocci.backends.errors import ConflictError, InvalidRequestError
from pyocci.backends.sizes import whole_gib
from pyocci.model.entity import CORE_SUMMARY, CORE_TITLE, Entity, Link, Resource
from pyocci.model.infrastructure import BACKUP, RESIZE, SNAPSHOT

#: Device names offered to attachments that do not name one (AWS's advice for EBS).
DEVICES = tuple(f"/dev/sd{letter}" for letter in string.ascii_lowercase[5:16])


async def create(ec2: Ec2, tenant: Tenant, entity: Resource) -> Resource:
    """Create an EBS volume in the default subnet's zone."""
    size = whole_gib(entity.attributes.get("occi.storage.size"))
    tags = ec2.tenancy.tags(tenant, entity.title, entity.attributes.get(CORE_SUMMARY))

    async def make(place: Place) -> dict[str, Any]:
        return await ec2.api.call(
            "create_volume",
            missing=InvalidRequestError,
            Size=size,
            AvailabilityZone=place.zone,
            TagSpecifications=ec2.tenancy.specification("volume", tags),
        )

    volume = await ec2.placement.using(make)
    return entities.storage(volume, ec2.reader.locate)


async def update(ec2: Ec2, tenant: Tenant, current: Entity, desired: Entity) -> Resource:
    """Grow the volume, change its title."""
    volume_id = current.id or ""
    old = current.attributes.get("occi.storage.size")
    new = desired.attributes.get("occi.storage.size", old)
    if new != old:
        await resize(ec2, volume_id, old, whole_gib(new))
    await retitle(ec2, volume_id, current, desired)
    return entities.storage(await ec2.reader.volume(tenant, volume_id), ec2.reader.locate)


async def resize(ec2: Ec2, volume_id: str, old: Any, new: int) -> None:
    """ModifyVolume to a larger size; shrinking is refused as EBS refuses it."""
    if isinstance(old, int | float) and new < old:
        raise InvalidRequestError(f"EBS volumes only grow: {new} GiB is smaller than {old:g} GiB")
    if new == old:
        return  # asked for less than a GiB more: the volume has it already
    await ec2.api.call("modify_volume", VolumeId=volume_id, Size=new)


async def retitle(ec2: Ec2, resource_id: str, current: Entity, desired: Entity) -> None:
    """Keep the Name and summary tags in step with the title and summary."""
    for attribute, tag in ((CORE_TITLE, NAME_TAG), (CORE_SUMMARY, SUMMARY_TAG)):
        old, new = current.attributes.get(attribute), desired.attributes.get(attribute)
        if old == new:
            continue
        if new:
            await ec2.api.call(
                "create_tags", Resources=[resource_id], Tags=[{"Key": tag, "Value": str(new)}]
            )
        else:
            await ec2.api.call("delete_tags", Resources=[resource_id], Tags=[{"Key": tag}])


async def delete(ec2: Ec2, volume_id: str) -> None:
    """Delete the volume (409 while it is attached)."""
    await ec2.api.call("delete_volume", VolumeId=volume_id)


async def trigger(
    ec2: Ec2, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
) -> Resource:
    """backup and snapshot take an EBS snapshot; resize grows the volume."""
    volume_id = entity.id or ""
    if action_id in (BACKUP.id, SNAPSHOT.id):
        kind = "backup" if action_id == BACKUP.id else "snapshot"
        await ec2.api.call(
            "create_snapshot",
            VolumeId=volume_id,
            Description=f"OCCI {kind} of {volume_id}",
            TagSpecifications=ec2.tenancy.specification("snapshot", ec2.tenancy.tags(tenant)),
        )
    elif action_id == RESIZE.id:
        old = entity.attributes.get("occi.storage.size")
        await resize(ec2, volume_id, old, whole_gib(parameters.get("size"), "size"))
    return entities.storage(await ec2.reader.volume(tenant, volume_id), ec2.reader.locate)


# --- attachments -------------------------------------------------------------------------


async def attach(ec2: Ec2, tenant: Tenant, instance: dict[str, Any], link: Entity) -> str:
    """Attach a volume to an instance; returns the link's id."""
    volume_id = target_id(link, "vol", "a storage")
    await ec2.reader.volume(tenant, volume_id)  # 404 for another tenant's volume
    device = link.attributes.get("occi.storagelink.deviceid") or _free_device(instance)
    await ec2.api.call(
        "attach_volume",
        missing=InvalidRequestError,
        VolumeId=volume_id,
        InstanceId=instance["InstanceId"],
        Device=device,
    )
    return ids.pair(instance["InstanceId"], volume_id)


def _free_device(instance: dict[str, Any]) -> str:
    used = {mapping.get("DeviceName") for mapping in instance.get("BlockDeviceMappings", ())}
    for device in DEVICES:
        if device not in used:
            return device
    raise ConflictError("every device name from /dev/sdf to /dev/sdp is in use on this instance")


async def create_link(ec2: Ec2, tenant: Tenant, link: Link) -> Entity:
    """Attach at run time."""
    instance = await ec2.reader.instance(tenant, source_instance(link))
    link_id = await attach(ec2, tenant, instance, link)
    await linkmeta.keep(ec2.api, instance["InstanceId"], link_id, link.attributes)
    return await ec2.reader.get(tenant, ids.parse(link_id), link_id)  # type: ignore[arg-type]


async def delete_link(ec2: Ec2, link: Entity) -> None:
    """Detach the volume."""
    parsed = ids.parse(link.id or "")
    if parsed is None or parsed.second is None:
        raise InvalidRequestError(f"{link.id!r} is not a storagelink of this cloud")
    await ec2.api.call("detach_volume", VolumeId=parsed.second, InstanceId=parsed.first)

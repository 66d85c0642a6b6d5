"""Storage on EC2: EBS volumes, their attachments (storagelinks), snapshots and resizes.

EBS sizes are whole GiB and only grow (ModifyVolume); backup and snapshot
both take an EBS snapshot; online and offline have no EBS equivalent and
are not offered (501).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from pyocci.backends.api import Tenant
from pyocci.backends.ec2 import busy, entities, ids, linkmeta
from pyocci.backends.ec2.context import Ec2, source_instance, target_id
from pyocci.backends.ec2.placement import Place
from pyocci.backends.ec2.tenancy import NAME_TAG, SUMMARY_TAG
from pyocci.backends.errors import (
    BackendError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
)
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
        await resize(ec2, tenant, volume_id, old, whole_gib(new))
    await retitle(ec2, volume_id, current, desired)
    return entities.storage(await ec2.reader.volume(tenant, volume_id), ec2.reader.locate)


async def resize(ec2: Ec2, tenant: Tenant, volume_id: str, old: Any, new: int) -> None:
    """ModifyVolume to a larger size; shrinking is refused as EBS refuses it, and a
    volume EC2 is still creating is refused with Retry-After."""
    if isinstance(old, int | float) and new < old:
        raise InvalidRequestError(f"EBS volumes only grow: {new} GiB is smaller than {old:g} GiB")
    if new == old:
        return  # asked for less than a GiB more: the volume has it already
    await _unless_refused(ec2, tenant, volume_id, "modify_volume", VolumeId=volume_id, Size=new)


async def _unless_refused(
    ec2: Ec2, tenant: Tenant, volume_id: str, operation: str, **parameters: Any
) -> dict[str, Any]:
    """Call EC2 on a volume; a refusal of the volume's state is told apart (see
    `_why_refused`): a state EC2 leaves by itself answers 409 with Retry-After."""
    try:
        return await ec2.api.call(operation, **parameters)
    except ConflictError as refused:
        raise await _why_refused(ec2, tenant, volume_id, refused) from None


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


async def delete(ec2: Ec2, tenant: Tenant, volume_id: str) -> None:
    """Delete the volume: 409 while it is attached (detach first), 409 with Retry-After
    while EC2 is still creating it, attaching or detaching it, or terminating the
    instances it is attached to."""
    await _unless_refused(ec2, tenant, volume_id, "delete_volume", VolumeId=volume_id)


async def _why_refused(
    ec2: Ec2, tenant: Tenant, volume_id: str, refused: ConflictError
) -> BackendError:
    """What to answer for EC2's refusal of a call on a volume (IncorrectState,
    VolumeInUse): the volume is read again to tell a state EC2 leaves by itself (try
    again) from one only the client can change (detach first)."""
    try:
        described = await ec2.reader.volume(tenant, volume_id)
    except EntityNotFoundError as gone:
        return gone  # deleted meanwhile
    retry_after = ec2.settings.retry_after
    waiting = busy.volume(described, retry_after, refused.cloud_code)
    if waiting is not None:
        return waiting
    attachments = described.get("Attachments") or ()
    attached = [str(each["InstanceId"]) for each in attachments if each.get("InstanceId")]
    if attached and refused.cloud_code == "VolumeInUse":
        going = await _terminating(ec2, attached)
        if len(going) == len(attached):
            # Its computes are deleted (gone for OCCI, and their links with them), and
            # EC2 detaches the volume once it has terminated them.
            return busy.terminating(volume_id, going, retry_after, refused.cloud_code)
        return ConflictError(
            f"{volume_id} is attached to {', '.join(attached)}: delete its storagelink "
            f"first ({refused})",
            cloud_code=refused.cloud_code,
        )
    return refused


async def _terminating(ec2: Ec2, instance_ids: list[str]) -> dict[str, str]:
    """Those of these instances EC2 is terminating or has terminated (id -> state)."""
    try:
        response = await ec2.api.call("describe_instances", InstanceIds=instance_ids)
    except EntityNotFoundError:
        # One at least is unknown to EC2 (terminated long ago): ask one by one.
        if len(instance_ids) == 1:
            return {instance_ids[0]: "terminated"}
        found: dict[str, str] = {}
        for instance_id in instance_ids:
            found.update(await _terminating(ec2, [instance_id]))
        return found
    return {
        instance["InstanceId"]: instance["State"]["Name"]
        for reservation in response.get("Reservations", ())
        for instance in reservation.get("Instances", ())
        if entities.is_gone(instance)
    }


async def trigger(
    ec2: Ec2, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
) -> Resource:
    """backup and snapshot take an EBS snapshot; resize grows the volume."""
    volume_id = entity.id or ""
    if action_id in (BACKUP.id, SNAPSHOT.id):
        kind = "backup" if action_id == BACKUP.id else "snapshot"
        await _unless_refused(
            ec2,
            tenant,
            volume_id,
            "create_snapshot",
            VolumeId=volume_id,
            Description=f"OCCI {kind} of {volume_id}",
            TagSpecifications=ec2.tenancy.specification("snapshot", ec2.tenancy.tags(tenant)),
        )
    elif action_id == RESIZE.id:
        old = entity.attributes.get("occi.storage.size")
        await resize(ec2, tenant, volume_id, old, whole_gib(parameters.get("size"), "size"))
    return entities.storage(await ec2.reader.volume(tenant, volume_id), ec2.reader.locate)


# --- attachments -------------------------------------------------------------------------


async def attach(ec2: Ec2, tenant: Tenant, instance: dict[str, Any], link: Entity) -> str:
    """Attach a volume to an instance; returns the link's id."""
    volume_id = target_id(link, "vol", "a storage")
    described = await ec2.reader.volume(tenant, volume_id)  # 404 for another tenant's
    waiting = busy.volume(described, ec2.settings.retry_after)
    if waiting is not None:
        raise waiting
    device = link.attributes.get("occi.storagelink.deviceid") or _free_device(instance)
    try:
        await ec2.api.call(
            "attach_volume",
            missing=InvalidRequestError,
            VolumeId=volume_id,
            InstanceId=instance["InstanceId"],
            Device=device,
        )
    except ConflictError as refused:
        # The volume still being created, or the instance still starting or stopping
        # (EC2 attaches to running or stopped instances only), is a matter of time.
        found = await _why_refused(ec2, tenant, volume_id, refused)
        if found is refused:
            waiting = busy.instance(instance, ec2.settings.retry_after, refused.cloud_code)
            found = waiting if waiting is not None else refused
        raise found from None
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


async def delete_link(ec2: Ec2, tenant: Tenant, link: Entity) -> None:
    """Detach the volume (409 with Retry-After while EC2 is still attaching it)."""
    parsed = ids.parse(link.id or "")
    if parsed is None or parsed.second is None:
        raise InvalidRequestError(f"{link.id!r} is not a storagelink of this cloud")
    await _unless_refused(
        ec2,
        tenant,
        parsed.second,
        "detach_volume",
        VolumeId=parsed.second,
        InstanceId=parsed.first,
    )

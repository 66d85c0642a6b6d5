"""Storage on EC2: EBS volumes, their attachments (storagelinks), snapshots and resizes.

EBS sizes are whole GiB and only grow (ModifyVolume); backup and snapshot
both take an EBS snapshot; online and offline have no EBS equivalent and
are not offered (501).
"""

from __future__ import annotations

import functools
import string
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pyocci.backends.api import ActionOutcome, Query, Tenant
from pyocci.backends.ec2 import busy, entities, ids
from pyocci.backends.ec2.context import Ec2, Ec2Collection, target_id, unlinked
from pyocci.backends.ec2.links import InstanceLinks
from pyocci.backends.ec2.placement import Place
from pyocci.backends.ec2.reading import simple_filters
from pyocci.backends.ec2.tenancy import NAME_TAG, SUMMARY_TAG
from pyocci.backends.errors import (
    BackendError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
)
from pyocci.backends.kit import ActionHandler
from pyocci.backends.sizes import whole_gib
from pyocci.model.entity import CORE_SUMMARY, CORE_TITLE, Entity, Resource
from pyocci.model.infrastructure import BACKUP, RESIZE, SNAPSHOT, STORAGE, STORAGELINK

#: Device names offered to attachments that do not name one (AWS's advice for EBS).
DEVICES = tuple(f"/dev/sd{letter}" for letter in string.ascii_lowercase[5:16])
#: What EBS makes of a storage's size (`pyocci.backends.sizes.whole_gib`), for discovery.
SIZE_NOTE = (
    "whole GiB on this cloud (EBS): a fractional size is rounded up (2.5 "
    "makes 3) and the storage shows the size it got; a volume only grows"
)


class Volumes(Ec2Collection):
    """EBS volumes. Not here (so 501): storage online and offline, which EBS has not."""

    kinds = (STORAGE.id,)
    attribute_notes = {STORAGE.id: {"occi.storage.size": SIZE_NOTE}}

    @property
    def actions(self) -> dict[str, ActionHandler]:
        """backup and snapshot take an EBS snapshot; resize grows the volume."""
        return {
            BACKUP.id: functools.partial(self._snapshot, "backup"),
            SNAPSHOT.id: functools.partial(self._snapshot, "snapshot"),
            RESIZE.id: self._resize,
        }

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's volumes (title and id filters pushed down)."""
        filters = self.ec2.tenancy.filters(tenant) + simple_filters(query, "volume-id")
        filters.append({"Name": "status", "Values": list(entities.SHOWN_VOLUME_STATES)})
        async for volumes in self.ec2.reader.pages(
            "describe_volumes", "Volumes", filters, query.limit
        ):
            for volume in volumes:
                # Checked here too: an EC2-compatible cloud may ignore the filter.
                if not entities.is_gone_volume(volume):
                    yield entities.storage(volume, self.ec2.reader.locate)

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One volume."""
        return await self._read(tenant, entity_id)

    async def _read(self, tenant: Tenant, volume_id: str) -> Resource:
        return entities.storage(
            await self.ec2.reader.volume(tenant, volume_id), self.ec2.reader.locate
        )

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Create an EBS volume in the default subnet's zone."""
        unlinked(entity)
        ec2 = self.ec2
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

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Grow the volume, change its title."""
        volume_id = current.id or ""
        old = current.attributes.get("occi.storage.size")
        new = desired.attributes.get("occi.storage.size", old)
        if new != old:
            await resize(self.ec2, tenant, volume_id, old, whole_gib(new))
        await retitle(self.ec2, volume_id, current, desired)
        return await self._read(tenant, volume_id)

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete the volume: 409 while it is attached (detach first), 409 with Retry-After
        while EC2 is still creating it, attaching or detaching it, or terminating the
        instances it is attached to."""
        volume_id = entity.id or ""
        await _unless_refused(self.ec2, tenant, volume_id, "delete_volume", VolumeId=volume_id)

    async def _snapshot(
        self, kind: str, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        volume_id = entity.id or ""
        await _unless_refused(
            self.ec2,
            tenant,
            volume_id,
            "create_snapshot",
            VolumeId=volume_id,
            Description=f"OCCI {kind} of {volume_id}",
            TagSpecifications=self.ec2.tenancy.specification(
                "snapshot", self.ec2.tenancy.tags(tenant)
            ),
        )
        return ActionOutcome(entity=await self._read(tenant, volume_id))

    async def _resize(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        volume_id = entity.id or ""
        old = entity.attributes.get("occi.storage.size")
        await resize(self.ec2, tenant, volume_id, old, whole_gib(parameters.get("size"), "size"))
        return ActionOutcome(entity=await self._read(tenant, volume_id))


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


class StorageLinks(InstanceLinks):
    """Volumes attached to instances."""

    kinds = (STORAGELINK.id,)

    async def attach(self, tenant: Tenant, instance: dict[str, Any], link: Entity) -> str:
        """Attach the volume the link targets."""
        return await attach(self.ec2, tenant, instance, link)

    async def detach(self, tenant: Tenant, link: Entity) -> None:
        """Detach the volume (409 with Retry-After while EC2 is still attaching it)."""
        parsed = ids.parse(link.id or "")
        if parsed is None or parsed.second is None:
            raise InvalidRequestError(f"{link.id!r} is not a storagelink of this cloud")
        await _unless_refused(
            self.ec2,
            tenant,
            parsed.second,
            "detach_volume",
            VolumeId=parsed.second,
            InstanceId=parsed.first,
        )

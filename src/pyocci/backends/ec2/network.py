"""Networks on EC2: subnets of the VPC, interfaces (ENIs) and elastic IP addresses.

A network is a subnet; a networkinterface to it is an ENI attached to the
instance. A networkinterface to ``/network/public`` is an elastic IP
address allocated and associated with the instance's primary interface;
deleting it disassociates and releases the address. A subnet cannot be
switched off, so network up/down are not offered (501).
"""

from __future__ import annotations

from typing import Any

from pyocci.backends.api import Tenant
from pyocci.backends.ec2 import entities, ids, linkmeta
from pyocci.backends.ec2.context import Ec2, source_instance
from pyocci.backends.ec2.placement import Place
from pyocci.backends.ec2.storage import retitle
from pyocci.backends.errors import ConflictError, InvalidRequestError
from pyocci.model.entity import CORE_SUMMARY, Entity, Link, Resource


async def create(ec2: Ec2, tenant: Tenant, entity: Resource) -> Resource:
    """Create a subnet of the VPC with the CIDR in occi.network.address."""
    cidr = entity.attributes.get("occi.network.address")
    if not isinstance(cidr, str) or not cidr:
        vpc_id = (await ec2.placement.place()).vpc_id
        raise InvalidRequestError(
            f"a network on EC2 is a subnet of {vpc_id}: give occi.network.address, "
            "a CIDR inside the VPC's range (e.g. 172.31.200.0/24)"
        )
    tags = ec2.tenancy.tags(tenant, entity.title, entity.attributes.get(CORE_SUMMARY))

    async def make(place: Place) -> dict[str, Any]:
        return await ec2.api.call(
            "create_subnet",
            missing=InvalidRequestError,
            VpcId=place.vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=place.zone,
            TagSpecifications=ec2.tenancy.specification("subnet", tags),
        )

    response = await ec2.placement.using(make)
    return entities.network(response["Subnet"], ec2.reader.locate)


async def update(ec2: Ec2, tenant: Tenant, current: Entity, desired: Entity) -> Resource:
    """Change the title; a subnet's range cannot change."""
    subnet_id = current.id or ""
    if subnet_id == ids.PUBLIC or (await ec2.placement.place()).is_shared(subnet_id):
        raise ConflictError(f"/network/{subnet_id} is the provider's and cannot be changed")
    for name in ("occi.network.address", "occi.network.gateway"):
        if desired.attributes.get(name) != current.attributes.get(name):
            raise InvalidRequestError(f"{name} of an EC2 subnet cannot change")
    await retitle(ec2, subnet_id, current, desired)
    return entities.network(await ec2.reader.subnet(tenant, subnet_id), ec2.reader.locate)


async def delete(ec2: Ec2, subnet_id: str) -> None:
    """Delete the subnet (409 while interfaces use it; never the provider's)."""
    if subnet_id == ids.PUBLIC or (await ec2.placement.place()).is_shared(subnet_id):
        raise ConflictError(f"/network/{subnet_id} is the provider's and cannot be deleted")
    await ec2.api.call("delete_subnet", SubnetId=subnet_id)


# --- interfaces ------------------------------------------------------------------------


def primary_interface(instance: dict[str, Any]) -> dict[str, Any]:
    """The instance's interface at device index 0."""
    for eni in instance.get("NetworkInterfaces", ()):
        if eni.get("Attachment", {}).get("DeviceIndex", 0) == 0:
            return eni
    raise ConflictError(f"the instance {instance['InstanceId']} has no primary interface")


async def attach(ec2: Ec2, tenant: Tenant, instance: dict[str, Any], link: Entity) -> str:
    """Connect an instance to a network; returns the link's id."""
    target = link.attributes.get("occi.core.target")
    if ids.ec2_id_of(target, ids.PUBLIC) == ids.PUBLIC:
        return await _associate_public(ec2, tenant, instance)
    subnet_id = ids.ec2_id_of(target, "subnet")
    if subnet_id is None:
        raise InvalidRequestError(f"the target {target!r} is not a network of this cloud")
    await ec2.reader.subnet(tenant, subnet_id)
    place = await ec2.placement.place()
    groups = [g["GroupId"] for g in primary_interface(instance).get("Groups", ())]
    created = await ec2.api.call(
        "create_network_interface",
        missing=InvalidRequestError,
        SubnetId=subnet_id,
        Groups=groups or list(place.group_ids),
        TagSpecifications=ec2.tenancy.specification("network-interface", ec2.tenancy.tags(tenant)),
    )
    eni_id = created["NetworkInterface"]["NetworkInterfaceId"]
    indexes = [
        eni.get("Attachment", {}).get("DeviceIndex", 0)
        for eni in instance.get("NetworkInterfaces", ())
    ]
    try:
        attached = await ec2.api.call(
            "attach_network_interface",
            NetworkInterfaceId=eni_id,
            InstanceId=instance["InstanceId"],
            DeviceIndex=max(indexes, default=0) + 1,
        )
        # The interface was made for this instance: it goes when the instance goes.
        await ec2.api.call(
            "modify_network_interface_attribute",
            NetworkInterfaceId=eni_id,
            Attachment={"AttachmentId": attached["AttachmentId"], "DeleteOnTermination": True},
        )
    except Exception:
        await ec2.api.call("delete_network_interface", NetworkInterfaceId=eni_id)
        raise
    return eni_id


async def _associate_public(ec2: Ec2, tenant: Tenant, instance: dict[str, Any]) -> str:
    eni = primary_interface(instance)
    if (eni.get("Association") or {}).get("PublicIp"):
        raise ConflictError(
            f"{instance['InstanceId']} already has a public address on its primary interface"
        )
    address = await ec2.api.call(
        "allocate_address",
        Domain="vpc",
        TagSpecifications=ec2.tenancy.specification("elastic-ip", ec2.tenancy.tags(tenant)),
    )
    try:
        await ec2.api.call(
            "associate_address",
            AllocationId=address["AllocationId"],
            NetworkInterfaceId=eni["NetworkInterfaceId"],
        )
    except Exception:
        await ec2.api.call("release_address", AllocationId=address["AllocationId"])
        raise
    return ids.public_link(eni["NetworkInterfaceId"])


async def create_link(ec2: Ec2, tenant: Tenant, link: Link) -> Entity:
    """Connect at run time."""
    instance = await ec2.reader.instance(tenant, source_instance(link))
    link_id = await attach(ec2, tenant, instance, link)
    await linkmeta.keep(ec2.api, instance["InstanceId"], link_id, link.attributes)
    return await ec2.reader.get(tenant, ids.parse(link_id), link_id)  # type: ignore[arg-type]


async def delete_link(ec2: Ec2, link: Entity) -> None:
    """Release a public address, or detach and delete an interface."""
    parsed = ids.parse(link.id or "")
    if parsed is None:
        raise InvalidRequestError(f"{link.id!r} is not a networkinterface of this cloud")
    if parsed.second == ids.PUBLIC:
        await release_public(ec2, parsed.first)
        return
    response = await ec2.api.call("describe_network_interfaces", NetworkInterfaceIds=[parsed.first])
    eni = response["NetworkInterfaces"][0]
    attachment = eni.get("Attachment") or {}
    if attachment.get("DeviceIndex", 0) == 0:
        raise ConflictError(
            "the primary interface of an EC2 instance cannot be detached; delete the compute"
        )
    await ec2.api.call("detach_network_interface", AttachmentId=attachment["AttachmentId"])

    async def detached() -> bool | None:
        found = await ec2.api.call(
            "describe_network_interfaces", NetworkInterfaceIds=[parsed.first]
        )
        return True if found["NetworkInterfaces"][0].get("Status") == "available" else None

    await ec2.wait_for("detaching the interface", detached)
    await ec2.api.call("delete_network_interface", NetworkInterfaceId=parsed.first)


async def release_public(ec2: Ec2, eni_id: str) -> None:
    """Disassociate and release the elastic IP of an interface."""
    response = await ec2.api.call(
        "describe_addresses",
        Filters=[{"Name": "network-interface-id", "Values": [eni_id]}],
    )
    addresses = response.get("Addresses", ())
    if not addresses:
        raise ConflictError(
            "this public address was given by EC2 at launch, not an elastic IP; "
            "it goes with the compute"
        )
    for address in addresses:
        if address.get("AssociationId"):
            await ec2.api.call("disassociate_address", AssociationId=address["AssociationId"])
        await ec2.api.call("release_address", AllocationId=address["AllocationId"])

"""Networks on EC2: subnets of the VPC, interfaces (ENIs) and elastic IP addresses.

A network is a subnet; a networkinterface to it is an ENI attached to the
instance. A networkinterface to ``/network/public`` is an elastic IP
address allocated and associated with the instance's primary interface;
deleting it disassociates and releases the address. A subnet cannot be
switched off, so network up/down are not offered (501).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pyocci.backends.api import Query, Tenant
from pyocci.backends.ec2 import entities, ids
from pyocci.backends.ec2.context import Ec2, Ec2Collection, unlinked
from pyocci.backends.ec2.links import InstanceLinks
from pyocci.backends.ec2.placement import Place
from pyocci.backends.ec2.reading import simple_filters
from pyocci.backends.ec2.storage import retitle
from pyocci.backends.errors import ConflictError, InvalidRequestError
from pyocci.model.entity import CORE_SUMMARY, Entity
from pyocci.model.infrastructure import IPNETWORK, IPNETWORKINTERFACE, NETWORK, NETWORKINTERFACE


class Subnets(Ec2Collection):
    """Subnets of the VPC, and the provider's public network."""

    kinds = (NETWORK.id,)
    mixins = frozenset({IPNETWORK.id})
    # A network is a subnet of the VPC: EC2 cannot choose its CIDR.
    required = {NETWORK.id: ("occi.network.address",)}

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The public network, the shared subnet, then the tenant's (title and id filters
        pushed down)."""
        ec2 = self.ec2
        yield entities.public_network(ec2.reader.locate)

        async def shared_subnet(place: Place) -> tuple[Place, dict[str, Any]]:
            return place, await ec2.api.call("describe_subnets", SubnetIds=[place.subnet_id])

        place, shared = await ec2.placement.using(shared_subnet)
        for subnet in shared.get("Subnets", ()):
            yield entities.network(subnet, ec2.reader.locate)
        # The shared subnet, given first, is skipped (every tenant's without tenant tags).
        filters = ec2.tenancy.filters(tenant) + simple_filters(query, "subnet-id")
        async for subnets in ec2.reader.pages("describe_subnets", "Subnets", filters, query.limit):
            for subnet in subnets:
                if subnet["SubnetId"] != place.subnet_id:
                    yield entities.network(subnet, ec2.reader.locate)

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """The public network, or a subnet."""
        if entity_id == ids.PUBLIC:
            return entities.public_network(self.ec2.reader.locate)
        return entities.network(
            await self.ec2.reader.subnet(tenant, entity_id), self.ec2.reader.locate
        )

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Create a subnet of the VPC with the CIDR in occi.network.address."""
        unlinked(entity)
        ec2 = self.ec2
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

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Change the title; a subnet's range cannot change."""
        subnet_id = current.id or ""
        if subnet_id == ids.PUBLIC or (await self.ec2.placement.place()).is_shared(subnet_id):
            raise ConflictError(f"/network/{subnet_id} is the provider's and cannot be changed")
        for name in ("occi.network.address", "occi.network.gateway"):
            if desired.attributes.get(name) != current.attributes.get(name):
                raise InvalidRequestError(f"{name} of an EC2 subnet cannot change")
        await retitle(self.ec2, subnet_id, current, desired)
        return await self.get(tenant, NETWORK.id, subnet_id)

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete the subnet (409 while interfaces use it; never the provider's)."""
        subnet_id = entity.id or ""
        if subnet_id == ids.PUBLIC or (await self.ec2.placement.place()).is_shared(subnet_id):
            raise ConflictError(f"/network/{subnet_id} is the provider's and cannot be deleted")
        await self.ec2.api.call("delete_subnet", SubnetId=subnet_id)


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


class Interfaces(InstanceLinks):
    """Interfaces (ENIs) of instances, and their public addresses (elastic IPs)."""

    kinds = (NETWORKINTERFACE.id,)
    mixins = frozenset({IPNETWORKINTERFACE.id})

    async def source_of(self, parsed: ids.ParsedId) -> str:
        """The instance the interface is attached to, as EC2 says."""
        return await self.ec2.reader.instance_of_interface(parsed.first)

    async def attach(self, tenant: Tenant, instance: dict[str, Any], link: Entity) -> str:
        """Connect the instance to the network the link targets."""
        return await attach(self.ec2, tenant, instance, link)

    async def detach(self, tenant: Tenant, link: Entity) -> None:
        """Release a public address, or detach and delete an interface."""
        parsed = ids.parse(link.id or "")
        if parsed is None:
            raise InvalidRequestError(f"{link.id!r} is not a networkinterface of this cloud")
        if parsed.second == ids.PUBLIC:
            await release_public(self.ec2, parsed.first)
            return
        response = await self.ec2.api.call(
            "describe_network_interfaces", NetworkInterfaceIds=[parsed.first]
        )
        eni = response["NetworkInterfaces"][0]
        attachment = eni.get("Attachment") or {}
        if attachment.get("DeviceIndex", 0) == 0:
            raise ConflictError(
                "the primary interface of an EC2 instance cannot be detached; delete the compute"
            )
        await self.ec2.api.call("detach_network_interface", AttachmentId=attachment["AttachmentId"])

        async def detached() -> bool | None:
            found = await self.ec2.api.call(
                "describe_network_interfaces", NetworkInterfaceIds=[parsed.first]
            )
            return True if found["NetworkInterfaces"][0].get("Status") == "available" else None

        await self.ec2.wait_for("detaching the interface", detached)
        await self.ec2.api.call("delete_network_interface", NetworkInterfaceId=parsed.first)


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

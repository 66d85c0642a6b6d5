"""Networks on moto's EC2: subnets, interfaces at run time, elastic IPs."""

from __future__ import annotations

import pytest
from ec2_helpers import IPNETWORK, NETWORK, NETWORKINTERFACE, compute, link

from pyocci.backends.errors import ConflictError, EntityNotFoundError, InvalidRequestError
from pyocci.model import Resource

pytestmark = pytest.mark.anyio


async def test_a_network_is_a_subnet_of_the_vpc(backend, tenant, ec2):
    created = await backend.create_entity(
        tenant,
        Resource(
            kind=NETWORK,
            mixins=[IPNETWORK],
            attributes={"occi.network.address": "172.31.200.0/24", "occi.core.title": "back"},
        ),
    )
    assert created.id.startswith("subnet-")
    assert created.attributes["occi.network.address"] == "172.31.200.0/24"
    assert created.attributes["occi.network.gateway"] == "172.31.200.1"
    assert created.attributes["occi.network.state"] == "active"
    subnet = ec2.describe_subnets(SubnetIds=[created.id])["Subnets"][0]
    assert subnet["CidrBlock"] == "172.31.200.0/24"
    await backend.delete_entity(tenant, created)
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, NETWORK, created.id)


async def test_a_network_needs_a_cidr(backend, tenant):
    with pytest.raises(InvalidRequestError, match=r"occi\.network\.address"):
        await backend.create_entity(tenant, Resource(kind=NETWORK))


async def test_the_public_and_default_networks_are_the_providers(backend, tenant, other):
    public = await backend.get_entity(other, NETWORK, "public")
    assert public.location == "/network/public"
    with pytest.raises(ConflictError):
        await backend.delete_entity(tenant, public)
    place = await backend.ec2.placement.place()
    shared = await backend.get_entity(other, NETWORK, place.subnet_id)
    with pytest.raises(ConflictError):
        await backend.delete_entity(tenant, shared)


async def test_an_interface_at_run_time_is_an_eni(backend, tenant, images, ec2):
    machine = await backend.create_entity(tenant, compute(images["debian-12"]))
    network = await backend.create_entity(
        tenant, Resource(kind=NETWORK, attributes={"occi.network.address": "172.31.201.0/24"})
    )
    interface = await backend.create_entity(
        tenant, link(NETWORKINTERFACE, network.location, source=machine.location)
    )
    assert interface.id.startswith("eni-")
    assert interface.attributes["occi.networkinterface.interface"] == "eth1"
    assert interface.attributes["occi.networkinterface.address"].startswith("172.31.201.")
    assert len(interface.attributes["occi.networkinterface.mac"]) == 17
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[interface.id])
    assert eni["NetworkInterfaces"][0]["Attachment"]["InstanceId"] == machine.id
    await backend.delete_entity(tenant, interface)
    remaining = ec2.describe_network_interfaces(
        Filters=[{"Name": "network-interface-id", "Values": [interface.id]}]
    )
    assert remaining["NetworkInterfaces"] == []


async def test_the_primary_interface_cannot_be_detached(backend, tenant, images):
    machine = await backend.create_entity(tenant, compute(images["debian-12"]))
    primary = next(each for each in machine.links if each.kind == NETWORKINTERFACE)
    with pytest.raises(ConflictError, match="primary interface"):
        await backend.delete_entity(tenant, primary)


async def test_a_link_to_public_allocates_and_unlink_releases(backend, tenant, images, ec2):
    machine = await backend.create_entity(tenant, compute(images["debian-12"]))
    public = await backend.create_entity(
        tenant, link(NETWORKINTERFACE, "/network/public", source=machine.location)
    )
    addresses = ec2.describe_addresses()["Addresses"]
    assert [a["PublicIp"] for a in addresses] == [
        public.attributes["occi.networkinterface.address"]
    ]
    primary = next(each for each in machine.links if each.kind == NETWORKINTERFACE)
    assert addresses[0]["NetworkInterfaceId"] == primary.id
    with pytest.raises(ConflictError, match="already has a public address"):
        await backend.create_entity(
            tenant, link(NETWORKINTERFACE, "/network/public", source=machine.location)
        )
    await backend.delete_entity(tenant, public)
    assert ec2.describe_addresses()["Addresses"] == []
    seen = await backend.get_entity(tenant, machine.kind, machine.id)
    assert all(each.target != "/network/public" for each in seen.links)

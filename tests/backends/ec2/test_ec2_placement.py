"""Where new resources go, kept until EC2 says it is gone: then looked up again, no restart.

moto is the EC2; what goes away behind the backend's back is deleted with
boto3, as an operator would in the console.
"""

from __future__ import annotations

import pytest
from ec2_helpers import IPNETWORK, NETWORK, STORAGE, compute, count_calls

from pyocci.backends.api import Query
from pyocci.backends.errors import BackendUnavailableError, InvalidRequestError
from pyocci.model import Resource

pytestmark = pytest.mark.anyio


async def test_a_deleted_default_subnet_is_replaced_at_the_next_create(
    backend, tenant, images, ec2
):
    volume = await backend.create_entity(
        tenant, Resource(kind=STORAGE, attributes={"occi.storage.size": 1})
    )
    place = await backend.ec2.placement.place()
    ec2.delete_subnet(SubnetId=place.subnet_id)

    calls = count_calls(backend)
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    # Refused once with InvalidSubnetID.NotFound, launched again in the fresh subnet.
    assert calls.count("RunInstances") == 2
    instance = ec2.describe_instances(InstanceIds=[created.id])["Reservations"][0]["Instances"][0]
    fresh = await backend.ec2.placement.place()
    assert fresh.subnet_id != place.subnet_id
    assert instance["SubnetId"] == fresh.subnet_id
    # Listings show the new shared subnet, not the deleted one.
    listed = [e.id async for e in backend.list_entities(tenant, Query(kinds=(NETWORK,)))]
    assert fresh.subnet_id in listed and place.subnet_id not in listed
    assert volume.id is not None


async def test_a_listing_finds_the_new_subnet_too(backend, tenant, ec2):
    place = await backend.ec2.placement.place()
    ec2.delete_subnet(SubnetId=place.subnet_id)
    listed = [e.id async for e in backend.list_entities(tenant, Query(kinds=(NETWORK,)))]
    assert place.subnet_id not in listed
    assert (await backend.ec2.placement.place()).subnet_id in listed


async def test_subnets_and_volumes_are_made_again_with_the_fresh_place(backend, tenant, ec2):
    place = await backend.ec2.placement.place()
    ec2.delete_subnet(SubnetId=place.subnet_id)
    network = Resource(
        kind=NETWORK, mixins=[IPNETWORK], attributes={"occi.network.address": "172.31.210.0/24"}
    )
    assert (await backend.create_entity(tenant, network)).id.startswith("subnet-")
    storage = Resource(kind=STORAGE, attributes={"occi.storage.size": 1})
    assert (await backend.create_entity(tenant, storage)).id.startswith("vol-")


async def test_a_configured_subnet_that_is_gone_is_the_operators_to_fix(
    make_backend, tenant, images, ec2
):
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="172.31.220.0/24")["Subnet"]
    backend = make_backend(subnet_id=subnet["SubnetId"])
    await backend.open()
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    ec2.terminate_instances(InstanceIds=[created.id])
    ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    with pytest.raises(
        BackendUnavailableError, match=r"subnet_id subnet-\w+ of \[backend_settings\]"
    ):
        await backend.create_entity(tenant, compute(images["debian-12"]))


async def test_an_unknown_id_that_is_not_the_places_is_not_tried_again(
    make_backend, tenant, images
):
    backend = make_backend(key_policy="fixed", key_name="no-such-key")
    await backend.open()
    await backend.ec2.placement.place()
    calls = count_calls(backend)
    with pytest.raises(InvalidRequestError, match=r"InvalidKeyPair\.NotFound"):
        await backend.create_entity(tenant, compute(images["debian-12"]))
    assert calls.count("RunInstances") == 1

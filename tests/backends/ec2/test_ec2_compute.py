"""Computes on moto's EC2: launch, links at creation, actions, resize, delete."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from ec2_helpers import (
    COMPUTE,
    COMPUTE_ACTION,
    NETWORK,
    NETWORKINTERFACE,
    STORAGE,
    STORAGELINK,
    compute,
    count_calls,
    flavour,
    image,
    link,
    listed,
)

from pyocci.backends.api import Query
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.model import Resource

pytestmark = pytest.mark.anyio


def _public_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


SSH_KEY = _public_key()


async def test_a_compute_is_an_instance_with_its_image_type_and_title(backend, tenant, images, ec2):
    created = await backend.create_entity(
        tenant, compute(images["debian-12"], "t3.small", **{"occi.core.title": "web"})
    )
    assert created.id.startswith("i-")
    assert created.location == f"/compute/{created.id}"
    assert image(images["debian-12"]) in created.mixins
    assert flavour("t3.small") in created.mixins
    # RunInstances answers "pending"; it is shown as is, without describing again.
    assert created.attributes["occi.compute.state"] == "waiting"
    running = await backend.get_entity(tenant, COMPUTE, created.id)
    assert running.attributes["occi.compute.state"] == "active"
    assert created.attributes["occi.compute.cores"] == 2
    assert created.attributes["occi.compute.memory"] == 2.0
    assert created.title == "web"
    described = ec2.describe_instances(InstanceIds=[created.id])["Reservations"][0]["Instances"][0]
    tags = {tag["Key"]: tag["Value"] for tag in described["Tags"]}
    assert tags == {"Name": "web", "occi:tenant": "alice"}
    # The root volume and the primary interface come as links, from the same answer.
    kinds = sorted(link.kind for link in created.links)
    assert STORAGELINK in kinds and NETWORKINTERFACE in kinds


async def test_the_id_is_stable_across_backends(make_backend, tenant, images):
    first = make_backend()
    created = await first.create_entity(tenant, compute(images["debian-12"]))
    again = await make_backend().get_entity(tenant, COMPUTE, created.id)
    assert again.id == created.id and again.location == created.location


async def test_an_unknown_ami_is_a_400_with_ec2s_message(backend, tenant):
    with pytest.raises(InvalidRequestError, match=r"InvalidAMIID\.NotFound"):
        await backend.create_entity(tenant, compute("ami-0123456789abcdef0"))


async def test_an_unknown_instance_type_is_a_400(backend, tenant, images):
    with pytest.raises(InvalidRequestError, match="InvalidInstanceType"):
        await backend.create_entity(tenant, compute(images["debian-12"], "t9.huge"))


async def test_without_an_os_tpl_the_error_lists_the_amis(make_backend, tenant, images):
    backend = make_backend(default_image=None)
    entity = Resource(kind=COMPUTE, mixins=[flavour("t3.micro")])
    with pytest.raises(InvalidRequestError, match=images["rocky-9"]):
        await backend.create_entity(tenant, entity)


async def test_user_data_and_ssh_key_reach_ec2(backend, tenant, images, ec2):
    script = "#!/bin/sh\necho hello\n"
    entity = compute(
        images["debian-12"],
        **{
            "occi.compute.userdata": base64.b64encode(script.encode()).decode(),
            "occi.credentials.ssh.publickey": SSH_KEY,
        },
    )
    created = await backend.create_entity(tenant, entity)
    user_data = ec2.describe_instance_attribute(InstanceId=created.id, Attribute="userData")
    assert base64.b64decode(user_data["UserData"]["Value"]).decode() == script
    described = ec2.describe_instances(InstanceIds=[created.id])["Reservations"][0]["Instances"][0]
    pairs = [pair["KeyName"] for pair in ec2.describe_key_pairs()["KeyPairs"]]
    assert described["KeyName"] in pairs and described["KeyName"].startswith("occi-")
    # The same key again reuses the key pair.
    await backend.create_entity(tenant, entity)
    assert len(ec2.describe_key_pairs()["KeyPairs"]) == 1


async def test_user_data_that_is_not_base64_is_refused(backend, tenant, images):
    entity = compute(images["debian-12"], **{"occi.compute.userdata": "not base64!"})
    with pytest.raises(InvalidRequestError, match="base64"):
        await backend.create_entity(tenant, entity)


async def test_a_fixed_key_policy_refuses_client_keys(make_backend, tenant, images):
    backend = make_backend(key_policy="fixed", key_name="operators")
    entity = compute(images["debian-12"], **{"occi.credentials.ssh.publickey": SSH_KEY})
    with pytest.raises(InvalidRequestError, match="SSH keys"):
        await backend.create_entity(tenant, entity)


async def test_links_at_creation_attach_a_volume_and_an_elastic_ip(backend, tenant, images, ec2):
    volume = await backend.create_entity(
        tenant, Resource(kind=STORAGE, attributes={"occi.storage.size": 8})
    )
    entity = compute(
        images["debian-12"],
        links=[
            link(STORAGELINK, volume.location, **{"occi.storagelink.deviceid": "/dev/sdh"}),
            link(NETWORKINTERFACE, "/network/public"),
        ],
    )
    created = await backend.create_entity(tenant, entity)
    attached = [each for each in created.links if each.target == volume.location]
    assert attached and attached[0].attributes["occi.storagelink.deviceid"] == "/dev/sdh"
    public = [each for each in created.links if each.target == "/network/public"]
    assert public and public[0].id.endswith("_public")
    address = public[0].attributes["occi.networkinterface.address"]
    allocated = ec2.describe_addresses()["Addresses"]
    assert [a["PublicIp"] for a in allocated] == [address]


async def test_a_link_to_nothing_is_refused_before_launching(backend, tenant, images, ec2):
    missing = link(STORAGELINK, "/storage/vol-0123456789abcdef0")
    with pytest.raises(InvalidRequestError, match="does not exist"):
        await backend.create_entity(tenant, compute(images["debian-12"], links=[missing]))
    assert ec2.describe_instances()["Reservations"] == []


async def test_a_link_failing_after_launch_leaves_no_instance(make_backend, tenant, images, ec2):
    # With an address from EC2 at launch, an elastic IP cannot be associated too.
    backend = make_backend(public_ip_on_launch=True)
    entity = compute(images["debian-12"], links=[link(NETWORKINTERFACE, "/network/public")])
    with pytest.raises(ConflictError, match="already has a public address"):
        await backend.create_entity(tenant, entity)
    states = [
        i["State"]["Name"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
    ]
    assert states and all(state in ("shutting-down", "terminated") for state in states)
    assert ec2.describe_addresses()["Addresses"] == []


async def test_stop_start_restart_follow_ec2(backend, tenant, images, ec2):
    created = await backend.create_entity(tenant, compute(images["debian-12"]))

    async def current(entity):
        return (await backend.get_entity(tenant, COMPUTE, entity.id)).attributes

    stopped = await backend.trigger_action(tenant, created, COMPUTE_ACTION + "stop", {})
    # The answer is EC2's own answer to StopInstances: on its way ("stopping").
    assert stopped.entity.attributes["occi.compute.state"] == "waiting"
    assert stopped.entity.attributes["occi.compute.state.message"] == "EC2 state stopping"
    assert (await current(created))["occi.compute.state"] == "inactive"
    state = ec2.describe_instances(InstanceIds=[created.id])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "stopped"
    started = await backend.trigger_action(tenant, stopped.entity, COMPUTE_ACTION + "start", {})
    assert started.entity.attributes["occi.compute.state.message"] == "EC2 state pending"
    assert (await current(created))["occi.compute.state"] == "active"
    restarted = await backend.trigger_action(
        tenant, started.entity, COMPUTE_ACTION + "restart", {"method": "warm"}
    )
    assert (await current(restarted.entity))["occi.compute.state"] == "active"


async def test_a_terminated_compute_is_gone(backend, tenant, images, ec2):
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    kept = await backend.create_entity(tenant, compute(images["debian-12"]))
    await backend.trigger_action(tenant, created, COMPUTE_ACTION + "stop", {})
    await backend.delete_entity(tenant, created)
    # EC2 still describes it (terminated); OCCI does not show it, read or listed.
    described = ec2.describe_instances(InstanceIds=[created.id])["Reservations"][0]
    assert described["Instances"][0]["State"]["Name"] == "terminated"
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, COMPUTE, created.id)
    shown = [each.id for each in await listed(backend, tenant, Query((COMPUTE,)))]
    assert shown == [kept.id]
    # Nor its links, nor can it be deleted again.
    links = await listed(backend, tenant, Query((STORAGELINK, NETWORKINTERFACE)))
    assert {each.source for each in links} == {kept.location}
    with pytest.raises(EntityNotFoundError):
        await backend.delete_entity(tenant, created)


async def test_suspend_without_hibernation_is_501(backend, tenant, images):
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    with pytest.raises(NotSupportedError, match="hibernation"):
        await backend.trigger_action(tenant, created, COMPUTE_ACTION + "suspend", {})


async def test_save_returns_an_os_tpl_that_launches_computes(backend, tenant, images, ec2):
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    outcome = await backend.trigger_action(
        tenant, created, COMPUTE_ACTION + "save", {"name": "golden", "method": "hot"}
    )
    assert outcome.created is not None and outcome.created.term.startswith("ami-")
    assert "golden" in outcome.created.title
    offered = {mixin.id for mixin in await backend.provider_mixins(tenant)}
    assert outcome.created.id in offered
    assert ec2.describe_images(ImageIds=[outcome.created.term])["Images"][0]["Name"] == "golden"
    clone = await backend.create_entity(tenant, compute(outcome.created.term))
    assert outcome.created.id in clone.mixins


async def test_resize_of_a_running_instance_is_409_as_on_aws(backend, tenant, images, ec2):
    # moto would accept ModifyInstanceAttribute on a running instance; AWS refuses it,
    # and so does the backend, before asking EC2.
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    desired = Resource(
        kind=COMPUTE,
        mixins=[image(images["debian-12"]), flavour("m5.large")],
        attributes=dict(created.attributes),
    )
    with pytest.raises(ConflictError, match="stop the compute"):
        await backend.update_entity(tenant, created, desired)
    described = ec2.describe_instances(InstanceIds=[created.id])["Reservations"][0]["Instances"][0]
    assert described["InstanceType"] == "t3.micro"


async def test_resize_of_a_stopped_instance_swaps_the_type(backend, tenant, images, ec2):
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    stopped = (await backend.trigger_action(tenant, created, COMPUTE_ACTION + "stop", {})).entity
    desired = Resource(
        kind=COMPUTE,
        mixins=[image(images["debian-12"]), flavour("m5.large")],
        attributes=dict(stopped.attributes),
    )
    resized = await backend.update_entity(tenant, stopped, desired)
    assert flavour("m5.large") in resized.mixins
    assert resized.attributes["occi.compute.cores"] == 2
    assert resized.attributes["occi.compute.memory"] == 8.0
    described = ec2.describe_instances(InstanceIds=[created.id])["Reservations"][0]["Instances"][0]
    assert described["InstanceType"] == "m5.large"


async def test_another_image_on_an_instance_is_501(backend, tenant, images):
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    desired = Resource(
        kind=COMPUTE,
        mixins=[image(images["rocky-9"]), flavour("t3.micro")],
        attributes=dict(created.attributes),
    )
    with pytest.raises(NotSupportedError, match="another image"):
        await backend.update_entity(tenant, created, desired)


async def test_a_new_title_is_the_name_tag(backend, tenant, images, ec2):
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    desired = Resource(
        kind=COMPUTE,
        mixins=list(created.mixins),
        attributes={**created.attributes, "occi.core.title": "db"},
    )
    updated = await backend.update_entity(tenant, created, desired)
    assert updated.title == "db"
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [created.id]}])["Tags"]
    assert {"Key": "Name", "Value": "db"} in [{"Key": t["Key"], "Value": t["Value"]} for t in tags]


async def test_delete_terminates_and_releases_the_elastic_ip(backend, tenant, images, ec2):
    created = await backend.create_entity(
        tenant, compute(images["debian-12"], links=[link(NETWORKINTERFACE, "/network/public")])
    )
    assert ec2.describe_addresses()["Addresses"]
    await backend.delete_entity(tenant, created)
    assert ec2.describe_addresses()["Addresses"] == []
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, COMPUTE, created.id)


async def test_changes_made_with_boto3_show_at_once(backend, tenant, images, ec2):
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    ec2.stop_instances(InstanceIds=[created.id])
    ec2.create_tags(Resources=[created.id], Tags=[{"Key": "Name", "Value": "renamed"}])
    seen = await backend.get_entity(tenant, COMPUTE, created.id)
    assert seen.attributes["occi.compute.state"] == "inactive"
    assert seen.title == "renamed"


async def test_another_tenants_compute_is_not_found(backend, tenant, other, images):
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(other, COMPUTE, created.id)


async def test_ids_that_no_ec2_thing_can_have_are_not_found(backend, tenant):
    calls = count_calls(backend)
    for wrong in ("vm-1", "vol-0123456789abcdef0", "i-", "../etc"):
        with pytest.raises(EntityNotFoundError):
            await backend.get_entity(tenant, COMPUTE, wrong)
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, NETWORK, "i-0123456789abcdef0")
    # The id says the kind: EC2 is not asked about an id of another kind.
    assert calls == []


async def test_suspend_hibernates_instances_launched_for_it(make_backend, tenant, images, ec2):
    backend = make_backend(hibernation=True)
    created = await backend.create_entity(tenant, compute(images["debian-12"]))
    described = ec2.describe_instances(InstanceIds=[created.id])["Reservations"][0]["Instances"][0]
    assert described["HibernationOptions"] == {"Configured": True}
    running = await backend.get_entity(tenant, COMPUTE, created.id)
    outcome = await backend.trigger_action(tenant, running, COMPUTE_ACTION + "suspend", {})
    # On its way to suspended; moto cannot report the hibernated state itself.
    assert outcome.entity.attributes["occi.compute.state"] == "waiting"
    stopped = ec2.describe_instances(InstanceIds=[created.id])["Reservations"][0]["Instances"][0]
    assert stopped["State"]["Name"] == "stopped"

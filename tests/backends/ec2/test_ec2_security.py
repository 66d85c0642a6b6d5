"""Security groups on moto's EC2: rules both ways, links to computes."""

from __future__ import annotations

import pytest
from ec2_helpers import COMPUTE, SECURITYGROUP, SECURITYGROUPLINK, compute, link

from pyocci.backends.errors import ConflictError, InvalidRequestError
from pyocci.model import Resource

pytestmark = pytest.mark.anyio

SSH = {
    "type": "inbound",
    "protocol": "tcp",
    "port": "22",
    "range": "10.0.0.0/8",
    "ipversion": "IPv4",
}
WEB = {
    "type": "inbound",
    "protocol": "tcp",
    "port": "80-81",
    "range": "0.0.0.0/0",
    "ipversion": "IPv4",
}


def group(rules, title="web") -> Resource:
    return Resource(
        kind=SECURITYGROUP, attributes={"occi.securitygroup.rules": rules, "occi.core.title": title}
    )


async def test_a_group_gets_exactly_its_rules(backend, tenant, ec2):
    created = await backend.create_entity(tenant, group([SSH]))
    assert created.id.startswith("sg-") and created.title == "web"
    assert created.attributes["occi.securitygroup.rules"] == [SSH]
    permissions = ec2.describe_security_groups(GroupIds=[created.id])["SecurityGroups"][0]
    assert permissions["IpPermissions"][0]["FromPort"] == 22
    assert permissions["IpPermissionsEgress"] == []


async def test_an_update_changes_only_the_difference(backend, tenant):
    created = await backend.create_entity(tenant, group([SSH]))
    desired = group([WEB])
    desired.attributes["occi.core.id"] = created.id
    updated = await backend.update_entity(tenant, created, desired)
    assert updated.attributes["occi.securitygroup.rules"] == [WEB]


async def test_bad_rules_are_refused_before_ec2_is_asked(backend, tenant, ec2):
    with pytest.raises(InvalidRequestError, match="protocol"):
        await backend.create_entity(tenant, group([{**SSH, "protocol": "smtp"}], title="bad"))
    names = [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]]
    assert "bad" not in names


async def test_link_a_group_to_a_compute_and_unlink_it(backend, tenant, images):
    machine = await backend.create_entity(tenant, compute(images["debian-12"]))
    created = await backend.create_entity(tenant, group([SSH]))
    linked = await backend.create_entity(
        tenant, link(SECURITYGROUPLINK, created.location, source=machine.location)
    )
    assert linked.id == f"{machine.id}_{created.id}"
    seen = await backend.get_entity(tenant, COMPUTE, machine.id)
    groups = [each.target for each in seen.links if each.kind == SECURITYGROUPLINK]
    assert created.location in groups
    with pytest.raises(ConflictError, match="DependencyViolation"):
        await backend.delete_entity(tenant, created)
    await backend.delete_entity(tenant, linked)
    seen = await backend.get_entity(tenant, COMPUTE, machine.id)
    assert created.location not in [each.target for each in seen.links]


async def test_the_last_group_of_an_instance_stays(backend, tenant, images):
    machine = await backend.create_entity(tenant, compute(images["debian-12"]))
    only = next(each for each in machine.links if each.kind == SECURITYGROUPLINK)
    with pytest.raises(ConflictError, match="at least one security group"):
        await backend.delete_entity(tenant, only)

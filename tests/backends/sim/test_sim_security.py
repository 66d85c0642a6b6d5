"""Security groups: rules checked and normalised, links from computes, updates."""

from __future__ import annotations

import pytest
from sim_helpers import (
    SECURITYGROUP,
    SECURITYGROUPLINK,
    assert_declared,
    compute,
    link,
    security_group,
)

from pyocci.backends.errors import ConflictError, InvalidRequestError
from pyocci.model import Resource

pytestmark = pytest.mark.anyio

SSH = {
    "type": "inbound",
    "protocol": "tcp",
    "port": "22",
    "range": "0.0.0.0/0",
    "ipversion": "IPv4",
}


async def test_rules_are_kept_in_canonical_form(backend, tenant):
    group = await backend.create_entity(
        tenant,
        security_group(
            [
                SSH,
                {"type": "inbound", "protocol": "TCP", "port": 8080},
                {"type": "outbound", "protocol": "any", "range": "2001:db8::/32"},
                {"type": "inbound", "protocol": "udp", "port": "8000-8080", "range": "10.0.0.1/8"},
            ],
            title="web",
        ),
    )
    assert group.attributes["occi.securitygroup.rules"] == [
        SSH,
        {
            "type": "inbound",
            "protocol": "tcp",
            "port": "8080",
            "range": "0.0.0.0/0",
            "ipversion": "IPv4",
        },
        {"type": "outbound", "protocol": "any", "range": "2001:db8::/32", "ipversion": "IPv6"},
        {
            "type": "inbound",
            "protocol": "udp",
            "port": "8000-8080",
            "range": "10.0.0.0/8",
            "ipversion": "IPv4",
        },
    ]
    assert group.attributes["occi.securitygroup.state"] == "active"
    assert group.location == f"/securitygroup/{group.id}"
    await assert_declared(backend, tenant, group)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("open", "must be an array of rule objects"),
        (["ssh"], "rule 1: must be an object"),
        ([{**SSH, "type": "sideways"}], "rule 1: type must be inbound or outbound"),
        ([{**SSH, "protocol": "sctp"}], "protocol must be one of tcp, udp, icmp, any"),
        ([{**SSH, "port": "http"}], "port must be a number or a range"),
        ([{**SSH, "port": "0"}], "ports are between 1 and 65535"),
        ([{**SSH, "port": "90-80"}], "ends before it starts"),
        ([{**SSH, "protocol": "icmp"}], "a icmp rule takes no port"),
        ([{**SSH, "range": "everywhere"}], "range must be a CIDR"),
        ([{**SSH, "ipversion": "IPv5"}], "ipversion must be IPv4 or IPv6"),
        ([{**SSH, "range": "::/0"}], "is not an IPv4 range"),
        ([{**SSH, "colour": "red"}], "unknown keys colour"),
        ([SSH, {**SSH, "type": None}], "rule 2: type"),
    ],
)
async def test_bad_rules_say_what_is_wrong(backend, tenant, rules, message):
    with pytest.raises(InvalidRequestError, match=message):
        await backend.create_entity(tenant, security_group(rules))


async def test_rules_can_be_replaced(backend, tenant):
    group = await backend.create_entity(tenant, security_group([SSH]))
    updated = await backend.update_entity(
        tenant,
        group,
        Resource(
            kind=SECURITYGROUP,
            attributes={**group.attributes, "occi.securitygroup.rules": []},
        ),
    )
    assert updated.attributes["occi.securitygroup.rules"] == []
    with pytest.raises(InvalidRequestError, match="protocol"):
        await backend.update_entity(
            tenant,
            updated,
            Resource(
                kind=SECURITYGROUP,
                attributes={"occi.securitygroup.rules": [{**SSH, "protocol": "gre"}]},
            ),
        )


async def test_a_group_applies_to_a_compute_once(backend, tenant):
    group = await backend.create_entity(tenant, security_group([SSH]))
    vm = await backend.create_entity(
        tenant, compute(links=[link(SECURITYGROUPLINK, None, group.location)])
    )
    applied = vm.links[0]
    assert applied.kind == SECURITYGROUPLINK
    assert applied.attributes["occi.securitygrouplink.state"] == "active"
    assert applied.attributes["occi.core.target.kind"] == SECURITYGROUP
    await assert_declared(backend, tenant, applied)
    with pytest.raises(ConflictError, match="already applies to the compute"):
        await backend.create_entity(tenant, link(SECURITYGROUPLINK, vm.location, group.location))
    with pytest.raises(ConflictError, match="detach first"):
        await backend.delete_entity(tenant, group)
    await backend.delete_entity(tenant, applied)
    await backend.delete_entity(tenant, group)


async def test_a_group_link_targets_a_group(backend, tenant):
    vm = await backend.create_entity(tenant, compute())
    with pytest.raises(InvalidRequestError, match="not one of your securitygroup"):
        await backend.create_entity(tenant, link(SECURITYGROUPLINK, vm.location, vm.location))

"""Security groups on real Neutron, and their links to servers of a real Nova networked by it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from neutron_fixtures import locate
from openstack_helpers import IMAGE, TINY, flavor, image

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
)
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.backends.openstack.catalogue import Catalogue
from pyocci.backends.openstack.compute import Computes, tenant_tag
from pyocci.backends.openstack.interfaces import Interfaces
from pyocci.backends.openstack.network import Networks
from pyocci.backends.openstack.security import SecurityGroups
from pyocci.model import Link, Resource
from pyocci.model.entity import CORE_SOURCE, CORE_TARGET
from pyocci.model.extensions import SECURITYGROUP, SECURITYGROUPLINK
from pyocci.model.infrastructure import COMPUTE, IPNETWORK, NETWORK, NETWORKINTERFACE

pytestmark = pytest.mark.anyio

SSH = {"type": "inbound", "protocol": "tcp", "port": "22", "range": "10.0.0.0/8"}
WEB = {"type": "inbound", "protocol": "tcp", "port": "8000-8080"}
PING6 = {"type": "inbound", "protocol": "icmp", "range": "2001:db8::/32"}
OUT = {"type": "outbound", "protocol": "any"}


def group(title: str, *rules: dict[str, str], **attributes: Any) -> Resource:
    """A securitygroup to create, as the service hands it to the backend."""
    return Resource(
        kind=SECURITYGROUP.id,
        attributes={
            "occi.core.title": title,
            "occi.securitygroup.rules": [dict(rule) for rule in rules],
            **attributes,
        },
    )


def as_set(rules: list[dict[str, str]]) -> set[frozenset[tuple[str, str]]]:
    """Rules compared whatever their order."""
    return {frozenset(rule.items()) for rule in rules}


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def groups(network_api: OpenStackApi) -> SecurityGroups:
    return SecurityGroups(network_api, locate)


@pytest.fixture
def tenant() -> Tenant:
    return Tenant("alice-" + uuid.uuid4().hex[:8])


@pytest.fixture
def other() -> Tenant:
    return Tenant("bob-" + uuid.uuid4().hex[:8])


async def test_a_group_has_exactly_the_rules_asked_for(groups, tenant, neutron_sdk) -> None:
    created = await groups.create(
        tenant, group(unique("web"), SSH, WEB, PING6, **{"occi.core.summary": "front end"})
    )
    try:
        assert created.location == f"/securitygroup/{created.id}"
        assert created.summary == "front end"
        rules = created.attributes["occi.securitygroup.rules"]
        assert as_set(rules) == as_set(
            [
                {**SSH, "ipversion": "IPv4"},
                {**WEB, "range": "0.0.0.0/0", "ipversion": "IPv4"},
                {**PING6, "ipversion": "IPv6"},
            ]
        )
        # Neutron's own: no egress rules left, the ports and prefixes as asked.
        made = neutron_sdk.network.get_security_group(created.id)
        assert tenant_tag(tenant) in made.tags
        by_direction = {r["direction"] for r in made.security_group_rules}
        assert by_direction == {"ingress"}
        web = next(r for r in made.security_group_rules if r["port_range_min"] == 8000)
        assert (web["protocol"], web["port_range_max"], web["ethertype"]) == ("tcp", 8080, "IPv4")
        read = await groups.get(tenant, SECURITYGROUP.id, created.id)
        assert read.attributes == created.attributes
    finally:
        await groups.delete(tenant, created)
    # Neutron deletes before it answers: gone for OCCI and for Neutron at once.
    assert neutron_sdk.network.find_security_group(created.id) is None
    with pytest.raises(EntityNotFoundError):
        await groups.get(tenant, SECURITYGROUP.id, created.id)


async def test_an_update_changes_only_the_difference(groups, tenant, neutron_sdk) -> None:
    created = await groups.create(tenant, group(unique("db"), SSH, OUT))
    try:
        made = neutron_sdk.network.get_security_group(created.id)
        before = {r["id"] for r in made.security_group_rules}
        desired = group(unique("renamed"), SSH, WEB)
        updated = await groups.update(tenant, created, desired)
        assert updated.title == desired.title
        rules = updated.attributes["occi.securitygroup.rules"]
        assert {r.get("port") for r in rules} == {"22", "8000-8080"}
        after = neutron_sdk.network.get_security_group(created.id)
        ids = {r["id"] for r in after.security_group_rules}
        # The SSH rule is the same Neutron rule; the outbound ones went, WEB came.
        assert len(before & ids) == 1
        assert {r["direction"] for r in after.security_group_rules} == {"ingress"}
    finally:
        await groups.delete(tenant, created)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"type": "sideways", "protocol": "tcp"}], "type must be inbound or outbound"),
        ([{"type": "inbound", "protocol": "icmp", "port": "22"}], "takes no port"),
        ("all", "must be an array"),
    ],
)
async def test_bad_rules_are_refused_with_the_reason(
    groups, tenant, neutron_sdk, rules, message
) -> None:
    name = unique("bad")
    entity = group(name)
    entity.attributes["occi.securitygroup.rules"] = rules
    with pytest.raises(InvalidRequestError, match=message):
        await groups.create(tenant, entity)
    assert neutron_sdk.network.find_security_group(name) is None


async def test_names_are_unique_per_tenant_and_required(groups, tenant, other) -> None:
    name = unique("same")
    first = await groups.create(tenant, group(name, SSH))
    try:
        with pytest.raises(ConflictError, match="already a security group named"):
            await groups.create(tenant, group(name))
        # Another tenant may use the name.
        theirs = await groups.create(other, group(name))
        await groups.delete(other, theirs)
        with pytest.raises(InvalidRequestError, match="needs a title"):
            await groups.create(tenant, group(""))
    finally:
        await groups.delete(tenant, first)


async def test_tenants_see_only_their_own_groups(groups, tenant, other, neutron) -> None:
    mine = await groups.create(tenant, group(unique("mine"), SSH))
    second = await groups.create(tenant, group(unique("second")))
    try:
        before = neutron.requests_served()
        listed = [g async for g in groups.listing(tenant, Query(kinds=(SECURITYGROUP.id,)))]
        # One page, rules included.
        assert neutron.requests_served() - before == 1
        assert {g.id for g in listed} == {mine.id, second.id}
        assert [g async for g in groups.listing(other, Query(kinds=(SECURITYGROUP.id,)))] == []
        by_title = Query(kinds=(SECURITYGROUP.id,), attributes={"occi.core.title": mine.title})
        assert [g.id async for g in groups.listing(tenant, by_title)] == [mine.id]
        paged = Query(kinds=(SECURITYGROUP.id,), offset=1, limit=1)
        assert len([g async for g in groups.listing(tenant, paged)]) == 1
        with pytest.raises(EntityNotFoundError):
            await groups.get(other, SECURITYGROUP.id, mine.id)
        with pytest.raises(EntityNotFoundError):
            await groups.delete(other, mine)
    finally:
        await groups.delete(tenant, mine)
        await groups.delete(tenant, second)


# --- links, on the Nova networked by the Neutron fixture ------------------------------


@pytest.fixture
def linked_groups(cloud_api: OpenStackApi) -> SecurityGroups:
    return SecurityGroups(cloud_api, locate)


@pytest.fixture
async def server(cloud_api: OpenStackApi, cloud_sdk: Any, tenant: Tenant):
    """An active server of the tenant on a network of its own (so it has a port)."""
    networks = Networks(cloud_api, locate)
    network = await networks.create(
        tenant,
        Resource(
            kind=NETWORK.id,
            mixins=[IPNETWORK.id],
            attributes={"occi.network.address": "10.60.0.0/24"},
        ),
    )
    made = cloud_sdk.compute.create_server(
        name="sg-test",
        image_id=IMAGE,
        flavor_id=TINY,
        networks=[{"uuid": network.id}],
        tags=[tenant_tag(tenant)],
    )
    yield cloud_sdk.compute.wait_for_server(made, status="ACTIVE", wait=120)
    cloud_sdk.compute.delete_server(made)
    cloud_sdk.compute.wait_for_delete(made, wait=120)
    await networks.delete(tenant, network)


def link(server_id: str, group_id: str) -> Link:
    return Link(
        kind=SECURITYGROUPLINK.id,
        attributes={
            CORE_SOURCE: f"/compute/{server_id}",
            CORE_TARGET: f"/securitygroup/{group_id}",
        },
    )


async def test_a_link_puts_the_group_on_the_servers_port_through_nova(
    linked_groups, tenant, other, server, cloud_sdk
) -> None:
    made_group = await linked_groups.create(tenant, group(unique("linked"), SSH))
    try:
        made = await linked_groups.create(tenant, link(server.id, made_group.id))
        assert made.id == f"{server.id}_{made_group.id}"
        assert made.location == f"/securitygrouplink/{server.id}_{made_group.id}"
        assert made.target == f"/securitygroup/{made_group.id}"
        # Nova put it on the port, and names it on the server.
        [port] = cloud_sdk.network.ports(device_id=server.id)
        assert made_group.id in port.security_group_ids
        names = {g["name"] for g in cloud_sdk.compute.get_server(server.id).security_groups}
        assert made_group.title in names
        # Read back from the server record: one Neutron call for the page.
        record = cloud_sdk.compute.get_server(server.id)
        links = await linked_groups.links_of(tenant, [record])
        assert [found.id for found in links[server.id]] == [made.id]
        listed = [
            found
            async for found in linked_groups.listing(tenant, Query(kinds=(SECURITYGROUPLINK.id,)))
        ]
        assert [found.id for found in listed] == [made.id]
        with pytest.raises(EntityNotFoundError):
            await linked_groups.get(other, SECURITYGROUPLINK.id, made.id)
        # A group in use is not deleted: Neutron's word.
        with pytest.raises(ConflictError, match=r"OpenStack: .*in use"):
            await linked_groups.delete(tenant, made_group)
        await linked_groups.delete(tenant, made)
        [port] = cloud_sdk.network.ports(device_id=server.id)
        assert made_group.id not in port.security_group_ids
        with pytest.raises(EntityNotFoundError):
            await linked_groups.get(tenant, SECURITYGROUPLINK.id, made.id)
    finally:
        await linked_groups.delete(tenant, made_group)


async def test_another_tenants_group_cannot_be_linked(linked_groups, tenant, other, server) -> None:
    theirs = await linked_groups.create(other, group(unique("theirs")))
    try:
        with pytest.raises(EntityNotFoundError):
            await linked_groups.create(tenant, link(server.id, theirs.id))
    finally:
        await linked_groups.delete(other, theirs)


async def test_a_compute_created_with_group_links_boots_with_those_groups(
    cloud_api, linked_groups, tenant, cloud_sdk
) -> None:
    networks = Networks(cloud_api, locate)
    interfaces = Interfaces(cloud_api, networks, locate)
    computes = Computes(cloud_api, Catalogue(cloud_api, 600), locate)
    computes.link_sources = [interfaces, linked_groups]
    network = await networks.create(
        tenant,
        Resource(
            kind=NETWORK.id,
            mixins=[IPNETWORK.id],
            attributes={"occi.network.address": "10.61.0.0/24"},
        ),
    )
    made_group = await linked_groups.create(tenant, group(unique("at-boot"), SSH))
    wanted = Resource(
        kind=COMPUTE.id,
        mixins=[image(), flavor()],
        links=[
            Link(kind=NETWORKINTERFACE.id, attributes={CORE_TARGET: f"/network/{network.id}"}),
            Link(
                kind=SECURITYGROUPLINK.id,
                attributes={CORE_TARGET: f"/securitygroup/{made_group.id}"},
            ),
        ],
    )
    created = await computes.create(tenant, wanted)
    try:
        cloud_sdk.compute.wait_for_server(
            cloud_sdk.compute.get_server(created.id), status="ACTIVE", wait=120
        )
        [port] = cloud_sdk.network.ports(device_id=created.id)
        # Only the group asked for: not the project's default.
        assert port.security_group_ids == [made_group.id]
        shown = await computes.get(tenant, COMPUTE.id, created.id)
        assert {link.kind for link in shown.links} == {NETWORKINTERFACE.id, SECURITYGROUPLINK.id}
    finally:
        cloud_sdk.compute.delete_server(created.id)
        cloud_sdk.compute.wait_for_delete(cloud_sdk.compute.get_server(created.id), wait=120)
        await linked_groups.delete(tenant, made_group)
        await networks.delete(tenant, network)


async def test_ids_that_cannot_be_neutrons_are_not_found(groups, tenant) -> None:
    for strange in ("../networks", "a?tags=x", ""):
        with pytest.raises(EntityNotFoundError):
            await groups.get(tenant, SECURITYGROUP.id, strange)
        with pytest.raises(EntityNotFoundError):
            await groups.get(tenant, SECURITYGROUPLINK.id, f"{strange}_{strange}")

"""Security groups and their links on a real oned: groups of the tenant's group with the
rules asked for, the provider's ``default`` shown read-only, rules replaced and carried
to the VMs, groups on NICs at creation and at run time."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from one_helpers import compute, delete, listed, os_tpl, wait_state

from pyocci.backends.api import Query
from pyocci.backends.errors import ConflictError, EntityNotFoundError, InvalidRequestError
from pyocci.backends.securityrules import normalise_rules
from pyocci.model import Link, Resource
from pyocci.model.extensions import SECURITYGROUP, SECURITYGROUPLINK
from pyocci.model.infrastructure import NETWORK, NETWORKINTERFACE

pytestmark = pytest.mark.anyio

RULES = "occi.securitygroup.rules"
SSH = {"type": "inbound", "protocol": "tcp", "port": "22", "range": "0.0.0.0/0"}
WEB = {"type": "inbound", "protocol": "tcp", "port": "8000-8080", "range": "10.20.0.0/16"}
OUT = [
    {"type": "outbound", "protocol": "any", "range": "0.0.0.0/0"},
    {"type": "outbound", "protocol": "any", "range": "::/0"},
]


def group(rules: list[dict], **attributes: Any) -> Resource:
    return Resource(kind=SECURITYGROUP.id, attributes={RULES: rules, **attributes})


def link(kind: str, source: str | None, target: str | None) -> Link:
    return Link(kind=kind, attributes={"occi.core.source": source, "occi.core.target": target})


def as_set(rules: list[dict]) -> set[tuple]:
    return {tuple(sorted(rule.items())) for rule in rules}


def changed(entity: Resource, **attributes: Any) -> Resource:
    desired = Resource(kind=entity.kind, attributes={**entity.attributes, **attributes}, links=[])
    desired.location, desired.id = entity.location, entity.id
    return desired


async def network(backend, tenant, cidr: str) -> Resource:
    """A network of the tenant, once oned has made it."""
    made = await backend.create_entity(
        tenant, Resource(kind=NETWORK.id, attributes={"occi.network.address": cidr})
    )
    with anyio.fail_after(60):
        while (await backend.get_entity(tenant, NETWORK.id, made.id)).attributes[
            "occi.network.state"
        ] != "active":
            await anyio.sleep(0.2)
    return made


def nic_groups(one_cloud, vm_id: str) -> list[str]:
    """The SECURITY_GROUPS of each NIC of the VM, as oned has them."""
    nics = one_cloud.client().vm.info(int(vm_id)).TEMPLATE.get("NIC")
    nics = nics if isinstance(nics, list) else [nics]
    return [nic["SECURITY_GROUPS"] for nic in nics]


async def test_a_group_keeps_the_rules_asked_for(backend, tenant, one_cloud) -> None:
    asked = [SSH, WEB, *OUT, {"type": "inbound", "protocol": "icmp", "range": "::/0"}]
    made = await backend.create_entity(
        tenant, group(asked, **{"occi.core.title": "web", "occi.core.summary": "ssh and web"})
    )
    assert made.location == f"/securitygroup/{made.id}"
    assert as_set(made.attributes[RULES]) == as_set(normalise_rules(asked))
    assert len(made.attributes[RULES]) == len(asked)
    assert (made.title, made.attributes["occi.core.summary"]) == ("web", "ssh and web")
    assert made.attributes["occi.securitygroup.state"] == "active"
    read = await backend.get_entity(tenant, SECURITYGROUP.id, made.id)
    assert read.attributes[RULES] == made.attributes[RULES]
    # What oned keeps: 0.0.0.0/0 alone as the two IPv4 halves, both versions' everywhere as
    # one rule without an address, ICMPv6 for IPv6's ICMP.
    record = one_cloud.client().secgroup.info(int(made.id))
    vectors = record.TEMPLATE["RULE"]
    assert {(v.get("PROTOCOL"), v.get("IP"), v.get("SIZE")) for v in vectors} == {
        ("TCP", "0.0.0.0", "2147483648"),
        ("TCP", "128.0.0.0", "2147483648"),
        ("TCP", "10.20.0.0", "65536"),
        ("ALL", None, None),
        ("ICMPV6", None, None),
    }
    assert int(record.GID) == (await backend.tenancy.acting(tenant)).group_id
    assert int(record.PERMISSIONS.GROUP_U) == 1
    found = await listed(backend, tenant, Query(kinds=(SECURITYGROUP.id,)))
    assert made.id in {each.id for each in found}
    await backend.delete_entity(tenant, read)
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, SECURITYGROUP.id, made.id)


async def test_rules_opennebula_cannot_keep_are_refused(backend, tenant) -> None:
    wide = {"type": "inbound", "protocol": "tcp", "range": "2001:db8::/64"}
    with pytest.raises(InvalidRequestError, match=r"/97 or longer"):
        await backend.create_entity(tenant, group([SSH, wide]))
    with pytest.raises(InvalidRequestError, match=r"::/0 alone"):
        await backend.create_entity(tenant, group([{**SSH, "range": "::/0"}]))
    with pytest.raises(InvalidRequestError, match=r"type must be inbound or outbound"):
        await backend.create_entity(tenant, group([{**SSH, "type": "sideways"}]))
    found = await listed(backend, tenant, Query(kinds=(SECURITYGROUP.id,)))
    assert [each.id for each in found if each.title != "default"] == []


async def test_the_providers_default_group_is_shown_and_kept_as_it_is(backend, tenant) -> None:
    found = await listed(backend, tenant, Query(kinds=(SECURITYGROUP.id,)))
    default = next(each for each in found if each.id == "0")
    assert default.title == "default"
    # OpenNebula's ALL rules without an address: everything, both IP versions, both ways.
    assert as_set(default.attributes[RULES]) == as_set(
        normalise_rules([*OUT, *({**rule, "type": "inbound"} for rule in OUT)])
    )
    assert "shared by the provider" in default.attributes["occi.securitygroup.state.message"]
    with pytest.raises(ConflictError, match="shared by the provider"):
        await backend.update_entity(tenant, default, changed(default, **{RULES: [SSH]}))
    with pytest.raises(ConflictError, match="shared by the provider"):
        await backend.delete_entity(tenant, default)


async def test_another_tenants_group_is_neither_seen_nor_linked(backend, tenant, other) -> None:
    theirs = await backend.create_entity(other, group([SSH]))
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, SECURITYGROUP.id, theirs.id)
    found = await listed(backend, tenant, Query(kinds=(SECURITYGROUP.id,)))
    assert theirs.id not in {each.id for each in found}
    net = await network(backend, tenant, "10.30.0.0/28")
    wanted = compute(await os_tpl(backend, tenant))
    wanted.links = [
        link(NETWORKINTERFACE.id, None, net.location),
        link(SECURITYGROUPLINK.id, None, theirs.location),
    ]
    with pytest.raises(InvalidRequestError, match="one of your security groups"):
        await backend.create_entity(tenant, wanted)
    await backend.delete_entity(other, theirs)


async def test_groups_linked_at_creation_and_at_run_time(backend, tenant, one_cloud) -> None:
    web = await backend.create_entity(tenant, group([SSH, WEB]))
    admin = await backend.create_entity(tenant, group([{**SSH, "range": "10.0.0.0/8"}]))
    net = await network(backend, tenant, "10.31.0.0/28")
    wanted = compute(await os_tpl(backend, tenant))
    wanted.links = [
        link(NETWORKINTERFACE.id, None, net.location),
        link(SECURITYGROUPLINK.id, None, web.location),
    ]
    vm = await backend.create_entity(tenant, wanted)
    # oned adds its default group (0) of the network to the NIC.
    assert nic_groups(one_cloud, vm.id) == [f"0,{web.id}"]
    links = {each.target: each for each in vm.links if each.kind == SECURITYGROUPLINK.id}
    assert links.keys() == {web.location, "/securitygroup/0"}
    assert links[web.location].id == f"{vm.id}-sg-{web.id}"
    await wait_state(backend, tenant, vm.id, "active")
    for each in links.values():
        read = await backend.get_entity(tenant, SECURITYGROUPLINK.id, each.id)
        assert read.source == vm.location
    found = await listed(backend, tenant, Query(kinds=(SECURITYGROUPLINK.id,)))
    assert {each.id for each in found} == {each.id for each in links.values()}

    # At run time: the other group on the NIC; the default one taken off.
    made = await backend.create_entity(
        tenant, link(SECURITYGROUPLINK.id, vm.location, admin.location)
    )
    assert made.id == f"{vm.id}-sg-{admin.id}"
    assert nic_groups(one_cloud, vm.id) == [f"0,{web.id},{admin.id}"]
    with pytest.raises(ConflictError, match="already on every NIC"):
        await backend.create_entity(tenant, link(SECURITYGROUPLINK.id, vm.location, admin.location))
    await backend.delete_entity(tenant, links["/securitygroup/0"])
    assert nic_groups(one_cloud, vm.id) == [f"{web.id},{admin.id}"]
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, SECURITYGROUPLINK.id, f"{vm.id}-sg-0")

    # A group in use is not deleted; unlinked, it is.
    with pytest.raises(ConflictError, match="delete its securitygrouplinks first"):
        await backend.delete_entity(tenant, web)
    await backend.delete_entity(tenant, links[web.location])
    shown = await backend.get_entity(tenant, vm.kind, vm.id)
    assert {each.target for each in shown.links if each.kind == SECURITYGROUPLINK.id} == {
        admin.location
    }
    await backend.delete_entity(tenant, web)
    await delete(backend, tenant, vm)


async def test_new_rules_replace_the_old_and_reach_the_vms(backend, tenant, one_cloud) -> None:
    made = await backend.create_entity(tenant, group([SSH]))
    one = one_cloud.client()
    # A rule OCCI has no form for, added with OpenNebula's own tools: kept by an update.
    vectors = one.secgroup.info(int(made.id)).TEMPLATE["RULE"]
    vectors = vectors if isinstance(vectors, list) else [vectors]
    lines = [
        "RULE = [ " + ", ".join(f'{k} = "{v}"' for k, v in vector.items()) + " ]"
        for vector in vectors
    ]
    lines.append('RULE = [ RULE_TYPE = "INBOUND", PROTOCOL = "ICMP", ICMP_TYPE = "8" ]')
    one.secgroup.update(int(made.id), "\n".join(lines), 0)
    read = await backend.get_entity(tenant, SECURITYGROUP.id, made.id)
    assert read.attributes[RULES] == normalise_rules([SSH])

    net = await network(backend, tenant, "10.32.0.0/28")
    wanted = compute(await os_tpl(backend, tenant))
    wanted.links = [
        link(NETWORKINTERFACE.id, None, net.location),
        link(SECURITYGROUPLINK.id, None, made.location),
    ]
    vm = await backend.create_entity(tenant, wanted)
    await wait_state(backend, tenant, vm.id, "active")

    updated = await backend.update_entity(
        tenant, read, changed(read, **{RULES: [WEB], "occi.core.title": "web only"})
    )
    assert updated.attributes[RULES] == normalise_rules([WEB])
    assert updated.title == "web only"
    kept = one.secgroup.info(int(made.id)).TEMPLATE["RULE"]
    assert {(v["PROTOCOL"], v.get("RANGE"), v.get("ICMP_TYPE")) for v in kept} == {
        ("ICMP", None, "8"),
        ("TCP", "8000:8080", None),
    }

    def vm_rules() -> set[tuple]:
        found = one.vm.info(int(vm.id)).TEMPLATE.get("SECURITY_GROUP_RULE") or []
        found = found if isinstance(found, list) else [found]
        return {
            (r.get("PROTOCOL"), r.get("RANGE"))
            for r in found
            if r.get("SECURITY_GROUP_ID") == made.id
        }

    # oned commits the new rules to every VM using the group, in the background.
    with anyio.fail_after(60):
        while vm_rules() != {("ICMP", None), ("TCP", "8000:8080")}:
            await anyio.sleep(0.2)
    await delete(backend, tenant, vm)


async def test_a_compute_without_a_nic_gets_no_group(backend, tenant) -> None:
    made = await backend.create_entity(tenant, group([SSH]))
    wanted = compute(await os_tpl(backend, tenant))
    wanted.links = [link(SECURITYGROUPLINK.id, None, made.location)]
    with pytest.raises(InvalidRequestError, match="networkinterface"):
        await backend.create_entity(tenant, wanted)
    vm = await backend.create_entity(tenant, compute(await os_tpl(backend, tenant)))
    with pytest.raises(ConflictError, match="no network interface"):
        await backend.create_entity(tenant, link(SECURITYGROUPLINK.id, vm.location, made.location))
    await delete(backend, tenant, vm)
    await backend.delete_entity(tenant, made)


async def test_a_group_put_on_a_nic_with_pyone_shows_as_a_link(backend, tenant, one_cloud) -> None:
    net = await network(backend, tenant, "10.33.0.0/28")
    wanted = compute(await os_tpl(backend, tenant))
    wanted.links = [link(NETWORKINTERFACE.id, None, net.location)]
    vm = await backend.create_entity(tenant, wanted)
    await wait_state(backend, tenant, vm.id, "active")
    # Made and attached behind the backend's back, as the tenant's user: the backend has
    # read the groups the tenant sees already, and learns of the new one on its own.
    acting = await backend.tenancy.acting(tenant)
    mine = one_cloud.client(acting.session)
    made = mine.secgroup.allocate('NAME = "made-with-pyone"')
    mine.vm.attachsg(int(vm.id), 0, made)
    with anyio.fail_after(30):
        while True:
            shown = await backend.get_entity(tenant, vm.kind, vm.id)
            if f"/securitygroup/{made}" in {each.target for each in shown.links}:
                break
            await anyio.sleep(0.5)
    await delete(backend, tenant, vm)


async def test_reading_a_compute_asks_oned_for_the_vm_alone(make_backend, tenant) -> None:
    """The groups a tenant sees are cached with its templates: a compute whose NIC carries
    security groups costs one oned call to read, as one without does."""
    backend = await make_backend(template_ttl=600)
    made = await backend.create_entity(tenant, group([SSH]))
    net = await network(backend, tenant, "10.34.0.0/28")
    wanted = compute(await os_tpl(backend, tenant))
    wanted.links = [
        link(NETWORKINTERFACE.id, None, net.location),
        link(SECURITYGROUPLINK.id, None, made.location),
    ]
    vm = await backend.create_entity(tenant, wanted)
    await backend.get_entity(tenant, vm.kind, vm.id)
    asked: list[str] = []
    real = backend.api.call

    async def counted(session: str, method: str, *arguments: Any) -> Any:
        asked.append(method)
        return await real(session, method, *arguments)

    backend.api.call = counted
    read = await backend.get_entity(tenant, vm.kind, vm.id)
    backend.api.call = real
    assert asked == ["vm.info"]
    assert f"{vm.id}-sg-{made.id}" in {each.id for each in read.links}
    await delete(backend, tenant, vm)

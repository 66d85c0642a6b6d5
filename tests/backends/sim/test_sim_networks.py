"""Networks and interfaces: shared networks, address pools, MACs, interface names, public IPs."""

from __future__ import annotations

import pytest
from sim_helpers import (
    COMPUTE,
    IPNETWORK,
    IPNETWORKINTERFACE,
    NETWORK,
    NETWORKINTERFACE,
    assert_declared,
    compute,
    listing,
    network,
    nic,
)

from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    QuotaExceededError,
)
from pyocci.backends.sim import Quotas
from pyocci.model import Resource

pytestmark = pytest.mark.anyio


def address(link) -> str:
    return link.attributes["occi.networkinterface.address"]


async def test_every_tenant_sees_the_shared_networks(backend, tenant, other):
    for who in (tenant, other):
        public, private = await listing(backend, who, NETWORK)
        assert public.location == "/network/public"
        assert private.location == "/network/private"
    public = await backend.get_entity(tenant, NETWORK, "public")
    assert public.attributes["occi.network.address"] == "203.0.113.0/24"
    assert public.attributes["occi.network.gateway"] == "203.0.113.1"
    assert public.attributes["occi.network.state"] == "active"
    assert public.mixins == [IPNETWORK]
    private = await backend.get_entity(tenant, NETWORK, "private")
    assert private.attributes["occi.network.address"] == "172.16.0.0/16"
    await assert_declared(backend, tenant, public)
    # A compute called "public" is not a network.
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, COMPUTE, "public")


async def test_shared_networks_cannot_be_changed_or_deleted(backend, tenant):
    public = await backend.get_entity(tenant, NETWORK, "public")
    with pytest.raises(ConflictError, match="/network/public belongs to the provider"):
        await backend.delete_entity(tenant, public)
    with pytest.raises(ConflictError, match="cannot be changed"):
        await backend.update_entity(tenant, public, public)
    with pytest.raises(ConflictError, match="/network/public already exists"):
        await backend.create_entity(
            tenant, Resource(kind=NETWORK, attributes={"occi.core.id": "public"})
        )


async def test_a_network_gets_a_fresh_subnet_and_its_gateway(backend, tenant, other):
    first = await backend.create_entity(tenant, network(title="a"))
    second = await backend.create_entity(tenant, network())
    explicit = await backend.create_entity(tenant, network("10.0.2.0/24"))
    fourth = await backend.create_entity(tenant, network())
    assert first.attributes["occi.network.address"] == "10.0.0.0/24"
    assert first.attributes["occi.network.gateway"] == "10.0.0.1"
    assert first.attributes["occi.network.allocation"] == "dynamic"
    assert first.attributes["occi.network.state"] == "active"
    assert first.mixins == [IPNETWORK]
    assert second.attributes["occi.network.address"] == "10.0.1.0/24"
    assert explicit.attributes["occi.network.address"] == "10.0.2.0/24"
    assert fourth.attributes["occi.network.address"] == "10.0.3.0/24"
    # Fresh per tenant: another tenant starts at the beginning again.
    theirs = await backend.create_entity(other, network())
    assert theirs.attributes["occi.network.address"] == "10.0.0.0/24"
    await assert_declared(backend, tenant, first)
    # Without the ipnetwork mixin it still is an IP network.
    bare = await backend.create_entity(tenant, Resource(kind=NETWORK, attributes={}))
    assert bare.mixins == [IPNETWORK]


async def test_a_given_range_and_gateway(backend, tenant):
    net = await backend.create_entity(
        tenant,
        network("192.168.7.9/24", attributes={"occi.network.gateway": "192.168.7.254"}),
    )
    assert net.attributes["occi.network.address"] == "192.168.7.0/24"
    assert net.attributes["occi.network.gateway"] == "192.168.7.254"
    with pytest.raises(InvalidRequestError, match="not a CIDR"):
        await backend.create_entity(tenant, network("192.168.300.0/24"))
    with pytest.raises(InvalidRequestError, match="too small"):
        await backend.create_entity(tenant, network("192.168.1.0/31"))
    with pytest.raises(InvalidRequestError, match="not in the network"):
        await backend.create_entity(
            tenant, network("192.168.8.0/24", attributes={"occi.network.gateway": "10.1.1.1"})
        )


async def test_addresses_are_handed_out_in_order(backend, tenant):
    net = await backend.create_entity(
        tenant, network("192.168.5.0/24", attributes={"occi.network.gateway": "192.168.5.3"})
    )
    vm = await backend.create_entity(tenant, compute())
    links = [await backend.create_entity(tenant, nic(vm.location, net.location)) for _ in range(4)]
    # .1 and .2 first, .3 is the gateway.
    assert [address(link) for link in links] == [
        "192.168.5.1",
        "192.168.5.2",
        "192.168.5.4",
        "192.168.5.5",
    ]
    assert [link.attributes["occi.networkinterface.interface"] for link in links] == [
        "eth0",
        "eth1",
        "eth2",
        "eth3",
    ]
    first = links[0]
    assert first.attributes["occi.networkinterface.gateway"] == "192.168.5.3"
    assert first.attributes["occi.networkinterface.allocation"] == "dynamic"
    assert first.attributes["occi.networkinterface.state"] == "active"
    assert first.attributes["occi.core.source.kind"] == COMPUTE
    assert first.attributes["occi.core.target.kind"] == NETWORK
    assert first.mixins == [IPNETWORKINTERFACE]
    await assert_declared(backend, tenant, first)
    await backend.delete_entity(tenant, links[1])
    # Like DHCP: a freed address is not handed out again at once; the name is.
    again = await backend.create_entity(tenant, nic(vm.location, net.location))
    assert address(again) == "192.168.5.6"
    assert again.attributes["occi.networkinterface.interface"] == "eth1"
    assert await backend.get_entity(tenant, NETWORKINTERFACE, again.id) == again
    listed = (await backend.get_entity(tenant, COMPUTE, vm.id)).links
    assert [link.id for link in listed] == [links[0].id, links[2].id, links[3].id, again.id]


async def test_a_full_network_reuses_freed_addresses_then_runs_out(backend, tenant):
    net = await backend.create_entity(tenant, network("192.168.9.0/29"))
    vm = await backend.create_entity(tenant, compute())
    links = [await backend.create_entity(tenant, nic(vm.location, net.location)) for _ in range(5)]
    assert [address(link) for link in links] == [f"192.168.9.{n}" for n in range(2, 7)]
    with pytest.raises(ConflictError, match=r"no free address left in 192\.168\.9\.0/29"):
        await backend.create_entity(tenant, nic(vm.location, net.location))
    # At the end of the range the pool goes back for what was freed, lowest first.
    await backend.delete_entity(tenant, links[3])
    await backend.delete_entity(tenant, links[1])
    refills = [
        address(await backend.create_entity(tenant, nic(vm.location, net.location)))
        for _ in range(2)
    ]
    assert refills == ["192.168.9.3", "192.168.9.5"]
    with pytest.raises(ConflictError, match="no free address left"):
        await backend.create_entity(tenant, nic(vm.location, net.location))


async def test_a_requested_address(backend, tenant):
    net = await backend.create_entity(tenant, network("192.168.6.0/24"))
    vm = await backend.create_entity(tenant, compute())
    wanted = {"occi.networkinterface.address": "192.168.6.50"}
    link = await backend.create_entity(
        tenant, nic(vm.location, net.location, IPNETWORKINTERFACE, attributes=wanted)
    )
    assert address(link) == "192.168.6.50"
    assert link.attributes["occi.networkinterface.allocation"] == "static"
    with pytest.raises(ConflictError, match="already in use"):
        await backend.create_entity(
            tenant, nic(vm.location, net.location, IPNETWORKINTERFACE, attributes=wanted)
        )
    for bad, message in [
        ("10.9.9.9", "not in the network"),
        ("192.168.6.1", "reserved"),
        ("192.168.6.255", "reserved"),
        ("nonsense", "not an IP address"),
    ]:
        with pytest.raises(InvalidRequestError, match=message):
            await backend.create_entity(
                tenant,
                nic(
                    vm.location,
                    net.location,
                    IPNETWORKINTERFACE,
                    attributes={"occi.networkinterface.address": bad},
                ),
            )
    # Changing the address of an interface moves it within the network.
    moved = await backend.update_entity(
        tenant,
        link,
        Resource(
            kind=NETWORKINTERFACE,
            mixins=link.mixins,
            attributes={**link.attributes, "occi.networkinterface.address": "192.168.6.60"},
        ),
    )
    assert address(moved) == "192.168.6.60"
    reused = await backend.create_entity(
        tenant, nic(vm.location, net.location, IPNETWORKINTERFACE, attributes=wanted)
    )
    assert address(reused) == "192.168.6.50"


async def test_macs_are_unique_across_tenants(backend, tenant, other):
    macs = []
    for who in (tenant, other, tenant):
        vm = await backend.create_entity(who, compute(links=[nic(None, "/network/private")]))
        macs.append(vm.links[0].attributes["occi.networkinterface.mac"])
    assert macs == ["02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"]
    vm = await backend.create_entity(tenant, compute())
    chosen = await backend.create_entity(
        tenant,
        nic(
            vm.location,
            "/network/private",
            attributes={"occi.networkinterface.mac": "02-AB-00-00-00-01"},
        ),
    )
    assert chosen.attributes["occi.networkinterface.mac"] == "02:ab:00:00:00:01"
    with pytest.raises(ConflictError, match="MAC address 02:00:00:00:00:02 is already in use"):
        await backend.create_entity(
            tenant,
            nic(
                vm.location,
                "/network/private",
                attributes={"occi.networkinterface.mac": "02:00:00:00:00:02"},
            ),
        )


async def test_shared_private_addresses_are_unique_across_tenants(backend, tenant, other):
    seen = set()
    for who in (tenant, other, tenant, other):
        vm = await backend.create_entity(who, compute(links=[nic(None, "/network/private")]))
        seen.add(address(vm.links[0]))
    assert seen == {"172.16.0.2", "172.16.0.3", "172.16.0.4", "172.16.0.5"}


async def test_a_link_to_the_public_network_takes_a_public_ip_and_gives_it_back(
    make_backend, tenant, other
):
    backend = make_backend(quotas=Quotas(public_ips=1))
    vm = await backend.create_entity(tenant, compute(links=[nic(None, "/network/public")]))
    public = vm.links[0]
    assert address(public) == "203.0.113.2"
    assert public.attributes["occi.networkinterface.gateway"] == "203.0.113.1"
    assert public.target == "/network/public"
    with pytest.raises(QuotaExceededError, match="public IP addresses: the limit is 1, 1 in use"):
        await backend.create_entity(tenant, nic(vm.location, "/network/public"))
    theirs = await backend.create_entity(other, compute(links=[nic(None, "/network/public")]))
    assert address(theirs.links[0]) == "203.0.113.3"
    # Deleting the link gives the address back: the quota allows another.
    await backend.delete_entity(tenant, public)
    again = await backend.create_entity(tenant, nic(vm.location, "/network/public"))
    assert address(again) == "203.0.113.4"
    # Deleting the compute releases it too (else the quota of 1 would refuse this).
    await backend.delete_entity(tenant, vm)
    fresh = await backend.create_entity(tenant, compute(links=[nic(None, "/network/public")]))
    assert address(fresh.links[0]) != address(theirs.links[0])


async def test_a_network_with_interfaces_cannot_be_deleted(backend, tenant):
    net = await backend.create_entity(tenant, network())
    vm = await backend.create_entity(tenant, compute(links=[nic(None, net.location)]))
    with pytest.raises(ConflictError, match=r"detach first: /networkinterface/.* \(from /compute/"):
        await backend.delete_entity(tenant, net)
    await backend.delete_entity(tenant, vm.links[0])
    await backend.delete_entity(tenant, net)
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, NETWORK, net.id)


async def test_a_network_range_changes_only_while_nothing_is_attached(backend, tenant):
    net = await backend.create_entity(tenant, network("192.168.10.0/24"))
    moved = await backend.update_entity(
        tenant,
        net,
        Resource(
            kind=NETWORK,
            mixins=net.mixins,
            attributes={
                **net.attributes,
                "occi.network.address": "192.168.20.0/24",
                "occi.network.label": "blue",
                "occi.network.vlan": 42,
            },
        ),
    )
    assert moved.attributes["occi.network.address"] == "192.168.20.0/24"
    assert moved.attributes["occi.network.gateway"] == "192.168.20.1"
    assert moved.attributes["occi.network.label"] == "blue"
    await backend.create_entity(tenant, compute(links=[nic(None, net.location)]))
    with pytest.raises(ConflictError, match="while interfaces use it"):
        await backend.update_entity(
            tenant,
            moved,
            Resource(
                kind=NETWORK,
                mixins=net.mixins,
                attributes={**moved.attributes, "occi.network.address": "192.168.30.0/24"},
            ),
        )


async def test_interfaces_need_a_compute_and_a_network(backend, tenant, other):
    net = await backend.create_entity(tenant, network())
    vm = await backend.create_entity(tenant, compute())
    theirs = await backend.create_entity(other, compute())
    with pytest.raises(InvalidRequestError, match="is not one of your computes"):
        await backend.create_entity(tenant, nic(theirs.location, net.location))
    with pytest.raises(InvalidRequestError, match="starts at a compute"):
        await backend.create_entity(tenant, nic(net.location, net.location))
    with pytest.raises(InvalidRequestError, match="not one of your network or ipreservation"):
        await backend.create_entity(tenant, nic(vm.location, vm.location))
    # Absolute URLs are fine.
    link = await backend.create_entity(
        tenant, nic("http://occi.example.org" + vm.location, "https://x.org/network/public")
    )
    assert link.source == vm.location and link.target == "/network/public"


async def test_a_links_ends_do_not_move(backend, tenant):
    vm = await backend.create_entity(tenant, compute(links=[nic(None, "/network/private")]))
    link = vm.links[0]
    with pytest.raises(InvalidRequestError, match=r"target of .* cannot change"):
        await backend.update_entity(
            tenant,
            link,
            nic(vm.location, "/network/public"),
        )
    # Its interface name and gateway are the cloud's; its MAC can change.
    updated = await backend.update_entity(
        tenant,
        link,
        nic(
            vm.location,
            "/network/private",
            attributes={
                "occi.networkinterface.interface": "eth9",
                "occi.networkinterface.mac": "02:00:00:00:99:99",
                "occi.networkinterface.address": address(link),
            },
        ),
    )
    assert updated.attributes["occi.networkinterface.interface"] == "eth0"
    assert updated.attributes["occi.networkinterface.mac"] == "02:00:00:00:99:99"
    assert updated.attributes["occi.networkinterface.gateway"] == "172.16.0.1"
    again = await backend.create_entity(tenant, compute(links=[nic(None, "/network/private")]))
    assert again.links[0].attributes["occi.networkinterface.mac"] == "02:00:00:00:99:9a"

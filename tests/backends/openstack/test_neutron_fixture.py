"""The Neutron fixture is real Neutron: openstacksdk drives it over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import openstack.exceptions
import pytest
from neutron_fixtures import connect

from neutronserver import PUBLIC_CIDR, PUBLIC_NETWORK, NeutronServer


def test_the_public_network_is_external_with_a_subnet(neutron_sdk: Any) -> None:
    public = neutron_sdk.network.find_network(PUBLIC_NETWORK)
    assert public is not None
    assert public.is_router_external
    subnets = list(neutron_sdk.network.subnets(network_id=public.id))
    assert [subnet.cidr for subnet in subnets] == [PUBLIC_CIDR]


def test_network_subnet_and_port(neutron_sdk: Any) -> None:
    network = neutron_sdk.network.create_network(name="smoke-net")
    try:
        subnet = neutron_sdk.network.create_subnet(
            network_id=network.id, ip_version=4, cidr="10.20.0.0/24"
        )
        assert subnet.gateway_ip == "10.20.0.1"
        assert subnet.is_dhcp_enabled
        port = neutron_sdk.network.create_port(network_id=network.id, device_id="some-server")
        address = port.fixed_ips[0]["ip_address"]
        assert address.startswith("10.20.0.")
        assert port.mac_address
        found = list(neutron_sdk.network.ports(device_id="some-server"))
        assert [p.id for p in found] == [port.id]
        neutron_sdk.network.delete_port(port)
    finally:
        neutron_sdk.network.delete_network(network)
    assert neutron_sdk.network.find_network(network.id) is None


def test_router_and_floating_ip(neutron_sdk: Any) -> None:
    public = neutron_sdk.network.find_network(PUBLIC_NETWORK)
    network = neutron_sdk.network.create_network(name="smoke-fip")
    subnet = neutron_sdk.network.create_subnet(
        network_id=network.id, ip_version=4, cidr="10.21.0.0/24"
    )
    router = neutron_sdk.network.create_router(
        name="smoke-router", external_gateway_info={"network_id": public.id}
    )
    port = neutron_sdk.network.create_port(network_id=network.id)
    try:
        neutron_sdk.network.add_interface_to_router(router, subnet=subnet.id)
        floating = neutron_sdk.network.create_ip(floating_network_id=public.id, port_id=port.id)
        assert floating.floating_ip_address.startswith("203.0.113.")
        assert floating.fixed_ip_address == port.fixed_ips[0]["ip_address"]
        neutron_sdk.network.delete_ip(floating)
    finally:
        neutron_sdk.network.delete_port(port)
        neutron_sdk.network.remove_interface_from_router(router, subnet=subnet.id)
        neutron_sdk.network.delete_router(router)
        neutron_sdk.network.delete_network(network)


def test_a_floating_ip_needs_a_router_to_the_port(neutron_sdk: Any) -> None:
    public = neutron_sdk.network.find_network(PUBLIC_NETWORK)
    network = neutron_sdk.network.create_network(name="smoke-unrouted")
    neutron_sdk.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.22.0.0/24")
    port = neutron_sdk.network.create_port(network_id=network.id)
    try:
        with pytest.raises(openstack.exceptions.NotFoundException, match="not reachable"):
            neutron_sdk.network.create_ip(floating_network_id=public.id, port_id=port.id)
    finally:
        neutron_sdk.network.delete_port(port)
        neutron_sdk.network.delete_network(network)


def test_security_group_and_rule(neutron_sdk: Any) -> None:
    group = neutron_sdk.network.create_security_group(name="smoke-web")
    try:
        rule = neutron_sdk.network.create_security_group_rule(
            security_group_id=group.id,
            direction="ingress",
            protocol="tcp",
            port_range_min=80,
            port_range_max=80,
            remote_ip_prefix="0.0.0.0/0",
        )
        rules = neutron_sdk.network.get_security_group(group.id).security_group_rules
        assert rule.id in {r["id"] for r in rules}
        # Neutron gives every new group rules letting all traffic out.
        assert {r["direction"] for r in rules} == {"ingress", "egress"}
    finally:
        neutron_sdk.network.delete_security_group(group)


def test_tags_filter_listings(neutron_sdk: Any) -> None:
    # Neutron takes tags in a POST for ports only: a network is tagged after it is made.
    with pytest.raises(openstack.exceptions.BadRequestException, match="tags"):
        neutron_sdk.network.create_network(name="smoke-refused", tags=["smoke-tag"])
    tagged = neutron_sdk.network.create_network(name="smoke-tagged")
    neutron_sdk.network.set_tags(tagged, ["smoke-tag"])
    plain = neutron_sdk.network.create_network(name="smoke-plain")
    try:
        names = [n.name for n in neutron_sdk.network.networks(tags="smoke-tag")]
        assert names == ["smoke-tagged"]
    finally:
        neutron_sdk.network.delete_network(tagged)
        neutron_sdk.network.delete_network(plain)


def test_projects_see_only_their_own(neutron: NeutronServer, neutron_sdk: Any) -> None:
    alice = connect(neutron, "alice:project-a")
    bob = connect(neutron, "bob:project-b")
    network = alice.network.create_network(name="alice-net")
    try:
        assert network.project_id == "project-a"
        assert "alice-net" not in {n.name for n in bob.network.networks()}
        # The public network is the admin's, but external networks are seen by all.
        assert PUBLIC_NETWORK in {n.name for n in bob.network.networks()}
        assert "alice-net" in {n.name for n in neutron_sdk.network.networks()}
    finally:
        alice.network.delete_network(network)


def test_listings_page_with_markers(neutron_sdk: Any) -> None:
    made = [neutron_sdk.network.create_network(name=f"paged-{i}") for i in range(5)]
    try:
        for network in made:
            neutron_sdk.network.set_tags(network, ["paged"])
        response = neutron_sdk.network.get("/networks", params={"tags": "paged", "limit": 2})
        body = response.json()
        assert len(body["networks"]) == 2
        assert any(link["rel"] == "next" for link in body["networks_links"])
        paged = [n.id for n in neutron_sdk.network.networks(tags="paged", limit=2)]
        assert sorted(paged) == sorted(n.id for n in made)
    finally:
        for network in made:
            neutron_sdk.network.delete_network(network)


def test_requests_are_counted_and_need_a_token(neutron: NeutronServer) -> None:
    before = neutron.requests_served()
    assert httpx.get(f"{neutron.url}/v2.0/networks").status_code == 401
    assert neutron.requests_served() == before + 1

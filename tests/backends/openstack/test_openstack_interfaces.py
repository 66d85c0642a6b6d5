"""Networkinterfaces on real Nova and real Neutron: ports on servers, floating IPs.

The Nova here networks its servers with the Neutron fixture (``networked_nova``):
Nova makes the ports at boot and through ``os-interface``, Neutron binds them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
from neutron_fixtures import locate
from openstack_helpers import IMAGE, TINY, flavor, image

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    NotSupportedError,
)
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.backends.openstack.catalogue import Catalogue
from pyocci.backends.openstack.compute import Computes, tenant_tag
from pyocci.backends.openstack.interfaces import Interfaces
from pyocci.backends.openstack.network import Networks
from pyocci.model import Link, Resource
from pyocci.model.entity import CORE_SOURCE, CORE_TARGET
from pyocci.model.infrastructure import (
    COMPUTE,
    IPNETWORK,
    IPNETWORKINTERFACE,
    NETWORK,
    NETWORKINTERFACE,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def networks(cloud_api: OpenStackApi) -> Networks:
    return Networks(cloud_api, locate)


@pytest.fixture
def interfaces(cloud_api: OpenStackApi, networks: Networks) -> Interfaces:
    return Interfaces(cloud_api, networks, locate)


@pytest.fixture
def tenant() -> Tenant:
    return Tenant("alice-" + uuid.uuid4().hex[:8])


@pytest.fixture
def other() -> Tenant:
    return Tenant("bob-" + uuid.uuid4().hex[:8])


@pytest.fixture
async def make_network(networks: Networks, tenant: Tenant):
    """``await make_network()``: a network of the tenant with a subnet, deleted at the end."""
    made: list[Resource] = []

    async def make() -> Resource:
        entity = Resource(
            kind=NETWORK.id,
            mixins=[IPNETWORK.id],
            attributes={"occi.network.address": f"10.{40 + len(made)}.0.0/24"},
        )
        made.append(await networks.create(tenant, entity))
        return made[-1]

    yield make
    for network in made:
        await networks.delete(tenant, network)


def wait_active(cloud_sdk: Any, server: Any) -> Any:
    return cloud_sdk.compute.wait_for_server(server, status="ACTIVE", wait=120)


@pytest.fixture
def boot(cloud_sdk: Any, make_network: Any):
    """``boot(tenant, *network_ids)``: an active server of the tenant on these networks,
    deleted at the end (Nova deletes its ports), before the networks are."""
    made: list[Any] = []

    def make(tenant: Tenant, *network_ids: str) -> Any:
        server = cloud_sdk.compute.create_server(
            name="nic-test",
            image_id=IMAGE,
            flavor_id=TINY,
            networks=[{"uuid": n} for n in network_ids] or "none",
            tags=[tenant_tag(tenant)],
        )
        made.append(server)
        return wait_active(cloud_sdk, server)

    yield make
    for server in made:
        cloud_sdk.compute.delete_server(server)
    for server in made:
        cloud_sdk.compute.wait_for_delete(server, wait=120)


@contextmanager
def calls_of(api: OpenStackApi) -> Iterator[list[str]]:
    """The HTTP requests the API object's connection makes inside the block (method, URL),
    whatever else (Nova's own calls to Neutron) happens meanwhile."""
    session = api.connection.session
    calls: list[str] = []
    original = session.request

    def record(url: str, method: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"{method} {url}")
        return original(url, method, *args, **kwargs)

    session.request = record
    try:
        yield calls
        # openstacksdk reads the compute API's version document once per connection.
        calls[:] = [call for call in calls if not call.endswith("/")]
    finally:
        session.request = original


def link_to(server_id: str, target: str, **attributes: Any) -> Link:
    return Link(
        kind=NETWORKINTERFACE.id,
        attributes={CORE_SOURCE: f"/compute/{server_id}", CORE_TARGET: target, **attributes},
    )


async def test_the_ports_of_a_page_of_servers_in_two_calls(
    cloud_api, interfaces, tenant, boot, make_network, cloud_sdk
) -> None:
    first_net, second_net = await make_network(), await make_network()
    both = boot(tenant, first_net.id, second_net.id)
    one = boot(tenant, second_net.id)
    none = boot(tenant)
    # Which networks are external is read once, then kept.
    await interfaces.links_of(tenant, [one])
    with calls_of(cloud_api) as calls:
        links = await interfaces.links_of(tenant, [both, one, none])
    assert calls == ["GET /ports", "GET /floatingips"]
    assert none.id not in links
    assert {link.target for link in links[both.id]} == {
        f"/network/{first_net.id}",
        f"/network/{second_net.id}",
    }
    assert [link.attributes["occi.networkinterface.interface"] for link in links[both.id]] == [
        "eth0",
        "eth1",
    ]
    [link] = links[one.id]
    [port] = cloud_sdk.network.ports(device_id=one.id)
    assert link.id == port.id
    assert link.location == f"/networkinterface/{port.id}"
    assert link.source == f"/compute/{one.id}"
    assert link.target == f"/network/{second_net.id}"
    assert link.mixins == [IPNETWORKINTERFACE.id]
    assert link.attributes["occi.networkinterface.address"] == port.fixed_ips[0]["ip_address"]
    assert link.attributes["occi.networkinterface.address"].startswith("10.")
    assert link.attributes["occi.networkinterface.mac"] == port.mac_address
    assert link.attributes["occi.networkinterface.allocation"] == "dynamic"
    # Nova had Neutron bind the port to its compute host.
    assert link.attributes["occi.networkinterface.state"] == "active"
    assert link.attributes["occi.networkinterface.state.message"] == "Neutron port status ACTIVE"


async def test_a_link_to_public_is_a_floating_ip_released_on_unlink(
    interfaces, tenant, boot, make_network, cloud_sdk
) -> None:
    network = await make_network()
    server = boot(tenant, network.id)
    [port] = cloud_sdk.network.ports(device_id=server.id)
    made = await interfaces.create(tenant, link_to(server.id, "/network/public"))
    assert made.id == f"{port.id}_public"
    assert made.location == f"/networkinterface/{port.id}_public"
    assert made.target == "/network/public"
    address = made.attributes["occi.networkinterface.address"]
    assert address.startswith("203.0.113.")
    assert made.attributes["occi.networkinterface.allocation"] == "static"
    [floating] = cloud_sdk.network.ips(port_id=port.id)
    assert floating.floating_ip_address == address
    assert tenant_tag(tenant) in floating.tags
    # The tenant's router now routes the network's subnet to the public network.
    [router] = cloud_sdk.network.routers(tags=tenant_tag(tenant))
    assert router.external_gateway_info["network_id"] == floating.floating_network_id
    # The compute shows both links; the public one reads back the same.
    links = (await interfaces.links_of(tenant, [server]))[server.id]
    assert [link.id for link in links] == [port.id, made.id]
    read = await interfaces.get(tenant, NETWORKINTERFACE.id, made.id)
    assert read.attributes == made.attributes
    with pytest.raises(ConflictError, match="already has a floating IP"):
        await interfaces.create(tenant, link_to(server.id, "/network/public"))
    await interfaces.delete(tenant, made)
    assert list(cloud_sdk.network.ips(port_id=port.id)) == []
    after = (await interfaces.links_of(tenant, [server]))[server.id]
    assert [link.id for link in after] == [port.id]


async def test_a_second_floating_ip_reuses_the_tenants_router(
    interfaces, tenant, boot, make_network, cloud_sdk
) -> None:
    network = await make_network()
    servers = [boot(tenant, network.id), boot(tenant, network.id)]
    links = [
        await interfaces.create(tenant, link_to(server.id, "/network/public")) for server in servers
    ]
    assert len(list(cloud_sdk.network.routers(tags=tenant_tag(tenant)))) == 1
    assert len({link.attributes["occi.networkinterface.address"] for link in links}) == 2
    for link in links:
        await interfaces.delete(tenant, link)


async def test_a_compute_without_a_port_gets_no_floating_ip(interfaces, tenant, boot) -> None:
    server = boot(tenant)
    with pytest.raises(ConflictError, match="link it to a network first"):
        await interfaces.create(tenant, link_to(server.id, "/network/public"))


async def test_plugging_and_unplugging_at_run_time_go_through_nova(
    interfaces, tenant, boot, make_network, cloud_sdk
) -> None:
    first, second = await make_network(), await make_network()
    server = boot(tenant, first.id)
    address = second.attributes["occi.network.address"].replace("0/24", "77")
    made = await interfaces.create(
        tenant,
        link_to(server.id, f"/network/{second.id}", **{"occi.networkinterface.address": address}),
    )
    assert made.target == f"/network/{second.id}"
    assert made.attributes["occi.networkinterface.address"] == address
    port = cloud_sdk.network.get_port(made.id)
    assert port.device_id == server.id
    assert port.network_id == second.id
    # Nova's own view of the server names the new address too.
    addresses = cloud_sdk.compute.get_server(server.id).addresses
    assert address in {entry["addr"] for entries in addresses.values() for entry in entries}
    await interfaces.delete(tenant, made)
    # Nova detaches asynchronously, then deletes the port it made: the interface reads
    # as it was until then (Neutron holds no sign of the detach under way).
    with anyio.fail_after(60):
        while True:
            try:
                await interfaces.get(tenant, NETWORKINTERFACE.id, made.id)
            except EntityNotFoundError:
                break
            await anyio.sleep(0.05)
    assert cloud_sdk.network.find_port(made.id) is None
    links = (await interfaces.links_of(tenant, [server]))[server.id]
    assert [link.target for link in links] == [f"/network/{first.id}"]


async def test_a_compute_created_with_links_boots_on_those_networks(
    cloud_api, interfaces, tenant, make_network, cloud_sdk
) -> None:
    network = await make_network()
    computes = Computes(cloud_api, Catalogue(cloud_api, 600), locate)
    computes.link_sources = [interfaces]
    wanted = Resource(
        kind=COMPUTE.id,
        mixins=[image(), flavor()],
        links=[Link(kind=NETWORKINTERFACE.id, attributes={CORE_TARGET: f"/network/{network.id}"})],
    )
    created = await computes.create(tenant, wanted)
    try:
        wait_active(cloud_sdk, cloud_sdk.compute.get_server(created.id))
        shown = await computes.get(tenant, COMPUTE.id, created.id)
        [link] = [link for link in shown.links if link.kind == NETWORKINTERFACE.id]
        assert link.target == f"/network/{network.id}"
        assert link.attributes["occi.networkinterface.state"] == "active"
    finally:
        cloud_sdk.compute.delete_server(created.id)
        cloud_sdk.compute.wait_for_delete(cloud_sdk.compute.get_server(created.id), wait=120)


async def test_other_tenants_links_and_servers_are_not_found(
    interfaces, tenant, other, boot, make_network
) -> None:
    network = await make_network()
    server = boot(tenant, network.id)
    [mine] = (await interfaces.links_of(tenant, [server]))[server.id]
    with pytest.raises(EntityNotFoundError):
        await interfaces.get(other, NETWORKINTERFACE.id, mine.id)
    with pytest.raises(EntityNotFoundError):
        await interfaces.delete(other, mine)
    with pytest.raises(EntityNotFoundError):
        await interfaces.create(other, link_to(server.id, "/network/public"))
    with pytest.raises(EntityNotFoundError):
        await interfaces.create(other, link_to(server.id, f"/network/{network.id}"))
    with pytest.raises(EntityNotFoundError):
        await interfaces.get(tenant, NETWORKINTERFACE.id, str(uuid.uuid4()))


async def test_links_at_boot_become_novas_networks_argument(
    interfaces, tenant, other, make_network
) -> None:
    network = await make_network()
    link = Link(
        kind=NETWORKINTERFACE.id,
        attributes={
            CORE_TARGET: f"/network/{network.id}",
            "occi.networkinterface.address": "10.40.0.9",
        },
    )
    assert await interfaces.boot_options(tenant, [link]) == {
        "networks": [{"uuid": network.id, "fixed_ip": "10.40.0.9"}]
    }
    with pytest.raises(EntityNotFoundError):
        await interfaces.boot_options(other, [link])
    public = Link(kind=NETWORKINTERFACE.id, attributes={CORE_TARGET: "/network/public"})
    with pytest.raises(NotSupportedError, match="once it exists"):
        await interfaces.boot_options(tenant, [public])
    assert await interfaces.boot_options(tenant, []) == {}


async def test_listing_reads_servers_a_page_at_a_time(
    cloud_api, interfaces, tenant, boot, make_network
) -> None:
    network = await make_network()
    first, second = boot(tenant, network.id), boot(tenant, network.id)
    everything_query = Query(kinds=(NETWORKINTERFACE.id,))
    everything = [link async for link in interfaces.listing(tenant, everything_query)]
    assert {link.source for link in everything} == {
        f"/compute/{first.id}",
        f"/compute/{second.id}",
    }
    by_source = Query(
        kinds=(NETWORKINTERFACE.id,), attributes={CORE_SOURCE: f"/compute/{second.id}"}
    )
    with calls_of(cloud_api) as calls:
        found = [link async for link in interfaces.listing(tenant, by_source)]
    assert [link.source for link in found] == [f"/compute/{second.id}"]
    # The compute, then its ports and their floating IPs.
    assert [call.split("?")[0].rsplit("/", 1)[-1] for call in calls] == [
        second.id,
        "ports",
        "floatingips",
    ]
    with calls_of(cloud_api) as calls:
        assert len([link async for link in interfaces.listing(tenant, everything_query)]) == 2
    # One page of Nova servers (ids only), then the same two Neutron calls.
    assert [call.split("?")[0].rsplit("/", 1)[-1] for call in calls] == [
        "servers",
        "ports",
        "floatingips",
    ]
    other_kind = Query(kinds=(NETWORK.id,))
    assert [link async for link in interfaces.listing(tenant, other_kind)] == []


async def test_interfaces_are_not_changed_in_place(interfaces, tenant) -> None:
    link = link_to("x", "/network/public")
    with pytest.raises(NotSupportedError, match="delete it and link again"):
        await interfaces.update(tenant, link, link)


async def test_ids_that_cannot_be_neutrons_are_not_found(interfaces, tenant) -> None:
    for strange in ("../ports", "a?device_id=x", "_public"):
        with pytest.raises(EntityNotFoundError):
            await interfaces.get(tenant, NETWORKINTERFACE.id, strange)
    with pytest.raises(EntityNotFoundError):
        await interfaces.create(tenant, link_to("../servers", "/network/public"))

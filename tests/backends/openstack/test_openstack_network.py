"""OCCI networks on real Neutron: a network and its subnet, tenancy, up/down, paging."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from neutron_fixtures import locate, make_api

from neutronserver import NeutronServer
from openstackservice import running
from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.backends.openstack.compute import tenant_tag
from pyocci.backends.openstack.network import PUBLIC, Networks
from pyocci.model import Resource
from pyocci.model.infrastructure import DOWN, IPNETWORK, NETWORK, UP

pytestmark = pytest.mark.anyio

START = "http://schemas.ogf.org/occi/infrastructure/compute/action#start"


def network(address: str = "10.30.0.0/24", **attributes: Any) -> Resource:
    """A network to create, as the service hands it to the backend."""
    return Resource(
        kind=NETWORK.id,
        mixins=[IPNETWORK.id],
        attributes={"occi.network.address": address, **attributes},
    )


async def listed(networks: Networks, tenant: Tenant, query: Query | None = None) -> list[Any]:
    query = query or Query(kinds=(NETWORK.id,))
    return [entity async for entity in networks.listing(tenant, query)]


@pytest.fixture
def networks(network_api: OpenStackApi) -> Networks:
    return Networks(network_api, locate)


@pytest.fixture
def tenant() -> Tenant:
    return Tenant("alice-" + uuid.uuid4().hex[:8])


@pytest.fixture
def other() -> Tenant:
    return Tenant("bob-" + uuid.uuid4().hex[:8])


async def test_a_network_is_a_neutron_network_and_subnet(networks, tenant, neutron_sdk) -> None:
    created = await networks.create(
        tenant,
        network(
            "10.30.1.0/24",
            **{"occi.core.title": "lab", "occi.core.summary": "the lab's network"},
        ),
    )
    assert created.location == f"/network/{created.id}"
    assert IPNETWORK.id in created.mixins
    assert created.attributes["occi.network.address"] == "10.30.1.0/24"
    assert created.attributes["occi.network.gateway"] == "10.30.1.1"
    assert created.attributes["occi.network.allocation"] == "dynamic"
    assert created.attributes["occi.network.state"] == "active"
    assert created.title == "lab"
    assert created.summary == "the lab's network"
    # What Neutron holds.
    made = neutron_sdk.network.get_network(created.id)
    assert made.name == "lab"
    assert tenant_tag(tenant) in made.tags
    [subnet] = neutron_sdk.network.subnets(network_id=created.id)
    assert subnet.cidr == "10.30.1.0/24"
    assert subnet.is_dhcp_enabled
    # Read back the same.
    read = await networks.get(tenant, NETWORK.id, created.id)
    assert read.attributes == created.attributes
    await networks.delete(tenant, read)
    # Neutron deletes before it answers: gone for OCCI and for Neutron at once.
    assert neutron_sdk.network.find_network(created.id) is None
    with pytest.raises(EntityNotFoundError):
        await networks.get(tenant, NETWORK.id, created.id)


async def test_gateway_and_static_allocation_are_kept(networks, tenant, neutron_sdk) -> None:
    created = await networks.create(
        tenant,
        network(
            "10.30.2.0/24",
            **{"occi.network.gateway": "10.30.2.254", "occi.network.allocation": "static"},
        ),
    )
    try:
        [subnet] = neutron_sdk.network.subnets(network_id=created.id)
        assert subnet.gateway_ip == "10.30.2.254"
        assert not subnet.is_dhcp_enabled
        assert created.attributes["occi.network.allocation"] == "static"
    finally:
        await networks.delete(tenant, created)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"occi.network.address": None}, "needs occi.network.address"),
        ({"occi.network.address": "10.0.0.0/33"}, "must be a CIDR"),
        ({"occi.network.gateway": "10.9.9.1"}, "is not in 10.30.3.0/24"),
        ({"occi.network.gateway": "gateway"}, "must be an IP address"),
        ({"occi.network.allocation": "dhcp"}, "must be dynamic (DHCP) or static"),
    ],
)
async def test_bad_networks_are_refused_with_the_reason(
    networks, tenant, neutron_sdk, attributes, message
) -> None:
    before = {n.id for n in neutron_sdk.network.networks()}
    entity = network("10.30.3.0/24")
    entity.attributes.update(attributes)
    with pytest.raises(InvalidRequestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await networks.create(tenant, entity)
    assert {n.id for n in neutron_sdk.network.networks()} == before


async def test_neutron_refusals_keep_its_message_and_leave_nothing(
    networks, tenant, neutron_sdk
) -> None:
    before = {n.id for n in neutron_sdk.network.networks()}
    # A gateway on the subnet's own network address: Neutron refuses the subnet.
    entity = network("10.30.4.0/24", **{"occi.network.gateway": "10.30.4.0"})
    with pytest.raises(InvalidRequestError, match=r"OpenStack: .*Gateway is not valid"):
        await networks.create(tenant, entity)
    # The network made before its subnet was refused is gone again.
    assert {n.id for n in neutron_sdk.network.networks()} == before


async def test_tenants_see_only_their_own_networks(networks, tenant, other) -> None:
    mine = await networks.create(tenant, network("10.30.5.0/24"))
    try:
        assert mine.id in {entity.id for entity in await listed(networks, tenant)}
        assert mine.id not in {entity.id for entity in await listed(networks, other)}
        with pytest.raises(EntityNotFoundError):
            await networks.get(other, NETWORK.id, mine.id)
        with pytest.raises(EntityNotFoundError):
            await networks.delete(other, mine)
    finally:
        await networks.delete(tenant, mine)
    with pytest.raises(EntityNotFoundError):
        await networks.get(tenant, NETWORK.id, mine.id)


async def test_public_is_listed_first_and_is_the_clouds(networks, tenant) -> None:
    [public] = await listed(networks, tenant)
    assert public.id == PUBLIC
    assert public.location == "/network/public"
    assert public.attributes["occi.network.label"] == "public"
    assert (await networks.get(tenant, NETWORK.id, PUBLIC)).attributes == public.attributes
    with pytest.raises(ConflictError, match="cannot be deleted"):
        await networks.delete(tenant, public)
    with pytest.raises(ConflictError, match="cannot be changed"):
        await networks.update(tenant, public, public)
    with pytest.raises(ConflictError):
        await networks.trigger(tenant, public, DOWN.id, {})


async def test_down_and_up_set_admin_state(networks, tenant, neutron_sdk) -> None:
    created = await networks.create(tenant, network("10.30.6.0/24"))
    try:
        assert created.attributes["occi.network.state"] == "active"
        down = (await networks.trigger(tenant, created, DOWN.id, {})).entity
        assert down.attributes["occi.network.state"] == "inactive"
        assert "admin down" in down.attributes["occi.network.state.message"]
        assert neutron_sdk.network.get_network(created.id).is_admin_state_up is False
        up = (await networks.trigger(tenant, down, UP.id, {})).entity
        assert up.attributes["occi.network.state"] == "active"
        assert neutron_sdk.network.get_network(created.id).is_admin_state_up is True
        with pytest.raises(NotSupportedError):
            await networks.trigger(tenant, up, START, {})
    finally:
        await networks.delete(tenant, created)


async def test_update_changes_title_and_allocation_not_address(
    networks, tenant, neutron_sdk
) -> None:
    created = await networks.create(tenant, network("10.30.7.0/24"))
    try:
        desired = network(
            "10.30.7.0/24",
            **{"occi.core.title": "renamed", "occi.network.allocation": "static"},
        )
        updated = await networks.update(tenant, created, desired)
        assert updated.title == "renamed"
        assert updated.attributes["occi.network.allocation"] == "static"
        assert neutron_sdk.network.get_network(created.id).name == "renamed"
        [subnet] = neutron_sdk.network.subnets(network_id=created.id)
        assert not subnet.is_dhcp_enabled
        with pytest.raises(InvalidRequestError, match="cannot change"):
            await networks.update(tenant, updated, network("10.99.0.0/24"))
    finally:
        await networks.delete(tenant, created)


async def test_a_network_in_use_is_not_deleted(networks, tenant, neutron_sdk) -> None:
    created = await networks.create(tenant, network("10.30.8.0/24"))
    port = neutron_sdk.network.create_port(
        network_id=created.id, device_id=str(uuid.uuid4()), device_owner="compute:nova"
    )
    try:
        with pytest.raises(ConflictError, match=r"OpenStack: .*in use"):
            await networks.delete(tenant, created)
    finally:
        neutron_sdk.network.delete_port(port)
    await networks.delete(tenant, created)


async def test_listing_pages_with_one_call_per_page_and_subnets_batched(
    networks, tenant, neutron
) -> None:
    made = [
        await networks.create(tenant, network(f"10.31.{i}.0/24", **{"occi.core.title": f"n{i}"}))
        for i in range(5)
    ]
    try:
        everything = await listed(networks, tenant)
        assert everything[0].id == PUBLIC
        assert {entity.id for entity in everything[1:]} == {entity.id for entity in made}
        assert all(entity.attributes["occi.network.address"] for entity in everything[1:])
        # A page in the middle: one call for the networks, one for their subnets.
        before = neutron.requests_served()
        page = await listed(networks, tenant, Query(kinds=(NETWORK.id,), offset=2, limit=2))
        assert neutron.requests_served() - before == 2
        assert [entity.id for entity in page] == [entity.id for entity in everything[2:4]]
    finally:
        for entity in made:
            await networks.delete(tenant, entity)


async def test_title_and_id_filters_are_applied_by_neutron(networks, tenant, neutron) -> None:
    first = await networks.create(tenant, network("10.32.0.0/24", **{"occi.core.title": "one"}))
    second = await networks.create(tenant, network("10.32.1.0/24", **{"occi.core.title": "two"}))
    try:
        by_title = Query(kinds=(NETWORK.id,), attributes={"occi.core.title": "two"})
        assert [entity.id for entity in await listed(networks, tenant, by_title)] == [second.id]
        by_id = Query(kinds=(NETWORK.id,), ids=frozenset({first.id}))
        before = neutron.requests_served()
        assert [entity.id for entity in await listed(networks, tenant, by_id)] == [first.id]
        assert neutron.requests_served() - before == 2
        other_kind = Query(kinds=("http://schemas.ogf.org/occi/infrastructure#storage",))
        assert await listed(networks, tenant, other_kind) == []
    finally:
        await networks.delete(tenant, first)
        await networks.delete(tenant, second)


@pytest.fixture(scope="module")
def capped_neutron(request: pytest.FixtureRequest) -> Iterator[NeutronServer]:
    """A second Neutron whose pages hold at most 2 items (``pagination_max_limit = 2``)."""
    options = {"DEFAULT.pagination_max_limit": 2}
    with running(NeutronServer, request.config, options) as server:
        yield server


async def test_neutrons_paging_markers_are_followed(capped_neutron, tenant) -> None:
    api = make_api(capped_neutron)
    try:
        networks = Networks(api, locate)
        made = [await networks.create(tenant, network(f"10.33.{i}.0/24")) for i in range(5)]
        before = capped_neutron.requests_served()
        everything = await listed(networks, tenant)
        # Pages of 2, 2 and 1 networks, each with its subnets call.
        assert capped_neutron.requests_served() - before == 6
        assert {entity.id for entity in everything[1:]} == {entity.id for entity in made}
    finally:
        api.close()


async def test_ids_that_cannot_be_neutrons_are_not_found(networks, tenant) -> None:
    for strange in ("../subnets", "a?tags=x", ""):
        with pytest.raises(EntityNotFoundError):
            await networks.get(tenant, NETWORK.id, strange)

"""The sim on the kit: one collection keeps every kind, an action table routes actions,
and Python-filtered listings page across the shared networks with the kit's chain."""

from __future__ import annotations

import pytest
from sim_helpers import (
    COMPUTE,
    COMPUTE_ACTION,
    NETWORK,
    SECURITYGROUP,
    STORAGE,
    compute,
    network,
    security_group,
)

from pyocci.backends.api import Query
from pyocci.backends.errors import NotSupportedError
from pyocci.backends.kit import KitBackend
from pyocci.backends.kit.context import CONTEXT_MIXINS
from pyocci.model import Resource

pytestmark = pytest.mark.anyio

STOP = COMPUTE_ACTION + "stop"
UNKNOWN_KIND = "http://example.org/occi#gadget"


def titles(entities):
    return [e.attributes.get("occi.core.title") for e in entities]


def test_one_collection_serves_every_kind_with_every_action(backend):
    assert isinstance(backend, KitBackend)
    assert backend.collections == (backend.entities,)
    capabilities = backend.capabilities
    assert capabilities is backend.entities.capabilities
    assert all(backend.serving(kind) is backend.entities for kind in capabilities.kinds)
    assert set(backend.entities.actions) == set(capabilities.actions)
    # Contextualization, in both spellings, is understood.
    assert {mixin.id for mixin in CONTEXT_MIXINS} <= capabilities.mixins


async def test_writes_are_routed_by_kind(backend, tenant):
    created = await backend.create_entity(tenant, compute(title="vm"))
    outcome = await backend.trigger_action(tenant, created, STOP, {})
    assert outcome.entity.attributes["occi.compute.state"] == "inactive"
    with pytest.raises(NotSupportedError, match="gadget entities on the simulated cloud"):
        await backend.create_entity(tenant, Resource(kind=UNKNOWN_KIND))
    with pytest.raises(NotSupportedError, match="no teleport action for a compute"):
        await backend.trigger_action(tenant, created, COMPUTE_ACTION + "teleport", {})


async def test_one_read_finds_an_entity_asked_for_as_a_parent_kind(backend, tenant):
    created = await backend.create_entity(tenant, network(title="mine"))
    resource = "http://schemas.ogf.org/occi/core#resource"
    assert (await backend.get_entity(tenant, resource, created.id)).kind == NETWORK
    assert (await backend.get_entity(tenant, resource, "public")).kind == NETWORK


async def test_python_filters_page_across_the_shared_networks(backend, tenant):
    for n in range(4):
        await backend.create_entity(
            tenant, network(title=f"n{n}", attributes={"occi.network.vlan": n} if n % 2 else {})
        )
    # A null value is compared in Python: SQL cannot tell a null from a missing key.
    plain = {"occi.network.vlan": None}
    assert titles(
        [e async for e in backend.list_entities(tenant, Query(kinds=(NETWORK,), attributes=plain))]
    ) == ["Public network", "Private network", "n0", "n2"]
    page = Query(kinds=(NETWORK,), attributes=plain, offset=1, limit=2)
    assert titles([e async for e in backend.list_entities(tenant, page)]) == [
        "Private network",
        "n0",
    ]
    beyond = Query(kinds=(NETWORK,), attributes=plain, offset=3, limit=5)
    assert titles([e async for e in backend.list_entities(tenant, beyond)]) == ["n2"]
    locations = [batch async for batch in backend.list_locations(tenant, page)]
    assert locations == [["/network/private", f"/network/{await _id_of(backend, tenant, 'n0')}"]]
    assert await backend.count_entities(tenant, page) is None


async def test_a_full_page_stops_reading_the_table(make_backend, tenant, database, statements):
    backend = make_backend()
    backend.entities.batch_size = 2
    for n in range(8):
        await backend.create_entity(tenant, security_group([], title=f"sg{n}"))
    query = Query(kinds=(SECURITYGROUP,), attributes={"occi.securitygroup.rules": []}, limit=3)
    with statements(database) as executed:
        page = [e async for e in backend.list_entities(tenant, query)]
    assert titles(page) == ["sg0", "sg1", "sg2"]
    # Two batches of two hold the page: the other four rows are never read.
    reads = [s for s in executed if "FROM sim_entities" in s and "source_seq IN" not in s]
    assert len(reads) == 2


async def test_counts_sum_over_the_kinds_asked(backend, tenant):
    await backend.create_entity(tenant, compute(title="vm"))
    await backend.create_entity(tenant, network(title="net"))
    assert await backend.count_entities(tenant, Query(kinds=(COMPUTE, NETWORK, STORAGE))) == 4
    assert await backend.count_entities(tenant, Query(kinds=())) == 0


async def _id_of(backend, tenant, title):
    everything = [e async for e in backend.list_entities(tenant, Query(kinds=(NETWORK,)))]
    return next(e.id for e in everything if e.attributes.get("occi.core.title") == title)

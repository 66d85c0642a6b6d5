"""Listings: stable order, filters pushed into SQL, paging, counting, no N+1 queries."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sim_helpers import (
    COMPUTE,
    DEBIAN,
    IPRESERVATION,
    LARGE,
    NETWORK,
    NETWORKINTERFACE,
    SECURITYGROUP,
    SMALL,
    STORAGE,
    STORAGELINK,
    UBUNTU,
    attach,
    compute,
    listing,
    network,
    nic,
    reservation,
    security_group,
    storage,
)

from pyocci.backends.api import Backend, Query
from pyocci.backends.sim import Quotas
from pyocci.backends.sim.tables import sim_entities

pytestmark = pytest.mark.anyio


def titles(entities):
    return [e.attributes.get("occi.core.title") for e in entities]


@pytest.fixture
async def fleet(backend, tenant, other):
    """Six computes (three Debian, three Ubuntu; cores 1 or 4) and a few other things."""
    made = []
    for n in range(6):
        image = DEBIAN if n % 2 else UBUNTU
        template = LARGE if n >= 4 else SMALL
        made.append(await backend.create_entity(tenant, compute(image, template, title=f"vm{n}")))
    await backend.create_entity(tenant, storage(title="disk"))
    await backend.create_entity(tenant, network(title="net"))
    await backend.create_entity(other, compute(title="not yours"))
    return made


async def test_creation_order_and_kinds(backend, tenant, fleet):
    assert titles(await listing(backend, tenant, COMPUTE)) == [f"vm{n}" for n in range(6)]
    everything = await listing(backend, tenant, COMPUTE, STORAGE, NETWORK)
    assert titles(everything) == [
        "Public network",
        "Private network",
        *[f"vm{n}" for n in range(6)],
        "disk",
        "net",
    ]
    assert await listing(backend, tenant) == []
    assert titles(await listing(backend, tenant, STORAGE)) == ["disk"]


async def test_provider_mixin_filters(backend, tenant, fleet):
    debian = await listing(backend, tenant, COMPUTE, mixins=(DEBIAN,))
    assert titles(debian) == ["vm1", "vm3", "vm5"]
    both = await listing(backend, tenant, COMPUTE, mixins=(DEBIAN, LARGE))
    assert titles(both) == ["vm5"]
    assert await listing(backend, tenant, COMPUTE, mixins=("http://x.org/none#n",)) == []
    networks = await listing(
        backend,
        tenant,
        NETWORK,
        mixins=("http://schemas.ogf.org/occi/infrastructure/network#ipnetwork",),
    )
    assert titles(networks) == ["Public network", "Private network", "net"]


async def test_any_of_several_mixins(backend, tenant, fleet):
    images = frozenset({DEBIAN, UBUNTU})
    assert len(await listing(backend, tenant, COMPUTE, STORAGE, any_mixins=images)) == 6
    large_or_debian = await listing(backend, tenant, COMPUTE, any_mixins=frozenset({DEBIAN, LARGE}))
    assert titles(large_or_debian) == ["vm1", "vm3", "vm4", "vm5"]
    both = await listing(
        backend, tenant, COMPUTE, mixins=(UBUNTU,), any_mixins=frozenset({DEBIAN, LARGE})
    )
    assert titles(both) == ["vm4"]
    query = Query(kinds=(COMPUTE, NETWORK), any_mixins=frozenset({DEBIAN, LARGE}))
    assert await backend.count_entities(tenant, query) == 4
    # A saved image is an OS template too.
    saved = await backend.trigger_action(
        tenant, fleet[0], "http://schemas.ogf.org/occi/infrastructure/compute/action#save", {}
    )
    clone = await backend.create_entity(tenant, compute(saved.created.id, title="clone"))
    templates = frozenset({DEBIAN, UBUNTU, saved.created.id})
    every = await listing(backend, tenant, COMPUTE, any_mixins=templates)
    assert titles(every)[-1] == "clone" and len(every) == 7
    assert clone.id in {e.id for e in every}


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"occi.core.title": "vm3"}, ["vm3"]),
        ({"occi.compute.cores": 4}, ["vm4", "vm5"]),
        ({"occi.compute.memory": 4}, ["vm4", "vm5"]),
        ({"occi.compute.memory": 4.0, "occi.compute.cores": 4}, ["vm4", "vm5"]),
        ({"occi.compute.cores": "4"}, []),
        ({"occi.compute.state": "active"}, [f"vm{n}" for n in range(6)]),
        ({"occi.compute.state": "inactive"}, []),
        ({"occi.compute.hostname": "vm2"}, ["vm2"]),
        ({"occi.core.summary": "nothing"}, []),
    ],
)
async def test_attribute_filters(backend, tenant, fleet, attributes, expected):
    assert titles(await listing(backend, tenant, COMPUTE, attributes=attributes)) == expected


async def test_filters_on_ids_state_and_links(backend, tenant, fleet):
    vm = fleet[2]
    assert titles(await listing(backend, tenant, COMPUTE, attributes={"occi.core.id": vm.id})) == [
        "vm2"
    ]
    disk = await backend.create_entity(tenant, storage())
    link = await backend.create_entity(tenant, attach(vm.location, disk.location))
    await backend.create_entity(tenant, nic(vm.location, "/network/public"))
    by_target = await listing(
        backend,
        tenant,
        STORAGELINK,
        NETWORKINTERFACE,
        attributes={"occi.core.target": disk.location},
    )
    assert [e.id for e in by_target] == [link.id]
    by_source = await listing(
        backend, tenant, STORAGELINK, NETWORKINTERFACE, attributes={"occi.core.source": vm.location}
    )
    assert [e.kind for e in by_source] == [STORAGELINK, NETWORKINTERFACE]
    stopped = await backend.trigger_action(
        tenant, fleet[0], "http://schemas.ogf.org/occi/infrastructure/compute/action#stop", {}
    )
    inactive = await listing(
        backend, tenant, COMPUTE, attributes={"occi.compute.state": "inactive"}
    )
    assert [e.id for e in inactive] == [stopped.entity.id]
    # A state attribute of another kind matches nothing of this one.
    assert (
        await listing(backend, tenant, COMPUTE, attributes={"occi.storage.state": "online"}) == []
    )


async def test_boolean_and_derived_filters(backend, tenant):
    free = await backend.create_entity(tenant, reservation())
    taken = await backend.create_entity(tenant, reservation())
    await backend.create_entity(tenant, compute(links=[nic(None, taken.location)]))
    used = await listing(
        backend, tenant, IPRESERVATION, attributes={"occi.ipreservation.used": True}
    )
    unused = await listing(
        backend, tenant, IPRESERVATION, attributes={"occi.ipreservation.used": False}
    )
    assert [e.id for e in used] == [taken.id]
    assert [e.id for e in unused] == [free.id]
    # Mirrored state of the parent kind.
    assert (
        len(
            await listing(
                backend, tenant, IPRESERVATION, attributes={"occi.network.state": "active"}
            )
        )
        == 2
    )


async def test_filters_sql_cannot_do_are_done_in_python(backend, tenant):
    rule = {
        "type": "inbound",
        "protocol": "tcp",
        "port": "22",
        "range": "0.0.0.0/0",
        "ipversion": "IPv4",
    }
    for n in range(5):
        await backend.create_entity(tenant, security_group([rule] if n % 2 else [], title=f"sg{n}"))
    query = Query(kinds=(SECURITYGROUP,), attributes={"occi.securitygroup.rules": [rule]})
    assert titles([e async for e in backend.list_entities(tenant, query)]) == ["sg1", "sg3"]
    paged = Query(
        kinds=(SECURITYGROUP,), attributes={"occi.securitygroup.rules": []}, offset=1, limit=1
    )
    assert titles([e async for e in backend.list_entities(tenant, paged)]) == ["sg2"]
    # Counting would need every row: the backend says it cannot tell cheaply.
    assert await backend.count_entities(tenant, query) is None


async def test_paging_runs_across_the_shared_networks(backend, tenant, fleet):
    kinds = (NETWORK, COMPUTE)
    pages = []
    for offset in range(0, 9, 3):
        page = [
            e
            async for e in backend.list_entities(tenant, Query(kinds=kinds, offset=offset, limit=3))
        ]
        pages.append(titles(page))
    assert pages == [
        ["Public network", "Private network", "vm0"],
        ["vm1", "vm2", "vm3"],
        ["vm4", "vm5", "net"],
    ]
    assert titles(
        [e async for e in backend.list_entities(tenant, Query(kinds=kinds, offset=1, limit=2))]
    ) == [
        "Private network",
        "vm0",
    ]
    assert [e async for e in backend.list_entities(tenant, Query(kinds=kinds, offset=20))] == []
    assert [e async for e in backend.list_entities(tenant, Query(kinds=kinds, limit=0))] == []
    assert await backend.count_entities(tenant, Query(kinds=kinds)) == 9
    assert await backend.count_entities(tenant, Query(kinds=kinds, offset=4, limit=1)) == 9
    assert await backend.count_entities(tenant, Query(kinds=(COMPUTE,), mixins=(LARGE,))) == 2


async def test_large_listings_stream_in_batches(make_backend, tenant, database, statements):
    backend = make_backend(quotas=Quotas(computes=None, cores=None, memory=None))
    backend.entities.batch_size = 4
    for n in range(10):
        await backend.create_entity(tenant, compute(title=f"vm{n}"))
    with statements(database) as executed:
        everything = await listing(backend, tenant, COMPUTE)
    assert titles(everything) == [f"vm{n}" for n in range(10)]
    entity_reads = [s for s in executed if "FROM sim_entities" in s and "source_seq IN" not in s]
    assert len(entity_reads) == 3
    with statements(database) as executed:
        page = [
            e
            async for e in backend.list_entities(tenant, Query(kinds=(COMPUTE,), offset=3, limit=6))
        ]
    assert titles(page) == [f"vm{n}" for n in range(3, 9)]
    # The offset went to SQL; then two batches (4 + 2) and no more.
    entity_reads = [s for s in executed if "FROM sim_entities" in s and "source_seq IN" not in s]
    assert len(entity_reads) == 2
    assert "OFFSET" in entity_reads[0].upper()


async def test_the_ids_filter(backend, tenant, fleet):
    wanted = frozenset({fleet[4].id, fleet[1].id, "no-such-id", "public"})
    found = await listing(backend, tenant, COMPUTE, NETWORK, ids=wanted)
    assert titles(found) == ["Public network", "vm1", "vm4"]
    assert await backend.count_entities(tenant, Query(kinds=(COMPUTE, NETWORK), ids=wanted)) == 3
    assert await listing(backend, tenant, COMPUTE, ids=frozenset()) == []
    assert await backend.count_entities(tenant, Query(kinds=(COMPUTE,), ids=frozenset())) == 0
    # Many ids go as one parameter.
    many = frozenset({fleet[0].id} | {f"missing-{n}" for n in range(5000)})
    assert titles(await listing(backend, tenant, COMPUTE, ids=many)) == ["vm0"]
    assert Query(kinds=(COMPUTE,), ids=frozenset({fleet[0].id})).matches(fleet[0])
    assert not Query(kinds=(COMPUTE,), ids=frozenset({"x"})).matches(fleet[0])


async def test_resources_come_with_their_links_without_n_plus_one(
    backend, tenant, database, statements
):
    net = await backend.create_entity(tenant, network())
    for n in range(20):
        disk = await backend.create_entity(tenant, storage())
        await backend.create_entity(
            tenant,
            compute(title=f"vm{n}", links=[nic(None, net.location), attach(None, disk.location)]),
        )
    with statements(database) as executed:
        computes = await listing(backend, tenant, COMPUTE, limit=15)
    assert len(computes) == 15
    assert all(len(vm.links) == 2 for vm in computes)
    assert computes[0].links[0].attributes["occi.networkinterface.interface"] == "eth0"
    selects = [s for s in executed if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects  # one for the page, one for all its links
    with statements(database) as executed:
        assert await backend.count_entities(tenant, Query(kinds=(COMPUTE,))) == 20
    assert len([s for s in executed if "count(" in s.lower()]) == 1


# --- location-only listings ---------------------------------------------------------------


async def locations(backend, tenant, query):
    return [location async for batch in backend.list_locations(tenant, query) for location in batch]


LOCATION_QUERIES = {
    "one kind": Query(kinds=(COMPUTE,)),
    "several kinds, shared networks first": Query(kinds=(NETWORK, COMPUTE, STORAGE)),
    "paged across the shared networks": Query(kinds=(NETWORK, COMPUTE), offset=1, limit=4),
    "paged past the end": Query(kinds=(COMPUTE,), offset=4, limit=10),
    "a mixin and an attribute in SQL": Query(
        kinds=(COMPUTE,), mixins=(LARGE,), attributes={"occi.compute.cores": 4}
    ),
    "an attribute Python filters": Query(
        kinds=(COMPUTE,), attributes={"occi.compute.hostname": None}, offset=1
    ),
    "ids": Query(kinds=(COMPUTE, NETWORK), ids=frozenset({"public", "no-such-id"})),
    "nothing can match": Query(kinds=(COMPUTE,), ids=frozenset()),
}


@pytest.mark.parametrize("query", LOCATION_QUERIES.values(), ids=LOCATION_QUERIES.keys())
async def test_locations_are_those_of_the_listed_entities_in_order(backend, tenant, fleet, query):
    entities = [e async for e in backend.list_entities(tenant, query)]
    expected = [e.location for e in entities]
    assert await locations(backend, tenant, query) == expected
    # The default every backend inherits (built on list_entities) agrees too.
    inherited = [
        location
        async for batch in Backend.list_locations(backend, tenant, query)
        for location in batch
    ]
    assert inherited == expected


async def test_locations_come_from_the_index_alone_in_one_read(make_backend, tenant, database):
    backend = make_backend(quotas=Quotas(computes=None, cores=None, memory=None))
    for n in range(12):
        await backend.create_entity(tenant, compute(title=f"vm{n}"))
    backend.entities.batch_size = 4  # entity listings read three batches; locations ignore it
    executed: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        executed.append((statement, parameters))

    sa.event.listen(database.engine, "before_cursor_execute", record)
    try:
        found = await locations(backend, tenant, Query(kinds=(COMPUTE,)))
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", record)
    assert len(found) == 12 and all(location.startswith("/compute/") for location in found)
    reads = [(s, p) for s, p in executed if "FROM sim_entities" in s]
    assert len(reads) == 1
    statement, parameters = reads[0]
    # No links and no JSON columns are read.
    assert "attributes" not in statement and "source_seq" not in statement
    if database.is_sqlite:
        with database.reading() as connection:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            assert "COVERING INDEX" in str(plan.all())


async def test_location_batches_follow_creation_order_across_batches(
    make_backend, tenant, monkeypatch
):
    backend = make_backend(quotas=Quotas(computes=None, cores=None, memory=None))
    created = [await backend.create_entity(tenant, compute(title=f"vm{n}")) for n in range(13)]
    monkeypatch.setattr("pyocci.backends.sim.collection.LOCATION_BATCH", 5)
    batches = [b async for b in backend.list_locations(tenant, Query(kinds=(COMPUTE,)))]
    assert [len(b) for b in batches] == [5, 5, 3]
    assert [loc for b in batches for loc in b] == [e.location for e in created]
    paged = Query(kinds=(COMPUTE,), offset=4, limit=7)
    assert await locations(backend, tenant, paged) == [e.location for e in created[4:11]]


async def test_an_id_no_url_would_carry_still_lists_right(backend, tenant, database):
    # Written past the service (which refuses such ids): the one-text read of a batch
    # cannot split it, and the batch is read row by row instead.
    first = await backend.create_entity(tenant, compute(title="vm0"))
    with database.transaction() as connection:
        row = dict(
            connection.execute(sa.select(sim_entities).where(sim_entities.c.entity_id == first.id))
            .one()
            ._mapping
        )
        row.pop("seq")
        connection.execute(sim_entities.insert().values({**row, "entity_id": "odd\nid"}))
    found = await locations(backend, tenant, Query(kinds=(COMPUTE,)))
    assert found == [first.location, "/compute/odd\nid"]

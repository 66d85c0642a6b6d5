"""`DeadlineBackend`: the backend the server serves, unchanged in what it answers, with a
deadline on everything that may wait for the cloud.

The inner backend is a real sim on SQLite; the deadline's own behaviour (a
silent cloud) is in ``test_deadline.py`` and, on EC2, in ``ec2/test_ec2_api.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import anyio
import pytest

from pyocci.backends import deadline
from pyocci.backends.api import Query, Tenant
from pyocci.backends.bounded import LISTING_PART, DeadlineBackend
from pyocci.backends.sim import Quotas, SimBackend, SimSettings
from pyocci.model import Resource, standard_model
from pyocci.store import Database

pytestmark = pytest.mark.anyio

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
STOP = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"
UBUNTU = "http://schemas.pyocci.org/sim/os_tpl#ubuntu-24_04"
TENANT = Tenant("alice")


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[SimBackend]:
    database = Database(f"sqlite:///{tmp_path}/sim.db")
    database.upgrade()
    settings = SimSettings(quotas=Quotas(computes=None, cores=None, memory=None))
    backend = SimBackend(model=standard_model(), database=database, settings=settings)
    await backend.open()
    yield backend
    await backend.close()
    database.dispose()


@pytest.fixture
def bounded(sim: SimBackend) -> DeadlineBackend:
    return DeadlineBackend(sim, seconds=30)


def compute(title: str) -> Resource:
    return Resource(kind=COMPUTE, mixins=[UBUNTU], attributes={"occi.core.title": title})


async def test_it_is_the_inner_backend_to_the_service(bounded, sim) -> None:
    assert bounded.name == "sim" and bounded.capabilities == sim.capabilities
    assert bounded.model is sim.model
    assert bounded.location_of(COMPUTE, "x") == sim.location_of(COMPUTE, "x")
    assert bounded.revision() == sim.revision()
    assert bounded.retry_after == sim.retry_after
    assert [m.id for m in await bounded.provider_mixins(TENANT)] == [
        m.id for m in await sim.provider_mixins(TENANT)
    ]


async def test_every_operation_answers_as_the_inner_backend(bounded) -> None:
    created = await bounded.create_entity(TENANT, compute("one"))
    read = await bounded.get_entity(TENANT, COMPUTE, created.id)
    assert read.title == "one"
    desired = dataclasses.replace(
        read, mixins=list(read.mixins), attributes={**read.attributes, "occi.core.title": "renamed"}
    )
    assert (await bounded.update_entity(TENANT, read, desired)).title == "renamed"

    def retitled(current: Resource) -> Resource:
        return dataclasses.replace(
            current, attributes={**current.attributes, "occi.core.title": "again"}
        )

    assert (await bounded.revise_entity(TENANT, COMPUTE, read.id, retitled)).title == "again"
    outcome = await bounded.trigger_action(TENANT, read, STOP, {})
    assert outcome.entity.id == read.id
    assert await bounded.count_entities(TENANT, Query(kinds=(COMPUTE,))) == 1
    await bounded.delete_entity(TENANT, read)
    assert await bounded.count_entities(TENANT, Query(kinds=(COMPUTE,))) == 0


async def test_a_listing_longer_than_a_part_comes_whole_and_in_order(bounded, sim) -> None:
    count = LISTING_PART * 2 + 7
    for n in range(count):
        await sim.create_entity(TENANT, compute(f"vm{n:03}"))
    query = Query(kinds=(COMPUTE,))
    direct = [e.id async for e in sim.list_entities(TENANT, query)]
    through = [e.id async for e in bounded.list_entities(TENANT, query)]
    assert len(through) == count and through == direct
    paged = Query(kinds=(COMPUTE,), offset=LISTING_PART - 3, limit=10)
    assert [e.id async for e in bounded.list_entities(TENANT, paged)] == direct[
        LISTING_PART - 3 : LISTING_PART + 7
    ]


class Watched(SimBackend):
    """The sim, noting whether a cloud deadline is set around its reads."""

    watches: list[object]

    async def get_entity(self, tenant, kind_id, entity_id):  # type: ignore[no-untyped-def]
        self.watches.append(deadline._watch.get())
        return await super().get_entity(tenant, kind_id, entity_id)


@pytest.mark.parametrize("on_loop", [True, False])
async def test_a_deadline_is_set_only_around_calls_that_may_wait(tmp_path, on_loop) -> None:
    database = Database(f"sqlite:///{tmp_path}/w.db")
    database.upgrade()
    inner = Watched(model=standard_model(), database=database)
    inner.watches = []
    if not on_loop:  # as on PostgreSQL, where the store is reached from threads
        database.is_sqlite = False
        database.run = lambda function, *args: anyio.to_thread.run_sync(  # type: ignore[method-assign]
            lambda: function(*args)
        )
    try:
        created = await inner.create_entity(TENANT, compute("one"))
        assert inner.reads_on_loop is on_loop
        read = await DeadlineBackend(inner, seconds=30).get_entity(TENANT, COMPUTE, created.id)
        assert read.title == "one"
        assert (inner.watches[0] is None) is on_loop
    finally:
        database.dispose()


async def test_the_census_is_the_inner_backends(bounded, sim) -> None:
    await bounded.create_entity(TENANT, compute("counted"))
    assert await bounded.census() == await sim.census() == {(COMPUTE, "active"): 1}

"""`KitBackend`: requests routed to the collection of the entity's kind, listings across
collections as one paged sequence, capabilities together, the cloud's errors translated."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest

from pyocci.backends.api import ActionOutcome, Query, Tenant
from pyocci.backends.errors import (
    BackendUnavailableError,
    EntityNotFoundError,
    NotSupportedError,
)
from pyocci.backends.kit import ActionHandler, Collection, KitBackend
from pyocci.model import Resource
from pyocci.model.category import Mixin
from pyocci.model.core import RESOURCE
from pyocci.model.entity import Entity
from pyocci.model.infrastructure import COMPUTE, NETWORK, START, STOP, STORAGE
from pyocci.model.standard import standard_model

pytestmark = pytest.mark.anyio

TENANT = Tenant("t1")


class Dicts(Collection):
    """Entities of some kinds in a dict; ids start with the kind's term."""

    def __init__(self, *kinds: str, counts: bool = True) -> None:
        self.kinds = kinds
        self.entities: dict[str, Entity] = {}
        self.counts = counts
        self.triggered: list[str] = []
        self.gets: list[str] = []

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        return {START.id: self._start} if COMPUTE.id in self.kinds else {}

    def may_hold(self, kind_id: str, entity_id: str) -> bool:
        return entity_id.startswith(kind_id.rsplit("#", 1)[-1])

    async def listing(self, tenant: Tenant, query: Query):
        for entity in query.page(self.entities.values()):
            yield entity

    async def count(self, tenant: Tenant, query: Query) -> int | None:
        if not self.counts:
            return None
        return sum(1 for e in self.entities.values() if query.matches(e))

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        self.gets.append(entity_id)
        entity = self.entities.get(entity_id)
        if entity is None or entity.kind != kind_id:
            raise EntityNotFoundError(f"no {entity_id}")
        return entity

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        term = (entity.kind or "").rsplit("#", 1)[-1]
        entity.attributes["occi.core.id"] = f"{term}{len(self.entities)}"
        self.entities[entity.id or ""] = entity
        return entity

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        self.entities[current.id or ""] = desired
        return desired

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        del self.entities[entity.id or ""]

    async def _start(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        self.triggered.append(entity.id or "")
        return ActionOutcome(entity=entity)


class Backend(KitBackend):
    cloud = "Dicts"

    def __init__(self, *collections: Collection) -> None:
        super().__init__(model=standard_model())
        self.collections = collections
        self.acted_for: list[str] = []
        self.doing: list[str] = []

    def act_for(self, tenant: Tenant) -> None:
        self.acted_for.append(tenant.id)

    @contextmanager
    def translating(self, doing: str) -> Iterator[None]:
        self.doing.append(doing)
        try:
            yield
        except KeyError as error:
            raise BackendUnavailableError(f"{doing}: {error}", retry_after=1) from None

    async def provider_mixins(self, tenant: Tenant) -> list[Mixin]:
        return []


@pytest.fixture
def parts() -> tuple[Dicts, Dicts]:
    return Dicts(COMPUTE.id), Dicts(STORAGE.id, counts=False)


@pytest.fixture
async def backend(parts) -> Backend:
    made = Backend(*parts)
    for n in range(3):
        await made.create_entity(TENANT, Resource(kind=COMPUTE.id, attributes={"n": n}))
    for n in range(2):
        await made.create_entity(TENANT, Resource(kind=STORAGE.id, attributes={"n": n}))
    return made


async def test_capabilities_are_the_collections_together(backend) -> None:
    assert backend.capabilities.kinds == {COMPUTE.id, STORAGE.id}
    assert backend.capabilities.actions == {START.id}


async def test_each_write_goes_to_the_collection_of_its_kind(backend, parts) -> None:
    computes, storages = parts
    assert sorted(computes.entities) == ["compute0", "compute1", "compute2"]
    assert sorted(storages.entities) == ["storage0", "storage1"]
    assert backend.acted_for == ["t1"] * 5 and backend.doing == ["creating"] * 5
    await backend.delete_entity(TENANT, computes.entities["compute1"])
    assert sorted(computes.entities) == ["compute0", "compute2"]


async def test_a_kind_no_collection_serves_is_not_supported(backend) -> None:
    with pytest.raises(NotSupportedError, match="does not serve network entities on Dicts"):
        await backend.create_entity(TENANT, Resource(kind=NETWORK.id))


async def test_reads_ask_only_collections_that_may_hold_the_id(backend, parts) -> None:
    computes, storages = parts
    found = await backend.get_entity(TENANT, RESOURCE.id, "storage1")
    assert found.kind == STORAGE.id
    assert computes.gets == [] and storages.gets == ["storage1"]
    with pytest.raises(EntityNotFoundError, match="no compute with id 'storage1'"):
        await backend.get_entity(TENANT, COMPUTE.id, "storage1")


async def test_listing_across_collections_pages_as_one(backend) -> None:
    query = Query(kinds=(COMPUTE.id, STORAGE.id), offset=2, limit=2)
    assert [e.id async for e in backend.list_entities(TENANT, query)] == ["compute2", "storage0"]
    only = Query(kinds=(STORAGE.id,))
    assert [e.id async for e in backend.list_entities(TENANT, only)] == ["storage0", "storage1"]


async def test_counts_sum_only_when_every_collection_can_tell(backend) -> None:
    assert await backend.count_entities(TENANT, Query(kinds=(COMPUTE.id,))) == 3
    assert await backend.count_entities(TENANT, Query(kinds=(COMPUTE.id, STORAGE.id))) is None


async def test_actions_come_from_the_collections_table(backend, parts) -> None:
    computes, _ = parts
    compute = computes.entities["compute0"]
    outcome = await backend.trigger_action(TENANT, compute, START.id, {})
    assert outcome.entity is compute and computes.triggered == ["compute0"]
    with pytest.raises(NotSupportedError, match="no stop action for a compute"):
        await backend.trigger_action(TENANT, compute, STOP.id, {})
    assert backend.doing[-1] == "performing stop on compute0"


async def test_what_the_cloud_raises_is_translated(parts) -> None:
    computes, _ = parts

    async def broken(tenant, entity, parameters):
        raise KeyError("State")

    backend = Backend(*parts)
    entity = await backend.create_entity(TENANT, Resource(kind=COMPUTE.id))
    computes._start = broken  # the table is built from the method each time
    with pytest.raises(BackendUnavailableError, match="performing start on compute0: 'State'"):
        await backend.trigger_action(TENANT, entity, START.id, {})

"""`KitBackend.keeping`: for collections whose listings give every entity of their kinds,
the backend filters what they give, and their limit is only the size of a cloud page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from pyocci.backends.api import Query, Tenant
from pyocci.backends.kit import Collection, KitBackend
from pyocci.model import Resource
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity
from pyocci.model.infrastructure import COMPUTE, STORAGE
from pyocci.model.standard import standard_model

pytestmark = pytest.mark.anyio

TENANT = Tenant("t1")


class Unfiltered(Collection):
    """Every entity of its kind, whatever the query asks (the limits it was given kept)."""

    def __init__(self, kind: str, titles: list[str]) -> None:
        self.kinds = (kind,)
        self.entities = [
            Resource(
                kind=kind, attributes={"occi.core.id": f"{kind[-7:]}{n}", "occi.core.title": t}
            )
            for n, t in enumerate(titles)
        ]
        self.limits: list[int | None] = []

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        self.limits.append(query.limit)
        for entity in self.entities:
            yield entity

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        raise NotImplementedError

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        raise NotImplementedError

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        raise NotImplementedError

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        raise NotImplementedError


class Matching(KitBackend):
    def __init__(self, *collections: Collection) -> None:
        super().__init__(model=standard_model())
        self.collections = collections

    def keeping(self, query: Query) -> Callable[[Entity], bool]:
        return query.matches

    async def provider_mixins(self, tenant: Tenant) -> list[Mixin]:
        return []


async def test_what_the_collections_give_is_filtered_then_paged_as_one_sequence() -> None:
    computes = Unfiltered(COMPUTE.id, ["a", "b", "a"])
    storages = Unfiltered(STORAGE.id, ["b", "a", "a"])
    backend = Matching(computes, storages)
    kinds = (COMPUTE.id, STORAGE.id)
    query = Query(kinds=kinds, attributes={"occi.core.title": "a"}, offset=1, limit=2)
    listed = [e.id async for e in backend.list_entities(TENANT, query)]
    assert listed == ["compute2", "storage1"]
    # Each was asked for what the page still needed, counting the offset.
    assert computes.limits == [3] and storages.limits == [1]
    # A single collection too: it is not trusted to filter.
    only = Query(kinds=(STORAGE.id,), attributes={"occi.core.title": "b"})
    assert [e.id async for e in backend.list_entities(TENANT, only)] == ["storage0"]

"""`KitBackend`: a backend made of collections, one per part of its cloud.

The backend routes each request to the collection serving the entity's kind
(`Collection.serves`), lists several collections as one paged sequence
(`paging.chain`), and shows their capabilities as one. What differs between
clouds goes in two hooks: `act_for` (remember who the calls that follow are
made for, when the cloud's client needs it) and `translating` (turn what a
cloud's SDK raises while doing something into the backend errors the server
answers with).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from pyocci.backends.api import ActionOutcome, Backend, Capabilities, Query, Tenant
from pyocci.backends.errors import EntityNotFoundError, NotSupportedError
from pyocci.backends.kit.collection import Collection
from pyocci.backends.kit.paging import chain
from pyocci.model.entity import Entity


def union(collections: Sequence[Collection]) -> Capabilities:
    """The capabilities of several collections together."""
    capabilities = [collection.capabilities for collection in collections]
    return Capabilities(
        kinds=frozenset().union(*(c.kinds for c in capabilities)),
        actions=frozenset().union(*(c.actions for c in capabilities)),
        mixins=frozenset().union(*(c.mixins for c in capabilities)),
        required={k: v for c in capabilities for k, v in c.required.items()},
        attribute_notes={k: v for c in capabilities for k, v in c.attribute_notes.items()},
    )


def _short(identifier: str | None) -> str:
    return (identifier or "").rsplit("#", 1)[-1]


class KitBackend(Backend):
    """A backend whose entities are kept by `collections`, listed in their order."""

    #: Every collection served, in listing order (resources before links, by custom).
    collections: Sequence[Collection] = ()
    #: The cloud's name in messages ("EC2", "OpenStack").
    cloud: str = "this cloud"

    @property
    def capabilities(self) -> Capabilities:
        """What the collections can do together, asked each time: a collection may learn
        that its cloud lacks something (a backup service, say)."""
        return union(self.collections)

    def act_for(self, tenant: Tenant) -> None:
        """Called before the calls made for a tenant: a cloud client that needs to know
        whose credentials to use (tokens passed through) remembers it here."""

    def translating(self, doing: str) -> AbstractContextManager[Any]:
        """A context in which what the cloud's SDK raises while `doing` something
        ("listing", "reading vm-1"...) becomes a backend error. Nothing by default: the
        collections raise backend errors themselves."""
        return nullcontext()

    def keeping(self, query: Query) -> Callable[[Entity], bool] | None:
        """What a listing keeps of what the collections give (`paging.chain`'s `keep`):
        None by default, the collections applying every filter of the query themselves.
        A cloud whose listings give every entity of their kinds (filters it can express
        pushed down, the rest not) answers `query.matches`; its collections then take the
        query's limit as the size of the page to ask the cloud for."""
        return None

    def serving(self, kind_id: str | None) -> Collection:
        """The collection keeping entities of this kind; 501 when none does."""
        for collection in self.collections:
            if collection.serves(kind_id):
                return collection
        raise NotSupportedError(
            f"this server does not serve {_short(kind_id)} entities on {self.cloud}"
        )

    # --- reading ---------------------------------------------------------------------------

    async def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The entities of every collection serving one of the query's kinds, in the
        collections' order, paged as one sequence."""
        self.act_for(tenant)
        parts = [
            functools.partial(collection.listing, tenant)
            for collection in self.collections
            if any(collection.serves(kind) for kind in query.kinds)
        ]
        with self.translating("listing"):
            async for entity in chain(query, parts, self.keeping(query)):
                yield entity

    async def count_entities(self, tenant: Tenant, query: Query) -> int | None:
        """The sum of the collections' counts, when every one involved can tell."""
        self.act_for(tenant)
        total = 0
        with self.translating("counting"):
            for collection in self.collections:
                if any(collection.serves(kind) for kind in query.kinds):
                    count = await collection.count(tenant, query)
                    if count is None:
                        return None
                    total += count
        return total

    def _candidates(self, kind_id: str, entity_id: str) -> Iterator[tuple[Collection, str]]:
        """The collections and kinds an entity of this kind (or a sub-kind) with this id
        may be found in."""
        for collection in self.collections:
            for kind in sorted(collection.capabilities.kinds):
                if self.model.is_kind_of(kind, kind_id) and collection.may_hold(kind, entity_id):
                    yield collection, kind

    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """The entity with this id, if it is of this kind (or a sub-kind)."""
        self.act_for(tenant)
        with self.translating(f"reading {entity_id}"):
            for collection, kind in self._candidates(kind_id, entity_id):
                try:
                    return await collection.get(tenant, kind, entity_id)
                except EntityNotFoundError:
                    continue
        raise EntityNotFoundError(f"no {_short(kind_id)} with id {entity_id!r}")

    # --- writing ---------------------------------------------------------------------------

    async def create_entity(self, tenant: Tenant, entity: Entity) -> Entity:
        """Make the entity in the collection of its kind; its id is the cloud's."""
        self.act_for(tenant)
        collection = self.serving(entity.kind)
        with self.translating("creating"):
            return await collection.create(tenant, entity)

    async def update_entity(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Change what the cloud can change."""
        self.act_for(tenant)
        collection = self.serving(current.kind)
        with self.translating(f"updating {current.id}"):
            return await collection.update(tenant, current, desired)

    async def delete_entity(self, tenant: Tenant, entity: Entity) -> None:
        """Delete, detach or release."""
        self.act_for(tenant)
        collection = self.serving(entity.kind)
        with self.translating(f"deleting {entity.id}"):
            await collection.delete(tenant, entity)

    async def trigger_action(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """An action of the entity's kind, from its collection's table."""
        self.act_for(tenant)
        collection = self.serving(entity.kind)
        with self.translating(f"performing {_short(action_id)} on {entity.id}"):
            return await collection.trigger(tenant, entity, action_id, parameters)

"""Drives `OcciService` directly, as the server's handlers do, for one tenant.

The service's calls take the tenant, the tenant's model and a collection or
an entity path at every turn; `ServiceDriver` looks those up once per call
so that a test reads as the OCCI operation it performs.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from pyocci.backends.api import ActionOutcome, Tenant
from pyocci.model.category import Category, Kind, Mixin
from pyocci.model.entity import ActionInvocation, Entity, Link, Resource
from pyocci.model.errors import (
    OcciError,
)
from pyocci.model.infrastructure import (
    COMPUTE,
    NETWORK,
    NETWORKINTERFACE,
    STORAGE,
    STORAGELINK,
)
from pyocci.model.registry import Model
from pyocci.model.standard import standard_model
from pyocci.server.responses import STATUS_OF
from pyocci.service.occi import OcciService, PageRequest, Written
from pyocci.service.paths import Collection, EntityPath, resolve
from pyocci.store import Database
from pyocci.store.mixins import MixinRepository

COMPUTE_ID = COMPUTE.id
STORAGE_ID = STORAGE.id
NETWORK_ID = NETWORK.id
NETWORKINTERFACE_ID = NETWORKINTERFACE.id
STORAGELINK_ID = STORAGELINK.id
STATE = "occi.compute.state"
#: The OS templates the memory backend offers by default (its images).
DEBIAN = "http://schemas.pyocci.org/memory/os_tpl#debian-12"
UBUNTU = "http://schemas.pyocci.org/memory/os_tpl#ubuntu-24_04"
#: The page size limit of the service under test (small, so a test can pass it).
MAX_PAGE_SIZE = 50


def memory_service(
    database: Database, *, store: MixinRepository | None = None, **options: Any
) -> OcciService:
    """The service as the server builds it, over the memory backend and `database` (its
    user mixins in `store`, by default the store's own repository); `options` go to
    `OcciService` (a usage recorder, page sizes)."""
    # Imported here: the other service tests do not need the memory backend.
    from pyocci.backends.memory.backend import MemoryBackend

    standard = standard_model()
    return OcciService(
        standard=standard,
        backend=MemoryBackend(model=standard),
        store=store or MixinRepository(database),
        runner=database,
        **options,
    )


def status_of(error: OcciError) -> int | None:
    """The status the server answers an error with (its own table, tested with the
    server); None for one no client should see."""
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), None)


def new_tenant() -> Tenant:
    """A tenant no other test acts for."""
    return Tenant(f"tenant-{uuid.uuid4().hex[:12]}")


@contextlib.contextmanager
def refused(status: int, match: str = "") -> Iterator[pytest.ExceptionInfo[OcciError]]:
    """Expect an OCCI error that the server answers with `status`, its message containing
    `match` (case-insensitive)."""
    with pytest.raises(OcciError) as raised:
        yield raised
    error = raised.value
    assert status_of(error) == status, f"{type(error).__name__} ({error.message}) is not {status}"
    assert match.lower() in error.message.lower(), error.message


@dataclass(slots=True)
class ServiceDriver:
    """One tenant's view of a service: each method is one OCCI operation."""

    service: OcciService
    tenant: Tenant

    async def model(self) -> Model:
        """The tenant's model as a request would see it now."""
        return await self.service.model_for(self.tenant)

    async def category(self, identifier: str) -> Kind | Mixin:
        """A kind or mixin of the tenant's model (the test fails if there is none)."""
        found = (await self.model()).get(identifier)
        assert isinstance(found, Kind | Mixin), f"{identifier} is not in the tenant's model"
        return found

    async def path(self, location: str) -> EntityPath:
        """The entity path a location resolves to."""
        target = resolve(await self.model(), location)
        assert isinstance(target, EntityPath), f"{location} is not an entity location"
        return target

    async def collection(self, location: str) -> Kind | Mixin:
        """The kind or mixin a collection location is bound to."""
        target = resolve(await self.model(), location)
        assert isinstance(target, Collection), f"{location} is not a collection"
        return target.category

    # --- writes ----------------------------------------------------------------------

    async def create_all(self, kind_id: str, entities: Sequence[Entity]) -> Written:
        """Create entities in the collection of `kind_id`."""
        kind = await self.category(kind_id)
        assert isinstance(kind, Kind)
        return await self.service.create_all(self.tenant, await self.model(), kind, entities)

    async def create(self, entity: Entity, collection: str | None = None) -> Entity:
        """Create one entity in its kind's collection (or `collection`); the entity as the
        service answers it."""
        written = await self.create_all(collection or entity.kind or "", [entity])
        assert written.done
        assert len(written.entities) == 1
        return written.entities[0]

    async def compute(self, **attributes: Any) -> Entity:
        """A new compute with these attributes."""
        return await self.create(Resource(kind=COMPUTE_ID, attributes=dict(attributes)))

    async def storage(self, size: float = 1.0, **attributes: Any) -> Entity:
        """A new storage of `size` GB."""
        values = {"occi.storage.size": size, **attributes}
        return await self.create(Resource(kind=STORAGE_ID, attributes=values))

    async def network(self, **attributes: Any) -> Entity:
        """A new network."""
        return await self.create(Resource(kind=NETWORK_ID, attributes=dict(attributes)))

    async def storagelink(self, source: Entity, target: Entity, **attributes: Any) -> Entity:
        """A new storagelink from a compute to a storage, created on its own."""
        values = {"occi.core.source": source.location, "occi.core.target": target.location}
        return await self.create(Link(kind=STORAGELINK_ID, attributes={**values, **attributes}))

    async def update(self, location: str, changes: Entity) -> Entity:
        """POST to an entity: a partial update."""
        model = await self.model()
        return await self.service.update(self.tenant, model, await self.path(location), changes)

    async def replace(self, location: str, entity: Entity) -> tuple[Written, bool]:
        """PUT to an entity location."""
        model = await self.model()
        return await self.service.replace(self.tenant, model, await self.path(location), entity)

    async def delete(self, location: str) -> Written:
        """DELETE an entity."""
        model = await self.model()
        return await self.service.delete(self.tenant, model, await self.path(location))

    async def trigger(
        self, location: str, term: str, invocation: ActionInvocation | None = None
    ) -> ActionOutcome:
        """POST ``<location>?action=<term>``."""
        model = await self.model()
        path = await self.path(location)
        return await self.service.trigger(self.tenant, model, path, term, invocation)

    # --- reads -----------------------------------------------------------------------

    async def get(self, location: str) -> Entity:
        """GET an entity."""
        model = await self.model()
        return await self.service.get(self.tenant, model, await self.path(location))

    async def listing(
        self,
        collection: Kind | Mixin | str,
        *,
        filters: Sequence[Category] = (),
        attributes: Mapping[str, Any] | None = None,
        page: PageRequest | None = None,
    ) -> tuple[list[Entity], int | None]:
        """Every entity a listing yields, and the listing's total."""
        if isinstance(collection, str):
            collection = await self.category(collection)
        listing = await self.service.listing(
            self.tenant,
            await self.model(),
            collection,
            filters=filters,
            attributes=attributes,
            page=page,
        )
        return [entity async for batch in listing.batches for entity in batch], listing.total

    async def locations(
        self,
        collection: Kind | Mixin | str,
        *,
        filters: Sequence[Category] = (),
        attributes: Mapping[str, Any] | None = None,
        page: PageRequest | None = None,
    ) -> list[str]:
        """The locations of a collection's entities (``location_listing``), in order."""
        entities, _ = await self.listing(
            collection, filters=filters, attributes=attributes, page=page
        )
        return [entity.location or "" for entity in entities]

    async def location_listing(
        self, collection: Kind | Mixin | str, *, page: PageRequest | None = None
    ) -> tuple[list[str], int | None]:
        """What a text/uri-list listing shows: locations alone, and the total."""
        if isinstance(collection, str):
            collection = await self.category(collection)
        listing = await self.service.location_listing(
            self.tenant, await self.model(), collection, page=page
        )
        return [location async for batch in listing.batches for location in batch], listing.total

    # --- user mixins -----------------------------------------------------------------

    async def define(self, *mixins: Category) -> list[Mixin]:
        """Define user mixins at the query interface."""
        return await self.service.define_mixins(self.tenant, mixins)

    async def remove_mixins(self, *identifiers: str) -> None:
        """Remove user mixins at the query interface."""
        await self.service.remove_mixins(self.tenant, identifiers)

    async def add_members(self, mixin_id: str, *locations: str) -> None:
        """POST locations to a mixin collection."""
        mixin = await self.category(mixin_id)
        assert isinstance(mixin, Mixin)
        await self.service.add_members(self.tenant, await self.model(), mixin, locations)

    async def replace_members(self, mixin_id: str, *locations: str) -> None:
        """PUT locations to a mixin collection."""
        mixin = await self.category(mixin_id)
        assert isinstance(mixin, Mixin)
        await self.service.replace_members(self.tenant, await self.model(), mixin, locations)

    async def remove_members(self, mixin_id: str, *locations: str) -> None:
        """DELETE on a mixin collection: the locations named, or every member if none."""
        mixin = await self.category(mixin_id)
        assert isinstance(mixin, Mixin)
        chosen = list(locations) if locations else None
        await self.service.remove_members(self.tenant, await self.model(), mixin, chosen)

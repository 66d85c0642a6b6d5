"""`SimCollection`: every entity of the simulated cloud, kept in the store's database.

The sim keeps every kind in one table (`pyocci.backends.sim.tables`), so it
is one collection of the kit, serving every kind: one query lists, counts
or reads entities of several kinds at once, in creation order. Each call is
one transaction: writes take the tenant's lock first (see
`quotas.lock_tenant`), reads see one snapshot.

Listings page in SQL where SQL does all the filtering, the shared networks
(which have no row) first; otherwise they page in Python, over every row
SQL lets through, with the kit's `chain`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from pyocci.backends.api import (
    LOCATION_BATCH,
    ActionOutcome,
    Capabilities,
    Query,
    Revision,
    Tenant,
)
from pyocci.backends.errors import ConflictError, EntityNotFoundError
from pyocci.backends.kit.collection import ActionHandler, Collection
from pyocci.backends.kit.paging import chain
from pyocci.backends.riders import entity_changed
from pyocci.backends.sim import actions, creation, deletion, listing, quotas, records, updates
from pyocci.backends.sim.catalogue import KINDS
from pyocci.backends.sim.context import Cloud, Work
from pyocci.backends.sim.records import Record
from pyocci.model.entity import Entity, Resource

T = TypeVar("T")


class SimCollection(Collection):
    """Every kind the sim serves, in one table of `cloud`'s database; `clock` returns
    seconds since the epoch. Listings are read `batch_size` entities at a time: few
    enough that one read (on the event loop, with SQLite) is a short step among other
    requests."""

    kinds = tuple(kind.id for kind in KINDS)

    def __init__(self, cloud: Cloud, *, clock: Callable[[], float], batch_size: int) -> None:
        self.cloud = cloud
        self.database = cloud.database
        self.clock = clock
        self.batch_size = batch_size
        self._capabilities = cloud.catalogue.capabilities
        self.mixins = self._capabilities.mixins
        # Every action the model declares for the sim's kinds, each performed the same
        # way (`actions.trigger`): the model's state machine, plus what save, backup,
        # snapshot and resize leave behind.
        self._actions: dict[str, ActionHandler] = {
            action_id: self._performer(action_id)
            for action_id in sorted(self._capabilities.actions)
        }

    @property
    def capabilities(self) -> Capabilities:
        """The catalogue's, made once: the service asks on every request."""
        return self._capabilities

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """The actions performed here, by action id."""
        return self._actions

    # --- transactions ------------------------------------------------------------------------

    async def written(self, tenant: Tenant, operation: Callable[..., T], *args: Any) -> T:
        """``operation(work, *args)`` in a write transaction, the tenant's lock taken first,
        committed when this returns; on SQLite it may share its transaction (and commit)
        with writes made at the same moment (see `Database.write`)."""
        try:
            return await self.database.write(self._in_write, tenant, operation, *args)
        except sa.exc.IntegrityError as error:
            raise _conflict() from error

    def _in_write(
        self, connection: sa.Connection, tenant: Tenant, operation: Callable[..., T], *args: Any
    ) -> T:
        work = Work(self.cloud, connection, tenant.id, self.clock())
        quotas.lock_tenant(work)
        return operation(work, *args)

    def read(self, tenant: Tenant, operation: Callable[..., T], *args: Any) -> T:
        """``operation(work, *args)`` on one snapshot of the database (blocking: call it
        through `Database.run`)."""
        with self.database.reading() as connection:
            return operation(Work(self.cloud, connection, tenant.id, self.clock()), *args)

    def _entity(self, work: Work, record: Record, *, has_links: bool = True) -> Entity:
        links = self._links(work, record) if has_links else ()
        return records.to_entity(self.cloud, record, links, work.now)

    def _links(self, work: Work, record: Record) -> Sequence[Record]:
        if self.cloud.is_link_kind(record.kind):
            return ()
        return records.links_of(work, record.seq)

    # --- reading -----------------------------------------------------------------------------

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One entity of the tenant (or a shared network), with its links; `kind_id` may be
        a parent kind (one read finds it, whatever its own kind)."""
        shared = self.cloud.shared_network(kind_id, entity_id)
        if shared is not None:
            return shared.entity()
        return await self.database.run(self.read, tenant, self._get, kind_id, entity_id)

    def _get(self, work: Work, kind_id: str, entity_id: str) -> Entity:
        return self._entity(work, self._record(work, kind_id, entity_id))

    @staticmethod
    def _record(work: Work, kind_id: str, entity_id: str) -> Record:
        record = records.load(work, entity_id, kind_id)
        if record is None:
            raise EntityNotFoundError(f"no {kind_id.rsplit('#', 1)[-1]} with id {entity_id!r}")
        return record

    async def count(self, tenant: Tenant, query: Query) -> int | None:
        """A COUNT in SQL (plus the shared networks), or None when Python filters."""
        filters = listing.plan(self.cloud, query, self.clock())
        if not filters.in_sql:
            return None
        shared = len(listing.shared_matches(self.cloud, filters))
        counted = await self.database.run(self.read, tenant, self._count, filters)
        return shared + counted

    def _count(self, work: Work, filters: listing.Plan) -> int:
        return listing.count(work.connection, work.tenant_id, filters)

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The matching entities in creation order (shared networks first), read in
        batches so memory does not grow with the collection."""
        now = self.clock()
        filters = listing.plan(self.cloud, query, now)
        shared = listing.shared_matches(self.cloud, filters)
        if filters.in_sql:
            async for batch in self._paged(tenant, query, filters, now, shared, listing.fetch):
                for entity in batch:
                    yield entity
            return
        # Some filters are Python's: page over the shared networks (which match the whole
        # query) and everything SQL lets through, as one sequence.
        parts = [lambda _: _each(shared), lambda _: self._every(tenant, filters, now)]
        async for entity in chain(query, parts, keep=filters.keeps):
            yield entity

    async def _every(
        self, tenant: Tenant, filters: listing.Plan, now: float
    ) -> AsyncIterator[Entity]:
        # Every row SQL lets through, whatever limit `chain` asks for: `keep` still
        # drops some, and `chain` closes this when its page is full.
        async for batch in self._stream(tenant, filters, now, 0, None, listing.fetch):
            for entity in batch:
                yield entity

    def locations(self, tenant: Tenant, query: Query) -> AsyncIterator[list[str]] | None:
        """The matching entities' locations, in `listing`'s order, from one indexed query
        per `LOCATION_BATCH` rows; None when Python filters (the entities must be read)."""
        now = self.clock()
        filters = listing.plan(self.cloud, query, now)
        if not filters.in_sql:
            return None
        shared = [e.location or "" for e in listing.shared_matches(self.cloud, filters)]
        return self._paged(
            tenant, query, filters, now, shared, listing.fetch_locations, LOCATION_BATCH
        )

    async def _paged(
        self,
        tenant: Tenant,
        query: Query,
        filters: listing.Plan,
        now: float,
        shared: list[T],
        read: listing.Reader[T],
        batch_size: int | None = None,
    ) -> AsyncIterator[list[T]]:
        """The query's page of the shared networks followed by the tenant's rows, all
        paged in SQL, in batches of what `read` makes of the rows.

        Not the kit's `chain`: that asks each part for every entity up to the end of the
        page and passes over those before the offset itself (it cannot know how many a
        part holds). Here the shared networks are a list in hand, so the offset left for
        the table is known and goes to SQL, and a deep page reads only its own rows."""
        end = None if query.limit is None else query.offset + query.limit
        head = shared[query.offset : end]
        if head:
            yield head
        remaining = None if query.limit is None else query.limit - len(head)
        offset = max(0, query.offset - len(shared))
        async for batch in self._stream(tenant, filters, now, offset, remaining, read, batch_size):
            yield batch

    async def _stream(
        self,
        tenant: Tenant,
        filters: listing.Plan,
        now: float,
        offset: int,
        limit: int | None,
        read: listing.Reader[T],
        batch_size: int | None = None,
    ) -> AsyncIterator[list[T]]:
        per_batch = batch_size or self.batch_size
        after: int | None = None
        while limit is None or limit > 0:
            size = per_batch if limit is None else min(per_batch, limit)
            batch, last = await self.database.run(
                self._fetch,
                read,
                tenant.id,
                filters,
                now,
                after,
                offset if after is None else 0,
                size,
            )
            if batch:
                yield batch
            if last is None or len(batch) < size:
                return
            after = last
            if limit is not None:
                limit -= len(batch)

    def _fetch(
        self,
        read: listing.Reader[T],
        tenant_id: str,
        filters: listing.Plan,
        now: float,
        after: int | None,
        offset: int,
        size: int,
    ) -> tuple[list[T], int | None]:
        with self.database.reading() as connection:
            return read(
                self.cloud,
                connection,
                tenant_id,
                filters,
                now,
                after_seq=after,
                offset=offset,
                limit=size,
            )

    # --- writing -----------------------------------------------------------------------------

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Create a resource (with its inline links, atomically) or a link."""
        return await self.written(tenant, self._create, entity)

    def _create(self, work: Work, entity: Entity) -> Entity:
        inline = isinstance(entity, Resource) and bool(entity.links)
        return self._changed(
            work, self._entity(work, creation.create(work, entity), has_links=inline)
        )

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Change what may change: attributes, templates (resize, rebuild), sizes, rules."""
        return await self.written(tenant, self._update, current, desired)

    def _update(self, work: Work, current: Entity, desired: Entity) -> Entity:
        return self._changed(work, self._entity(work, updates.update(work, current, desired)))

    async def revise(
        self, tenant: Tenant, kind_id: str, entity_id: str, revise: Revision
    ) -> Entity:
        """Read, revise and update one of the tenant's entities in one transaction."""
        return await self.written(tenant, self._revise, kind_id, entity_id, revise)

    def _revise(self, work: Work, kind_id: str, entity_id: str, revise: Revision) -> Entity:
        record = self._record(work, kind_id, entity_id)
        # An update changes the entity's own row only: the links read before it stand.
        links = self._links(work, record)
        current = records.to_entity(self.cloud, record, links, work.now)
        desired = revise(current)
        revised = updates.apply(work, record, desired)
        return self._changed(work, records.to_entity(self.cloud, revised, links, work.now))

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete an entity and the links that start at it."""
        await self.written(tenant, self._delete, entity)

    def _delete(self, work: Work, entity: Entity) -> None:
        deletion.delete(work, entity)
        entity_changed(work.connection, entity)

    def _performer(self, action_id: str) -> ActionHandler:
        async def perform(
            tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
        ) -> ActionOutcome:
            return await self.written(tenant, self._trigger, entity, action_id, parameters)

        return perform

    def _trigger(
        self, work: Work, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        record, created = actions.trigger(work, entity, action_id, parameters)
        return ActionOutcome(
            entity=self._changed(work, self._entity(work, record)), created=created
        )

    @staticmethod
    def _changed(work: Work, entity: Entity) -> Entity:
        # What the service writes of this change (its accounting) goes in this transaction.
        entity_changed(work.connection, entity)
        return entity


def _conflict() -> ConflictError:
    # The locks should make this unreachable; if two writers still collide (a unique
    # address, an id), the loser is told to retry, not given a 500.
    return ConflictError("a concurrent change conflicted with this one; try again")


async def _each(entities: Sequence[Entity]) -> AsyncIterator[Entity]:
    for entity in entities:
        yield entity

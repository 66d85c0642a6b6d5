"""`SimBackend`: the embedded simulated cloud, the server's default backend.

Every entity, link, address and saved image lives in the store's database,
so a restarted server finds everything where it was. Each call is one
transaction: writes take the tenant's lock first (see `quotas.lock_tenant`),
reads see one snapshot. The clock is injectable so tests can move time
instead of sleeping.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from pyocci.backends.api import (
    LOCATION_BATCH,
    ActionOutcome,
    Backend,
    Capabilities,
    Query,
    Revision,
    Tenant,
)
from pyocci.backends.errors import BusyError, ConflictError, EntityNotFoundError
from pyocci.backends.registry import BackendSetup
from pyocci.backends.sim import (
    actions,
    creation,
    deletion,
    images,
    listing,
    quotas,
    records,
    transitions,
    updates,
)
from pyocci.backends.sim.context import Cloud, Work
from pyocci.backends.sim.records import Record
from pyocci.backends.sim.settings import SimSettings
from pyocci.backends.sim.tables import sim_entities
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity, Resource
from pyocci.model.registry import Model
from pyocci.store.database import Database

T = TypeVar("T")

_FINISHING = (
    sa.select(sim_entities.c.ready_at)
    .where(sim_entities.c.ready_at.is_not(None))
    .order_by(sim_entities.c.ready_at)
)


class SimBackend(Backend):
    """A simulated cloud persisted in a `Database` (upgraded to the newest schema first).

    `settings` says what it offers (`SimSettings.from_dict` reads a
    configuration table); `clock` returns seconds since the epoch.
    Listings are read `batch_size` entities at a time: few enough that one read
    (on the event loop, with SQLite) is a short step among other requests.
    """

    name = "sim"
    #: Creates and deletes are transactions of the store: the next read sees them.
    reads_own_writes = True

    def __init__(
        self,
        *,
        model: Model,
        database: Database,
        settings: SimSettings | None = None,
        clock: Callable[[], float] = time.time,
        batch_size: int = 100,
        blocking_threads: int = 16,
    ) -> None:
        super().__init__(model=model, blocking_threads=blocking_threads)
        self.database = database
        self.settings = settings if settings is not None else SimSettings()
        if self.settings.transition_seconds > 0:
            # What a client refused during a transition is told to wait: about one.
            self.retry_after = transitions.retry_after(self.settings.transition_seconds)
        self.cloud = Cloud(model, self.settings, database)
        self.clock = clock
        self.batch_size = batch_size
        # When timed transitions finish, as of one data version (see `revision`).
        self._finishing: tuple[int | None, list[float]] = (None, [])

    @property
    def capabilities(self) -> Capabilities:
        """Compute, storage, network, their links, security groups and IP reservations,
        with every action the model declares for them."""
        return self.cloud.catalogue.capabilities

    @property
    def reads_on_loop(self) -> bool:
        """With SQLite the store is read on the event loop (see `Database.run`)."""
        return self.database.is_sqlite

    def revision(self) -> Hashable | None:
        """The database's data version (every commit moves it, from any process) and how
        many timed transitions have finished by now; None on PostgreSQL, which cannot
        say cheaply whether anything changed."""
        version = self.database.data_version()
        if version is None:
            return None
        seen, finishing = self._finishing
        if version != seen:
            # Only SQLite has a data version, and SQLite is read on the event loop
            # anyway (`Database.run`). Read after taking the version: a commit in
            # between makes the next call read again; an older list is never kept
            # under a newer version.
            finishing = self._read_finishing()
            self._finishing = (version, finishing)
        return version, bisect.bisect_right(finishing, self.clock())

    def _read_finishing(self) -> list[float]:
        with self.database.reading() as connection:
            return list(connection.scalars(_FINISHING))

    # --- transactions ------------------------------------------------------------------------

    def _write(self, tenant: Tenant, operation: Callable[..., T], *args: Any) -> T:
        try:
            with self.database.transaction() as connection:
                work = Work(self.cloud, connection, tenant.id, self.clock())
                quotas.lock_tenant(work)
                return operation(work, *args)
        except sa.exc.IntegrityError as error:
            # The locks should make this unreachable; if two writers still collide
            # (a unique address, an id), the loser is told to retry, not given a 500.
            raise ConflictError(
                "a concurrent change conflicted with this one; try again"
            ) from error

    def _read(self, tenant: Tenant, operation: Callable[..., T], *args: Any) -> T:
        with self.database.reading() as connection:
            return operation(Work(self.cloud, connection, tenant.id, self.clock()), *args)

    def _entity(self, work: Work, record: Record, *, has_links: bool = True) -> Entity:
        links = self._links(work, record) if has_links else ()
        return records.to_entity(self.cloud, record, links, work.now)

    def _links(self, work: Work, record: Record) -> Sequence[Record]:
        if self.cloud.is_link_kind(record.kind):
            return ()
        return records.links_of(work, record.seq)

    # --- reading ---------------------------------------------------------------------------------

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """Images, resource templates, the zone, the floating IP pool, the sim's own
        mixin, and the images this tenant saved that are ready."""
        saved = await self.database.run(self._read, tenant, images.saved_images)
        return [*self.cloud.catalogue.mixins, *saved]

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """For an image the tenant saved that is not ready yet (`transition_seconds`
        after the save), the 409 with Retry-After; else None."""
        if not mixin_id.startswith(self.settings.saved_image_scheme):
            return None
        return await self.database.run(self._read, tenant, images.pending_image, mixin_id)

    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One entity of the tenant (or a shared network), with its links."""
        shared = self.cloud.shared_network(kind_id, entity_id)
        if shared is not None:
            return shared.entity()
        return await self.database.run(self._read, tenant, self._get, kind_id, entity_id)

    def _get(self, work: Work, kind_id: str, entity_id: str) -> Entity:
        return self._entity(work, self._record(work, kind_id, entity_id))

    @staticmethod
    def _record(work: Work, kind_id: str, entity_id: str) -> Record:
        record = records.load(work, entity_id, kind_id)
        if record is None:
            raise EntityNotFoundError(f"no {kind_id.rsplit('#', 1)[-1]} with id {entity_id!r}")
        return record

    async def count_entities(self, tenant: Tenant, query: Query) -> int | None:
        """A COUNT in SQL (plus the shared networks), or None when Python filters."""
        filters = listing.plan(self.cloud, query, self.clock())
        if not filters.in_sql:
            return None
        shared = len(listing.shared_matches(self.cloud, filters))
        counted = await self.database.run(self._read, tenant, self._count, filters)
        return shared + counted

    def _count(self, work: Work, filters: listing.Plan) -> int:
        return listing.count(work.connection, work.tenant_id, filters)

    async def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
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
        # Some filters are Python's: page over everything SQL lets through.
        every = self._chain(shared, self._stream(tenant, filters, now, 0, None, listing.fetch))
        async for entity in query.apage(every, keep=lambda e: e in shared or filters.keeps(e)):
            yield entity

    async def list_locations(self, tenant: Tenant, query: Query) -> AsyncIterator[list[str]]:
        """The matching entities' locations, in `list_entities`'s order, from one indexed
        query per `LOCATION_BATCH` rows; the entities are read only when Python filters."""
        now = self.clock()
        filters = listing.plan(self.cloud, query, now)
        if not filters.in_sql:
            async for batch in super().list_locations(tenant, query):
                yield batch
            return
        shared = [e.location or "" for e in listing.shared_matches(self.cloud, filters)]
        async for batch in self._paged(
            tenant, query, filters, now, shared, listing.fetch_locations, LOCATION_BATCH
        ):
            yield batch

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
        paged in SQL, in batches of what `read` makes of the rows."""
        end = None if query.limit is None else query.offset + query.limit
        head = shared[query.offset : end]
        if head:
            yield head
        remaining = None if query.limit is None else query.limit - len(head)
        offset = max(0, query.offset - len(shared))
        async for batch in self._stream(tenant, filters, now, offset, remaining, read, batch_size):
            yield batch

    @staticmethod
    async def _chain(
        first: list[Entity], then: AsyncIterator[list[Entity]]
    ) -> AsyncIterator[Entity]:
        for entity in first:
            yield entity
        async for batch in then:
            for entity in batch:
                yield entity

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

    # --- writing ---------------------------------------------------------------------------------

    async def create_entity(self, tenant: Tenant, entity: Entity) -> Entity:
        """Create a resource (with its inline links, atomically) or a link."""
        return await self.database.run(self._write, tenant, self._create, entity)

    def _create(self, work: Work, entity: Entity) -> Entity:
        inline = isinstance(entity, Resource) and bool(entity.links)
        return self._entity(work, creation.create(work, entity), has_links=inline)

    async def update_entity(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Change what may change: attributes, templates (resize, rebuild), sizes, rules."""
        return await self.database.run(self._write, tenant, self._update, current, desired)

    def _update(self, work: Work, current: Entity, desired: Entity) -> Entity:
        return self._entity(work, updates.update(work, current, desired))

    async def revise_entity(
        self, tenant: Tenant, kind_id: str, entity_id: str, revise: Revision
    ) -> Entity:
        """Read, revise and update the entity in one transaction."""
        if self.cloud.shared_network(kind_id, entity_id) is not None:
            # The provider's: its update is refused, once `revise` has checked the request.
            return await super().revise_entity(tenant, kind_id, entity_id, revise)
        return await self.database.run(
            self._write, tenant, self._revise, kind_id, entity_id, revise
        )

    def _revise(self, work: Work, kind_id: str, entity_id: str, revise: Revision) -> Entity:
        record = self._record(work, kind_id, entity_id)
        # An update changes the entity's own row only: the links read before it stand.
        links = self._links(work, record)
        current = records.to_entity(self.cloud, record, links, work.now, with_actions=False)
        desired = revise(current)
        return records.to_entity(self.cloud, updates.apply(work, record, desired), links, work.now)

    async def delete_entity(self, tenant: Tenant, entity: Entity) -> None:
        """Delete an entity and the links that start at it."""
        await self.database.run(self._write, tenant, deletion.delete, entity)

    async def trigger_action(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """Perform an action; `save` returns the new OS template as `created`."""
        return await self.database.run(
            self._write, tenant, self._trigger, entity, action_id, parameters
        )

    def _trigger(
        self, work: Work, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        record, created = actions.trigger(work, entity, action_id, parameters)
        return ActionOutcome(entity=self._entity(work, record), created=created)


def build(setup: BackendSetup) -> SimBackend:
    """The sim on the server's store, offering what ``[backend_settings]`` says (see
    `SimSettings.from_dict`): the ``sim`` entry point."""
    settings = SimSettings.from_dict(dict(setup.settings))
    return SimBackend(model=setup.model, database=setup.database, settings=settings)  # type: ignore[arg-type]

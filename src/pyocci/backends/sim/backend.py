"""`SimBackend`: the embedded simulated cloud, the server's default backend.

Every entity, link, address and saved image lives in the store's database,
so a restarted server finds everything where it was. Built on the kit: one
collection (`SimCollection`) keeps every kind, since the sim keeps them in
one table; the backend adds what is the sim's alone (its provider mixins,
saved images still being written, the data version that lets the server
keep rendered entities) and reads through the collection without the kit's
routing where one table answers for every kind at once. The clock is
injectable so tests can move time instead of sleeping.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import AsyncIterator, Callable, Hashable, Sequence

import sqlalchemy as sa

from pyocci.backends.api import Capabilities, Census, ImageData, Query, Revision, Tenant
from pyocci.backends.errors import BusyError
from pyocci.backends.kit.backend import KitBackend
from pyocci.backends.registry import BackendSetup
from pyocci.backends.sim import image_data, images, transitions
from pyocci.backends.sim.collection import SimCollection
from pyocci.backends.sim.context import Cloud
from pyocci.backends.sim.settings import SimSettings
from pyocci.backends.sim.tables import sim_entities
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity
from pyocci.model.registry import Model
from pyocci.store.database import Database

_FINISHING = (
    sa.select(sim_entities.c.ready_at)
    .where(sim_entities.c.ready_at.is_not(None))
    .order_by(sim_entities.c.ready_at)
)


class SimBackend(KitBackend):
    """A simulated cloud persisted in a `Database` (upgraded to the newest schema first).

    `settings` says what it offers (`SimSettings.from_dict` reads a
    configuration table); `clock` returns seconds since the epoch.
    Listings are read `batch_size` entities at a time: few enough that one read
    (on the event loop, with SQLite) is a short step among other requests.
    """

    name = "sim"
    cloud = "the simulated cloud"
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
        #: Every entity: creates, updates, deletes and actions are routed to it by kind.
        #: Its `cloud` is the simulated cloud's fixed setup (catalogue, shared networks).
        self.entities = SimCollection(
            Cloud(model, self.settings, database), clock=clock, batch_size=batch_size
        )
        self.collections = (self.entities,)
        # When timed transitions finish, as of one data version (see `revision`).
        self._finishing: tuple[int | None, list[float]] = (None, [])

    @property
    def clock(self) -> Callable[[], float]:
        """The clock every operation reads (the collection's)."""
        return self.entities.clock

    @property
    def capabilities(self) -> Capabilities:
        """Compute, storage, network, their links, security groups and IP reservations,
        with every action the model declares for them: the collection's, made once (the
        kit would join the collections' anew, and the service asks on every request)."""
        return self.entities.capabilities

    @property
    def reads_on_loop(self) -> bool:
        """With SQLite the store is read on the event loop (see `Database.run`)."""
        return self.database.is_sqlite

    def revision(self) -> Hashable | None:
        """The database's data version (every commit moves it, from any process, on any
        host) and how many timed transitions have finished by now; None when the
        database cannot tell.

        On PostgreSQL the finishing times would have to be read again after every
        change, on the event loop, from a pool the requests' threads share: with timed
        transitions on, the sim says None there; with them off, no write schedules one,
        and the times read once (those left by an earlier setting) stay a superset.
        """
        version = self.database.data_version()
        if version is None:
            return None
        seen, finishing = self._finishing
        if self.database.is_sqlite:
            if version != seen:
                # SQLite is read on the event loop anyway (`Database.run`). Read after
                # taking the version: a commit in between makes the next call read
                # again; an older list is never kept under a newer version.
                finishing = self._read_finishing()
                self._finishing = (version, finishing)
        elif self.settings.transition_seconds > 0:
            return None
        elif seen is None:
            finishing = self._read_finishing()
            self._finishing = (version, finishing)
        return version, bisect.bisect_right(finishing, self.clock())

    def _read_finishing(self) -> list[float]:
        with self.database.reading() as connection:
            return list(connection.scalars(_FINISHING))

    # --- reading ---------------------------------------------------------------------------------

    async def census(self) -> Census:
        """The simulated cloud's entities (every tenant's; not the shared networks, which
        no tenant owns) by kind and the state each shows now: one grouped query."""
        return await self.database.run(self._census)

    def _census(self) -> Census:
        shown = (
            sa.select(
                sim_entities.c.kind,
                transitions.effective_state_column(self.clock()).label("shown"),
            )
        ).subquery()
        counted = sa.select(shown.c.kind, shown.c.shown, sa.func.count()).group_by(
            shown.c.kind, shown.c.shown
        )
        with self.database.reading() as connection:
            return {
                (kind, state or ""): number for kind, state, number in connection.execute(counted)
            }

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """Images, resource templates, the zone, the floating IP pool, the sim's own
        mixin, and the images this tenant saved that are ready."""
        saved = await self.database.run(self.entities.read, tenant, images.saved_images)
        return [*self.entities.cloud.catalogue.mixins, *saved]

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """For an image the tenant saved that is not ready yet (`transition_seconds`
        after the save), the 409 with Retry-After; else None."""
        if not mixin_id.startswith(self.settings.saved_image_scheme):
            return None
        return await self.database.run(self.entities.read, tenant, images.pending_image, mixin_id)

    # The one collection answers these itself, without the kit's routing: it reads an
    # entity of any kind, or parent kind, with one query (the kit would try each kind in
    # turn), and its listings are returned as they are, not passed through the kit's
    # `chain` (which, for one part, would add nothing but a step per entity).

    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One entity of the tenant (or a shared network), with its links."""
        return await self.entities.get(tenant, kind_id, entity_id)

    def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The matching entities in creation order (shared networks first), read in
        batches so memory does not grow with the collection."""
        return self.entities.listing(tenant, query)

    def list_locations(self, tenant: Tenant, query: Query) -> AsyncIterator[list[str]]:
        """The matching entities' locations, in `list_entities`'s order, from one indexed
        query per `LOCATION_BATCH` rows; the entities are read only when Python filters."""
        located = self.entities.locations(tenant, query)
        return located if located is not None else super().list_locations(tenant, query)

    # --- writing ---------------------------------------------------------------------------------

    async def revise_entity(
        self, tenant: Tenant, kind_id: str, entity_id: str, revise: Revision
    ) -> Entity:
        """Read, revise and update the entity in one transaction."""
        if self.entities.cloud.shared_network(kind_id, entity_id) is not None:
            # The provider's: its update is refused, once `revise` has checked the request.
            return await super().revise_entity(tenant, kind_id, entity_id, revise)
        return await self.entities.revise(tenant, kind_id, entity_id, revise)

    # --- images: export and deletion -------------------------------------------------------------

    @property
    def export_refusal(self) -> str | None:
        """None: every simulated image has bytes (generated, see `image_data`)."""
        return None

    async def read_image(self, tenant: Tenant, mixin_id: str, chunk_bytes: int) -> ImageData:
        """A configured image's or a saved one's generated bytes (`image_bytes` of them)."""
        await self.database.run(self.entities.read, tenant, image_data.readable_image, mixin_id)
        size = self.settings.image_bytes
        return ImageData(
            size=size,
            disk_format="raw",
            chunks=image_data.image_chunks(mixin_id, size, chunk_bytes),
        )

    async def delete_template(self, tenant: Tenant, mixin_id: str) -> bool:
        """Delete an image the tenant saved; the configured images are the site's."""
        return await self.entities.written(tenant, image_data.delete_saved, mixin_id)


def build(setup: BackendSetup) -> SimBackend:
    """The sim on the server's store, offering what ``[backend_settings]`` says (see
    `SimSettings.from_dict`): the ``sim`` entry point."""
    settings = SimSettings.from_dict(dict(setup.settings))
    return SimBackend(model=setup.model, database=setup.database, settings=settings)  # type: ignore[arg-type]

"""The OCCI semantics of GFD.223, independent of HTTP and of any cloud.

`OcciService` answers what a request means: discovery, listings with
filters and paging, create / replace / partial update / delete, actions
and their state machines, links, mixin collections and user mixins. It
talks to the cloud through the backend interface only, and keeps the
OCCI-only state (user mixins, their members) in the store.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pyocci.backends.api import ActionOutcome, Backend, Query, Revision, Tenant
from pyocci.backends.errors import (
    BackendUnavailableError,
    BusyError,
    EntityNotFoundError,
    NotSupportedError,
)
from pyocci.backends.riders import riding
from pyocci.model.category import Category, Kind, Mixin
from pyocci.model.core import ENTITY
from pyocci.model.entity import (
    CORE_ID,
    CORE_SOURCE,
    CORE_TARGET,
    ActionInvocation,
    Entity,
    Link,
    Resource,
)
from pyocci.model.errors import OcciError
from pyocci.model.export import EXPORT
from pyocci.model.registry import OS_TPL_ID, RESOURCE_TPL_ID, SETTABLE_AT_CREATION, Model
from pyocci.service.accounting import CREATED_STATE, ChangeRide, UsageRecorder
from pyocci.service.catalog import Catalog, served_model
from pyocci.service.errors import (
    BadRequestError,
    ForbiddenError,
    MethodNotAllowedError,
    NotFoundError,
    PageTooLargeError,
    StateConflictError,
)
from pyocci.service.identifiers import check_entity_id, check_location_path
from pyocci.service.paths import EntityPath, resolve
from pyocci.service.ports import MixinStore, Runner
from pyocci.service.settling import Settling

RESERVED_SCHEME = "http://schemas.ogf.org/occi/"
#: The most filters (Category and X-OCCI-Attribute) one listing takes.
MAX_FILTERS = 100
#: The most mixins a create may name that the tenant's model lacks and the cloud is
#: asked about (templates still being prepared); past them, they are unknown.
MAX_UNKNOWN_MIXINS = 8
_TEMPLATE_PARENTS = (OS_TPL_ID, RESOURCE_TPL_ID)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``?page=<index>&number=<size>``: pages count from 1."""

    index: int
    size: int

    @property
    def offset(self) -> int:
        """How many entities come before this page."""
        return (self.index - 1) * self.size


@dataclass(slots=True)
class Written:
    """What a create or a delete left, and whether the cloud shows it done.

    Done: created entities read back as `entities`, deleted ones are gone
    from every read. Not done (the cloud was still at it when the wait
    ended): the answer is 202 Accepted, with the entities as last read (a
    delete) or as the cloud first answered (a create).
    """

    entities: list[Entity]
    done: bool = True


T = TypeVar("T")


@dataclass(slots=True)
class Listing(Generic[T]):
    """A collection's entities (or their locations), in batches, with what paging
    links need."""

    batches: AsyncIterator[list[T]]
    page: PageRequest | None
    total: int | None


class OcciService:
    """OCCI over one backend and one store, for every tenant."""

    def __init__(
        self,
        *,
        standard: Model,
        backend: Backend,
        store: MixinStore,
        runner: Runner,
        max_page_size: int = 1000,
        batch_size: int = 100,
        catalog_ttl: float = 1.0,
        write_wait: float = 10.0,
        usage: UsageRecorder | None = None,
    ) -> None:
        self.standard = standard
        #: Where compute changes are recorded for accounting (None: they are not).
        self.usage = usage
        self.backend = backend
        self.max_page_size = max_page_size
        self._store = store
        self._runner = runner
        self._batch_size = batch_size
        self._settling = Settling(write_wait)
        self.catalog = Catalog(
            served_model(standard, backend), backend, store, runner, ttl=catalog_ttl
        )

    def revision(self) -> Hashable | None:
        """A token that moves whenever an entity read could answer differently, or None
        when the backend cannot tell (see `Backend.revision`)."""
        return self.backend.revision()

    async def model_for(self, tenant: Tenant) -> Model:
        """The categories this tenant sees, for parsing and validating its requests."""
        return await self.catalog.model_for(tenant)

    # --- discovery ------------------------------------------------------------------

    @staticmethod
    def discover(model: Model, filters: Sequence[Category] = ()) -> list[Category]:
        """Every category of a tenant's model; with filters, the named ones and their actions."""
        if not filters:
            return list(model)
        found: dict[str, Category] = {}
        for wanted in filters:
            category = model.get(wanted.id)
            if category is None:
                continue
            found[category.id] = category
            for action_id in getattr(category, "actions", ()):
                action = model.get(action_id)
                if action is not None:
                    found[action.id] = action
        return list(found.values())

    async def define_mixins(self, tenant: Tenant, categories: Sequence[Category]) -> list[Mixin]:
        """Define user mixins (tags, groupings), persisted for the tenant."""
        # Check against a scratch layer: the tenant's model is shared by concurrent
        # requests and must not see mixins of a definition that fails half-way.
        tenants = await self.model_for(tenant)
        model = Model(base=tenants)
        defined: list[Mixin] = []
        for category in categories:
            if not isinstance(category, Mixin):
                raise BadRequestError(
                    f"{category.id} is a {category.category_class}; only mixins can be defined"
                )
            if category.scheme.startswith(RESERVED_SCHEME):
                raise BadRequestError(
                    f"the scheme {category.scheme} is reserved for OGF; use a scheme of your own "
                    "such as http://example.org/occi/<user>#"
                )
            mixin = category
            if mixin.location is None:
                mixin = dataclasses.replace(mixin, location=f"/mixin/user/{mixin.term}/")
            self._check_user_term(tenants, mixin)
            self._check_user_location(model, mixin)
            model.add_user_mixin(mixin)
            defined.append(mixin)
        for mixin in defined:
            await self._runner.run(self._store.add_user_mixin, tenant.id, mixin)
        self.catalog.forget(tenant)
        return defined

    def _check_user_term(self, tenants: Model, mixin: Mixin) -> None:
        """A user mixin takes no term of a kind or provider mixin (a template, say), in
        any scheme: clients name categories by term, and one term naming two would
        leave `occi list os_tpl` unable to tell them apart. The tenant's own mixins
        (those its model owns) may share a term across schemes: the tenant's choice."""
        for category in (*tenants, *self.standard):
            if (
                isinstance(category, Kind | Mixin)
                and category.term == mixin.term
                and not tenants.owns(category.id)
            ):
                raise StateConflictError(
                    f"{mixin.term} is the term of {category.id} (a {category.category_class}); "
                    "choose another term for a user mixin"
                )

    def _check_user_location(self, model: Model, mixin: Mixin) -> None:
        location = mixin.location or ""
        check_location_path(location)
        if resolve(model, location) is not None:
            raise BadRequestError(f"{location} is already in use; choose another location")
        parent = location.rstrip("/").rpartition("/")[0] + "/"
        for layer in (model, self.standard):
            # The standard's kind collections too: a backend that serves a kind later
            # (or another backend on the same store) would find a mixin in its way.
            kind = layer.by_location(location)
            if isinstance(kind, Kind):
                raise BadRequestError(
                    f"{location} is the collection of the kind {kind.id}; choose another location"
                )
            if isinstance(layer.by_location(parent), Kind):
                raise BadRequestError(
                    f"{location} lies where {parent} entities live; choose a location outside it"
                )

    async def remove_mixins(self, tenant: Tenant, identifiers: Sequence[str]) -> None:
        """Remove user mixins and their associations, and OS templates the tenant made
        (saved images, which the backend deletes); other provider mixins cannot be
        removed."""
        model = await self.model_for(tenant)
        images: list[str] = []
        for identifier in identifiers:
            if not model.owns(identifier):
                found = model.get(identifier)
                if isinstance(found, Mixin) and OS_TPL_ID in found.depends:
                    images.append(identifier)
                    continue
                if found is not None:
                    raise ForbiddenError(f"{identifier} is provider-defined and cannot be removed")
                # An image the cloud is still writing (a save just made it) is not
                # offered yet: 409 with Retry-After, rather than "no such mixin".
                pending = await self.backend.pending_template(tenant, identifier)
                if pending is not None:
                    raise pending
                raise NotFoundError(f"no user mixin {identifier}")
        for identifier in images:
            if not await self.backend.delete_template(tenant, identifier):
                raise ForbiddenError(
                    f"{identifier} is provider-defined (an OS template of the site, not an "
                    "image you saved) and cannot be removed"
                )
        for identifier in identifiers:
            if identifier not in images:
                await self._runner.run(self._store.remove_user_mixin, tenant.id, identifier)
        self.catalog.forget(tenant)

    def unserved(self, path: str) -> OcciError | None:
        """Why nothing lives at `path` when it is the collection (or an entity) of a
        standard kind this backend does not serve: 501 with the reason; None otherwise
        (the path is unknown: 404)."""
        collection = path if path.endswith("/") else path.rpartition("/")[0] + "/"
        kind = self.standard.by_location(collection)
        if not isinstance(kind, Kind) or self.backend.capabilities.supports_kind(kind.id):
            return None
        if kind.id == EXPORT.id:
            reason = self.backend.export_refusal or "image export is not configured here"
            return NotSupportedError(f"this server does not export images: {reason}")
        return NotSupportedError(f"this server does not serve {kind.term} entities")

    # --- listings -------------------------------------------------------------------

    async def listing(
        self,
        tenant: Tenant,
        model: Model,
        collection: Kind | Mixin,
        *,
        filters: Sequence[Category] = (),
        attributes: Mapping[str, Any] | None = None,
        page: PageRequest | None = None,
    ) -> Listing[Entity]:
        """The entities of a collection that pass the filters, in batches.

        Category filters keep entities of a kind (or a sub-kind) or with a
        mixin; attribute filters keep entities whose attribute equals the
        value. Everything is pushed down to the backend as a `Query`.
        """
        query, total = await self._listing_query(
            tenant, model, collection, filters, attributes, page
        )
        return await _started(self._batches(tenant, model, query), page, total)

    async def location_listing(
        self,
        tenant: Tenant,
        model: Model,
        collection: Kind | Mixin,
        *,
        filters: Sequence[Category] = (),
        attributes: Mapping[str, Any] | None = None,
        page: PageRequest | None = None,
    ) -> Listing[str]:
        """As `listing`, the locations alone (what text/plain, text/occi and uri-list
        show): the backend names the entities without reading them in full."""
        query, total = await self._listing_query(
            tenant, model, collection, filters, attributes, page
        )
        if not query.kinds or (query.ids is not None and not query.ids):
            return Listing(_nothing(), page, total)
        return await _started(self.backend.list_locations(tenant, query), page, total)

    async def _listing_query(
        self,
        tenant: Tenant,
        model: Model,
        collection: Kind | Mixin,
        filters: Sequence[Category],
        attributes: Mapping[str, Any] | None,
        page: PageRequest | None,
    ) -> tuple[Query, int | None]:
        """The backend query of a listing, and its total when paged."""
        if page is not None and page.size > self.max_page_size:
            raise PageTooLargeError(
                f"number={page.size} is above this server's page size limit of "
                f"{self.max_page_size}; ask for {self.max_page_size} or fewer"
            )
        filter_count = len(filters) + len(attributes or {})
        if filter_count > MAX_FILTERS:
            # Each filter is a condition of the backend's query: their number is bounded
            # as everything a client sends is (SQLite nests conditions at most 1000 deep).
            raise BadRequestError(
                f"{filter_count} filters (categories and attributes); a listing takes at "
                f"most {MAX_FILTERS}"
            )
        query = await self._query(tenant, model, collection, filters, attributes or {})
        total: int | None = None
        if page is not None:
            query = dataclasses.replace(query, offset=page.offset, limit=page.size)
            total = await self.backend.count_entities(tenant, query)
        return query, total

    async def _query(
        self,
        tenant: Tenant,
        model: Model,
        collection: Kind | Mixin,
        filters: Sequence[Category],
        attributes: Mapping[str, Any],
    ) -> Query:
        kinds = [k.id for k in model.kinds if self.backend.capabilities.supports_kind(k.id)]
        mixins: list[str] = []
        any_mixins: frozenset[str] = frozenset()
        ids: set[str] | None = None
        wanted = [collection, *filters]
        for category in wanted:
            found = model.get(category.id)
            if isinstance(found, Kind):
                kinds = [k for k in kinds if model.is_kind_of(k, found.id)]
            elif isinstance(found, Mixin):
                if model.owns(found.id):
                    locations = await self._runner.run(self._store.members, tenant.id, found.id)
                    members = {location.rsplit("/", 1)[-1] for location in locations}
                    ids = members if ids is None else ids & members
                    # Ids alone would take an entity of another kind with a member's id
                    # (ids are the client's to choose) for a member: only the kinds
                    # whose collections hold members are asked.
                    collections = {location.rsplit("/", 1)[0] + "/" for location in locations}
                    kinds = [k for k in kinds if model.location_of(k, "") in collections]
                elif found.id in _TEMPLATE_PARENTS or model.templates(found.id):
                    # A parent mixin (os_tpl): entities with any template under it.
                    any_mixins = frozenset(m.id for m in model.templates(found.id))
                else:
                    mixins.append(found.id)
            elif category is not collection:
                raise BadRequestError(f"cannot filter by {category.id}: no such kind or mixin")
        return Query(
            kinds=tuple(kinds),
            mixins=tuple(mixins),
            any_mixins=any_mixins,
            attributes=dict(attributes),
            ids=frozenset(ids) if ids is not None else None,
        )

    async def _batches(
        self, tenant: Tenant, model: Model, query: Query
    ) -> AsyncIterator[list[Entity]]:
        if not query.kinds or (query.ids is not None and not query.ids):
            return
        batch: list[Entity] = []
        async for entity in self.backend.list_entities(tenant, query):
            batch.append(entity)
            if len(batch) >= self._batch_size:
                yield await self._present(tenant, model, batch)
                batch = []
        if batch:
            yield await self._present(tenant, model, batch)

    async def _present(self, tenant: Tenant, model: Model, entities: list[Entity]) -> list[Entity]:
        """Add what the backend does not know: user mixins and the actions that apply now."""
        links = [link for e in entities if isinstance(e, Resource) for link in e.links]
        every = [*entities, *links]
        if any(isinstance(c, Mixin) for c in model.own_categories()):
            locations = [e.location for e in every if e.location]
            memberships = await self._runner.run(self._store.mixins_of, tenant.id, locations)
        else:
            memberships = {}
        supports = self.backend.capabilities.supports_action
        for entity in every:
            extra = memberships.get(entity.location or "", ())
            entity.mixins.extend(m for m in extra if m not in entity.mixins)
            entity.actions = [a for a in model.applicable_actions(entity) if supports(a)]
            if isinstance(entity, Link):
                # Text renderings name it as the link's rel, which 1.1 clients require.
                _fill_target_kind(model, entity)
        return entities

    # --- entities -------------------------------------------------------------------

    async def get(self, tenant: Tenant, model: Model, path: EntityPath) -> Entity:
        """One entity with its links and the actions that apply to it now."""
        entity = await self._fetch(tenant, path)
        return (await self._present(tenant, model, [entity]))[0]

    async def _fetch(self, tenant: Tenant, path: EntityPath) -> Entity:
        try:
            return await self.backend.get_entity(tenant, path.kind.id, path.entity_id)
        except EntityNotFoundError:
            raise NotFoundError(f"no entity at {path.location}") from None

    async def create(
        self, tenant: Tenant, model: Model, collection: Kind, entity: Entity
    ) -> Written:
        """Create an entity of the collection's kind, with its inline links and mixins."""
        return await self.create_all(tenant, model, collection, [entity])

    async def create_all(
        self, tenant: Tenant, model: Model, collection: Kind, entities: Sequence[Entity]
    ) -> Written:
        """Create several entities, all or none.

        Every entity is checked before the first is created, so a document with
        one invalid entity creates nothing. When the cloud refuses one of them
        after others were created, those are deleted again and the error says
        so, naming any it could not delete: never silent leftovers.
        """
        count = len(entities)
        model = await self._with_new_templates(tenant, model, entities)
        prepared = []
        for number, entity in enumerate(entities, 1):
            try:
                prepared.append(self._prepared(model, collection, entity))
            except OcciError as error:
                raise _numbered(error, number, count, "nothing was created") from None
        created: list[Entity] = []
        for number, (entity, user_mixins) in enumerate(zip(entities, prepared, strict=True), 1):
            try:
                ride = self._ride(tenant, model, CREATED_STATE)
                with riding(ride.rider if ride else None):
                    created.append(await self.backend.create_entity(tenant, entity))
                if ride is not None:
                    # At once: a compute a later failure leaves (or undoes) was used too.
                    await ride.done(created[-1])
                # After it joined `created`: a store that fails here has it undone too.
                await self._associate(tenant, created[-1], user_mixins)
            except BackendUnavailableError as error:
                # The cloud is unreachable or silent: deleting now would wait for it
                # again, once per entity. Say what exists, and that this one may.
                made = ", ".join(e.location or "" for e in created)
                outcome = (
                    f"the {len(created)} created before it remain: {made}; " if created else ""
                ) + "this one may exist too: list the collection before repeating"
                raise _numbered(error, number, count, outcome) from None
            except OcciError as error:
                left = await self._undo_creates(tenant, model, created)
                # The entity itself is among them when a step after its create failed.
                undone = _undone(before=number - 1, itself=len(created) == number)
                if left:
                    undone += f", except {', '.join(left)}, which could not be deleted"
                raise _numbered(error, number, count, undone) from None
        return await self._read_back(tenant, model, created)

    async def _read_back(self, tenant: Tenant, model: Model, created: list[Entity]) -> Written:
        """The created entities as reads now show them, once the cloud shows them all (or
        the wait is over: then not done, and the entities as the cloud first answered),
        presented once, all together."""
        if self.backend.reads_own_writes:
            return Written(await self._present(tenant, model, created))
        shown = []
        ends = self._settling.deadline()
        for entity in created:
            found = await self._settling.until_present(self._reader(tenant, entity), ends)
            if found is None:
                return Written(await self._present(tenant, model, created), done=False)
            shown.append(found)
        return Written(await self._present(tenant, model, shown))

    def _reader(self, tenant: Tenant, entity: Entity) -> Callable[[], Awaitable[Entity]]:
        """Reads `entity` again from the backend (EntityNotFoundError if it has none)."""
        kind, entity_id = entity.kind or "", entity.id or ""
        return lambda: self.backend.get_entity(tenant, kind, entity_id)

    async def _with_new_templates(
        self, tenant: Tenant, model: Model, entities: Sequence[Entity]
    ) -> Model:
        """The model to create `entities` with, when they name mixins `model` lacks.

        A template the cloud is still preparing is not offered, so the model lacks
        it: that is a BusyError (409, Retry-After), "not yet" rather than "no such
        mixin". A template the cloud has made ready since the tenant's model was
        cached is in the model read again now.
        """
        count = len(entities)
        asked: set[str] = set()
        for number, entity in enumerate(entities, 1):
            for mixin_id in entity.mixins:
                if model.get(mixin_id) is not None or mixin_id in asked:
                    continue
                asked.add(mixin_id)
                if len(asked) > MAX_UNKNOWN_MIXINS:
                    # A document full of made-up ids: the first few decide; the rest are
                    # unknown mixins (400), not one cloud call each.
                    break
                pending = await self.backend.pending_template(tenant, mixin_id)
                if pending is not None:
                    raise _numbered(pending, number, count, "nothing was created")
        if not asked:
            return model
        self.catalog.forget(tenant)
        return await self.model_for(tenant)

    async def _undo_creates(self, tenant: Tenant, model: Model, created: list[Entity]) -> list[str]:
        """Delete what a failed `create_all` created; the locations that stayed."""
        left = []
        for entity in created:
            path = resolve(model, entity.location or "")
            try:
                if isinstance(path, EntityPath):
                    await self.delete(tenant, model, path)
            except NotFoundError:
                continue
            except Exception:  # reported to the client; the first error is the one raised
                log.warning(
                    "could not delete %s after a failed create", entity.location, exc_info=True
                )
                left.append(entity.location or "")
        return left

    def _prepared(self, model: Model, collection: Kind, entity: Entity) -> list[str]:
        """Check and complete an entity to create (id, location, links, defaults),
        without creating anything; the user mixins to associate once it exists."""
        if entity.kind is None:
            raise BadRequestError(f"say which kind to create: {collection.id}")
        _check_references(entity)
        if self.standard.is_kind_of(entity.kind, collection.id):
            # A standard kind of this collection that this cloud does not serve is
            # absent from the tenant's model: say so (501), not that it is misplaced.
            self._check_supported_kind(model, entity.kind)
        if not model.is_kind_of(entity.kind, collection.id):
            raise BadRequestError(
                f"{collection.location} holds {collection.term} entities; "
                f"the request asks for {entity.kind}"
            )
        self._check_supported_kind(model, entity.kind)
        if entity.id is None:
            entity.id = str(uuid.uuid4())
        else:
            check_entity_id(entity.id)
        entity.location = model.location_of(entity.kind, entity.id)
        self._prepare_links(model, entity)
        user_mixins = [m for m in entity.mixins if model.owns(m)]
        self._ignore_server_managed(model, entity)
        _imply_mixins(model, entity)
        model.validate(entity, creating=True)
        self._apply_defaults(model, entity)
        entity.mixins = [m for m in entity.mixins if m not in user_mixins]
        return user_mixins

    async def _associate(self, tenant: Tenant, entity: Entity, user_mixins: list[str]) -> None:
        """Associate an entity the cloud just created or changed with the user mixins the
        request gave it (the store keeps them; the cloud never has them)."""
        if user_mixins and entity.location:
            for mixin_id in user_mixins:
                await self._runner.run(
                    self._store.associate, tenant.id, mixin_id, [entity.location]
                )

    def _ride(self, tenant: Tenant, model: Model, expected: str | None = None) -> ChangeRide | None:
        """The accounting record of one change, to offer the backend's write (None: no
        accounting)."""
        return self.usage.ride(tenant, model, expected) if self.usage is not None else None

    def _check_supported_kind(self, model: Model, kind_id: str) -> None:
        unsupported = kind_id == ENTITY.id or not self.backend.capabilities.supports_kind(kind_id)
        known = self.standard.get(kind_id) is not None or model.get(kind_id) is not None
        if unsupported and known:
            raise NotSupportedError(f"this server cannot create {kind_id} entities")

    def _prepare_links(self, model: Model, entity: Entity) -> None:
        """Give inline links an id, their source, and the kind of a local target."""
        if isinstance(entity, Link):
            self._link_ends(model, entity)
            return
        if not isinstance(entity, Resource):
            return
        for link in entity.links:
            link.source = entity.location
            link.source_kind = entity.kind
            if link.id is None:
                link.id = str(uuid.uuid4())
            else:
                # A link's id becomes its location as a resource's does: the same rule.
                check_entity_id(link.id)
            if link.kind is not None and isinstance(model.get(link.kind), Kind):
                link.location = model.location_of(link.kind, link.id)
            self._link_ends(model, link)

    def _link_ends(self, model: Model, link: Link) -> None:
        _fill_target_kind(model, link)
        source = resolve(model, _path_of(link.source or ""))
        if isinstance(source, EntityPath) and link.source_kind is None:
            link.source_kind = source.kind.id

    @staticmethod
    def _ignore_server_managed(model: Model, entity: Entity) -> None:
        """Drop the values a client gave for attributes the server manages (a state, a
        1.1 client's ``occi.networkinterface.interface``, which 1.1 required): ignored,
        not refused, as OCCI 1.1 servers did. A device name stays, as a wish the
        backend honours where the cloud lets it choose."""
        for one in (entity, *(entity.links if isinstance(entity, Resource) else ())):
            if one.kind is None or model.get(one.kind) is None:
                continue
            for name, definition in model.attribute_definitions(one.kind).items():
                if (
                    not definition.mutable
                    and name in one.attributes
                    and name not in SETTABLE_AT_CREATION
                ):
                    del one.attributes[name]

    @staticmethod
    def _apply_defaults(model: Model, entity: Entity) -> None:
        model.apply_defaults(entity)
        if isinstance(entity, Resource):
            for link in entity.links:
                model.apply_defaults(link)

    async def replace(
        self, tenant: Tenant, model: Model, path: EntityPath, entity: Entity
    ) -> tuple[Written, bool]:
        """PUT: create at a client-chosen path, or replace the entity there.

        Returns the entity and whether it was created.
        """
        if entity.kind is None:
            entity.kind = path.kind.id
        if entity.kind != path.kind.id:
            raise BadRequestError(
                f"{path.location} is a {path.kind.term} location; the rendering is a {entity.kind}"
            )
        if entity.id is not None and entity.id != path.entity_id:
            raise BadRequestError(
                f"occi.core.id {entity.id!r} does not match the path {path.location}"
            )
        # Checked before the backend is asked: an id no URL carries is never looked up.
        check_entity_id(path.entity_id)
        entity.id = path.entity_id

        def replaced(current: Entity) -> Entity:
            if isinstance(entity, Resource) and entity.links:
                raise BadRequestError(
                    "a replacing PUT keeps the existing links; create or delete links on their own"
                )
            desired = dataclasses.replace(current, mixins=list(entity.mixins), attributes={})
            desired.attributes = self._replaced_attributes(model, current, entity)
            return desired

        revised = await self._revise(tenant, model, path, replaced, replacing=True)
        if revised is None:
            return await self.create(tenant, model, path.kind, entity), True
        return Written([revised]), False

    def _replaced_attributes(self, model: Model, current: Entity, entity: Entity) -> dict[str, Any]:
        definitions = model.attribute_definitions(current.kind or "")
        attributes = {
            name: value
            for name, value in current.attributes.items()
            if name in definitions and not definitions[name].mutable
        }
        for name, value in entity.attributes.items():
            definition = definitions.get(name)
            if definition is not None and not definition.mutable:
                if attributes.get(name) != value:
                    raise BadRequestError(f"{name} is managed by the server and cannot be changed")
                continue
            attributes[name] = value
        return attributes

    async def update(
        self, tenant: Tenant, model: Model, path: EntityPath, changes: Entity
    ) -> Entity:
        """POST to an entity: change attributes, add mixins (a new template replaces the old)."""
        if changes.kind is not None and changes.kind != path.kind.id:
            raise BadRequestError(f"an entity keeps its kind ({path.kind.id}) for life")
        if isinstance(changes, Resource) and changes.links:
            raise BadRequestError("links are created on their own, not in an update")

        def changed(current: Entity) -> Entity:
            desired = dataclasses.replace(
                current, mixins=list(current.mixins), attributes=dict(current.attributes)
            )
            for mixin_id in changes.mixins:
                self._add_mixin(model, desired, mixin_id)
            definitions = model.attribute_definitions(current.kind or "", desired.mixins)
            for name, value in changes.attributes.items():
                definition = definitions.get(name)
                if (
                    definition is not None
                    and not definition.mutable
                    and current.attributes.get(name) != value
                ):
                    raise BadRequestError(f"{name} is managed by the server and cannot be changed")
                desired.attributes[name] = value
            return desired

        revised = await self._revise(tenant, model, path, changed)
        if revised is None:
            raise NotFoundError(f"no entity at {path.location}")
        return revised

    def _add_mixin(self, model: Model, entity: Entity, mixin_id: str) -> None:
        for parent in _TEMPLATE_PARENTS:
            if mixin_id != parent and model.depends_on(mixin_id, parent):
                entity.mixins = [m for m in entity.mixins if not model.depends_on(m, parent)]
        if mixin_id not in entity.mixins:
            entity.mixins.append(mixin_id)

    async def _revise(
        self,
        tenant: Tenant,
        model: Model,
        path: EntityPath,
        revise: Revision,
        *,
        replacing: bool = False,
    ) -> Entity | None:
        """Update the entity at `path` to what `revise` makes of it, checked against the
        model, in one read and write of the backend (user mixins are the store's); None
        when there is no entity at `path`. `replacing`: the revision names every mixin
        the entity keeps, so user mixins it does not name are disassociated too."""
        user_mixins: list[str] = []
        ride = self._ride(tenant, model)

        def checked(current: Entity) -> Entity:
            machine = model.state_machine(current.kind or "")
            if machine is not None and ride is not None:
                # The state before the change: where a resize the cloud is still making
                # returns.
                state = current.attributes.get(machine.attribute)
                ride.expected = state if isinstance(state, str) else None
            desired = revise(current)
            problems = model.change_problems(current, desired)
            if problems:
                raise BadRequestError("; ".join(problems))
            model.apply_defaults(desired)
            # The cloud never has them (they are taken out here), so it never gives
            # them back: they are the store's, associated once the cloud is done.
            user_mixins[:] = [m for m in desired.mixins if model.owns(m)]
            desired.mixins = [m for m in desired.mixins if m not in user_mixins]
            return desired

        try:
            with riding(ride.rider if ride else None):
                updated = await self.backend.revise_entity(
                    tenant, path.kind.id, path.entity_id, checked
                )
        except EntityNotFoundError:
            return None
        if ride is not None:
            await ride.done(updated)
        if updated.location:
            await self._associate(tenant, updated, user_mixins)
            if replacing:
                await self._disassociate_others(tenant, updated.location, user_mixins)
        return (await self._present(tenant, model, [updated]))[0]

    async def _disassociate_others(self, tenant: Tenant, location: str, kept: list[str]) -> None:
        """Disassociate an entity from the user mixins other than `kept`."""
        memberships = await self._runner.run(self._store.mixins_of, tenant.id, [location])
        for mixin_id in memberships.get(location, ()):
            if mixin_id not in kept:
                await self._runner.run(self._store.disassociate, tenant.id, mixin_id, [location])

    async def delete(self, tenant: Tenant, model: Model, path: EntityPath) -> Written:
        """Delete an entity; a resource's links go with it. Done once no read finds it;
        if the cloud still shows it when the wait ends, not done (202), with the entity
        as the cloud shows it then."""
        current = await self._start_delete(tenant, path)
        return await self._confirm_deleted(tenant, model, [current])

    async def _start_delete(self, tenant: Tenant, path: EntityPath) -> Entity:
        """Ask the cloud to delete the entity at `path` and forget its user mixin
        memberships (and its links'); the entity as it was."""
        current = await self._fetch(tenant, path)
        ride = self.usage.ride_delete(tenant) if self.usage is not None else None
        with riding(ride.rider if ride else None):
            await self.backend.delete_entity(tenant, current)
        if ride is not None:
            await ride.done(current)
        gone = [current.location or path.location]
        if isinstance(current, Resource):
            gone.extend(link.location for link in current.links if link.location)
        for location in gone:
            await self._runner.run(self._store.forget_entity, tenant.id, location)
        return current

    async def _confirm_deleted(
        self, tenant: Tenant, model: Model, deleted: Sequence[Entity]
    ) -> Written:
        """Wait (within one wait for them all) until no read finds the deleted entities."""
        if self.backend.reads_own_writes:
            return Written([])
        still = []
        ends = self._settling.deadline()
        for entity in deleted:
            # Once the wait is spent, each of the others is read once, not waited for.
            left = await self._settling.until_gone(self._reader(tenant, entity), entity, ends)
            if left is not None:
                still.append(left)
        if not still:
            return Written([])
        return Written(await self._present(tenant, model, still), done=False)

    async def delete_collection(
        self, tenant: Tenant, model: Model, collection: Kind | Mixin
    ) -> Written:
        """DELETE on a kind collection: delete every member. Not done (202) if the
        cloud still shows some of them when the wait ends: those are the entities."""
        if not isinstance(collection, Kind):
            raise BadRequestError("DELETE on a mixin collection disassociates; see remove_members")
        # Rounds of at most 200: deleting while streaming would page over a moving set.
        query = dataclasses.replace(await self._query(tenant, model, collection, (), {}), limit=200)
        # Every delete is asked for first, then all are waited for at once: a wait per
        # entity would make a large collection take the wait times its size. An entity
        # whose delete the cloud is still doing may be listed again: it is not asked
        # for twice, and a round that starts nothing new ends the loop.
        started: dict[str, Entity] = {}
        while True:
            members = [e async for batch in self._batches(tenant, model, query) for e in batch]
            progress = 0
            for entity in members:
                path = resolve(model, entity.location or "")
                if not isinstance(path, EntityPath) or path.location in started:
                    continue
                try:
                    started[path.location] = await self._start_delete(tenant, path)
                except NotFoundError:
                    continue  # a link that went with its source resource
                progress += 1
            if not progress:
                return await self._confirm_deleted(tenant, model, list(started.values()))

    # --- actions --------------------------------------------------------------------

    async def trigger(
        self,
        tenant: Tenant,
        model: Model,
        path: EntityPath,
        term: str,
        invocation: ActionInvocation | None,
    ) -> ActionOutcome:
        """POST ``<entity>?action=<term>``: check the action applies now, then perform it."""
        current = await self._fetch(tenant, path)
        current = (await self._present(tenant, model, [current]))[0]
        action_id = self._resolve_action(model, current, term, invocation)
        if self._already_done(model, current, action_id):
            return ActionOutcome(entity=current, created=None)
        return await self._perform(tenant, model, current, action_id, invocation)

    @staticmethod
    def _already_done(model: Model, entity: Entity, action_id: str) -> bool:
        """Whether the entity is already in the state `action_id` leads to (a no-op)."""
        if action_id in entity.actions:
            return False
        machine = model.state_machine(entity.kind or "")
        if machine is None:
            return False
        return machine.already_done(action_id, entity.attributes.get(machine.attribute))

    async def _perform(
        self,
        tenant: Tenant,
        model: Model,
        entity: Entity,
        action_id: str,
        invocation: ActionInvocation | None,
    ) -> ActionOutcome:
        """Trigger a resolved action on a presented entity, with its parameters checked."""
        parameters = dict(invocation.attributes) if invocation is not None else {}
        parameters = model.coerce_invocation_attributes(action_id, parameters)
        model.validate_invocation(action_id, parameters)
        for name, definition in model.action(action_id).attributes.items():
            if name not in parameters and definition.default is not None:
                parameters[name] = definition.default
        ride = self._ride(tenant, model)
        if ride is not None:
            machine = model.state_machine(entity.kind or "")
            if machine is not None:
                ride.expected = machine.next_state(
                    action_id, entity.attributes.get(machine.attribute)
                )
        with riding(ride.rider if ride else None):
            outcome = await self.backend.trigger_action(tenant, entity, action_id, parameters)
        if ride is not None:
            await ride.done(outcome.entity)
        if outcome.created is not None:
            self.catalog.forget(tenant)
            model = await self.model_for(tenant)
        presented = (await self._present(tenant, model, [outcome.entity]))[0]
        return ActionOutcome(entity=presented, created=outcome.created)

    def _resolve_action(
        self, model: Model, entity: Entity, term: str, invocation: ActionInvocation | None
    ) -> str:
        declared = model.declared_actions(entity.kind or "", entity.mixins)
        if invocation is not None:
            action_id = invocation.action
            if action_id.rsplit("#", 1)[-1] != term:
                raise BadRequestError(
                    f"the query says action={term} but the body names {action_id}"
                )
            if action_id not in declared:
                if action_id in self.standard.declared_actions(entity.kind or ""):
                    self._check_supported_action(entity, action_id)
                if self.standard.get(action_id) is not None or model.get(action_id) is not None:
                    raise BadRequestError(f"{action_id} is not an action of {entity.kind}")
                raise BadRequestError(f"unknown action {action_id}")
        else:
            candidates = [a for a in declared if a.rsplit("#", 1)[-1] == term]
            if not candidates:
                for action_id in self.standard.declared_actions(entity.kind or ""):
                    if action_id.rsplit("#", 1)[-1] == term:
                        self._check_supported_action(entity, action_id)
                raise BadRequestError(f"{entity.kind} has no action {term!r}")
            if len(candidates) > 1:
                raise StateConflictError(
                    f"action={term} is ambiguous ({', '.join(candidates)}); "
                    "send the action Category in the body"
                )
            action_id = candidates[0]
        self._check_supported_action(entity, action_id)
        if action_id not in entity.actions and not self._already_done(model, entity, action_id):
            machine = model.state_machine(entity.kind or "")
            state = entity.attributes.get(machine.attribute) if machine else None
            if machine is not None and state in machine.passing:
                wait = self.backend.retry_after
                raise BusyError(
                    f"{term} does not apply to {entity.location} while it is {state!r}, "
                    f"a state the cloud leaves by itself; try again in {wait} s",
                    retry_after=wait,
                )
            raise StateConflictError(
                f"{term} does not apply to {entity.location} in state {state!r} now"
            )
        return action_id

    def _check_supported_action(self, entity: Entity, action_id: str) -> None:
        """501 for an action the standard gives the entity's kind (the served model
        leaves it out) or the model declares, that this cloud does not perform."""
        if not self.backend.capabilities.supports_action(action_id):
            raise NotSupportedError(
                f"this server cannot perform {action_id} on {entity.kind} entities"
            )

    async def trigger_on_collection(
        self,
        tenant: Tenant,
        model: Model,
        collection: Kind | Mixin,
        term: str,
        invocation: ActionInvocation | None,
    ) -> list[str]:
        """POST ``<collection>?action=<term>``: the action on every member.

        Every member must accept the action in its current state, or none is
        touched. Returns the locations acted on.
        """
        listing = await self.listing(tenant, model, collection)
        members = [e async for batch in listing.batches for e in batch]
        # Resolve for every member first: one that refuses leaves all untouched.
        resolved = [
            (entity, self._resolve_action(model, entity, term, invocation)) for entity in members
        ]
        for entity, action_id in resolved:
            if not self._already_done(model, entity, action_id):
                await self._perform(tenant, model, entity, action_id, invocation)
        return [entity.location or "" for entity, _ in resolved]

    # --- mixin collections ----------------------------------------------------------

    async def add_members(
        self, tenant: Tenant, model: Model, mixin: Mixin, locations: Sequence[str]
    ) -> None:
        """POST to a mixin collection: associate entities (a template swap rebuilds/resizes)."""
        if mixin.id in _TEMPLATE_PARENTS or (
            self.standard.get(mixin.id) is not None and model.templates(mixin.id)
        ):
            raise BadRequestError(f"associate a specific template, not {mixin.id} itself")
        paths = await self._members(tenant, model, mixin, locations)
        if model.owns(mixin.id):
            await self._runner.run(
                self._store.associate, tenant.id, mixin.id, [p.location for p in paths]
            )
            return
        for path in paths:
            changes = Resource(kind=None, mixins=[mixin.id])
            await self.update(tenant, model, path, changes)

    async def replace_members(
        self, tenant: Tenant, model: Model, mixin: Mixin, locations: Sequence[str]
    ) -> None:
        """PUT to a user mixin collection: exactly these entities are members now."""
        if not model.owns(mixin.id):
            raise MethodNotAllowedError(
                "the members of a provider mixin change through their entities",
                ("GET", "HEAD", "POST"),
            )
        paths = await self._members(tenant, model, mixin, locations)
        await self._runner.run(
            self._store.replace_members, tenant.id, mixin.id, [p.location for p in paths]
        )

    async def _members(
        self, tenant: Tenant, model: Model, mixin: Mixin, locations: Sequence[str]
    ) -> list[EntityPath]:
        """The paths of entities to make members of a mixin: each must exist, and the
        mixin must apply to its kind."""
        paths = [self._entity_path(model, location) for location in locations]
        for path in paths:
            entity = await self._fetch(tenant, path)
            if entity.kind is not None and not model.mixin_applies_to(mixin.id, entity.kind):
                raise BadRequestError(f"{mixin.id} does not apply to {entity.location}")
        return paths

    async def remove_members(
        self, tenant: Tenant, model: Model, mixin: Mixin, locations: Sequence[str] | None
    ) -> None:
        """DELETE on a user mixin collection: disassociate the entities named (or all)."""
        if not model.owns(mixin.id):
            raise MethodNotAllowedError(
                "provider mixins are removed by updating or deleting their entities",
                ("GET", "HEAD", "POST"),
            )
        chosen = None if locations is None else [_path_of(location) for location in locations]
        await self._runner.run(self._store.disassociate, tenant.id, mixin.id, chosen)

    def _entity_path(self, model: Model, location: str) -> EntityPath:
        path = resolve(model, _path_of(location))
        if not isinstance(path, EntityPath):
            raise BadRequestError(f"{location} is not the location of an entity")
        return path


async def _started(
    batches: AsyncIterator[list[T]], page: PageRequest | None, total: int | None
) -> Listing[T]:
    """A listing whose first batch is read now: a cloud that fails (unreachable,
    throttling) is then answered with its error status, not with a 200 whose body
    breaks off."""
    first = await anext(batches, None)
    return Listing(_after(first, batches), page, total)


async def _after(first: list[T] | None, rest: AsyncIterator[list[T]]) -> AsyncIterator[list[T]]:
    """`first` (when there is one), then the rest."""
    if first is not None:
        yield first
    async for batch in rest:
        yield batch


async def _nothing() -> AsyncIterator[list[str]]:
    """No batches: a listing nothing can match."""
    return
    yield


def _check_references(entity: Entity) -> None:
    """Refuse ids, sources and targets that are not strings (an unquoted number in a
    text rendering, a JSON number): they are read to build locations and find link
    ends before the entity as a whole is validated."""
    for one in (entity, *(entity.links if isinstance(entity, Resource) else ())):
        for name in (CORE_ID, CORE_SOURCE, CORE_TARGET):
            value = one.attributes.get(name)
            if value is not None and not isinstance(value, str):
                raise BadRequestError(
                    f"{name} must be a string (quoted, in a text rendering); got {value!r:.60}"
                )


def _fill_target_kind(model: Model, link: Link) -> None:
    """Give a link the kind of its target, read from the target's path, when it has none."""
    if link.target_kind is None and link.target:
        target = resolve(model, _path_of(link.target))
        if isinstance(target, EntityPath):
            link.target_kind = target.kind.id


def _imply_mixins(model: Model, entity: Entity) -> None:
    """Add the mixin that an attribute needs when the client set the attribute but not
    the mixin (OCCI 1.1 clients send ``occi.network.address`` without ipnetwork): the
    one mixin, applicable to the kind and not a template or a user's, that defines it."""
    for one in (entity, *(entity.links if isinstance(entity, Resource) else ())):
        if one.kind is None or model.get(one.kind) is None:
            continue
        defined = model.attribute_definitions(one.kind, one.mixins)
        for name in [n for n in one.attributes if n not in defined]:
            candidates = [
                mixin.id
                for mixin in model.mixins
                if name in mixin.attributes
                and not model.owns(mixin.id)
                and not mixin.depends
                and model.mixin_applies_to(mixin.id, one.kind)
            ]
            if len(candidates) == 1:
                one.mixins.append(candidates[0])
                defined = model.attribute_definitions(one.kind, one.mixins)


def _path_of(location: str) -> str:
    """The path of a location that may be an absolute URL."""
    if "://" in location:
        after_scheme = location.split("://", 1)[1]
        slash = after_scheme.find("/")
        return after_scheme[slash:] if slash >= 0 else "/"
    return location


def _undone(*, before: int, itself: bool) -> str:
    """What a failed multi-create says it undid: the entities created before the one that
    failed, and that one when it was created before a later step of it failed."""
    undone = [*(["it"] if itself else []), *([f"the {before} created before it"] if before else [])]
    if not undone:
        return "nothing was created"
    return " and ".join(undone) + (" was" if undone == ["it"] else " were") + " deleted again"


def _numbered(error: OcciError, number: int, count: int, outcome: str) -> OcciError:
    """`error` of the `number`-th of `count` entities of one request, saying what
    became of the others; a single entity's error stays as it is."""
    if count == 1:
        return error
    error.message = f"entity {number} of {count}: {error.message} ({outcome})"
    error.args = (error.message,)
    return error

"""The backend interface: what a cloud must offer for pyocci to serve OCCI in front of it.

A backend author needs this module alone: `Backend` to implement, the
`Query` listings ask, the `Tenant` a request acts for, the `Capabilities`
to declare, what an action or an update hands over and gets back
(`ActionOutcome`, `Revision`), and the errors to raise (re-exported from
`pyocci.backends.errors`). A backend is installed as an entry point (see
`pyocci.backends.registry`).

Who owns what:

- **The server's auth** says who a request acts for: it makes the `Tenant`;
  a backend reads its id (and its token, when the cloud checks callers'
  own credentials).
- **The service** (`pyocci.service.occi`) owns the OCCI semantics. It
  validates every request against the model (kinds, mixins, attribute
  types, what is mutable or required) and applies defaults before a
  backend sees it; it sets every entity's actions (what the model's state
  machines allow now, among `Capabilities.actions`), so what a backend puts
  there is not shown; it keeps user mixins and their members in its own
  store, takes them out of what it hands a backend and adds them back to
  what it shows; it checks that an action applies before triggering it, and
  reads a real cloud back until a write shows (unless
  `Backend.reads_own_writes`).
- **The backend** owns the cloud: ids and locations, what is stored and
  how, the cloud's own rules (quotas, states, sizes, what can change), said
  with the errors below. It keeps the OCCI-only state the service hands it
  with the entity (titles, summaries, link attributes a cloud has no field
  for) where its cloud can hold it (tags, metadata) or in tables of its own,
  so that a read gives back what was written. It never parses HTTP, never
  renders, and answers listings with filters and paging pushed down as far
  as its cloud allows.

Sync cloud SDKs (boto3, openstacksdk, pyone) must not block the event
loop: call them through `Backend.run_blocking`, which runs them in a
bounded thread pool and tells the request's deadline (`deadline`) that the
cloud answered.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from abc import ABC, abstractmethod
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyocci.backends.deadline import cloud_answered
from pyocci.backends.errors import (
    BackendError,
    BackendUnavailableError,
    BusyError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
    QuotaExceededError,
)
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity
from pyocci.model.registry import Model

__all__ = [
    "LOCATION_BATCH",
    "ActionOutcome",
    "Backend",
    "BackendError",
    "BackendUnavailableError",
    "BusyError",
    "Capabilities",
    "Census",
    "ConflictError",
    "EntityNotFoundError",
    "ImageData",
    "InvalidRequestError",
    "NotSupportedError",
    "Query",
    "QuotaExceededError",
    "Revision",
    "Tenant",
]

T = TypeVar("T")

#: Locations per batch of `Backend.list_locations`: a few hundred KiB of text.
LOCATION_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class Tenant:
    """Who a request acts for. `token` carries a credential the cloud itself checks
    (a Keystone token passed through), when the backend works that way."""

    id: str
    name: str | None = None
    # A secret: never in a repr, so never in a log line or a traceback.
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do: the kinds it holds, the actions it performs, and the
    standard mixins it understands (contextualization, templates' parents, zones)."""

    kinds: frozenset[str]
    actions: frozenset[str]
    mixins: frozenset[str] = frozenset()
    #: Attributes this cloud needs when an entity of a kind is created, beyond what
    #: OCCI requires (a network's ``occi.network.address`` on EC2): shown as
    #: ``{required}`` on the kind in discovery, and checked before the cloud is asked.
    required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: What this cloud makes of an attribute's value, by kind then attribute (storage
    #: sizes rounded up to whole GiB): added to the attribute's description in discovery.
    attribute_notes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def supports_kind(self, kind_id: str) -> bool:
        """Whether entities of this kind can be created and listed."""
        return kind_id in self.kinds

    def supports_action(self, action_id: str) -> bool:
        """Whether this action can be triggered."""
        return action_id in self.actions


@dataclass(frozen=True, slots=True)
class Query:
    """Which entities a listing wants, in the backend's stable order.

    `kinds`: entities of any of these kinds; `mixins`: entities associated
    with every one of these; `any_mixins`: when not empty, entities
    associated with at least one of these (the templates under a parent
    mixin such as os_tpl); `attributes`: entities whose attribute equals
    each value; `ids`: only entities with these ids (None: any id; the
    service pushes user-mixin filters down this way); then `offset` entities
    are skipped and at most `limit` returned.
    """

    kinds: tuple[str, ...]
    mixins: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    offset: int = 0
    limit: int | None = None
    ids: frozenset[str] | None = None
    any_mixins: frozenset[str] = frozenset()

    def matches(self, entity: Entity) -> bool:
        """Whether an entity passes the filters (not the paging) of this query."""
        if entity.kind not in self.kinds:
            return False
        if self.ids is not None and entity.id not in self.ids:
            return False
        if any(mixin not in entity.mixins for mixin in self.mixins):
            return False
        if self.any_mixins and self.any_mixins.isdisjoint(entity.mixins):
            return False
        return all(entity.attributes.get(name) == value for name, value in self.attributes.items())

    def page(
        self, entities: Iterable[Entity], keep: Callable[[Entity], bool] | None = None
    ) -> Iterator[Entity]:
        """Filter (with `keep`, by default `matches`) and page entities in Python, for
        backends whose cloud cannot."""
        pager = _Pager(self, keep or self.matches)
        for entity in entities:
            verdict = pager.verdict(entity)
            if verdict is None:
                return
            if verdict:
                yield entity

    async def apage(
        self, entities: AsyncIterable[Entity], keep: Callable[[Entity], bool] | None = None
    ) -> AsyncIterator[Entity]:
        """`page` for entities that arrive asynchronously."""
        pager = _Pager(self, keep or self.matches)
        async for entity in entities:
            verdict = pager.verdict(entity)
            if verdict is None:
                return
            if verdict:
                yield entity


class _Pager:
    """A query's filter and page, applied to entities one at a time, in order."""

    __slots__ = ("keep", "limit", "offset", "returned", "skipped")

    def __init__(self, query: Query, keep: Callable[[Entity], bool]) -> None:
        self.keep = keep
        self.offset = query.offset
        self.limit = query.limit
        self.skipped = self.returned = 0

    def verdict(self, entity: Entity) -> bool | None:
        """True: the entity is on the page; False: it is not; None: the page is full."""
        if not self.keep(entity):
            return False
        if self.skipped < self.offset:
            self.skipped += 1
            return False
        if self.limit is not None and self.returned >= self.limit:
            return None
        self.returned += 1
        return True


#: How many entities there are, by (kind id, state): the state is the value of the
#: kind's state attribute (``occi.compute.state``...), ``""`` for a kind without one.
Census = Mapping[tuple[str, str], int]


#: What an update makes of an entity: given the entity as the cloud has it, the
#: entity as it should be (a new object; the one given is left as it is).
Revision = Callable[[Entity], Entity]


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What triggering an action produced: the entity as it is now, and, for
    `save`, the new OS template."""

    entity: Entity
    created: Mixin | None = None


@dataclass(frozen=True, slots=True)
class ImageData:
    """An OS image's bytes as a backend hands them out for export: read chunk by chunk,
    so no image is ever whole in memory."""

    #: The image's size in bytes, when the cloud tells it before the bytes are read.
    size: int | None
    #: ``raw``, ``qcow2``...: the disk format of the bytes.
    disk_format: str
    #: The bytes, in chunks of about the size asked for, in order.
    chunks: AsyncIterator[bytes]


class Backend(ABC):
    """One cloud behind OCCI: pyocci's own in ``pyocci.backends.<name>``, others in any
    distribution that declares them (see `pyocci.backends.registry`)."""

    #: The name used in the server configuration (``backend = "sim"``).
    name: str = ""
    #: The cloud's name in messages ("EC2", "OpenStack"); the backend's name if empty.
    cloud: str = ""
    #: Seconds clients are told to wait (``Retry-After``) when this cloud fails them.
    retry_after: int = 5
    #: Whether a create or delete shows in every read as soon as its call returns (a
    #: store's transaction). When not (every real cloud), the service reads the entity
    #: back until the cloud shows the write done (see `pyocci.service.settling`).
    reads_own_writes: bool = False

    def __init__(self, *, model: Model, blocking_threads: int = 16) -> None:
        #: The standard model: kinds, their locations, what links may join.
        self.model = model
        # The SDK calls' own threads: never more than `blocking_threads`, even when
        # calls are abandoned at their deadline and go on running (a pool's thread
        # stays busy until its call ends; the next calls queue).
        self._threads = ThreadPoolExecutor(
            max_workers=blocking_threads, thread_name_prefix=f"{type(self).__name__}-cloud"
        )

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities:
        """What this backend supports; the rest is 501 and absent from discovery."""

    async def open(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Connect to the cloud; called once before the first request."""

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release connections; called once at shutdown."""

    #: Whether `check_caller` asks the cloud about callers' own credentials (the
    #: server's ``[auth] method = "cloud"`` needs it).
    checks_callers: bool = False

    async def check_caller(self, user_name: str, secret: str) -> Tenant | None:
        """The tenant of a caller whose own cloud credentials these are, carrying them
        (`Tenant.token`) for the request's cloud calls; None when the cloud refuses them.

        Only for backends that set `checks_callers`. An unreachable cloud raises
        `BackendUnavailableError` (503), which is not a refusal.
        """
        raise NotSupportedError(f"the {self.name} backend does not check callers' credentials")

    async def check_health(self) -> str | None:
        """Ask the cloud something cheap that needs it up (for the server's ``/healthz``):
        what was asked, or None when there is no cloud beside the store to ask. The
        cloud's failure is raised as the backend error it is."""
        return None

    def location_of(self, kind_id: str, entity_id: str) -> str:
        """Where an entity of this kind lives: its kind's location plus its id."""
        return self.model.location_of(kind_id, entity_id)

    @property
    def reads_on_loop(self) -> bool:
        """Whether every call runs on the event loop (CPU work on a local store, no
        waiting), rather than being awaited from a cloud or a thread: the server then
        counts listing reads as steps that take turns with other listings (see
        `pyocci.server.turns`), and sets no cloud deadline around the calls (see
        `pyocci.backends.bounded`)."""
        return False

    def revision(self) -> Hashable | None:
        """A token that changes whenever anything `get_entity` would return may have
        changed: an entity, its links, the time-dependent state of a transition, and the
        OCCI store's own state (user mixin memberships); None when the backend cannot tell.

        The server keeps rendered entities while the token stays the same, so a
        backend whose cloud changes behind its back (every real cloud) returns None,
        the default. The call is made on the event loop on every entity read: it
        must be cheap and must not block.
        """
        return None

    async def run_blocking(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking SDK call in the thread pool, off the event loop.

        When the request's deadline passes the call is abandoned, not waited for: its
        thread ends when the SDK's own timeouts say so. An answer renews the deadline.
        """
        call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
        # Cancelled (the deadline passed): a call still queued is dropped; a running one
        # is left to its thread, which the pool does not hand out until the call ends.
        result = await asyncio.get_running_loop().run_in_executor(self._threads, call)
        cloud_answered()
        return result

    @abstractmethod
    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The mixins this cloud offers: OS templates, resource templates, zones..."""

    @abstractmethod
    def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's entities that match `query`, paged, in a stable order."""

    async def list_locations(self, tenant: Tenant, query: Query) -> AsyncIterator[list[str]]:
        """The locations of the entities `list_entities` would give, in the same order,
        in batches: what a location-only listing (text/plain, text/occi, uri-list)
        needs. This default reads the entities; a backend that can name its entities
        without reading them in full (one indexed query) overrides it."""
        batch: list[str] = []
        async for entity in self.list_entities(tenant, query):
            batch.append(entity.location or self.location_of(entity.kind or "", entity.id))
            if len(batch) >= LOCATION_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def count_entities(self, tenant: Tenant, query: Query) -> int | None:
        """How many entities match the query's filters (paging ignored), or None if the
        cloud cannot tell cheaply; it gives listings their `last` page link."""
        return None

    async def census(self) -> Census | None:
        """How many entities of each kind are in each state, every tenant's together, if
        the cloud can say so in one cheap read (one query of a store); None when it
        cannot (the default: a cloud would be asked for every tenant's every entity).

        The server's metrics ask this now and then (``[metrics] census_seconds``),
        never while answering a request.
        """
        return None

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """Why a template the cloud is still preparing (an image a ``save`` is still
        writing) cannot start a compute yet, as the error to answer; None when the cloud
        has no such template.

        `provider_mixins` offers only templates that can start a compute now; the
        service asks this when a create names a mixin the tenant's model lacks, so
        that such a create is answered 409 with Retry-After rather than 400.
        """
        return None

    @abstractmethod
    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One entity of this kind (or a sub-kind); EntityNotFoundError if the tenant has
        no such entity. Resources come with their links (the links whose source they are).

        An entity the cloud is deleting (a volume Cinder marks ``deleting``, an
        instance EC2 is terminating) is not found, and is left out of listings: a
        delete the cloud has taken on is done as far as clients can tell.
        """

    @abstractmethod
    async def create_entity(self, tenant: Tenant, entity: Entity) -> Entity:
        """Create a validated entity (with defaults applied); return it as stored."""

    @abstractmethod
    async def update_entity(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Bring an entity from `current` to `desired` (mixins, attributes); return it."""

    async def revise_entity(
        self, tenant: Tenant, kind_id: str, entity_id: str, revise: Revision
    ) -> Entity:
        """Read an entity, ask `revise` what it should become, and bring it there; return
        it as the cloud has it then. `revise` refuses by raising (nothing changes then).

        This default reads with `get_entity` and writes with `update_entity`. A backend
        whose writes are transactions overrides it to do both in one: the entity is
        read once, and nothing changes it between the read and the write.
        """
        current = await self.get_entity(tenant, kind_id, entity_id)
        return await self.update_entity(tenant, current, revise(current))

    @abstractmethod
    async def delete_entity(self, tenant: Tenant, entity: Entity) -> None:
        """Delete an entity; a resource's links go with it.

        A state the cloud leaves by itself (a volume still being created) is refused
        with `BusyError`, whose message names the state and whose ``retry_after`` says
        when to try again; a state only the client can change (a volume still
        attached) with `ConflictError`. The call may return before the cloud is done:
        the service reads the entity back until it is gone (unless `reads_own_writes`).
        """

    @abstractmethod
    async def trigger_action(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """Perform an action the entity's state allows (the service has checked that)."""

    # --- images: export and deletion (see docs/export.md) --------------------------------------

    @property
    def export_refusal(self) -> str | None:
        """Why this backend cannot export images (the 501's message), or None when it can
        (`read_image` gives the bytes). Discovery offers export only when this is None."""
        return f"the {self.name} backend cannot read image data"

    async def read_image(self, tenant: Tenant, mixin_id: str, chunk_bytes: int) -> ImageData:
        """The bytes of an OS template the tenant may read, for export.

        EntityNotFoundError for a template the tenant has no image for, BusyError for
        one still being saved. The chunks are read as they are consumed; a caller that
        stops early closes the iterator (``aclose``).
        """
        raise NotSupportedError(self.export_refusal or f"the {self.name} backend cannot export")

    async def delete_template(self, tenant: Tenant, mixin_id: str) -> bool:
        """Delete an OS template the tenant made (a saved image); False when it is not one
        the tenant may delete (the site's own templates), and nothing changes."""
        return False

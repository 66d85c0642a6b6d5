"""`Collection`: the entities of some kinds that one part of a cloud keeps.

A backend on the kit is a list of collections (`pyocci.backends.kit.KitBackend`):
computes in one, volumes in another, their links in a third... Each declares
the kinds it serves and, per kind, the actions it performs as a table of
handlers (`actions`), so that routing a request is a lookup, never a chain
of comparisons. Links whose source is a compute are read a page of the
cloud's compute records at a time (`links_of`), so that a listing of
computes costs one batched call per page and collection, never one per
compute.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from pyocci.backends.api import ActionOutcome, Capabilities, Query, Tenant
from pyocci.backends.errors import NotSupportedError
from pyocci.model.entity import Entity, Link

#: What performs one action: given the tenant, the entity (as the service read it)
#: and the action's parameters, the outcome (the entity as the cloud has it now).
ActionHandler = Callable[[Tenant, Entity, Mapping[str, Any]], Awaitable[ActionOutcome]]


class Collection(ABC):
    """Entities of some kinds that one part of a cloud keeps.

    Declare `kinds` (and `mixins`, the standard mixins understood there) and
    the `actions` table; `capabilities` is made of them. A collection whose
    capabilities depend on what the cloud turns out to offer overrides
    `capabilities` itself.
    """

    #: The kinds served, in listing order.
    kinds: tuple[str, ...] = ()
    #: The standard mixins understood (contextualization, template parents, zones...).
    mixins: frozenset[str] = frozenset()
    #: Attributes the cloud needs at creation beyond OCCI's, by kind (see `Capabilities`).
    required: Mapping[str, tuple[str, ...]] = {}
    #: What the cloud makes of attribute values, by kind then attribute.
    attribute_notes: Mapping[str, Mapping[str, str]] = {}

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """The actions performed here, by action id. None by default."""
        return {}

    @property
    def capabilities(self) -> Capabilities:
        """The kinds, actions and mixins served here."""
        return Capabilities(
            kinds=frozenset(self.kinds),
            actions=frozenset(self.actions),
            mixins=self.mixins,
            required=self.required,
            attribute_notes=self.attribute_notes,
        )

    def serves(self, kind_id: str | None) -> bool:
        """Whether this collection keeps entities of this kind."""
        return kind_id is not None and self.capabilities.supports_kind(kind_id)

    def may_hold(self, kind_id: str, entity_id: str) -> bool:
        """Whether an entity of this kind with this id can be here at all, without asking
        the cloud (ids of a cloud carry a prefix per kind, say): when not, a read is
        answered not found at once. Any id by default."""
        return True

    @abstractmethod
    def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's entities of this collection's kinds among `query.kinds`, filtered
        and paged by `query` (offset and limit count only this collection's entities)."""

    async def count(self, tenant: Tenant, query: Query) -> int | None:
        """How many entities here match the query's filters, or None when the cloud
        cannot tell cheaply (the default)."""
        return None

    @abstractmethod
    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One entity of this kind; not found for other tenants' entities too."""

    @abstractmethod
    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Make the entity in the cloud; its id is the cloud's."""

    @abstractmethod
    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Change what the cloud can change; refuse the rest with a reason."""

    @abstractmethod
    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete (or detach, or release) the entity."""

    async def trigger(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """Run an action through the `actions` table."""
        handler = self.actions.get(action_id)
        if handler is None:
            action = action_id.rsplit("#", 1)[-1]
            kind = (entity.kind or "").rsplit("#", 1)[-1]
            raise NotSupportedError(f"this cloud has no {action} action for a {kind} here")
        return await handler(tenant, entity, parameters)

    async def links_of(self, tenant: Tenant, sources: Sequence[Any]) -> dict[str, list[Link]]:
        """The links of this collection's kinds from a page of the cloud's records of
        link sources (servers, instances, VMs), keyed by source id, read with at most
        one batched call per page. None by default."""
        return {}

"""`Kept`: a kit `Collection` whose entities live on the memory backend's `Shelf`.

Reading, writing and state changes are the same for every kind here; the
collections in `resources` and `links` only say which kinds they serve,
which actions they perform and what they check before a write.

No method here ever waits (nothing it awaits suspends), so on the event
loop each is one step no other request interleaves with: every write is
atomic, and a failed one is undone before anyone can see it.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pyocci.backends.api import (
    ActionOutcome,
    BackendError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    Query,
    Tenant,
)
from pyocci.backends.kit import ActionHandler, Collection
from pyocci.backends.memory.shelf import Shelf
from pyocci.model.entity import Entity, Resource
from pyocci.model.registry import Model


def term(identifier: str | None) -> str:
    """The term of a category id, for messages (``...#compute`` -> ``compute``)."""
    return (identifier or "").rsplit("#", 1)[-1]


class Kept(Collection):
    """Entities of `kinds` kept on a shelf, created in the state `ready`."""

    #: The state a new entity is in: memory makes everything at once.
    ready = "active"

    def __init__(self, model: Model, shelf: Shelf, links: Kept | None = None) -> None:
        self.model = model
        self.shelf = shelf
        #: Where a resource's inline links are made (None for links themselves).
        self.links = links

    # --- reading ----------------------------------------------------------------------

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's entities of the query's kinds, filtered and paged by `Query.page`."""
        kept = self.shelf.entities(tenant.id, set(self.kinds) & set(query.kinds))
        for entity in query.page(kept):
            yield self.shown(tenant, entity)

    async def count(self, tenant: Tenant, query: Query) -> int:
        """Memory can count without reading: listings get their ``last`` page link."""
        kept = self.shelf.entities(tenant.id, set(self.kinds) & set(query.kinds))
        return sum(1 for entity in kept if query.matches(entity))

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """The tenant's entity of this kind; another tenant's is not found either."""
        entity = self.shelf.find(tenant.id, self.model.location_of(kind_id, entity_id))
        if entity is None or entity.kind != kind_id:
            raise EntityNotFoundError(f"no {term(kind_id)} with id {entity_id!r}")
        return self.shown(tenant, entity)

    def shown(self, tenant: Tenant, entity: Entity) -> Entity:
        """A copy of a kept entity; a resource comes with the links that start at it."""
        shown = copy.deepcopy(entity)
        if isinstance(shown, Resource):
            links = self.shelf.links_from(tenant.id, shown.location or "")
            shown.links = [copy.deepcopy(link) for link in links]
        return shown

    # --- writing ----------------------------------------------------------------------

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Keep a new entity in its `ready` state, once `check` lets it in; a resource's
        inline links are made with it, all or nothing."""
        if self.shelf.find(tenant.id, entity.location or "") is not None:
            raise ConflictError(f"{entity.location} already exists; choose another id")
        self.check(tenant, entity)
        made = copy.deepcopy(entity)
        machine = self.model.state_machine(made.kind or "")
        if machine is not None:
            made.attributes[machine.attribute] = self.ready
        inline = made.links if isinstance(made, Resource) else []
        if isinstance(made, Resource):
            made.links = []  # kept as entities of their own (see `links.Links`)
        self.shelf.put(tenant.id, made)
        try:
            for link in inline:
                if self.links is None:
                    raise InvalidRequestError(f"a {term(made.kind)} has no inline links")
                await self.links.create(tenant, link)
        except BackendError:
            await self.delete(tenant, made)
            raise
        return self.shown(tenant, made)

    def check(self, tenant: Tenant, entity: Entity) -> None:
        """Refuse an entity this cloud cannot make (a quota, a link's ends). The service
        has validated it against the model already: only the cloud's rules go here."""

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Keep what the service asks for: it has checked that only mutable attributes and
        mixins change. The state stays as it is: only actions move it."""
        kept = self._kept(tenant, current)
        self.check_update(kept, desired)
        revised = copy.deepcopy(desired)
        if isinstance(revised, Resource):
            revised.links = []
        machine = self.model.state_machine(kept.kind or "")
        if machine is not None:
            revised.attributes[machine.attribute] = kept.attributes[machine.attribute]
        self.shelf.put(tenant.id, revised)
        return self.shown(tenant, revised)

    def check_update(self, current: Entity, desired: Entity) -> None:
        """Refuse a change this cloud cannot make. Any change by default."""

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Forget the entity, and the links that start at it; refused while links of other
        resources end at it (a storage still attached): the client detaches first."""
        kept = self._kept(tenant, entity)
        targeting = self.shelf.links_to(tenant.id, kept.location or "")
        if targeting:
            held = ", ".join(f"{link.location} (from {link.source})" for link in targeting)
            raise ConflictError(f"cannot delete {kept.location}: detach it first from {held}")
        for link in self.shelf.links_from(tenant.id, kept.location or ""):
            self.shelf.remove(tenant.id, link.location or "")
        self.shelf.remove(tenant.id, kept.location or "")

    def _kept(self, tenant: Tenant, entity: Entity) -> Entity:
        kept = self.shelf.find(tenant.id, entity.location or "")
        if kept is None:
            raise EntityNotFoundError(f"no {term(entity.kind)} at {entity.location}")
        return kept

    # --- actions ----------------------------------------------------------------------

    def moves(self, *action_ids: str) -> dict[str, ActionHandler]:
        """An `actions` table whose handlers move the state as the model's machine says."""
        return {action_id: functools.partial(self.move, action_id) for action_id in action_ids}

    async def move(
        self, action_id: str, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """Put the entity in the state the action leads to (the service checked that it
        applies; a change since then is a conflict)."""
        moved = self.shelf.copy(tenant.id, entity.location or "")
        machine = self.model.state_machine(entity.kind or "")
        if moved is None or machine is None:
            raise EntityNotFoundError(f"no {term(entity.kind)} at {entity.location}")
        state = moved.attributes.get(machine.attribute)
        after = machine.next_state(action_id, state)
        if after is None:
            raise ConflictError(f"cannot {term(action_id)} {entity.location}: it is {state}")
        moved.attributes[machine.attribute] = after
        self.shelf.put(tenant.id, moved)
        return ActionOutcome(entity=self.shown(tenant, moved))

"""`Collection`: the entities of some kinds that one OpenStack service keeps.

The backend serves each kind through the collection whose capabilities
name it: computes from Nova, volumes from Cinder, networks, ports and
security groups from Neutron. Links to computes are read a page of servers
at a time (`links_of`), so that a listing costs one batched call per page
and service, never one per server; links given when a compute is created
become Nova boot options (`boot_options`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from pyocci.backends.api import ActionOutcome, Capabilities, Query, Tenant
from pyocci.backends.errors import NotSupportedError
from pyocci.model.entity import Entity, Link


class Collection(ABC):
    """Entities of some kinds that one OpenStack service keeps."""

    #: The kinds, actions and mixins this collection serves.
    capabilities: Capabilities

    @abstractmethod
    def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's entities of this collection's kinds among `query.kinds`, filtered
        and paged by `query` (offset and limit count only this collection's entities)."""

    @abstractmethod
    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One entity; not found for other tenants' entities too."""

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
        """Run an action; none by default."""
        raise NotSupportedError(f"OpenStack has no {action_id} for {entity.kind} here")

    async def links_of(self, tenant: Tenant, servers: Sequence[Any]) -> dict[str, list[Link]]:
        """The links of this collection's kinds from a page of Nova servers, keyed by server
        id, read with at most one batched call per page. None by default."""
        return {}

    async def boot_options(self, tenant: Tenant, links: Sequence[Link]) -> dict[str, Any]:
        """Nova `create_server` arguments for the links of this collection's kinds that a
        new compute is created with. None by default."""
        return {}

    def serves(self, kind_id: str | None) -> bool:
        """Whether this collection keeps entities of this kind."""
        return kind_id is not None and self.capabilities.supports_kind(kind_id)

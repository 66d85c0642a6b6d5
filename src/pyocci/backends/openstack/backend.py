"""`OpenStackBackend`: OCCI in front of an OpenStack cloud's compute service.

The backend keeps no copy of the cloud: servers are read from Nova when
asked for, so changes made with the OpenStack CLI or dashboard show at
once. Only the templates (images, flavors) are cached, for `template_ttl`
seconds. Volumes and networks (Cinder, Neutron) are not served yet: their
kinds are absent from discovery and answered 501.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from pyocci.backends.base import ActionOutcome, Backend, Capabilities, Query, Tenant
from pyocci.backends.errors import EntityNotFoundError, NotSupportedError
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.backends.openstack.catalogue import CAPABILITIES, Catalogue
from pyocci.backends.openstack.compute import Computes
from pyocci.backends.openstack.settings import OpenStackSettings
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity, Resource
from pyocci.model.infrastructure import COMPUTE
from pyocci.model.registry import Model


class OpenStackBackend(Backend):
    """Nova through openstacksdk, every call in the backend's thread pool."""

    name = "openstack"

    def __init__(
        self, *, model: Model, settings: OpenStackSettings, blocking_threads: int = 16
    ) -> None:
        super().__init__(model=model, blocking_threads=blocking_threads)
        self.settings = settings
        self.api = OpenStackApi(settings, self.run_blocking)
        self.catalogue = Catalogue(self.api, settings.template_ttl)
        self.computes = Computes(self.api, self.catalogue, self.location_of)

    @property
    def capabilities(self) -> Capabilities:
        """Computes, their templates and the compute actions."""
        return CAPABILITIES

    async def open(self) -> None:
        """Nothing to do: the connection is built, and the cloud first asked, on the first
        request, so a server started while the cloud is unreachable serves once it is back."""

    async def close(self) -> None:
        """Close the connection."""
        await self.run_blocking(self.api.close)

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The images and flavors offered (cached for `template_ttl`)."""
        return (await self.catalogue.offer()).mixins()

    def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's computes, read live, one Nova call per page."""
        return self.computes.listing(tenant, query)

    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """The compute with this id."""
        if not self.model.is_kind_of(COMPUTE.id, kind_id):
            raise EntityNotFoundError(f"no {kind_id.rsplit('#', 1)[-1]} with id {entity_id!r}")
        return await self.computes.get(tenant, entity_id)

    async def create_entity(self, tenant: Tenant, entity: Entity) -> Entity:
        """Boot a server; its id is Nova's (the id asked for is not kept)."""
        if entity.kind != COMPUTE.id or not isinstance(entity, Resource):
            raise NotSupportedError(f"this server cannot create {entity.kind} on OpenStack")
        return await self.computes.create(tenant, entity)

    async def update_entity(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Resize (another resource_tpl) or rename a compute."""
        if current.kind != COMPUTE.id:
            raise NotSupportedError(f"this server cannot change {current.kind} on OpenStack")
        return await self.computes.update(tenant, current, desired)

    async def delete_entity(self, tenant: Tenant, entity: Entity) -> None:
        """Delete a server."""
        if entity.kind != COMPUTE.id:
            raise NotSupportedError(f"this server cannot delete {entity.kind} on OpenStack")
        await self.computes.delete(tenant, entity.id or "")

    async def trigger_action(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """The compute actions."""
        if entity.kind != COMPUTE.id:
            raise NotSupportedError(f"OpenStack has no {action_id} for {entity.kind} here")
        return await self.computes.trigger(tenant, entity, action_id, parameters)

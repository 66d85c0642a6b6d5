"""`OpenStackBackend`: OCCI in front of an OpenStack cloud.

The backend keeps no copy of the cloud: servers, volumes and networks are
read from Nova, Cinder and Neutron when asked for, so changes made with the
OpenStack CLI or dashboard show at once. Only the templates (images,
flavors) are cached, for `template_ttl` seconds. Each kind is served by the
collection of the service that keeps it (`collection.Collection`); a kind
whose service this server does not use is absent from discovery and
answered 501.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from pyocci.backends.api import ActionOutcome, Backend, Capabilities, Query, Tenant
from pyocci.backends.deadline import DEFAULT_DEADLINE
from pyocci.backends.errors import BusyError, EntityNotFoundError, NotSupportedError
from pyocci.backends.openstack.api import OpenStackApi, acting_for
from pyocci.backends.openstack.attachments import StorageLinks
from pyocci.backends.openstack.catalogue import OS_TPL_SCHEME, Catalogue
from pyocci.backends.openstack.collection import Collection
from pyocci.backends.openstack.compute import Computes
from pyocci.backends.openstack.interfaces import Interfaces
from pyocci.backends.openstack.network import Networks
from pyocci.backends.openstack.security import SecurityGroups
from pyocci.backends.openstack.settings import OpenStackSettings
from pyocci.backends.openstack.storage import Volumes
from pyocci.backends.openstack.zones import Zones
from pyocci.backends.registry import BackendSetup
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity
from pyocci.model.registry import Model


def _union(collections: Sequence[Collection]) -> Capabilities:
    return Capabilities(
        kinds=frozenset().union(*(c.capabilities.kinds for c in collections)),
        actions=frozenset().union(*(c.capabilities.actions for c in collections)),
        mixins=frozenset().union(*(c.capabilities.mixins for c in collections)),
        required={k: v for c in collections for k, v in c.capabilities.required.items()},
        attribute_notes={
            k: v for c in collections for k, v in c.capabilities.attribute_notes.items()
        },
    )


class OpenStackBackend(Backend):
    """Nova (and the services beside it) through openstacksdk, every call in the
    backend's thread pool."""

    name = "openstack"

    def __init__(
        self,
        *,
        model: Model,
        settings: OpenStackSettings,
        blocking_threads: int = 16,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        super().__init__(model=model, blocking_threads=blocking_threads)
        self.settings = settings
        self.retry_after = settings.retry_after
        self.api = OpenStackApi(settings, self.run_blocking, deadline)
        self.catalogue = Catalogue(self.api, settings.template_ttl)
        self.zones = Zones(self.api, settings.template_ttl)
        self.computes = Computes(self.api, self.catalogue, self.location_of, zones=self.zones)
        #: Every collection served, computes first (listings follow this order).
        self.collections: list[Collection] = [self.computes]
        served = settings.served
        if "volume" in served:
            volumes = Volumes(self.api, self.location_of)
            self.collections += [
                volumes,
                StorageLinks(self.api, self.computes, volumes, self.location_of),
            ]
        if "network" in served:
            networks = Networks(self.api, self.location_of)
            self.collections += [
                networks,
                Interfaces(self.api, networks, self.location_of),
                SecurityGroups(self.api, self.location_of),
            ]
        self.computes.link_sources = self.collections[1:]

    @property
    def capabilities(self) -> Capabilities:
        """What the collections served can do together (asked each time: a collection
        may learn that the cloud lacks something, such as Cinder's backup service)."""
        return _union(self.collections)

    async def open(self) -> None:
        """Nothing to do: the connection is built, and the cloud first asked, on the first
        request, so a server started while the cloud is unreachable serves once it is back."""

    async def close(self) -> None:
        """Close the connections."""
        await self.run_blocking(self.api.close)

    def _serving(self, kind_id: str | None) -> Collection:
        for collection in self.collections:
            if collection.serves(kind_id):
                return collection
        raise NotSupportedError(f"this server does not serve {kind_id} on OpenStack")

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The images, flavors and availability zones offered (cached for `template_ttl`)."""
        acting_for(tenant)
        return [*(await self.catalogue.offer()).mixins(), *await self.zones.mixins()]

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """Why an os_tpl of this cloud cannot boot a compute yet: its Glance image is still
        being written (``queued``, ``saving``...). None for anything else. An image
        found pending is followed, and offered as soon as Glance has made it active."""
        if not mixin_id.startswith(OS_TPL_SCHEME):
            return None
        acting_for(tenant)
        image_id = mixin_id.removeprefix(OS_TPL_SCHEME)
        return await self.catalogue.not_ready(image_id, self.settings.retry_after)

    def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's entities, read live, one call per page and service."""
        involved = [c for c in self.collections if any(c.serves(k) for k in query.kinds)]
        return self._chained(tenant, query, involved)

    async def _chained(
        self, tenant: Tenant, query: Query, involved: Sequence[Collection]
    ) -> AsyncIterator[Entity]:
        """Several collections one after the other, paged as one sequence.

        How many entities a collection holds is not known before it is read, so
        each is asked for everything up to the end of the page still wanted and
        the entities before the offset are passed over here."""
        acting_for(tenant)
        if len(involved) == 1:
            async for entity in involved[0].listing(tenant, query):
                yield entity
            return
        skip, left = query.offset, query.limit
        for collection in involved:
            if left is not None and left <= 0:
                return
            part = dataclasses.replace(query, offset=0, limit=None if left is None else skip + left)
            async for entity in collection.listing(tenant, part):
                if skip:
                    skip -= 1
                    continue
                yield entity
                if left is not None:
                    left -= 1
                    if left <= 0:
                        return

    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """The entity with this id, if it is of this kind (or a sub-kind)."""
        acting_for(tenant)
        for collection in self.collections:
            for kind in collection.capabilities.kinds:
                if self.model.is_kind_of(kind, kind_id):
                    try:
                        return await collection.get(tenant, kind, entity_id)
                    except EntityNotFoundError:
                        continue
        raise EntityNotFoundError(f"no {kind_id.rsplit('#', 1)[-1]} with id {entity_id!r}")

    async def create_entity(self, tenant: Tenant, entity: Entity) -> Entity:
        """Make the entity in the service that keeps its kind; its id is the cloud's (the
        id asked for is not kept)."""
        acting_for(tenant)
        return await self._serving(entity.kind).create(tenant, entity)

    async def update_entity(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Change what the cloud can change (a resize, a title...)."""
        acting_for(tenant)
        return await self._serving(current.kind).update(tenant, current, desired)

    async def delete_entity(self, tenant: Tenant, entity: Entity) -> None:
        """Delete, detach or release."""
        acting_for(tenant)
        await self._serving(entity.kind).delete(tenant, entity)

    async def trigger_action(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """An action of the entity's kind, run by the service that keeps it."""
        acting_for(tenant)
        return await self._serving(entity.kind).trigger(tenant, entity, action_id, parameters)


def build(setup: BackendSetup) -> OpenStackBackend:
    """The OpenStack backend from ``[backend_settings]`` (see
    `OpenStackSettings.from_dict`): the ``openstack`` entry point."""
    settings = OpenStackSettings.from_dict(dict(setup.settings))
    if settings.passes_tokens_through and setup.auth_method != "keystone":
        raise ValueError(
            "credentials = 'caller' passes callers' Keystone tokens through, so [auth] "
            f"method must be 'keystone', not {setup.auth_method!r}"
        )
    return OpenStackBackend(model=setup.model, settings=settings, deadline=setup.cloud_deadline)

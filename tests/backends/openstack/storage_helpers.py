"""Builders and waits shared by the storage and storage link tests (Cinder, Nova)."""

from __future__ import annotations

import dataclasses
from typing import Any

import anyio
import pytest
from cinder_fixtures import connect, settle

from cinderserver import CinderServer
from pyocci.backends.api import Query, Tenant
from pyocci.backends.openstack import OpenStackBackend
from pyocci.backends.openstack.attachments import StorageLinks
from pyocci.backends.openstack.compute import Computes
from pyocci.backends.openstack.storage import Volumes
from pyocci.model import Entity, Link, Resource
from pyocci.model.infrastructure import STORAGE, STORAGELINK


@dataclasses.dataclass
class Cloud:
    """The backend on the Nova and Cinder fixtures, and the storage collections on it."""

    backend: OpenStackBackend
    volumes: Volumes
    links: StorageLinks
    computes: Computes
    cinder: CinderServer


def storage_cloud(backend: OpenStackBackend, cinder: CinderServer) -> Cloud:
    volumes = Volumes(backend.api, backend.location_of)
    computes = Computes(backend.api, backend.catalogue, backend.location_of)
    links = StorageLinks(backend.api, computes, volumes, backend.location_of)
    # Computes read the storage links of each page of servers from this collection.
    computes.link_sources = [links]
    return Cloud(backend, volumes, links, computes, cinder)


def storage(size: float = 1, **attributes: Any) -> Resource:
    """A storage to create, as the service hands it to the backend."""
    return Resource(kind=STORAGE.id, attributes={"occi.storage.size": size, **attributes})


async def settled(cloud: Cloud, tenant: Tenant, storage_id: str, **wanted: Any) -> Entity:
    """The storage once Cinder has brought it to these attributes (Cinder works
    asynchronously); the last one read is in the failure."""
    entity: Entity | None = None
    with anyio.move_on_after(60):
        while True:
            entity = await cloud.volumes.get(tenant, STORAGE.id, storage_id)
            if all(entity.attributes.get(name) == value for name, value in wanted.items()):
                return entity
            await anyio.sleep(0.2)
    pytest.fail(f"storage {storage_id} never reached {wanted}; last seen {entity!r}")


async def online(cloud: Cloud, tenant: Tenant, size: float = 1, **attributes: Any) -> Entity:
    """A new storage, once Cinder has made it."""
    created = await cloud.volumes.create(tenant, storage(size, **attributes))
    return await settled(cloud, tenant, created.id or "", **{"occi.storage.state": "online"})


async def listed(collection: Any, tenant: Tenant, query: Query) -> list[Entity]:
    """Every entity a collection's listing yields."""
    return [entity async for entity in collection.listing(tenant, query)]


def storagelink(source: str, target: str, **attributes: Any) -> Link:
    """A storage link to create, as the service hands it to the backend."""
    return Link(
        kind=STORAGELINK.id,
        attributes={"occi.core.source": source, "occi.core.target": target, **attributes},
    )


def cinder_volume(cloud: Cloud, volume_id: str, status: str) -> Any:
    """The volume as Cinder has it, once in this status (blocking)."""
    sdk = connect(cloud.cinder.volume_url)
    return settle(
        lambda: sdk.block_storage.get_volume(volume_id), lambda v: v.status == status, status
    )


def reset_status(cloud: Cloud, volume_id: str, status: str) -> None:
    """Put a volume in a status, as Cinder's administrator does (os-reset_status): the
    statuses Cinder and Nova pass through while they work last only milliseconds here."""
    connect(cloud.cinder.volume_url).block_storage.reset_volume_status(volume_id, status=status)

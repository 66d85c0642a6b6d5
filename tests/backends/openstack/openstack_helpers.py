"""Builders and waits shared by the OpenStack backend tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio

from pyocci.backends.api import Query, Tenant
from pyocci.backends.openstack import OpenStackBackend
from pyocci.backends.openstack.catalogue import OS_TPL_SCHEME, RESOURCE_TPL_SCHEME
from pyocci.model import Entity, Resource

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
STORAGE = "http://schemas.ogf.org/occi/infrastructure#storage"
COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
#: One of the fake Glance's images, and Nova's default flavors (by id).
IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
TINY, SMALL = "1", "2"


def image(image_id: str = IMAGE) -> str:
    """The os_tpl mixin id of an image."""
    return OS_TPL_SCHEME + image_id


def flavor(flavor_id: str = TINY) -> str:
    """The resource_tpl mixin id of a flavor."""
    return RESOURCE_TPL_SCHEME + flavor_id


def compute(image_id: str = IMAGE, flavor_id: str = TINY, **attributes: Any) -> Resource:
    """A compute to create, as the service hands it to the backend."""
    return Resource(
        kind=COMPUTE, mixins=[image(image_id), flavor(flavor_id)], attributes=dict(attributes)
    )


async def listed(backend: OpenStackBackend, tenant: Tenant, query: Query) -> list[Entity]:
    """Every entity a listing yields."""
    return [entity async for entity in backend.list_entities(tenant, query)]


async def wait_state(
    backend: OpenStackBackend, tenant: Tenant, compute_id: str, state: str
) -> Entity:
    """The compute once Nova has brought it to this OCCI state (Nova works asynchronously)."""
    with anyio.fail_after(120):
        while True:
            entity = await backend.get_entity(tenant, COMPUTE, compute_id)
            if entity.attributes["occi.compute.state"] == state:
                return entity
            await anyio.sleep(0.2)


@contextmanager
def compute_calls(backend: OpenStackBackend) -> Iterator[list[str]]:
    """The HTTP requests the backend's connection makes inside the block (method, URL, query)."""
    session = backend.api.connection.session
    calls: list[str] = []
    original = session.request

    def record(url: str, method: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"{method} {url} {kwargs.get('params') or ''}".rstrip())
        return original(url, method, *args, **kwargs)

    session.request = record
    try:
        yield calls
    finally:
        session.request = original

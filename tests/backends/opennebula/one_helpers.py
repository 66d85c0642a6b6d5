"""Builders and waits shared by the OpenNebula backend tests."""

from __future__ import annotations

from typing import Any

import anyio

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import BusyError, EntityNotFoundError
from pyocci.backends.opennebula.catalogue import OS_TPL_SCHEME, RESOURCE_TPL_SCHEME
from pyocci.model import Entity, Resource

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
#: The test cloud's VM template, as `OneCloud.provision` names it.
TEMPLATE_NAME = "Debian 12 (dummy)"


def action(term: str) -> str:
    """A compute action's id."""
    return COMPUTE_ACTION + term


async def os_tpl(backend: Any, tenant: Tenant, name: str = TEMPLATE_NAME) -> str:
    """The os_tpl mixin id of the VM template with this name, as the tenant is offered it."""
    for mixin in await backend.provider_mixins(tenant):
        if mixin.scheme == OS_TPL_SCHEME and mixin.title == name:
            return mixin.id
    raise AssertionError(f"no os_tpl titled {name!r} offered")


def compute(template: str, size: str = "small", **attributes: Any) -> Resource:
    """A compute to create, as the service hands it to the backend."""
    return Resource(
        kind=COMPUTE,
        mixins=[template, RESOURCE_TPL_SCHEME + size],
        attributes=dict(attributes),
    )


async def listed(backend: Any, tenant: Tenant, query: Query) -> list[Entity]:
    """Every entity a listing yields."""
    return [entity async for entity in backend.list_entities(tenant, query)]


async def wait_state(backend: Any, tenant: Tenant, compute_id: str, state: str) -> Entity:
    """The compute once oned has brought it to this OCCI state (it works asynchronously)."""
    with anyio.fail_after(120):
        while True:
            entity = await backend.get_entity(tenant, COMPUTE, compute_id)
            if entity.attributes["occi.compute.state"] == state:
                return entity
            await anyio.sleep(0.2)


async def delete(backend: Any, tenant: Tenant, entity: Entity) -> None:
    """Delete, again after the Retry-After while oned is still moving the VM (409 busy)."""
    with anyio.fail_after(120):
        while True:
            try:
                await backend.delete_entity(tenant, entity)
                return
            except BusyError as busy:
                await anyio.sleep(min(busy.retry_after, 1))


async def gone(backend: Any, tenant: Tenant, entity: Entity) -> None:
    """Once oned has terminated it (it does so in the background): what the service waits
    for after a delete."""
    with anyio.fail_after(60):
        while True:
            try:
                await backend.get_entity(tenant, entity.kind or "", entity.id or "")
            except EntityNotFoundError:
                return
            await anyio.sleep(0.2)

"""Storage links on real Nova: volumes attached at run time and at boot, read, detached."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from openstack_helpers import compute, compute_calls, wait_state
from storage_helpers import (
    Cloud,
    cinder_volume,
    listed,
    online,
    reset_status,
    storage,
    storage_cloud,
    storagelink,
)

from cinderserver import CinderServer
from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import (
    BusyError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.backends.openstack import OpenStackBackend
from pyocci.backends.openstack.attachments import link_id
from pyocci.model import Entity
from pyocci.model.infrastructure import (
    BACKUP,
    COMPUTE,
    ONLINE,
    RESIZE,
    SNAPSHOT,
    STORAGE,
    STORAGELINK,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def cloud(
    make_backend: Callable[..., Awaitable[OpenStackBackend]], cinder: CinderServer
) -> Cloud:
    """The storage collections on the session's Nova (with Nova's fake Cinder)."""
    return storage_cloud(await make_backend(volume_endpoint=cinder.volume_url), cinder)


async def running_compute(cloud: Cloud, tenant: Tenant, **links: Any) -> Entity:
    created = await cloud.computes.create(tenant, compute(**links))
    return await wait_state(cloud.backend, tenant, created.id or "", "active")


async def attached(cloud: Cloud, tenant: Tenant, compute_id: str, count: int) -> Entity:
    """The compute once Nova lists `count` attached volumes."""
    entity: Entity | None = None
    with anyio.move_on_after(60):
        while True:
            entity = await cloud.computes.get(tenant, COMPUTE.id, compute_id)
            if len([link for link in entity.links if link.kind == STORAGELINK.id]) == count:
                return entity
            await anyio.sleep(0.2)
    pytest.fail(f"compute {compute_id} never had {count} volumes; last seen {entity!r}")


async def test_a_storage_link_attaches_the_volume_at_run_time(
    cloud: Cloud, tenant: Tenant, sdk: Any
) -> None:
    server = await running_compute(cloud, tenant)
    volume = await online(cloud, tenant)
    link = await cloud.links.create(
        tenant,
        storagelink(
            server.location or "",
            volume.location or "",
            **{"occi.storagelink.deviceid": "/dev/vdb", "occi.storagelink.mountpoint": "/data"},
        ),
    )
    assert link.id == link_id(server.id or "", volume.id or "")
    assert link.location == f"/storagelink/{link.id}"
    assert link.attributes["occi.core.source"] == server.location
    assert link.attributes["occi.core.target"] == volume.location
    assert link.attributes["occi.storagelink.state"] == "active"
    # The device asked for is a hint to Nova: the link says the one Nova chose.
    device = link.attributes["occi.storagelink.deviceid"]
    assert device.startswith("/dev/")
    # Nova knows the attachment.
    assert [a.volume_id for a in sdk.compute.volume_attachments(server.id)] == [volume.id]
    # The compute carries it, read from the server record itself.
    with_link = await attached(cloud, tenant, server.id or "", 1)
    (found,) = with_link.links
    assert found.id == link.id
    assert found.attributes["occi.storagelink.mountpoint"] == "/data"
    read = await cloud.links.get(tenant, STORAGELINK.id, link.id or "")
    assert read.attributes["occi.storagelink.deviceid"] == device
    assert read.attributes["occi.storagelink.mountpoint"] == "/data"
    moved = dataclasses.replace(
        read, attributes={**read.attributes, "occi.storagelink.mountpoint": "/srv"}
    )
    read = await cloud.links.update(tenant, read, moved)
    assert read.attributes["occi.storagelink.mountpoint"] == "/srv"
    listing = await listed(cloud.links, tenant, Query(kinds=(STORAGELINK.id,)))
    assert [entity.id for entity in listing] == [link.id]
    await cloud.links.delete(tenant, read)
    await attached(cloud, tenant, server.id or "", 0)
    # The mount point kept for the link goes with it.
    assert sdk.compute.get_server(server.id).metadata == {}
    with pytest.raises(EntityNotFoundError):
        await cloud.links.get(tenant, STORAGELINK.id, link.id or "")
    await cloud.computes.delete(tenant, server)


async def test_the_links_of_a_compute_cost_no_call(cloud: Cloud, tenant: Tenant) -> None:
    server = await running_compute(cloud, tenant)
    volume = await online(cloud, tenant)
    await cloud.links.create(tenant, storagelink(server.location or "", volume.location or ""))
    await attached(cloud, tenant, server.id or "", 1)
    with compute_calls(cloud.backend) as calls:
        entity = await cloud.computes.get(tenant, COMPUTE.id, server.id or "")
    assert [link.kind for link in entity.links] == [STORAGELINK.id]
    # The server itself, and nothing per link (the templates are cached).
    assert len(calls) == 1, calls
    with compute_calls(cloud.backend) as calls:
        page = await listed(cloud.computes, tenant, Query(kinds=(COMPUTE.id,)))
    assert [len(e.links) for e in page] == [1]
    assert len(calls) == 1, calls


async def test_another_tenants_volume_cannot_be_attached(
    cloud: Cloud, tenant: Tenant, other: Tenant
) -> None:
    server = await running_compute(cloud, tenant)
    theirs = await online(cloud, other)
    with pytest.raises(EntityNotFoundError, match="no storage"):
        await cloud.links.create(tenant, storagelink(server.location or "", theirs.location or ""))
    assert await listed(cloud.links, other, Query(kinds=(STORAGELINK.id,))) == []


async def test_a_link_must_name_a_compute_and_a_storage(cloud: Cloud, tenant: Tenant) -> None:
    volume = await online(cloud, tenant)
    with pytest.raises(InvalidRequestError, match="not a compute"):
        await cloud.links.create(tenant, storagelink("/network/abc", volume.location or ""))
    with pytest.raises(InvalidRequestError, match="not a storage"):
        await cloud.links.create(tenant, storagelink("/compute/abc", "/storage/"))


async def test_an_unknown_link_is_not_found(cloud: Cloud, tenant: Tenant) -> None:
    with pytest.raises(EntityNotFoundError):
        await cloud.links.get(tenant, STORAGELINK.id, "not-a-pair")
    with pytest.raises(EntityNotFoundError):
        await cloud.links.get(tenant, STORAGELINK.id, link_id(str(uuid.uuid4()), "x"))


async def test_an_attachment_cannot_change_in_place(cloud: Cloud, tenant: Tenant) -> None:
    current = storagelink("/compute/a", "/storage/b", **{"occi.storagelink.deviceid": "/dev/vdb"})
    desired = dataclasses.replace(
        current, attributes={**current.attributes, "occi.storagelink.deviceid": "/dev/vdc"}
    )
    with pytest.raises(NotSupportedError, match=r"occi\.storagelink\.deviceid"):
        await cloud.links.update(tenant, current, desired)


async def test_a_compute_is_created_with_its_volumes(
    cloud: Cloud, tenant: Tenant, sdk: Any
) -> None:
    volume = await online(cloud, tenant)
    entity = compute()
    entity.links = [
        storagelink("", volume.location or "", **{"occi.storagelink.mountpoint": "/data"})
    ]
    created = await cloud.computes.create(tenant, entity)
    await wait_state(cloud.backend, tenant, created.id or "", "active")
    with_link = await attached(cloud, tenant, created.id or "", 1)
    assert with_link.links[0].id == link_id(created.id or "", volume.id or "")
    assert with_link.links[0].attributes["occi.storagelink.mountpoint"] == "/data"
    mappings = sdk.compute.volume_attachments(created.id)
    assert [a.volume_id for a in mappings] == [volume.id]
    await cloud.computes.delete(tenant, with_link)


async def test_a_compute_cannot_boot_with_another_tenants_volume(
    cloud: Cloud, tenant: Tenant, other: Tenant
) -> None:
    theirs = await online(cloud, other)
    entity = compute()
    entity.links = [storagelink("", theirs.location or "")]
    with pytest.raises(EntityNotFoundError, match="no storage"):
        await cloud.computes.create(tenant, entity)


# --- Nova attaching real Cinder volumes ---------------------------------------------------------


@pytest.fixture
async def wired(
    make_backend: Callable[..., Awaitable[OpenStackBackend]],
    nova_with_cinder: Any,
    cinder: CinderServer,
) -> Cloud:
    """The collections on a Nova that attaches the Cinder fixture's volumes."""
    backend = await make_backend(
        compute_endpoint=nova_with_cinder.compute_url,
        image_endpoint=nova_with_cinder.image_url,
        volume_endpoint=cinder.volume_url,
    )
    return storage_cloud(backend, cinder)


async def test_attaching_shows_on_both_sides(wired: Cloud, tenant: Tenant) -> None:
    server = await running_compute(wired, tenant)
    volume = await online(wired, tenant)
    link = await wired.links.create(
        tenant, storagelink(server.location or "", volume.location or "")
    )
    seen = await anyio.to_thread.run_sync(cinder_volume, wired, volume.id or "", "in-use")
    assert [a["server_id"] for a in seen.attachments] == [server.id]
    assert [a["device"] for a in seen.attachments] == [link.attributes["occi.storagelink.deviceid"]]
    in_use = await wired.volumes.get(tenant, STORAGE.id, volume.id or "")
    assert in_use.attributes["occi.storage.state"] == "online"
    assert in_use.attributes["occi.storage.state.message"] == "Cinder status in-use"
    with pytest.raises(ConflictError, match="detach it first"):
        await wired.volumes.delete(tenant, in_use)
    await wired.links.delete(tenant, link)
    await anyio.to_thread.run_sync(cinder_volume, wired, volume.id or "", "available")
    await attached(wired, tenant, server.id or "", 0)
    await wired.computes.delete(tenant, server)


async def test_booting_with_a_volume_attaches_it_in_cinder(wired: Cloud, tenant: Tenant) -> None:
    volume = await online(wired, tenant)
    entity = compute()
    entity.links = [storagelink("", volume.location or "")]
    created = await wired.computes.create(tenant, entity)
    await wait_state(wired.backend, tenant, created.id or "", "active")
    seen = await anyio.to_thread.run_sync(cinder_volume, wired, volume.id or "", "in-use")
    assert [a["server_id"] for a in seen.attachments] == [created.id]
    with_link = await attached(wired, tenant, created.id or "", 1)
    assert with_link.links[0].id == link_id(created.id or "", volume.id or "")
    await wired.computes.delete(tenant, with_link)
    # The volume outlives the server (it was not made with it).
    await anyio.to_thread.run_sync(cinder_volume, wired, volume.id or "", "available")


async def attached_link(cloud: Cloud, tenant: Tenant) -> tuple[Entity, Entity, Entity]:
    """A running compute, a volume, and the link attaching it, once Cinder has it in use."""
    server = await running_compute(cloud, tenant)
    volume = await online(cloud, tenant)
    link = await cloud.links.create(
        tenant, storagelink(server.location or "", volume.location or "")
    )
    await anyio.to_thread.run_sync(cinder_volume, cloud, volume.id or "", "in-use")
    return server, volume, link


async def test_a_detach_reads_inactive_until_the_link_is_gone(wired: Cloud, tenant: Tenant) -> None:
    server, volume, link = await attached_link(wired, tenant)
    read = await wired.links.get(tenant, STORAGELINK.id, link.id or "")
    assert read.attributes["occi.storagelink.state"] == "active"
    # While Nova detaches, Cinder says "detaching": the link is no longer active.
    reset_status(wired, volume.id or "", "detaching")
    detaching = await wired.links.get(tenant, STORAGELINK.id, link.id or "")
    assert detaching.attributes["occi.storagelink.state"] == "inactive"
    assert detaching.attributes["occi.storagelink.state.message"] == (
        "Nova is detaching the volume (Cinder status detaching)"
    )
    # Deleting it then asks Nova for nothing more (Nova would refuse a second detach).
    await wired.links.delete(tenant, detaching)
    reset_status(wired, volume.id or "", "in-use")

    # A real detach, and the reads that follow it until the link is gone.
    await wired.links.delete(tenant, read)
    with anyio.fail_after(60):
        while True:
            try:
                now = await wired.links.get(tenant, STORAGELINK.id, link.id or "")
            except EntityNotFoundError:
                break
            # Never shown active again once Nova took the detach on.
            assert now.attributes["occi.storagelink.state"] == "inactive", now.attributes
            await anyio.sleep(0.05)
    await anyio.to_thread.run_sync(cinder_volume, wired, volume.id or "", "available")
    with pytest.raises(EntityNotFoundError):
        await wired.backend.get_entity(tenant, STORAGELINK.id, link.id or "")
    await wired.computes.delete(tenant, server)


@pytest.mark.parametrize("status", ["reserved", "attaching"])
async def test_a_link_nova_is_still_attaching_cannot_be_deleted_yet(
    wired: Cloud, tenant: Tenant, status: str
) -> None:
    server, volume, link = await attached_link(wired, tenant)
    reset_status(wired, volume.id or "", status)
    read = await wired.links.get(tenant, STORAGELINK.id, link.id or "")
    assert read.attributes["occi.storagelink.state"] == "inactive"
    assert read.attributes["occi.storagelink.state.message"] == (
        f"Nova is still attaching the volume (Cinder status {status})"
    )
    with pytest.raises(BusyError, match=f"status {status}") as refused:
        await wired.links.delete(tenant, read)
    assert refused.value.retry_after == wired.backend.settings.retry_after
    # Nothing was asked of Nova: the volume is still attached.
    assert [
        a.volume_id for a in wired.links.api.connection.compute.volume_attachments(server.id)
    ] == [volume.id]
    # Once the attachment is done, the same delete detaches the volume.
    reset_status(wired, volume.id or "", "in-use")
    await wired.links.delete(tenant, read)
    await anyio.to_thread.run_sync(cinder_volume, wired, volume.id or "", "available")
    await attached(wired, tenant, server.id or "", 0)
    await wired.computes.delete(tenant, server)


# --- through the backend ---------------------------------------------------------------------


async def test_the_backend_serves_storage_and_its_links(
    make_backend: Callable[..., Awaitable[OpenStackBackend]],
    cinder: CinderServer,
    tenant: Tenant,
) -> None:
    backend = await make_backend(volume_endpoint=cinder.volume_url)
    assert {STORAGE.id, STORAGELINK.id} <= backend.capabilities.kinds
    assert {RESIZE.id, SNAPSHOT.id, BACKUP.id} <= backend.capabilities.actions
    assert ONLINE.id not in backend.capabilities.actions
    volume = await backend.create_entity(tenant, storage(1))
    server = await backend.create_entity(tenant, compute())
    await wait_state(backend, tenant, server.id or "", "active")
    with anyio.fail_after(60):
        while (await backend.get_entity(tenant, STORAGE.id, volume.id or "")).attributes[
            "occi.storage.state"
        ] != "online":
            await anyio.sleep(0.2)
    link = await backend.create_entity(
        tenant, storagelink(server.location or "", volume.location or "")
    )
    read = await backend.get_entity(tenant, STORAGELINK.id, link.id or "")
    assert read.attributes["occi.core.target"] == volume.location
    everything = Query(kinds=(COMPUTE.id, STORAGE.id, STORAGELINK.id))
    listed_ids = [entity.id async for entity in backend.list_entities(tenant, everything)]
    assert listed_ids == [server.id, volume.id, link.id]
    outcome = await backend.trigger_action(tenant, volume, SNAPSHOT.id, {})
    assert outcome.entity.id == volume.id
    await backend.delete_entity(tenant, read)
    with anyio.fail_after(60):
        while (await backend.get_entity(tenant, COMPUTE.id, server.id or "")).links:
            await anyio.sleep(0.2)
    await backend.delete_entity(tenant, server)

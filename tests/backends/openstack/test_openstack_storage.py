"""Storage on real Cinder: volumes read, listed, created, extended, snapshotted, backed up."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable

import anyio
import pytest
from cinder_fixtures import connect
from openstack_helpers import compute_calls
from storage_helpers import (
    Cloud,
    cinder_volume,
    listed,
    online,
    reset_status,
    settled,
    storage,
    storage_cloud,
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
from pyocci.backends.openstack.compute import tenant_tag
from pyocci.backends.openstack.storage import TENANT_KEY, is_busy, is_gone, storage_state
from pyocci.model.infrastructure import BACKUP, COMPUTE, OFFLINE, ONLINE, RESIZE, SNAPSHOT, STORAGE

pytestmark = pytest.mark.anyio


@pytest.fixture
async def cloud(
    make_backend: Callable[..., Awaitable[OpenStackBackend]], cinder: CinderServer
) -> Cloud:
    return storage_cloud(await make_backend(volume_endpoint=cinder.volume_url), cinder)


# --- mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("available", "online"),
        ("in-use", "online"),
        ("creating", "offline"),
        ("deleting", "offline"),
        ("extending", "resize"),
        ("backing-up", "backup"),
        ("error", "error"),
        ("error_extending", "error"),
        ("something-new", "error"),
    ],
)
def test_cinder_statuses_map_to_storage_states(status: str, state: str) -> None:
    assert storage_state(status) == state


# --- storage --------------------------------------------------------------------------------


async def test_a_storage_is_a_cinder_volume_tagged_with_its_tenant(
    cloud: Cloud, tenant: Tenant
) -> None:
    created = await cloud.volumes.create(
        tenant, storage(2, **{"occi.core.title": "data", "occi.core.summary": "for tests"})
    )
    assert created.location == f"/storage/{created.id}"
    assert created.attributes["occi.storage.state"] == "offline"  # creating
    ready = await settled(cloud, tenant, created.id or "", **{"occi.storage.state": "online"})
    assert ready.attributes["occi.storage.size"] == 2.0
    assert ready.attributes["occi.storage.state.message"] == "Cinder status available"
    assert (ready.title, ready.summary) == ("data", "for tests")
    volume = connect(cloud.cinder.volume_url).block_storage.get_volume(created.id)
    assert volume.metadata == {TENANT_KEY: tenant_tag(tenant)}
    assert (volume.name, volume.size) == ("data", 2)


async def test_other_tenants_do_not_see_a_storage(cloud: Cloud, tenant: Tenant, other) -> None:
    created = await cloud.volumes.create(tenant, storage())
    with pytest.raises(EntityNotFoundError, match="no storage"):
        await cloud.volumes.get(other, STORAGE.id, created.id or "")
    assert await listed(cloud.volumes, other, Query(kinds=(STORAGE.id,))) == []
    assert [e.id for e in await listed(cloud.volumes, tenant, Query(kinds=(STORAGE.id,)))] == [
        created.id
    ]


async def test_volumes_made_outside_occi_are_not_shown(cloud: Cloud, tenant: Tenant) -> None:
    outside = connect(cloud.cinder.volume_url).block_storage.create_volume(size=1, name="cli")
    with pytest.raises(EntityNotFoundError):
        await cloud.volumes.get(tenant, STORAGE.id, outside.id)
    assert outside.id not in {
        e.id for e in await listed(cloud.volumes, tenant, Query(kinds=(STORAGE.id,)))
    }


async def test_a_size_cinder_cannot_make_is_rounded_up(cloud: Cloud, tenant: Tenant) -> None:
    created = await cloud.volumes.create(tenant, storage(1.5))
    assert created.attributes["occi.storage.size"] == 2.0


async def test_an_unknown_volume_is_not_found(cloud: Cloud, tenant: Tenant) -> None:
    with pytest.raises(EntityNotFoundError):
        await cloud.volumes.get(tenant, STORAGE.id, str(uuid.uuid4()))


async def test_listing_follows_cinder_markers_one_call_per_page(
    make_backend: Callable[..., Awaitable[OpenStackBackend]],
    cinder: CinderServer,
    tenant: Tenant,
) -> None:
    cloud = storage_cloud(
        await make_backend(volume_endpoint=cinder.volume_url, page_size=2), cinder
    )
    made = [(await cloud.volumes.create(tenant, storage())).id for _ in range(5)]
    everything = Query(kinds=(STORAGE.id,))
    await listed(cloud.volumes, tenant, everything)  # the connection's version discovery
    before = cinder.requests_served()
    found = [e.id for e in await listed(cloud.volumes, tenant, everything)]
    # Cinder lists the newest first; 5 volumes in pages of 2: three calls.
    assert found == list(reversed(made))
    assert cinder.requests_served() - before == 3
    before = cinder.requests_served()
    page = await listed(cloud.volumes, tenant, Query(kinds=(STORAGE.id,), offset=1, limit=1))
    assert [e.id for e in page] == [made[3]]
    assert cinder.requests_served() - before == 1


async def test_listing_goes_on_while_cinder_says_more_follow(
    make_backend: Callable[..., Awaitable[OpenStackBackend]],
    capped_cinder: CinderServer,
    tenant: Tenant,
) -> None:
    # Cinder caps pages at 2 volumes whatever is asked: a short page is not the last.
    cloud = storage_cloud(
        await make_backend(volume_endpoint=capped_cinder.volume_url), capped_cinder
    )
    made = [(await cloud.volumes.create(tenant, storage())).id for _ in range(5)]
    everything = Query(kinds=(STORAGE.id,))
    await listed(cloud.volumes, tenant, Query(kinds=(STORAGE.id,), limit=1))
    before = capped_cinder.requests_served()
    assert [e.id for e in await listed(cloud.volumes, tenant, everything)] == made[::-1]
    assert capped_cinder.requests_served() - before == 3


async def test_listing_asks_for_what_the_page_needs(
    cloud: Cloud, tenant: Tenant, cinder: CinderServer
) -> None:
    made = [(await cloud.volumes.create(tenant, storage())).id for _ in range(4)]
    await listed(cloud.volumes, tenant, Query(kinds=(STORAGE.id,)))
    before = cinder.requests_served()
    page = await listed(cloud.volumes, tenant, Query(kinds=(STORAGE.id,), offset=2, limit=2))
    assert [e.id for e in page] == [made[1], made[0]]
    assert cinder.requests_served() - before == 1


async def test_listing_filters(cloud: Cloud, tenant: Tenant) -> None:
    await cloud.volumes.create(tenant, storage(**{"occi.core.title": "a"}))
    wanted = await cloud.volumes.create(tenant, storage(2, **{"occi.core.title": "b"}))
    with compute_calls(cloud.backend) as calls:
        query = Query(kinds=(STORAGE.id,), attributes={"occi.core.title": "b"})
        assert [e.id for e in await listed(cloud.volumes, tenant, query)] == [wanted.id]
    # The title is pushed down to Cinder as the volume name.
    assert len(calls) == 1
    assert "'name': 'b'" in calls[0]
    query = Query(kinds=(STORAGE.id,), attributes={"occi.storage.size": 2.0})
    assert [e.id for e in await listed(cloud.volumes, tenant, query)] == [wanted.id]
    query = Query(kinds=(STORAGE.id,), ids=frozenset())
    assert await listed(cloud.volumes, tenant, query) == []
    assert await listed(cloud.volumes, tenant, Query(kinds=(COMPUTE.id,))) == []


async def test_a_larger_size_extends_the_volume(cloud: Cloud, tenant: Tenant) -> None:
    current = await online(cloud, tenant)
    desired = dataclasses.replace(
        current,
        attributes={**current.attributes, "occi.storage.size": 3, "occi.core.title": "grown"},
    )
    await cloud.volumes.update(tenant, current, desired)
    grown = await settled(
        cloud,
        tenant,
        current.id or "",
        **{"occi.storage.size": 3.0, "occi.storage.state": "online"},
    )
    assert grown.title == "grown"


async def test_volumes_never_shrink(cloud: Cloud, tenant: Tenant) -> None:
    current = await online(cloud, tenant, 2)
    desired = dataclasses.replace(
        current, attributes={**current.attributes, "occi.storage.size": 1}
    )
    with pytest.raises(InvalidRequestError, match="only grow"):
        await cloud.volumes.update(tenant, current, desired)


async def test_resize_action_extends(cloud: Cloud, tenant: Tenant) -> None:
    current = await online(cloud, tenant)
    await cloud.volumes.trigger(tenant, current, RESIZE.id, {"size": 2})
    await settled(cloud, tenant, current.id or "", **{"occi.storage.size": 2.0})
    with pytest.raises(InvalidRequestError, match="size must be"):
        await cloud.volumes.trigger(tenant, current, RESIZE.id, {})


async def test_snapshot_action_takes_a_cinder_snapshot(cloud: Cloud, tenant: Tenant) -> None:
    current = await online(cloud, tenant, **{"occi.core.title": "db"})
    outcome = await cloud.volumes.trigger(tenant, current, SNAPSHOT.id, {})
    assert outcome.entity.id == current.id
    sdk = connect(cloud.cinder.volume_url)
    snapshots = [s for s in sdk.block_storage.snapshots(volume_id=current.id)]
    assert len(snapshots) == 1
    assert snapshots[0].name.startswith("db-")
    assert snapshots[0].metadata == {TENANT_KEY: tenant_tag(tenant)}


async def test_backup_action_takes_a_cinder_backup(cloud: Cloud, tenant: Tenant) -> None:
    assert BACKUP.id in cloud.volumes.capabilities.actions
    current = await online(cloud, tenant)
    await cloud.volumes.trigger(tenant, current, BACKUP.id, {})
    sdk = connect(cloud.cinder.volume_url)
    backups = [b for b in sdk.block_storage.backups() if b.volume_id == current.id]
    assert len(backups) == 1
    assert BACKUP.id in cloud.volumes.capabilities.actions


async def test_backup_is_501_without_a_backup_service(
    make_backend: Callable[..., Awaitable[OpenStackBackend]],
    cinder_without_backup: CinderServer,
    tenant: Tenant,
) -> None:
    backend = await make_backend(volume_endpoint=cinder_without_backup.volume_url)
    cloud = storage_cloud(backend, cinder_without_backup)
    current = await online(cloud, tenant)
    with pytest.raises(NotSupportedError, match="no Cinder backup service"):
        await cloud.volumes.trigger(tenant, current, BACKUP.id, {})
    # Found out: no longer offered.
    assert BACKUP.id not in cloud.volumes.capabilities.actions
    assert SNAPSHOT.id in cloud.volumes.capabilities.actions


async def test_online_and_offline_are_not_offered(cloud: Cloud, tenant: Tenant) -> None:
    assert {ONLINE.id, OFFLINE.id}.isdisjoint(cloud.volumes.capabilities.actions)
    current = await online(cloud, tenant)
    with pytest.raises(NotSupportedError, match="no online"):
        await cloud.volumes.trigger(tenant, current, ONLINE.id, {})


async def test_delete_removes_the_volume(cloud: Cloud, tenant: Tenant) -> None:
    current = await online(cloud, tenant)
    await cloud.volumes.delete(tenant, current)
    with anyio.fail_after(60):
        while True:
            try:
                await cloud.volumes.get(tenant, STORAGE.id, current.id or "")
            except EntityNotFoundError:
                break
            await anyio.sleep(0.2)


# --- reading one's writes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "gone", "busy"),
    [
        ("deleting", True, False),
        ("error_deleting", False, False),
        ("creating", False, True),
        ("extending", False, True),
        ("reserved", False, True),
        ("in-use", False, False),
        ("awaiting-transfer", False, False),
        ("available", False, False),
    ],
)
def test_which_cinder_statuses_are_gone_or_busy(status: str, gone: bool, busy: bool) -> None:
    assert (is_gone(status), is_busy(status)) == (gone, busy)


async def test_a_deleted_volume_is_gone_at_once(cloud: Cloud, tenant: Tenant) -> None:
    current = await online(cloud, tenant)
    kept = await online(cloud, tenant)
    await cloud.backend.delete_entity(tenant, current)
    # Cinder deletes asynchronously (the volume is "deleting" for a while, milliseconds
    # here; Cinder's administrator cannot hold a volume there: os-reset_status refuses
    # "deleting"). OCCI shows the delete done as soon as it is answered, whether Cinder
    # has finished or not (`test_which_cinder_statuses_are_gone_or_busy` for the status).
    with pytest.raises(EntityNotFoundError):
        await cloud.backend.get_entity(tenant, STORAGE.id, current.id or "")
    everything = Query(kinds=(STORAGE.id,))
    assert [e.id for e in await listed(cloud.volumes, tenant, everything)] == [kept.id]
    # Deleting it again finds nothing to delete.
    with pytest.raises(EntityNotFoundError):
        await cloud.backend.delete_entity(tenant, current)


async def test_a_volume_still_attached_to_deleted_servers_is_busy(
    cloud: Cloud, tenant: Tenant
) -> None:
    current = await online(cloud, tenant)
    # Cinder's record of an attachment to a server Nova no longer has: the state left
    # just after a compute's delete, until Nova has detached the volume.
    server_id = str(uuid.uuid4())
    sdk = connect(cloud.cinder.volume_url)
    sdk.block_storage.attach_volume(current.id, "/dev/vdb", instance=server_id)
    await anyio.to_thread.run_sync(cinder_volume, cloud, current.id or "", "in-use")
    with pytest.raises(BusyError) as refused:
        await cloud.volumes.delete(tenant, current)
    assert refused.value.retry_after == cloud.backend.settings.retry_after
    message = str(refused.value)
    assert f"Nova is still deleting the server {server_id}" in message
    assert "(Cinder status in-use)" in message
    reset_status(cloud, current.id or "", "available")


async def test_a_volume_cinder_failed_to_delete_stays_visible_as_error(
    cloud: Cloud, tenant: Tenant
) -> None:
    current = await online(cloud, tenant)
    reset_status(cloud, current.id or "", "error_deleting")
    failed = await cloud.volumes.get(tenant, STORAGE.id, current.id or "")
    assert failed.attributes["occi.storage.state"] == "error"
    assert failed.attributes["occi.storage.state.message"] == "Cinder status error_deleting"
    listing = await listed(cloud.volumes, tenant, Query(kinds=(STORAGE.id,)))
    assert [e.id for e in listing] == [current.id]
    # Not a state Cinder leaves by itself: no Retry-After.
    with pytest.raises(ConflictError, match="error_deleting") as refused:
        await cloud.volumes.delete(tenant, failed)
    assert not isinstance(refused.value, BusyError)


async def test_deleting_a_volume_cinder_is_creating_is_busy(
    make_backend: Callable[..., Awaitable[OpenStackBackend]],
    cinder: CinderServer,
    tenant: Tenant,
) -> None:
    cloud = storage_cloud(
        await make_backend(volume_endpoint=cinder.volume_url, retry_after=7), cinder
    )
    current = await online(cloud, tenant)
    reset_status(cloud, current.id or "", "creating")
    with pytest.raises(BusyError) as refused:
        await cloud.backend.delete_entity(tenant, current)
    assert refused.value.retry_after == 7
    message = str(refused.value)
    assert "status creating" in message
    assert "try again in 7 s" in message
    # Still there, and still creating: nothing was asked of Cinder.
    creating = await cloud.volumes.get(tenant, STORAGE.id, current.id or "")
    assert creating.attributes["occi.storage.state.message"] == "Cinder status creating"
    # Once Cinder is done, the same request succeeds.
    reset_status(cloud, current.id or "", "available")
    await cloud.backend.delete_entity(tenant, current)
    with pytest.raises(EntityNotFoundError):
        await cloud.volumes.get(tenant, STORAGE.id, current.id or "")


@pytest.mark.parametrize("status", ["extending", "backing-up", "attaching", "downloading"])
async def test_actions_on_a_busy_volume_are_busy(cloud: Cloud, tenant: Tenant, status: str) -> None:
    current = await online(cloud, tenant)
    reset_status(cloud, current.id or "", status)
    for action, parameters in ((RESIZE.id, {"size": 2}), (SNAPSHOT.id, {}), (BACKUP.id, {})):
        with pytest.raises(BusyError, match=f"status {status}"):
            await cloud.volumes.trigger(tenant, current, action, parameters)
    with pytest.raises(BusyError, match=f"status {status}"):
        await cloud.volumes.delete(tenant, current)
    sdk = connect(cloud.cinder.volume_url)
    assert list(sdk.block_storage.snapshots(volume_id=current.id)) == []
    reset_status(cloud, current.id or "", "available")


async def test_cinders_own_refusal_after_a_change_is_busy(cloud: Cloud, tenant: Tenant) -> None:
    current = await online(cloud, tenant)
    # The backend read the volume available; Cinder started creating... meanwhile (as
    # when another request changed it between the read and the delete).
    seen = connect(cloud.cinder.volume_url).block_storage.get_volume(current.id)
    reset_status(cloud, current.id or "", "creating")
    with pytest.raises(BusyError, match="status creating"):
        await cloud.volumes._unless_busy(
            tenant, seen, lambda c: c.block_storage.delete_volume(seen)
        )
    reset_status(cloud, current.id or "", "available")


async def test_a_volume_with_snapshots_is_a_conflict_in_cinders_words(
    cloud: Cloud, tenant: Tenant
) -> None:
    current = await online(cloud, tenant)
    await cloud.volumes.trigger(tenant, current, SNAPSHOT.id, {})
    with pytest.raises(ConflictError, match="snapshots") as refused:
        await cloud.volumes.delete(tenant, current)
    assert not isinstance(refused.value, BusyError)


async def test_discovery_says_sizes_are_whole_gib(cloud: Cloud) -> None:
    notes = cloud.backend.capabilities.attribute_notes[STORAGE.id]
    assert "rounded up to the next whole GiB" in notes["occi.storage.size"]

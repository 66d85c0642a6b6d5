"""Computes on real Nova: boot, read, list, act, resize, save, delete."""

from __future__ import annotations

import base64

import anyio
import pytest
from openstack_helpers import (
    COMPUTE,
    IMAGE,
    SMALL,
    TINY,
    compute,
    compute_calls,
    flavor,
    image,
    listed,
    wait_state,
)

from pyocci.backends.api import Query
from pyocci.backends.errors import (
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.backends.openstack.compute import compute_state, tenant_tag
from pyocci.model import Resource
from pyocci.model.infrastructure import COMPUTE_STATE_MACHINE

pytestmark = pytest.mark.anyio


async def test_templates_are_images_and_flavors_with_their_sizes(backend, tenant) -> None:
    mixins = {mixin.id: mixin for mixin in await backend.provider_mixins(tenant)}
    assert image(IMAGE) in mixins
    small = mixins[flavor(SMALL)]
    assert small.attributes["occi.compute.cores"].default == 1
    assert small.attributes["occi.compute.memory"].default == 2.0
    assert small.attributes["occi.compute.ephemeral_storage.size"].default == 20.0
    assert "m1.small" in (small.title or "")


async def test_a_compute_is_a_server_with_its_image_flavor_and_title(backend, tenant) -> None:
    created = await backend.create_entity(tenant, compute(**{"occi.core.title": "web"}))
    assert created.location == f"/compute/{created.id}"
    assert image(IMAGE) in created.mixins
    assert flavor(TINY) in created.mixins
    assert created.title == "web"
    running = await wait_state(backend, tenant, created.id, "active")
    assert running.attributes["occi.compute.cores"] == 1
    assert running.attributes["occi.compute.memory"] == 0.5
    await backend.delete_entity(tenant, running)


async def test_a_compute_reads_at_once_after_create_and_is_gone_at_once_after_delete(
    backend, tenant
) -> None:
    created = await backend.create_entity(tenant, compute())
    # Nova records the server before it answers: no wait for the boot.
    read = await backend.get_entity(tenant, COMPUTE, created.id)
    assert read.id == created.id
    running = await wait_state(backend, tenant, created.id, "active")
    await backend.delete_entity(tenant, running)
    # Nova deletes asynchronously (the server lingers, task "deleting" or status
    # "DELETED"); OCCI shows the delete done as soon as it is answered.
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, COMPUTE, created.id)
    assert await listed(backend, tenant, Query(kinds=(COMPUTE,))) == []
    with pytest.raises(EntityNotFoundError):
        await backend.delete_entity(tenant, read)


async def test_user_data_reaches_nova(backend, tenant, sdk) -> None:
    encoded = base64.b64encode(b"#cloud-config\n").decode()
    created = await backend.create_entity(tenant, compute(**{"occi.compute.userdata": encoded}))
    server = sdk.compute.get_server(created.id)
    assert server.user_data == encoded
    await backend.delete_entity(tenant, created)


async def test_user_data_must_be_base64(backend, tenant) -> None:
    with pytest.raises(InvalidRequestError, match="base64"):
        await backend.create_entity(tenant, compute(**{"occi.compute.userdata": "not base64!"}))


async def test_a_compute_needs_both_templates(backend, tenant) -> None:
    bare = Resource(kind=COMPUTE, mixins=[image(IMAGE)], attributes={})
    with pytest.raises(InvalidRequestError, match="resource_tpl"):
        await backend.create_entity(tenant, bare)


async def test_a_bare_compute_gets_the_sites_default_image_and_flavor(make_backend, tenant):
    backend = await make_backend(default_image=IMAGE, default_flavor=SMALL)
    created = await backend.create_entity(tenant, Resource(kind=COMPUTE, attributes={}))
    assert image(IMAGE) in created.mixins
    assert flavor(SMALL) in created.mixins
    await backend.delete_entity(tenant, created)


async def test_an_unknown_image_is_refused_with_novas_message(backend, tenant) -> None:
    with pytest.raises(InvalidRequestError, match="OpenStack"):
        await backend.create_entity(
            tenant, compute(image_id="00000000-0000-0000-0000-000000000000")
        )


async def test_only_computes_are_served(backend, tenant) -> None:
    assert backend.capabilities.kinds == frozenset({COMPUTE})
    storage = Resource(kind="http://schemas.ogf.org/occi/infrastructure#storage", attributes={})
    with pytest.raises(NotSupportedError):
        await backend.create_entity(tenant, storage)


async def test_other_tenants_servers_are_not_found(backend, tenant, other) -> None:
    created = await backend.create_entity(tenant, compute())
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(other, COMPUTE, created.id)
    assert await listed(backend, other, Query(kinds=(COMPUTE,))) == []
    await backend.delete_entity(tenant, created)


async def test_unknown_ids_are_not_found(backend, tenant) -> None:
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, COMPUTE, "00000000-0000-0000-0000-000000000000")


async def test_listing_follows_novas_paging_with_one_call_per_page(make_backend, tenant) -> None:
    backend = await make_backend(page_size=2)
    made = [await backend.create_entity(tenant, compute()) for _ in range(5)]
    # While a server boots Nova lists it from its build request, then from its cell:
    # let the boots finish so the pages are stable.
    for entity in made:
        await wait_state(backend, tenant, entity.id, "active")
    await backend.provider_mixins(tenant)  # templates read (and cached) beforehand
    with compute_calls(backend) as calls:
        everything = await listed(backend, tenant, Query(kinds=(COMPUTE,)))
    assert sorted(entity.id for entity in everything) == sorted(entity.id for entity in made)
    server_lists = [call for call in calls if "/servers/detail" in call]
    # Five servers in pages of two: three pages, each one request, markers followed.
    assert len(server_lists) == 3
    assert len(calls) == 3
    assert all("'marker'" in call for call in server_lists[1:])
    page = await listed(backend, tenant, Query(kinds=(COMPUTE,), offset=1, limit=2))
    assert [entity.id for entity in page] == [entity.id for entity in everything[1:3]]
    for entity in made:
        await backend.delete_entity(tenant, entity)


async def test_occi_pages_cost_one_nova_call_each(make_backend, tenant) -> None:
    backend = await make_backend(page_size=100)
    made = [await backend.create_entity(tenant, compute()) for _ in range(5)]
    for entity in made:
        await wait_state(backend, tenant, entity.id, "active")
    everything = await listed(backend, tenant, Query(kinds=(COMPUTE,)))
    pages = []
    for offset in (0, 2, 4):
        with compute_calls(backend) as calls:
            query = Query(kinds=(COMPUTE,), offset=offset, limit=2)
            pages.append([entity.id for entity in await listed(backend, tenant, query)])
        # The next page starts at the server the previous one ended with: one call,
        # asking Nova for no more servers than the page holds.
        assert len(calls) == 1, calls
        assert "'limit': 2" in calls[0]
        assert ("'marker'" in calls[0]) == (offset > 0)
    assert [server for page in pages for server in page] == [e.id for e in everything]


async def test_a_server_deleted_between_pages_does_not_shift_the_next(
    make_backend, tenant, sdk
) -> None:
    backend = await make_backend()
    made = [await backend.create_entity(tenant, compute()) for _ in range(3)]
    for entity in made:
        await wait_state(backend, tenant, entity.id, "active")
    everything = await listed(backend, tenant, Query(kinds=(COMPUTE,)))
    first = await listed(backend, tenant, Query(kinds=(COMPUTE,), limit=2))
    await backend.delete_entity(tenant, first[-1])
    with anyio.fail_after(120):
        while sdk.compute.find_server(first[-1].id) is not None:
            await anyio.sleep(0.2)
    # The next page goes on after the last server shown (Nova still knows the
    # deleted marker): no server is skipped, as offsets alone would skip one.
    second = await listed(backend, tenant, Query(kinds=(COMPUTE,), offset=2, limit=2))
    assert [entity.id for entity in second] == [everything[2].id]


async def test_an_unknown_marker_falls_back_to_reading_from_the_start(make_backend, tenant) -> None:
    backend = await make_backend()
    made = [await backend.create_entity(tenant, compute()) for _ in range(3)]
    for entity in made:
        await wait_state(backend, tenant, entity.id, "active")
    everything = await listed(backend, tenant, Query(kinds=(COMPUTE,)))
    # As if the remembered server had been purged from Nova's database.
    backend.computes._markers[(tenant_tag(tenant), 1)] = "00000000-0000-0000-0000-000000000000"
    page = await listed(backend, tenant, Query(kinds=(COMPUTE,), offset=1, limit=2))
    assert [entity.id for entity in page] == [entity.id for entity in everything[1:]]


def test_only_states_nova_leaves_by_itself_are_waiting() -> None:
    # The service answers actions on a "waiting" compute with 409 and Retry-After:
    # a state that needs someone to act must not read so.
    assert "waiting" in COMPUTE_STATE_MACHINE.passing
    for status in ("BUILD", "REBOOT", "RESIZE", "REVERT_RESIZE", "MIGRATING"):
        assert compute_state(status) == "waiting"
    assert compute_state("VERIFY_RESIZE") not in COMPUTE_STATE_MACHINE.passing


async def test_a_resize_left_unconfirmed_reads_active(backend, tenant, sdk) -> None:
    created = await backend.create_entity(tenant, compute())
    running = await wait_state(backend, tenant, created.id, "active")
    # Resized on Nova without the confirm the backend would make: Nova waits for one.
    server = await anyio.to_thread.run_sync(sdk.compute.get_server, created.id)
    await anyio.to_thread.run_sync(sdk.compute.resize_server, server, SMALL)
    with anyio.fail_after(60):
        while (await anyio.to_thread.run_sync(sdk.compute.get_server, created.id)).status != (
            "VERIFY_RESIZE"
        ):
            await anyio.sleep(0.2)
    read = await backend.get_entity(tenant, COMPUTE, created.id)
    assert read.attributes["occi.compute.state"] == "active"
    assert read.attributes["occi.compute.state.message"] == "Nova status VERIFY_RESIZE"
    assert flavor(SMALL) in read.mixins
    await backend.delete_entity(tenant, running)

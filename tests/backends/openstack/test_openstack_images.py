"""OS templates read from real Glance: which images become os_tpl mixins, the cache, paging,
and computes booted from and saved into Glance by a Nova that uses it.

The backend's service account here is a member of a project of its own
(``occi:<project>``), not an administrator (who sees every image), so that
Glance's own rules decide what it lists: the project's images, public ones,
and those shared with the project once it has accepted them. Flavors come
from the session's Nova.
"""

from __future__ import annotations

import math
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import pytest
from glance_fixtures import GLANCE_PAGE, connect, make_image, project_token
from openstack_helpers import COMPUTE_ACTION, TINY, compute, image, wait_state

from clocks import FakeClock
from e2e.occiclient import OCCI_JSON, read_categories
from e2e.server import RunningServer, occi_server
from glanceserver import GlanceServer
from motoserver import toml_settings
from novaserver import NovaServer
from pyocci.backends.api import Tenant
from pyocci.backends.errors import (
    BackendUnavailableError,
    BusyError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
)
from pyocci.backends.openstack import OpenStackBackend
from pyocci.backends.openstack.catalogue import OS_TPL_SCHEME, Catalogue
from pyocci.backends.openstack.compute import SAVED_BY, tenant_tag
from pyocci.model import Entity
from pyocci.model.infrastructure import COMPUTE, OS_TPL

pytestmark = pytest.mark.anyio

MakeBackend = Callable[..., Awaitable[OpenStackBackend]]


@pytest.fixture
def account() -> str:
    """The backend's token: a member of a project no other test uses."""
    return project_token("occi")


@pytest.fixture
def project(account: str) -> str:
    return account.partition(":")[2]


@pytest.fixture
def account_sdk(glance: GlanceServer, account: str) -> Any:
    """The service account's own openstacksdk connection to Glance."""
    return connect(glance.image_url, account)


@pytest.fixture
def stranger_sdk(glance: GlanceServer) -> Any:
    """A member of another project."""
    return connect(glance.image_url, project_token("dave"))


@pytest.fixture
def cleanup(glance: GlanceServer) -> Iterator[list[str]]:
    """Ids of images to delete (as Glance's administrator) when the test ends."""
    made: list[str] = []
    yield made
    admin = connect(glance.image_url)
    for image_id in made:
        admin.image.delete_image(image_id, ignore_missing=True)


@contextmanager
def upload_held_open(glance: GlanceServer, token: str, image_id: str) -> Iterator[None]:
    """An upload of the image's data that has begun and waits to finish until the block
    ends: Glance shows the image ``saving`` meanwhile."""
    release = threading.Event()

    def data() -> Iterator[bytes]:
        yield b"first half "
        release.wait(60)
        yield b"second half"

    answers: list[httpx.Response] = []
    headers = {"X-Auth-Token": token, "Content-Type": "application/octet-stream"}
    url = f"{glance.url}/v2/images/{image_id}/file"
    # The body is a generator: httpx sends it chunked, as it comes.
    upload = threading.Thread(
        target=lambda: answers.append(httpx.put(url, content=data(), headers=headers, timeout=90))
    )
    upload.start()
    try:
        deadline = time.monotonic() + 30
        while connect(glance.image_url, token).image.get_image(image_id).status != "saving":
            if time.monotonic() > deadline:
                pytest.fail("Glance never showed the image saving")
            time.sleep(0.1)
        yield
    finally:
        release.set()
        upload.join(90)
    assert answers and answers[0].status_code == 204, answers


async def os_tpl_ids(backend: OpenStackBackend, tenant: Tenant) -> set[str]:
    """The image ids the backend offers as os_tpl mixins."""
    return {
        mixin.term
        for mixin in await backend.provider_mixins(tenant)
        if mixin.scheme == OS_TPL_SCHEME
    }


async def test_visible_images_become_os_tpl_mixins(
    make_backend: MakeBackend,
    glance: GlanceServer,
    glance_sdk: Any,
    account: str,
    project: str,
    account_sdk: Any,
    stranger_sdk: Any,
    tenant: Tenant,
    cleanup: list[str],
) -> None:
    own = make_image(account_sdk, "own")
    own_private = make_image(account_sdk, "own-private", visibility="private")
    public = make_image(glance_sdk, "public", visibility="public")
    accepted = make_image(stranger_sdk, "shared-accepted", visibility="shared")
    pending = make_image(stranger_sdk, "shared-pending", visibility="shared")
    others = make_image(stranger_sdk, "others-private", visibility="private")
    community = make_image(stranger_sdk, "community", visibility="community")
    cleanup.extend(i.id for i in (own, own_private, public, accepted, pending, others, community))
    for shared in (accepted, pending):
        stranger_sdk.image.add_member(shared, member_id=project)
    account_sdk.image.update_member(project, accepted, status="accepted")

    backend = await make_backend(token=account, image_endpoint=glance.image_url)
    offered = await os_tpl_ids(backend, tenant)

    assert {own.id, own_private.id, public.id, accepted.id} <= offered
    # Glance lists neither another project's private images, nor images shared
    # but not yet accepted, nor community images (unless asked for them).
    assert not {pending.id, others.id, community.id} & offered
    mixins = {m.term: m for m in await backend.provider_mixins(tenant)}
    mixin = mixins[own.id]
    assert mixin.id == OS_TPL_SCHEME + own.id
    assert mixin.title == f"own ({own.id})"
    assert mixin.location == f"/mixin/os_tpl/{own.id}/"
    assert OS_TPL.id in mixin.depends
    assert COMPUTE.id in mixin.applies


async def test_only_images_that_boot_now_are_offered(
    make_backend: MakeBackend,
    glance: GlanceServer,
    glance_sdk: Any,
    account: str,
    account_sdk: Any,
    tenant: Tenant,
    cleanup: list[str],
) -> None:
    active = make_image(account_sdk, "active")
    queued = make_image(account_sdk, "queued", data=None)
    staged = make_image(account_sdk, "staged", data=None)
    account_sdk.image.stage_image(staged, data=b"staged data")
    deactivated = make_image(account_sdk, "deactivated")
    glance_sdk.image.deactivate_image(deactivated)
    cleanup.extend(i.id for i in (active, queued, staged, deactivated))
    statuses = {i.id: account_sdk.image.get_image(i.id).status for i in (staged, deactivated)}
    assert statuses == {staged.id: "uploading", deactivated.id: "deactivated"}

    saving = make_image(account_sdk, "saving", data=None)
    cleanup.append(saving.id)

    backend = await make_backend(token=account, image_endpoint=glance.image_url, retry_after=4)
    with upload_held_open(glance, account, saving.id):
        offered = await os_tpl_ids(backend, tenant)
        busy_saving = await backend.pending_template(tenant, image(saving.id))

    assert active.id in offered
    assert not {queued.id, saving.id, staged.id, deactivated.id} & offered
    # Those Glance is still writing are "not yet", naming Glance's status...
    assert busy_saving is not None
    assert "Glance status saving" in str(busy_saving)
    for waiting, status in ((queued, "queued"), (staged, "uploading")):
        busy = await backend.pending_template(tenant, image(waiting.id))
        assert isinstance(busy, BusyError)
        assert busy.retry_after == 4
        assert f"Glance status {status}" in str(busy)
        assert "try again in 4 s" in str(busy)
    # ...the rest are no template of this cloud's in preparation.
    assert await backend.pending_template(tenant, image(active.id)) is None
    assert await backend.pending_template(tenant, image(deactivated.id)) is None
    assert await backend.pending_template(tenant, image(str(uuid.uuid4()))) is None
    assert await backend.pending_template(tenant, OS_TPL.id) is None


async def test_deleted_images_disappear_after_the_ttl(
    make_backend: MakeBackend,
    glance: GlanceServer,
    account: str,
    account_sdk: Any,
    cleanup: list[str],
) -> None:
    image = make_image(account_sdk, "short-lived")
    cleanup.append(image.id)
    backend = await make_backend(token=account, image_endpoint=glance.image_url)
    clock = FakeClock()
    catalogue = Catalogue(backend.api, ttl=60, clock=clock)
    assert OS_TPL_SCHEME + image.id in (await catalogue.offer()).images

    account_sdk.image.delete_image(image)
    clock.now += 59
    before = glance.requests_served()
    # Still cached: the deleted image is offered, and Glance is not asked.
    assert OS_TPL_SCHEME + image.id in (await catalogue.offer()).images
    assert glance.requests_served() == before
    clock.now += 1
    assert OS_TPL_SCHEME + image.id not in (await catalogue.offer()).images
    assert glance.requests_served() == before + 1


async def test_more_images_than_a_glance_page(
    make_backend: MakeBackend, paged_glance: GlanceServer
) -> None:
    account = project_token("occi")
    sdk = connect(paged_glance.image_url, account)
    count = 2 * GLANCE_PAGE + 1
    made = {make_image(sdk, f"image-{n}").id for n in range(count)}
    # Images not offered (their data staged for an import): Glance leaves them out
    # of its pages when asked, so they cost no call.
    staged = [make_image(sdk, f"staged-{n}", data=None) for n in range(GLANCE_PAGE)]
    for waiting in staged:
        sdk.image.stage_image(waiting, data=b"staged data")
    try:
        backend = await make_backend(token=account, image_endpoint=paged_glance.image_url)
        clock = FakeClock()
        catalogue = Catalogue(backend.api, ttl=60, clock=clock)
        await catalogue.offer()  # the first read also discovers Glance's API version
        clock.now += 60
        before = paged_glance.requests_served()
        offered = {mixin.term for mixin in (await catalogue.offer()).images.values()}
        calls = paged_glance.requests_served() - before
    finally:
        for image_id in [*made, *(waiting.id for waiting in staged)]:
            sdk.image.delete_image(image_id)
    assert offered == made
    # One Glance call per page of offered images, following Glance's next links.
    assert calls == math.ceil(count / GLANCE_PAGE) == 3


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_glance_out_of_reach_is_503(make_backend: MakeBackend, tenant: Tenant) -> None:
    backend = await make_backend(image_endpoint=f"http://127.0.0.1:{_closed_port()}", retry_after=9)
    with pytest.raises(BackendUnavailableError) as raised:
        await backend.provider_mixins(tenant)
    assert raised.value.retry_after == 9
    assert "OpenStack is not answering" in str(raised.value)


@pytest.fixture
def served(
    nova: NovaServer, glance: GlanceServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, Any]]:
    """occi-server in front of Nova and the real Glance, and an image its account owns.

    The image is made first: occi-server reads the templates on its first
    request (its readiness check) and keeps them for `template_ttl`."""
    account = project_token("occi")
    sdk = connect(glance.image_url, account)
    image = make_image(sdk, "served")
    settings = {
        "token": account,
        "compute_endpoint": nova.compute_url,
        "image_endpoint": glance.image_url,
    }
    config = 'backend = "openstack"\n' + toml_settings(settings)
    try:
        with occi_server(tmp_path_factory.mktemp("occi-glance"), config=config) as running:
            yield running, image
    finally:
        sdk.image.delete_image(image)


def test_discovery_over_http_shows_glance_images(served: tuple[RunningServer, Any]) -> None:
    running, image = served
    with running.client() as http:
        categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
    mixin = categories[OS_TPL_SCHEME + image.id]
    assert mixin["title"] == f"served ({image.id})"
    assert mixin["location"].endswith(f"/mixin/os_tpl/{image.id}/")
    assert OS_TPL.id in mixin["depends"]
    assert COMPUTE.id in mixin["applies"]


@pytest.fixture
async def glance_backed(
    make_backend: MakeBackend, nova_with_glance: NovaServer, glance: GlanceServer, account: str
) -> OpenStackBackend:
    """A backend on the Nova that uses the real Glance, with the member account."""
    return await make_backend(
        token=account,
        compute_endpoint=nova_with_glance.compute_url,
        image_endpoint=glance.image_url,
    )


async def offered_within(backend: OpenStackBackend, tenant: Tenant, image_id: str) -> None:
    """Once the backend offers the image (failing after 30 s)."""
    with anyio.fail_after(30):
        while image_id not in await os_tpl_ids(backend, tenant):
            await anyio.sleep(0.1)


async def test_computes_boot_from_glance_images_and_save_into_glance(
    glance_backed: OpenStackBackend,
    account: str,
    project: str,
    account_sdk: Any,
    tenant: Tenant,
    other: Tenant,
    cleanup: list[str],
) -> None:
    bootable = make_image(account_sdk, "bootable")
    cleanup.append(bootable.id)
    created = await glance_backed.create_entity(tenant, compute(bootable.id, TINY))
    made: list[Entity] = [created]
    try:
        booted = await wait_state(glance_backed, tenant, created.id or "", "active")
        assert image(bootable.id) in booted.mixins

        outcome = await glance_backed.trigger_action(
            tenant, booted, COMPUTE_ACTION + "save", {"name": f"saved-{project}"}
        )
        # The new template is answered at once...
        assert outcome.created is not None
        saved_id = outcome.created.term
        assert outcome.created.id == image(saved_id)
        cleanup.append(saved_id)
        # ...Nova made the image in Glance, in the caller's project...
        saved = account_sdk.image.get_image(saved_id)
        assert (saved.name, saved.owner) == (f"saved-{project}", project)
        # ...and it is offered once Nova has uploaded the disk and Glance made the image
        # active (the templates are kept for 600 s here: this is not their refresh).
        await offered_within(glance_backed, tenant, saved_id)
        assert account_sdk.image.get_image(saved_id).status == "active"
        assert await glance_backed.pending_template(tenant, image(saved_id)) is None
        again = await glance_backed.create_entity(tenant, compute(saved_id, TINY))
        made.append(again)
        assert image(saved_id) in again.mixins

        # The save marked the image as the tenant's: that tenant may delete it, another
        # may not, and the image the compute was booted from is the site's.
        assert saved.properties[SAVED_BY] == tenant_tag(tenant)
        assert not await glance_backed.delete_template(other, image(saved_id))
        assert not await glance_backed.delete_template(tenant, image(bootable.id))
        assert account_sdk.image.get_image(bootable.id).status == "active"
        assert await glance_backed.delete_template(tenant, image(saved_id))
        assert account_sdk.image.find_image(saved_id) is None
        assert saved_id not in await os_tpl_ids(glance_backed, tenant)
        # The compute started from it runs on (Nova keeps its own copy of the disk).
        assert (await glance_backed.get_entity(tenant, COMPUTE.id, again.id or "")).id
    finally:
        for entity in made:
            await glance_backed.delete_entity(tenant, entity)


async def test_a_saved_image_being_written_or_protected_is_not_deleted(
    glance_backed: OpenStackBackend,
    account_sdk: Any,
    glance_sdk: Any,
    tenant: Tenant,
    cleanup: list[str],
) -> None:
    # Images as a save makes them (the tenant's mark), without booting a server.
    mark = {SAVED_BY: tenant_tag(tenant)}
    queued = make_image(account_sdk, "saving", data=None, **mark)
    protected = make_image(account_sdk, "protected", is_protected=True, **mark)
    cleanup.extend([queued.id, protected.id])
    with pytest.raises(ConflictError, match=r"still being written .*delete it once it is active"):
        await glance_backed.delete_template(tenant, image(queued.id))
    with pytest.raises(ConflictError, match="is protected in Glance"):
        await glance_backed.delete_template(tenant, image(protected.id))
    assert account_sdk.image.get_image(protected.id).status == "active"
    glance_sdk.image.update_image(protected.id, is_protected=False)
    # Not this cloud's images at all: nothing to delete.
    assert not await glance_backed.delete_template(tenant, image("not-a-uuid"))
    assert not await glance_backed.delete_template(tenant, "http://example.org/os#x")
    with pytest.raises(EntityNotFoundError):
        await glance_backed.delete_template(tenant, image(str(uuid.uuid4())))


async def test_booting_from_an_image_without_data_is_busy(
    glance_backed: OpenStackBackend,
    account_sdk: Any,
    glance_sdk: Any,
    tenant: Tenant,
    cleanup: list[str],
) -> None:
    queued = make_image(account_sdk, "no-data", data=None)
    deactivated = make_image(account_sdk, "deactivated")
    glance_sdk.image.deactivate_image(deactivated)
    cleanup.extend([queued.id, deactivated.id])
    with pytest.raises(BusyError, match="Glance status queued") as refused:
        await glance_backed.create_entity(tenant, compute(queued.id, TINY))
    assert refused.value.retry_after == glance_backed.settings.retry_after
    # An image that will not boot without someone acting: Nova's own reason.
    with pytest.raises(InvalidRequestError) as refused_for_good:
        await glance_backed.create_entity(tenant, compute(deactivated.id, TINY))
    assert "is not active" in str(refused_for_good.value)


async def test_an_image_glance_is_still_writing_is_followed_until_active(
    make_backend: MakeBackend,
    glance: GlanceServer,
    account: str,
    account_sdk: Any,
    tenant: Tenant,
    cleanup: list[str],
) -> None:
    # Made in Glance without data, as a save's image is until the hypervisor uploads it.
    waiting = [make_image(account_sdk, f"no-data-{n}", data=None) for n in range(3)]
    cleanup.extend(each.id for each in waiting)
    backend = await make_backend(token=account, image_endpoint=glance.image_url)
    clock = FakeClock()
    catalogue = Catalogue(backend.api, ttl=600, clock=clock)
    offer = await catalogue.offer()
    for each in waiting:
        assert OS_TPL_SCHEME + each.id not in offer.images
        busy = await catalogue.not_ready(each.id, 3)
        assert isinstance(busy, BusyError) and "Glance status queued" in str(busy)
    # Only Glance image ids are asked about.
    before = glance.requests_served()
    assert await catalogue.not_ready("not-a-uuid", 3) is None
    assert glance.requests_served() == before

    # One Glance listing looks at every followed image, at most once a second.
    await catalogue.offer()
    assert glance.requests_served() == before + 1
    clock.now += 0.5
    await catalogue.offer()
    assert glance.requests_served() == before + 1

    first = waiting[0].id
    account_sdk.image.update_image(first, disk_format="raw", container_format="bare")
    account_sdk.image.get_image(first).upload(account_sdk.image, data=b"disk")
    assert account_sdk.image.get_image(first).status == "active"
    clock.now += 0.5
    before = glance.requests_served()
    offer = await catalogue.offer()
    assert glance.requests_served() == before + 1
    # Offered without waiting for the refresh; the others are still followed.
    assert OS_TPL_SCHEME + first in offer.images
    assert not {OS_TPL_SCHEME + each.id for each in waiting[1:]} & set(offer.images)
    assert await catalogue.not_ready(first, 3) is None

    # One deleted while followed is dropped: the next look asks about the last one only.
    account_sdk.image.delete_image(waiting[1].id)
    clock.now += 1
    await catalogue.offer()
    clock.now += 1
    await catalogue.offer()
    assert OS_TPL_SCHEME + waiting[1].id not in offer.images
    followed = catalogue.pending.get(None)
    assert followed is not None and waiting[2].id in followed and waiting[1].id not in followed

    # Made active just after a look: a create asking about it has it offered at once, not
    # after the next look (a compute naming it would be refused as naming no template).
    last = waiting[2].id
    account_sdk.image.update_image(last, disk_format="raw", container_format="bare")
    account_sdk.image.get_image(last).upload(account_sdk.image, data=b"disk")
    clock.now += 0.1
    assert await catalogue.not_ready(last, 3) is None
    before = glance.requests_served()
    offer = await catalogue.offer()
    assert glance.requests_served() == before
    assert OS_TPL_SCHEME + last in offer.images
    assert len(catalogue.pending) == 0

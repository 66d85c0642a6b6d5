"""Images' bytes read from real Glance for export: streamed in chunks, what Glance lets
the account download and nothing else, and images still without data told apart."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from glance_fixtures import connect, make_image, project_token
from openstack_helpers import image

from glanceserver import GlanceServer
from pyocci.backends.api import Tenant
from pyocci.backends.errors import BusyError, EntityNotFoundError
from pyocci.backends.openstack import OpenStackBackend

pytestmark = pytest.mark.anyio

MakeBackend = Callable[..., Awaitable[OpenStackBackend]]
MIB = 1024 * 1024
#: Not a whole number of chunks, and more than one.
DATA = bytes(range(256)) * (3 * MIB // 256) + b"tail of the image"


@pytest.fixture
def account() -> str:
    return project_token("exporter")


@pytest.fixture
def account_sdk(glance: GlanceServer, account: str) -> Any:
    return connect(glance.image_url, account)


@pytest.fixture
async def glance_backend(make_backend: MakeBackend, glance: GlanceServer, account: str):
    return await make_backend(token=account, image_endpoint=glance.image_url)


async def test_an_image_is_read_in_chunks_as_glance_holds_it(
    glance_backend: OpenStackBackend, account_sdk: Any, tenant: Tenant
) -> None:
    made = make_image(account_sdk, "exported", data=DATA)
    try:
        data = await glance_backend.read_image(tenant, image(made.id), MIB)
        assert (data.size, data.disk_format) == (len(DATA), "raw")
        chunks = [chunk async for chunk in data.chunks]
        assert b"".join(chunks) == DATA
        assert len(chunks) > 1 and max(len(chunk) for chunk in chunks) <= MIB
    finally:
        account_sdk.image.delete_image(made.id)


async def test_an_image_without_data_is_busy(
    glance_backend: OpenStackBackend, account_sdk: Any, tenant: Tenant
) -> None:
    queued = make_image(account_sdk, "queued", data=None)
    try:
        with pytest.raises(BusyError, match="Glance status queued"):
            await glance_backend.read_image(tenant, image(queued.id), MIB)
    finally:
        account_sdk.image.delete_image(queued.id)


async def test_what_the_account_cannot_see_is_not_found(
    glance_backend: OpenStackBackend, glance: GlanceServer, tenant: Tenant
) -> None:
    stranger = connect(glance.image_url, project_token("stranger"))
    private = make_image(stranger, "private", visibility="private")
    try:
        with pytest.raises(EntityNotFoundError):
            await glance_backend.read_image(tenant, image(private.id), MIB)
    finally:
        stranger.image.delete_image(private.id)
    with pytest.raises(EntityNotFoundError):
        await glance_backend.read_image(tenant, image(str(uuid.uuid4())), MIB)
    with pytest.raises(EntityNotFoundError, match="not an OS template of this cloud"):
        await glance_backend.read_image(tenant, "http://example.org/os#debian", MIB)

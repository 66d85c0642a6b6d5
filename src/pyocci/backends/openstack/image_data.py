"""Glance images for export and deletion: the image's bytes streamed from Glance as they
are read, and the deletion of an image a tenant saved.

Nothing of the image is kept: each chunk is read from Glance's HTTP answer
(in the backend's thread pool) when the export asks for the next one, so an
image of any size costs a chunk of memory. Glance decides what the account
may download (its own images, public ones, those shared with its project).

A tenant may delete an image its own ``save`` made: one carrying its tenant
tag (`SAVED_BY`, an image property the save sets). Nothing else is deleted,
whatever the account may do in Glance (where tenants share the service
account's project, that project owns every tenant's images and the site's
too); an image Glance is still writing or protects is a conflict the
message explains.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from pyocci.backends.api import ImageData, Tenant
from pyocci.backends.errors import (
    BusyError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
)
from pyocci.backends.openstack.api import OpenStackApi, acting_for
from pyocci.backends.openstack.catalogue import OS_TPL_SCHEME, PENDING_STATES
from pyocci.backends.openstack.compute import SAVED_BY, tenant_tag


def _image_id(mixin_id: str) -> str:
    image_id = mixin_id.removeprefix(OS_TPL_SCHEME)
    try:
        uuid.UUID(image_id)
    except ValueError:
        image_id = ""
    if not mixin_id.startswith(OS_TPL_SCHEME) or not image_id:
        raise EntityNotFoundError(f"{mixin_id} is not an OS template of this cloud")
    return image_id


class GlanceImages:
    """Reads images' bytes from Glance for export."""

    def __init__(self, api: OpenStackApi, retry_after: int) -> None:
        self.api = api
        self.retry_after = retry_after

    async def read(self, tenant: Tenant, mixin_id: str, chunk_bytes: int) -> ImageData:
        """The image's size, disk format and bytes (streamed); EntityNotFoundError for an
        image the account cannot see, BusyError for one Glance is still writing."""
        image_id = _image_id(mixin_id)
        acting_for(tenant)
        try:
            image = await self.api.call(lambda c: c.image.get_image(image_id))
        except InvalidRequestError:
            raise EntityNotFoundError(f"Glance has no image {image_id} for you") from None
        if image.status in PENDING_STATES:
            raise BusyError(
                f"the image {image_id} has no data to export yet (Glance status "
                f"{image.status}: {PENDING_STATES[image.status]}); try again in "
                f"{self.retry_after} s",
                retry_after=self.retry_after,
            )
        if image.status != "active":
            raise EntityNotFoundError(
                f"the image {image_id} cannot be downloaded (Glance status {image.status})"
            )
        response = await self.api.call(
            lambda c: c.image.download_image(image, stream=True, chunk_size=chunk_bytes)
        )
        return ImageData(
            size=image.size,
            disk_format=image.disk_format or "raw",
            chunks=self._chunks(response, chunk_bytes),
        )

    async def _chunks(self, response: Any, chunk_bytes: int) -> AsyncIterator[bytes]:
        pieces = response.iter_content(chunk_size=chunk_bytes)
        try:
            while (piece := await self.api.call(lambda _c: next(pieces, None))) is not None:
                yield piece
        finally:
            await self.api.call(lambda _c: response.close())

    def made_by(self, tenant: Tenant, image: Any) -> bool:
        """Whether the tenant's save made this image (it carries the tenant's tag)."""
        properties = getattr(image, "properties", None) or {}
        return properties.get(SAVED_BY) == tenant_tag(tenant)

    async def delete_saved(self, tenant: Tenant, image_id: str) -> bool:
        """Delete an image the tenant saved; False (nothing done) for any other image.
        ConflictError while Glance is still writing it or protects it."""
        acting_for(tenant)
        try:
            image = await self.api.call(lambda c: c.image.get_image(image_id))
        except InvalidRequestError:
            raise EntityNotFoundError(f"Glance has no image {image_id} for you") from None
        if not self.made_by(tenant, image):
            return False
        if image.status in PENDING_STATES:
            raise ConflictError(
                f"the image {image_id} is still being written (Glance status {image.status}: "
                f"{PENDING_STATES[image.status]}); delete it once it is active"
            )
        if image.is_protected:
            raise ConflictError(
                f"the image {image_id} is protected in Glance; its owner must unprotect it "
                "(openstack image set --unprotected) before it can be deleted"
            )
        await self.api.call(lambda c: c.image.delete_image(image_id, ignore_missing=False))
        return True

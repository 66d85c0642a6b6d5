"""Glance image data for export: the image's bytes streamed from Glance as they are read.

Nothing of the image is kept: each chunk is read from Glance's HTTP answer
(in the backend's thread pool) when the export asks for the next one, so an
image of any size costs a chunk of memory. Glance decides what the account
may download (its own images, public ones, those shared with its project).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from pyocci.backends.api import ImageData, Tenant
from pyocci.backends.errors import BusyError, EntityNotFoundError, InvalidRequestError
from pyocci.backends.openstack.api import OpenStackApi, acting_for
from pyocci.backends.openstack.catalogue import OS_TPL_SCHEME, PENDING_STATES


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

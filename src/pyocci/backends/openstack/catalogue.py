"""The OpenStack offer: images as OS templates, flavors as resource templates.

Templates are read (one paged listing each, from Glance and Nova) and kept
for `template_ttl` seconds, since discovery is asked for on nearly every
request. An image's os_tpl term is its id, a flavor's resource_tpl term is
its id too: names may repeat or change, ids do not. A flavor's vCPUs,
memory (GiB) and root disk (GB) are the template's attributes.

Only images that can boot a compute now (Glance ``active``) are offered. An
image whose data is still being written (``queued``, ``saving``: a ``save``
just made it) is not: a compute naming it is refused with `BusyError` until
it is active (`Catalogue.not_ready`). The images a save made, and those
clients asked for while pending, are followed (the kit's
`TemplateCatalogue`: one Glance listing for all of them, at most once a
second) and offered as soon as Glance has made them active, without waiting
for the next refresh.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from pyocci.backends import pending
from pyocci.backends.errors import BusyError, EntityNotFoundError, InvalidRequestError
from pyocci.backends.kit.catalogue import Offer, TemplateCatalogue
from pyocci.backends.openstack.api import OpenStackApi, current_tenant
from pyocci.model.category import Mixin
from pyocci.model.extensions import os_template, resource_template

OS_TPL_SCHEME = "http://schemas.pyocci.org/openstack/os_tpl#"
RESOURCE_TPL_SCHEME = "http://schemas.pyocci.org/openstack/resource_tpl#"
#: Glance statuses of an image whose data is still to come (a snapshot Nova is
#: uploading, an upload, an import), and what they mean: it cannot boot yet.
PENDING_STATES = {
    "queued": "Glance has no data for it yet",
    "saving": "Glance is receiving its data",
    "uploading": "its data is staged for an import",
    "importing": "Glance is importing its data",
}


@dataclass(frozen=True, slots=True)
class Flavor:
    """What a flavor gives: vCPUs, memory in GiB, root disk in GB."""

    id: str
    name: str
    cores: int
    memory: float
    disk: float


def image_mixin(image_id: str, name: str | None) -> Mixin:
    """The os_tpl mixin of an image."""
    title = f"{name} ({image_id})" if name else f"image {image_id}"
    return os_template(OS_TPL_SCHEME, image_id, title)


def flavor_mixin(flavor: Flavor) -> Mixin:
    """The resource_tpl mixin of a flavor, with its cores, memory and disk."""
    return resource_template(
        RESOURCE_TPL_SCHEME,
        flavor.id,
        cores=flavor.cores,
        memory=flavor.memory,
        ephemeral_storage=flavor.disk,
        title=f"{flavor.name}: {flavor.cores} vCPU, {flavor.memory:g} GiB, {flavor.disk:g} GB",
    )


def _flavors(connection: Any) -> list[Flavor]:
    return [
        Flavor(
            id=str(flavor.id),
            name=flavor.name,
            cores=int(flavor.vcpus or 0),
            memory=(flavor.ram or 0) / 1024,
            disk=float(flavor.disk or 0),
        )
        for flavor in connection.compute.flavors(details=True)
    ]


def _images(connection: Any) -> list[tuple[str, str | None]]:
    # Glance applies the status filter itself, so its pages hold only images that
    # boot; the check below covers image APIs that ignore the filter.
    listed = connection.image.images(status="active")
    return [(image.id, image.name) for image in listed if image.status == "active"]


class Catalogue(TemplateCatalogue[Flavor]):
    """The templates of one cloud, read at most once per `template_ttl`.

    Read with the service account, they are the same for every tenant. When
    callers' tokens are passed through and the server has no account of its
    own, each project's templates are read with its callers' tokens and kept
    apart (a project may see private images and flavors others do not).
    """

    def __init__(
        self, api: OpenStackApi, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(ttl, clock=clock)
        self._api = api

    def key(self) -> Hashable:
        """The project whose callers' tokens read the templates, when they are its own."""
        settings = self._api.settings
        if settings.passes_tokens_through and not settings.has_service_account:
            tenant = current_tenant()
            return tenant.id if tenant is not None else None
        return None

    def image_mixin(self, image_id: str, name: str | None) -> Mixin:
        """The os_tpl mixin of an image."""
        return image_mixin(image_id, name)

    async def read(self) -> Offer[Flavor]:
        """Glance's active images and Nova's flavors, one paged listing each."""
        images = await self._api.call_as_service(_images)
        flavors = await self._api.call_as_service(_flavors)
        return Offer(
            images={mixin.id: mixin for mixin in (image_mixin(*i) for i in images)},
            sizes={flavor.id: flavor for flavor in flavors},
            size_mixins={flavor.id: flavor_mixin(flavor) for flavor in flavors},
        )

    async def look(self, image_ids: list[str]) -> pending.Looked:
        """What Glance says of followed images: one listing (Glance's ``in:`` filter on
        ids), whatever their number."""

        def listing(connection: Any) -> list[Any]:
            return list(connection.image.images(id="in:" + ",".join(image_ids)))

        listed = await self._api.call_as_service(listing)
        return pending.Looked(
            ready={image.id: image.name for image in listed if image.status == "active"},
            pending=[image.id for image in listed if image.status in PENDING_STATES],
        )

    async def _image(self, image_id: str) -> Any:
        """Glance's record of an image, None if it has none this account can see."""
        try:
            return await self._api.call_as_service(lambda c: c.image.get_image(image_id))
        except (EntityNotFoundError, InvalidRequestError):
            return None

    async def not_ready(self, image_id: str, retry_after: int) -> BusyError | None:
        """Why an image cannot boot a compute yet (Glance is still writing its data), as
        the error to answer; None if it can, or is not pending (unknown, deactivated...),
        or `image_id` is no Glance image id (a UUID) at all.

        A pending image is followed from then on, so that it is offered as soon as
        Glance has made it active; an active one is offered at once."""
        if not is_image_id(image_id):
            return None
        image = await self._image(image_id)
        if image is not None and image.status == "active":
            # Ready since the offer was read (or saved through another process):
            # offered now, as the next read would.
            self.offer_ready(image_id, image.name)
        if image is None or image.status not in PENDING_STATES:
            return None
        self.follow(image_id, image.name)
        return BusyError(
            f"the image {image_id} cannot boot a compute yet (Glance status "
            f"{image.status}: {PENDING_STATES[image.status]}); try again in "
            f"{retry_after} s",
            retry_after=retry_after,
        )


def is_image_id(text: str) -> bool:
    """Whether `text` can be a Glance image id (Glance's ids are UUIDs)."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True

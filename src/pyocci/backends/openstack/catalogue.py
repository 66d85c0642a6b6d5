"""The OpenStack offer: images as OS templates, flavors as resource templates.

Templates are read (one paged listing each, from Glance and Nova) and kept
for `template_ttl` seconds, since discovery is asked for on nearly every
request. An image's os_tpl term is its id, a flavor's resource_tpl term is
its id too: names may repeat or change, ids do not. A flavor's vCPUs,
memory (GiB) and root disk (GB) are the template's attributes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyocci.backends.expiring import Expiring
from pyocci.backends.openstack.api import OpenStackApi, current_tenant
from pyocci.model.category import Mixin
from pyocci.model.extensions import os_template, resource_template

OS_TPL_SCHEME = "http://schemas.pyocci.org/openstack/os_tpl#"
RESOURCE_TPL_SCHEME = "http://schemas.pyocci.org/openstack/resource_tpl#"


@dataclass(frozen=True, slots=True)
class Flavor:
    """What a flavor gives: vCPUs, memory in GiB, root disk in GB."""

    id: str
    name: str
    cores: int
    memory: float
    disk: float


@dataclass(slots=True)
class Offer:
    """The templates as read at one time."""

    images: dict[str, Mixin] = field(default_factory=dict)
    flavors: dict[str, Flavor] = field(default_factory=dict)
    flavor_mixins: dict[str, Mixin] = field(default_factory=dict)

    def mixins(self) -> list[Mixin]:
        """Every template mixin, images first."""
        return [*self.images.values(), *self.flavor_mixins.values()]


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


#: The image states offered as templates: bootable, or soon to be.
_OFFERED_STATES = ("active", "queued", "saving")


def _images(connection: Any) -> list[tuple[str, str | None]]:
    # Glance applies the status filter itself (its "in:" operator), so its pages
    # hold only images worth offering; the check below covers image APIs that
    # ignore the filter.
    listed = connection.image.images(status="in:" + ",".join(_OFFERED_STATES))
    return [(image.id, image.name) for image in listed if image.status in _OFFERED_STATES]


class Catalogue:
    """The templates of one cloud, read at most once per `template_ttl`.

    Read with the service account, they are the same for every tenant. When
    callers' tokens are passed through and the server has no account of its
    own, each project's templates are read with its callers' tokens and kept
    apart (a project may see private images and flavors others do not).
    """

    def __init__(
        self, api: OpenStackApi, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._api = api
        self._offers: Expiring[Offer] = Expiring(ttl, clock)

    def _key(self) -> str | None:
        settings = self._api.settings
        if settings.passes_tokens_through and not settings.has_service_account:
            tenant = current_tenant()
            return tenant.id if tenant is not None else None
        return None

    async def offer(self) -> Offer:
        """The templates, read again when older than the TTL."""
        return await self._offers.get(self._read, self._key())

    async def _read(self) -> Offer:
        images = await self._api.call_as_service(_images)
        flavors = await self._api.call_as_service(_flavors)
        return Offer(
            images={mixin.id: mixin for mixin in (image_mixin(*i) for i in images)},
            flavors={flavor.id: flavor for flavor in flavors},
            flavor_mixins={flavor.id: flavor_mixin(flavor) for flavor in flavors},
        )

    def add_image(self, image_id: str, name: str | None) -> Mixin:
        """Make a just-saved image an os_tpl now, before the next refresh."""
        mixin = image_mixin(image_id, name)
        offer = self._offers.last(self._key())
        if offer is not None:
            offer.images[mixin.id] = mixin
        return mixin

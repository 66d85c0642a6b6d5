"""`OpenStackBackend`: OCCI in front of an OpenStack cloud.

The backend keeps no copy of the cloud: servers, volumes and networks are
read from Nova, Cinder and Neutron when asked for, so changes made with the
OpenStack CLI or dashboard show at once. Only the templates (images,
flavors) are cached, for `template_ttl` seconds. Each kind is served by the
collection of the service that keeps it (the kit's `KitBackend` routes by
kind and pages across them); a kind whose service this server does not use
is absent from discovery and answered 501.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyocci.backends.api import ImageData, Tenant
from pyocci.backends.deadline import DEFAULT_DEADLINE
from pyocci.backends.errors import BusyError
from pyocci.backends.kit import Collection, KitBackend
from pyocci.backends.openstack.api import OpenStackApi, acting_for
from pyocci.backends.openstack.attachments import StorageLinks
from pyocci.backends.openstack.catalogue import OS_TPL_SCHEME, Catalogue, is_image_id
from pyocci.backends.openstack.compute import Computes, ServerLinks
from pyocci.backends.openstack.image_data import GlanceImages
from pyocci.backends.openstack.interfaces import Interfaces
from pyocci.backends.openstack.network import Networks
from pyocci.backends.openstack.security import SecurityGroups
from pyocci.backends.openstack.settings import OpenStackSettings
from pyocci.backends.openstack.storage import Volumes
from pyocci.backends.openstack.zones import nova_zones
from pyocci.backends.registry import BackendSetup
from pyocci.model.category import Mixin
from pyocci.model.registry import Model


class OpenStackBackend(KitBackend):
    """Nova (and the services beside it) through openstacksdk, every call in the
    backend's thread pool."""

    name = "openstack"
    cloud = "OpenStack"

    def __init__(
        self,
        *,
        model: Model,
        settings: OpenStackSettings,
        blocking_threads: int = 16,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        super().__init__(model=model, blocking_threads=blocking_threads)
        self.settings = settings
        self.retry_after = settings.retry_after
        self.api = OpenStackApi(settings, self.run_blocking, deadline)
        self.catalogue = Catalogue(self.api, settings.template_ttl)
        self.zones = nova_zones(self.api, settings.template_ttl)
        self.computes = Computes(self.api, self.catalogue, self.location_of, zones=self.zones)
        #: Every collection served, computes first (listings follow this order).
        self.collections: list[Collection] = [self.computes]
        served = settings.served
        if "volume" in served:
            volumes = Volumes(self.api, self.location_of)
            self.collections += [
                volumes,
                StorageLinks(self.api, self.computes, volumes, self.location_of),
            ]
        if "network" in served:
            networks = Networks(self.api, self.location_of)
            self.collections += [
                networks,
                Interfaces(self.api, networks, self.location_of),
                SecurityGroups(self.api, self.location_of),
            ]
        self.computes.link_sources = [c for c in self.collections if isinstance(c, ServerLinks)]
        self.images = GlanceImages(self.api, settings.retry_after)

    def act_for(self, tenant: Tenant) -> None:
        """The calls that follow use this tenant's connection (see `acting_for`)."""
        acting_for(tenant)

    async def open(self) -> None:
        """Nothing to do: the connection is built, and the cloud first asked, on the first
        request, so a server started while the cloud is unreachable serves once it is back."""

    async def close(self) -> None:
        """Close the connections."""
        await self.run_blocking(self.api.close)

    async def check_health(self) -> str | None:
        """Nova lists a flavor to the service account; None without one (callers' own
        tokens are the only way in, and a health probe has none)."""
        if not self.settings.has_service_account:
            return None
        await self.api.call_as_service(_first_flavor)
        return "Nova's flavors"

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The images, flavors and availability zones offered (cached for `template_ttl`)."""
        acting_for(tenant)
        return [*await self.catalogue.templates(), *await self.zones.mixins()]

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """Why an os_tpl of this cloud cannot boot a compute yet: its Glance image is still
        being written (``queued``, ``saving``...). None for anything else. An image
        found pending is followed, and offered as soon as Glance has made it active."""
        if not mixin_id.startswith(OS_TPL_SCHEME):
            return None
        acting_for(tenant)
        image_id = mixin_id.removeprefix(OS_TPL_SCHEME)
        return await self.catalogue.not_ready(image_id, self.settings.retry_after)

    @property
    def export_refusal(self) -> str | None:
        """None: Glance images are downloaded for export (see `image_data`)."""
        return None

    async def read_image(self, tenant: Tenant, mixin_id: str, chunk_bytes: int) -> ImageData:
        """An image's bytes, streamed from Glance."""
        return await self.images.read(tenant, mixin_id, chunk_bytes)

    async def delete_template(self, tenant: Tenant, mixin_id: str) -> bool:
        """Delete the Glance image of an os_tpl the tenant saved (see `image_data`); False
        for the cloud's other images, which stay."""
        image_id = mixin_id.removeprefix(OS_TPL_SCHEME)
        if not mixin_id.startswith(OS_TPL_SCHEME) or not is_image_id(image_id):
            return False
        if not await self.images.delete_saved(tenant, image_id):
            return False
        self.catalogue.remove_image(image_id)
        return True


def _first_flavor(connection: Any) -> object:
    return next(iter(connection.compute.flavors()), None)


def build(setup: BackendSetup) -> OpenStackBackend:
    """The OpenStack backend from ``[backend_settings]`` (see
    `OpenStackSettings.from_dict`): the ``openstack`` entry point."""
    settings = OpenStackSettings.from_dict(dict(setup.settings))
    if settings.passes_tokens_through and setup.auth_method != "keystone":
        raise ValueError(
            "credentials = 'caller' passes callers' Keystone tokens through, so [auth] "
            f"method must be 'keystone', not {setup.auth_method!r}"
        )
    return OpenStackBackend(model=setup.model, settings=settings, deadline=setup.cloud_deadline)

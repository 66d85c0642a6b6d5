"""`OpenNebulaBackend`: OCCI in front of OpenNebula's oned, through pyone (XML-RPC).

The backend keeps no copy of the cloud: VMs are read from oned when asked
for, so what is done with Sunstone or the CLI shows at once. Only the
templates are cached, per tenant group, for ``template_ttl`` seconds. Each
tenant is an OpenNebula group (`tenancy`), and every call for it is made
with a session of that group, so oned's own ACLs confine it.

A kit backend (`pyocci.backends.kit`): computes, storage, networks and security
groups, then their links, each a collection.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pyocci.backends.api import ActionOutcome, Capabilities, Query, Tenant
from pyocci.backends.errors import BusyError
from pyocci.backends.kit import KitBackend, union
from pyocci.backends.kit.errors import malformed_answers
from pyocci.backends.opennebula import catalogue as catalogues
from pyocci.backends.opennebula.api import OneApi
from pyocci.backends.opennebula.catalogue import OS_TPL_SCHEME, Catalogue, template_id_of
from pyocci.backends.opennebula.clusters import cluster_zones
from pyocci.backends.opennebula.compute import Computes, pushed_down
from pyocci.backends.opennebula.links import Interfaces, StorageLinks
from pyocci.backends.opennebula.network import Networks
from pyocci.backends.opennebula.saved_images import delete_saved
from pyocci.backends.opennebula.security import (
    SecurityGroupLinks,
    SecurityGroups,
    VisibleGroups,
)
from pyocci.backends.opennebula.settings import OpenNebulaSettings
from pyocci.backends.opennebula.storage import Storages
from pyocci.backends.opennebula.tenancy import Tenancy
from pyocci.backends.registry import BackendSetup
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity
from pyocci.model.registry import Model

#: The server's [auth] methods whose tenants carry OpenNebula credentials (`Tenant.token`):
#: ``cloud``, which asks this backend (`OpenNebulaBackend.check_caller`).
CALLER_AUTH_METHODS: frozenset[str] = frozenset({"cloud"})


class OpenNebulaBackend(KitBackend):
    """oned through pyone, every call in the backend's thread pool."""

    name = "opennebula"
    cloud = "OpenNebula"

    @property
    def export_refusal(self) -> str | None:
        """Why images cannot be exported from this cloud (the 501's message)."""
        return (
            "the opennebula backend cannot export images: OpenNebula's dummy datastore "
            "driver (the one the project tests against) keeps no image bytes to download"
        )

    def __init__(
        self,
        *,
        model: Model,
        settings: OpenNebulaSettings,
        blocking_threads: int = 16,
    ) -> None:
        super().__init__(model=model, blocking_threads=blocking_threads)
        self.settings = settings
        self.retry_after = settings.retry_after
        self.api = OneApi(settings, self.run_blocking)
        self.tenancy = Tenancy(self.api)
        self.catalogue = Catalogue(self.api, settings)
        self.zones = cluster_zones(self.api, self.tenancy, settings.template_ttl)
        self.computes = Computes(
            self.api, self.tenancy, self.catalogue, self.location_of, zones=self.zones
        )
        storages = Storages(self.api, self.tenancy, self.location_of)
        self.networks = networks = Networks(self.api, self.tenancy, self.location_of)
        visible = VisibleGroups(self.api, settings.template_ttl)
        groups = SecurityGroups(self.api, self.tenancy, self.location_of, visible)
        links = (
            StorageLinks(self.computes, storages),
            Interfaces(self.computes, networks),
            SecurityGroupLinks(self.computes, groups),
        )
        self.computes.link_sources = links
        #: Resources before links, as every backend lists them.
        self.collections = (self.computes, storages, networks, groups, *links)

    @functools.cached_property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        """What the collections can do together, worked out once: here it never changes
        (no collection learns later that oned lacks something), and the service asks for
        it on every request."""
        return union(self.collections)

    @property
    def checks_callers(self) -> bool:  # type: ignore[override]
        """Whether callers' own OpenNebula credentials are the sessions (``credentials =
        "caller"``)."""
        return self.settings.credentials == "caller"

    async def check_caller(self, user_name: str, secret: str) -> Tenant | None:
        """The tenant of an OpenNebula user (its primary group), if oned takes the user
        name with this password or login token; the tenant carries the session."""
        with self.translating("checking the credentials"):
            return await self.tenancy.caller(user_name, secret)

    async def check_health(self) -> str | None:
        """oned answers ``system.version`` to the service account; None without one
        (callers' own accounts are the only way in, and a health probe has none)."""
        if not self.settings.username:
            return None
        with self.translating("checking its health"):
            await self.api.call(self.tenancy.service_session, "system.version")
        return "oned's system.version"

    @contextmanager
    def translating(self, doing: str) -> Iterator[None]:
        """An answer of oned's lacking what every such answer has is a 503 (oned's errors
        are translated where it is called, `OneApi.call`)."""
        with malformed_answers(self.cloud, doing, retry_after=self.retry_after):
            yield

    def keeping(self, query: Query) -> Callable[[Entity], bool] | None:
        """oned pages a group's VMs itself; any other filter is checked here, the
        collection then reading whole pages."""
        return None if pushed_down(query) else query.matches

    async def _acting(self, tenant: Tenant) -> None:
        acting = await self.tenancy.acting(tenant)
        catalogues.current.set(acting)
        # Known before any VM is shown: its NICs there link to /network/public (a call
        # the first time only, when the network is named by name).
        await self.networks.public_number(acting)

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The tenant's usable VM templates, the configured sizes and the clusters as
        availability zones (cached)."""
        with self.translating("reading the templates"):
            await self._acting(tenant)
            return [*await self.catalogue.templates(), *await self.zones.mixins()]

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """For the os_tpl of a VM template whose image oned is still writing, the 409
        with Retry-After; else None."""
        if not mixin_id.startswith(OS_TPL_SCHEME):
            return None
        with self.translating(f"reading {mixin_id}"):
            await self._acting(tenant)
            return await self.computes.busy_template(mixin_id.removeprefix(OS_TPL_SCHEME))

    async def delete_template(self, tenant: Tenant, mixin_id: str) -> bool:
        """Delete the VM template of an os_tpl the tenant saved, and its images (see
        `saved_images`); False for the site's templates, which stay."""
        if not mixin_id.startswith(OS_TPL_SCHEME):
            return False
        template_id = template_id_of(mixin_id.removeprefix(OS_TPL_SCHEME))
        if template_id is None:
            return False
        with self.translating(f"deleting {mixin_id}"):
            await self._acting(tenant)
            acting = await self.tenancy.acting(tenant)
            if not await delete_saved(self.api, acting, template_id):
                return False
        catalogue = self.catalogue
        catalogue.known().images.pop(mixin_id, None)
        catalogue.forget(str(template_id))
        return True

    # Every request resolves the tenant's session (cached) before its collection runs,
    # so that the catalogue reads the tenant's own templates.

    async def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        await self._acting(tenant)
        async for entity in super().list_entities(tenant, query):
            yield entity

    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        await self._acting(tenant)
        return await super().get_entity(tenant, kind_id, entity_id)

    async def create_entity(self, tenant: Tenant, entity: Entity) -> Entity:
        await self._acting(tenant)
        return await super().create_entity(tenant, entity)

    async def update_entity(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        await self._acting(tenant)
        return await super().update_entity(tenant, current, desired)

    async def delete_entity(self, tenant: Tenant, entity: Entity) -> None:
        await self._acting(tenant)
        await super().delete_entity(tenant, entity)

    async def trigger_action(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        await self._acting(tenant)
        return await super().trigger_action(tenant, entity, action_id, parameters)


def build(setup: BackendSetup) -> OpenNebulaBackend:
    """The OpenNebula backend from ``[backend_settings]`` (see `OpenNebulaSettings`), its
    call timeout within the server's cloud deadline: the ``opennebula`` entry point."""
    settings = OpenNebulaSettings.from_dict(dict(setup.settings))
    if settings.timeout > setup.cloud_deadline:
        raise ValueError(
            f"backend_settings.timeout ({settings.timeout:g} s) is longer than [limits] "
            f"cloud_deadline ({setup.cloud_deadline:g} s): oned calls would go on after "
            "clients were answered 503; lower it, or raise cloud_deadline"
        )
    if settings.credentials == "service" and setup.auth_method in CALLER_AUTH_METHODS:
        raise ValueError(
            f"[auth] method {setup.auth_method!r} checks callers' own OpenNebula credentials, "
            'which the backend then acts with: set backend_settings.credentials = "caller"'
        )
    if settings.credentials == "caller" and setup.auth_method not in CALLER_AUTH_METHODS:
        raise ValueError(
            'backend_settings.credentials = "caller" needs an [auth] method that hands the '
            "backend each caller's OpenNebula credentials (user:password or a login token): "
            f'[auth] method = "cloud"; {setup.auth_method!r} does not (or use credentials = '
            '"service")'
        )
    return OpenNebulaBackend(model=setup.model, settings=settings)

"""`Ec2Backend`: OCCI in front of Amazon EC2 or any EC2-compatible cloud.

The backend keeps no copy of the cloud: every entity is read from EC2 when
asked for, so changes made in the console or with the AWS CLI show at
once. Only the templates (AMIs, instance types) are cached, for
`template_ttl` seconds; the VPC, subnet and groups new resources get are
kept until EC2 says they are gone (`placement`). Titles and summaries live
in EC2 tags, link metadata in tags of the source instance (`linkmeta`);
user mixins are the store's, as for any backend.

An answer of EC2's that lacks what the backend reads from it is EC2's
failure, not the server's: 503, and the traceback in the log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pyocci.backends.api import ActionOutcome, Backend, Capabilities, Query, Tenant
from pyocci.backends.deadline import DEFAULT_DEADLINE
from pyocci.backends.ec2 import compute, ids, linkmeta, network, security, storage
from pyocci.backends.ec2.api import Ec2Api
from pyocci.backends.ec2.catalogue import CAPABILITIES, OS_TPL_SCHEME, Catalogue
from pyocci.backends.ec2.context import Ec2
from pyocci.backends.ec2.placement import Placement
from pyocci.backends.ec2.reading import Reader
from pyocci.backends.ec2.settings import Ec2Settings
from pyocci.backends.ec2.tenancy import Tenancy
from pyocci.backends.errors import (
    BackendUnavailableError,
    BusyError,
    EntityNotFoundError,
    NotSupportedError,
)
from pyocci.backends.registry import BackendSetup
from pyocci.model.category import Mixin
from pyocci.model.entity import CORE_SOURCE, Entity, Link, Resource
from pyocci.model.extensions import SECURITYGROUP, SECURITYGROUPLINK
from pyocci.model.infrastructure import (
    COMPUTE,
    NETWORK,
    NETWORKINTERFACE,
    STORAGE,
    STORAGELINK,
)
from pyocci.model.registry import Model

log = logging.getLogger("pyocci.backends.ec2")


class Ec2Backend(Backend):
    """EC2 through boto3, every call in the backend's thread pool, each ending within
    `deadline` seconds (the server's cloud deadline), retries included."""

    name = "ec2"

    def __init__(
        self,
        *,
        model: Model,
        settings: Ec2Settings | None = None,
        blocking_threads: int = 16,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        super().__init__(model=model, blocking_threads=blocking_threads)
        self.settings = settings if settings is not None else Ec2Settings()
        self.retry_after = self.settings.retry_after
        api = Ec2Api(self.settings, self.run_blocking, deadline)
        catalogue = Catalogue(api, self.settings)
        placement = Placement(api, self.settings)
        tenancy = Tenancy(self.settings)
        reader = Reader(api, catalogue, tenancy, placement, self.location_of)
        self.ec2 = Ec2(api, self.settings, catalogue, placement, tenancy, reader)

    @property
    def capabilities(self) -> Capabilities:
        """Computes, volumes, subnets, security groups and their links; the compute
        actions and the storage backup, snapshot and resize."""
        return CAPABILITIES

    async def open(self) -> None:
        """Build the boto3 client; EC2 itself is first asked on the first request."""
        await self.run_blocking(self.ec2.api.open)

    # --- reading ---------------------------------------------------------------------------

    @contextmanager
    def _answers(self, what: str) -> Iterator[None]:
        """Turn an EC2 answer lacking a field the backend reads into a 503."""
        try:
            yield
        except (KeyError, IndexError) as error:
            missing = f"the field {error.args[0]!r}" if isinstance(error, KeyError) else "an item"
            log.exception("EC2's answer while %s lacks %s", what, missing)
            raise BackendUnavailableError(
                f"EC2's answer while {what} lacks {missing}, which every EC2 answer of the "
                "kind has; the EC2 endpoint is not working, or is not EC2",
                retry_after=self.retry_after,
            ) from None

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The AMIs that can start a compute now and the instance types (cached for
        `template_ttl`; AMIs still pending are offered as soon as they are available)."""
        with self._answers("reading the templates"):
            return await self.ec2.catalogue.templates()

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """For the os_tpl of an AMI EC2 is still making (``pending``: a ``save`` not
        finished), the 409 with Retry-After naming the state; else None."""
        if not mixin_id.startswith(OS_TPL_SCHEME):
            return None
        image_id = mixin_id[len(OS_TPL_SCHEME) :]
        if not ids.is_image(image_id):
            return None  # no AMI can have this id
        with self._answers(f"reading {image_id}"):
            return await self.ec2.catalogue.pending_image(image_id)

    async def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's entities, read live, one EC2 call per page and kind."""
        listing = self.ec2.reader.listing(tenant, query)
        try:
            with self._answers("listing"):
                async for entity in listing:
                    yield entity
        finally:
            await listing.aclose()  # type: ignore[attr-defined]

    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """The entity with this id, if it is of this kind (or a sub-kind)."""
        parsed = ids.parse(entity_id)
        if parsed is None or not self.model.is_kind_of(parsed.kind, kind_id):
            raise EntityNotFoundError(f"no {kind_id.rsplit('#', 1)[-1]} with id {entity_id!r}")
        with self._answers(f"reading {entity_id}"):
            return await self.ec2.reader.get(tenant, parsed, entity_id)

    # --- writing ---------------------------------------------------------------------------

    async def create_entity(self, tenant: Tenant, entity: Entity) -> Entity:
        """Create the EC2 resource; its id is EC2's (the id asked for is not kept)."""
        with self._answers("creating"):
            return await self._create(tenant, entity)

    async def _create(self, tenant: Tenant, entity: Entity) -> Entity:
        kind = entity.kind
        if isinstance(entity, Resource):
            if entity.links and kind != COMPUTE.id:
                raise NotSupportedError(f"only computes take links at creation on EC2, not {kind}")
            if kind == COMPUTE.id:
                return await compute.create(self.ec2, tenant, entity)
            if kind == STORAGE.id:
                return await storage.create(self.ec2, tenant, entity)
            if kind == NETWORK.id:
                return await network.create(self.ec2, tenant, entity)
            if kind == SECURITYGROUP.id:
                return await security.create(self.ec2, tenant, entity)
        if isinstance(entity, Link):
            if kind == STORAGELINK.id:
                return await storage.create_link(self.ec2, tenant, entity)
            if kind == NETWORKINTERFACE.id:
                return await network.create_link(self.ec2, tenant, entity)
            if kind == SECURITYGROUPLINK.id:
                return await security.create_link(self.ec2, tenant, entity)
        raise NotSupportedError(f"this server cannot create {kind} entities on EC2")

    async def update_entity(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Resize, retitle, change rules; links keep what they are."""
        with self._answers(f"updating {current.id}"):
            return await self._update(tenant, current, desired)

    async def _update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        kind = current.kind
        if kind == COMPUTE.id:
            return await compute.update(self.ec2, tenant, current, desired)
        if kind == STORAGE.id:
            return await storage.update(self.ec2, tenant, current, desired)
        if kind == NETWORK.id:
            return await network.update(self.ec2, tenant, current, desired)
        if kind == SECURITYGROUP.id:
            return await security.update(self.ec2, tenant, current, desired)
        changed = sorted(
            name
            for name in set(current.attributes) | set(desired.attributes)
            if current.attributes.get(name) != desired.attributes.get(name)
            and not name.endswith(".state")
            and not name.endswith(".message")
        )
        fixed = [name for name in changed if name not in linkmeta.KEPT]
        if fixed:
            raise NotSupportedError(
                f"EC2 cannot change {', '.join(fixed)} of a link; delete it and link again"
            )
        instance_id = ids.ec2_id_of(current.attributes.get(CORE_SOURCE), "i")
        if not changed or instance_id is None:
            return current
        await linkmeta.keep(
            self.ec2.api,
            instance_id,
            current.id or "",
            {name: desired.attributes.get(name) for name in changed},
        )
        return await self.get_entity(tenant, kind or "", current.id or "")

    async def delete_entity(self, tenant: Tenant, entity: Entity) -> None:
        """Terminate, delete, detach or release."""
        with self._answers(f"deleting {entity.id}"):
            await self._delete(tenant, entity)

    async def _delete(self, tenant: Tenant, entity: Entity) -> None:
        kind, entity_id = entity.kind, entity.id or ""
        if kind == COMPUTE.id:
            await compute.delete(self.ec2, tenant, entity_id)
        elif kind == STORAGE.id:
            await storage.delete(self.ec2, tenant, entity_id)
        elif kind == NETWORK.id:
            await network.delete(self.ec2, entity_id)
        elif kind == SECURITYGROUP.id:
            await security.delete(self.ec2, entity_id)
        elif kind in (STORAGELINK.id, NETWORKINTERFACE.id, SECURITYGROUPLINK.id):
            if kind == STORAGELINK.id:
                await storage.delete_link(self.ec2, tenant, entity)
            elif kind == NETWORKINTERFACE.id:
                await network.delete_link(self.ec2, entity)
            else:
                await security.delete_link(self.ec2, tenant, entity)
            instance_id = ids.ec2_id_of(entity.attributes.get(CORE_SOURCE), "i")
            if instance_id is not None:
                await linkmeta.forget(self.ec2.api, instance_id, entity_id)
        else:
            raise NotSupportedError(f"this server cannot delete {kind} entities on EC2")

    async def trigger_action(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """Compute actions, and storage backup, snapshot and resize."""
        with self._answers(f"performing {action_id.rsplit('#', 1)[-1]} on {entity.id}"):
            return await self._trigger(tenant, entity, action_id, parameters)

    async def _trigger(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        if entity.kind == COMPUTE.id:
            return await compute.trigger(self.ec2, tenant, entity, action_id, parameters)
        if entity.kind == STORAGE.id:
            updated = await storage.trigger(self.ec2, tenant, entity, action_id, parameters)
            return ActionOutcome(entity=updated)
        raise NotSupportedError(f"EC2 has no {action_id} for {entity.kind}")


def build(setup: BackendSetup) -> Ec2Backend:
    """The EC2 backend from ``[backend_settings]`` (see `Ec2Settings.from_dict`), its
    timeouts and retries checked to fit in the cloud deadline: the ``ec2`` entry point."""
    settings = Ec2Settings.from_dict(dict(setup.settings))
    settings.call_timeouts(setup.cloud_deadline)
    return Ec2Backend(model=setup.model, settings=settings, deadline=setup.cloud_deadline)

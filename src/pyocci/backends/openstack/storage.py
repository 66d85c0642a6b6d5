"""Cinder volumes as OCCI storage: read, listed, created, extended, snapshotted, backed up.

A storage is a Cinder volume: ``occi.storage.size`` is its size in GiB
(whole GiB, as Cinder sizes volumes), the title its name, the summary its
description. Volumes only grow: a larger size, or the ``resize`` action, is
Cinder's extend. ``snapshot`` takes a Cinder snapshot and ``backup`` a
Cinder backup, where the cloud runs a backup service (501 otherwise, and
then absent from the capabilities once the backend has found out);
``online`` and ``offline`` have no Cinder equivalent and are not offered.

Each volume made through OCCI carries its tenant in its metadata
(``occi_tenant``, the tenant's tag), so tenants sharing the service
account's project see only their own volumes; listings push the metadata
down to Cinder as a filter and follow Cinder's paging markers, one call per
page. Attachments (storage links) are in `attachments`.

A volume Cinder is deleting is gone for OCCI at once: not found, and left
out of listings. A request Cinder would refuse only while a volume is in a
state it leaves by itself (``creating``, ``extending``, ``backing-up``...)
is refused with `BusyError`, naming the status and when to try again; a
state only the client can change (``in-use``: detach it first) is a plain
conflict.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import openstack.exceptions as sdk_exceptions
from openstack.block_storage.v3.volume import Volume

from pyocci.backends.api import ActionOutcome, Capabilities, Query, Tenant
from pyocci.backends.errors import (
    BackendError,
    BusyError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
    QuotaExceededError,
)
from pyocci.backends.kit import ActionHandler, Collection
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.backends.openstack.compute import Locate, being_deleted, tenant_tag
from pyocci.backends.sizes import whole_gib
from pyocci.model.entity import CORE_ID, CORE_SUMMARY, CORE_TITLE, Entity, Resource
from pyocci.model.infrastructure import BACKUP, RESIZE, SNAPSHOT, STORAGE

T = TypeVar("T")
#: What an action does to a volume: given the tenant, the volume and the parameters.
VolumeAction = Callable[[Tenant, Any, Mapping[str, Any]], Awaitable[None]]

#: The volume (and snapshot, backup) metadata key holding the tenant's tag.
TENANT_KEY = "occi_tenant"
#: Cinder volume status -> occi.storage.state. A volume in use is online too:
#: OCCI's state is the storage's, not its attachment's.
_STATES = {
    "available": "online",
    "in-use": "online",
    "reserved": "online",
    "attaching": "online",
    "detaching": "online",
    "extending": "resize",
    "backing-up": "backup",
    "restoring-backup": "backup",
    "creating": "offline",
    "downloading": "offline",
    "uploading": "offline",
    "retyping": "offline",
    "maintenance": "offline",
    "awaiting-transfer": "offline",
    "deleting": "offline",
}
#: The Cinder statuses a volume can be deleted in (Cinder's own rule).
_DELETABLE = {"available", "error", "error_restoring", "error_extending", "error_managing"}
#: The Cinder statuses of a volume being deleted (or dropped from Cinder's care,
#: ``unmanaging``): gone for OCCI already, so not found and not listed.
GONE = frozenset({"deleting", "deleted", "error_managing_deleting", "unmanaging"})
#: The Cinder statuses a volume leaves by itself, without anyone asking, and what
#: Cinder (or Nova) is doing meanwhile: Cinder refuses a delete, an extend, a
#: snapshot or a backup then, and takes the same request once it is done.
#: (``awaiting-transfer`` is not one of them: a transfer waits for its recipient.)
_BUSY = {
    "creating": "creating this volume",
    "reserved": "reserving this volume for an attachment",
    "attaching": "attaching this volume",
    "detaching": "detaching this volume",
    "extending": "extending this volume",
    "backing-up": "backing this volume up",
    "restoring-backup": "restoring a backup onto this volume",
    "downloading": "writing an image onto this volume",
    "uploading": "copying this volume into an image",
    "retyping": "changing this volume's type",
    "maintenance": "migrating this volume",
    "managing": "taking this volume into its care",
}
#: What discovery adds to the description of occi.storage.size (see `whole_gib`).
SIZE_NOTE = "whole GiB on this cloud: a size is rounded up to the next whole GiB (1.5 -> 2)"
#: How long the answer on whether the cloud runs a backup service is kept (seconds).
BACKUP_PROBE_TTL = 300.0


def storage_state(status: str | None) -> str:
    """The occi.storage.state of a Cinder volume status (anything unknown is error)."""
    return _STATES.get(status or "", "error")


def is_busy(status: str | None) -> bool:
    """Whether Cinder leaves this volume status by itself (a volume being created...)."""
    return status in _BUSY


def busy_error(status: str, retry_after: int) -> BusyError:
    """The refusal of a request on a volume in a status Cinder leaves by itself."""
    return BusyError(
        f"Cinder is still {_BUSY.get(status, 'working on this volume')} (status {status}); "
        f"try again in {retry_after} s",
        retry_after=retry_after,
    )


def is_gone(status: str | None) -> bool:
    """Whether a volume in this Cinder status is gone for OCCI (Cinder is deleting it)."""
    return status in GONE


def to_storage(volume: Any, locate: Locate) -> Resource:
    """A Cinder volume as a storage (no further call needed)."""
    attributes: dict[str, Any] = {
        CORE_ID: volume.id,
        "occi.storage.size": float(volume.size or 0),
        "occi.storage.state": storage_state(volume.status),
        "occi.storage.state.message": f"Cinder status {volume.status}",
    }
    if volume.name:
        attributes[CORE_TITLE] = volume.name
    if volume.description:
        attributes[CORE_SUMMARY] = volume.description
    resource = Resource(kind=STORAGE.id, attributes=attributes)
    resource.location = locate(STORAGE.id, volume.id)
    return resource


class Volumes(Collection):
    """Cinder volumes as OCCI storage."""

    kinds = (STORAGE.id,)
    attribute_notes = {STORAGE.id: {"occi.storage.size": SIZE_NOTE}}

    def __init__(self, api: OpenStackApi, locate: Locate) -> None:
        self.api = api
        self.locate = locate
        self.settings = api.settings
        #: Whether the cloud runs a backup service, and when that was last asked.
        self._backup_offered: tuple[bool, float] | None = None

    @property
    def capabilities(self) -> Capabilities:
        """Storage with resize and snapshot, and backup unless the cloud was found to have
        no backup service; sizes are whole GiB (see `whole_gib`)."""
        capabilities = super().capabilities
        if self._backup_offered is None or self._backup_offered[0]:
            return capabilities
        return dataclasses.replace(capabilities, actions=capabilities.actions - {BACKUP.id})

    def _owns(self, tenant: Tenant, volume: Any) -> bool:
        if not self.api.isolates_tenants:
            return True
        return (volume.metadata or {}).get(TENANT_KEY) == tenant_tag(tenant)

    async def volume(self, tenant: Tenant, volume_id: str) -> Any:
        """The tenant's Cinder volume; not found for other tenants' volumes too, nor once
        Cinder is deleting it."""
        try:
            volume = await self.api.call(lambda c: c.block_storage.get_volume(volume_id))
        except EntityNotFoundError:
            raise EntityNotFoundError(f"no storage with id {volume_id!r}") from None
        if not self._owns(tenant, volume):
            raise EntityNotFoundError(f"no storage with id {volume_id!r}")
        if is_gone(volume.status):
            raise EntityNotFoundError(
                f"the storage {volume_id!r} is being deleted (Cinder status {volume.status})"
            )
        return volume

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Resource:
        """One storage."""
        return to_storage(await self.volume(tenant, entity_id), self.locate)

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's storage, one Cinder call per page, Cinder's markers followed.

        Cinder pages by marker, OCCI by position: a page is read from the start,
        asking Cinder for as many volumes as the OCCI page still needs (one call up
        to `page_size`, Cinder's own ceiling being ``osapi_max_limit``).
        """
        if STORAGE.id not in query.kinds:
            return
        plain = not (query.mixins or query.any_mixins or query.attributes or query.ids is not None)
        wanted = query.offset + query.limit if plain and query.limit is not None else None
        # The title is Cinder's name, a filter Cinder applies; the rest are applied here.
        name = query.attributes.get(CORE_TITLE)
        volumes = self._volumes(tenant, wanted, name if isinstance(name, str) else None)
        async for entity in query.apage(self._storage(volumes)):
            yield entity

    async def _storage(self, volumes: AsyncIterator[Any]) -> AsyncIterator[Entity]:
        async for volume in volumes:
            yield to_storage(volume, self.locate)

    async def _volumes(
        self, tenant: Tenant, wanted: int | None, name: str | None = None
    ) -> AsyncIterator[Any]:
        """The tenant's volumes (named `name`, if given), newest first (Cinder's order),
        page by page; those Cinder is deleting are left out (Cinder cannot filter them
        away itself: its status filter only matches)."""
        size = self.settings.page_size if wanted is None else min(self.settings.page_size, wanted)
        tag = tenant_tag(tenant)

        def page(connection: Any, after: str | None) -> tuple[list[Any], bool]:
            parameters: dict[str, Any] = {"limit": max(size, 1)}
            if self.api.isolates_tenants:
                # Cinder filters on metadata given as a JSON object.
                parameters["metadata"] = json.dumps({TENANT_KEY: tag})
            if name is not None:
                parameters["name"] = name
            if after is not None:
                parameters["marker"] = after
            # One request, and Cinder's own word (its next link) on whether more follow;
            # openstacksdk's paging would ask once more after the last page.
            response = connection.block_storage.get("/volumes/detail", params=parameters)
            sdk_exceptions.raise_from_response(response)
            body = response.json()
            volumes = [
                Volume.existing(connection=connection, **item) for item in body.get("volumes", [])
            ]
            links = body.get("volumes_links") or []
            return volumes, any(link.get("rel") == "next" for link in links)

        marker = None
        kept = 0
        while True:
            found, more = await self.api.call(page, marker)
            for volume in found:
                if not is_gone(volume.status):
                    kept += 1
                    yield volume
            if not (more and found) or (wanted is not None and kept >= wanted):
                return
            marker = found[-1].id

    async def create(self, tenant: Tenant, entity: Entity) -> Resource:
        """Create a volume of `occi.storage.size` GiB, tagged with the tenant."""
        if not isinstance(entity, Resource):
            raise InvalidRequestError("a storage is a resource, not a link")
        if entity.links:
            raise NotSupportedError("a storage has no links of its own on OpenStack")
        size = whole_gib(entity.attributes.get("occi.storage.size"))
        parameters: dict[str, Any] = {"size": size, "metadata": {TENANT_KEY: tenant_tag(tenant)}}
        if entity.title:
            parameters["name"] = entity.title
        if entity.summary:
            parameters["description"] = entity.summary
        volume = await self.api.call(lambda c: c.block_storage.create_volume(**parameters))
        return to_storage(volume, self.locate)

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Resource:
        """Grow the volume (extend), change its name or description."""
        volume = await self.volume(tenant, current.id or "")
        old = current.attributes.get("occi.storage.size")
        new = desired.attributes.get("occi.storage.size", old)
        if new != old:
            await self._extend(tenant, volume, whole_gib(new))
        changes: dict[str, Any] = {}
        for attribute, field in ((CORE_TITLE, "name"), (CORE_SUMMARY, "description")):
            value = desired.attributes.get(attribute)
            if value != current.attributes.get(attribute):
                changes[field] = value or ""
        if changes:
            await self.api.call(lambda c: c.block_storage.update_volume(volume, **changes))
        return await self.get(tenant, STORAGE.id, volume.id)

    async def _extend(self, tenant: Tenant, volume: Any, size: int) -> None:
        if size < (volume.size or 0):
            raise InvalidRequestError(
                f"Cinder volumes only grow: {size} GiB is smaller than {volume.size} GiB"
            )
        if size == volume.size:
            return
        await self._unless_busy(
            tenant, volume, lambda c: c.block_storage.extend_volume(volume, size)
        )

    def _refuse_if_busy(self, volume: Any) -> None:
        if is_busy(volume.status):
            raise busy_error(volume.status, self.settings.retry_after)

    async def _unless_busy(self, tenant: Tenant, volume: Any, request: Callable[[Any], T]) -> T:
        """Make a request on the volume unless it is busy (`BusyError`); Cinder's
        refusal, if its status changed meanwhile (another request, Cinder's own work),
        is a `BusyError` too when the status it changed to is one Cinder leaves by
        itself."""
        self._refuse_if_busy(volume)
        try:
            return await self.api.call(request)
        except (InvalidRequestError, ConflictError) as error:
            now = await self.volume(tenant, volume.id)
            self._refuse_if_busy(now)
            raise error from None

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete the volume: 409 while it is attached (detach it first), 409 with
        Retry-After while Cinder is busy with it (being created, extended...)."""
        volume = await self.volume(tenant, entity.id or "")
        self._refuse_if_busy(volume)
        if volume.status == "in-use":
            going = await self._servers_being_deleted(volume)
            if going:
                raise BusyError(
                    f"Nova is still deleting the server{'s' if len(going) > 1 else ''} "
                    f"{', '.join(going)} this volume is attached to (Cinder status "
                    f"{volume.status}); it is detached when Nova is done: try again in "
                    f"{self.settings.retry_after} s",
                    retry_after=self.settings.retry_after,
                )
        if volume.status not in _DELETABLE:
            raise ConflictError(
                f"Cinder deletes available volumes; this one is {volume.status}"
                + (" (detach it first)" if volume.status == "in-use" else "")
            )
        try:
            await self._unless_busy(tenant, volume, lambda c: c.block_storage.delete_volume(volume))
        except InvalidRequestError as error:
            # Cinder's "Invalid volume" is about the volume's state (snapshots left, a
            # group, a migration), not about the request: a conflict.
            raise ConflictError(str(error)) from None

    async def _servers_being_deleted(self, volume: Any) -> list[str]:
        """The servers the volume is attached to, when Nova has taken on the delete of
        every one (their computes are gone, links included, and Nova detaches the volume
        as it finishes); empty when one at least stays (the client detaches it first)."""
        servers = [
            str(item["server_id"])
            for item in volume.attachments or ()
            if isinstance(item, Mapping) and item.get("server_id")
        ]
        for server_id in servers:
            try:
                server = await self.api.call(lambda c, s=server_id: c.compute.get_server(s))
            except EntityNotFoundError:
                continue  # deleted already; Cinder has not caught up yet
            except BackendError:
                return []  # Nova cannot tell: the plain answer
            if not being_deleted(server):
                return []
        return servers

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """resize (extend), snapshot (a Cinder snapshot), backup (a Cinder backup)."""
        acts: dict[str, VolumeAction] = {
            RESIZE.id: self._resize,
            SNAPSHOT.id: self._snapshot,
            BACKUP.id: self._backup,
        }
        return {action: functools.partial(self._perform, act) for action, act in acts.items()}

    async def _perform(
        self, act: VolumeAction, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        volume = await self.volume(tenant, entity.id or "")
        await act(tenant, volume, parameters)
        return ActionOutcome(entity=await self.get(tenant, STORAGE.id, volume.id))

    async def _resize(self, tenant: Tenant, volume: Any, parameters: Mapping[str, Any]) -> None:
        await self._extend(tenant, volume, whole_gib(parameters.get("size"), "size"))

    async def _snapshot(self, tenant: Tenant, volume: Any, parameters: Mapping[str, Any]) -> None:
        metadata = {TENANT_KEY: tenant_tag(tenant)}
        # force: Cinder snapshots an attached volume only when told to (the copy is
        # then crash-consistent, as a snapshot of a running disk is).
        await self._unless_busy(
            tenant,
            volume,
            lambda c: c.block_storage.create_snapshot(
                volume_id=volume.id, name=_copy_name(volume), metadata=metadata, force=True
            ),
        )

    async def backup_offered(self) -> bool:
        """Whether the cloud runs a backup service: Cinder's service list says (asked again
        after `BACKUP_PROBE_TTL`). Where listing services is not allowed, backups are
        offered and Cinder's own answer decides."""
        known = self._backup_offered
        if known is not None and time.monotonic() - known[1] < BACKUP_PROBE_TTL:
            return known[0]

        def probe(connection: Any) -> bool:
            services = connection.block_storage.services(binary="cinder-backup")
            return any(s.status == "enabled" and s.state == "up" for s in services)

        try:
            offered = await self.api.call(probe)
        except (QuotaExceededError, EntityNotFoundError):
            # Forbidden by policy (most clouds keep the service list to administrators),
            # or no such API: cannot tell.
            offered = True
        self._backup_offered = (offered, time.monotonic())
        return offered

    async def _backup(self, tenant: Tenant, volume: Any, parameters: Mapping[str, Any]) -> None:
        if not await self.backup_offered():
            raise NotSupportedError("this cloud runs no Cinder backup service")
        name = _copy_name(volume)
        try:
            # force: as for snapshots, an attached volume is backed up only when told to.
            await self._unless_busy(
                tenant,
                volume,
                lambda c: c.block_storage.create_backup(volume_id=volume.id, name=name, force=True),
            )
        except EntityNotFoundError as error:
            # Cinder: "Service cinder-backup could not be found".
            if "cinder-backup" in str(error):
                self._backup_offered = (False, time.monotonic())
                raise NotSupportedError(
                    "this cloud runs no Cinder backup service (Cinder: " + str(error) + ")"
                ) from None
            raise


def _copy_name(volume: Any) -> str:
    """The name of a snapshot or backup of a volume: the volume's, stamped with the time."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{volume.name or volume.id}-{stamp}"

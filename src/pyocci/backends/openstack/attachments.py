"""Volumes attached to Nova servers as OCCI storage links.

A storage link is a Cinder volume attached to a Nova server, made at run
time through Nova's ``os-volume_attachments`` API or with the compute, as a
block device mapping (`StorageLinks.boot_options`). Its id is
``<server id>_<volume id>``: Nova lists a server's volumes by volume id
only, so that pair is what the links of a page of servers can be built from
without any further call, and it stays the same whatever Cinder's
attachment record. ``occi.storagelink.deviceid`` is the device Nova chose
(the one asked for is a hint); the mount point, which Nova has no field
for, is kept in the server's metadata.

Nova attaches and detaches asynchronously: its API answers once Cinder has
marked the volume (``reserved``, ``detaching``), its compute service does the
work later. A link read meanwhile (and whenever Cinder does not show the
volume attached to the server) is ``inactive``, its message naming Cinder's
status; it is gone once Nova has detached the volume. A link whose
attachment Nova has not finished cannot be deleted yet (`BusyError`); one
being detached already is left to finish. Links read with their computes
come from Nova's server records alone (no call per link): ``active``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
    QuotaExceededError,
)
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.backends.openstack.compute import Computes, Locate, ServerLinks, server_pages
from pyocci.backends.openstack.storage import Volumes, busy_error
from pyocci.model.entity import CORE_ID, CORE_SOURCE, CORE_TARGET, Entity, Link
from pyocci.model.infrastructure import COMPUTE, STORAGE, STORAGELINK

#: The storage link attribute kept in server metadata (Nova has no field for it).
MOUNTPOINT = "occi.storagelink.mountpoint"
#: The link id's separator: Nova and Cinder ids are UUIDs, which never hold it.
SEPARATOR = "_"
#: Cinder statuses of a volume whose attachment Nova has not finished.
ATTACHING = frozenset({"reserved", "attaching"})
#: Cinder's status of a volume Nova is detaching.
DETACHING = "detaching"


def link_id(server_id: str, volume_id: str) -> str:
    """The id of the storage link attaching this volume to this server."""
    return f"{server_id}{SEPARATOR}{volume_id}"


def _id_in(reference: Any, kind_location: str, what: str) -> str:
    """The id a link's source or target names (``/storage/<id>``, or a URL to it)."""
    path = urlparse(str(reference or "")).path
    prefix = kind_location.rstrip("/") + "/"
    found = path[len(prefix) :].strip("/") if path.startswith(prefix) else ""
    if not found or "/" in found:
        raise InvalidRequestError(f"{reference!r} is not {what} of this cloud")
    return found


def mountpoint_key(volume_id: str) -> str:
    """The server metadata key keeping the mount point of a volume attached to it."""
    return f"occi:{volume_id}:mountpoint"


def _attached(server: Any) -> list[str]:
    """The ids of the volumes Nova lists as attached to a server."""
    found = []
    for item in getattr(server, "attached_volumes", None) or ():
        volume_id = item.get("id") if isinstance(item, Mapping) else None
        if volume_id:
            found.append(str(volume_id))
    return found


def _why_inactive(volume: Any, server_id: str) -> str | None:
    """Why a link Nova lists is not (or no longer) an attachment Cinder has done, as the
    link's state message; None when it is one (or Cinder's record cannot be read).

    Cinder's status is the volume's, not one attachment's: a volume attached to
    several servers (multi-attach) shows each link inactive while one changes.
    """
    if volume is None:
        return None
    status = volume.status
    if status in ATTACHING:
        return f"Nova is still attaching the volume (Cinder status {status})"
    if status == DETACHING:
        return f"Nova is detaching the volume (Cinder status {status})"
    servers = {
        item.get("server_id") for item in volume.attachments or () if isinstance(item, Mapping)
    }
    if server_id not in servers:
        # Nova drops its record of an attachment just after Cinder has (or makes it
        # just before Cinder): the volume is not attached to this server meanwhile.
        return f"Cinder shows the volume not attached to this server (Cinder status {status})"
    return None


class StorageLinks(ServerLinks):
    """Volumes attached to Nova servers as OCCI storage links."""

    kinds = (STORAGELINK.id,)

    def __init__(
        self, api: OpenStackApi, computes: Computes, volumes: Volumes, locate: Locate
    ) -> None:
        self.api = api
        self.computes = computes
        self.volumes = volumes
        self.locate = locate
        self.settings = api.settings

    def _link(
        self, server: Any, volume_id: str, device: str | None = None, mountpoint: Any = None
    ) -> Link:
        """The link of a volume attached to a server; its mount point from the server's
        metadata unless given."""
        attributes: dict[str, Any] = {
            CORE_ID: link_id(server.id, volume_id),
            CORE_SOURCE: self.locate(COMPUTE.id, server.id),
            CORE_TARGET: self.locate(STORAGE.id, volume_id),
            "occi.storagelink.state": "active",
            "occi.storagelink.state.message": "attached to the Nova server",
        }
        if device:
            attributes["occi.storagelink.deviceid"] = device
        if mountpoint is None:
            mountpoint = (getattr(server, "metadata", None) or {}).get(mountpoint_key(volume_id))
        if mountpoint:
            attributes[MOUNTPOINT] = mountpoint
        link = Link(kind=STORAGELINK.id, attributes=attributes)
        link.location = self.locate(STORAGELINK.id, attributes[CORE_ID])
        return link

    async def links_of(self, tenant: Tenant, sources: Sequence[Any]) -> dict[str, list[Link]]:
        """The volumes each server of a page has attached, from the servers' own records
        (Nova lists them, and the mount points kept in metadata, in its server details):
        no call at all."""
        return {
            server.id: [self._link(server, volume_id) for volume_id in _attached(server)]
            for server in sources
            if _attached(server)
        }

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's storage links: the tenant's servers read a page at a time (one Nova
        call per page), each server's attached volumes its links."""
        if STORAGELINK.id not in query.kinds:
            return
        async for entity in query.apage(self._links(tenant)):
            yield entity

    async def _links(self, tenant: Tenant) -> AsyncIterator[Link]:
        async for servers in server_pages(self.api, tenant):
            for found in (await self.links_of(tenant, servers)).values():
                for link in found:
                    yield link

    def _parse(self, entity_id: str) -> tuple[str, str]:
        server_id, separator, volume_id = entity_id.partition(SEPARATOR)
        if not (separator and server_id and volume_id):
            raise EntityNotFoundError(f"no storagelink with id {entity_id!r}")
        return server_id, volume_id

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Link:
        """One storage link, with the device Nova gave the volume (one call more)."""
        server_id, volume_id = self._parse(entity_id)
        try:
            server = await self.computes.server(tenant, server_id)
        except EntityNotFoundError:
            raise EntityNotFoundError(f"no storagelink with id {entity_id!r}") from None
        if volume_id not in _attached(server):
            raise EntityNotFoundError(f"no storagelink with id {entity_id!r}")
        attachment = await self.api.call(
            lambda c: c.compute.get_volume_attachment(server, volume_id)
        )
        link = self._link(server, volume_id, attachment.device)
        volume = await self._cinder_volume(volume_id)
        inactive = _why_inactive(volume, server.id)
        if inactive is not None:
            link.attributes["occi.storagelink.state"] = "inactive"
            link.attributes["occi.storagelink.state.message"] = inactive
        return link

    async def _cinder_volume(self, volume_id: str) -> Any:
        """Cinder's record of an attached volume; None when this account cannot see it
        (a volume attached by hand from another project)."""
        try:
            return await self.api.call(lambda c: c.block_storage.get_volume(volume_id))
        except (EntityNotFoundError, QuotaExceededError):
            return None

    async def create(self, tenant: Tenant, entity: Entity) -> Link:
        """Attach the target volume to the source server (Nova's os-volume_attachments)."""
        server_id = _id_in(entity.attributes.get(CORE_SOURCE), "/compute/", "a compute")
        volume_id = await self._target(tenant, entity)
        server = await self.computes.server(tenant, server_id)
        device = entity.attributes.get("occi.storagelink.deviceid") or None
        attachment = await self.api.call(
            lambda c: c.compute.create_volume_attachment(
                server, volume_id=volume_id, **({"device": device} if device else {})
            )
        )
        mountpoint = entity.attributes.get(MOUNTPOINT) or None
        await self._keep_mountpoint(server, volume_id, mountpoint)
        return self._link(server, volume_id, attachment.device, mountpoint or "")

    async def _keep_mountpoint(self, server: Any, volume_id: str, mountpoint: Any) -> None:
        """Keep (or, given None, forget) a link's mount point in the server's metadata:
        Nova has no field for it."""
        key = mountpoint_key(volume_id)
        if mountpoint:
            value = str(mountpoint)
            await self.api.call(lambda c: c.compute.set_server_metadata(server, **{key: value}))
        elif key in (getattr(server, "metadata", None) or {}):
            await self.api.call(lambda c: c.compute.delete_server_metadata(server, [key]))

    async def _target(self, tenant: Tenant, link: Entity) -> str:
        """The id of the tenant's volume a link targets; 404 for another tenant's."""
        volume_id = _id_in(link.attributes.get(CORE_TARGET), "/storage/", "a storage")
        await self.volumes.volume(tenant, volume_id)
        return volume_id

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Link:
        """Change the mount point; nothing else of an attachment changes in place (detach
        and attach again)."""
        changed = sorted(
            name
            for name in set(current.attributes) | set(desired.attributes)
            if not name.startswith("occi.storagelink.state")
            and name != MOUNTPOINT
            and name in desired.attributes
            and desired.attributes.get(name) != current.attributes.get(name)
        )
        if changed:
            raise NotSupportedError(
                f"a volume attachment cannot change ({', '.join(changed)}) on OpenStack; "
                "delete the storagelink and link the storage again"
            )
        server_id, volume_id = self._parse(current.id or "")
        if desired.attributes.get(MOUNTPOINT) != current.attributes.get(MOUNTPOINT):
            server = await self.computes.server(tenant, server_id)
            await self._keep_mountpoint(server, volume_id, desired.attributes.get(MOUNTPOINT))
        return await self.get(tenant, STORAGELINK.id, current.id or "")

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Detach the volume (Nova finishes it asynchronously); 409 with Retry-After while
        Nova is still attaching it, nothing more to do while Nova is detaching it."""
        server_id, volume_id = self._parse(entity.id or "")
        server = await self.computes.server(tenant, server_id)
        if volume_id not in _attached(server):
            raise EntityNotFoundError(f"no storagelink with id {entity.id!r}")
        if not await self._detaching(volume_id):
            try:
                await self.api.call(
                    lambda c: c.compute.delete_volume_attachment(
                        server, volume_id, ignore_missing=False
                    )
                )
            except (InvalidRequestError, ConflictError):
                # Nova refuses ("Invalid volume") when the volume changed meanwhile.
                if not await self._detaching(volume_id):
                    raise
        await self._keep_mountpoint(server, volume_id, None)

    async def _detaching(self, volume_id: str) -> bool:
        """Whether Nova is detaching the volume already; `BusyError` while it is still
        attaching it (Nova refuses to detach then, and accepts once it is done)."""
        volume = await self._cinder_volume(volume_id)
        status = volume.status if volume is not None else None
        if status is not None and status in ATTACHING:
            raise busy_error(status, self.settings.retry_after)
        return status == DETACHING

    async def boot_options(self, tenant: Tenant, links: Sequence[Link]) -> dict[str, Any]:
        """The volumes a compute is created with, as Nova block device mappings (attached
        after the image's root disk, kept when the server is deleted)."""
        mappings = []
        metadata: dict[str, str] = {}
        for link in links:
            mapping: dict[str, Any] = {
                "uuid": await self._target(tenant, link),
                "source_type": "volume",
                "destination_type": "volume",
                "boot_index": -1,
                "delete_on_termination": False,
            }
            device = link.attributes.get("occi.storagelink.deviceid")
            if device:
                mapping["device_name"] = device
            mountpoint = link.attributes.get(MOUNTPOINT)
            if mountpoint:
                metadata[mountpoint_key(mapping["uuid"])] = str(mountpoint)
            mappings.append(mapping)
        options: dict[str, Any] = {"block_device_mapping_v2": mappings} if mappings else {}
        if metadata:
            options["metadata"] = metadata
        return options

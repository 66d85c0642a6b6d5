"""OpenNebula images as OCCI storage: persistent DATABLOCK images of the tenant's group.

A storage is a persistent DATABLOCK image in the configured image datastore,
its size in whole MiB (OCCI gives GiB). Online and offline enable and
disable the image; backup clones it into a new storage. OpenNebula
resizes and snapshots disks, not images: a storage attached to a compute
grows (an update of its size, or resize) and is snapshotted through that
VM's disk (``vm.diskresize``, ``vm.disksnapshotcreate``), which oned carries
over to the persistent image. The images a ``save`` makes (OS images) are os_tpl
templates' disks, not storage, and are left out. Listings read the group's
images a page at a time (``imagepool.info``, the group and the offset pushed
down) and keep the DATABLOCKs.
"""

from __future__ import annotations

import datetime
import math
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any

import anyio
import pyone

from pyocci.backends.api import ActionOutcome, Query, Tenant
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
)
from pyocci.backends.kit import ActionHandler, Collection
from pyocci.backends.opennebula.api import OneApi
from pyocci.backends.opennebula.compute import GROUP_SHARED, MOVING_POLL, MOVING_WAIT
from pyocci.backends.opennebula.records import body, ids_of, one_list, template_text
from pyocci.backends.opennebula.tenancy import Acting, Tenancy, read_owned
from pyocci.model.entity import CORE_ID, CORE_TITLE, Entity, Resource
from pyocci.model.infrastructure import BACKUP, OFFLINE, ONLINE, RESIZE, SNAPSHOT, STORAGE

IMAGE = pyone.IMAGE_STATES
SIZE = "occi.storage.size"
_STATES = {
    IMAGE.READY: "online",
    IMAGE.USED: "online",
    IMAGE.USED_PERS: "online",
    IMAGE.DISABLED: "offline",
    IMAGE.ERROR: "error",
}


def storage_state(state: int) -> str:
    """The occi.storage.state of an image state (oned's own work on it: offline)."""
    return _STATES.get(state, "offline")


def is_storage(image: Any) -> bool:
    """Whether an image is a storage: a DATABLOCK oned is not deleting."""
    return int(image.TYPE) == pyone.IMAGE_TYPES.DATABLOCK and int(image.STATE) != IMAGE.DELETE


def size_in_mib(value: Any, name: str) -> int:
    """A size in GiB as whole MiB (rounded up), or a 400 naming `name`."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not 0 < value < math.inf:
        raise InvalidRequestError(f"{name} must be a positive number of GiB; got {value!r}")
    return math.ceil(value * 1024)


class Storages(Collection):
    """The tenant group's persistent DATABLOCK images."""

    kinds = (STORAGE.id,)
    attribute_notes: Mapping[str, Mapping[str, str]] = {
        STORAGE.id: {SIZE: "rounded up to whole MiB"}
    }

    def __init__(self, api: OneApi, tenancy: Tenancy, locate: Any) -> None:
        self.api = api
        self.tenancy = tenancy
        self.locate = locate
        self.settings = api.settings

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """online and offline (the image enabled or disabled), backup (a clone), snapshot
        and resize (of the disk it is)."""
        return {
            ONLINE.id: self._online,
            OFFLINE.id: self._offline,
            BACKUP.id: self._backup,
            SNAPSHOT.id: self._snapshot,
            RESIZE.id: self._resize,
        }

    def storage(self, image: Any) -> Resource:
        """An image as a storage."""
        state = int(image.STATE)
        attributes: dict[str, Any] = {
            CORE_ID: str(image.ID),
            CORE_TITLE: image.NAME,
            SIZE: int(image.SIZE) / 1024,
            "occi.storage.state": storage_state(state),
            "occi.storage.state.message": f"OpenNebula image {IMAGE(state).name}",
        }
        resource = Resource(kind=STORAGE.id, attributes=attributes, links=[])
        resource.location = self.locate(STORAGE.id, str(image.ID))
        return resource

    async def image(self, acting: Acting, entity_id: str) -> Any:
        """The tenant's storage image; not found for anything else."""
        image = await read_owned(self.api, acting, "image.info", entity_id, "storage")
        if not is_storage(image):
            raise EntityNotFoundError(f"no storage with id {entity_id!r}")
        return image

    async def _all(self, acting: Acting) -> AsyncIterator[Entity]:
        images = self.api.pool(acting.session, "imagepool.info", "IMAGE")
        async with aclosing(images):
            async for image in images:
                if is_storage(image):
                    yield self.storage(image)

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The group's storages, filtered and paged here (oned pages every image type)."""
        if STORAGE.id not in query.kinds:
            return
        acting = await self.tenancy.acting(tenant)
        async for entity in query.apage(self._all(acting)):
            yield entity

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One storage."""
        acting = await self.tenancy.acting(tenant)
        return self.storage(await self.image(acting, entity_id))

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """A persistent DATABLOCK image of the size asked for."""
        acting = await self.tenancy.acting(tenant)
        size = size_in_mib(entity.attributes.get(SIZE), SIZE)
        # Image names are unique per user: an untitled storage gets a name of its own.
        name = entity.title or f"occi-storage-{uuid.uuid4().hex[:12]}"
        text = template_text({"NAME": name, "TYPE": "DATABLOCK", "SIZE": size, "PERSISTENT": "YES"})
        image_id = await self.api.call(
            acting.session, "image.allocate", text, self.settings.image_datastore, False
        )
        await self.api.call(acting.session, "image.chmod", image_id, *GROUP_SHARED)
        return self.storage(await self.image(acting, str(image_id)))

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Rename, or grow an attached storage (through its VM's disk)."""
        acting = await self.tenancy.acting(tenant)
        image = await self.image(acting, current.id or "")
        size = desired.attributes.get(SIZE, current.attributes.get(SIZE))
        if size != current.attributes.get(SIZE):
            await self._grow(acting, image, size_in_mib(size, SIZE))
        if desired.title and desired.title != current.title:
            await self.api.call(acting.session, "image.rename", int(image.ID), desired.title)
        return self.storage(await self.image(acting, str(image.ID)))

    async def _disk(self, acting: Acting, image: Any, doing: str) -> tuple[int, int]:
        """The VM and the disk id the image is attached as; 409 when it is not."""
        users = ids_of(getattr(image, "VMS", None))
        if not users:
            raise ConflictError(
                f"OpenNebula {doing} a storage through the compute it is attached to: link it "
                "to a compute (a storagelink) first"
            )
        vm = await self.api.call(acting.session, "vm.info", users[0], False)
        disk = next(
            (d for d in one_list(body(vm).get("DISK")) if str(d.get("IMAGE_ID")) == str(image.ID)),
            None,
        )
        if disk is None:
            raise ConflictError(f"OpenNebula is still attaching the storage {image.ID}; try again")
        return users[0], int(disk["DISK_ID"])

    async def _grow(self, acting: Acting, image: Any, size: int) -> None:
        """Resize the disk the image is to `size` MiB, then wait (boundedly) until oned has
        carried the new size over to the image."""
        if size < int(image.SIZE):
            raise InvalidRequestError(
                f"{SIZE}: OpenNebula grows disks, never shrinks them; the storage has "
                f"{int(image.SIZE) / 1024:g} GiB"
            )
        vm_id, disk_id = await self._disk(acting, image, "resizes")
        await self.api.call(acting.session, "vm.diskresize", vm_id, disk_id, str(size))
        deadline = anyio.current_time() + min(MOVING_WAIT, self.settings.timeout)
        while anyio.current_time() < deadline:
            if int((await self.image(acting, str(image.ID))).SIZE) == size:
                return
            await anyio.sleep(MOVING_POLL)

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete the image (oned refuses while a VM uses it: a conflict)."""
        acting = await self.tenancy.acting(tenant)
        image = await self.image(acting, entity.id or "")
        await self.api.call(acting.session, "image.delete", int(image.ID), False)

    async def _enable(self, tenant: Tenant, entity: Entity, enabled: bool) -> ActionOutcome:
        acting = await self.tenancy.acting(tenant)
        image = await self.image(acting, entity.id or "")
        await self.api.call(acting.session, "image.enable", int(image.ID), enabled)
        return ActionOutcome(entity=self.storage(await self.image(acting, str(image.ID))))

    async def _online(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        return await self._enable(tenant, entity, True)

    async def _offline(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        return await self._enable(tenant, entity, False)

    async def _backup(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """A clone of the image, a new storage of the group named after this one."""
        acting = await self.tenancy.acting(tenant)
        image = await self.image(acting, entity.id or "")
        name = f"{image.NAME}-backup-{_stamp()}"
        clone = await self.api.call(
            acting.session, "image.clone", int(image.ID), name, self.settings.image_datastore
        )
        await self.api.call(acting.session, "image.chmod", clone, *GROUP_SHARED)
        return ActionOutcome(entity=self.storage(await self.image(acting, str(image.ID))))

    async def _snapshot(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """A snapshot of the disk the storage is (oned keeps it with the image)."""
        acting = await self.tenancy.acting(tenant)
        image = await self.image(acting, entity.id or "")
        vm_id, disk_id = await self._disk(acting, image, "snapshots")
        await self.api.call(
            acting.session, "vm.disksnapshotcreate", vm_id, disk_id, f"occi-{_stamp()}"
        )
        return ActionOutcome(entity=self.storage(await self.image(acting, str(image.ID))))

    async def _resize(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """Grow the storage to ``size`` GiB (OCCI 1.1's action for a size update)."""
        acting = await self.tenancy.acting(tenant)
        image = await self.image(acting, entity.id or "")
        await self._grow(acting, image, size_in_mib(parameters.get("size"), "size"))
        return ActionOutcome(entity=self.storage(await self.image(acting, str(image.ID))))


def _stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")

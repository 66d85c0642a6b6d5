"""Storage links and network interfaces: a VM's disks and NICs, attached and detached.

Both are read from the VM record itself (its ``DISK`` and ``NIC`` vectors),
so a page of computes comes with its links at no further call. A storage
link is a disk made from one of the tenant's storages (a persistent image),
id ``<vm>-disk-<disk id>``; a network interface is a NIC, id
``<vm>-nic-<nic id>``. Creating one hot-plugs the disk or NIC
(``vm.attach``, ``vm.attachnic``), deleting it unplugs it; those a compute
is created with are entries of the VM's template at instantiation.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import EntityNotFoundError, InvalidRequestError
from pyocci.backends.kit import Collection
from pyocci.backends.opennebula import states
from pyocci.backends.opennebula.compute import Computes
from pyocci.backends.opennebula.network import PUBLIC
from pyocci.backends.opennebula.records import body, one_list, template_text
from pyocci.model.entity import CORE_ID, CORE_SOURCE, CORE_TARGET, Entity, Link
from pyocci.model.infrastructure import (
    COMPUTE,
    IPNETWORKINTERFACE,
    NETWORK,
    NETWORKINTERFACE,
    STORAGE,
    STORAGELINK,
)


def _last(location: Any) -> str | None:
    if not location:
        return None
    return str(location).rstrip("/").rsplit("/", 1)[-1] or None


class VmLinks(Collection):
    """Links that are entries of a VM's vector attribute (``DISK``, ``NIC``)."""

    #: The VM template vector the links are, its id attribute, and the link id's infix.
    vector = ""
    id_attribute = ""
    infix = ""
    #: The kind of resource the links end at, and the attribute of the entry naming it.
    target_kind = ""
    target_attribute = ""
    #: The VM methods hot-plugging and unplugging an entry.
    attach_method = ""
    detach_method = ""

    def __init__(self, computes: Computes, targets: Collection) -> None:
        self.computes = computes
        #: The collection the links' targets are kept in (storages, networks).
        self.targets = targets
        self.api = computes.api
        self.tenancy = computes.tenancy
        self.locate = computes.locate
        self._pattern = re.compile(rf"(\d+)-{self.infix}-(\d+)")

    def may_hold(self, kind_id: str, entity_id: str) -> bool:
        """Only ids of this collection's shape."""
        return self._pattern.fullmatch(entity_id) is not None

    def entries(self, vm: Any) -> list[dict[str, Any]]:
        """The vector entries of the VM that are links here."""
        return [e for e in one_list(body(vm).get(self.vector)) if e.get(self.target_attribute)]

    def target_id(self, entry: Mapping[str, Any]) -> str:
        """The OCCI id of the resource an entry ends at."""
        return str(entry[self.target_attribute])

    async def target_number(self, tenant: Tenant, target: str) -> int:
        """The OpenNebula id of the resource with OCCI id `target` (a 400 for an id no
        resource here can have)."""
        if not target.isdigit():
            raise InvalidRequestError(
                f"the target {self.locate(self.target_kind, target)} is none of your "
                f"{self.target_kind.rsplit('#', 1)[-1]}s"
            )
        return int(target)

    def link(self, vm: Any, entry: Mapping[str, Any]) -> Link:
        """One entry of a VM as a link."""
        link_id = f"{vm.ID}-{self.infix}-{entry[self.id_attribute]}"
        kind = self.kinds[0]
        link = Link(
            kind=kind,
            attributes={
                CORE_ID: link_id,
                CORE_SOURCE: self.locate(COMPUTE.id, str(vm.ID)),
                CORE_TARGET: self.locate(self.target_kind, self.target_id(entry)),
            },
        )
        link.location = self.locate(kind, link_id)
        self.describe(link, vm, entry)
        return link

    def describe(self, link: Link, vm: Any, entry: Mapping[str, Any]) -> None:
        """Add the link kind's own attributes."""

    def links_in(self, vm: Any) -> list[Link]:
        """The VM's links of this kind."""
        return [self.link(vm, entry) for entry in self.entries(vm)]

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The links of the group's VMs, read a page of VMs at a time."""
        if self.kinds[0] not in query.kinds:
            return

        async def every() -> AsyncIterator[Entity]:
            async for vm in self.computes.vms(tenant):
                for link in self.links_in(vm):
                    yield link

        async for entity in query.apage(every()):
            yield entity

    async def _found(self, tenant: Tenant, entity_id: str) -> tuple[Any, Any, dict[str, Any]]:
        match = self._pattern.fullmatch(entity_id)
        if match is None:
            raise EntityNotFoundError(f"no link with id {entity_id!r}")
        acting = await self.tenancy.acting(tenant)
        try:
            vm = await self.computes.vm(acting, match.group(1))
        except EntityNotFoundError:
            raise EntityNotFoundError(f"no link with id {entity_id!r}") from None
        for entry in self.entries(vm):
            if str(entry.get(self.id_attribute)) == match.group(2):
                return acting, vm, entry
        raise EntityNotFoundError(f"no link with id {entity_id!r}")

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One link."""
        _, vm, entry = await self._found(tenant, entity_id)
        return self.link(vm, entry)

    def _ends(self, entity: Entity) -> tuple[str, str]:
        source = _last(entity.attributes.get(CORE_SOURCE))
        target = _last(entity.attributes.get(CORE_TARGET))
        if source is None or not source.isdigit() or target is None:
            raise InvalidRequestError(
                f"a link here joins one of your computes to one of your "
                f"{self.target_kind.rsplit('#', 1)[-1]} resources; got "
                f"{entity.attributes.get(CORE_SOURCE)!r} -> {entity.attributes.get(CORE_TARGET)!r}"
            )
        return source, target

    async def attach(self, acting: Any, vm_id: int, target_id: int) -> None:
        """Hot-plug the target into the VM."""
        entry = template_text({self.vector: {self.target_attribute: target_id}})
        await self.api.call(acting.session, self.attach_method, vm_id, entry)

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Unplug it."""
        acting, vm, entry = await self._found(tenant, entity.id or "")
        detached = int(entry[self.id_attribute])
        await self.api.call(acting.session, self.detach_method, int(vm.ID), detached)

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Hot-plug the target into the source VM; the link is the new entry."""
        source, target = self._ends(entity)
        acting = await self.tenancy.acting(tenant)
        vm = await self.computes.vm(acting, source)
        before = {str(e.get(self.id_attribute)) for e in self.entries(vm)}
        await self.target_check(tenant, target)
        number = await self.target_number(tenant, target)
        await self.attach(acting, int(vm.ID), number)
        after = await self.computes.vm(acting, source)
        for entry in self.entries(after):
            if str(entry.get(self.id_attribute)) not in before and str(
                entry.get(self.target_attribute)
            ) == str(number):
                return self.link(after, entry)
        raise EntityNotFoundError(f"OpenNebula shows no new {self.vector} on compute {source}")

    async def entry_at_creation(self, tenant: Tenant, link: Link) -> dict[str, Any]:
        """The vector entry (a DISK, a NIC) that makes `link` with the VM being created;
        a 400 naming a target that is none of the tenant's."""
        target = _last(link.attributes.get(CORE_TARGET))
        if target is None:
            raise InvalidRequestError(
                f"a link made with a compute here ends at one of your "
                f"{self.target_kind.rsplit('#', 1)[-1]} resources; got "
                f"{link.attributes.get(CORE_TARGET)!r}"
            )
        await self.target_check(tenant, target)
        return {self.target_attribute: await self.target_number(tenant, target)}

    async def target_check(self, tenant: Tenant, target: str) -> None:
        """Refuse a target that is not one of the tenant's resources (a 400 naming it)."""
        try:
            await self.targets.get(tenant, self.target_kind, target)
        except EntityNotFoundError:
            what = self.target_kind.rsplit("#", 1)[-1]
            raise InvalidRequestError(
                f"the target {self.locate(self.target_kind, target)} is none of your {what}s"
            ) from None

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """A link keeps its ends and what oned made of it."""
        if self._ends(desired) != self._ends(current):
            raise InvalidRequestError(f"{current.location} keeps its ends; delete it and link anew")
        return await self.get(tenant, current.kind or "", current.id or "")


class StorageLinks(VmLinks):
    """Disks made from the tenant's storages."""

    kinds = (STORAGELINK.id,)
    vector, id_attribute, infix = "DISK", "DISK_ID", "disk"
    target_kind, target_attribute = STORAGE.id, "IMAGE_ID"
    attach_method, detach_method = "vm.attach", "vm.detach"

    def entries(self, vm: Any) -> list[dict[str, Any]]:
        """Disks of persistent images: the storages (the OS disk is the template's copy)."""
        return [e for e in super().entries(vm) if str(e.get("PERSISTENT", "")).upper() == "YES"]

    def describe(self, link: Link, vm: Any, entry: Mapping[str, Any]) -> None:
        hotplug = int(vm.LCM_STATE) in (states.LCM.HOTPLUG, states.LCM.HOTPLUG_PROLOG_POWEROFF)
        link.attributes["occi.storagelink.deviceid"] = f"/dev/{entry.get('TARGET', '')}"
        link.attributes["occi.storagelink.state"] = "waiting" if hotplug else "active"


class Interfaces(VmLinks):
    """NICs on the tenant's networks, and on the site's public network (``/network/public``,
    when one is configured)."""

    kinds = (NETWORKINTERFACE.id,)
    mixins = frozenset({IPNETWORKINTERFACE.id})
    vector, id_attribute, infix = "NIC", "NIC_ID", "nic"
    target_kind, target_attribute = NETWORK.id, "NETWORK_ID"
    attach_method, detach_method = "vm.attachnic", "vm.detachnic"

    def target_id(self, entry: Mapping[str, Any]) -> str:
        """``public`` for a NIC on the public network, else the network's id."""
        found = str(entry[self.target_attribute])
        return PUBLIC if found == str(self.targets.public_id) else found

    async def target_number(self, tenant: Tenant, target: str) -> int:
        """The public network's virtual network for ``public``."""
        if target == PUBLIC:
            public = await self.targets.public_number(await self.tenancy.acting(tenant))
            if public is not None:
                return public
        return await super().target_number(tenant, target)

    def describe(self, link: Link, vm: Any, entry: Mapping[str, Any]) -> None:
        link.mixins = [IPNETWORKINTERFACE.id]
        link.attributes.update(
            {
                "occi.networkinterface.interface": f"eth{entry.get('NIC_ID')}",
                "occi.networkinterface.mac": entry.get("MAC"),
                "occi.networkinterface.address": entry.get("IP"),
                "occi.networkinterface.allocation": "dynamic",
                "occi.networkinterface.state": "active",
            }
        )
        if entry.get("GATEWAY"):
            link.attributes["occi.networkinterface.gateway"] = entry["GATEWAY"]

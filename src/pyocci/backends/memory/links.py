"""The memory backend's links: storage attached to computes, computes on networks.

A link starts at one of the tenant's computes and ends at one of its
storages (storagelink) or networks (networkinterface); its ends never
change. A resource that links still target is not deleted: detach first.
Like a cloud, memory names the device a link makes in the compute (GFD.224
gives every storage link a device id, every interface a device name and a
MAC address) when the client does not.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping

from pyocci.backends.api import ConflictError, InvalidRequestError, Tenant
from pyocci.backends.kit import ActionHandler
from pyocci.backends.memory.kept import Kept, term
from pyocci.backends.memory.shelf import path_of
from pyocci.model import infrastructure as infra
from pyocci.model.entity import CORE_SOURCE, CORE_TARGET, Entity, Link

#: The kind of resource each link kind ends at.
TARGETS = {infra.NETWORKINTERFACE.id: infra.NETWORK.id, infra.STORAGELINK.id: infra.STORAGE.id}
DEVICE_ID = "occi.storagelink.deviceid"
INTERFACE = "occi.networkinterface.interface"
MAC = "occi.networkinterface.mac"


class Links(Kept):
    """Network interfaces and storage links, from the tenant's computes."""

    kinds = (infra.NETWORKINTERFACE.id, infra.STORAGELINK.id)
    mixins = frozenset({infra.IPNETWORKINTERFACE.id})

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """What the links' state machines drive: an interface up or down, an attachment
        online or offline."""
        return self.moves(
            infra.INTERFACE_UP.id,
            infra.INTERFACE_DOWN.id,
            infra.LINK_ONLINE.id,
            infra.LINK_OFFLINE.id,
        )

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Keep the link, with the device names the compute gives it where the client
        gave none: the next disk (``/dev/vdb``, ...), the next interface (``eth0``, ...)."""
        named = copy.deepcopy(entity)
        if named.kind in TARGETS:
            source = path_of(named.attributes.get(CORE_SOURCE))
            siblings = [
                link for link in self.shelf.links_from(tenant.id, source) if link.kind == named.kind
            ]
            for name, value in devices(named, len(siblings)).items():
                named.attributes.setdefault(name, value)
        return await super().create(tenant, named)

    def check(self, tenant: Tenant, entity: Entity) -> None:
        """A link joins the tenant's compute to the tenant's resource of the right kind."""
        if not isinstance(entity, Link):
            raise InvalidRequestError(f"a {term(entity.kind)} needs a source and a target")
        wanted = {"source": infra.COMPUTE.id, "target": TARGETS[entity.kind or ""]}
        for end, kind in wanted.items():
            location = getattr(entity, end)
            found = self.shelf.find(tenant.id, path_of(location)) if location else None
            if found is None or found.kind != kind:
                raise InvalidRequestError(
                    f"the {end} {location!r} of a {term(entity.kind)} must be one of your "
                    f"{term(kind)} resources"
                )

    def check_update(self, current: Entity, desired: Entity) -> None:
        """A link's ends stay where they are."""
        if ends(desired) != ends(current):
            raise ConflictError(f"{current.location} keeps its ends; delete it and link anew")


def ends(link: Entity) -> tuple[str, str]:
    """A link's source and target, as paths."""
    return path_of(link.attributes.get(CORE_SOURCE)), path_of(link.attributes.get(CORE_TARGET))


def devices(link: Entity, number: int) -> dict[str, str]:
    """The device attributes of the `number`th link of its kind from a compute."""
    if link.kind == infra.STORAGELINK.id:
        return {DEVICE_ID: f"/dev/vd{chr(ord('b') + number % 25)}"}
    # A locally administered address (02:...), the same for the same link.
    digest = hashlib.sha256((link.location or "").encode()).digest()
    return {INTERFACE: f"eth{number}", MAC: "02:" + ":".join(f"{b:02x}" for b in digest[:5])}

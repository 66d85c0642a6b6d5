"""OpenNebula virtual networks as OCCI networks, with one IPv4 address range each.

A network is a virtual network of the tenant's group, instantiated from the
configured VN template (or, for sites whose tenants administer a cluster,
allocated with the configured driver and bridge), with one address range:
``occi.network.address`` (a CIDR, required) gives its first usable address
and size, ``occi.network.gateway`` its gateway. Up and down are not offered:
oned has no such switch. A network oned is deleting is gone.

With ``public_network`` set, ``/network/public`` is that virtual network (the
site's, shared with the tenants): listed first, read with the tenant's own
session, neither changed nor deleted through OCCI; a networkinterface to it
is a NIC on it, an address of the site's public range.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import (
    BackendUnavailableError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.backends.kit import Collection
from pyocci.backends.opennebula.api import OneApi
from pyocci.backends.opennebula.compute import GROUP_SHARED
from pyocci.backends.opennebula.records import body, listed, template_text
from pyocci.backends.opennebula.tenancy import Acting, Tenancy, read_owned
from pyocci.model.entity import CORE_ID, CORE_SUMMARY, CORE_TITLE, Entity, Resource
from pyocci.model.infrastructure import IPNETWORK, NETWORK

#: The id of the site's public network.
PUBLIC = "public"
ADDRESS = "occi.network.address"
GATEWAY = "occi.network.gateway"
#: Virtual network states (oned's VirtualNetwork::VirtualNetworkState).
READY, LOCK_DELETE, DONE = 1, 3, 4
_STATE_NAMES = ("INIT", "READY", "LOCK_CREATE", "LOCK_DELETE", "DONE", "ERROR", "UPDATE_FAILURE")


def address_range(cidr: Any, gateway: Any) -> dict[str, Any]:
    """The AR (and network attributes) for a CIDR; a 400 naming the attribute otherwise."""
    try:
        network = ipaddress.IPv4Network(str(cidr), strict=False)
    except ValueError:
        raise InvalidRequestError(
            f"{ADDRESS} must be an IPv4 network such as 10.1.0.0/24; got {cidr!r}"
        ) from None
    hosts = list(network.hosts()) if network.num_addresses <= 65536 else None
    if hosts is not None and not hosts:
        raise InvalidRequestError(f"{ADDRESS} {cidr!r} has no addresses for hosts")
    first = hosts[0] if hosts else network.network_address + 1
    size = len(hosts) if hosts else network.num_addresses - 2
    attributes: dict[str, Any] = {
        "NETWORK_ADDRESS": str(network.network_address),
        "NETWORK_MASK": str(network.netmask),
        "AR": {"TYPE": "IP4", "IP": str(first), "SIZE": size},
    }
    if gateway:
        try:
            attributes["GATEWAY"] = str(ipaddress.IPv4Address(str(gateway)))
        except ValueError:
            raise InvalidRequestError(
                f"{GATEWAY} must be an IPv4 address; got {gateway!r}"
            ) from None
    return attributes


class Networks(Collection):
    """The tenant group's virtual networks."""

    kinds = (NETWORK.id,)
    mixins = frozenset({IPNETWORK.id})
    required: Mapping[str, tuple[str, ...]] = {NETWORK.id: (ADDRESS,)}

    def __init__(self, api: OneApi, tenancy: Tenancy, locate: Any) -> None:
        self.api = api
        self.tenancy = tenancy
        self.locate = locate
        self.settings = api.settings
        named = self.settings.public_network
        #: The public network's virtual network id, once known (named by id: at once).
        self.public_id: int | None = int(named) if named and named.isdigit() else None

    async def public_number(self, acting: Acting) -> int | None:
        """The public network's virtual network id (looked up once when it is named by
        name); None when none is configured."""
        named = self.settings.public_network
        if named is None or self.public_id is not None:
            return self.public_id
        pool = await self.api.call(acting.session, "vnpool.info", -2, -1, -1)
        for vnet in listed(pool, "VNET"):
            if named == vnet.NAME:
                self.public_id = int(vnet.ID)
                return self.public_id
        raise BackendUnavailableError(
            f"backend_settings.public_network: no virtual network {named!r} the tenants may "
            "use; share it with their groups (USE)",
            retry_after=self.settings.retry_after,
        )

    async def public(self, acting: Acting) -> Resource:
        """``/network/public``: 404 where none is configured."""
        number = await self.public_number(acting)
        if number is None:
            raise EntityNotFoundError("this site offers no public network")
        resource = self.network(await self.api.call(acting.session, "vn.info", number, False))
        resource.attributes[CORE_ID] = PUBLIC
        resource.attributes[CORE_SUMMARY] = (
            "The site's public network: link a compute here for a public address"
        )
        resource.location = self.locate(NETWORK.id, PUBLIC)
        return resource

    def network(self, vnet: Any) -> Resource:
        """A virtual network as a network."""
        vn_body = body(vnet)
        state = int(getattr(vnet, "STATE", READY) or READY)
        attributes: dict[str, Any] = {
            CORE_ID: str(vnet.ID),
            CORE_TITLE: vnet.NAME,
            "occi.network.state": "active" if state == READY else "inactive",
            "occi.network.state.message": "OpenNebula "
            + (_STATE_NAMES[state] if 0 <= state < len(_STATE_NAMES) else str(state)),
        }
        mixins = []
        if vn_body.get("NETWORK_ADDRESS") and vn_body.get("NETWORK_MASK"):
            network = ipaddress.IPv4Network(
                f"{vn_body['NETWORK_ADDRESS']}/{vn_body['NETWORK_MASK']}", strict=False
            )
            attributes[ADDRESS] = str(network)
            attributes["occi.network.allocation"] = "dynamic"
            if vn_body.get("GATEWAY"):
                attributes[GATEWAY] = vn_body["GATEWAY"]
            mixins.append(IPNETWORK.id)
        resource = Resource(kind=NETWORK.id, mixins=mixins, attributes=attributes, links=[])
        resource.location = self.locate(NETWORK.id, str(vnet.ID))
        return resource

    async def vnet(self, acting: Acting, entity_id: str) -> Any:
        """The tenant's virtual network; not found for anything else."""
        vnet = await read_owned(self.api, acting, "vn.info", entity_id, "network")
        if int(getattr(vnet, "STATE", READY) or READY) in (LOCK_DELETE, DONE):
            raise EntityNotFoundError(f"no network with id {entity_id!r}")
        return vnet

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The group's networks, one vnpool.info per page."""
        if NETWORK.id not in query.kinds:
            return
        acting = await self.tenancy.acting(tenant)

        async def every() -> AsyncIterator[Entity]:
            if self.settings.public_network is not None:
                yield await self.public(acting)
            vnets = self.api.pool(acting.session, "vnpool.info", "VNET")
            async with aclosing(vnets):
                async for vnet in vnets:
                    if int(getattr(vnet, "STATE", READY) or READY) not in (LOCK_DELETE, DONE):
                        yield self.network(vnet)

        async for entity in query.apage(every()):
            yield entity

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One network (``public``: the site's public network)."""
        acting = await self.tenancy.acting(tenant)
        if entity_id == PUBLIC:
            return await self.public(acting)
        return self.network(await self.vnet(acting, entity_id))

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """A virtual network with one address range."""
        acting = await self.tenancy.acting(tenant)
        name = entity.title or f"occi-network-{uuid.uuid4().hex[:12]}"
        attributes = address_range(entity.attributes.get(ADDRESS), entity.attributes.get(GATEWAY))
        template = self.settings.network_template
        if template is not None:
            template_id = await self._vn_template(acting, template)
            text = template_text(attributes)
            vnet_id = await self.api.call(
                acting.session, "vntemplate.instantiate", template_id, name, text
            )
        else:
            attributes.update(NAME=name, VN_MAD=self.settings.network_driver)
            if self.settings.network_bridge:
                attributes["BRIDGE"] = self.settings.network_bridge
            text = template_text(attributes)
            vnet_id = await self.api.call(acting.session, "vn.allocate", text, -1)
        await self.api.call(acting.session, "vn.chmod", vnet_id, *GROUP_SHARED)
        return self.network(await self.vnet(acting, str(vnet_id)))

    async def _vn_template(self, acting: Acting, template: str) -> int:
        """The id of the configured VN template (named by id, or by name)."""
        if template.isdigit():
            return int(template)
        pool = await self.api.call(acting.session, "vntemplatepool.info", -2, -1, -1)
        for found in listed(pool, "VNTEMPLATE"):
            if template == found.NAME:
                return int(found.ID)
        raise BackendUnavailableError(
            f"backend_settings.network_template: no VN template {template!r} this tenant "
            "may use; share it with the tenants' groups",
            retry_after=self.settings.retry_after,
        )

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Rename; the address range stays as it was made."""
        if current.id == PUBLIC:
            raise ConflictError("/network/public is the site's and cannot be changed")
        acting = await self.tenancy.acting(tenant)
        vnet = await self.vnet(acting, current.id or "")
        for name in (ADDRESS, GATEWAY):
            if desired.attributes.get(name, current.attributes.get(name)) != (
                current.attributes.get(name)
            ):
                raise NotSupportedError(f"{name} stays as the network was made on OpenNebula")
        if desired.title and desired.title != current.title:
            await self.api.call(acting.session, "vn.rename", int(vnet.ID), desired.title)
        return self.network(await self.vnet(acting, str(vnet.ID)))

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete the virtual network (oned refuses while VMs use it: a conflict)."""
        if entity.id == PUBLIC:
            raise ConflictError("/network/public is the site's and cannot be deleted")
        acting = await self.tenancy.acting(tenant)
        vnet = await self.vnet(acting, entity.id or "")
        await self.api.call(acting.session, "vn.delete", int(vnet.ID))

"""Neutron networks as OCCI networks: a network and its subnet are one ipnetwork.

A network made through OCCI is a Neutron network with one subnet:
``occi.network.address`` is the subnet's CIDR, ``occi.network.gateway`` its
gateway and ``occi.network.allocation`` ``dynamic`` when Neutron's DHCP
serves it, ``static`` otherwise. ``up`` and ``down`` set the network's
``admin_state_up``. Each network carries its tenant's tag (Neutron tags), so
a tenant lists and reads only its own.

The cloud's external networks are one OCCI network, ``/network/public``
(as on EC2): a networkinterface to it gives a compute a floating IP (see
`interfaces`). The routers that make a floating IP reachable are made here
too (`Routers`), one per tenant, and taken off a network before it is deleted.

Listing: ``/network/public`` first, then the tenant's networks, one Neutron
call per page of networks (Neutron's paging markers followed) and one
batched call for the subnets of that page; the title and ids are filters
Neutron applies.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import openstack.exceptions as sdk_exceptions

from pyocci.backends.api import ActionOutcome, Query, Tenant
from pyocci.backends.errors import ConflictError, EntityNotFoundError, InvalidRequestError
from pyocci.backends.kit import ActionHandler, Collection
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.backends.openstack.compute import Locate, tenant_tag
from pyocci.model.entity import CORE_ID, CORE_SUMMARY, CORE_TITLE, Entity, Resource
from pyocci.model.infrastructure import DOWN, IPNETWORK, NETWORK, UP

#: A Neutron record, as its API answers it (JSON).
Record = Mapping[str, Any]

#: The id of the cloud's external networks as one OCCI network.
PUBLIC = "public"
ADDRESS = "occi.network.address"
GATEWAY = "occi.network.gateway"
ALLOCATION = "occi.network.allocation"
STATE = "occi.network.state"

#: OCCI attributes Neutron filters on, and the Neutron field each is.
_PUSHED_DOWN = {CORE_TITLE: "name"}


def network_state(network: Record) -> str:
    """The occi.network.state of a Neutron network: down by its admin is inactive."""
    status = network.get("status")
    if status == "ERROR":
        return "error"
    if not network.get("admin_state_up", True) or status != "ACTIVE":
        return "inactive"
    return "active"


def first_subnet(subnets: Iterable[Record]) -> Record | None:
    """The subnet an OCCI network shows: its first IPv4 subnet, else its first."""
    subnets = list(subnets)
    return next((s for s in subnets if s.get("ip_version") == 4), subnets[0] if subnets else None)


def to_network(network: Record, subnet: Record | None, locate: Locate) -> Resource:
    """A Neutron network (and its subnet) as an OCCI network."""
    admin = "up" if network.get("admin_state_up", True) else "down"
    attributes: dict[str, Any] = {
        CORE_ID: network["id"],
        STATE: network_state(network),
        "occi.network.state.message": f"Neutron status {network.get('status')}, admin {admin}",
    }
    if network.get("name"):
        attributes[CORE_TITLE] = network["name"]
    if network.get("description"):
        attributes[CORE_SUMMARY] = network["description"]
    mixins: list[str] = []
    if subnet is not None:
        mixins.append(IPNETWORK.id)
        attributes[ADDRESS] = subnet["cidr"]
        if subnet.get("gateway_ip"):
            attributes[GATEWAY] = subnet["gateway_ip"]
        attributes[ALLOCATION] = "dynamic" if subnet.get("enable_dhcp") else "static"
    resource = Resource(kind=NETWORK.id, mixins=mixins, attributes=attributes)
    resource.location = locate(NETWORK.id, network["id"])
    return resource


def public_network(locate: Locate) -> Resource:
    """The cloud's external networks, reached through floating IPs: ``/network/public``."""
    resource = Resource(
        kind=NETWORK.id,
        attributes={
            CORE_ID: PUBLIC,
            CORE_TITLE: "Public network",
            CORE_SUMMARY: (
                "Link a compute here to give it a floating IP; delete the link to release it"
            ),
            STATE: "active",
            "occi.network.label": PUBLIC,
        },
    )
    resource.location = locate(NETWORK.id, PUBLIC)
    return resource


def _cidr(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(
            f"a network on OpenStack needs {ADDRESS}, the CIDR of its subnet (e.g. 10.0.0.0/24)"
        )
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise InvalidRequestError(
            f"{ADDRESS} must be a CIDR such as 10.0.0.0/24, not {value!r}"
        ) from None


def _gateway(value: Any, cidr: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str | None:
    if value in (None, ""):
        return None
    try:
        gateway = ipaddress.ip_address(str(value))
    except ValueError:
        raise InvalidRequestError(f"{GATEWAY} must be an IP address, not {value!r}") from None
    if gateway not in cidr:
        raise InvalidRequestError(f"{GATEWAY} {gateway} is not in {cidr}")
    return str(gateway)


def _dhcp(value: Any) -> bool:
    if value in (None, "", "dynamic"):
        return True
    if value == "static":
        return False
    raise InvalidRequestError(f"{ALLOCATION} must be dynamic (DHCP) or static, not {value!r}")


_NEUTRON_ID = re.compile(r"[0-9a-fA-F][0-9a-fA-F-]{0,63}")


def is_neutron_id(value: str) -> bool:
    """Whether a value can be a Neutron id (a UUID): anything else would not be a path
    segment of Neutron's API, and names nothing there."""
    return _NEUTRON_ID.fullmatch(value) is not None


def neutron_request(connection: Any, method: str, path: str, **kwargs: Any) -> Any:
    """One request to the network API; its JSON answer (None for 204)."""
    response = connection.network.request(path, method, **kwargs)
    sdk_exceptions.raise_from_response(response)
    return response.json() if response.content else None


class Routers:
    """The routers that connect a tenant's networks to the public network.

    A floating IP reaches a port only through a router between the port's
    subnet and the external network. One router per tenant (named and
    tagged after it) is made when first needed; its interfaces are taken off
    a network before the network is deleted.
    """

    def __init__(self, api: OpenStackApi) -> None:
        self.api = api

    async def router_for(self, tenant: Tenant, external_network_id: str) -> Record:
        """The tenant's router, made (with its gateway to the external network) if missing."""
        tag = tenant_tag(tenant)

        def find_or_make(connection: Any) -> Record:
            found = neutron_request(connection, "GET", "/routers", params={"tags": tag})["routers"]
            if found:
                return found[0]
            body = {"name": tag, "external_gateway_info": {"network_id": external_network_id}}
            router = neutron_request(connection, "POST", "/routers", json={"router": body})[
                "router"
            ]
            neutron_request(connection, "PUT", f"/routers/{router['id']}/tags/{tag}")
            return router

        return await self.api.call(find_or_make)

    async def connect(self, tenant: Tenant, external_network_id: str, subnet_id: str) -> None:
        """Route a subnet to the external network through the tenant's router."""
        router = await self.router_for(tenant, external_network_id)

        def add(connection: Any) -> None:
            neutron_request(
                connection,
                "PUT",
                f"/routers/{router['id']}/add_router_interface",
                json={"subnet_id": subnet_id},
            )

        await self.api.call(add)

    async def disconnect(self, tenant: Tenant, network_id: str) -> None:
        """Take the tenant's router off a network (before the network is deleted)."""
        tag = tenant_tag(tenant)

        def remove(connection: Any) -> None:
            routers = neutron_request(connection, "GET", "/routers", params={"tags": tag})[
                "routers"
            ]
            if not routers:
                return
            ours = {router["id"] for router in routers}
            ports = neutron_request(
                connection,
                "GET",
                "/ports",
                params={"network_id": network_id, "device_owner": "network:router_interface"},
            )["ports"]
            for port in ports:
                if port["device_id"] in ours:
                    neutron_request(
                        connection,
                        "PUT",
                        f"/routers/{port['device_id']}/remove_router_interface",
                        json={"port_id": port["id"]},
                    )

        await self.api.call(remove)


class Networks(Collection):
    """Everything the backend does with Neutron networks."""

    kinds = (NETWORK.id,)
    mixins = frozenset({IPNETWORK.id})
    required = {NETWORK.id: (ADDRESS,)}

    def __init__(self, api: OpenStackApi, locate: Locate) -> None:
        self.api = api
        self.locate = locate
        self.routers = Routers(api)

    async def network(self, tenant: Tenant, network_id: str) -> Record:
        """The tenant's Neutron network; not found for other tenants' networks too."""
        if not is_neutron_id(network_id):
            raise EntityNotFoundError(f"no network with id {network_id!r}")

        def read(connection: Any) -> Record:
            return neutron_request(connection, "GET", f"/networks/{network_id}")["network"]

        try:
            network = await self.api.call(read)
        except EntityNotFoundError:
            network = None
        if network is None or not self._owns(tenant, network):
            raise EntityNotFoundError(f"no network with id {network_id!r}")
        return network

    def _owns(self, tenant: Tenant, network: Record) -> bool:
        # Callers acting in their own projects own whatever Neutron shows them.
        return not self.api.isolates_tenants or tenant_tag(tenant) in (network.get("tags") or [])

    async def subnets(self, network_ids: Sequence[str]) -> dict[str, Record]:
        """The subnet each network shows, read in one call for all of them."""
        if not network_ids:
            return {}

        def read(connection: Any) -> list[Record]:
            params = {"network_id": list(network_ids)}
            return neutron_request(connection, "GET", "/subnets", params=params)["subnets"]

        by_network: dict[str, list[Record]] = {}
        for subnet in await self.api.call(read):
            by_network.setdefault(subnet["network_id"], []).append(subnet)
        return {
            network_id: subnet
            for network_id, found in by_network.items()
            if (subnet := first_subnet(found)) is not None
        }

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Resource:
        """One network (``public`` is the external networks)."""
        if entity_id == PUBLIC:
            return public_network(self.locate)
        network = await self.network(tenant, entity_id)
        subnet = (await self.subnets([network["id"]])).get(network["id"])
        return to_network(network, subnet, self.locate)

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """``public``, then the tenant's networks: one call per Neutron page of networks
        and one for their subnets."""
        if NETWORK.id not in query.kinds:
            return
        async for entity in query.apage(self._all(tenant, query)):
            yield entity

    async def _all(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        yield public_network(self.locate)
        params: dict[str, Any] = {}
        if self.api.isolates_tenants:
            params["tags"] = tenant_tag(tenant)
        else:
            # The caller's project: its own networks, not the shared or external ones.
            params["router:external"] = "false"
        exact = not (query.mixins or query.any_mixins)
        for name, value in query.attributes.items():
            if name in _PUSHED_DOWN and isinstance(value, str):
                params[_PUSHED_DOWN[name]] = value
            else:
                exact = False
        if query.ids is not None:
            wanted = sorted(query.ids - {PUBLIC})
            if not wanted:
                return
            params["id"] = wanted
        # With every filter applied by Neutron, the OCCI page needs no more networks than
        # its end (one more tells the pager it is full without asking again); otherwise
        # filtered-out networks make the number unknown.
        size = self.api.settings.page_size
        if exact and query.limit is not None:
            size = min(size, query.offset + query.limit + 1)
        async for networks in self._pages(params, size):
            subnets = await self.subnets([network["id"] for network in networks])
            for network in networks:
                yield to_network(network, subnets.get(network["id"]), self.locate)

    async def _pages(self, params: dict[str, Any], size: int) -> AsyncIterator[list[Record]]:
        """Neutron's networks matching `params`, a page at a time, markers followed."""

        def page(connection: Any, marker: str | None) -> tuple[list[Record], bool]:
            asked = {**params, "limit": size}
            if marker is not None:
                asked["marker"] = marker
            body = neutron_request(connection, "GET", "/networks", params=asked)
            links = body.get("networks_links") or []
            return body["networks"], any(link.get("rel") == "next" for link in links)

        marker = None
        while True:
            found, more = await self.api.call(page, marker)
            if found:
                yield found
            if not (more and found):
                return
            marker = found[-1]["id"]

    async def create(self, tenant: Tenant, entity: Entity) -> Resource:
        """A network and its subnet, tagged with the tenant."""
        if not isinstance(entity, Resource):
            raise InvalidRequestError("a network is a resource, not a link")
        cidr = _cidr(entity.attributes.get(ADDRESS))
        gateway = _gateway(entity.attributes.get(GATEWAY), cidr)
        dhcp = _dhcp(entity.attributes.get(ALLOCATION))
        tag = tenant_tag(tenant)
        body: dict[str, Any] = {"name": entity.title or "occi-network", "admin_state_up": True}
        if entity.summary:
            body["description"] = entity.summary

        def make(connection: Any) -> tuple[Record, Record]:
            network = neutron_request(connection, "POST", "/networks", json={"network": body})[
                "network"
            ]
            try:
                # Neutron takes tags in a POST for ports only.
                neutron_request(connection, "PUT", f"/networks/{network['id']}/tags/{tag}")
                subnet_body: dict[str, Any] = {
                    "network_id": network["id"],
                    "name": body["name"],
                    "ip_version": cidr.version,
                    "cidr": str(cidr),
                    "enable_dhcp": dhcp,
                }
                if gateway is not None:
                    subnet_body["gateway_ip"] = gateway
                subnet = neutron_request(
                    connection, "POST", "/subnets", json={"subnet": subnet_body}
                )
            except Exception:
                # No half-made network left behind (untagged, no tenant would see it).
                neutron_request(connection, "DELETE", f"/networks/{network['id']}")
                raise
            network["tags"] = [tag]
            return network, subnet["subnet"]

        network, subnet = await self.api.call(make)
        return to_network(network, subnet, self.locate)

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Resource:
        """Change the title, summary or allocation; the address and gateway stay."""
        if current.id == PUBLIC:
            raise ConflictError("/network/public is the cloud's and cannot be changed")
        network = await self.network(tenant, current.id or "")
        for name in (ADDRESS, GATEWAY):
            if desired.attributes.get(name, current.attributes.get(name)) != (
                current.attributes.get(name)
            ):
                raise InvalidRequestError(
                    f"{name} of a Neutron subnet cannot change; make another network"
                )
        changes: dict[str, Any] = {}
        if desired.title and desired.title != current.title:
            changes["name"] = desired.title
        summary = desired.attributes.get(CORE_SUMMARY)
        if summary is not None and summary != current.attributes.get(CORE_SUMMARY):
            changes["description"] = summary
        allocation = desired.attributes.get(ALLOCATION)
        dhcp = None
        if allocation is not None and allocation != current.attributes.get(ALLOCATION):
            dhcp = _dhcp(allocation)
        subnet = (await self.subnets([network["id"]])).get(network["id"])
        if dhcp is not None and subnet is None:
            raise InvalidRequestError(f"this network has no subnet, so no {ALLOCATION}")

        def change(connection: Any) -> None:
            if changes:
                neutron_request(
                    connection, "PUT", f"/networks/{network['id']}", json={"network": changes}
                )
            if dhcp is not None and subnet is not None:
                neutron_request(
                    connection,
                    "PUT",
                    f"/subnets/{subnet['id']}",
                    json={"subnet": {"enable_dhcp": dhcp}},
                )

        await self.api.call(change)
        return await self.get(tenant, NETWORK.id, network["id"])

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete the network and its subnets (409 while computes use it)."""
        if entity.id == PUBLIC:
            raise ConflictError("/network/public is the cloud's and cannot be deleted")
        network = await self.network(tenant, entity.id or "")
        # The tenant's router, made for floating IPs, would keep the network in use.
        await self.routers.disconnect(tenant, network["id"])
        await self.api.call(lambda c: neutron_request(c, "DELETE", f"/networks/{network['id']}"))

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """up and down: the network's admin_state_up."""
        return {
            UP.id: functools.partial(self._switch, True),
            DOWN.id: functools.partial(self._switch, False),
        }

    async def _switch(
        self, up: bool, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        if entity.id == PUBLIC:
            raise ConflictError("/network/public is the cloud's and cannot be switched")
        network = await self.network(tenant, entity.id or "")
        body = {"network": {"admin_state_up": up}}
        await self.api.call(
            lambda c: neutron_request(c, "PUT", f"/networks/{network['id']}", json=body)
        )
        return ActionOutcome(entity=await self.get(tenant, NETWORK.id, network["id"]))

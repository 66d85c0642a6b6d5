"""Neutron ports and floating IPs as OCCI networkinterfaces from computes.

A networkinterface from a compute to one of the tenant's networks is a
Neutron port on the server: asked for at creation (Nova's ``networks`` boot
argument) or at run time (Nova's ``os-interface`` API, Nova makes the port),
removed through Nova too. Its id is the port's id.

A networkinterface to ``/network/public`` is a floating IP from the cloud's
external network, associated with the server's first port: creating the link
allocates and associates it (through the tenant's router, made if the port's
subnet is not yet routed to the external network), deleting it releases it.
Its id is the port's id followed by ``_public`` (as on EC2).

The links of a page of servers are read with one Neutron call for their ports
(``device_id`` repeated) and one for the floating IPs on those ports; which
networks are external is read once per `template_ttl`. A listing of
networkinterfaces reads the tenant's servers a Nova page at a time (ids only)
and their links so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.backends.expiring import Expiring
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.backends.openstack.compute import Locate, ServerLinks, server_pages, tenant_tag
from pyocci.backends.openstack.network import (
    PUBLIC,
    Networks,
    Record,
    is_neutron_id,
    neutron_request,
)
from pyocci.model.entity import CORE_ID, CORE_SOURCE, CORE_TARGET, Entity, Link
from pyocci.model.infrastructure import COMPUTE, IPNETWORKINTERFACE, NETWORK, NETWORKINTERFACE

PUBLIC_SUFFIX = "_" + PUBLIC
ADDRESS = "occi.networkinterface.address"

_PORT_STATES = {"ACTIVE": "active", "DOWN": "inactive", "BUILD": "inactive", "ERROR": "error"}


def public_link_id(port_id: str) -> str:
    """The id of the link from a port's server to ``/network/public``."""
    return port_id + PUBLIC_SUFFIX


def last_segment(location: str | None) -> str:
    """The id at the end of a location (``/network/abc`` -> ``abc``)."""
    return (location or "").rstrip("/").rsplit("/", 1)[-1]


async def tenant_server(api: OpenStackApi, tenant: Tenant, server_id: str) -> Any:
    """The tenant's Nova server; not found for other tenants' servers too."""
    if not is_neutron_id(server_id):
        # Nova's ids are UUIDs too.
        raise EntityNotFoundError(f"no compute with id {server_id!r}")
    try:
        server = await api.call(lambda c: c.compute.get_server(server_id))
    except EntityNotFoundError:
        server = None
    if server is None or (api.isolates_tenants and tenant_tag(tenant) not in (server.tags or [])):
        raise EntityNotFoundError(f"no compute with id {server_id!r}")
    return server


LinksOf = Callable[[Tenant, Sequence[Any]], Awaitable[dict[str, list[Link]]]]


async def links_of_computes(
    api: OpenStackApi, tenant: Tenant, query: Query, links_of: LinksOf, detail: bool
) -> AsyncIterator[Link]:
    """Links read from the tenant's servers a page at a time (`links_of` each page), or,
    with a source filter, from that one server."""
    source = query.attributes.get(CORE_SOURCE)
    if isinstance(source, str):
        try:
            server = await tenant_server(api, tenant, last_segment(source))
        except EntityNotFoundError:
            return
        links = await links_of(tenant, [server])
        for link in links.get(server.id, ()):
            yield link
        return
    async for servers in server_pages(api, tenant, detail=detail):
        links = await links_of(tenant, servers)
        for server in servers:
            for link in links.get(server.id, ()):
                yield link


def _ordered(ports: Sequence[Record]) -> list[Record]:
    # Neutron keeps no device index; the order the ports were made in stands for it.
    return sorted(ports, key=lambda port: (port.get("created_at") or "", port["id"]))


def _external_network_ids(connection: Any) -> list[str]:
    """The ids of the cloud's external networks, oldest first."""
    params = {"router:external": "true"}
    networks = neutron_request(connection, "GET", "/networks", params=params)["networks"]
    ordered = sorted(networks, key=lambda n: (n.get("created_at") or "", n["id"]))
    return [network["id"] for network in ordered]


class ExternalNetworks:
    """The ids of the cloud's external networks, read at most once per `ttl` seconds."""

    def __init__(self, api: OpenStackApi, ttl: float) -> None:
        self.api = api
        self._ids: Expiring[list[str]] = Expiring(ttl)

    async def ids(self) -> list[str]:
        """The external networks' ids, oldest first."""
        return await self._ids.get(lambda: self.api.call(_external_network_ids))


class Interfaces(ServerLinks):
    """Everything the backend does with ports and floating IPs on servers."""

    kinds = (NETWORKINTERFACE.id,)
    mixins = frozenset({IPNETWORKINTERFACE.id})

    def __init__(self, api: OpenStackApi, networks: Networks, locate: Locate) -> None:
        self.api = api
        self.networks = networks
        self.locate = locate
        self.external = ExternalNetworks(api, api.settings.template_ttl)

    # --- reading -----------------------------------------------------------------------

    async def links_of(self, tenant: Tenant, sources: Sequence[Any]) -> dict[str, list[Link]]:
        """The interfaces of a page of servers: one ports call, one floating IPs call."""
        if not sources:
            return {}
        server_ids = [server.id for server in sources]

        def read(connection: Any) -> tuple[list[Record], list[Record]]:
            ports = neutron_request(connection, "GET", "/ports", params={"device_id": server_ids})
            ports = ports["ports"]
            if not ports:
                return [], []
            port_ids = [port["id"] for port in ports]
            floating = neutron_request(
                connection, "GET", "/floatingips", params={"port_id": port_ids}
            )
            return ports, floating["floatingips"]

        ports, floating = await self.api.call(read)
        external = set(await self.external.ids()) if ports else set()
        by_port: dict[str, list[Record]] = {}
        for address in floating:
            by_port.setdefault(address["port_id"], []).append(address)
        by_server: dict[str, list[Record]] = {}
        for port in ports:
            by_server.setdefault(port["device_id"], []).append(port)
        links: dict[str, list[Link]] = {}
        for server_id, found in by_server.items():
            for index, port in enumerate(_ordered(found)):
                links.setdefault(server_id, []).append(
                    self._port_link(server_id, index, port, external)
                )
                for address in by_port.get(port["id"], ()):
                    links[server_id].append(self._public_link(server_id, index, port, address))
        return links

    def _link(self, link_id: str, server_id: str, target: str) -> Link:
        link = Link(
            kind=NETWORKINTERFACE.id,
            mixins=[IPNETWORKINTERFACE.id],
            attributes={
                CORE_ID: link_id,
                CORE_SOURCE: self.locate(COMPUTE.id, server_id),
                CORE_TARGET: target,
            },
        )
        link.location = self.locate(NETWORKINTERFACE.id, link_id)
        return link

    def _port_link(self, server_id: str, index: int, port: Record, external: set[str]) -> Link:
        network_id = PUBLIC if port["network_id"] in external else port["network_id"]
        link = self._link(port["id"], server_id, self.locate(NETWORK.id, network_id))
        fixed = port.get("fixed_ips") or [{}]
        status = port.get("status") or "DOWN"
        link.attributes.update(
            {
                "occi.networkinterface.interface": f"eth{index}",
                "occi.networkinterface.mac": port.get("mac_address"),
                ADDRESS: fixed[0].get("ip_address"),
                "occi.networkinterface.allocation": "dynamic",
                "occi.networkinterface.state": _PORT_STATES.get(status, "error"),
                "occi.networkinterface.state.message": f"Neutron port status {status}",
            }
        )
        return link

    def _public_link(self, server_id: str, index: int, port: Record, address: Record) -> Link:
        link = self._link(public_link_id(port["id"]), server_id, self.locate(NETWORK.id, PUBLIC))
        status = address.get("status") or "DOWN"
        link.attributes.update(
            {
                "occi.networkinterface.interface": f"eth{index}",
                "occi.networkinterface.mac": port.get("mac_address"),
                ADDRESS: address.get("floating_ip_address"),
                "occi.networkinterface.allocation": "static",
                "occi.networkinterface.state": _PORT_STATES.get(status, "error"),
                "occi.networkinterface.state.message": (
                    f"floating IP {address.get('floating_ip_address')} on "
                    f"{address.get('fixed_ip_address')}, Neutron status {status}"
                ),
            }
        )
        return link

    async def server(self, tenant: Tenant, server_id: str) -> Any:
        """The tenant's Nova server; not found for other tenants' servers too."""
        return await tenant_server(self.api, tenant, server_id)

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Link:
        """One interface, read from its port and its server."""
        port_id = entity_id.removesuffix(PUBLIC_SUFFIX)
        if not is_neutron_id(port_id):
            raise EntityNotFoundError(f"no networkinterface with id {entity_id!r}")
        try:
            port = await self.api.call(
                lambda c: neutron_request(c, "GET", f"/ports/{port_id}")["port"]
            )
        except EntityNotFoundError:
            raise EntityNotFoundError(f"no networkinterface with id {entity_id!r}") from None
        if not port.get("device_id"):
            raise EntityNotFoundError(f"no networkinterface with id {entity_id!r}")
        server = await self.server(tenant, port["device_id"])
        for link in (await self.links_of(tenant, [server])).get(server.id, ()):
            if link.id == entity_id:
                return link
        raise EntityNotFoundError(f"no networkinterface with id {entity_id!r}")

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The interfaces of the tenant's computes: a page of Nova servers at a time, with
        their ports and floating IPs read in one call each; a source filter reads only
        that compute."""
        if NETWORKINTERFACE.id not in query.kinds:
            return
        found = links_of_computes(self.api, tenant, query, self.links_of, detail=False)
        async for link in query.apage(found):
            yield link

    # --- at boot -----------------------------------------------------------------------

    async def boot_options(self, tenant: Tenant, links: Sequence[Link]) -> dict[str, Any]:
        """Nova's ``networks`` boot argument for the tenant's networks linked at creation."""
        networks: list[dict[str, str]] = []
        for link in links:
            network_id = last_segment(link.target)
            if network_id == PUBLIC:
                raise NotSupportedError(
                    "a floating IP needs the compute's port, which Nova makes at boot: "
                    "link the compute to /network/public once it exists"
                )
            await self.networks.network(tenant, network_id)
            wanted = {"uuid": network_id}
            address = link.attributes.get(ADDRESS)
            if address:
                wanted["fixed_ip"] = str(address)
            networks.append(wanted)
        return {"networks": networks} if networks else {}

    # --- at run time -------------------------------------------------------------------

    async def create(self, tenant: Tenant, entity: Entity) -> Link:
        """Plug the compute into a network (Nova's os-interface), or give it a floating IP."""
        if not isinstance(entity, Link):
            raise InvalidRequestError("a networkinterface is a link, not a resource")
        server = await self.server(tenant, last_segment(entity.source))
        network_id = last_segment(entity.target)
        if network_id == PUBLIC:
            port_id = await self._associate_floating_ip(tenant, server)
            return await self.get(tenant, NETWORKINTERFACE.id, public_link_id(port_id))
        await self.networks.network(tenant, network_id)
        options: dict[str, Any] = {"net_id": network_id}
        address = entity.attributes.get(ADDRESS)
        if address:
            options["fixed_ips"] = [{"ip_address": str(address)}]
        made = await self.api.call(lambda c: c.compute.create_server_interface(server, **options))
        return await self.get(tenant, NETWORKINTERFACE.id, made.port_id)

    async def _associate_floating_ip(self, tenant: Tenant, server: Any) -> str:
        """Allocate a floating IP for the server's first port; the port's id."""
        external = await self.external.ids()
        if not external:
            raise NotSupportedError("this cloud has no external network: no floating IPs")

        def ports_of(connection: Any) -> tuple[list[Record], list[Record]]:
            ports = neutron_request(connection, "GET", "/ports", params={"device_id": server.id})
            ports = _ordered(ports["ports"])
            if not ports:
                return [], []
            params = {"port_id": [port["id"] for port in ports]}
            return ports, neutron_request(connection, "GET", "/floatingips", params=params)[
                "floatingips"
            ]

        ports, floating = await self.api.call(ports_of)
        ports = [port for port in ports if port["network_id"] not in external]
        if not ports:
            raise ConflictError(
                f"the compute {server.id} has no port on a network of its own: link it to "
                "a network first, then to /network/public"
            )
        port = ports[0]
        if any(address["port_id"] == port["id"] for address in floating):
            raise ConflictError(
                f"the compute {server.id} already has a floating IP on {port['id']}"
            )
        body = {
            "floatingip": {
                "floating_network_id": external[0],
                "port_id": port["id"],
                "description": "OCCI public address",
            }
        }
        tag = tenant_tag(tenant)

        def allocate(connection: Any) -> Record:
            made = neutron_request(connection, "POST", "/floatingips", json=body)["floatingip"]
            neutron_request(connection, "PUT", f"/floatingips/{made['id']}/tags/{tag}")
            return made

        try:
            await self.api.call(allocate)
        except EntityNotFoundError:
            # Neutron: the external network is not reachable from the port's subnet.
            # Route it through the tenant's router, then ask again.
            subnet_id = (port.get("fixed_ips") or [{}])[0].get("subnet_id")
            if not subnet_id:
                raise ConflictError(f"the port {port['id']} has no IP address") from None
            await self.networks.routers.connect(tenant, external[0], subnet_id)
            await self.api.call(allocate)
        return port["id"]

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Link:
        """Nothing of an interface changes in place."""
        raise NotSupportedError(
            "a networkinterface on OpenStack cannot be changed; delete it and link again"
        )

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Release the floating IP, or unplug the port through Nova."""
        link_id = entity.id or ""
        port_id = link_id.removesuffix(PUBLIC_SUFFIX)
        found = await self.get(tenant, NETWORKINTERFACE.id, link_id)
        if link_id.endswith(PUBLIC_SUFFIX):

            def release(connection: Any) -> None:
                params = {"port_id": port_id}
                for address in neutron_request(connection, "GET", "/floatingips", params=params)[
                    "floatingips"
                ]:
                    neutron_request(connection, "DELETE", f"/floatingips/{address['id']}")

            await self.api.call(release)
            return
        server_id = last_segment(found.source)
        await self.api.call(lambda c: c.compute.delete_server_interface(port_id, server=server_id))

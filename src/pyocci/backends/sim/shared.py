"""The two networks every tenant sees: ``/network/public`` and ``/network/private``.

They belong to the provider, not to a tenant, so they have no row: they are
built from the settings. Tenants attach interfaces to them (a link to the
public one takes a public IP, as OOI did) but cannot change or delete them.
Addresses on them are unique across tenants: their pools are shared.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from pyocci.backends.sim.settings import SimSettings
from pyocci.model.entity import CORE_ID, CORE_SUMMARY, CORE_TITLE, Resource
from pyocci.model.infrastructure import IPNETWORK, NETWORK

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

PUBLIC_POOL = "public"
PRIVATE_POOL = "private"


def first_host(network: IPNetwork) -> IPAddress:
    """The gateway by convention: the first address after the network address."""
    return network.network_address + 1


@dataclass(frozen=True, slots=True)
class SharedNetwork:
    """A provider network: its id (`public`/`private`), address pool and description."""

    entity_id: str
    pool: str
    network: IPNetwork
    title: str
    summary: str
    location: str

    @property
    def gateway(self) -> IPAddress:
        """The network's gateway (reserved, never handed out)."""
        return first_host(self.network)

    def entity(self) -> Resource:
        """The network as an entity: an active ipnetwork no tenant can act on."""
        return Resource(
            kind=NETWORK.id,
            mixins=[IPNETWORK.id],
            attributes={
                CORE_ID: self.entity_id,
                CORE_TITLE: self.title,
                CORE_SUMMARY: self.summary,
                "occi.network.state": "active",
                "occi.network.label": self.entity_id,
                "occi.network.address": str(self.network),
                "occi.network.gateway": str(self.gateway),
                "occi.network.allocation": "dynamic",
            },
            actions=[],
            location=self.location,
        )


class SharedNetworks:
    """The provider networks, by id and by location."""

    def __init__(self, settings: SimSettings, network_location: str) -> None:
        public = SharedNetwork(
            entity_id="public",
            pool=PUBLIC_POOL,
            network=ipaddress.ip_network(settings.public_cidr, strict=False),
            title="Public network",
            summary="Provider network with public addresses; attaching to it assigns one",
            location=network_location + "public",
        )
        private = SharedNetwork(
            entity_id="private",
            pool=PRIVATE_POOL,
            network=ipaddress.ip_network(settings.private_cidr, strict=False),
            title="Private network",
            summary="Provider network shared by every tenant",
            location=network_location + "private",
        )
        self.public = public
        self.all: tuple[SharedNetwork, ...] = (public, private)
        self._by_id = {network.entity_id: network for network in self.all}
        self._by_location = {network.location: network for network in self.all}

    def by_id(self, entity_id: str | None) -> SharedNetwork | None:
        """The shared network with this id, if any."""
        return self._by_id.get(entity_id or "")

    def by_location(self, location: str | None) -> SharedNetwork | None:
        """The shared network at this location (``/network/public``), if any."""
        return self._by_location.get(location or "")

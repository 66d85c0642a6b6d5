"""The whole OpenStack side over HTTP: occi-server in front of Nova, Glance, Cinder and
Neutron, every one of them the real service on loopback.

The Nova here boots from the real Glance, attaches volumes of the real Cinder
and networks its servers with the real Neutron (see the launchers in
``tests/``), so what OCCI shows can be checked against what each service
itself says: a volume OCCI attached is ``in-use`` in Cinder, a network
interface OCCI made is a Neutron port of the server, a public link is a
floating IP on that port. pyocci's own client drives occi-server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cinder_fixtures import settle as settle_within

from e2e.server import RunningServer, occi_server
from pyocci.client import OcciClient
from pyocci.model import Resource

STORAGE = "http://schemas.ogf.org/occi/infrastructure#storage"
NETWORK = "http://schemas.ogf.org/occi/infrastructure#network"
IPNETWORK = "http://schemas.ogf.org/occi/infrastructure/network#ipnetwork"
NETWORKINTERFACE = "http://schemas.ogf.org/occi/infrastructure#networkinterface"
STORAGELINK = "http://schemas.ogf.org/occi/infrastructure#storagelink"
COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
OS_TPL = "http://schemas.pyocci.org/openstack/os_tpl#"
RESOURCE_TPL = "http://schemas.pyocci.org/openstack/resource_tpl#"
TINY = "1"
SETTLE_SECONDS = 120


@pytest.fixture(scope="module")
def server(cloud_config: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with occi_server(tmp_path_factory.mktemp("openstack-cloud"), config=cloud_config) as running:
        yield running


@pytest.fixture
def occi(server: RunningServer) -> Iterator[OcciClient]:
    with OcciClient(server.url) as client:
        yield client


def settle(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """`cinder_fixtures.settle` with this module's patience (Nova, Cinder and Neutron at once)."""
    return settle_within(read, done, what, SETTLE_SECONDS)


def entity_id(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[-1]


def test_discovery_names_every_service(occi: OcciClient) -> None:
    kinds = {category.id for category in occi.categories}
    assert {COMPUTE, STORAGE, NETWORK, NETWORKINTERFACE, STORAGELINK} <= kinds
    storage = occi.model.kind(STORAGE)
    assert storage is not None
    offered = {action.rsplit("#", 1)[-1] for action in storage.actions}
    # Cinder has no online/offline switch: those actions are 501 and not offered.
    assert {"resize", "snapshot", "backup"} <= offered
    assert not {"online", "offline"} & offered


def test_a_compute_with_a_volume_a_network_and_a_public_address(
    occi: OcciClient, admin: Any, image: str
) -> None:
    network = occi.create(
        Resource(
            kind=NETWORK,
            mixins=[IPNETWORK],
            attributes={"occi.core.title": "occi-net", "occi.network.address": "10.77.0.0/24"},
        )
    )
    volume = occi.create(
        Resource(kind=STORAGE, attributes={"occi.core.title": "occi-disk", "occi.storage.size": 1})
    )
    occi.wait_for(volume, "online", timeout=SETTLE_SECONDS)
    compute = occi.create(
        occi.new_compute(
            os=OS_TPL + image,
            size=RESOURCE_TPL + TINY,
            title="occi-vm",
            links=[network, volume],
        )
    )
    server_id = entity_id(compute)
    try:
        shown = occi.wait_for(compute, "active", timeout=SETTLE_SECONDS)
        by_kind = {link.kind: link for link in shown.links}
        assert set(by_kind) == {NETWORKINTERFACE, STORAGELINK}
        interface = by_kind[NETWORKINTERFACE]
        address = interface.attributes["occi.networkinterface.address"]
        assert address.startswith("10.77.0.")
        # Neutron's own view: the port OCCI shows is the server's, with that address.
        ports = list(admin.network.ports(device_id=server_id))
        assert [ip["ip_address"] for p in ports for ip in p.fixed_ips] == [address]
        # Cinder's own view: the volume is attached to the server.
        attached = settle(
            lambda: admin.block_storage.get_volume(entity_id(volume)),
            lambda v: v.status == "in-use",
            "the volume attachment in Cinder",
        )
        assert [a["server_id"] for a in attached.attachments] == [server_id]

        # A link to the public network is a floating IP on the server's port.
        public = occi.link(compute, "/network/public", kind=NETWORKINTERFACE)
        floating = settle(
            lambda: list(admin.network.ips(port_id=ports[0].id)),
            lambda found: len(found) == 1,
            "the floating IP in Neutron",
        )
        shown = occi.get(compute)
        public_addresses = [
            link.attributes.get("occi.networkinterface.address")
            for link in shown.links
            if link.target and link.target.rstrip("/").endswith("/network/public")
        ]
        assert public_addresses == [floating[0].floating_ip_address]
        occi.unlink(public)
        settle(
            lambda: list(admin.network.ips(port_id=ports[0].id)),
            lambda found: not found,
            "the floating IP's release",
        )

        # Every collection is listed; a listing of resources chains them.
        resources = set(occi.locations("http://schemas.ogf.org/occi/core#resource"))
        assert {entity_id(x) for x in resources} >= {
            server_id,
            entity_id(volume),
            entity_id(network),
        }
    finally:
        occi.delete(compute)
    settle(
        lambda: admin.block_storage.get_volume(entity_id(volume)),
        lambda v: v.status == "available",
        "the volume's detachment when its compute went",
    )
    settle(
        lambda: list(admin.network.ports(device_id=server_id)),
        lambda found: not found,
        "the port's removal with its compute",
    )
    occi.delete(volume)
    occi.delete(network)

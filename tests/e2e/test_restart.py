"""Durability: stop the server with SIGTERM, start a new one on the same database, and
find every entity, link, user mixin, membership and saved image still there and working.

Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    DEBIAN,
    IPNETWORK,
    IPRESERVATION,
    MEDIUM,
    NETWORK,
    NETWORKINTERFACE,
    OCCI_JSON,
    PUBLIC_NETWORK,
    PUBLIC_POOL,
    SECURITYGROUP,
    SECURITYGROUPLINK,
    SMALL,
    STORAGE,
    STORAGE_ACTION,
    STORAGELINK,
    TEXT_PLAIN,
    UBUNTU,
    URI_LIST,
    EntityDoc,
    LinkDoc,
    Occi,
    describe,
    locations_request,
    mixin_request,
    path_of,
    read_categories,
)
from e2e.server import StartServer

# Sim only: the sim's cloud lives in the store; EC2 keeps its own state.
pytestmark = pytest.mark.e2e

SUBNET = ipaddress.ip_network("10.77.0.0/24")
TAG = "http://example.org/occi/e2e#keep"
TAG_LOCATION = "/e2e/keep/"
SPARE = "http://example.org/occi/e2e#spare"
SPARE_LOCATION = "/e2e/spare/"
COLLECTIONS = (
    "/compute/",
    "/storage/",
    "/network/",
    "/networkinterface/",
    "/storagelink/",
    "/securitygroup/",
    "/securitygrouplink/",
    "/ipreservation/",
    TAG_LOCATION,
    SPARE_LOCATION,
)


@dataclass
class World:
    """What the first server was given, and what it answered before it stopped."""

    paths: dict[str, str] = field(default_factory=dict)
    image: str = ""
    image_location: str = ""
    renderings: dict[str, Any] = field(default_factory=dict)
    listings: dict[str, list[str]] = field(default_factory=dict)
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)


def ok(response: httpx.Response, *statuses: int) -> httpx.Response:
    assert response.status_code in (statuses or (200,)), describe(response)
    return response


def link(kind: str, source: str, target: str, target_kind: str) -> EntityDoc:
    return EntityDoc(kind=kind, source=source, target=target, target_kind=target_kind)


def build(http: httpx.Client) -> World:
    """Create one of everything, through both text and JSON."""
    text, json_client = Occi(http, TEXT_PLAIN), Occi(http, OCCI_JSON)
    world = World()
    p = world.paths
    p["network"] = json_client.create(
        "/network/",
        EntityDoc(
            kind=NETWORK,
            mixins=[IPNETWORK],
            attributes={"occi.network.address": str(SUBNET), "occi.core.title": "lan"},
        ),
    )
    p["web"] = text.create(
        "/compute/",
        EntityDoc(
            kind=COMPUTE,
            mixins=[DEBIAN, MEDIUM],
            attributes={"occi.core.title": "web", "occi.core.summary": "kept"},
            links=[
                LinkDoc(kind=NETWORKINTERFACE, target=PUBLIC_NETWORK, target_kind=NETWORK),
                LinkDoc(kind=NETWORKINTERFACE, target=p["network"], target_kind=NETWORK),
            ],
        ),
    )
    p["disk"] = text.create(
        "/storage/", EntityDoc(kind=STORAGE, attributes={"occi.storage.size": 5.0})
    )
    p["attachment"] = text.create("/storagelink/", link(STORAGELINK, p["web"], p["disk"], STORAGE))
    p["spare_disk"] = text.create(
        "/storage/", EntityDoc(kind=STORAGE, attributes={"occi.storage.size": 2.0})
    )
    ok(text.act(p["spare_disk"], STORAGE_ACTION + "offline"))
    ok(text.act(p["spare_disk"], STORAGE_ACTION + "backup"))
    p["db"] = text.create("/compute/", EntityDoc(kind=COMPUTE, mixins=[UBUNTU, SMALL]))
    ok(text.act(p["db"], COMPUTE_ACTION + "stop", method="poweroff"))
    p["firewall"] = json_client.create(
        "/securitygroup/",
        EntityDoc(
            kind=SECURITYGROUP,
            attributes={
                "occi.securitygroup.rules": [
                    {"type": "inbound", "protocol": "tcp", "port": "443", "range": "0.0.0.0/0"}
                ]
            },
        ),
    )
    p["firewall_link"] = json_client.create(
        "/securitygrouplink/", link(SECURITYGROUPLINK, p["web"], p["firewall"], SECURITYGROUP)
    )
    p["public_ip"] = text.create(
        "/ipreservation/", EntityDoc(kind=IPRESERVATION, mixins=[PUBLIC_POOL])
    )
    p["public_nic"] = text.create(
        "/networkinterface/", link(NETWORKINTERFACE, p["db"], p["public_ip"], IPRESERVATION)
    )
    p["chosen"] = "/compute/chosen-by-client"
    ok(text.put(p["chosen"], EntityDoc(kind=COMPUTE, mixins=[DEBIAN])), 201)

    for identifier, location, media_type in (
        (TAG, TAG_LOCATION, TEXT_PLAIN),
        (SPARE, SPARE_LOCATION, OCCI_JSON),
    ):
        headers, body = mixin_request(identifier, location, media_type)
        ok(http.post("/-/", headers=headers, content=body))
    headers, body = locations_request([p["web"], p["db"]], TEXT_PLAIN)
    ok(http.post(TAG_LOCATION, headers=headers, content=body))

    saved = ok(text.act(p["web"], COMPUTE_ACTION + "save", method="deferred", name="web-image"))
    [image] = [c for c in read_categories(saved).values() if c["class"] == "mixin"]
    world.image, world.image_location = image["id"], image["location"]
    p["from_image"] = text.create("/compute/", EntityDoc(kind=COMPUTE, mixins=[world.image]))
    return world


def observe(http: httpx.Client, world: World) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Every entity's JSON rendering, and every collection's listing (in order)."""
    renderings = {}
    for name, path in world.paths.items():
        renderings[name] = ok(http.get(path, headers={"Accept": OCCI_JSON})).json()
    inline = [lk for r in list(renderings.values()) for lk in r.get("links", [])]
    for item in inline:
        # A link's own URL: its kind's location and its id.
        link_path = f"/{item['kind'].rpartition('#')[2]}/{item['id']}"
        renderings[f"link {link_path}"] = ok(
            http.get(link_path, headers={"Accept": OCCI_JSON})
        ).json()
    listings = {
        location: [
            path_of(u) for u in ok(http.get(location, headers={"Accept": URI_LIST})).text.split()
        ]
        for location in (*COLLECTIONS, world.image_location)
    }
    return renderings, listings


@pytest.fixture
def database(
    database_kind: str,
    new_database_url: Callable[[Path], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, str]:
    """A work directory and a fresh database that three servers in turn will use."""
    workdir = tmp_path_factory.mktemp(f"restart-{database_kind}")
    return workdir, new_database_url(workdir)


def test_everything_survives_a_restart(
    start_server: StartServer, database: tuple[Path, str]
) -> None:
    workdir, url = database
    with start_server(workdir=workdir, database_url=url) as first:
        with first.client() as http:
            world = build(http)
            world.renderings, world.listings = observe(http, world)
            world.categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
        assert first.stop(), "the server should stop on SIGTERM"

    with start_server(workdir=workdir, database_url=url) as second, second.client() as http:
        renderings, listings = observe(http, world)
        for name, before in world.renderings.items():
            assert renderings[name] == before, f"{name} changed across the restart"
        assert listings == world.listings
        categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
        assert categories.keys() == world.categories.keys()
        for identifier in (TAG, SPARE, world.image):
            assert categories[identifier] == world.categories[identifier], identifier

        web = world.renderings["web"]
        assert {lk["kind"] for lk in web["links"]} == {
            NETWORKINTERFACE,
            STORAGELINK,
            SECURITYGROUPLINK,
        }
        assert TAG in web["mixins"]
        assert world.listings[TAG_LOCATION] == [world.paths["web"], world.paths["db"]]
        assert world.renderings["db"]["attributes"]["occi.compute.state"] == "inactive"

        still_works_after_restart(http, world)
        assert second.stop()

    with start_server(workdir=workdir, database_url=url) as third, third.client() as http:
        text = Occi(http, TEXT_PLAIN)
        assert text.get(world.paths["web"]).attributes["occi.compute.state"] == "inactive"
        assert ok(text.request("GET", world.paths["from_image"]), 404)
        assert SPARE not in read_categories(http.get("/-/"))
        assert len(text.list(TAG_LOCATION)) == 3


def still_works_after_restart(http: httpx.Client, world: World) -> None:
    """The restarted server acts on the old state and allocates around it."""
    text, p = Occi(http, TEXT_PLAIN), world.paths
    ok(text.act(p["web"], COMPUTE_ACTION + "stop", method="graceful"))
    ok(text.act(p["db"], COMPUTE_ACTION + "start"))
    assert text.get(p["db"]).attributes["occi.compute.state"] == "active"
    ok(text.act(p["spare_disk"], STORAGE_ACTION + "online"))

    newcomer = text.create("/compute/", EntityDoc(kind=COMPUTE, mixins=[world.image]))
    nic = text.get(
        text.create("/networkinterface/", link(NETWORKINTERFACE, newcomer, p["network"], NETWORK))
    )
    old_nics = [
        lk
        for r in world.renderings.values()
        for lk in r.get("links", [])
        if lk["kind"] == NETWORKINTERFACE
    ]
    old_macs = {lk["attributes"]["occi.networkinterface.mac"] for lk in old_nics}
    old_addresses = {lk["attributes"]["occi.networkinterface.address"] for lk in old_nics}
    assert nic.attributes["occi.networkinterface.mac"] not in old_macs
    address = nic.attributes["occi.networkinterface.address"]
    assert address not in old_addresses
    assert ipaddress.ip_address(address) in SUBNET

    again = text.post_entity("/storagelink/", link(STORAGELINK, newcomer, p["disk"], STORAGE))
    assert again.status_code == 409, f"the disk is still attached: {describe(again)}"

    ok(text.delete(p["from_image"]), 200, 204)
    headers, body = locations_request([newcomer], TEXT_PLAIN)
    ok(http.post(TAG_LOCATION, headers=headers, content=body))
    ok(http.delete(f"/-/?category={SPARE.replace('#', '%23')}"))

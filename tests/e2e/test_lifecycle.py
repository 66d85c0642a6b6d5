"""Entity lifecycles over HTTP in every rendering (GFD.223 §3.5-3.8, GFD.224 state machines).

Each test writes its requests in one of text/plain, text/occi and
application/occi+json and asks for the same rendering back (the first test
also crosses them). The module runs twice: on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    DEBIAN,
    IPNETWORK,
    IPNETWORKINTERFACE,
    IPRESERVATION,
    MEDIUM,
    NETWORK,
    NETWORK_ACTION,
    NETWORKINTERFACE,
    OCCI_JSON,
    OS_TPL,
    PRIVATE_NETWORK,
    PUBLIC_NETWORK,
    PUBLIC_POOL,
    RENDERINGS,
    SECURITYGROUP,
    SECURITYGROUPLINK,
    SMALL,
    STORAGE,
    STORAGE_ACTION,
    STORAGELINK,
    TEXT_OCCI,
    TEXT_PLAIN,
    URI_LIST,
    EntityDoc,
    LinkDoc,
    Occi,
    assert_status,
    describe,
    media_type_of,
    path_of,
    read_categories,
    read_entity,
    read_locations,
    saved_template,
    text_structures,
)
from e2e.server import RunningServer, StartServer
from occi_schemas import assert_valid_collection, assert_valid_entity

# Sim only: IP reservations, the sim's shared networks, PUT at a client's path;
# the ec2 lifecycle over HTTP is in test_ec2.py.
pytestmark = pytest.mark.e2e

PUBLIC_CIDR = ipaddress.ip_network("203.0.113.0/24")
PRIVATE_CIDR = ipaddress.ip_network("172.16.0.0/16")
MAC = re.compile(r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}")
ACTIVE_COMPUTE_ACTIONS = {COMPUTE_ACTION + t for t in ("stop", "restart", "suspend", "save")}
SUBNETS = itertools.count(1)


@pytest.fixture(scope="module")
def server(
    start_server: StartServer,
    database_kind: str,
    new_database_url: Callable[[Path], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    """One server per database kind, shared by the module."""
    workdir = tmp_path_factory.mktemp(f"lifecycle-{database_kind}")
    with start_server(workdir=workdir, database_url=new_database_url(workdir)) as running:
        yield running


@pytest.fixture(params=RENDERINGS)
def occi(request: pytest.FixtureRequest, http: httpx.Client) -> Occi:
    """A client writing and reading one rendering."""
    return Occi(http, request.param)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def compute_doc(
    title: str | None = None, *, image: str = DEBIAN, template: str | None = SMALL, nic: bool = True
) -> EntityDoc:
    """A compute with an image, a size and, inline, an interface on the public network."""
    links = [LinkDoc(kind=NETWORKINTERFACE, target=PUBLIC_NETWORK, target_kind=NETWORK)]
    return EntityDoc(
        kind=COMPUTE,
        mixins=[image, *([template] if template else [])],
        attributes={"occi.core.title": title or unique("vm")},
        links=links if nic else [],
    )


def storage_doc(size: float = 1.0) -> EntityDoc:
    return EntityDoc(kind=STORAGE, attributes={"occi.storage.size": size, "occi.core.title": "d"})


def link_doc(kind: str, source: str, target: str, target_kind: str) -> EntityDoc:
    return EntityDoc(kind=kind, source=source, target=target, target_kind=target_kind)


def assert_gone(occi: Occi, path: str) -> None:
    response = occi.request("GET", path)
    assert response.status_code == 404, describe(response)


# --- create, read, list ------------------------------------------------------------------


@pytest.mark.parametrize("accept", RENDERINGS)
@pytest.mark.parametrize("content_type", RENDERINGS)
def test_create_compute_and_read_it(http: httpx.Client, content_type: str, accept: str) -> None:
    occi = Occi(http, content_type, accept)
    title = unique("vm")
    response = occi.post_entity("/compute/", compute_doc(title))
    assert_status(response, 201)
    location = response.headers.get("location", "")
    assert re.fullmatch(r"https?://[^/]+/compute/[^/?#]+", location), location
    assert location in response.headers.get("x-occi-location", "")
    assert [path_of(u) for u in read_locations(response)] == [path_of(location)]
    path = path_of(location)

    raw = occi.request("GET", path)
    assert_status(raw, 200)
    assert media_type_of(raw) == accept
    doc = read_entity(raw)
    if accept == OCCI_JSON:
        assert_valid_entity(raw.json())
    if accept == TEXT_OCCI:
        assert raw.text.strip() == "OK"
    assert doc.kind == COMPUTE
    assert DEBIAN in doc.mixins and SMALL in doc.mixins
    assert doc.id == path.rpartition("/")[2]
    assert doc.attributes["occi.core.title"] == title
    assert doc.attributes["occi.compute.cores"] == 1
    assert doc.attributes["occi.compute.memory"] == 1.0
    assert doc.attributes["occi.compute.state"] == "active"
    assert set(doc.actions) == ACTIVE_COMPUTE_ACTIONS

    [nic] = doc.links
    assert nic.kind == NETWORKINTERFACE
    assert IPNETWORKINTERFACE in nic.mixins
    assert path_of(nic.target) == PUBLIC_NETWORK
    assert nic.target_kind == NETWORK
    assert nic.location and nic.location.startswith("/networkinterface/")
    assert ipaddress.ip_address(nic.attributes["occi.networkinterface.address"]) in PUBLIC_CIDR
    assert MAC.fullmatch(nic.attributes["occi.networkinterface.mac"])
    assert nic.attributes["occi.networkinterface.interface"] == "eth0"

    link = occi.get(nic.location)
    assert link.kind == NETWORKINTERFACE
    assert path_of(link.source or "") == path
    assert path_of(link.target or "") == PUBLIC_NETWORK
    assert (
        link.attributes["occi.networkinterface.mac"] == nic.attributes["occi.networkinterface.mac"]
    )


@pytest.mark.parametrize("rendering", [TEXT_PLAIN, TEXT_OCCI])
def test_text_action_links_point_at_the_entity(http: httpx.Client, rendering: str) -> None:
    occi = Occi(http, rendering)
    path = occi.create("/compute/", compute_doc(nic=False))
    response = occi.request("GET", path)
    action_links = [
        value for name, value in text_structures(response) if name == "link" and "?action=" in value
    ]
    targets = sorted(value.split(">")[0].lstrip("<") for value in action_links)
    assert targets == sorted(f"{path}?action={t}" for t in ("stop", "restart", "suspend", "save"))


def test_list_the_compute_collection(occi: Occi, http: httpx.Client) -> None:
    created = [occi.create("/compute/", compute_doc(nic=False)) for _ in range(2)]
    response = occi.request("GET", "/compute/")
    assert_status(response, 200)
    assert media_type_of(response) == occi.accept
    if occi.accept == OCCI_JSON:
        document = response.json()
        assert_valid_collection(document)
        members = {member["id"]: member for member in document["resources"]}
        for path in created:
            member = members[path.rpartition("/")[2]]
            assert member["kind"] == COMPUTE
            assert member["attributes"]["occi.compute.state"] == "active"
            assert DEBIAN in member["mixins"]
    else:
        listed = [path_of(location) for location in read_locations(response)]
        assert set(created) <= set(listed)
        assert len(listed) == len(set(listed))
    uri_list = http.get("/compute/", headers={"Accept": URI_LIST})
    assert_status(uri_list, 200)
    assert media_type_of(uri_list) == URI_LIST
    uris = read_locations(uri_list)
    assert all(re.fullmatch(r"https?://[^/]+/compute/[^/?#]+", uri) for uri in uris), uris
    assert set(created) <= {path_of(uri) for uri in uris}


# --- updates -----------------------------------------------------------------------------


def test_partial_update_changes_only_what_it_names(occi: Occi) -> None:
    path = occi.create("/compute/", compute_doc("before"))
    response = occi.update(path, EntityDoc(attributes={"occi.core.title": "after"}))
    assert_status(response, 200)
    assert read_entity(response).attributes["occi.core.title"] == "after"
    doc = occi.get(path)
    assert doc.attributes["occi.core.title"] == "after"
    assert doc.attributes["occi.compute.cores"] == 1
    assert DEBIAN in doc.mixins and SMALL in doc.mixins
    assert len(doc.links_of(NETWORKINTERFACE)) == 1


def test_resource_template_swap_resizes(occi: Occi) -> None:
    path = occi.create("/compute/", compute_doc(template=SMALL))
    response = occi.update(path, EntityDoc(mixins=[MEDIUM]))
    assert_status(response, 200)
    doc = occi.get(path)
    assert MEDIUM in doc.mixins
    assert SMALL not in doc.mixins, "GFD.224 §3.7: the new resource_tpl replaces the old"
    assert DEBIAN in doc.mixins
    assert doc.attributes["occi.compute.cores"] == 2
    assert doc.attributes["occi.compute.memory"] == 2.0


def test_put_replaces_the_entity_and_keeps_its_links(occi: Occi) -> None:
    original = compute_doc("original")
    original.attributes["occi.core.summary"] = "goes away"
    path = occi.create("/compute/", original)
    replacement = EntityDoc(
        kind=COMPUTE, mixins=[DEBIAN, SMALL], attributes={"occi.core.title": "replaced"}
    )
    response = occi.put(path, replacement)
    assert_status(response, 200, 201)
    doc = occi.get(path)
    assert doc.attributes["occi.core.title"] == "replaced"
    assert "occi.core.summary" not in doc.attributes, "PUT removes omitted mutable data"
    assert len(doc.links_of(NETWORKINTERFACE)) == 1, "PUT keeps existing links"


def test_put_creates_at_a_client_chosen_path(occi: Occi) -> None:
    my_id = unique("my-vm")
    path = f"/compute/{my_id}"
    response = occi.put(path, compute_doc("chosen", nic=False))
    assert_status(response, 201)
    assert path_of(response.headers.get("location", "")) == path
    doc = occi.get(path)
    assert doc.id == my_id
    assert doc.attributes["occi.core.title"] == "chosen"
    assert path in occi.list("/compute/")


# --- actions -------------------------------------------------------------------------------


def test_compute_actions_follow_the_state_machine(occi: Occi) -> None:
    path = occi.create("/compute/", compute_doc(nic=False))

    def act(term: str, **parameters: str) -> EntityDoc:
        response = occi.act(path, COMPUTE_ACTION + term, **parameters)
        assert_status(response, 200)
        return occi.get(path)

    def refused(term: str, **parameters: str) -> None:
        response = occi.act(path, COMPUTE_ACTION + term, **parameters)
        assert_status(response, 409)
        assert response.headers.get("x-occi-error")

    doc = act("stop", method="graceful")
    assert doc.attributes["occi.compute.state"] == "inactive"
    assert COMPUTE_ACTION + "start" in doc.actions
    assert not {COMPUTE_ACTION + t for t in ("stop", "restart", "suspend")} & set(doc.actions)
    # Asking for the state it is in is a no-op (scripts and EC2 treat it so)...
    assert act("stop", method="poweroff").attributes["occi.compute.state"] == "inactive"
    # ...while an action that cannot lead anywhere from here is a conflict.
    refused("restart", method="warm")
    refused("suspend", method="suspend")

    doc = act("start")
    assert doc.attributes["occi.compute.state"] == "active"
    assert set(doc.actions) == ACTIVE_COMPUTE_ACTIONS
    assert act("start").attributes["occi.compute.state"] == "active"  # a no-op

    assert act("restart", method="warm").attributes["occi.compute.state"] == "active"
    doc = act("suspend", method="suspend")
    assert doc.attributes["occi.compute.state"] == "suspended"
    assert COMPUTE_ACTION + "start" in doc.actions
    assert COMPUTE_ACTION + "stop" not in doc.actions
    refused("stop", method="acpioff")
    assert act("start").attributes["occi.compute.state"] == "active"


def test_action_answer_renders_the_entity(occi: Occi) -> None:
    path = occi.create("/compute/", compute_doc(nic=False))
    response = occi.act(path, COMPUTE_ACTION + "stop", method="poweroff")
    assert_status(response, 200)
    doc = read_entity(response)
    assert doc.kind == COMPUTE
    assert doc.attributes["occi.compute.state"] == "inactive"


def test_save_makes_an_os_template_that_starts_new_computes(occi: Occi) -> None:
    path = occi.create("/compute/", compute_doc(nic=False))
    name = unique("image")
    response = occi.act(path, COMPUTE_ACTION + "save", method="hot", name=name)
    image = saved_template(response, path)
    assert occi.get(path).attributes["occi.compute.state"] == "active"

    discovered = read_categories(occi.request("GET", "/-/"))
    assert discovered[image["id"]]["depends"][0] == OS_TPL

    second = occi.create("/compute/", compute_doc(image=image["id"], template=SMALL, nic=False))
    doc = occi.get(second)
    assert image["id"] in doc.mixins
    assert DEBIAN not in doc.mixins
    assert doc.attributes["occi.compute.state"] == "active"


# --- storage ------------------------------------------------------------------------------


def test_storage_lifecycle(occi: Occi) -> None:
    path = occi.create("/storage/", storage_doc(5.0))
    doc = occi.get(path)
    assert doc.kind == STORAGE
    assert doc.attributes["occi.storage.size"] == 5.0
    if doc.attributes["occi.storage.state"] == "offline":
        assert_status(occi.act(path, STORAGE_ACTION + "online"), 200)
    doc = occi.get(path)
    assert doc.attributes["occi.storage.state"] == "online"
    assert STORAGE_ACTION + "offline" in doc.actions
    assert STORAGE_ACTION + "online" not in doc.actions

    assert_status(occi.act(path, STORAGE_ACTION + "offline"), 200)
    doc = occi.get(path)
    assert doc.attributes["occi.storage.state"] == "offline"
    assert STORAGE_ACTION + "online" in doc.actions
    assert_status(occi.act(path, STORAGE_ACTION + "offline"), 200)  # already: a no-op
    assert occi.get(path).attributes["occi.storage.state"] == "offline"
    assert_status(occi.act(path, STORAGE_ACTION + "online"), 200)
    assert occi.get(path).attributes["occi.storage.state"] == "online"

    assert_status(occi.act(path, STORAGE_ACTION + "backup"), 200)
    assert_status(occi.act(path, STORAGE_ACTION + "snapshot"), 200)
    assert_status(occi.act(path, STORAGE_ACTION + "resize", size=10.0), 200)
    assert occi.get(path).attributes["occi.storage.size"] == 10.0

    response = occi.update(path, EntityDoc(attributes={"occi.storage.size": 20.0}))
    assert_status(response, 200)
    doc = occi.get(path)
    assert doc.attributes["occi.storage.size"] == 20.0, "GFD.224 1.2: resize = update the size"
    assert doc.attributes["occi.storage.state"] == "online"


# --- networks and links ------------------------------------------------------------------


def test_network_with_ipnetwork_goes_down_and_up(occi: Occi) -> None:
    subnet = ipaddress.ip_network(f"10.200.{next(SUBNETS)}.0/24")
    gateway = str(subnet.network_address + 1)
    network = EntityDoc(
        kind=NETWORK,
        mixins=[IPNETWORK],
        attributes={
            "occi.core.title": "net",
            "occi.network.address": str(subnet),
            "occi.network.gateway": gateway,
        },
    )
    path = occi.create("/network/", network)
    doc = occi.get(path)
    assert IPNETWORK in doc.mixins
    assert ipaddress.ip_network(doc.attributes["occi.network.address"]) == subnet
    assert doc.attributes["occi.network.gateway"] == gateway
    assert doc.attributes["occi.network.state"] == "active"

    assert_status(occi.act(path, NETWORK_ACTION + "down"), 200)
    doc = occi.get(path)
    assert doc.attributes["occi.network.state"] == "inactive"
    assert doc.actions == [NETWORK_ACTION + "up"]
    assert_status(occi.act(path, NETWORK_ACTION + "down"), 200)  # already: a no-op
    assert occi.get(path).attributes["occi.network.state"] == "inactive"
    assert_status(occi.act(path, NETWORK_ACTION + "up"), 200)
    assert occi.get(path).attributes["occi.network.state"] == "active"

    compute = occi.create("/compute/", compute_doc(nic=False))
    nic_path = occi.create("/networkinterface/", link_doc(NETWORKINTERFACE, compute, path, NETWORK))
    nic = occi.get(nic_path)
    assert ipaddress.ip_address(nic.attributes["occi.networkinterface.address"]) in subnet
    assert nic.attributes["occi.networkinterface.address"] != gateway


def test_storagelink_created_at_run_time_and_deleted(occi: Occi) -> None:
    compute = occi.create("/compute/", compute_doc(nic=False))
    storage = occi.create("/storage/", storage_doc())
    link_path = occi.create("/storagelink/", link_doc(STORAGELINK, compute, storage, STORAGE))
    assert link_path.startswith("/storagelink/")

    link = occi.get(link_path)
    assert link.kind == STORAGELINK
    assert path_of(link.source or "") == compute
    assert path_of(link.target or "") == storage
    assert link.attributes.get("occi.storagelink.deviceid")

    [inline] = occi.get(compute).links_of(STORAGELINK)
    assert path_of(inline.target) == storage
    assert inline.location == link_path
    assert (
        inline.attributes["occi.storagelink.deviceid"]
        == link.attributes["occi.storagelink.deviceid"]
    )

    assert_status(occi.delete(link_path), 200, 204)
    assert_gone(occi, link_path)
    assert occi.get(compute).links_of(STORAGELINK) == []
    assert occi.get(storage).kind == STORAGE


def test_networkinterface_created_at_run_time_and_deleted(occi: Occi) -> None:
    compute = occi.create("/compute/", compute_doc())
    link_path = occi.create(
        "/networkinterface/", link_doc(NETWORKINTERFACE, compute, PRIVATE_NETWORK, NETWORK)
    )
    link = occi.get(link_path)
    assert ipaddress.ip_address(link.attributes["occi.networkinterface.address"]) in PRIVATE_CIDR
    nics = occi.get(compute).links_of(NETWORKINTERFACE)
    assert len(nics) == 2
    assert len({nic.attributes["occi.networkinterface.mac"] for nic in nics}) == 2
    assert {nic.attributes["occi.networkinterface.interface"] for nic in nics} == {"eth0", "eth1"}

    assert_status(occi.delete(link_path), 200, 204)
    assert_gone(occi, link_path)
    [left] = occi.get(compute).links_of(NETWORKINTERFACE)
    assert path_of(left.target) == PUBLIC_NETWORK


def test_security_group_and_link_in_json(http: httpx.Client) -> None:
    occi = Occi(http, OCCI_JSON)
    rules = [
        {"type": "inbound", "protocol": "tcp", "port": "22", "range": "0.0.0.0/0"},
        {"type": "outbound", "protocol": "any", "range": "0.0.0.0/0", "ipversion": "IPv4"},
    ]
    group = occi.create(
        "/securitygroup/",
        EntityDoc(
            kind=SECURITYGROUP,
            attributes={"occi.core.title": "ssh", "occi.securitygroup.rules": rules},
        ),
    )
    response = occi.request("GET", group)
    assert_status(response, 200)
    assert_valid_entity(response.json())
    found = response.json()["attributes"]["occi.securitygroup.rules"]
    assert isinstance(found, list) and len(found) == 2
    assert {k: found[0][k] for k in ("type", "protocol", "port", "range")} == rules[0]
    assert found[1]["type"] == "outbound"

    compute = occi.create("/compute/", compute_doc(nic=False))
    link_path = occi.create(
        "/securitygrouplink/", link_doc(SECURITYGROUPLINK, compute, group, SECURITYGROUP)
    )
    [link] = occi.get(compute).links_of(SECURITYGROUPLINK)
    assert path_of(link.target) == group
    assert link.location == link_path

    more = [*rules, {"type": "inbound", "protocol": "tcp", "port": "80-81", "range": "10.0.0.0/8"}]
    response = occi.update(group, EntityDoc(attributes={"occi.securitygroup.rules": more}))
    assert_status(response, 200)
    assert len(occi.get(group).attributes["occi.securitygroup.rules"]) == 3

    assert_status(occi.delete(link_path), 200, 204)
    assert occi.get(compute).links_of(SECURITYGROUPLINK) == []


def test_ip_reservation_linked_to_a_compute(occi: Occi) -> None:
    reservation = occi.create(
        "/ipreservation/", EntityDoc(kind=IPRESERVATION, mixins=[PUBLIC_POOL])
    )
    doc = occi.get(reservation)
    assert doc.kind == IPRESERVATION
    address = doc.attributes["occi.ipreservation.address"]
    assert ipaddress.ip_address(address) in PUBLIC_CIDR
    assert doc.attributes.get("occi.ipreservation.used", False) is False

    compute = occi.create("/compute/", compute_doc(nic=False))
    link_path = occi.create(
        "/networkinterface/", link_doc(NETWORKINTERFACE, compute, reservation, IPRESERVATION)
    )
    [nic] = occi.get(compute).links_of(NETWORKINTERFACE)
    assert nic.location == link_path
    assert path_of(nic.target) == reservation
    assert nic.target_kind == IPRESERVATION
    assert nic.attributes["occi.networkinterface.address"] == address
    assert occi.get(reservation).attributes["occi.ipreservation.used"] is True


# --- deletion ------------------------------------------------------------------------------


def test_deleting_a_compute_takes_its_links(occi: Occi) -> None:
    compute = occi.create("/compute/", compute_doc())
    storage = occi.create("/storage/", storage_doc())
    storagelink = occi.create("/storagelink/", link_doc(STORAGELINK, compute, storage, STORAGE))
    [nic] = occi.get(compute).links_of(NETWORKINTERFACE)
    assert nic.location

    assert_status(occi.delete(compute), 200, 204)
    assert_gone(occi, compute)
    assert_gone(occi, nic.location)
    assert_gone(occi, storagelink)
    assert compute not in occi.list("/compute/")
    assert occi.get(storage).kind == STORAGE, "the link's target stays"
    assert_status(occi.delete(compute), 404)


@pytest.fixture
def empty_server(
    start_server: StartServer,
    database_kind: str,
    new_database_url: Callable[[Path], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    """A server of its own: DELETE /compute/ must not take the module's computes."""
    workdir = tmp_path_factory.mktemp(f"delete-all-{database_kind}")
    with start_server(workdir=workdir, database_url=new_database_url(workdir)) as running:
        yield running


def test_delete_on_a_kind_collection_deletes_every_member(empty_server: RunningServer) -> None:
    with empty_server.client() as http:
        occi = Occi(http, TEXT_PLAIN)
        computes = [occi.create("/compute/", compute_doc()) for _ in range(3)]
        storage = occi.create("/storage/", storage_doc())
        storagelink = occi.create(
            "/storagelink/", link_doc(STORAGELINK, computes[0], storage, STORAGE)
        )
        assert sorted(occi.list("/compute/")) == sorted(computes)

        assert_status(occi.delete("/compute/"), 200, 204)
        assert occi.list("/compute/") == []
        for path in [*computes, storagelink]:
            assert_gone(occi, path)
        assert occi.list("/storage/") == [storage]

"""The ec2 backend end to end: a real occi-server in front of a real moto EC2 server.

Every rendering, every action the backend declares, links at creation and
at run time, what EC2 refuses (and what the backend refuses where moto
would not), changes made directly with boto3, and EC2 going away and
coming back while occi-server keeps running. The modules shared with the
sim (discovery, collections, errors, mixins, auth) run on ec2 as well.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    IPRESERVATION,
    NETWORK,
    NETWORK_ACTION,
    NETWORKINTERFACE,
    OCCI_JSON,
    OS_TPL,
    RENDERINGS,
    RESOURCE_TPL,
    SECURITYGROUP,
    SECURITYGROUPLINK,
    SSH_KEY,
    STORAGE,
    STORAGE_ACTION,
    STORAGELINK,
    TEXT_PLAIN,
    URI_LIST,
    USER_DATA,
    EntityDoc,
    LinkDoc,
    Occi,
    assert_status,
    describe,
    path_of,
    read_categories,
    read_locations,
)
from e2e.server import EC2_OS_TPL, EC2_RESOURCE_TPL, Offer
from motoserver import MotoServer

pytestmark = [pytest.mark.e2e, pytest.mark.backends("ec2")]

PUBLIC = "/network/public"
LEGACY_USER_DATA = "http://schemas.openstack.org/compute/instance#user_data"
LEGACY_PUBLIC_KEY = "http://schemas.openstack.org/instance/credentials#public_key"
SCRIPT = b"#!/bin/sh\necho hello from OCCI\n"


def public_key() -> str:
    """A fresh OpenSSH public key (EC2 checks the format of imported keys)."""
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


@pytest.fixture(params=RENDERINGS)
def occi(request: pytest.FixtureRequest, http: httpx.Client) -> Occi:
    """A client writing and reading one rendering."""
    return Occi(http, request.param)


@pytest.fixture
def ec2(moto: MotoServer) -> Any:
    """boto3 on the same moto server: EC2 as the console or the AWS CLI sees it."""
    return moto.client()


def ec2_id(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def compute_doc(offer: Offer, *links: LinkDoc, template: str | None = None) -> EntityDoc:
    return EntityDoc(
        kind=COMPUTE,
        mixins=[offer.image, template or offer.small],
        attributes={"occi.core.title": "e2e"},
        links=list(links),
    )


def storage_doc(size: int = 2) -> EntityDoc:
    return EntityDoc(kind=STORAGE, attributes={"occi.storage.size": size})


# --- discovery ---------------------------------------------------------------------------------


def test_discovery_offers_the_amis_and_instance_types(http: httpx.Client, moto: MotoServer) -> None:
    categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
    for ami in moto.images.values():
        image = categories[EC2_OS_TPL + ami]
        assert image["depends"][0] == OS_TPL and image["location"] == f"/mixin/os_tpl/{ami}/"
    medium = categories[EC2_RESOURCE_TPL + "m5_large"]
    assert medium["depends"][0] == RESOURCE_TPL
    assert medium["attributes"]["occi.compute.cores"]["default"] == 2
    assert medium["attributes"]["occi.compute.memory"]["default"] == 8.0
    # What EC2 has no mapping for is not offered.
    assert IPRESERVATION not in categories
    assert NETWORK_ACTION + "up" not in categories
    assert STORAGE_ACTION + "online" not in categories


def test_discovery_says_what_ec2_requires(http: httpx.Client) -> None:
    categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
    # A network is a subnet of the VPC: EC2 cannot choose its CIDR.
    assert categories[NETWORK]["attributes"]["occi.network.address"]["required"] is True
    text = http.get("/-/", headers={"Accept": TEXT_PLAIN}).text
    network = next(line for line in text.splitlines() if line.startswith("Category: network;"))
    assert "occi.network.address{required}" in network
    refused = http.post(
        "/network/",
        headers={"Content-Type": TEXT_PLAIN, "Accept": TEXT_PLAIN},
        content=b'Category: network; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
        b'class="kind"\n',
    )
    assert refused.status_code == 400, describe(refused)
    assert "occi.network.address is required" in refused.headers["x-occi-error"]


def test_a_filter_by_an_ami_finds_it(http: httpx.Client, offer: Offer) -> None:
    found = read_categories(
        http.get("/-/", headers={"Accept": TEXT_PLAIN, "Category": category_of(offer.image)})
    )
    assert offer.image in found and offer.other_image not in found


def category_of(mixin_id: str) -> str:
    scheme, term = mixin_id.split("#")
    return f'{term}; scheme="{scheme}#"; class="mixin"'


# --- computes ----------------------------------------------------------------------------------


def test_compute_with_links_at_creation(occi: Occi, offer: Offer, ec2: Any) -> None:
    disk = occi.create("/storage/", storage_doc())
    doc = compute_doc(
        offer,
        LinkDoc(kind=STORAGELINK, target=disk, target_kind=STORAGE),
        LinkDoc(kind=NETWORKINTERFACE, target=PUBLIC, target_kind=NETWORK),
    )
    path = occi.create("/compute/", doc)
    assert path.startswith("/compute/i-")
    read = occi.get(path)
    assert read.attributes["occi.compute.state"] == "active"
    assert read.attributes["occi.core.title"] == "e2e"
    assert {offer.image, offer.small} <= set(read.mixins)
    targets = {path_of(link.target): link for link in read.links}
    assert disk in targets and PUBLIC in targets
    address = targets[PUBLIC].attributes["occi.networkinterface.address"]
    assert address in [a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]]
    # The links have URLs of their own.
    for link in read.links:
        assert occi.request("GET", path_of(link.location or "")).status_code == 200
    assert_status(occi.delete(path), 200, 204)
    assert occi.request("GET", path).status_code == 404
    assert address not in [a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]]


def test_compute_actions(occi: Occi, offer: Offer, moto: MotoServer) -> None:
    path = occi.create("/compute/", compute_doc(offer))

    def state() -> str:
        return occi.get(path).attributes["occi.compute.state"]

    assert_status(occi.act(path, COMPUTE_ACTION + "stop", method="graceful"), 200)
    assert state() == "inactive"
    assert_status(occi.act(path, COMPUTE_ACTION + "stop"), 200)  # already stopped: a no-op
    assert occi.act(path, COMPUTE_ACTION + "restart").status_code == 409
    assert_status(occi.act(path, COMPUTE_ACTION + "start"), 200)
    assert state() == "active"
    assert_status(occi.act(path, COMPUTE_ACTION + "restart", method="warm"), 200)
    assert state() == "active"
    # Not launched with hibernation: EC2 cannot suspend it.
    refused = occi.act(path, COMPUTE_ACTION + "suspend")
    assert refused.status_code == 501, describe(refused)
    assert "hibernation" in refused.headers.get("x-occi-error", "")
    saved = occi.act(path, COMPUTE_ACTION + "save", name=f"saved-{time.monotonic_ns()}")
    assert_status(saved, 200, 201)
    images = {i["ImageId"] for i in moto.client().describe_images(Owners=["self"])["Images"]} - set(
        moto.images.values()
    )
    assert len(images) >= 1
    saved_ami = sorted(images)[0]
    discovered = read_categories(occi.http.get("/-/", headers={"Accept": OCCI_JSON}))
    assert all(EC2_OS_TPL + ami in discovered for ami in images), "saved AMIs are os_tpls"
    clone = occi.create("/compute/", EntityDoc(kind=COMPUTE, mixins=[EC2_OS_TPL + saved_ami]))
    assert EC2_OS_TPL + saved_ami in occi.get(clone).mixins


def test_resize_is_a_template_swap_on_a_stopped_compute(
    http: httpx.Client, offer: Offer, ec2: Any
) -> None:
    occi = Occi(http, OCCI_JSON)
    path = occi.create("/compute/", compute_doc(offer))
    large = Offer.location(offer.large, "resource_tpl")
    body = f"X-OCCI-Location: {path}\n"
    refused = http.post(large, headers={"Content-Type": TEXT_PLAIN}, content=body)
    # moto would change a running instance's type; AWS refuses, and so does OCCI.
    assert refused.status_code == 409, describe(refused)
    assert "stop the compute" in refused.headers.get("x-occi-error", "")
    assert_status(occi.act(path, COMPUTE_ACTION + "stop"), 200)
    assert_status(http.post(large, headers={"Content-Type": TEXT_PLAIN}, content=body), 200)
    resized = occi.get(path)
    assert offer.large in resized.mixins and offer.small not in resized.mixins
    assert resized.attributes["occi.compute.memory"] == 8.0
    instance = ec2.describe_instances(InstanceIds=[ec2_id(path)])["Reservations"][0]
    assert instance["Instances"][0]["InstanceType"] == "m5.large"
    assert_status(occi.act(path, COMPUTE_ACTION + "start"), 200)


def test_another_os_tpl_is_501(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = occi.create("/compute/", compute_doc(offer))
    response = occi.update(path, EntityDoc(mixins=[offer.other_image]))
    assert response.status_code == 501, describe(response)
    assert offer.image in occi.get(path).mixins


def test_ids_are_ec2s_even_when_a_client_chooses_one(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    response = occi.put("/compute/my-vm", compute_doc(offer))
    assert response.status_code == 201, describe(response)
    location = path_of(response.headers["location"])
    assert location.startswith("/compute/i-"), "EC2 chooses the id; Location says which"
    assert occi.request("GET", "/compute/my-vm").status_code == 404
    assert occi.get(location).attributes["occi.core.id"] == ec2_id(location)


def test_an_ami_that_does_not_exist_is_400(http: httpx.Client, offer: Offer) -> None:
    response = Occi(http, TEXT_PLAIN).post_entity(
        "/compute/", EntityDoc(kind=COMPUTE, mixins=[offer.small, EC2_OS_TPL + "ami-0badc0ffee"])
    )
    assert response.status_code == 400, describe(response)


@pytest.mark.parametrize(
    ("user_data", "ssh_key", "names"),
    [
        (USER_DATA, SSH_KEY, ("occi.compute.userdata", "occi.credentials.ssh.publickey")),
        (
            LEGACY_USER_DATA,
            LEGACY_PUBLIC_KEY,
            ("org.openstack.compute.user_data", "org.openstack.credentials.publickey.data"),
        ),
    ],
    ids=["occi-1.2", "rocci-legacy"],
)
def test_user_data_and_ssh_key_reach_ec2(
    http: httpx.Client, offer: Offer, ec2: Any, user_data: str, ssh_key: str, names: tuple
) -> None:
    key = public_key()
    doc = compute_doc(offer)
    doc.mixins += [user_data, ssh_key]
    doc.attributes.update({names[0]: base64.b64encode(SCRIPT).decode(), names[1]: key})
    path = Occi(http, TEXT_PLAIN).create("/compute/", doc)
    given = ec2.describe_instance_attribute(InstanceId=ec2_id(path), Attribute="userData")
    assert base64.b64decode(given["UserData"]["Value"]) == SCRIPT
    instance = ec2.describe_instances(InstanceIds=[ec2_id(path)])["Reservations"][0]
    pair = ec2.describe_key_pairs(KeyNames=[instance["Instances"][0]["KeyName"]])
    assert pair["KeyPairs"][0]["KeyName"].startswith("occi-")


# --- storage and links at run time ----------------------------------------------------------------


def test_storage_lifecycle(occi: Occi, ec2: Any) -> None:
    path = occi.create("/storage/", storage_doc(4))
    volume = ec2_id(path)
    assert path.startswith("/storage/vol-")
    assert occi.get(path).attributes["occi.storage.state"] == "online"
    assert_status(occi.update(path, EntityDoc(attributes={"occi.storage.size": 6})), 200)
    assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["Size"] == 6
    assert_status(occi.act(path, STORAGE_ACTION + "resize", size=8), 200)
    assert occi.get(path).attributes["occi.storage.size"] == 8
    for action in ("backup", "snapshot"):
        assert_status(occi.act(path, STORAGE_ACTION + action), 200)
    snapshots = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume]}])
    assert len(snapshots["Snapshots"]) == 2
    assert occi.act(path, STORAGE_ACTION + "offline").status_code in (400, 501)
    assert_status(occi.delete(path), 200, 204)
    assert occi.request("GET", path).status_code == 404


def test_links_at_run_time(occi: Occi, offer: Offer) -> None:
    compute = occi.create("/compute/", compute_doc(offer))
    disk = occi.create("/storage/", storage_doc())
    network = occi.create("/network/", offer.network())
    made = {}
    for kind, target, target_kind in (
        (STORAGELINK, disk, STORAGE),
        (NETWORKINTERFACE, network, NETWORK),
        (NETWORKINTERFACE, PUBLIC, NETWORK),
    ):
        doc = EntityDoc(kind=kind, source=compute, target=target, target_kind=target_kind)
        if kind == STORAGELINK:
            doc.attributes["occi.storagelink.mountpoint"] = "/data"
        made[target] = occi.create(f"/{kind.rsplit('#', 1)[1]}/", doc)
    links = {path_of(link.target): link for link in occi.get(compute).links}
    assert {disk, network, PUBLIC} <= links.keys()
    assert links[disk].attributes["occi.storagelink.deviceid"].startswith("/dev/sd")
    assert links[disk].attributes["occi.storagelink.mountpoint"] == "/data"
    assert links[network].attributes["occi.networkinterface.interface"] == "eth1"
    for target, link in made.items():
        assert_status(occi.delete(link), 200, 204)
        assert occi.request("GET", link).status_code == 404, target
    remaining = {path_of(link.target) for link in occi.get(compute).links}
    assert not {disk, network, PUBLIC} & remaining


def test_network_up_is_501_and_the_subnet_is_an_ipnetwork(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, OCCI_JSON)
    network = occi.create("/network/", offer.network(**{"occi.core.title": "back"}))
    read = occi.get(network)
    assert read.attributes["occi.network.address"].endswith("/24")
    assert read.attributes["occi.network.gateway"].endswith(".1")
    assert occi.act(network, NETWORK_ACTION + "down").status_code in (400, 501)
    assert_status(occi.delete(network), 200, 204)


def test_security_group_and_link(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, OCCI_JSON)
    rule = {"type": "inbound", "protocol": "tcp", "port": "22", "range": "10.0.0.0/8"}
    group = occi.create(
        "/securitygroup/",
        EntityDoc(
            kind=SECURITYGROUP,
            attributes={"occi.core.title": "ssh", "occi.securitygroup.rules": [rule]},
        ),
    )
    assert occi.get(group).attributes["occi.securitygroup.rules"] == [{**rule, "ipversion": "IPv4"}]
    compute = occi.create("/compute/", compute_doc(offer))
    link = occi.create(
        "/securitygrouplink/",
        EntityDoc(kind=SECURITYGROUPLINK, source=compute, target=group, target_kind=SECURITYGROUP),
    )
    assert group in [path_of(each.target) for each in occi.get(compute).links]
    assert occi.delete(group).status_code == 409, "in use"
    assert_status(occi.delete(link), 200, 204)
    assert_status(occi.delete(group), 200, 204)


# --- EC2 changed behind OCCI's back ----------------------------------------------------------


def test_changes_made_with_boto3_show_at_once(http: httpx.Client, offer: Offer, ec2: Any) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = occi.create("/compute/", compute_doc(offer))
    ec2.stop_instances(InstanceIds=[ec2_id(path)])
    ec2.create_tags(Resources=[ec2_id(path)], Tags=[{"Key": "Name", "Value": "from-cli"}])
    read = occi.get(path)
    assert read.attributes["occi.compute.state"] == "inactive"
    assert read.attributes["occi.core.title"] == "from-cli"
    volume = ec2.create_volume(
        Size=3,
        AvailabilityZone="us-east-1a",
        TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "occi:tenant", "Value": "default"}]}
        ],
    )["VolumeId"]
    listed = http.get("/storage/", headers={"Accept": URI_LIST})
    assert f"/storage/{volume}" in [path_of(u) for u in read_locations(listed)]
    ec2.terminate_instances(InstanceIds=[ec2_id(path)])
    assert occi.request("GET", path).status_code == 404


# Last: moto forgets everything when it stops.
def test_ec2_unreachable_is_503_then_the_server_recovers(
    http: httpx.Client, moto: MotoServer
) -> None:
    moto.stop()
    try:
        for path in ("/compute/", "/storage/"):
            response = http.get(path, headers={"Accept": TEXT_PLAIN})
            assert response.status_code == 503, describe(response)
            assert int(response.headers["retry-after"]) > 0
            assert "EC2" in response.headers.get("x-occi-error", "")
    finally:
        moto.start()
    response = http.get("/compute/", headers={"Accept": URI_LIST})
    assert response.status_code == 200, describe(response)
    assert read_locations(response) == []

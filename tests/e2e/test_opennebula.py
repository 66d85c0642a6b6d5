"""The opennebula backend end to end: a real occi-server in front of a real oned.

Computes in every rendering, their templates (VM templates, configured
sizes), every compute action the backend declares, save then a compute from
the saved os_tpl, resize, links made with a compute and at run time,
security groups and their links, what the backend refuses (501), changes
made with pyone behind OCCI's back, and oned stopped and started again
under a running server. oned works
asynchronously with its dummy drivers too (a new VM is ``PENDING``, then
``BOOT``, before ``RUNNING``): the tests wait for the states they expect
(`e2e.waiting`). The modules shared with the other backends (discovery,
collections, errors, mixins, auth, read your writes, the third-party
clients) run on opennebula as well.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    NETWORK,
    NETWORKINTERFACE,
    OCCI_JSON,
    OS_TPL,
    RENDERINGS,
    RESOURCE_TPL,
    SECURITYGROUP,
    SECURITYGROUPLINK,
    STORAGE,
    STORAGELINK,
    TEXT_PLAIN,
    URI_LIST,
    EntityDoc,
    LinkDoc,
    Occi,
    assert_status,
    describe,
    path_of,
    read_categories,
    read_locations,
    saved_template,
)
from e2e.server import Offer
from e2e.waiting import DEADLINE, POLL, wait_state
from opennebula_cloud import OneCloud
from pyocci.backends.opennebula.catalogue import OS_TPL_SCHEME, RESOURCE_TPL_SCHEME
from pyocci.backends.opennebula.clusters import ZONE_SCHEME

pytestmark = [pytest.mark.e2e, pytest.mark.backends("opennebula")]

TITLE = "occi.core.title"
STATE = "occi.compute.state"
AVAILABILITY_ZONE = "http://schemas.ogf.org/occi/infrastructure#availability_zone"


@pytest.fixture
def one(one_cloud: OneCloud) -> Any:
    """pyone on the same oned, as its administrator: OpenNebula as Sunstone or the CLI
    sees it."""
    return one_cloud.client()


def one_id(path: str) -> int:
    return int(path.rstrip("/").rsplit("/", 1)[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def booted(occi: Occi, offer: Offer, *links: LinkDoc) -> str:
    """A new compute (the first template, the small size), once oned runs it."""
    doc = offer.compute(offer.small, **{TITLE: unique("vm")})
    doc.links = list(links)
    path = occi.create("/compute/", doc)
    wait_state(occi, path, "active")
    return path


def wait_until_gone(occi: Occi, path: str) -> None:
    """oned terminates in the background: the compute is 404 once it has."""
    deadline = time.monotonic() + DEADLINE
    while (response := occi.request("GET", path)).status_code == 200:
        assert time.monotonic() < deadline, f"{path} still there"
        time.sleep(POLL)
    assert_status(response, 404)


# --- templates ---------------------------------------------------------------------------------


def test_discovery_offers_the_vm_templates_and_sizes(
    http: httpx.Client, one: Any, offer: Offer
) -> None:
    categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
    offered = {i: c for i, c in categories.items() if i.startswith(OS_TPL_SCHEME)}
    titles = {template.NAME for template in one.templatepool.info(-2, -1, -1).VMTEMPLATE}
    assert {offer.image, offer.other_image} <= offered.keys()
    for identifier, mixin in offered.items():
        assert mixin["depends"][0] == OS_TPL
        assert mixin["title"] in titles, identifier
    large = categories[RESOURCE_TPL_SCHEME + "large"]
    assert large["depends"][0] == RESOURCE_TPL
    assert large["attributes"]["occi.compute.cores"]["default"] == 4
    assert large["attributes"]["occi.compute.memory"]["default"] == 8.0


# --- computes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_create_read_list_and_delete_a_compute(
    http: httpx.Client, offer: Offer, one: Any, rendering: str
) -> None:
    occi = Occi(http, rendering)
    path = occi.create("/compute/", offer.compute(offer.small, **{TITLE: unique("vm")}))
    read = occi.get(path)
    assert {offer.image, offer.small} <= set(read.mixins)
    assert read.attributes["occi.compute.memory"] == 1.0
    assert path in occi.list("/compute/")
    vm = one.vm.info(one_id(path))
    assert (vm.NAME, vm.TEMPLATE["MEMORY"]) == (read.attributes[TITLE], "1024")
    assert_status(occi.delete(path), 200, 202, 204)
    wait_until_gone(occi, path)


def test_every_declared_action_then_save_and_a_compute_from_the_saved_os_tpl(
    http: httpx.Client, offer: Offer, one: Any
) -> None:
    occi = Occi(http, OCCI_JSON)
    path = booted(occi, offer)
    for action, method, state in (
        ("stop", "graceful", "inactive"),
        ("start", None, "active"),
        ("restart", "warm", "active"),
        ("suspend", None, "suspended"),
        ("start", None, "active"),
        ("stop", "poweroff", "inactive"),
        ("start", None, "active"),
    ):
        parameters = {"method": method} if method else {}
        response = occi.act(path, COMPUTE_ACTION + action, **parameters)
        assert response.status_code == 200, f"{action}: {describe(response)}"
        wait_state(occi, path, state)
    name = unique("golden")
    image = saved_template(occi.act(path, COMPUTE_ACTION + "save", name=name), path)
    template = image["scheme"] + image["term"]
    assert image["title"] == name
    assert name in {t.NAME for t in one.templatepool.info(-2, -1, -1).VMTEMPLATE}
    deadline = time.monotonic() + DEADLINE
    while (response := occi.post_entity("/compute/", offer.compute(image=template))).status_code:
        if response.status_code != 409:
            break
        assert response.headers.get("retry-after", "").isdigit(), describe(response)
        assert time.monotonic() < deadline, "the saved os_tpl never became usable"
        time.sleep(POLL)
    assert response.status_code == 201, describe(response)
    clone = path_of(response.headers["location"])
    assert template in occi.get(clone).mixins
    assert template in read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))


def test_an_action_oned_refuses_in_this_state_is_409(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = booted(occi, offer)
    assert_status(occi.act(path, COMPUTE_ACTION + "stop", method="poweroff"), 200)
    wait_state(occi, path, "inactive")
    response = occi.act(path, COMPUTE_ACTION + "restart")
    assert response.status_code == 409, describe(response)
    assert response.headers.get("x-occi-error"), describe(response)


def test_a_resource_template_swap_resizes(http: httpx.Client, offer: Offer, one: Any) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = booted(occi, offer)
    assert_status(occi.act(path, COMPUTE_ACTION + "stop", method="poweroff"), 200)
    wait_state(occi, path, "inactive")
    large = Offer.location(offer.large, "resource_tpl")
    body = f"X-OCCI-Location: {path}\n"
    response = http.post(large, headers={"Content-Type": TEXT_PLAIN}, content=body)
    assert response.status_code == 200, describe(response)
    resized = occi.get(path)
    assert offer.large in resized.mixins and offer.small not in resized.mixins
    assert resized.attributes["occi.compute.memory"] == 8.0
    assert one.vm.info(one_id(path)).TEMPLATE["MEMORY"] == "8192"


def test_another_os_tpl_is_501(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = occi.create("/compute/", offer.compute(offer.small))
    response = occi.update(path, EntityDoc(mixins=[offer.other_image]))
    assert response.status_code == 501, describe(response)
    assert offer.image in occi.get(path).mixins


def test_clusters_are_availability_zones(
    http: httpx.Client, offer: Offer, one: Any, one_cloud: OneCloud
) -> None:
    made = one_cloud.provisioned
    assert made is not None
    zone = ZONE_SCHEME + made.zone_cluster_name
    categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
    assert categories[zone]["depends"] == [AVAILABILITY_ZONE]
    assert ZONE_SCHEME + "default" in categories
    occi = Occi(http, TEXT_PLAIN)
    doc = offer.compute(offer.small, zone, **{TITLE: unique("zoned")})
    path = occi.create("/compute/", doc)
    wait_state(occi, path, "active")
    # oned placed it on the cluster's host, and the compute says where it is.
    history = one.vm.info(one_id(path)).HISTORY_RECORDS.HISTORY
    assert int(history[-1].CID) == made.zone_cluster_id
    assert zone in occi.get(path).mixins
    moved = occi.update(path, EntityDoc(mixins=[ZONE_SCHEME + "default"]))
    assert moved.status_code == 501, describe(moved)
    unknown = occi.post_entity("/compute/", offer.compute(offer.small, ZONE_SCHEME + "atlantis"))
    assert unknown.status_code == 400, describe(unknown)
    assert "unknown mixin" in unknown.headers["x-occi-error"]


# --- links -------------------------------------------------------------------------------------


def test_links_made_with_the_compute(http: httpx.Client, offer: Offer, one: Any) -> None:
    occi = Occi(http, OCCI_JSON)
    disk = occi.create("/storage/", EntityDoc(kind=STORAGE, attributes={"occi.storage.size": 1}))
    network = occi.create("/network/", offer.network())
    path = booted(
        occi,
        offer,
        LinkDoc(kind=STORAGELINK, target=disk, target_kind=STORAGE),
        LinkDoc(kind=NETWORKINTERFACE, target=network, target_kind=NETWORK),
    )
    links = {path_of(link.target): link for link in occi.get(path).links}
    assert {disk, network} <= links.keys()
    assert links[network].attributes["occi.networkinterface.address"].startswith("172.31.")
    vm = one.vm.info(one_id(path))
    disks = vm.TEMPLATE["DISK"]
    assert isinstance(disks, list) and len(disks) == 2, "the template's OS disk, then the storage"
    for link in links.values():
        assert occi.request("GET", path_of(link.location or "")).status_code == 200


def test_a_link_at_creation_to_another_tenants_network_is_400(
    http: httpx.Client, offer: Offer
) -> None:
    doc = offer.compute(offer.small)
    doc.links = [LinkDoc(kind=NETWORKINTERFACE, target="/network/0", target_kind=NETWORK)]
    response = Occi(http, TEXT_PLAIN).post_entity("/compute/", doc)
    assert response.status_code in (400, 404), describe(response)


def test_links_at_run_time(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    compute = booted(occi, offer)
    disk = occi.create("/storage/", EntityDoc(kind=STORAGE, attributes={"occi.storage.size": 1}))
    network = occi.create("/network/", offer.network())
    made = {}
    for kind, target, target_kind in (
        (STORAGELINK, disk, STORAGE),
        (NETWORKINTERFACE, network, NETWORK),
    ):
        doc = EntityDoc(kind=kind, source=compute, target=target, target_kind=target_kind)
        made[target] = occi.create(f"/{kind.rsplit('#', 1)[1]}/", doc)
        wait_state(occi, compute, "active")  # oned hot-plugs, then the VM runs again
    links = {path_of(link.target): link for link in occi.get(compute).links}
    assert {disk, network} <= links.keys()
    assert links[disk].attributes["occi.storagelink.deviceid"].startswith("/dev/")
    for target, link in made.items():
        assert_status(occi.delete(link), 200, 202, 204)
        wait_state(occi, compute, "active")
        assert occi.request("GET", link).status_code == 404, target
    remaining = {path_of(link.target) for link in occi.get(compute).links}
    assert not {disk, network} & remaining


# --- security groups ---------------------------------------------------------------------------

RULES = "occi.securitygroup.rules"
SSH = {"type": "inbound", "protocol": "tcp", "port": "22", "range": "0.0.0.0/0"}
WEB = {"type": "inbound", "protocol": "tcp", "port": "8000-8080", "range": "10.20.0.0/16"}
PING6 = {"type": "inbound", "protocol": "icmp", "range": "2001:db8::/120"}
OUT = [
    {"type": "outbound", "protocol": "any", "range": "0.0.0.0/0"},
    {"type": "outbound", "protocol": "any", "range": "::/0"},
]


def as_set(rules: list[dict[str, Any]]) -> set[tuple[tuple[str, Any], ...]]:
    """Rules as normalised (the version named), in any order."""
    found = set()
    for rule in rules:
        version = rule.get("ipversion") or ("IPv6" if ":" in rule["range"] else "IPv4")
        found.add(tuple(sorted({**rule, "ipversion": version}.items())))
    return found


def group_rules_on(one: Any, vm_path: str, group: str) -> set[tuple[str | None, ...]]:
    """The rules of a group oned has carried to a VM (its SECURITY_GROUP_RULEs)."""
    found = one.vm.info(one_id(vm_path)).TEMPLATE.get("SECURITY_GROUP_RULE") or []
    found = found if isinstance(found, list) else [found]
    return {
        (rule.get("PROTOCOL"), rule.get("RANGE"), rule.get("IP"))
        for rule in found
        if rule.get("SECURITY_GROUP_ID") == str(one_id(group))
    }


def nic_groups(one: Any, vm_path: str) -> set[int]:
    nic = one.vm.info(one_id(vm_path)).TEMPLATE["NIC"]
    return {int(each) for each in nic["SECURITY_GROUPS"].split(",")}


def test_discovery_offers_security_groups_and_their_links(http: httpx.Client) -> None:
    categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
    assert categories[SECURITYGROUP]["location"] == "/securitygroup/"
    assert categories[SECURITYGROUPLINK]["location"] == "/securitygrouplink/"


def test_security_groups_linked_at_creation_and_at_run_time(
    http: httpx.Client, offer: Offer, one: Any
) -> None:
    occi = Occi(http, OCCI_JSON)
    asked = [SSH, WEB, PING6, *OUT]
    web = occi.create(
        "/securitygroup/",
        EntityDoc(kind=SECURITYGROUP, attributes={TITLE: unique("web"), RULES: asked}),
    )
    assert as_set(occi.get(web).attributes[RULES]) == as_set(asked)
    # OpenNebula has the rules as its own: 0.0.0.0/0 alone as two halves, everywhere of
    # both versions as one rule without an address.
    vectors = one.secgroup.info(one_id(web)).TEMPLATE["RULE"]
    assert {(v["PROTOCOL"], v.get("RANGE"), v.get("IP"), v.get("SIZE")) for v in vectors} == {
        ("TCP", "22", "0.0.0.0", "2147483648"),
        ("TCP", "22", "128.0.0.0", "2147483648"),
        ("TCP", "8000:8080", "10.20.0.0", "65536"),
        ("ICMPV6", None, "2001:db8::", "256"),
        ("ALL", None, None, None),
    }

    network = occi.create("/network/", offer.network())
    compute = booted(
        occi,
        offer,
        LinkDoc(kind=NETWORKINTERFACE, target=network, target_kind=NETWORK),
        LinkDoc(kind=SECURITYGROUPLINK, target=web, target_kind=SECURITYGROUP),
    )
    assert one_id(web) in nic_groups(one, compute)
    [born] = [
        link
        for link in occi.get(compute).links_of(SECURITYGROUPLINK)
        if path_of(link.target) == web
    ]
    assert occi.request("GET", path_of(born.location or "")).status_code == 200

    # At run time: a second group on the NIC.
    admin = occi.create(
        "/securitygroup/",
        EntityDoc(
            kind=SECURITYGROUP,
            attributes={TITLE: unique("admin"), RULES: [{**SSH, "range": "10.0.0.0/8"}]},
        ),
    )
    linked = occi.create(
        "/securitygrouplink/",
        EntityDoc(kind=SECURITYGROUPLINK, source=compute, target=admin, target_kind=SECURITYGROUP),
    )
    assert linked == f"/securitygrouplink/{one_id(compute)}-sg-{one_id(admin)}"
    assert {one_id(web), one_id(admin)} <= nic_groups(one, compute)

    # New rules replace the old, and oned carries them to the VM.
    response = occi.update(web, EntityDoc(attributes={RULES: [WEB, *OUT]}))
    assert_status(response, 200)
    assert as_set(occi.get(web).attributes[RULES]) == as_set([WEB, *OUT])
    deadline = time.monotonic() + DEADLINE
    while group_rules_on(one, compute, web) != {
        ("TCP", "8000:8080", "10.20.0.0"),
        ("ALL", None, None),
    }:
        assert time.monotonic() < deadline, group_rules_on(one, compute, web)
        time.sleep(POLL)

    # A group in use stays; unlinked, it goes.
    assert_status(occi.delete(web), 409)
    assert_status(occi.delete(path_of(born.location or "")), 200, 204)
    assert occi.request("GET", path_of(born.location or "")).status_code == 404
    assert one_id(web) not in nic_groups(one, compute)
    assert_status(occi.delete(web), 200, 204)
    assert occi.request("GET", web).status_code == 404
    assert_status(occi.delete(linked), 200, 204)
    assert_status(occi.delete(admin), 200, 204)


def test_what_opennebula_cannot_keep_is_400_and_a_compute_without_a_nic_409(
    http: httpx.Client, offer: Offer
) -> None:
    occi = Occi(http, TEXT_PLAIN)
    wide = {"type": "inbound", "protocol": "tcp", "range": "2001:db8::/64"}
    response = Occi(http, OCCI_JSON).post_entity(
        "/securitygroup/", EntityDoc(kind=SECURITYGROUP, attributes={RULES: [SSH, wide]})
    )
    assert response.status_code == 400, describe(response)
    assert "/97 or longer" in response.headers["x-occi-error"]
    group = Occi(http, OCCI_JSON).create(
        "/securitygroup/", EntityDoc(kind=SECURITYGROUP, attributes={RULES: [SSH]})
    )
    compute = occi.create("/compute/", offer.compute(offer.small))
    response = occi.post_entity(
        "/securitygrouplink/",
        EntityDoc(kind=SECURITYGROUPLINK, source=compute, target=group, target_kind=SECURITYGROUP),
    )
    assert response.status_code == 409, describe(response)
    assert "no network interface" in response.headers["x-occi-error"]


# --- oned changed behind OCCI's back -----------------------------------------------------------


def test_changes_made_with_pyone_show_at_once(http: httpx.Client, offer: Offer, one: Any) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = booted(occi, offer)
    made_here = one.vm.info(one_id(path))
    one.vm.rename(one_id(path), "from-pyone")
    assert occi.get(path).attributes[TITLE] == "from-pyone"
    one.vm.action("poweroff-hard", one_id(path))
    wait_state(occi, path, "inactive")
    # A VM made with pyone in the tenant's group is one of the tenant's computes.
    template_id = int(made_here.TEMPLATE["TEMPLATE_ID"])
    vm_id = one.template.instantiate(template_id, "made-with-pyone", False, "", False)
    one.vm.chown(vm_id, int(made_here.UID), int(made_here.GID))
    made = f"/compute/{vm_id}"
    assert occi.get(made).attributes[TITLE] == "made-with-pyone"
    listed = http.get("/compute/", headers={"Accept": URI_LIST})
    assert made in [path_of(u) for u in read_locations(listed)]
    one.vm.action("terminate-hard", one_id(path))
    wait_until_gone(occi, path)


def test_a_link_to_the_public_network_is_a_nic_on_the_sites_network(
    http: httpx.Client, offer: Offer, one: Any, one_cloud: OneCloud
) -> None:
    made = one_cloud.provisioned
    assert made is not None
    occi = Occi(http, OCCI_JSON)
    public = occi.get("/network/public")
    assert public.attributes["occi.core.id"] == "public"
    assert public.attributes["occi.core.title"] == "dummy-net"
    assert "/network/public" in occi.list("/network/")
    path = booted(occi, offer)
    link = occi.create(
        "/networkinterface/",
        EntityDoc(kind=NETWORKINTERFACE, source=path, target="/network/public"),
    )
    wait_state(occi, path, "active")
    nic = occi.get(link)
    assert path_of(nic.attributes["occi.core.target"]) == "/network/public"
    assert nic.attributes["occi.networkinterface.address"].startswith("10.0.0.")
    nics = one.vm.info(one_id(path)).TEMPLATE["NIC"]
    nics = nics if isinstance(nics, list) else [nics]
    assert [int(n["NETWORK_ID"]) for n in nics] == [made.network_id]
    assert occi.delete("/network/public").status_code == 409
    assert_status(occi.delete(link), 200, 202, 204)


# Last: the cloud is stopped and started again under the running server.
def test_oned_stopped_is_503_then_the_server_recovers(
    http: httpx.Client, offer: Offer, one_cloud: OneCloud
) -> None:
    occi = Occi(http, TEXT_PLAIN)
    # Running first: a VM oned was deploying when it stopped may wait for a driver answer
    # that never comes (seen to hold up the placement of later VMs).
    path = booted(occi, offer)
    with one_cloud.oned_stopped():
        for url in ("/compute/", path, "/storage/"):
            response = http.get(url, headers={"Accept": TEXT_PLAIN})
            assert response.status_code == 503, describe(response)
            assert int(response.headers["retry-after"]) > 0
            assert "OpenNebula" in response.headers.get("x-occi-error", "")
    # The same occi-server process, not restarted.
    response = http.get("/compute/", headers={"Accept": URI_LIST})
    assert response.status_code == 200, describe(response)
    assert path in [path_of(u) for u in read_locations(response)]
    assert occi.get(path).kind == COMPUTE
    wait_state(occi, occi.create("/compute/", offer.compute(offer.small)), "active")

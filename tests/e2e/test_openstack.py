"""The openstack backend end to end: a real occi-server in front of a real Nova.

Computes in every rendering, their templates (Glance images, Nova flavors),
every compute action, save, resize, what Nova or the backend refuses, and
changes made with openstacksdk behind OCCI's back. Nova works
asynchronously: a new server is ``BUILD`` (waiting) before it is
``ACTIVE``, an action takes a moment, so the tests wait for the states
they expect (`e2e.waiting`). The modules shared with the sim (discovery,
collections, errors, mixins, auth) run on openstack as well.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    OCCI_JSON,
    OS_TPL,
    RENDERINGS,
    RESOURCE_TPL,
    SSH_KEY,
    TEXT_PLAIN,
    URI_LIST,
    USER_DATA,
    EntityDoc,
    Occi,
    assert_status,
    category_value,
    describe,
    path_of,
    read_categories,
    read_entity,
    read_locations,
    saved_template,
)
from e2e.server import OPENSTACK_OS_TPL, OPENSTACK_RESOURCE_TPL, Offer, StartServer
from e2e.waiting import DEADLINE, POLL, wait_state

pytestmark = [pytest.mark.e2e, pytest.mark.backends("openstack")]

TITLE = "occi.core.title"
STATE = "occi.compute.state"
ACTIVE_ACTIONS = {COMPUTE_ACTION + t for t in ("stop", "restart", "suspend", "save")}
LEGACY_PUBLIC_KEY = "http://schemas.openstack.org/instance/credentials#public_key"
#: How the backend names the key pair it makes for a compute (see the backend's docs).
KEY_PAIR_PREFIX = "occi-compute-"
SCRIPT = b"#cloud-config\nruncmd: [echo hello from OCCI]\n"


@pytest.fixture(params=RENDERINGS)
def occi(request: pytest.FixtureRequest, http: httpx.Client) -> Occi:
    """A client writing and reading one rendering."""
    return Occi(http, request.param)


def nova_id(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def booted(occi: Occi, offer: Offer, **attributes: object) -> str:
    """A new compute (the small flavor, the first image), once Nova has it active."""
    path = occi.create("/compute/", offer.compute(**{TITLE: unique("vm"), **attributes}))
    wait_state(occi, path, "active")
    return path


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until_gone(occi: Occi, path: str) -> None:
    """Nova deletes asynchronously: the compute is 404 once it has."""
    deadline = time.monotonic() + DEADLINE
    while (response := occi.request("GET", path)).status_code == 200:
        assert time.monotonic() < deadline, f"{path} still there"
        time.sleep(POLL)
    assert_status(response, 404)


# --- templates -------------------------------------------------------------------------------


def test_discovery_offers_the_images_and_flavors(http: httpx.Client, nova_sdk: Any) -> None:
    categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
    images = [image for image in nova_sdk.image.images() if image.status == "active"]
    assert images
    for image in images:
        mixin = categories[OPENSTACK_OS_TPL + image.id]
        assert mixin["depends"][0] == OS_TPL
        assert mixin["location"] == f"/mixin/os_tpl/{image.id}/"
    for flavor in nova_sdk.compute.flavors(details=True):
        mixin = categories[OPENSTACK_RESOURCE_TPL + flavor.id]
        assert mixin["depends"][0] == RESOURCE_TPL
        assert mixin["location"] == f"/mixin/resource_tpl/{flavor.id}/"
        assert mixin["attributes"]["occi.compute.cores"]["default"] == flavor.vcpus
        assert mixin["attributes"]["occi.compute.memory"]["default"] == flavor.ram / 1024


def test_a_filter_by_an_image_finds_it(http: httpx.Client, offer: Offer) -> None:
    scheme, term = offer.image.split("#")
    category = f'{term}; scheme="{scheme}#"; class="mixin"'
    found = read_categories(http.get("/-/", headers={"Accept": TEXT_PLAIN, "Category": category}))
    assert offer.image in found and offer.other_image not in found


# --- create, read, list, delete ----------------------------------------------------------------


def test_create_read_list_and_delete_a_compute(occi: Occi, offer: Offer, nova_sdk: Any) -> None:
    title = unique("vm")
    response = occi.post_entity("/compute/", offer.compute(**{TITLE: title}))
    assert_status(response, 201)
    path = path_of(response.headers["location"])
    server = nova_sdk.compute.get_server(nova_id(path))
    assert server.name == title, "Nova chose the id; the title is the server's name"
    assert any(tag.startswith("occi-tenant-") for tag in server.tags)

    doc = wait_state(occi, path, "active")
    assert doc.kind == COMPUTE
    assert doc.id == server.id
    assert doc.attributes[TITLE] == title
    assert {offer.image, offer.small} <= set(doc.mixins)
    assert doc.attributes["occi.compute.cores"] == 1
    assert doc.attributes["occi.compute.memory"] == 0.5
    assert set(doc.actions) == ACTIVE_ACTIONS

    assert path in occi.list("/compute/")
    uris = read_locations(occi.http.get("/compute/", headers={"Accept": URI_LIST}))
    assert path in [path_of(uri) for uri in uris]
    filtered = occi.list("/compute/", [("Category", category_value(offer.image, "mixin"))])
    assert path in filtered

    assert_status(occi.delete(path), 200, 204)
    wait_until_gone(occi, path)
    assert path not in occi.list("/compute/")


def test_a_compute_needs_an_image_and_a_flavor(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    for mixins, missing in (([offer.image], "resource_tpl"), ([offer.small], "os_tpl")):
        response = occi.post_entity("/compute/", EntityDoc(kind=COMPUTE, mixins=mixins))
        assert response.status_code == 400, describe(response)
        assert missing in response.headers.get("x-occi-error", "")


def test_an_image_glance_does_not_have_is_400(http: httpx.Client, offer: Offer) -> None:
    missing = OPENSTACK_OS_TPL + str(uuid.uuid4())
    response = Occi(http, TEXT_PLAIN).post_entity(
        "/compute/", EntityDoc(kind=COMPUTE, mixins=[missing, offer.small])
    )
    assert response.status_code == 400, describe(response)
    assert missing in response.headers.get("x-occi-error", "")


def test_ids_are_novas_even_when_a_client_chooses_one(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    response = occi.put("/compute/my-vm", offer.compute())
    assert response.status_code == 201, describe(response)
    location = path_of(response.headers["location"])
    assert location != "/compute/my-vm", "Nova chooses the id; Location says which"
    assert occi.request("GET", "/compute/my-vm").status_code == 404
    assert uuid.UUID(nova_id(location))


def test_user_data_reaches_nova(http: httpx.Client, offer: Offer, nova_sdk: Any) -> None:
    doc = offer.compute(USER_DATA, **{"occi.compute.userdata": base64.b64encode(SCRIPT).decode()})
    path = Occi(http, TEXT_PLAIN).create("/compute/", doc)
    # The user data is an administrator's detail of a server (compute API 2.3).
    response = nova_sdk.compute.get(
        f"/servers/{nova_id(path)}", microversion="2.3", headers={"Accept": "application/json"}
    )
    given = response.json()["server"]["OS-EXT-SRV-ATTR:user_data"]
    assert base64.b64decode(given) == SCRIPT


def public_key() -> str:
    """A fresh OpenSSH public key (Nova checks the keys it is given)."""
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


def key_pairs(nova_sdk: Any) -> dict[str, str]:
    """Nova's key pairs (of the user the server acts as): name -> public key."""
    return {pair.name: pair.public_key for pair in nova_sdk.compute.keypairs()}


@pytest.mark.parametrize(
    ("mixin", "attribute"),
    [
        (SSH_KEY, "occi.credentials.ssh.publickey"),
        (LEGACY_PUBLIC_KEY, "org.openstack.credentials.publickey.data"),
    ],
    ids=["occi-1.2", "rocci-legacy"],
)
def test_an_ssh_key_becomes_the_computes_own_key_pair(
    http: httpx.Client, offer: Offer, nova_sdk: Any, mixin: str, attribute: str
) -> None:
    occi = Occi(http, TEXT_PLAIN)
    key = public_key()
    path = occi.create("/compute/", offer.compute(mixin, **{attribute: key}))
    key_name = nova_sdk.compute.get_server(nova_id(path)).key_name
    assert key_name and key_name.startswith(KEY_PAIR_PREFIX)
    assert key_pairs(nova_sdk)[key_name] == key
    wait_state(occi, path, "active")
    assert_status(occi.delete(path), 200, 204)
    assert key_name not in key_pairs(nova_sdk), "the key pair goes with its compute"


def test_a_key_nova_cannot_read_is_400_and_leaves_no_key_pair(
    http: httpx.Client, offer: Offer, nova_sdk: Any
) -> None:
    before = key_pairs(nova_sdk)
    doc = offer.compute(SSH_KEY, **{"occi.credentials.ssh.publickey": "ssh-rsa not-a-key"})
    response = Occi(http, TEXT_PLAIN).post_entity("/compute/", doc)
    assert response.status_code == 400, describe(response)
    assert "OpenStack" in response.headers.get("x-occi-error", "")
    assert key_pairs(nova_sdk) == before


def test_a_refused_boot_leaves_no_key_pair(http: httpx.Client, offer: Offer, nova_sdk: Any) -> None:
    before = key_pairs(nova_sdk)
    # Nova refuses a server name over 255 characters, after the key pair is made.
    doc = offer.compute(
        SSH_KEY, **{"occi.credentials.ssh.publickey": public_key(), TITLE: "x" * 300}
    )
    response = Occi(http, TEXT_PLAIN).post_entity("/compute/", doc)
    assert response.status_code == 400, describe(response)
    assert "OpenStack" in response.headers.get("x-occi-error", ""), "Nova's refusal"
    assert key_pairs(nova_sdk) == before


def test_user_data_that_is_not_base64_is_400(http: httpx.Client, offer: Offer) -> None:
    doc = offer.compute(USER_DATA, **{"occi.compute.userdata": "not base64!"})
    response = Occi(http, TEXT_PLAIN).post_entity("/compute/", doc)
    assert response.status_code == 400, describe(response)
    assert "base64" in response.headers.get("x-occi-error", "")


# --- actions ---------------------------------------------------------------------------------


def test_compute_actions_follow_the_state_machine(occi: Occi, offer: Offer) -> None:
    path = booted(occi, offer)

    def act(term: str, then: str, **parameters: str) -> EntityDoc:
        response = occi.act(path, COMPUTE_ACTION + term, **parameters)
        assert_status(response, 200)
        # The answer shows the server as Nova has it now: on its way, or there already.
        assert read_entity(response).attributes[STATE] in ("waiting", then), describe(response)
        return wait_state(occi, path, then)

    def refused(term: str, **parameters: str) -> None:
        response = occi.act(path, COMPUTE_ACTION + term, **parameters)
        assert_status(response, 409)
        assert response.headers.get("x-occi-error")

    doc = act("stop", "inactive", method="graceful")
    assert COMPUTE_ACTION + "start" in doc.actions
    assert not {COMPUTE_ACTION + t for t in ("stop", "restart", "suspend")} & set(doc.actions)
    # Already where stop leads: a no-op; from here restart and suspend lead nowhere.
    assert_status(occi.act(path, COMPUTE_ACTION + "stop", method="poweroff"), 200)
    assert wait_state(occi, path, "inactive")
    refused("restart")
    refused("suspend")

    doc = act("start", "active")
    assert set(doc.actions) == ACTIVE_ACTIONS
    assert_status(occi.act(path, COMPUTE_ACTION + "start"), 200)  # a no-op

    act("restart", "active", method="warm")
    act("restart", "active", method="cold")
    doc = act("suspend", "suspended")
    assert COMPUTE_ACTION + "start" in doc.actions
    assert COMPUTE_ACTION + "stop" not in doc.actions
    refused("stop", method="acpioff")
    act("start", "active")


def test_a_restart_method_nova_has_no_reboot_for_is_400(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = booted(occi, offer)
    response = occi.act(path, COMPUTE_ACTION + "restart", method="sideways")
    assert response.status_code == 400, describe(response)
    assert occi.get(path).attributes[STATE] == "active"


def test_save_makes_an_os_template_that_boots_new_computes(
    occi: Occi, offer: Offer, nova_sdk: Any
) -> None:
    path = booted(occi, offer)
    name = unique("image")
    response = occi.act(path, COMPUTE_ACTION + "save", name=name)
    image = saved_template(response, path)
    assert image["id"].startswith(OPENSTACK_OS_TPL)
    assert nova_sdk.image.get_image(image["id"].split("#")[1]).name == name
    wait_state(occi, path, "active")

    discovered = read_categories(occi.request("GET", "/-/"))
    assert discovered[image["id"]]["depends"][0] == OS_TPL

    second = occi.create("/compute/", offer.compute(image=image["id"]))
    doc = wait_state(occi, second, "active")
    assert image["id"] in doc.mixins
    assert offer.image not in doc.mixins


# --- updates: rename and resize ---------------------------------------------------------------


def test_a_partial_update_renames_the_server(occi: Occi, offer: Offer, nova_sdk: Any) -> None:
    path = booted(occi, offer)
    response = occi.update(path, EntityDoc(attributes={TITLE: "renamed"}))
    assert_status(response, 200)
    assert read_entity(response).attributes[TITLE] == "renamed"
    doc = occi.get(path)
    assert doc.attributes[TITLE] == "renamed"
    assert {offer.image, offer.small} <= set(doc.mixins)
    assert nova_sdk.compute.get_server(nova_id(path)).name == "renamed"


def test_a_resource_template_swap_resizes(occi: Occi, offer: Offer, nova_sdk: Any) -> None:
    path = booted(occi, offer)
    response = occi.update(path, EntityDoc(mixins=[offer.large]))
    assert_status(response, 200)
    doc = wait_state(occi, path, "active")
    assert offer.large in doc.mixins
    assert offer.small not in doc.mixins, "GFD.224 §3.7: the new resource_tpl replaces the old"
    assert offer.image in doc.mixins
    assert doc.attributes["occi.compute.cores"] == 2
    assert doc.attributes["occi.compute.memory"] == 4.0
    flavor = nova_sdk.compute.get_server(nova_id(path)).flavor
    assert flavor["vcpus"] == 2 and flavor["ram"] == 4096


def test_a_stopped_compute_resizes_through_the_template_collection(
    http: httpx.Client, offer: Offer
) -> None:
    occi = Occi(http, OCCI_JSON)
    path = booted(occi, offer)
    assert_status(occi.act(path, COMPUTE_ACTION + "stop"), 200)
    wait_state(occi, path, "inactive")
    large = Offer.location(offer.large, "resource_tpl")
    body = f"X-OCCI-Location: {path}\n"
    assert_status(http.post(large, headers={"Content-Type": TEXT_PLAIN}, content=body), 200)
    doc = wait_state(occi, path, "inactive")
    assert offer.large in doc.mixins and offer.small not in doc.mixins
    listed = http.get(large, headers={"Accept": URI_LIST})
    assert path in [path_of(uri) for uri in read_locations(listed)]


def test_cores_without_another_template_is_400(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = booted(occi, offer)
    response = occi.update(path, EntityDoc(attributes={"occi.compute.cores": 8}))
    assert response.status_code == 400, describe(response)
    assert "occi.compute.cores" in response.headers.get("x-occi-error", "")
    assert occi.get(path).attributes["occi.compute.cores"] == 1


def test_another_os_tpl_is_501(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = booted(occi, offer)
    response = occi.update(path, EntityDoc(mixins=[offer.other_image]))
    assert response.status_code == 501, describe(response)
    assert offer.image in occi.get(path).mixins


# --- Nova changed behind OCCI's back -----------------------------------------------------------


def test_changes_made_with_openstacksdk_show_at_once(
    http: httpx.Client, offer: Offer, nova_sdk: Any
) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = booted(occi, offer)
    nova_sdk.compute.update_server(nova_id(path), name="from-cli")
    assert occi.get(path).attributes[TITLE] == "from-cli"
    nova_sdk.compute.stop_server(nova_id(path))
    wait_state(occi, path, "inactive")
    nova_sdk.compute.delete_server(nova_id(path))
    wait_until_gone(occi, path)


# --- the server holds nothing of its own ------------------------------------------------------


def test_computes_outlive_the_server(
    start_server: StartServer, backend_config: Callable[..., str | None], offer: Offer
) -> None:
    """Nova keeps the computes: a new server (a new, empty database) serves them."""
    config = backend_config(f'[auth]\ntenant = "{unique("outlive")}"\n')
    with start_server(config=config) as first, first.client() as http:
        path = Occi(http, TEXT_PLAIN).create("/compute/", offer.compute(**{TITLE: "kept"}))
    with start_server(config=config) as second, second.client() as http:
        occi = Occi(http, TEXT_PLAIN)
        assert occi.list("/compute/") == [path]
        assert occi.get(path).attributes[TITLE] == "kept"


def test_delete_on_the_kind_collection_deletes_every_compute(
    start_server: StartServer, backend_config: Callable[..., str | None], offer: Offer
) -> None:
    """On a server of its own (a tenant of its own): the module's computes stay."""
    with start_server(config=backend_config()) as running, running.client() as http:
        occi = Occi(http, TEXT_PLAIN)
        computes = [occi.create("/compute/", offer.compute()) for _ in range(3)]
        assert sorted(occi.list("/compute/")) == sorted(computes)
        assert_status(occi.delete("/compute/"), 200, 204)
        for path in computes:
            assert_status(occi.request("GET", path), 404)
        # Nova lists a server until it has finished deleting it.
        deadline = time.monotonic() + DEADLINE
        while remaining := occi.list("/compute/"):
            assert set(remaining) <= set(computes)
            assert time.monotonic() < deadline, f"still listed: {remaining}"
            time.sleep(POLL)

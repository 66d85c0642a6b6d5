"""HTTP basic authentication and tenancy: a server with ``auth.method = "basic"``.

Users are added with ``occi-server user add --password-stdin``: alice and
carol share the tenant ``physics``, bob is in ``chemistry``. A tenant never
sees another's entities or user mixins: they are 404, not 403, so that ids
do not leak (issue 3, tenancy).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE_ACTION,
    OCCI_JSON,
    RENDERINGS,
    STORAGE,
    STORAGELINK,
    TEXT_PLAIN,
    URI_LIST,
    EntityDoc,
    Occi,
    describe,
    mixin_request,
    path_of,
    read_categories,
    read_locations,
)
from e2e.server import Offer, RunningServer, StartServer
from e2e.waiting import wait_state

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.backends("sim", "ec2", "openstack", "memory", "opennebula"),
]

REALM = "e2e-realm"
USERS = {"alice": "physics", "carol": "physics", "bob": "chemistry"}
PASSWORDS = {name: f"{name}-s3cret pass" for name in USERS}
CONFIG = f"""
[auth]
method = "basic"
users_file = "users.toml"
realm = "{REALM}"
"""


def add_user(workdir: Path, name: str, tenant: str, password: str) -> None:
    """``occi-server user add NAME --tenant T --password-stdin`` on the server's users file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    command = [sys.executable, "-m", "pyocci.server.cli", "user", "add", name]
    command += ["--tenant", tenant, "--password-stdin", "--users-file", str(workdir / "users.toml")]
    result = subprocess.run(
        command, input=password + "\n", capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def server(
    start_server: StartServer,
    tmp_path_factory: pytest.TempPathFactory,
    backend_config: Callable[..., str | None],
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("auth")
    for name, tenant in USERS.items():
        add_user(workdir, name, tenant, PASSWORDS[name])
    with start_server(workdir=workdir, config=backend_config(CONFIG)) as running:
        yield running


def client_of(server: RunningServer, name: str) -> httpx.Client:
    return server.client(auth=(name, PASSWORDS[name]))


@pytest.fixture(scope="module")
def alice(server: RunningServer) -> Iterator[httpx.Client]:
    with client_of(server, "alice") as client:
        yield client


@pytest.fixture(scope="module")
def bob(server: RunningServer) -> Iterator[httpx.Client]:
    with client_of(server, "bob") as client:
        yield client


@pytest.fixture(scope="module")
def carol(server: RunningServer) -> Iterator[httpx.Client]:
    with client_of(server, "carol") as client:
        yield client


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, describe(response)
    challenge = response.headers.get("www-authenticate", "")
    assert re.fullmatch(rf'Basic realm="{re.escape(REALM)}"(,.*)?', challenge), challenge
    assert response.headers.get("x-occi-error")


# --- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/-/"), ("GET", "/compute/"), ("POST", "/compute/")]
)
def test_no_credentials_is_401_with_a_basic_challenge(
    http: httpx.Client, method: str, path: str
) -> None:
    assert_unauthorized(http.request(method, path, headers={"Accept": TEXT_PLAIN}))


@pytest.mark.parametrize("accept", RENDERINGS)
def test_the_401_is_rendered_for_the_client(http: httpx.Client, accept: str) -> None:
    response = http.get("/-/", headers={"Accept": accept})
    assert_unauthorized(response)
    if accept == OCCI_JSON:
        assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "credentials",
    [("alice", "wrong"), ("alice", PASSWORDS["bob"]), ("mallory", "x"), ("", "")],
    ids=["wrong-password", "another-users-password", "unknown-user", "empty"],
)
def test_bad_credentials_are_401(server: RunningServer, credentials: tuple[str, str]) -> None:
    with server.client(auth=credentials) as client:
        assert_unauthorized(client.get("/-/"))


@pytest.mark.parametrize("authorization", ["Basic !!!", "Basic", "Bearer abc", "Negotiate x"])
def test_malformed_authorization_is_401(http: httpx.Client, authorization: str) -> None:
    assert_unauthorized(http.get("/-/", headers={"Authorization": authorization}))


def test_an_unauthenticated_create_creates_nothing(
    http: httpx.Client, alice: httpx.Client, bob: httpx.Client, offer: Offer
) -> None:
    before = {name: Occi(c, URI_LIST).list("/compute/") for name, c in (("a", alice), ("b", bob))}
    doc = offer.compute()
    assert_unauthorized(Occi(http, TEXT_PLAIN).post_entity("/compute/", doc))
    after = {name: Occi(c, URI_LIST).list("/compute/") for name, c in (("a", alice), ("b", bob))}
    assert before == after


def test_valid_credentials_are_served(alice: httpx.Client) -> None:
    response = alice.get("/-/")
    assert response.status_code == 200, describe(response)
    assert read_categories(response)


# --- tenancy -----------------------------------------------------------------------------------


def new_compute(client: httpx.Client, offer: Offer) -> str:
    """A new compute of the client's tenant, once it is active."""
    path = Occi(client, TEXT_PLAIN).create("/compute/", offer.compute())
    wait_state(client, path, "active")
    return path


def test_another_tenants_entity_is_404_for_every_method(
    alice: httpx.Client, bob: httpx.Client, offer: Offer
) -> None:
    path = new_compute(alice, offer)
    intruder = Occi(bob, TEXT_PLAIN)
    attempts = {
        "GET": intruder.request("GET", path),
        "action": intruder.act(path, COMPUTE_ACTION + "stop", method="poweroff"),
        "update": intruder.update(path, EntityDoc(attributes={"occi.core.title": "mine now"})),
        "DELETE": intruder.delete(path),
    }
    for what, response in attempts.items():
        assert response.status_code == 404, f"{what}: {describe(response)}"
    doc = Occi(alice, TEXT_PLAIN).get(path)
    assert doc.attributes["occi.compute.state"] == "active"
    assert doc.attributes.get("occi.core.title") != "mine now"


def test_listings_are_per_tenant(
    alice: httpx.Client, bob: httpx.Client, carol: httpx.Client, offer: Offer
) -> None:
    alices, bobs = new_compute(alice, offer), new_compute(bob, offer)
    for client, mine, theirs in ((alice, alices, bobs), (bob, bobs, alices)):
        listed = Occi(client, URI_LIST).list("/compute/")
        assert mine in listed and theirs not in listed
        everything = [
            path_of(u) for u in read_locations(client.get("/", headers={"Accept": URI_LIST}))
        ]
        assert mine in everything and theirs not in everything
    assert alices in Occi(carol, URI_LIST).list("/compute/"), "carol shares alice's tenant"


def test_a_user_of_the_same_tenant_manages_the_same_entities(
    alice: httpx.Client, carol: httpx.Client, offer: Offer
) -> None:
    path = new_compute(alice, offer)
    response = Occi(carol, TEXT_PLAIN).act(path, COMPUTE_ACTION + "stop", method="graceful")
    assert response.status_code == 200, describe(response)
    assert wait_state(alice, path, "inactive").attributes["occi.compute.state"] == "inactive"


@pytest.mark.backends("sim", "ec2", "memory", "opennebula")  # no storage on OpenStack yet
def test_links_cannot_reach_into_another_tenant(
    alice: httpx.Client, bob: httpx.Client, offer: Offer
) -> None:
    storage = Occi(alice, TEXT_PLAIN).create(
        "/storage/", EntityDoc(kind=STORAGE, attributes={"occi.storage.size": 1.0})
    )
    bobs = new_compute(bob, offer)
    links_before = Occi(bob, TEXT_PLAIN).get(bobs).links
    link = EntityDoc(kind=STORAGELINK, source=bobs, target=storage, target_kind=STORAGE)
    response = Occi(bob, TEXT_PLAIN).post_entity("/storagelink/", link)
    assert response.status_code in (400, 404), describe(response)
    # Only the links it was born with (none on the sim; root disk and interface on EC2).
    assert Occi(bob, TEXT_PLAIN).get(bobs).links == links_before
    assert storage not in [link.target for link in links_before]
    for attachment in Occi(alice, URI_LIST).list("/storagelink/"):
        assert Occi(alice, TEXT_PLAIN).get(attachment).target != storage


def test_user_mixins_are_per_tenant(alice: httpx.Client, bob: httpx.Client, offer: Offer) -> None:
    identifier, location = "http://example.org/occi/e2e#project", "/projects/main/"

    def define(client: httpx.Client) -> None:
        headers, body = mixin_request(identifier, location, TEXT_PLAIN)
        response = client.post("/-/", headers=headers, content=body)
        assert response.status_code == 200, describe(response)

    define(alice)
    assert identifier in read_categories(alice.get("/-/"))
    assert identifier not in read_categories(bob.get("/-/"))
    assert bob.get(location).status_code == 404

    define(bob)  # the same id and location, in bob's tenant
    alices, bobs = new_compute(alice, offer), new_compute(bob, offer)
    for client, member in ((alice, alices), (bob, bobs)):
        response = client.post(
            location, headers={"Content-Type": TEXT_PLAIN}, content=f"X-OCCI-Location: {member}\n"
        )
        assert response.status_code == 200, describe(response)
    for client, member in ((alice, alices), (bob, bobs)):
        assert Occi(client, URI_LIST).list(location) == [member]

    # bob cannot put alice's compute in his mixin: it does not exist for him.
    response = bob.post(
        location, headers={"Content-Type": TEXT_PLAIN}, content=f"X-OCCI-Location: {alices}\n"
    )
    assert response.status_code in (400, 404), describe(response)
    assert bob.delete(f"/-/?category={identifier.replace('#', '%23')}").status_code == 200
    assert identifier in read_categories(alice.get("/-/")), "alice's mixin stays"
    assert Occi(alice, URI_LIST).list(location) == [alices]

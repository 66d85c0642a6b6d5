"""Callers' own Keystone tokens passed through to OpenStack, end to end.

Real processes all the way: Keystone (`tests/keystone.py`: alice in project
alpha, bob in beta, carol in both), a Nova that checks tokens with that
Keystone through keystonemiddleware as a real cloud does, and occi-server
with ``[auth] method = "keystone"`` and the openstack backend's
``credentials = "caller"``. The client is pyocci's own: it meets the 401
challenge (``WWW-Authenticate: Keystone uri=...``), gets a token scoped to
the user's project from that Keystone, and sends it; occi-server validates
it and the backend acts in the cloud with it, so Nova itself records who
made each server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openstack_helpers import IMAGE, TINY

from e2e.server import RunningServer, occi_server
from keystone import ADMIN_PASSWORD, SERVICE_USER, USERS, Keystone, shared_keystone
from keystone import SKIP_VARIABLE as SKIP_KEYSTONE
from motoserver import toml_settings
from novaserver import NovaServer
from openstackservice import running
from pyocci.client import OcciClient
from pyocci.client.auth import Credentials
from pyocci.client.errors import NotFoundError
from pyocci.model import Resource
from pyocci.server.backends import open_backend
from pyocci.server.config import ConfigError, load_config

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
OS_TPL = "http://schemas.pyocci.org/openstack/os_tpl#"
RESOURCE_TPL = "http://schemas.pyocci.org/openstack/resource_tpl#"


@pytest.fixture(scope="module")
def keystone() -> Keystone:
    if os.environ.get(SKIP_KEYSTONE):
        pytest.skip(f"{SKIP_KEYSTONE} is set")
    return shared_keystone()


@pytest.fixture(scope="module")
def keystone_nova(request: pytest.FixtureRequest, keystone: Keystone) -> Iterator[NovaServer]:
    """A Nova that checks Keystone tokens, as a real cloud does."""
    user, password, project = SERVICE_USER
    settings = {
        "auth_url": keystone.v3,
        "username": user,
        "password": password,
        "project_name": project,
    }
    with running(NovaServer, request.config, keystone=settings) as server:
        yield server


def passthrough_config(keystone: Keystone, nova: NovaServer) -> str:
    """occi-server validating Keystone tokens and passing them on to Nova."""
    settings = {
        "credentials": "caller",
        "auth_url": keystone.v3,
        "compute_endpoint": nova.compute_url,
        "image_endpoint": nova.image_url,
        # This Nova stands alone: no Cinder or Neutron beside it.
        "services": [],
    }
    return (
        'backend = "openstack"\n'
        + keystone.server_auth_config(cache_seconds=5)
        + "\n"
        + toml_settings(settings)
    )


@pytest.fixture(scope="module")
def server(
    keystone: Keystone, keystone_nova: NovaServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    with occi_server(
        tmp_path_factory.mktemp("passthrough"), config=passthrough_config(keystone, keystone_nova)
    ) as running:
        yield running


def client_of(server: RunningServer, keystone: Keystone, user: str, project: str) -> OcciClient:
    """pyocci's client for `user`, who knows only the server's URL and their password."""
    credentials = Credentials(
        method="keystone", username=user, password=USERS[user][0], project=project
    )
    return OcciClient(server.url, credentials=credentials)


def new_compute(title: str) -> Resource:
    return Resource(
        kind=COMPUTE,
        mixins=[OS_TPL + IMAGE, RESOURCE_TPL + TINY],
        attributes={"occi.core.title": title},
    )


def nova_server(keystone: Keystone, nova: NovaServer, server_id: str) -> dict[str, Any]:
    """The server as Nova's administrator sees it."""
    token = keystone.token("admin", ADMIN_PASSWORD, "admin")
    response = httpx.get(
        f"{nova.compute_url}/servers/{server_id}", headers={"X-Auth-Token": token}, timeout=30
    )
    response.raise_for_status()
    return response.json()["server"]


def keystone_id(keystone: Keystone, path: str, name: str) -> str:
    token = keystone.token("admin", ADMIN_PASSWORD, "admin")
    response = httpx.get(
        f"{keystone.v3}/{path}", params={"name": name}, headers={"X-Auth-Token": token}
    )
    response.raise_for_status()
    return response.json()[path][0]["id"]


def test_the_challenge_then_the_callers_token_reaches_nova(
    server: RunningServer, keystone: Keystone, keystone_nova: NovaServer
) -> None:
    # Without credentials: the challenge names the Keystone to ask.
    refused = httpx.get(f"{server.url}/compute/", timeout=30)
    assert refused.status_code == 401
    assert keystone.v3.rsplit("/v3", 1)[0] in refused.headers["www-authenticate"]
    with client_of(server, keystone, "alice", "alpha") as alice:
        location = alice.create(new_compute("alice-vm"))
        server_id = location.rstrip("/").rsplit("/", 1)[-1]
        try:
            made = nova_server(keystone, keystone_nova, server_id)
            # Nova recorded alice, in her project: the service has no account here.
            assert made["user_id"] == keystone_id(keystone, "users", "alice")
            assert made["tenant_id"] == keystone.projects["alpha"]
            assert alice.get(location).attributes["occi.core.title"] == "alice-vm"
        finally:
            alice.delete(location)


def test_each_caller_sees_their_own_project(
    server: RunningServer, keystone: Keystone, keystone_nova: NovaServer
) -> None:
    with (
        client_of(server, keystone, "alice", "alpha") as alice,
        client_of(server, keystone, "bob", "beta") as bob,
        client_of(server, keystone, "carol", "alpha") as carol_in_alpha,
    ):
        location = alice.create(new_compute("shared-in-alpha"))
        try:
            # Carol is a member of alpha too: she acts in the same project and sees it.
            assert location in carol_in_alpha.locations(COMPUTE)
            assert carol_in_alpha.get(location).attributes["occi.core.title"] == ("shared-in-alpha")
            # Bob's project is beta: Nova itself does not show him alpha's server.
            assert location not in bob.locations(COMPUTE)
            with pytest.raises(NotFoundError):
                bob.get(location)
        finally:
            alice.delete(location)


def test_servers_made_outside_occi_in_the_project_are_listed(
    server: RunningServer, keystone: Keystone, keystone_nova: NovaServer
) -> None:
    # Made with Nova's API by carol, in alpha, without OCCI (so without OCCI's tag).
    token = keystone.token("carol", USERS["carol"][0], "alpha")
    body = {
        "server": {
            "name": "made-outside",
            "imageRef": IMAGE,
            "flavorRef": TINY,
            "networks": "none",
        }
    }
    response = httpx.post(
        f"{keystone_nova.compute_url}/servers",
        json=body,
        headers={"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.37"},
        timeout=60,
    )
    response.raise_for_status()
    server_id = response.json()["server"]["id"]
    try:
        with client_of(server, keystone, "alice", "alpha") as alice:
            assert f"{server.url}/compute/{server_id}" in {
                location if location.startswith("http") else server.url + location
                for location in alice.locations(COMPUTE)
            }
    finally:
        httpx.delete(
            f"{keystone_nova.compute_url}/servers/{server_id}",
            headers={"X-Auth-Token": token},
            timeout=60,
        ).raise_for_status()


@pytest.mark.anyio
async def test_a_server_passing_tokens_through_needs_keystone_auth(tmp_path: Path) -> None:
    config_file = tmp_path / "server.toml"
    config_file.write_text(
        'backend = "openstack"\n'
        + toml_settings({"credentials": "caller", "auth_url": "http://127.0.0.1:1/v3"})
    )
    config = load_config(config_file, environ={})
    with pytest.raises(ConfigError, match="method must be 'keystone'"):
        await open_backend(config, None, None)  # type: ignore[arg-type]

"""OpenNebula users' own credentials through occi-server: ``[auth] method = "cloud"``
with ``credentials = "caller"``, against a real oned.

Each caller sends its OpenNebula user name and password (or a login token
oned issued) as HTTP basic credentials; oned checks them, the caller's
primary group is the tenant, and every cloud call is made as the caller.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from e2e.conftest import opennebula_config, opennebula_offer, terminate_vms_of
from e2e.occiclient import COMPUTE, TEXT_PLAIN, URI_LIST, Occi, describe, path_of, read_locations
from e2e.server import RunningServer, StartServer
from e2e.waiting import wait_state
from opennebula_cloud import OneCloud, TenantAccount

pytestmark = [pytest.mark.e2e, pytest.mark.opennebula, pytest.mark.backends("opennebula")]

CALLER_AUTH = '[auth]\nmethod = "cloud"\nmax_failures_per_user = 3\n'


@pytest.fixture(scope="module")
def callers_server(start_server: StartServer, one_cloud: OneCloud) -> Iterator[RunningServer]:
    prefix = f"callers-{uuid.uuid4().hex[:6]}-"
    # The callers' own credentials: no service account.
    config = opennebula_config(one_cloud, prefix, CALLER_AUTH).replace(
        "\n[backend_settings]\n", '\n[backend_settings]\ncredentials = "caller"\n'
    )
    with start_server(config=config) as running:
        yield running


@pytest.fixture(scope="module")
def team(one_cloud: OneCloud) -> Iterator[TenantAccount]:
    account = one_cloud.tenant(f"team-{uuid.uuid4().hex[:6]}")
    yield account
    terminate_vms_of(one_cloud, account.name)


@pytest.fixture(scope="module")
def rivals(one_cloud: OneCloud) -> Iterator[TenantAccount]:
    account = one_cloud.tenant(f"rivals-{uuid.uuid4().hex[:6]}")
    yield account
    terminate_vms_of(one_cloud, account.name)


def as_user(server: RunningServer, session: str) -> httpx.Client:
    user, password = session.split(":", 1)
    return server.client(auth=(user, password))


def test_a_callers_compute_is_made_as_the_caller_in_its_group(
    callers_server: RunningServer, one_cloud: OneCloud, team: TenantAccount, rivals: TenantAccount
) -> None:
    with as_user(callers_server, team.session) as http:
        occi = Occi(http, TEXT_PLAIN)
        path = occi.create(
            "/compute/", opennebula_offer(one_cloud).compute(opennebula_offer(one_cloud).small)
        )
        wait_state(occi, path, "active")
    vm: Any = one_cloud.client().vm.info(int(path.rstrip("/").rsplit("/", 1)[1]))
    assert int(vm.UID) == team.user_id
    assert int(vm.GID) == team.group_id
    with as_user(callers_server, rivals.session) as http:
        listing = http.get("/compute/", headers={"Accept": URI_LIST})
        assert listing.status_code == 200, describe(listing)
        assert path not in [path_of(u) for u in read_locations(listing)]
        assert http.get(path, headers={"Accept": TEXT_PLAIN}).status_code == 404
    with as_user(callers_server, team.session) as http:
        occi = Occi(http, TEXT_PLAIN)
        assert occi.get(path).kind == COMPUTE
        occi.delete(path)


def test_a_login_token_is_taken_as_the_password(
    callers_server: RunningServer, one_cloud: OneCloud, team: TenantAccount
) -> None:
    user_name = team.session.split(":", 1)[0]
    # What `oneuser token-create` does: a token oned accepts in place of the password.
    token = one_cloud.client(team.session).user.login(user_name, "", 600, -1)
    with callers_server.client(auth=(user_name, token)) as http:
        response = http.get("/compute/", headers={"Accept": URI_LIST})
    assert response.status_code == 200, describe(response)


def test_wrong_or_missing_credentials_are_401_and_failures_are_throttled(
    callers_server: RunningServer,
) -> None:
    # A name never accepted from this address (a user's known addresses are exempt from
    # the per-user limit).
    user_name = f"mallory-{uuid.uuid4().hex[:6]}"
    with callers_server.client() as http:
        response = http.get("/compute/", headers={"Accept": TEXT_PLAIN})
        assert response.status_code == 401, describe(response)
        assert response.headers["www-authenticate"].startswith("Basic ")
        assert "OpenNebula user name and password" in response.headers["x-occi-error"]
    statuses = []
    for attempt in range(4):
        with callers_server.client(auth=(user_name, f"wrong-{attempt}")) as http:
            response = http.get("/compute/", headers={"Accept": TEXT_PLAIN})
        statuses.append(response.status_code)
        if response.status_code == 401:
            assert "OpenNebula refused" in response.headers["x-occi-error"]
    # max_failures_per_user = 3: the fourth guess is not even asked of oned.
    assert statuses == [401, 401, 401, 429]


def test_a_service_account_server_refuses_the_cloud_method(
    start_server: StartServer, one_cloud: OneCloud
) -> None:
    config = opennebula_config(one_cloud, "never-", CALLER_AUTH)
    refused = pytest.raises(
        RuntimeError, match=re.escape('backend_settings.credentials = "caller"')
    )
    with refused, start_server(config=config):
        pass

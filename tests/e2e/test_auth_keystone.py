"""Keystone authentication end to end: the client, a real occi-server, a real Keystone.

Keystone (``tests/keystone.py``) has projects alpha and beta: alice is a member
of alpha, bob of beta, carol of both, dave of none; occi-server validates
tokens as the service user ``occi``. The client (``pyocci.client.auth``) does
the handshake of extensions.md §1: request, 401 with ``WWW-Authenticate:
Keystone uri='...'``, a project-scoped token from that Keystone, the request
again with ``X-Auth-Token``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from e2e.occiclient import COMPUTE, DEBIAN, OCCI_JSON, TEXT_PLAIN, URI_LIST, EntityDoc, Occi
from e2e.server import RunningServer, StartServer, free_port
from keystone import SKIP_VARIABLE, USERS, Keystone, shared_keystone
from pyocci.client.auth import Credentials, CredentialsError, KeystoneAuth, connection_options

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def keystone() -> Keystone:
    if os.environ.get(SKIP_VARIABLE):
        pytest.skip(f"{SKIP_VARIABLE} is set")
    return shared_keystone()


@pytest.fixture(scope="module")
def server(start_server: StartServer, keystone: Keystone) -> Iterator[RunningServer]:
    with start_server(config=keystone.server_auth_config()) as running:
        yield running


def keystone_client(
    server: RunningServer, credentials: Credentials
) -> tuple[httpx.Client, KeystoneAuth]:
    options = connection_options(credentials)
    assert isinstance(options.auth, KeystoneAuth)
    http = httpx.Client(base_url=server.url, timeout=30, **options.httpx_options())
    return http, options.auth


def as_user(name: str, project: str | None = None) -> Credentials:
    return Credentials(method="keystone", username=name, password=USERS[name][0], project=project)


def new_compute(http: httpx.Client) -> str:
    return Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))


# --- what occi-server says ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/-/", "/compute/"])
def test_no_token_is_401_with_the_keystone_challenge(
    server: RunningServer, keystone: Keystone, path: str
) -> None:
    response = httpx.get(server.url + path, headers={"Accept": TEXT_PLAIN})
    assert response.status_code == 401
    # Exactly rOCCI's form: single quotes.
    assert response.headers["www-authenticate"] == f"Keystone uri='{keystone.v3}'"
    assert "X-Auth-Token" in response.headers["x-occi-error"]


def test_the_401_is_rendered_for_the_client(server: RunningServer) -> None:
    response = httpx.get(server.url + "/-/", headers={"Accept": OCCI_JSON})
    assert response.status_code == 401
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    ("token", "reason"),
    [("gAAAAAnot-a-token", "invalid or has expired"), ("x" * 5000, "malformed")],
)
def test_a_bad_token_is_401(
    server: RunningServer, keystone: Keystone, token: str, reason: str
) -> None:
    response = httpx.get(server.url + "/-/", headers={"X-Auth-Token": token})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == f"Keystone uri='{keystone.v3}'"
    assert reason in response.headers["x-occi-error"]


def test_an_unscoped_token_is_401(server: RunningServer, keystone: Keystone) -> None:
    token = keystone.token("alice", USERS["alice"][0])
    response = httpx.get(server.url + "/-/", headers={"X-Auth-Token": token})
    assert response.status_code == 401
    assert "not scoped to a project" in response.headers["x-occi-error"]


def test_a_project_scoped_token_is_served(server: RunningServer, keystone: Keystone) -> None:
    token = keystone.token("alice", USERS["alice"][0], "alpha")
    response = httpx.get(server.url + "/-/", headers={"X-Auth-Token": token})
    assert response.status_code == 200


# --- the client's handshake ---------------------------------------------------------------------


def test_password_handshake_then_the_token_is_reused(server: RunningServer) -> None:
    http, auth = keystone_client(server, as_user("alice"))
    with http:
        assert auth.token is None
        # The first request is a POST: its body is sent again after the handshake.
        path = new_compute(http)
        token = auth.token
        assert token is not None
        assert auth.scoped_project is not None and auth.scoped_project[1] == "alpha"
        assert http.get(path).status_code == 200
        assert auth.token == token, "one handshake, then the same token"


def test_projects_are_tenants(server: RunningServer) -> None:
    alice, _ = keystone_client(server, as_user("alice"))
    bob, _ = keystone_client(server, as_user("bob"))
    carol, _ = keystone_client(server, as_user("carol", project="alpha"))
    with alice, bob, carol:
        path = new_compute(alice)
        assert bob.get(path).status_code == 404
        assert bob.delete(path).status_code == 404
        assert path not in Occi(bob, URI_LIST).list("/compute/")
        # carol works in alpha too: the tenant is the project, not the user.
        assert path in Occi(carol, URI_LIST).list("/compute/")
        assert alice.get(path).status_code == 200


def test_a_project_named_by_id(server: RunningServer, keystone: Keystone) -> None:
    http, auth = keystone_client(server, as_user("carol", project=keystone.projects["beta"]))
    with http:
        assert http.get("/-/").status_code == 200
        assert auth.scoped_project == (keystone.projects["beta"], "beta")


def test_a_token_scoped_already_is_sent_as_it_is(server: RunningServer, keystone: Keystone) -> None:
    token = keystone.token("bob", USERS["bob"][0], "beta")
    http, auth = keystone_client(server, Credentials(method="keystone", token=token))
    with http:
        assert http.get("/-/").status_code == 200
        assert auth.scoped_project is None, "no handshake was needed"
        assert auth.token == token


def test_an_unscoped_token_is_rescoped(server: RunningServer, keystone: Keystone) -> None:
    unscoped = keystone.token("bob", USERS["bob"][0])
    http, auth = keystone_client(server, Credentials(method="keystone", token=unscoped))
    with http:
        assert http.get("/-/").status_code == 200
        assert auth.scoped_project == (keystone.projects["beta"], "beta")
        assert auth.token != unscoped


def test_an_expired_token_is_renewed_once(start_server: StartServer, keystone: Keystone) -> None:
    # No validation cache, so that the revocation below is seen at once.
    with start_server(config=keystone.server_auth_config(cache_seconds=0)) as server:
        http, auth = keystone_client(server, as_user("alice"))
        with http:
            path = new_compute(http)
            first = auth.token
            assert first is not None
            keystone.revoke(first)
            assert httpx.get(server.url + path, headers={"X-Auth-Token": first}).status_code == 401
            assert http.get(path).status_code == 200
            assert auth.token not in (None, first)


def test_a_given_token_that_expired_cannot_be_renewed(
    start_server: StartServer, keystone: Keystone
) -> None:
    with start_server(config=keystone.server_auth_config(cache_seconds=0)) as server:
        unscoped = keystone.token("bob", USERS["bob"][0])
        http, _ = keystone_client(server, Credentials(method="keystone", token=unscoped))
        with http:
            assert http.get("/-/").status_code == 200
            keystone.revoke(unscoped)
            # The scoped token made from it dies with it (Keystone revokes the chain).
            with pytest.raises(CredentialsError, match="refused the token"):
                http.get("/-/")


def test_the_challenge_may_name_keystone_without_a_version(
    start_server: StartServer, keystone: Keystone
) -> None:
    with start_server(config=keystone.server_auth_config(url=keystone.url)) as server:
        challenge = httpx.get(server.url + "/-/").headers["www-authenticate"]
        assert challenge == f"Keystone uri='{keystone.url}'"
        # The client finds v3 in Keystone's version list (300 Multiple Choices).
        http, auth = keystone_client(server, as_user("bob"))
        with http:
            assert http.get("/-/").status_code == 200
            assert auth.scoped_project is not None


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (as_user("carol"), "you have several projects (alpha, beta): choose one with --project"),
        (as_user("carol", project="gamma"), "project 'gamma' is not one of yours"),
        (as_user("dave"), "you have no project"),
        (
            Credentials(method="keystone", username="alice", password="wrong"),
            "refused the user name or password",
        ),
        (Credentials(method="keystone", token="gAAAAAbogus"), "refused the token"),
    ],
    ids=["several-projects", "not-a-member", "no-project", "wrong-password", "bad-token"],
)
def test_handshake_failures_say_what_to_do(
    server: RunningServer, credentials: Credentials, message: str
) -> None:
    http, _ = keystone_client(server, credentials)
    with http, pytest.raises(CredentialsError) as caught:
        http.get("/-/")
    assert message in str(caught.value)


# --- Keystone out of reach ------------------------------------------------------------------------


def test_an_unreachable_keystone_is_503_with_retry_after(
    start_server: StartServer, keystone: Keystone
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/v3"
    with start_server(config=keystone.server_auth_config(url=nowhere)) as server:
        # The challenge needs no Keystone...
        response = httpx.get(server.url + "/-/")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == f"Keystone uri='{nowhere}'"
        # ...checking a token does.
        response = httpx.get(
            server.url + "/-/", headers={"X-Auth-Token": "gAAAAAx", "Accept": OCCI_JSON}
        )
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) > 0
        assert "identity service (Keystone) cannot be reached" in response.json()["error"]

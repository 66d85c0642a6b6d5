"""rOCCI-cli 4.3, unmodified, through the Keystone-like handshake of an occi-server on the sim.

rOCCI-cli's Keystone support (rOCCI-api's ``Keystone`` authentication
plugin) has these flows, all started by a 401 with ``WWW-Authenticate:
Keystone uri='...'``:

* ``--auth oauth2 --token <OIDC access token>``: the token goes to
  ``OS-FEDERATION/identity_providers/egi.eu/protocols/oidc/auth`` for an
  unscoped token, which is scoped to ``$ROCCI_CLIENT_KEYSTONE_TENANT`` or else
  to the first project of ``GET /v3/auth/projects`` that works;
* ``--auth x509`` (``--voms``) falling back, when the certificate alone gets a
  401, to Keystone's v2.0 API (``{"auth": {"voms": true}}``, tried first) or to
  v3's federation protocol ``mapped``, with the certificate
  (``test_auth_handshake_x509.py``);
* ``--auth token --token <token>``: a token got elsewhere, sent as it is;
* ``--auth basic`` falling back to v2.0's ``passwordCredentials`` (v3's
  password method it leaves unimplemented). It never gets there against
  occi-server: it sends the password at once, and a refused password is
  answered with the method's own challenge, not Keystone's.

The tokens come from the real test OpenID Provider (``tests/oidc_provider.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import COMPUTE, DEBIAN, TEXT_PLAIN, URI_LIST, EntityDoc, Occi
from e2e.server import RunningServer, StartServer
from e2e.test_auth_handshake import handshake_config, scoped_token
from occiclients import ROCCI, Ran, ensure, run
from oidc_provider import OpenIdProviders, providers_or_skip

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rocci() -> Path:
    return ensure(ROCCI)


@pytest.fixture(scope="module")
def providers() -> OpenIdProviders:
    return providers_or_skip()


@pytest.fixture(scope="module")
def server(
    start_server: StartServer, providers: OpenIdProviders, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("handshake-rocci")
    with start_server(workdir=workdir, config=handshake_config(providers, workdir)) as running:
        yield running


def rocci_run(
    rocci: Path, server: RunningServer, *arguments: str, tenant: str | None = None
) -> Ran:
    command = [str(rocci), "--endpoint", server.url, "--media-type", TEXT_PLAIN, *arguments]
    if tenant is None:
        # The variable of the environment the tests run in must not choose for them.
        command = ["env", "-u", "ROCCI_CLIENT_KEYSTONE_TENANT", *command]
        return run(command)
    return run(command, environment={"ROCCI_CLIENT_KEYSTONE_TENANT": tenant})


def listed(ran: Ran) -> list[str]:
    assert ran.returncode == 0, ran.explain()
    return [line.strip() for line in ran.stdout.splitlines() if line.strip()]


def bearer_client(server: RunningServer, access_token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        timeout=30,
        headers={"Authorization": f"Bearer {access_token}", "Accept": TEXT_PLAIN},
    )


def compute_of(server: RunningServer, access_token: str) -> str:
    """A new compute in the tenant of `access_token`, made with the token itself."""
    with bearer_client(server, access_token) as http:
        path = Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
    return server.url + path


def test_oauth2_lists_the_vo_of_the_token(
    rocci: Path, server: RunningServer, providers: OpenIdProviders
) -> None:
    alices = compute_of(server, providers.token("egi", "alice"))
    bobs = compute_of(server, providers.token("egi", "bob"))
    listing = listed(
        rocci_run(
            rocci,
            server,
            "--auth",
            "oauth2",
            "--token",
            providers.token("egi", "alice2"),
            "--action",
            "list",
            "--resource",
            "compute",
        )
    )
    assert alices in listing
    assert bobs not in listing


def test_oauth2_scopes_to_the_first_project_or_the_one_asked_for(
    rocci: Path, server: RunningServer, providers: OpenIdProviders
) -> None:
    alpha = compute_of(server, providers.token("egi", "alice"))
    beta = compute_of(server, providers.token("egi", "bob"))
    arguments = ("--action", "list", "--resource", "compute")
    first = listed(
        rocci_run(
            rocci,
            server,
            "--auth",
            "oauth2",
            "--token",
            providers.token("egi", "carol"),
            *arguments,
        )
    )
    assert alpha in first and beta not in first
    chosen = listed(
        rocci_run(
            rocci,
            server,
            "--auth",
            "oauth2",
            "--token",
            providers.token("egi", "carol"),
            *arguments,
            tenant="vo.beta.org",
        )
    )
    assert beta in chosen and alpha not in chosen


def test_oauth2_creates_in_the_vo(
    rocci: Path, server: RunningServer, providers: OpenIdProviders
) -> None:
    created = rocci_run(
        rocci,
        server,
        "--auth",
        "oauth2",
        "--token",
        providers.token("egi", "carol"),
        "--action",
        "create",
        "--resource",
        "compute",
        "--mixin",
        "os_tpl#" + DEBIAN.rpartition("#")[2],
        "--attribute",
        "occi.core.title=from-rocci",
        tenant="vo.beta.org",
    )
    assert created.returncode == 0, created.explain()
    location = created.stdout.strip()
    assert location.startswith(server.url + "/compute/")
    # bob, a member of vo.beta.org, sees it with his own access token.
    with bearer_client(server, providers.token("egi", "bob")) as bob:
        assert location in [server.url + p for p in Occi(bob, URI_LIST).list("/compute/")]
    with bearer_client(server, providers.token("egi", "alice")) as alice:
        assert alice.get(location).status_code == 404


def test_token_sends_an_issued_token_as_it_is(
    rocci: Path, server: RunningServer, providers: OpenIdProviders
) -> None:
    path = compute_of(server, providers.token("egi", "alice"))
    token = scoped_token(server, providers, "alice", "vo.alpha.org")
    arguments = ("--action", "list", "--resource", "compute")
    assert path in listed(rocci_run(rocci, server, "--auth", "token", "--token", token, *arguments))
    forged = rocci_run(rocci, server, "--auth", "token", "--token", token[:-4] + "AAAA", *arguments)
    assert forged.returncode != 0
    assert "Authentication failed with code 401" in forged.stderr


@pytest.mark.parametrize(
    ("user", "tenant", "message"),
    [
        # A valid access token that maps to no tenant: no token.
        ("nobody", None, "Unable to get a tenant from Keystone"),
        # A project that is not the user's: the scoping is refused.
        ("alice", "vo.beta.org", "Authentication failed with code 401"),
    ],
)
def test_oauth2_refusals(
    rocci: Path,
    server: RunningServer,
    providers: OpenIdProviders,
    user: str,
    tenant: str | None,
    message: str,
) -> None:
    ran = rocci_run(
        rocci,
        server,
        "--auth",
        "oauth2",
        "--token",
        providers.token("egi", user),
        "--action",
        "list",
        "--resource",
        "compute",
        tenant=tenant,
    )
    assert ran.returncode != 0
    assert message in ran.stderr, ran.explain()

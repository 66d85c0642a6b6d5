"""OIDC bearer tokens end to end: a real occi-server, real OpenID Providers, the real client.

The providers (``tests/oidc_provider.py``, panva's oidc-provider) issue JWT
and opaque access tokens by the client credentials grant. occi-server trusts
two of them: "egi", whose tokens map to a tenant per VO by their
``eduperson_entitlement`` (and which introspects opaque tokens for
occi-server), and "lab", whose tokens map by ``groups``, or else by ``sub``
to a tenant per user. "rogue" is trusted by nobody.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import COMPUTE, DEBIAN, TEXT_PLAIN, URI_LIST, EntityDoc, Occi
from e2e.server import RunningServer, StartServer
from oidc_provider import (
    AUDIENCE,
    INTROSPECTION_CLIENT,
    OpenIdProviders,
    issuers_file,
    providers_or_skip,
)
from pyocci.client.auth import Credentials, connection_options

pytestmark = pytest.mark.e2e

OCCI_EXECUTABLE = Path(sys.executable).parent / "occi"


@pytest.fixture(scope="module")
def providers() -> OpenIdProviders:
    return providers_or_skip()


def server_config(providers: OpenIdProviders, directory: Path, *, cache_seconds: float = 60) -> str:
    path = issuers_file(providers, directory / "oidc-issuers.toml")
    return (
        "[auth]\n"
        'method = "oidc"\n'
        f'oidc_issuers_file = "{path}"\n'
        "oidc_leeway_seconds = 0\n"
        f"cache_seconds = {cache_seconds}\n"
        "max_failures_per_address = 0\n"
    )


@pytest.fixture(scope="module")
def server(
    start_server: StartServer,
    providers: OpenIdProviders,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    config = server_config(providers, tmp_path_factory.mktemp("oidc"))
    with start_server(config=config) as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": TEXT_PLAIN}


def as_token(server: RunningServer, token: str) -> httpx.Client:
    options = connection_options(Credentials(method="token", token=token))
    return httpx.Client(base_url=server.url, timeout=30, **options.httpx_options())


def new_compute(http: httpx.Client) -> str:
    return Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))


def refusal(server: RunningServer, token: str) -> httpx.Response:
    response = httpx.get(server.url + "/-/", headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="pyocci", error="invalid_token", error_description="'
    )
    return response


# --- accepted tokens and their tenants ----------------------------------------------------------


def test_no_token_is_401_with_the_bearer_challenge(server: RunningServer) -> None:
    response = httpx.get(server.url + "/compute/", headers={"Accept": TEXT_PLAIN})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="pyocci"'


@pytest.mark.parametrize("opaque", [False, True], ids=["jwt", "opaque"])
def test_a_token_is_served(server: RunningServer, providers: OpenIdProviders, opaque: bool) -> None:
    token = providers.token("egi", "alice", opaque=opaque)
    assert (token.count(".") == 2) is not opaque
    response = httpx.get(server.url + "/-/", headers=bearer(token))
    assert response.status_code == 200, response.text


def test_two_vos_are_two_tenants(server: RunningServer, providers: OpenIdProviders) -> None:
    alice = as_token(server, providers.token("egi", "alice"))
    # Another member of alice's VO, with an opaque token: the tenant is the VO.
    alice2 = as_token(server, providers.token("egi", "alice2", opaque=True))
    bob = as_token(server, providers.token("egi", "bob"))
    with alice, alice2, bob:
        path = new_compute(alice)
        assert bob.get(path).status_code == 404
        assert bob.delete(path).status_code == 404
        assert path not in Occi(bob, URI_LIST).list("/compute/")
        assert path in Occi(alice2, URI_LIST).list("/compute/")
        theirs = new_compute(bob)
        assert alice.get(theirs).status_code == 404
        assert alice.get(path).status_code == 200


def test_a_second_issuer_maps_groups_and_users(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    dana = as_token(server, providers.token("lab", "dana"))
    eve = as_token(server, providers.token("lab", "eve"))
    alice = as_token(server, providers.token("egi", "alice"))
    with dana, eve, alice:
        path = new_compute(dana)
        assert dana.get(path).status_code == 200
        # eve maps by her sub to a tenant of her own; alice's VO is another tenant.
        assert eve.get(path).status_code == 404
        assert alice.get(path).status_code == 404


# --- refused tokens -----------------------------------------------------------------------------


def test_a_member_of_no_mapped_group_is_refused(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    response = refusal(server, providers.token("egi", "nobody"))
    assert "grants no tenant" in response.headers["x-occi-error"]


@pytest.mark.parametrize("opaque", [False, True], ids=["jwt", "opaque"])
def test_an_expired_token_is_refused(
    server: RunningServer, providers: OpenIdProviders, opaque: bool
) -> None:
    token = providers.token("egi", "alice", opaque=opaque, short_lived=True)
    # Waits for the token's end as its issuer sees it, rather than guessing at time.
    if opaque:
        deadline = time.monotonic() + 30
        while providers.introspect("egi", token).get("active") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert providers.introspect("egi", token) == {"active": False}
    else:
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["exp"] - claims["iat"] <= 1
        while time.time() < claims["exp"] + 0.5:
            time.sleep(0.1)
    response = refusal(server, token)
    expected = "has expired" if not opaque else "not active at any trusted issuer"
    assert expected in response.headers["x-occi-error"]


@pytest.mark.parametrize("opaque", [False, True], ids=["jwt", "opaque"])
def test_a_token_for_another_audience_is_refused(
    server: RunningServer, providers: OpenIdProviders, opaque: bool
) -> None:
    token = providers.token("egi", "alice", audience="https://elsewhere.example", opaque=opaque)
    response = refusal(server, token)
    assert "not meant for this server" in response.headers["x-occi-error"]


def test_a_token_without_audience_is_refused(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    # Without a resource, the provider issues an opaque token for no audience.
    token = providers.token("egi", "alice", audience=None)
    response = refusal(server, token)
    assert "not meant for this server" in response.headers["x-occi-error"]


def test_a_token_of_an_untrusted_issuer_is_refused(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    response = refusal(server, providers.token("rogue", "mallory"))
    assert "is not trusted here" in response.headers["x-occi-error"]
    assert providers.issuers["rogue"] in response.headers["x-occi-error"]


def test_a_tampered_token_is_refused(server: RunningServer, providers: OpenIdProviders) -> None:
    header, payload, signature = providers.token("egi", "nobody").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    # nobody makes themselves a member of vo.alpha.org.
    claims["eduperson_entitlement"] = ["urn:mace:egi.eu:group:vo.alpha.org:role=member#aai.egi.eu"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = refusal(server, f"{header}.{forged}.{signature}")
    assert "signature is not valid" in response.headers["x-occi-error"]


def test_a_made_up_opaque_token_is_refused(server: RunningServer) -> None:
    response = refusal(server, "not-a-token-anyone-issued")
    assert "not active" in response.headers["x-occi-error"]


def test_an_unreachable_provider_is_503(
    start_server: StartServer, providers: OpenIdProviders, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("oidc-down")
    config = server_config(providers, directory)
    issuers = directory / "oidc-issuers.toml"
    # The egi issuer's keys and introspection at a port nobody listens on.
    from e2e.server import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    issuers.write_text(
        issuers.read_text().replace(
            f'client_secret = "{INTROSPECTION_CLIENT[1]}"\n',
            f'client_secret = "{INTROSPECTION_CLIENT[1]}"\n'
            f'jwks_uri = "{dead}/jwks"\nintrospection_endpoint = "{dead}/introspect"\n',
        )
    )
    with start_server(config=config) as down:
        for token in (
            providers.token("egi", "alice"),
            providers.token("egi", "alice", opaque=True),
        ):
            response = httpx.get(down.url + "/-/", headers=bearer(token))
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "10"
            assert "OpenID Provider" in response.headers["x-occi-error"]


def test_failed_tokens_are_throttled(
    start_server: StartServer, providers: OpenIdProviders, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = server_config(providers, tmp_path_factory.mktemp("oidc-throttle")).replace(
        "max_failures_per_address = 0", "max_failures_per_address = 3"
    )
    with start_server(config=config) as throttled:
        statuses = [
            httpx.get(throttled.url + "/-/", headers=bearer(f"guess-{n}")).status_code
            for n in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
        # A good token from a locked address is not even looked at.
        good = httpx.get(throttled.url + "/-/", headers=bearer(providers.token("egi", "alice")))
        assert good.status_code == 429
        assert int(good.headers["retry-after"]) > 0


# --- the occi command ---------------------------------------------------------------------------


def run_occi(
    server: RunningServer, *args: str, path: str | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCI_")}
    env.update({"OCCI_ENDPOINT": server.url, "OCCI_NO_PROMPT": "1"})
    if path is not None:
        env["PATH"] = path + os.pathsep + env.get("PATH", "")
    return subprocess.run(
        [str(OCCI_EXECUTABLE), *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_the_occi_command_with_a_token(server: RunningServer, providers: OpenIdProviders) -> None:
    alice = as_token(server, providers.token("egi", "alice"))
    with alice:
        path = new_compute(alice)
    token = providers.token("egi", "alice2", opaque=True)
    listed = run_occi(server, "--auth", "token", "--token", token, "list", "compute")
    assert listed.returncode == 0, listed.stderr
    assert path.rsplit("/", 1)[-1] in listed.stdout
    refused = run_occi(server, "--auth", "token", "--token", "forged-token", "list", "compute")
    assert refused.returncode == 4
    assert "401" in refused.stderr


def test_the_occi_command_with_oidc_agent(
    server: RunningServer, providers: OpenIdProviders, tmp_path: Path
) -> None:
    # oidc-agent's oidc-token, as far as occi uses it: print an access token of the
    # account. This one gets it from the provider by the client credentials grant.
    tools = tmp_path / "bin"
    tools.mkdir()
    script = tools / "oidc-token"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, httpx\n"
        "account = sys.argv[1]\n"
        f"answer = httpx.post({providers.issuers['lab'] + '/token'!r}, data={{"
        f"'grant_type': 'client_credentials', 'resource': {AUDIENCE!r}}}, "
        "auth=(account, account + '-secret'))\n"
        "print(answer.json()['access_token'])\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    dana = as_token(server, providers.token("lab", "dana"))
    with dana:
        path = new_compute(dana)
    listed = run_occi(
        server, "--auth", "oidc", "--oidc-account", "dana", "list", "compute", path=str(tools)
    )
    assert listed.returncode == 0, listed.stderr
    assert path.rsplit("/", 1)[-1] in listed.stdout
    # eve's own tenant holds nothing of dana's.
    other = run_occi(
        server, "--auth", "oidc", "--oidc-account", "eve", "list", "compute", path=str(tools)
    )
    assert other.returncode == 0, other.stderr
    assert path.rsplit("/", 1)[-1] not in other.stdout

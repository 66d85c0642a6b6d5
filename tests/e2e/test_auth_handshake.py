"""The Keystone-like handshake end to end: occi-server on the sim, real OpenID Providers.

occi-server takes the OIDC access tokens of the test providers
(``tests/oidc_provider.py``: "egi" maps a tenant per VO) and serves the
handshake: its token endpoint exchanges those tokens for its own, which
clients send as ``X-Auth-Token``. The exchange is driven here as Keystone
clients drive it (raw HTTP, the pyocci client, the ``occi`` command), with
the refusals that matter: forged, expired, revoked and unscoped tokens,
projects that are not the user's, and the failure throttle. rOCCI-cli's
flows are in ``test_auth_handshake_rocci.py``, certificates in
``test_auth_handshake_x509.py``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import COMPUTE, DEBIAN, TEXT_PLAIN, URI_LIST, EntityDoc, Occi
from e2e.server import RunningServer, StartServer
from occiclients import jocci_auth, run
from oidc_provider import AUDIENCE, OpenIdProviders, issuers_file, providers_or_skip
from pyocci.client import OcciClient
from pyocci.client.auth import Credentials, connection_options
from pyocci.server.auth import User, hash_password, write_users_file

pytestmark = pytest.mark.e2e

OCCI_EXECUTABLE = Path(sys.executable).parent / "occi"
IDENTITY = "/-/identity/v3"
FEDERATION = IDENTITY + "/OS-FEDERATION/identity_providers/egi.eu/protocols/oidc/auth"
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def providers() -> OpenIdProviders:
    return providers_or_skip()


def handshake_config(
    providers: OpenIdProviders, directory: Path, *, failures_per_address: int = 0
) -> str:
    issuers = issuers_file(providers, directory / "oidc-issuers.toml")
    return (
        "[auth]\n"
        'method = "oidc"\n'
        f'oidc_issuers_file = "{issuers}"\n'
        "oidc_leeway_seconds = 0\n"
        "keystone_handshake = true\n"
        f"max_failures_per_address = {failures_per_address}\n"
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("handshake")


@pytest.fixture(scope="module")
def server(
    start_server: StartServer, providers: OpenIdProviders, workdir: Path
) -> Iterator[RunningServer]:
    with start_server(workdir=workdir, config=handshake_config(providers, workdir)) as running:
        yield running


def unscoped(server: RunningServer, access_token: str) -> httpx.Response:
    """The federation exchange: an OIDC access token for an unscoped token."""
    return httpx.post(
        server.url + FEDERATION,
        headers={**JSON, "Authorization": f"Bearer {access_token}"},
        timeout=30,
    )


def rescoped(server: RunningServer, token: str, project: str | None) -> httpx.Response:
    """``POST /v3/auth/tokens`` with method token, scoped to `project`."""
    body: dict = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}
    if project is not None:
        body["auth"]["scope"] = {"project": {"id": project}}
    return httpx.post(server.url + IDENTITY + "/auth/tokens", json=body, timeout=30)


def scoped_token(server: RunningServer, providers: OpenIdProviders, user: str, project: str) -> str:
    first = unscoped(server, providers.token("egi", user))
    assert first.status_code == 201, first.text
    response = rescoped(server, first.headers["x-subject-token"], project)
    assert response.status_code == 201, response.text
    return response.headers["x-subject-token"]


def with_token(server: RunningServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, timeout=30, headers={"X-Auth-Token": token, "Accept": TEXT_PLAIN}
    )


def new_compute(http: httpx.Client) -> str:
    return Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))


def refused(response: httpx.Response, reason: str) -> None:
    """A 401 in Keystone's shape, pointing at the endpoint, saying `reason`."""
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Keystone uri='http://127.0.0.1:")
    error = response.json()["error"]
    assert error["code"] == 401 and error["title"] == "Unauthorized"
    assert reason in error["message"], error["message"]


def claims_of(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


# --- discovery: the challenge and the versions ---------------------------------------------------


def test_a_401_points_at_the_token_endpoint(server: RunningServer) -> None:
    response = httpx.get(server.url + "/-/", headers={"Accept": TEXT_PLAIN})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == f"Keystone uri='{server.url}/-/identity'"


def test_a_refused_bearer_token_hears_why_from_the_bearer_challenge(
    server: RunningServer,
) -> None:
    response = httpx.get(server.url + "/-/", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="pyocci", error=')


def test_the_versions_are_discovered_as_from_keystone(server: RunningServer) -> None:
    version = httpx.get(server.url + IDENTITY, headers={"Accept": TEXT_PLAIN})
    assert version.status_code == 200
    assert version.headers["content-type"] == "application/json"
    document = version.json()["version"]
    assert document["id"].startswith("v3.")
    assert document["links"] == [{"rel": "self", "href": f"{server.url}{IDENTITY}/"}]
    root = httpx.get(server.url + "/-/identity")
    assert root.status_code == 300
    v3, v2 = root.json()["versions"]["values"]
    assert v3 == document
    assert v2["id"] == "v2.0" and v2["status"] == "deprecated"
    assert v2["links"] == [{"rel": "self", "href": f"{server.url}/-/identity/v2.0/"}]


def test_the_public_url_of_the_server_is_in_the_challenge(
    start_server: StartServer, providers: OpenIdProviders, tmp_path: Path
) -> None:
    config = "base_url = 'https://occi.example.org/cloud'\n" + handshake_config(providers, tmp_path)
    with start_server(config=config) as proxied:
        response = httpx.get(proxied.url + "/-/")
        expected = "Keystone uri='https://occi.example.org/cloud/-/identity'"
        assert response.headers["www-authenticate"] == expected


# --- the exchange -------------------------------------------------------------------------------


def test_an_access_token_is_exchanged_for_an_unscoped_token(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    access = providers.token("egi", "carol")
    response = unscoped(server, access)
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["methods"] == ["oidc"]
    assert token["user"]["name"] == "carol"
    assert "project" not in token
    issued = response.headers["x-subject-token"]
    # Never longer than the access token it was exchanged for.
    assert claims_of(issued)["exp"] <= claims_of(access)["exp"]
    # An unscoped token acts for no tenant.
    with with_token(server, issued) as http:
        answer = http.get("/compute/")
    assert answer.status_code == 401
    assert "not scoped to a project" in answer.headers["x-occi-error"]


def test_the_projects_are_the_tenants_the_token_maps_to(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    token = unscoped(server, providers.token("egi", "carol")).headers["x-subject-token"]
    response = httpx.get(server.url + IDENTITY + "/auth/projects", headers={"X-Auth-Token": token})
    assert response.status_code == 200
    names = [project["name"] for project in response.json()["projects"]]
    assert names == ["vo.alpha.org", "vo.beta.org"]
    assert all(project["enabled"] for project in response.json()["projects"])


def test_a_scoped_token_acts_for_its_project(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    first = unscoped(server, providers.token("egi", "carol")).headers["x-subject-token"]
    response = rescoped(server, first, "vo.beta.org")
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["project"]["id"] == "vo.beta.org"
    assert token["methods"] == ["oidc", "token"]
    assert token["catalog"][0]["type"] == "occi"
    assert token["catalog"][0]["endpoints"][0]["url"] == server.url + "/"
    # A rescoped token keeps the expiry of the one it came from.
    assert token["expires_at"] == unscoped_expiry(first)
    beta = response.headers["x-subject-token"]
    alpha = scoped_token(server, providers, "carol", "vo.alpha.org")
    # The same tenants as the access tokens reach directly: bob is in vo.beta.org,
    # alice in vo.alpha.org.
    bob = httpx.Client(
        base_url=server.url,
        timeout=30,
        headers={"Authorization": f"Bearer {providers.token('egi', 'bob')}"},
    )
    with with_token(server, beta) as in_beta, with_token(server, alpha) as in_alpha, bob:
        path = new_compute(in_beta)
        assert path in Occi(bob, URI_LIST).list("/compute/")
        assert in_alpha.get(path).status_code == 404
        assert in_beta.get(path).status_code == 200


def unscoped_expiry(token: str) -> str:
    seconds = claims_of(token)["exp"]
    moment = time.gmtime(int(seconds))
    fraction = f"{seconds - int(seconds):.6f}"[1:]
    return time.strftime("%Y-%m-%dT%H:%M:%S", moment) + fraction + "Z"


def test_a_token_is_looked_at_by_its_holder(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    token = scoped_token(server, providers, "alice", "vo.alpha.org")
    other = scoped_token(server, providers, "bob", "vo.beta.org")
    url = server.url + IDENTITY + "/auth/tokens"
    own = httpx.get(url, headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert own.status_code == 200
    assert own.json()["token"]["project"]["name"] == "vo.alpha.org"
    theirs = httpx.get(url, headers={"X-Auth-Token": token, "X-Subject-Token": other})
    assert theirs.status_code == 403
    unknown = httpx.get(url, headers={"X-Auth-Token": token, "X-Subject-Token": "nope"})
    assert unknown.status_code == 404


# --- refusals -----------------------------------------------------------------------------------


def test_a_project_that_is_not_the_users_is_refused(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    first = unscoped(server, providers.token("egi", "alice")).headers["x-subject-token"]
    refused(rescoped(server, first, "vo.beta.org"), "project 'vo.beta.org' is not one of yours")
    refused(rescoped(server, first, "no-such-vo"), "is not one of yours; yours: vo.alpha.org")


def test_a_refused_access_token_gets_no_token(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    refused(unscoped(server, providers.token("egi", "nobody")), "grants no tenant")
    refused(unscoped(server, providers.token("rogue", "mallory")), "is not trusted here")
    no_credentials = httpx.post(server.url + FEDERATION)
    refused(no_credentials, "authentication required")


def test_a_forged_token_is_refused(server: RunningServer, providers: OpenIdProviders) -> None:
    token = scoped_token(server, providers, "alice", "vo.alpha.org")
    header, _, signature = token.split(".")
    claims = claims_of(token)
    claims["project"] = "vo.beta.org"
    claims["projects"] = ["vo.beta.org"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with with_token(server, f"{header}.{forged}.{signature}") as http:
        response = http.get("/compute/")
    assert response.status_code == 401
    assert "signature is not valid" in response.headers["x-occi-error"]
    assert response.headers["www-authenticate"].startswith("Keystone uri=")
    refused(rescoped(server, f"{header}.{forged}.{signature}", "vo.beta.org"), "signature")
    with with_token(server, "made-up") as http:
        assert "malformed token" in http.get("/compute/").headers["x-occi-error"]


def test_a_token_of_another_server_is_refused(
    server: RunningServer,
    providers: OpenIdProviders,
    start_server: StartServer,
    tmp_path: Path,
) -> None:
    with start_server(workdir=tmp_path, config=handshake_config(providers, tmp_path)) as other:
        theirs = scoped_token(other, providers, "alice", "vo.alpha.org")
    with with_token(server, theirs) as http:
        response = http.get("/compute/")
    assert response.status_code == 401
    assert "a key this server no longer uses" in response.headers["x-occi-error"]


def test_an_expired_token_is_refused(server: RunningServer, providers: OpenIdProviders) -> None:
    # Exchanged for an access token that lives a second, the token lives no longer. On a
    # loaded machine that second may pass before the exchange: that refusal (and only
    # that one) is a reason to ask for a new access token.
    for _ in range(5):
        access = providers.token("egi", "alice", short_lived=True)
        response = unscoped(server, access)
        if response.status_code != 401:
            break
        assert "the token has expired" in response.text, response.text
    assert response.status_code == 201, response.text
    token = response.headers["x-subject-token"]
    assert claims_of(token)["exp"] <= claims_of(access)["exp"]
    while time.time() < claims_of(token)["exp"] + 0.2:
        time.sleep(0.1)
    refused(rescoped(server, token, "vo.alpha.org"), "the token has expired")
    projects = httpx.get(server.url + IDENTITY + "/auth/projects", headers={"X-Auth-Token": token})
    refused(projects, "the token has expired")


def test_a_malformed_token_request_is_a_400_saying_what_to_send(server: RunningServer) -> None:
    url = server.url + IDENTITY + "/auth/tokens"
    cases = [
        (b"not json", "the body is not JSON"),
        (b'{"auth": {}}', "'identity' is needed"),
        (b'{"auth": {"identity": {"methods": ["totp"]}}}', "this server takes one of token"),
        (
            b'{"auth": {"identity": {"methods": ["token"], "token": {"id": "x"}},'
            b' "scope": {"domain": {"id": "default"}}}}',
            "scopes to projects only",
        ),
    ]
    for body, message in cases:
        response = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert message in response.json()["error"]["message"]
    too_big = httpx.post(url, content=b"{" + b" " * 70_000 + b"}")
    assert too_big.status_code == 413
    wrong_method = httpx.delete(url)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, HEAD, POST"
    assert httpx.get(server.url + IDENTITY + "/nothing").status_code == 404


def test_passwords_are_not_taken_by_an_oidc_server(server: RunningServer) -> None:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "alice", "password": "x"}},
            }
        }
    }
    response = httpx.post(server.url + IDENTITY + "/auth/tokens", json=body)
    refused(response, "this server takes no passwords")


# --- durability and revocation --------------------------------------------------------------------


def occi_server_command(*args: str, config: Path, data_home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env["XDG_DATA_HOME"] = str(data_home)
    env["XDG_CONFIG_HOME"] = str(data_home.parent / "config")
    return subprocess.run(
        [sys.executable, "-m", "pyocci.server.cli", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_tokens_outlive_a_restart_and_die_when_revoked(
    start_server: StartServer, providers: OpenIdProviders, tmp_path: Path
) -> None:
    config = handshake_config(providers, tmp_path)
    with start_server(workdir=tmp_path, config=config) as first:
        token = scoped_token(first, providers, "alice", "vo.alpha.org")
        with with_token(first, token) as http:
            path = new_compute(http)
    with start_server(workdir=tmp_path, config=config) as second:
        with with_token(second, token) as http:
            assert http.get(path).status_code == 200
        key_file = tmp_path / "data" / "pyocci" / "handshake.key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        revoked = occi_server_command(
            "tokens", "revoke", config=tmp_path / "server.toml", data_home=tmp_path / "data"
        )
        assert revoked.returncode == 0, revoked.stderr
        assert f"new signing key is in {key_file}" in revoked.stdout
        # The server looks at the key file again within a second of its last look.
        deadline = time.monotonic() + 10
        with with_token(second, token) as http:
            while (status := http.get(path).status_code) == 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert status == 401
            assert "a key this server no longer uses" in http.get(path).headers["x-occi-error"]
        # New tokens work.
        with with_token(second, scoped_token(second, providers, "alice", "vo.alpha.org")) as http:
            assert http.get(path).status_code == 200


# --- the failure throttle -----------------------------------------------------------------------


def test_failed_tokens_are_throttled_at_the_endpoint_and_after(
    start_server: StartServer, providers: OpenIdProviders, tmp_path: Path
) -> None:
    config = handshake_config(providers, tmp_path, failures_per_address=4)
    with start_server(config=config) as throttled:
        good = scoped_token(throttled, providers, "alice", "vo.alpha.org")
        projects = throttled.url + IDENTITY + "/auth/projects"
        statuses = [
            httpx.get(projects, headers={"X-Auth-Token": "forged"}).status_code,
            rescoped(throttled, "forged", "vo.alpha.org").status_code,
            # A refused access token at the federation endpoint counts as well.
            unscoped(throttled, "guess").status_code,
            httpx.get(throttled.url + "/-/", headers={"X-Auth-Token": "forged"}).status_code,
            httpx.get(projects, headers={"X-Auth-Token": "forged"}).status_code,
        ]
        assert statuses == [401, 401, 401, 401, 429]
        # The address is locked: the good token is not even looked at.
        with with_token(throttled, good) as http:
            locked = http.get("/-/")
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
        exchange = unscoped(throttled, providers.token("egi", "alice"))
        assert exchange.status_code == 429
        assert exchange.json()["error"]["code"] == 429


# --- the pyocci client and the occi command -----------------------------------------------------


def run_occi(
    server: RunningServer, *args: str, env: dict[str, str] | None = None, path: str | None = None
) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OCCI_")}
    environment.update({"OCCI_ENDPOINT": server.url, "OCCI_NO_PROMPT": "1", **(env or {})})
    if path is not None:
        environment["PATH"] = path + os.pathsep + environment.get("PATH", "")
    return subprocess.run(
        [str(OCCI_EXECUTABLE), *args], capture_output=True, text=True, timeout=120, env=environment
    )


def test_the_client_exchanges_an_access_token(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    with with_token(server, scoped_token(server, providers, "bob", "vo.beta.org")) as bob:
        path = new_compute(bob)
    credentials = Credentials(
        method="keystone",
        identity_provider="egi.eu",
        token=providers.token("egi", "carol"),
        project="vo.beta.org",
    )
    with OcciClient(server.url, credentials) as client:
        locations = [entity.location for entity in client.list("compute")]
    assert path in locations
    # The same through httpx, with the flow the client hands it: the project is scoped to.
    options = connection_options(credentials)
    with httpx.Client(base_url=server.url, timeout=30, **options.httpx_options()) as http:
        assert http.get(path, headers={"Accept": TEXT_PLAIN}).status_code == 200
        assert options.auth.scoped_project == ("vo.beta.org", "vo.beta.org")  # type: ignore[union-attr]


def test_the_occi_command_through_the_handshake(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    with with_token(server, scoped_token(server, providers, "alice", "vo.alpha.org")) as alice:
        path = new_compute(alice)
    identifier = path.rsplit("/", 1)[1]
    access = {"ACCESS": providers.token("egi", "alice2", opaque=True)}
    listed = run_occi(
        server,
        "--identity-provider",
        "egi.eu",
        "--token-env",
        "ACCESS",
        "list",
        "compute",
        env=access,
    )
    assert listed.returncode == 0, listed.stderr
    assert identifier in listed.stdout
    # A member of two VOs names the one to act for.
    several = run_occi(
        server, "--identity-provider", "egi.eu", "--token", providers.token("egi", "carol"),
        "list", "compute",
    )  # fmt: skip
    assert several.returncode == 2
    assert "you have several projects (vo.alpha.org, vo.beta.org): choose one" in several.stderr
    chosen = run_occi(
        server, "--identity-provider", "egi.eu", "--token", providers.token("egi", "carol"),
        "--project", "vo.alpha.org", "list", "compute",
    )  # fmt: skip
    assert chosen.returncode == 0, chosen.stderr
    assert identifier in chosen.stdout
    # An issued token, sent as a Keystone token.
    issued = scoped_token(server, providers, "alice", "vo.alpha.org")
    direct = run_occi(server, "--auth", "keystone", "--token", issued, "list", "compute")
    assert direct.returncode == 0, direct.stderr
    assert identifier in direct.stdout


def test_the_occi_command_says_why_an_access_token_is_refused(
    server: RunningServer, providers: OpenIdProviders
) -> None:
    refused_run = run_occi(
        server, "--identity-provider", "egi.eu", "--token", providers.token("egi", "nobody"),
        "list", "compute",
    )  # fmt: skip
    assert refused_run.returncode == 2
    assert "refused the OIDC access token" in refused_run.stderr
    assert "grants no tenant" in refused_run.stderr
    outsider = run_occi(
        server, "--identity-provider", "egi.eu", "--token", providers.token("egi", "alice"),
        "--project", "vo.beta.org", "list", "compute",
    )  # fmt: skip
    assert outsider.returncode == 2
    assert "project 'vo.beta.org' is not one of yours" in outsider.stderr


def test_the_occi_command_with_oidc_agent_through_the_handshake(
    server: RunningServer, providers: OpenIdProviders, tmp_path: Path
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    script = tools / "oidc-token"
    # oidc-agent's oidc-token as far as occi uses it: the account's access token.
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, httpx\n"
        f"answer = httpx.post({providers.issuers['egi'] + '/token'!r}, data={{"
        f"'grant_type': 'client_credentials', 'resource': {AUDIENCE!r}}}, "
        "auth=(sys.argv[1], sys.argv[1] + '-secret'))\n"
        "print(answer.json()['access_token'])\n"
    )
    script.chmod(0o755)
    with with_token(server, scoped_token(server, providers, "bob", "vo.beta.org")) as bob:
        path = new_compute(bob)
    listed = run_occi(
        server, "--identity-provider", "egi.eu", "--oidc-account", "bob", "list", "compute",
        path=str(tools),
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert path.rsplit("/", 1)[1] in listed.stdout


def test_a_basic_server_takes_passwords_at_the_endpoint(
    start_server: StartServer, tmp_path: Path
) -> None:
    users = tmp_path / "users.toml"
    fast = {"n": 16, "r": 1, "p": 1}
    write_users_file(
        users, {"alice": User("alice", "physics", hash_password("alice pass", **fast))}
    )
    config = (
        f'[auth]\nmethod = "basic"\nusers_file = "{users}"\nkeystone_handshake = true\n'
        "max_failures_per_address = 0\n"
    )
    with start_server(config=config) as basic:
        listed = run_occi(
            basic, "--auth", "keystone", "--user", "alice", "--password", "alice pass",
            "--project", "physics", "list", "compute",
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        wrong = run_occi(
            basic, "--auth", "keystone", "--user", "alice", "--password", "nope",
            "list", "compute",
        )  # fmt: skip
        assert wrong.returncode == 2
        assert "refused the user name or password" in wrong.stderr
        # Basic credentials still work as they are.
        direct = run_occi(
            basic, "--auth", "basic", "--user", "alice", "--password", "alice pass",
            "list", "compute",
        )  # fmt: skip
        assert direct.returncode == 0, direct.stderr


# --- the v2.0 API: jOCCI's -----------------------------------------------------------------------


V2 = "/-/identity/v2.0"


@pytest.fixture(scope="module")
def basic_server(
    start_server: StartServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server whose method is basic (alice of physics), with the handshake."""
    workdir = tmp_path_factory.mktemp("handshake-basic")
    users = workdir / "users.toml"
    fast = {"n": 16, "r": 1, "p": 1}
    write_users_file(
        users, {"alice": User("alice", "physics", hash_password("alice pass", **fast))}
    )
    config = (
        f'[auth]\nmethod = "basic"\nusers_file = "{users}"\nkeystone_handshake = true\n'
        "max_failures_per_address = 0\n"
    )
    with start_server(workdir=workdir, config=config) as running:
        yield running


def v2_token(server: RunningServer, auth: dict) -> httpx.Response:
    return httpx.post(server.url + V2 + "/tokens", json={"auth": auth}, timeout=30)


def test_the_v2_api_exchanges_passwords_and_tokens(basic_server: RunningServer) -> None:
    version = httpx.get(basic_server.url + V2).json()["version"]
    assert version["id"] == "v2.0"
    password = {"passwordCredentials": {"username": "alice", "password": "alice pass"}}
    unscoped = v2_token(basic_server, password)
    assert unscoped.status_code == 200, unscoped.text
    access = unscoped.json()["access"]
    assert access["user"]["name"] == "alice" and "tenant" not in access["token"]
    token = access["token"]["id"]
    tenants = httpx.get(basic_server.url + V2 + "/tenants", headers={"X-Auth-Token": token})
    assert tenants.json()["tenants"] == [
        {"id": "physics", "name": "physics", "enabled": True, "description": ""}
    ]
    rescoped = v2_token(basic_server, {"token": {"id": token}, "tenantName": "physics"})
    assert rescoped.status_code == 200, rescoped.text
    scoped = rescoped.json()["access"]
    assert scoped["token"]["tenant"]["name"] == "physics"
    assert scoped["serviceCatalog"][0]["endpoints"][0]["publicURL"] == basic_server.url + "/"
    with with_token(basic_server, scoped["token"]["id"]) as http:
        assert http.get("/compute/").status_code == 200
    direct = v2_token(basic_server, {**password, "tenantName": "physics"})
    assert direct.json()["access"]["token"]["tenant"]["id"] == "physics"


def test_the_v2_api_refuses_what_v3_refuses(basic_server: RunningServer) -> None:
    wrong = v2_token(basic_server, {"passwordCredentials": {"username": "alice", "password": "x"}})
    refused(wrong, "unknown user or wrong password")
    assert wrong.headers["www-authenticate"] == f"Keystone uri='{basic_server.url}/-/identity'"
    password = {"passwordCredentials": {"username": "alice", "password": "alice pass"}}
    refused(v2_token(basic_server, {**password, "tenantName": "chemistry"}), "not one of yours")
    # This server exchanges no certificates (and plain HTTP carries none).
    refused(v2_token(basic_server, {"voms": True}), "exchanges no client certificates")
    refused(v2_token(basic_server, {"token": {"id": "forged"}}), "malformed token")
    malformed = v2_token(basic_server, {"apiKeyCredentials": {}})
    assert malformed.status_code == 400
    assert '"voms": true' in malformed.json()["error"]["message"]


def test_jocci_basic_falls_back_to_the_handshake(basic_server: RunningServer) -> None:
    command = jocci_auth()
    with httpx.Client(base_url=basic_server.url, auth=("alice", "alice pass"), timeout=30) as http:
        path = new_compute(http)
    # jOCCI sends its password only when challenged for Basic; the handshake's 401 names
    # Keystone, so jOCCI logs in through it (v2.0, passwordCredentials).
    ran = run(
        [*command, basic_server.url, "-",
         "basic", "alice", "alice pass"]
    )  # fmt: skip
    assert ran.returncode == 0, ran.explain()
    assert f"LISTED {basic_server.url}{path}" in ran.stdout.splitlines()
    wrong = run([*command, basic_server.url, "-", "basic", "alice", "nope"])
    assert wrong.returncode != 0
    assert "FAILED" in wrong.stdout

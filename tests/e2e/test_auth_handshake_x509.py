"""Client certificates through the Keystone-like handshake, over HTTPS served by occi-server.

The server takes OIDC access tokens (method ``oidc``, the test OpenID
Providers) and asks for client certificates without requiring them
(``[tls] client_ca``); its handshake exchanges a certificate, presented to
the ``mapped`` federation protocol, for a token of
``[auth] handshake_certificate_tenant``. So a user with a VOMS proxy and
one with an OIDC token share one endpoint, each through the flow their
client knows: rOCCI-cli's ``--auth x509 --voms`` falls back to exactly this
exchange when the certificate alone gets a 401 (through Keystone's v2.0 API,
which it tries first), and so does jOCCI's VOMS authentication.
"""

from __future__ import annotations

import base64
import datetime
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from e2e.occiclient import COMPUTE, DEBIAN, TEXT_PLAIN, URI_LIST, EntityDoc, Occi
from e2e.test_auth_handshake import handshake_config
from occiclients import ROCCI, ensure, jocci_auth, run
from oidc_provider import OpenIdProviders, providers_or_skip
from pki import Pki
from pyocci.client.auth import Credentials, connection_options
from tls_server import TlsServer, tls_occi_server, tls_section
from voms import make_voms_proxy

pytestmark = pytest.mark.e2e

MAPPED = "/-/identity/v3/OS-FEDERATION/identity_providers/egi.eu/protocols/mapped/auth"
OIDC = "/-/identity/v3/OS-FEDERATION/identity_providers/egi.eu/protocols/oidc/auth"


@pytest.fixture(scope="module")
def providers() -> OpenIdProviders:
    return providers_or_skip()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, providers: OpenIdProviders
) -> Iterator[TlsServer]:
    workdir = tmp_path_factory.mktemp("handshake-x509")
    config = (
        handshake_config(providers, workdir)
        + 'handshake_certificate_tenant = "grid"\n'
        + tls_section(pki, required=False)
    )
    with tls_occi_server(workdir, pki, config) as running:
        yield running


def https(server: TlsServer, credentials: Credentials, **headers: str) -> httpx.Client:
    options = connection_options(credentials)
    return httpx.Client(base_url=server.url, timeout=30, headers=headers, **options.httpx_options())


def user(pki: Pki) -> Credentials:
    return Credentials(certificate=str(pki.user_certificate), key=str(pki.user_key), ca=str(pki.ca))


def anonymous(pki: Pki) -> Credentials:
    return Credentials(ca=str(pki.ca))


def exchanged(server: TlsServer, credentials: Credentials) -> httpx.Response:
    with https(server, credentials) as http:
        return http.post(MAPPED)


def scoped(server: TlsServer, credentials: Credentials, project: str = "grid") -> str:
    first = exchanged(server, credentials)
    assert first.status_code == 201, first.text
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": first.headers["x-subject-token"]}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}},
        }
    }
    with https(server, anonymous_of(credentials)) as http:
        response = http.post("/-/identity/v3/auth/tokens", json=body)
    assert response.status_code == 201, response.text
    return response.headers["x-subject-token"]


def anonymous_of(credentials: Credentials) -> Credentials:
    return Credentials(ca=credentials.ca)


def test_a_certificate_is_exchanged_for_a_token_of_the_tenant(server: TlsServer, pki: Pki) -> None:
    response = exchanged(server, user(pki))
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["methods"] == ["mapped"]
    assert token["user"]["name"] == pki.user_subject
    claims = json.loads(
        base64.urlsafe_b64decode(response.headers["x-subject-token"].split(".")[1] + "==")
    )
    assert claims["projects"] == ["grid"]
    # Never longer than the certificate lives (and the lifetime, an hour).
    certificate = x509.load_pem_x509_certificate(pki.user_certificate.read_bytes())
    assert claims["exp"] <= certificate.not_valid_after_utc.timestamp()


def test_the_token_serves_without_the_certificate(server: TlsServer, pki: Pki) -> None:
    token = scoped(server, user(pki))
    with https(server, anonymous(pki), **{"X-Auth-Token": token}) as http:
        path = Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
        assert http.get(path).status_code == 200
    # The certificate alone is no OCCI credential here: the server's method is oidc.
    with https(server, user(pki), Accept=TEXT_PLAIN) as http:
        refused = http.get("/compute/")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == (f"Keystone uri='{server.url}/-/identity'")


@pytest.mark.parametrize("kind", ["proxy", "voms"])
def test_a_proxy_is_exchanged_in_its_holders_name(
    server: TlsServer, pki: Pki, tmp_path: Path, kind: str
) -> None:
    if kind == "voms":
        proxy, holder = make_voms_proxy(pki, tmp_path)
    else:
        proxy, holder = pki.proxy, pki.user_subject
    credentials = Credentials(certificate=str(proxy), ca=str(pki.ca))
    response = exchanged(server, credentials)
    assert response.status_code == 201, response.text
    assert response.json()["token"]["user"]["name"] == holder
    # Proxy and user certificate act for the one tenant.
    with (
        https(server, anonymous(pki), **{"X-Auth-Token": scoped(server, credentials)}) as a,
        https(server, anonymous(pki), **{"X-Auth-Token": scoped(server, user(pki))}) as b,
    ):
        path = Occi(a, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
        assert path in Occi(b, URI_LIST).list("/compute/")


def test_no_certificate_no_exchange(server: TlsServer, pki: Pki) -> None:
    response = exchanged(server, anonymous(pki))
    assert response.status_code == 401
    assert "no client certificate" in response.json()["error"]["message"]
    assert response.headers["www-authenticate"].startswith("Keystone uri='https://")


def test_a_project_other_than_the_certificates_is_refused(server: TlsServer, pki: Pki) -> None:
    first = exchanged(server, user(pki)).headers["x-subject-token"]
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": first}},
            "scope": {"project": {"id": "vo.alpha.org"}},
        }
    }
    with https(server, anonymous(pki)) as http:
        response = http.post("/-/identity/v3/auth/tokens", json=body)
    assert response.status_code == 401
    assert "is not one of yours; yours: grid" in response.json()["error"]["message"]


def test_oidc_users_share_the_endpoint(
    server: TlsServer, pki: Pki, providers: OpenIdProviders
) -> None:
    with https(
        server, anonymous(pki), Authorization=f"Bearer {providers.token('egi', 'alice')}"
    ) as http:
        assert http.get("/-/", headers={"Accept": TEXT_PLAIN}).status_code == 200
        response = http.post(OIDC)
    assert response.status_code == 201
    assert response.json()["token"]["user"]["name"] == "alice"


def test_the_occi_client_exchanges_its_certificate(server: TlsServer, pki: Pki) -> None:
    with https(server, anonymous(pki), **{"X-Auth-Token": scoped(server, user(pki))}) as http:
        path = Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
    credentials = Credentials(
        method="keystone",
        identity_provider="egi.eu",
        protocol="mapped",
        certificate=str(pki.proxy),
        ca=str(pki.ca),
    )
    with https(server, credentials) as http:
        assert path in Occi(http, URI_LIST).list("/compute/")
        assert http.auth.scoped_project == ("grid", "grid")  # type: ignore[attr-defined]


# --- rOCCI-cli's x509 flow ----------------------------------------------------------------------


def rocci_credentials(pki: Pki, directory: Path) -> Path:
    """The user's certificate and key in one PEM file, as rOCCI-cli takes them."""
    path = directory / "usercred.pem"
    path.write_bytes(pki.user_certificate.read_bytes() + pki.user_key.read_bytes())
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("kind", ["certificate", "proxy", "voms"])
def test_rocci_x509_falls_back_to_the_exchange(
    server: TlsServer, pki: Pki, tmp_path: Path, kind: str
) -> None:
    rocci = ensure(ROCCI)
    with https(server, anonymous(pki), **{"X-Auth-Token": scoped(server, user(pki))}) as http:
        path = Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
    if kind == "certificate":
        credentials, voms = rocci_credentials(pki, tmp_path), []
    elif kind == "proxy":
        credentials, voms = pki.proxy, ["--voms"]
    else:
        credentials, voms = make_voms_proxy(pki, tmp_path)[0], ["--voms"]
    command = [
        str(rocci),
        "--endpoint", server.url,
        "--auth", "x509",
        "--user-cred", str(credentials),
        *voms,
        "--ca-file", str(pki.ca),
        "--media-type", TEXT_PLAIN,
        "--action", "list",
        "--resource", "compute",
    ]  # fmt: skip
    ran = run(command)
    assert ran.returncode == 0, ran.explain()
    assert server.url + path in ran.stdout.split()


def test_the_lifetime_caps_the_token(tmp_path: Path, pki: Pki, providers: OpenIdProviders) -> None:
    config = (
        handshake_config(providers, tmp_path)
        + 'handshake_certificate_tenant = "grid"\nhandshake_lifetime_seconds = 120\n'
        + tls_section(pki, required=False)
    )
    with tls_occi_server(tmp_path, pki, config) as running:
        response = exchanged(running, user(pki))
    issued = datetime.datetime.fromisoformat(response.json()["token"]["issued_at"])
    expires = datetime.datetime.fromisoformat(response.json()["token"]["expires_at"])
    assert (expires - issued).total_seconds() == pytest.approx(120, abs=1)


# --- jOCCI's VOMS flow --------------------------------------------------------------------------


def test_jocci_voms_falls_back_to_the_handshake(
    server: TlsServer, pki: Pki, tmp_path: Path
) -> None:
    command = jocci_auth()
    with https(server, anonymous(pki), **{"X-Auth-Token": scoped(server, user(pki))}) as http:
        path = Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
    # jOCCI's CA path: a directory of *.pem files.
    authorities = tmp_path / "ca"
    authorities.mkdir()
    shutil.copy(pki.ca, authorities / "ca.pem")
    proxy, _ = make_voms_proxy(pki, tmp_path / "voms")
    ran = run([*command, server.url, str(authorities), "voms", str(proxy)])
    assert ran.returncode == 0, ran.explain()
    assert f"LISTED {server.url}{path}" in ran.stdout.splitlines()

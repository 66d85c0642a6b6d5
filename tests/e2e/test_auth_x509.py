"""HTTPS and client certificates: occi-server with ``[tls]``, the client's x509 credentials.

The certificates come from `pki.make_pki`: a CA, a server certificate for
127.0.0.1, a user certificate, an RFC 3820 proxy made from it (one PEM file:
proxy certificate, key, user certificate) and a certificate of another CA.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import COMPUTE, DEBIAN, TEXT_PLAIN, URI_LIST, EntityDoc, Occi
from pki import Pki
from pyocci.client.auth import Credentials, connection_options
from tls_server import TlsServer, tls_occi_server, tls_section

pytestmark = pytest.mark.e2e

X509 = '[auth]\nmethod = "x509"\ntenant = "grid"\n'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[TlsServer]:
    workdir = tmp_path_factory.mktemp("x509")
    with tls_occi_server(workdir, pki, X509 + tls_section(pki)) as running:
        yield running


def user(pki: Pki, **extra: object) -> Credentials:
    settings: dict = {
        "method": "x509",
        "certificate": str(pki.user_certificate),
        "key": str(pki.user_key),
        "ca": str(pki.ca),
    }
    return Credentials(**{**settings, **extra})


def proxy(pki: Pki) -> Credentials:
    return Credentials(method="x509", certificate=str(pki.proxy), ca=str(pki.ca))


def stranger(pki: Pki) -> Credentials:
    return Credentials(
        method="x509",
        certificate=str(pki.stranger_certificate),
        key=str(pki.stranger_key),
        ca=str(pki.ca),
    )


def get(server: TlsServer, credentials: Credentials, path: str = "/-/") -> httpx.Response:
    options = connection_options(credentials)
    with httpx.Client(base_url=server.url, timeout=30, **options.httpx_options()) as http:
        return http.get(path, headers={"Accept": TEXT_PLAIN})


def test_a_certificate_and_key_are_served(server: TlsServer, pki: Pki) -> None:
    assert get(server, user(pki)).status_code == 200


def test_a_proxy_file_is_served(server: TlsServer, pki: Pki) -> None:
    assert get(server, proxy(pki)).status_code == 200


def test_certificate_holders_share_the_configured_tenant(server: TlsServer, pki: Pki) -> None:
    with (
        httpx.Client(base_url=server.url, **connection_options(user(pki)).httpx_options()) as a,
        httpx.Client(base_url=server.url, **connection_options(proxy(pki)).httpx_options()) as b,
    ):
        path = Occi(a, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
        assert path in Occi(b, URI_LIST).list("/compute/")


@pytest.mark.parametrize(
    "credentials",
    [lambda pki: Credentials(ca=str(pki.ca)), stranger],
    ids=["no-certificate", "another-ca"],
)
def test_the_handshake_refuses_clients_without_a_valid_certificate(
    server: TlsServer, pki: Pki, credentials
) -> None:
    with pytest.raises(httpx.TransportError):
        get(server, credentials(pki))


def test_the_client_verifies_the_server(server: TlsServer, pki: Pki) -> None:
    # The test CA is in no system trust store.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        get(server, user(pki, ca=None))
    assert get(server, user(pki, ca=None, insecure=True)).status_code == 200


def test_plain_http_gets_nothing(server: TlsServer) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url.replace("https:", "http:") + "/-/", timeout=10)


def test_optional_client_certificates_with_basic_auth(tmp_path: Path, pki: Pki) -> None:
    """HTTPS in front of another method: the certificate is optional, passwords decide."""
    config = '[auth]\nmethod = "basic"\n' + tls_section(pki, required=False)
    with tls_occi_server(tmp_path, pki, config) as running:
        response = get(running, Credentials(ca=str(pki.ca)))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="pyocci"'


def test_granian_serves_tls_but_not_proxy_certificates(tmp_path: Path, pki: Pki) -> None:
    pytest.importorskip("granian")
    with tls_occi_server(tmp_path, pki, X509 + tls_section(pki), server="granian") as running:
        assert get(running, user(pki)).status_code == 200
        with pytest.raises(httpx.TransportError):
            get(running, proxy(pki))
        with pytest.raises(httpx.TransportError):
            get(running, Credentials(ca=str(pki.ca)))


def serve_fails(tmp_path: Path, config: str) -> str:
    config_file = tmp_path / "server.toml"
    config_file.write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    result = subprocess.run(
        [sys.executable, "-m", "pyocci.server.cli", "--config", str(config_file), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


def test_x509_without_required_client_certificates_is_refused(tmp_path: Path, pki: Pki) -> None:
    error = serve_fails(tmp_path, X509 + tls_section(pki, required=False))
    assert "auth.method 'x509' needs [tls] certificate, client_ca and" in error


def test_a_key_that_does_not_match_is_one_line(tmp_path: Path, pki: Pki) -> None:
    config = f'[tls]\ncertificate = "{pki.server_certificate}"\nkey = "{pki.stranger_key}"\n'
    error = serve_fails(tmp_path, config)
    assert error.startswith("occi-server: error: cannot use the TLS files of [tls]")


def test_a_missing_tls_file_is_named(tmp_path: Path) -> None:
    error = serve_fails(tmp_path, f'[tls]\ncertificate = "{tmp_path / "nope.pem"}"\n')
    assert f"tls.certificate: {tmp_path / 'nope.pem'} does not exist" in error

"""The client's credentials and authentication flows (``pyocci.client.auth``).

Basic, bearer-token and oidc-agent flows run against real ``occi-server``
processes (methods ``basic`` and ``token``) over HTTP. oidc-agent itself needs
an OpenID provider, which the tests cannot reach: a small ``oidc-token``
script on PATH stands in for it, honouring the command's contract (the access
token on stdout, exit status 1 and a message on stderr on failure). Keystone's
handshake is tested end to end in ``tests/e2e/test_auth_keystone.py`` and
``tests/e2e/test_auth_handshake.py``; client certificates (PEM, encrypted
keys, PKCS#12, VOMS proxies made by voms-proxy-fake) against an occi-server
serving HTTPS here and in ``tests/e2e/test_auth_x509.py``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from e2e.occiclient import COMPUTE, DEBIAN, TEXT_PLAIN, URI_LIST, EntityDoc, Occi
from e2e.server import RunningServer, occi_server
from pki import PKCS12_PASSWORD, Pki
from pyocci.client import OcciClient
from pyocci.client.auth import (
    BearerAuth,
    ConnectionOptions,
    Credentials,
    CredentialsError,
    KeystoneAuth,
    OidcAgentAuth,
    certificate_needs_password,
    connection_options,
    keystone_url_from_challenge,
)
from pyocci.server.auth import User, generate_token, hash_password, hash_token, write_users_file
from tls_server import TlsServer, tls_occi_server, tls_section
from voms import VOMS_AC, make_voms_proxy

FAST = {"n": 16, "r": 1, "p": 1}  # cheap scrypt for test users
PASSWORDS = {"alice": "alice pass", "bob": "bob pass"}
TENANTS = {"alice": "physics", "bob": "chemistry"}


@dataclass
class Servers:
    basic: RunningServer
    token: RunningServer
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """One server asking for passwords and one asking for tokens, over the same users."""
    workdir = tmp_path_factory.mktemp("client-auth")
    tokens = {name: generate_token() for name in TENANTS}
    users = {
        name: User(name, TENANTS[name], hash_password(PASSWORDS[name], **FAST), hash_token(token))
        for name, token in tokens.items()
    }
    users_file = workdir / "users.toml"
    write_users_file(users_file, users)
    section = f'users_file = "{users_file}"\n'
    basic_dir, token_dir = workdir / "basic", workdir / "token"
    basic_dir.mkdir()
    token_dir.mkdir()
    with (
        occi_server(basic_dir, config=f'[auth]\nmethod = "basic"\n{section}') as basic,
        occi_server(token_dir, config=f'[auth]\nmethod = "token"\n{section}') as token,
    ):
        yield Servers(basic, token, tokens)


def client(server: RunningServer, options: ConnectionOptions) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, **options.httpx_options())


def status_with(server: RunningServer, credentials: Credentials) -> int:
    with client(server, connection_options(credentials)) as http:
        return http.get("/-/", headers={"Accept": TEXT_PLAIN}).status_code


# --- checking credentials before anything is sent -------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (Credentials(method="kerberos"), "unknown authentication method 'kerberos'; use one of"),
        (Credentials(method="basic", password="p"), "basic authentication needs a user name"),
        (Credentials(method="basic", username="u"), "basic authentication needs a password"),
        (Credentials(method="basic", username="a:b", password="p"), "cannot contain ':'"),
        (Credentials(method="token"), "token authentication needs a token"),
        (Credentials(method="token", token="   "), "the token is empty"),
        (Credentials(method="token", token="abc\ndef"), "copied with a line break?"),
        (Credentials(method="token", token="abc\u00e9"), "non-ASCII"),
        (Credentials(method="oidc"), "oidc authentication needs the oidc-agent account name"),
        (Credentials(method="x509"), "x509 authentication needs a client certificate"),
        (Credentials(method="x509", certificate="/nonexistent/cert.pem"), "does not exist"),
        (Credentials(method="keystone"), "needs a user name and password, a Keystone token, or"),
        (
            Credentials(method="keystone", identity_provider="egi.eu"),
            "a federated login at egi.eu needs an OIDC access token",
        ),
        (
            Credentials(method="keystone", identity_provider="egi.eu", protocol="mapped"),
            "the mapped protocol exchanges your client certificate: give it (--cert)",
        ),
        (
            Credentials(method="keystone", identity_provider="egi/eu", token="t"),
            "the identity provider and the protocol are names",
        ),
        (Credentials(method="keystone", username="u"), "needs a user name and password"),
        (Credentials(ca="/nonexistent/ca.pem"), "CA bundle or directory /nonexistent/ca.pem"),
    ],
    ids=lambda value: value.method if isinstance(value, Credentials) else None,
)
def test_unusable_credentials_are_refused_with_what_to_fix(
    credentials: Credentials, message: str
) -> None:
    with pytest.raises(CredentialsError) as caught:
        connection_options(credentials)
    assert message in str(caught.value)


def test_a_token_variable_that_is_not_set_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCCI_TEST_TOKEN", raising=False)
    with pytest.raises(CredentialsError, match="environment variable OCCI_TEST_TOKEN is not set"):
        connection_options(Credentials(method="token", token_env="OCCI_TEST_TOKEN"))


def test_secrets_stay_out_of_repr() -> None:
    shown = repr(
        Credentials(
            method="basic", username="alice", password="hunter2", token="t0k", cert_password="p12"
        )
    )
    assert "hunter2" not in shown and "t0k" not in shown and "p12" not in shown
    assert "alice" in shown and "***" in shown


def test_no_auth_sends_nothing_and_verifies_the_server() -> None:
    options = connection_options(Credentials())
    assert options.auth is None and options.cert is None and options.verify is True
    assert options.ssl_context is not None
    assert options.httpx_options()["verify"] is options.ssl_context


def test_insecure_skips_server_verification() -> None:
    options = connection_options(Credentials(insecure=True, ca="/ignored"))
    assert options.verify is False
    assert options.ssl_context is not None
    assert not options.ssl_context.check_hostname


# --- x509 credentials -------------------------------------------------------------------------


def test_certificate_and_key(pki: Pki) -> None:
    options = connection_options(
        Credentials(
            method="x509",
            certificate=str(pki.user_certificate),
            key=str(pki.user_key),
            ca=str(pki.ca),
        )
    )
    assert options.cert == (str(pki.user_certificate), str(pki.user_key))
    assert options.verify == str(pki.ca)


def test_a_proxy_file_holds_certificate_key_and_chain(pki: Pki) -> None:
    options = connection_options(Credentials(method="x509", certificate=str(pki.proxy)))
    assert options.cert == str(pki.proxy)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "holds no matching private key (a proxy file holds both); give the key"),
        ("stranger_key", "do they match"),
        ("user_encrypted_key", "the client key is encrypted"),
    ],
)
def test_unusable_certificates_say_why(pki: Pki, key: str | None, message: str) -> None:
    credentials = Credentials(
        method="x509",
        certificate=str(pki.user_certificate),
        key=str(getattr(pki, key)) if key else None,
    )
    with pytest.raises(CredentialsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        connection_options(credentials)


def test_a_ca_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(CredentialsError, match=f"cannot load CA certificates from {bogus}"):
        connection_options(Credentials(ca=str(bogus)))


def p12(pki: Pki, password: str | None = PKCS12_PASSWORD, **extra: object) -> Credentials:
    return Credentials(
        method="x509",
        certificate=str(pki.user_pkcs12),
        cert_password=password,
        ca=str(pki.ca),
        **extra,  # type: ignore[arg-type]
    )


def test_a_pkcs12_file_opens_with_its_password(pki: Pki) -> None:
    options = connection_options(p12(pki))
    assert options.cert == str(pki.user_pkcs12)
    assert options.ssl_context is not None
    assert not certificate_needs_password(str(pki.user_open_pkcs12))
    open_file = Credentials(method="x509", certificate=str(pki.user_open_pkcs12))
    assert connection_options(open_file).cert == str(pki.user_open_pkcs12)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        (None, "is protected by a password: give it (--cert-password, or $OCCI_CERT_PASSWORD)"),
        ("wrong", "the password is wrong, or it is not PKCS#12"),
    ],
)
def test_a_pkcs12_file_without_its_password_says_so(
    pki: Pki, password: str | None, message: str
) -> None:
    assert certificate_needs_password(str(pki.user_pkcs12))
    with pytest.raises(CredentialsError) as caught:
        connection_options(p12(pki, password))
    assert message in str(caught.value)
    assert str(pki.user_pkcs12) in str(caught.value)


def test_a_der_file_that_is_no_pkcs12_is_refused(pki: Pki, tmp_path: Path) -> None:
    der = tmp_path / "user.der"
    der.write_bytes(
        x509.load_pem_x509_certificate(pki.user_certificate.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )
    )
    with pytest.raises(CredentialsError, match="the password is wrong, or it is not PKCS#12"):
        connection_options(Credentials(method="x509", certificate=str(der), cert_password="x"))


def test_an_encrypted_key_opens_with_its_password(pki: Pki) -> None:
    credentials = Credentials(
        method="x509",
        certificate=str(pki.user_certificate),
        key=str(pki.user_encrypted_key),
        cert_password="secret",
    )
    assert connection_options(credentials).cert == (
        str(pki.user_certificate),
        str(pki.user_encrypted_key),
    )
    assert certificate_needs_password(str(pki.user_certificate), str(pki.user_encrypted_key))
    assert not certificate_needs_password(str(pki.user_certificate), str(pki.user_key))
    wrong = Credentials(
        method="x509",
        certificate=str(pki.user_certificate),
        key=str(pki.user_encrypted_key),
        cert_password="not it",
    )
    with pytest.raises(CredentialsError, match="cannot decrypt the client key"):
        connection_options(wrong)


def test_a_certificate_for_a_plain_http_endpoint_is_refused(pki: Pki) -> None:
    credentials = Credentials(method="x509", certificate=str(pki.proxy))
    with pytest.raises(CredentialsError) as caught:
        OcciClient("http://occi.example.org:8787", credentials)
    assert str(caught.value) == (
        "a client certificate is presented over HTTPS only, and http://occi.example.org:8787 "
        "is plain HTTP: use its https:// URL, or leave out the certificate (--cert)"
    )
    # Over HTTPS the same credentials are taken (nothing is sent until a request).
    OcciClient("https://occi.example.org", credentials).close()


# --- certificates over TLS, against a real occi-server ------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[TlsServer]:
    workdir = tmp_path_factory.mktemp("x509")
    config = '[auth]\nmethod = "x509"\ntenant = "grid"\n' + tls_section(pki)
    with tls_occi_server(workdir, pki, config) as running:
        yield running


def tls_status(server: TlsServer, credentials: Credentials) -> int:
    options = connection_options(credentials)
    with httpx.Client(base_url=server.url, timeout=30, **options.httpx_options()) as http:
        return http.get("/-/", headers={"Accept": TEXT_PLAIN}).status_code


def test_a_pkcs12_certificate_is_presented(tls_server: TlsServer, pki: Pki) -> None:
    assert tls_status(tls_server, p12(pki)) == 200
    open_file = Credentials(method="x509", certificate=str(pki.user_open_pkcs12), ca=str(pki.ca))
    assert tls_status(tls_server, open_file) == 200


def test_an_encrypted_key_is_presented(tls_server: TlsServer, pki: Pki) -> None:
    credentials = Credentials(
        method="x509",
        certificate=str(pki.user_certificate),
        key=str(pki.user_encrypted_key),
        cert_password="secret",
        ca=str(pki.ca),
    )
    assert tls_status(tls_server, credentials) == 200


def test_a_voms_proxy_is_presented(
    tls_server: TlsServer, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    proxy, _ = make_voms_proxy(pki, tmp_path_factory.mktemp("voms"))
    # voms-proxy-init's layout, and the VOMS attribute certificate in the proxy.
    assert b"-----BEGIN RSA PRIVATE KEY-----" in proxy.read_bytes()
    extensions = x509.load_pem_x509_certificate(proxy.read_bytes()).extensions
    assert extensions.get_extension_for_oid(VOMS_AC)
    assert tls_status(tls_server, Credentials(certificate=str(proxy), ca=str(pki.ca))) == 200
    with pytest.raises(httpx.TransportError):
        tls_status(tls_server, Credentials(ca=str(pki.ca)))


# --- basic ------------------------------------------------------------------------------------


def test_basic_credentials_are_accepted(servers: Servers) -> None:
    credentials = Credentials(method="basic", username="alice", password=PASSWORDS["alice"])
    assert status_with(servers.basic, credentials) == 200


def test_a_wrong_password_is_401(servers: Servers) -> None:
    credentials = Credentials(method="basic", username="alice", password=PASSWORDS["bob"])
    assert status_with(servers.basic, credentials) == 401


# --- bearer tokens ----------------------------------------------------------------------------


def test_a_token_given_directly(servers: Servers) -> None:
    options = connection_options(Credentials(method="token", token=servers.tokens["alice"]))
    assert isinstance(options.auth, BearerAuth)
    with client(servers.token, options) as http:
        assert http.get("/-/").status_code == 200


def test_a_token_from_an_environment_variable(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the trailing newline a `read` or a file would leave.
    monkeypatch.setenv("OCCI_TEST_TOKEN", servers.tokens["bob"] + "\n")
    credentials = Credentials(method="token", token_env="OCCI_TEST_TOKEN")
    assert status_with(servers.token, credentials) == 200


def test_tokens_act_for_their_own_tenant(servers: Servers) -> None:
    alice = connection_options(Credentials(method="token", token=servers.tokens["alice"]))
    bob = connection_options(Credentials(method="token", token=servers.tokens["bob"]))
    with client(servers.token, alice) as alices, client(servers.token, bob) as bobs:
        path = Occi(alices, TEXT_PLAIN).create(
            "/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN])
        )
        assert path in Occi(alices, URI_LIST).list("/compute/")
        assert path not in Occi(bobs, URI_LIST).list("/compute/")
        assert bobs.get(path).status_code == 404


def test_an_unknown_token_is_401(servers: Servers) -> None:
    assert status_with(servers.token, Credentials(method="token", token=generate_token())) == 401


# --- oidc-agent -------------------------------------------------------------------------------


@dataclass
class FakeAgent:
    """An ``oidc-token`` on PATH that prints the next of `tokens` (or fails)."""

    directory: Path

    def answer(self, *tokens: str, fail: str | None = None) -> None:
        (self.directory / "tokens").write_text("\n".join(tokens) + "\n")
        (self.directory / "calls").write_text("")
        failure = f'echo "{fail}" >&2; exit 1' if fail else ""
        script = self.directory / "oidc-token"
        script.write_text(
            "#!/bin/sh\n"
            f"{failure}\n"
            f'echo "$1" >> "{self.directory}/calls"\n'
            f'n=$(wc -l < "{self.directory}/calls")\n'
            f'sed -n "${{n}}p" "{self.directory}/tokens"\n'
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR)

    @property
    def calls(self) -> list[str]:
        return (self.directory / "calls").read_text().split()


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAgent:
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    fake = FakeAgent(tmp_path)
    fake.answer()
    return fake


def test_oidc_asks_the_agent_for_the_accounts_token(servers: Servers, agent: FakeAgent) -> None:
    agent.answer(servers.tokens["alice"])
    options = connection_options(Credentials(method="oidc", oidc_account="egi"))
    assert isinstance(options.auth, OidcAgentAuth)
    with client(servers.token, options) as http:
        assert http.get("/-/").status_code == 200
        assert http.get("/compute/").status_code == 200
    assert agent.calls == ["egi"], "the token is kept between requests"


def test_oidc_renews_a_refused_token_once_and_replays_the_body(
    servers: Servers, agent: FakeAgent
) -> None:
    agent.answer("pyocci_expired", servers.tokens["alice"])
    options = connection_options(Credentials(method="oidc", oidc_account="egi"))
    with client(servers.token, options) as http:
        path = Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
        assert http.get(path).status_code == 200
    assert agent.calls == ["egi", "egi"]


def test_oidc_in_an_async_client(servers: Servers, agent: FakeAgent) -> None:
    agent.answer("pyocci_expired", servers.tokens["bob"])
    options = connection_options(Credentials(method="oidc", oidc_account="egi"))

    async def statuses() -> list[int]:
        async with httpx.AsyncClient(
            base_url=servers.token.url, timeout=30, **options.httpx_options()
        ) as http:
            return [(await http.get(path)).status_code for path in ("/-/", "/compute/")]

    assert anyio.run(statuses) == [200, 200]
    assert agent.calls == ["egi", "egi"]


def test_oidc_gives_up_after_one_renewal(servers: Servers, agent: FakeAgent) -> None:
    agent.answer("pyocci_expired", "pyocci_still_bad", servers.tokens["alice"])
    with client(servers.token, connection_options(Credentials("oidc", oidc_account="x"))) as http:
        assert http.get("/-/").status_code == 401
    assert len(agent.calls) == 2


def test_oidc_agent_failures_are_explained(agent: FakeAgent) -> None:
    agent.answer(fail="Could not connect to oidc-agent")
    auth = connection_options(Credentials(method="oidc", oidc_account="egi")).auth
    with httpx.Client(auth=auth) as http, pytest.raises(CredentialsError) as caught:
        http.get("http://127.0.0.1:9/")  # fails before anything is sent
    message = str(caught.value)
    assert "oidc-token egi failed: Could not connect to oidc-agent" in message
    assert "oidc-add egi" in message


def test_oidc_without_oidc_agent_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CredentialsError, match="oidc-agent is not installed"):
        connection_options(Credentials(method="oidc", oidc_account="egi"))


# --- the Keystone challenge -------------------------------------------------------------------


def challenged(*values: str) -> httpx.Response:
    return httpx.Response(401, headers=[("WWW-Authenticate", value) for value in values])


@pytest.mark.parametrize(
    ("header", "url"),
    [
        (
            "Keystone uri='https://keystone.example.org:5000/v3'",
            "https://keystone.example.org:5000/v3",
        ),
        (
            'Keystone uri="https://keystone.example.org:5000/v2.0"',
            "https://keystone.example.org:5000/v2.0",
        ),
        ("keystone uri='https://k.example.org/identity/'", "https://k.example.org/identity"),
        ('Basic realm="x"', None),
        ("Keystone uri='https://k.example.org\"", None),
    ],
)
def test_the_keystone_challenge_is_read_in_both_quotings(header: str, url: str | None) -> None:
    assert keystone_url_from_challenge(challenged(header)) == url


def test_the_keystone_challenge_among_others() -> None:
    response = challenged('Basic realm="x"', "Keystone uri='https://k.example.org/v3'")
    assert keystone_url_from_challenge(response) == "https://k.example.org/v3"


def test_keystone_with_a_token_and_no_project_sends_it_at_once() -> None:
    auth = connection_options(Credentials(method="keystone", token="gAAAA-scoped")).auth
    assert isinstance(auth, KeystoneAuth)
    assert auth.token == "gAAAA-scoped"
    scoped = connection_options(Credentials(method="keystone", token="t", project="p")).auth
    assert isinstance(scoped, KeystoneAuth)
    assert scoped.token is None, "a named project is scoped to first"

"""How the client authenticates: credentials in, httpx connection options out.

`Credentials` says what the user gave (``--auth`` and its options, or a site's
entry in the sites file); `connection_options` checks it and turns it into an
``httpx.Auth`` flow, the client certificate and the server verification that
an ``httpx.Client`` needs. Problems the user can fix - a missing password, an
unreadable certificate, no oidc-agent - raise `CredentialsError` with a message
that says what to do, before anything is sent.

The methods:

* ``none`` - nothing is sent.
* ``basic`` - HTTP basic (RFC 7617) with a user name and password.
* ``token`` - ``Authorization: Bearer <token>``; the token given directly or
  read from an environment variable.
* ``oidc`` - a bearer token from oidc-agent: ``oidc-token <account>`` is run
  when the first request is made and again, once, when the server refuses the
  token (access tokens live minutes; a long ``--wait`` outlives one).
* ``x509`` - a TLS client certificate: a certificate and key (the key may be
  encrypted: ``cert_password``), one PEM file holding certificate, key and
  chain (an RFC 3820 / VOMS proxy as made by ``voms-proxy-init``), or a
  PKCS#12 file (``.p12``, as browsers export certificates) with its password.
  A certificate given with another method is presented as well.
* ``keystone`` - the OpenStack Keystone handshake: the server answers 401 with
  ``WWW-Authenticate: Keystone uri='<keystone>'``; the client gets a
  project-scoped token from that Keystone (v3 API, with a password, an
  existing token, or - naming an ``identity_provider`` - a federated
  credential: an OIDC access token, or the client certificate for protocol
  ``mapped``) and repeats the request with ``X-Auth-Token``. The token is
  kept for later requests and renewed once when the server refuses it.
  occi-server's own handshake (``[auth] keystone_handshake``) answers the same.

Use::

    options = connection_options(Credentials(method="basic", username="u", password="p"))
    client = httpx.Client(**options.httpx_options())

`ConnectionOptions.httpx_options` hands httpx one `ssl.SSLContext` (server
verification and client certificate together), the form httpx 0.28 asks for;
the ``cert`` and ``verify`` fields describe the same thing for display and for
code that builds its own context.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import anyio.to_thread
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

__all__ = [
    "AUTH_METHODS",
    "DEFAULT_PROTOCOL",
    "BearerAuth",
    "ConnectionOptions",
    "Credentials",
    "CredentialsError",
    "KeystoneAuth",
    "OidcAgentAuth",
    "certificate_needs_password",
    "check_certificate_scheme",
    "connection_options",
    "keystone_url_from_challenge",
    "oidc_agent_token",
]

#: The values of ``--auth``.
AUTH_METHODS = ("none", "basic", "token", "x509", "oidc", "keystone")

#: The Keystone domain of users and projects when none is named (Keystone's own default).
DEFAULT_DOMAIN = "Default"
#: The federation protocol of OIDC access tokens when none is named: the name Keystone
#: deployments (EGI's among them) give it. Protocol ``mapped`` exchanges certificates.
DEFAULT_PROTOCOL = "openid"

#: How long ``oidc-token`` may take: it talks to a local agent, which may ask the
#: identity provider for a fresh token.
OIDC_TOKEN_TIMEOUT = 30.0


class CredentialsError(Exception):
    """The credentials cannot be used; the message says what to fix."""


_SECRETS = frozenset({"password", "token", "cert_password"})


@dataclass(frozen=True)
class Credentials:
    """What the user gave to authenticate with, for one endpoint."""

    method: str = "none"  # none | basic | token | x509 | oidc | keystone
    username: str | None = None  # basic, keystone (password auth)
    password: str | None = None
    token: str | None = None  # token / keystone: a token given directly
    token_env: str | None = None  # token: name of an environment variable holding it
    oidc_account: str | None = None  # oidc: the oidc-agent account
    certificate: str | None = None  # x509: client certificate PEM, or a VOMS proxy (cert+key)
    key: str | None = None  # x509: key PEM when not inside `certificate`
    project: str | None = None  # keystone: project to scope to (id or name)
    ca: str | None = None  # CA bundle/dir to verify the server (any method)
    insecure: bool = False  # skip server certificate verification
    user_domain: str | None = None  # keystone: the user's domain name (default "Default")
    cert_password: str | None = None  # x509: of a PKCS#12 file or an encrypted key
    identity_provider: str | None = None  # keystone: exchange a federated credential there
    protocol: str | None = None  # keystone federation: "openid" (default) or "mapped"

    def __repr__(self) -> str:
        # Never show a secret in a traceback, a log line or --verbose output.
        shown = {
            name: ("***" if name in _SECRETS and value else value)
            for name, value in vars(self).items()
            if value not in (None, False)
        }
        return "Credentials(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


@dataclass(frozen=True)
class ConnectionOptions:
    """What an ``httpx.Client`` needs to talk to an endpoint with some credentials."""

    auth: httpx.Auth | None
    #: The client certificate: a PEM file holding certificate and key (a proxy), or
    #: (certificate, key); None without x509.
    cert: str | tuple[str, str] | None
    #: How the server is verified: False (``insecure``), a CA file or directory, or
    #: True for the system's trust store.
    verify: bool | str
    #: The TLS context built from `cert` and `verify`.
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)

    def httpx_options(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client``/``httpx.AsyncClient``: auth and verify."""
        verify: ssl.SSLContext | bool | str = (
            self.ssl_context if self.ssl_context is not None else self.verify
        )
        return {"auth": self.auth, "verify": verify}


def connection_options(credentials: Credentials) -> ConnectionOptions:
    """Check credentials and build the connection options; CredentialsError on a problem."""
    method = credentials.method
    if method not in AUTH_METHODS:
        raise CredentialsError(
            f"unknown authentication method {method!r}; use one of: {', '.join(AUTH_METHODS)}"
        )
    cert = _client_certificate(credentials) if method == "x509" or credentials.certificate else None
    verify = _verification(credentials)
    context = _ssl_context(verify, cert, credentials.cert_password)
    return ConnectionOptions(
        auth=_auth_flow(credentials), cert=cert, verify=verify, ssl_context=context
    )


def _auth_flow(credentials: Credentials) -> httpx.Auth | None:
    method = credentials.method
    if method == "basic":
        if not credentials.username:
            raise CredentialsError("basic authentication needs a user name (--user)")
        if credentials.password is None:
            raise CredentialsError("basic authentication needs a password (--password)")
        if ":" in credentials.username:
            raise CredentialsError("a user name for basic authentication cannot contain ':'")
        return httpx.BasicAuth(credentials.username, credentials.password)
    if method == "token":
        return BearerAuth(_static_token(credentials))
    if method == "oidc":
        account = (credentials.oidc_account or "").strip()
        if not account:
            raise CredentialsError(
                "oidc authentication needs the oidc-agent account name (--oidc-account)"
            )
        _find_oidc_token_command()
        return OidcAgentAuth(account)
    if method == "keystone":
        if credentials.identity_provider:
            return KeystoneAuth(
                federation=_federation(credentials),
                project=credentials.project,
                user_domain=credentials.user_domain or DEFAULT_DOMAIN,
            )
        return KeystoneAuth(
            username=credentials.username,
            password=credentials.password,
            token=_clean_token(credentials.token, "the Keystone token")
            if credentials.token
            else None,
            project=credentials.project,
            user_domain=credentials.user_domain or DEFAULT_DOMAIN,
        )
    return None  # none, x509: nothing in the HTTP exchange itself


def _federation(credentials: Credentials) -> Federation:
    """How a federated credential is exchanged for a Keystone token."""
    provider = (credentials.identity_provider or "").strip()
    protocol = (credentials.protocol or DEFAULT_PROTOCOL).strip()
    if not protocol or "/" in protocol or "/" in provider:
        raise CredentialsError(
            "the identity provider and the protocol are names (such as egi.eu and openid)"
        )
    if protocol == "mapped":
        if not credentials.certificate:
            raise CredentialsError(
                "the mapped protocol exchanges your client certificate: give it (--cert)"
            )
        return Federation(provider, protocol, None)
    account = (credentials.oidc_account or "").strip()
    if account:
        _find_oidc_token_command()
        return Federation(provider, protocol, functools.partial(oidc_agent_token, account))
    if not (credentials.token or credentials.token_env):
        raise CredentialsError(
            f"a federated login at {provider} needs an OIDC access token: give it "
            f"(--token or --token-env) or name the oidc-agent account (--oidc-account); "
            f"or use --protocol mapped with a client certificate"
        )
    return Federation(provider, protocol, functools.partial(_static_token, credentials))


# --- bearer tokens --------------------------------------------------------------------------


def _clean_token(token: str, what: str) -> str:
    """A token without surrounding white space; CredentialsError if it cannot be a header."""
    cleaned = token.strip()
    if not cleaned:
        raise CredentialsError(f"{what} is empty")
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in cleaned):
        raise CredentialsError(
            f"{what} contains spaces or control characters; was it copied with a line break?"
        )
    if not cleaned.isascii():
        raise CredentialsError(f"{what} contains non-ASCII characters; tokens are ASCII")
    return cleaned


def _static_token(credentials: Credentials) -> str:
    if credentials.token:
        return _clean_token(credentials.token, "the token")
    if credentials.token_env:
        value = os.environ.get(credentials.token_env)
        if value is None:
            raise CredentialsError(
                f"environment variable {credentials.token_env} is not set; "
                f"export the token in it or give the token directly"
            )
        return _clean_token(value, f"the token in environment variable {credentials.token_env}")
    raise CredentialsError(
        "token authentication needs a token: give it directly (--token) "
        "or name an environment variable holding it (--token-env)"
    )


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` (RFC 6750) on every request."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def _find_oidc_token_command() -> str:
    command = shutil.which("oidc-token")
    if command is None:
        raise CredentialsError(
            "oidc-agent is not installed: the oidc-token command is not on PATH; "
            "install oidc-agent, or use --auth token with an access token"
        )
    return command


def oidc_agent_token(account: str) -> str:
    """An access token from oidc-agent: the output of ``oidc-token <account>``."""
    command = _find_oidc_token_command()
    try:
        completed = subprocess.run(
            [command, account],
            capture_output=True,
            text=True,
            timeout=OIDC_TOKEN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CredentialsError(
            f"oidc-token {account} did not answer within {OIDC_TOKEN_TIMEOUT:.0f} s; "
            f"is oidc-agent responding?"
        ) from None
    except OSError as error:
        raise CredentialsError(f"cannot run oidc-token: {error.strerror}") from None
    if completed.returncode != 0:
        said = " ".join((completed.stderr or completed.stdout).split()) or "no message"
        raise CredentialsError(
            f"oidc-token {account} failed: {said}. Is oidc-agent running "
            f"(OIDC_SOCK set, e.g. eval $(oidc-agent-service use)) and the account "
            f"loaded (oidc-add {account})?"
        )
    return _clean_token(completed.stdout, f"the token from oidc-token {account}")


class OidcAgentAuth(httpx.Auth):
    """A bearer token from oidc-agent, fetched at the first request and renewed on a 401.

    The token is kept between requests; a 401 means it expired (or was revoked), so a
    fresh one is asked for and the request repeated - once, so that a token the server
    will never accept does not loop.
    """

    requires_request_body = True  # the request may be sent twice

    def __init__(self, account: str) -> None:
        self.account = account
        self._token: str | None = None
        self._lock = threading.Lock()

    def _current(self, *, renew: bool) -> str:
        with self._lock:
            if self._token is None or renew:
                self._token = oidc_agent_token(self.account)
            return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._current(renew=False)}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self._current(renew=True)}"
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # oidc-token is a process: run it off the event loop.
        token = await anyio.to_thread.run_sync(functools.partial(self._current, renew=False))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = await anyio.to_thread.run_sync(functools.partial(self._current, renew=True))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


# --- Keystone -------------------------------------------------------------------------------

# The challenge as rOCCI clients match it: single or double quotes around the URL.
_KEYSTONE_CHALLENGE = re.compile(r"""^\s*Keystone\s+uri=(["'])(?P<uri>[^"']+)\1\s*$""", re.I)
_VERSION_SUFFIX = re.compile(r"/v(?P<version>\d+)(?:\.\d+)?$")


def keystone_url_from_challenge(response: httpx.Response) -> str | None:
    """The Keystone URL of a ``WWW-Authenticate: Keystone uri='...'`` challenge, if any."""
    for value in response.headers.get_list("www-authenticate"):
        match = _KEYSTONE_CHALLENGE.match(value)
        if match:
            return match.group("uri").rstrip("/")
    return None


def _keystone_message(response: httpx.Response) -> str:
    """Keystone's own error message: ``{"error": {"message": ...}}``, else the status."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = None
    reason = f"{response.status_code} {response.reason_phrase}".strip()
    return f"{reason}: {message}" if isinstance(message, str) and message else reason


@dataclass(frozen=True)
class Federation:
    """A federated login at a Keystone: the identity provider and protocol to exchange
    a credential at, and where the OIDC access token comes from (None: the exchange
    takes the TLS client certificate, protocol ``mapped``)."""

    identity_provider: str
    protocol: str
    access_token: Callable[[], str] | None


class KeystoneAuth(httpx.Auth):
    """The Keystone handshake: 401 challenge, a project-scoped v3 token, ``X-Auth-Token``.

    The Keystone requests go through the same ``httpx.Client`` as the OCCI ones, so
    they use the same TLS settings and proxies. Getting a token:

    1. an unscoped token - from the user name and password, the token given, or a
       federated credential (``POST /v3/OS-FEDERATION/identity_providers/<idp>/
       protocols/<protocol>/auth`` with the OIDC access token as a bearer token, or
       with the client certificate alone);
    2. the projects that token may use (``GET /v3/auth/projects``), to find the one
       named by `project` (id or name), or the only one when none is named;
    3. a token scoped to that project (``POST /v3/auth/tokens`` with method ``token``).

    A given token is first tried as it is when no project is named: it may already be
    a scoped one.
    """

    requires_request_body = True  # the request is repeated after the handshake
    requires_response_body = True  # Keystone's answers are read

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        project: str | None = None,
        user_domain: str = DEFAULT_DOMAIN,
        federation: Federation | None = None,
    ) -> None:
        if federation is None and token is None and not (username and password is not None):
            raise CredentialsError(
                "keystone authentication needs a user name and password, a Keystone token, "
                "or an identity provider to log in at (--identity-provider)"
            )
        self._federation = federation
        self._username = username
        self._password = password
        self._given_token = token
        self._project = project
        self._user_domain = user_domain
        self._lock = threading.Lock()
        # The client's timeouts, for the requests to Keystone: requests made here do not
        # get them from the client, and Keystone must not hang a command forever.
        self._extensions: dict[str, Any] = {}
        # The token sent with requests: the given one, until a scoped one is made.
        self._token: str | None = token if project is None else None
        #: The project the current token is scoped to, once known (id, name).
        self.scoped_project: tuple[str, str] | None = None

    @property
    def token(self) -> str | None:
        """The token currently sent as ``X-Auth-Token`` (None before the handshake)."""
        with self._lock:
            return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sent = self.token
        if sent is not None:
            request.headers["X-Auth-Token"] = sent
        response = yield request
        if response.status_code != 401:
            return
        keystone = keystone_url_from_challenge(response)
        if keystone is None:
            return  # not a Keystone challenge: the caller sees the server's 401
        timeout = request.extensions.get("timeout")
        self._extensions = {"timeout": timeout} if timeout is not None else {}
        token = yield from self._authenticate(keystone)
        with self._lock:
            self._token = token
        request.headers["X-Auth-Token"] = token
        yield request

    # Each step below yields Keystone requests through the client and returns a value.

    def _authenticate(self, keystone: str) -> Generator[httpx.Request, httpx.Response, str]:
        v3 = yield from self._v3_endpoint(keystone)
        unscoped = yield from self._unscoped_token(v3)
        project_id, project_name = yield from self._choose_project(v3, unscoped)
        body = {
            "auth": {
                "identity": {"methods": ["token"], "token": {"id": unscoped}},
                "scope": {"project": {"id": project_id}},
            }
        }
        response = yield self._keystone_request("POST", f"{v3}/auth/tokens", json=body)
        token = self._subject_token(response, v3, f"a token for project {project_name}")
        self.scoped_project = (project_id, project_name)
        return token

    def _v3_endpoint(self, keystone: str) -> Generator[httpx.Request, httpx.Response, str]:
        """The v3 API root of the challenge's URL, which may name v3, v2.0 or no version."""
        match = _VERSION_SUFFIX.search(keystone)
        if match:
            if match.group("version") == "3":
                return keystone
            # v2.0 is gone from Keystone since 2018; its v3 API lives next to it.
            return keystone[: match.start()] + "/v3"
        response = yield self._keystone_request("GET", keystone)
        return _v3_from_discovery(response) or f"{keystone}/v3"

    def _unscoped_token(self, v3: str) -> Generator[httpx.Request, httpx.Response, str]:
        if self._federation is not None:
            return (yield from self._federated_token(v3, self._federation))
        if self._given_token is not None:
            return self._given_token
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self._username,
                            "domain": {"name": self._user_domain},
                            "password": self._password,
                        }
                    },
                }
            }
        }
        response = yield self._keystone_request("POST", f"{v3}/auth/tokens", json=body)
        return self._subject_token(response, v3, f"a token for user {self._username}")

    def _federated_token(
        self, v3: str, federation: Federation
    ) -> Generator[httpx.Request, httpx.Response, str]:
        url = (
            f"{v3}/OS-FEDERATION/identity_providers/{quote(federation.identity_provider)}"
            f"/protocols/{quote(federation.protocol)}/auth"
        )
        headers = {}
        if federation.access_token is not None:
            headers["Authorization"] = f"Bearer {federation.access_token()}"
        response = yield self._keystone_request("POST", url, headers=headers)
        what = "client certificate" if federation.access_token is None else "OIDC access token"
        if response.status_code == 401:
            raise CredentialsError(
                f"Keystone at {v3} refused the {what} ({_keystone_message(response)})"
            )
        return self._subject_token(
            response, v3, f"a token for your {what} at {federation.identity_provider}"
        )

    def _choose_project(
        self, v3: str, unscoped: str
    ) -> Generator[httpx.Request, httpx.Response, tuple[str, str]]:
        response = yield self._keystone_request(
            "GET", f"{v3}/auth/projects", headers={"X-Auth-Token": unscoped}
        )
        if response.status_code == 401:
            raise CredentialsError(
                f"Keystone at {v3} refused the token ({_keystone_message(response)}); "
                f"it may have expired: get a new one"
            )
        if response.status_code != 200:
            raise CredentialsError(
                f"Keystone at {v3} did not list your projects: {_keystone_message(response)}"
            )
        try:
            projects = [
                (str(project["id"]), str(project.get("name", project["id"])))
                for project in response.json()["projects"]
                if project.get("enabled", True)
            ]
        except (ValueError, KeyError, TypeError):
            raise CredentialsError(
                f"Keystone at {v3} answered GET /auth/projects with something that is not "
                f"a project list"
            ) from None
        if self._project is not None:
            for project_id, name in projects:
                if self._project in (project_id, name):
                    return project_id, name
            known = ", ".join(sorted(name for _, name in projects)) or "none"
            raise CredentialsError(
                f"project {self._project!r} is not one of yours in Keystone at {v3} "
                f"(yours: {known})"
            )
        if len(projects) == 1:
            return projects[0]
        if not projects:
            raise CredentialsError(
                f"you have no project in Keystone at {v3}: ask its administrators for one"
            )
        names = ", ".join(sorted(name for _, name in projects))
        raise CredentialsError(f"you have several projects ({names}): choose one with --project")

    def _keystone_request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Request:
        return httpx.Request(
            method,
            url,
            json=json,
            headers={"Accept": "application/json", **(headers or {})},
            extensions=dict(self._extensions),
        )

    def _subject_token(self, response: httpx.Response, v3: str, what: str) -> str:
        if response.status_code == 401:
            refused = "token" if self._given_token is not None else "user name or password"
            raise CredentialsError(
                f"Keystone at {v3} refused the {refused} ({_keystone_message(response)})"
            )
        if response.status_code != 201 or not response.headers.get("x-subject-token"):
            raise CredentialsError(
                f"Keystone at {v3} did not issue {what}: {_keystone_message(response)}"
            )
        return response.headers["x-subject-token"]


def _v3_from_discovery(response: httpx.Response) -> str | None:
    """The v3 link of a Keystone version document (300 with a list, or 200 with one)."""
    try:
        document = response.json()
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    versions: Any = document.get("versions", {})
    if isinstance(versions, dict):
        versions = versions.get("values", [])
    if "version" in document:
        versions = [document["version"]]
    if not isinstance(versions, list):
        return None
    for version in versions:
        if not isinstance(version, dict) or not str(version.get("id", "")).startswith("v3"):
            continue
        for link in version.get("links", []):
            if isinstance(link, dict) and link.get("rel") == "self" and link.get("href"):
                return str(link["href"]).rstrip("/")
    return None


# --- TLS ------------------------------------------------------------------------------------


def _readable_file(path: str, what: str) -> str:
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise CredentialsError(f"{what} {path} does not exist")
    if resolved.is_dir():
        raise CredentialsError(f"{what} {path} is a directory, not a PEM file")
    if not os.access(resolved, os.R_OK):
        raise CredentialsError(f"{what} {path} is not readable")
    return str(resolved)


def _client_certificate(credentials: Credentials) -> str | tuple[str, str]:
    if not credentials.certificate:
        raise CredentialsError(
            "x509 authentication needs a client certificate (--cert): a PEM certificate "
            "with --key, a proxy file holding certificate and key, or a PKCS#12 file"
        )
    certificate = _readable_file(credentials.certificate, "client certificate")
    if credentials.key:
        return certificate, _readable_file(credentials.key, "client key")
    return certificate


def check_certificate_scheme(endpoint: str, credentials: Credentials) -> None:
    """Refuse (CredentialsError) a client certificate for a plain-HTTP endpoint: it can
    only be presented in a TLS handshake, and would silently not be."""
    if credentials.certificate and urlsplit(endpoint).scheme == "http":
        raise CredentialsError(
            f"a client certificate is presented over HTTPS only, and {endpoint} is plain "
            f"HTTP: use its https:// URL, or leave out the certificate (--cert)"
        )


def certificate_needs_password(certificate: str, key: str | None = None) -> bool:
    """Whether a client certificate cannot be used without a password: a PKCS#12 file
    that does not open without one, or an encrypted PEM key. False when the files
    cannot be read (`connection_options` then says why)."""
    try:
        data = Path(certificate).expanduser().read_bytes()
        if key is not None:
            return _encrypted_pem(Path(key).expanduser().read_bytes())
    except OSError:
        return False
    if _is_pkcs12(data):
        try:
            _open_pkcs12(data, None, certificate)
        except CredentialsError:
            return True
        return False
    return _encrypted_pem(data)


_PEM_KEY = re.compile(
    rb"-----BEGIN (?P<kind>[A-Z ]*PRIVATE KEY)-----.*?-----END (?P=kind)-----", re.DOTALL
)


def _check_key_password(path: str, password: str) -> None:
    """Say so (CredentialsError) when the password does not decrypt an encrypted PEM key:
    OpenSSL would only say "PEM lib"."""
    try:
        found = _PEM_KEY.search(Path(path).read_bytes())
    except OSError:
        return  # loading the chain says why
    if found is None or not _encrypted_pem(found.group(0)):
        return
    try:
        serialization.load_pem_private_key(found.group(0), password.encode("utf-8"))
    except (ValueError, TypeError):
        raise CredentialsError(
            f"cannot decrypt the client key {path}: is the password right?"
        ) from None


def _encrypted_pem(data: bytes) -> bool:
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data or b"Proc-Type: 4,ENCRYPTED" in data


def _is_pkcs12(data: bytes) -> bool:
    """PKCS#12 files are DER (a SEQUENCE); PEM files are text with BEGIN lines."""
    return data[:1] == b"\x30" and b"-----BEGIN" not in data


def _open_pkcs12(data: bytes, password: str | None, path: str) -> pkcs12.PKCS12KeyAndCertificates:
    """The key and certificates of a PKCS#12 file; CredentialsError when it does not open
    (a missing or wrong password, or no PKCS#12 at all)."""
    tried = [password.encode("utf-8")] if password is not None else [None, b""]
    for attempt in tried:
        try:
            loaded = pkcs12.load_pkcs12(data, attempt)
        except ValueError:
            continue
        if loaded.key is None or loaded.cert is None:
            raise CredentialsError(
                f"the PKCS#12 file {path} holds no certificate with its private key"
            )
        return loaded
    if password is None:
        raise CredentialsError(
            f"the PKCS#12 file {path} is protected by a password: give it (--cert-password, "
            f"or $OCCI_CERT_PASSWORD)"
        )
    raise CredentialsError(
        f"cannot open the PKCS#12 file {path}: the password is wrong, or it is not PKCS#12"
    )


def _load_pkcs12(context: ssl.SSLContext, path: str, password: str | None) -> None:
    """Load the certificate, chain and key of a PKCS#12 file into `context`.

    The ssl module reads keys from files only: they go through a private temporary
    file (mode 0600, removed at once) in which the key is encrypted under a random
    password, so that it never lies on disk in the clear.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise CredentialsError(
            f"cannot read the client certificate {path}: {error.strerror}"
        ) from None
    loaded = _open_pkcs12(data, password, path)
    assert loaded.key is not None and loaded.cert is not None  # _open_pkcs12 insists
    wrapping = secrets.token_urlsafe(24)
    pem = loaded.cert.certificate.public_bytes(serialization.Encoding.PEM)
    pem += b"".join(
        extra.certificate.public_bytes(serialization.Encoding.PEM)
        for extra in loaded.additional_certs
    )
    pem += loaded.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(wrapping.encode("ascii")),
    )
    with tempfile.NamedTemporaryFile(prefix="pyocci-cert-", suffix=".pem") as file:
        file.write(pem)
        file.flush()
        try:
            context.load_cert_chain(file.name, password=wrapping)
        except ssl.SSLError as error:
            raise CredentialsError(
                f"cannot use the client certificate of {path}: {error.reason or error}"
            ) from None


def _verification(credentials: Credentials) -> bool | str:
    if credentials.insecure:
        return False
    if credentials.ca:
        ca = Path(credentials.ca).expanduser()
        if not ca.exists():
            raise CredentialsError(f"CA bundle or directory {credentials.ca} does not exist")
        return str(ca)
    return True


def _no_key_password() -> str:
    # Called by OpenSSL only for an encrypted key; without it, OpenSSL would prompt
    # on the terminal, in the middle of a command.
    raise CredentialsError(
        "the client key is encrypted: give its password (--cert-password, or "
        "$OCCI_CERT_PASSWORD), or decrypt it (openssl pkey -in KEY -out NEW)"
    )


def _ssl_context(
    verify: bool | str,
    cert: str | tuple[str, str] | None,
    password: str | None = None,
) -> ssl.SSLContext:
    """One TLS context for server verification and the client certificate."""
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        try:
            if Path(verify).is_dir():
                context = ssl.create_default_context(capath=verify)
            else:
                context = ssl.create_default_context(cafile=verify)
        except (ssl.SSLError, OSError) as error:
            raise CredentialsError(f"cannot load CA certificates from {verify}: {error}") from None
    else:
        context = _default_context()
    if cert is None:
        return context
    certificate, key = (cert, None) if isinstance(cert, str) else cert
    try:
        head = Path(certificate).read_bytes()[:4096]
    except OSError as error:
        raise CredentialsError(
            f"cannot read the client certificate {certificate}: {error.strerror}"
        ) from None
    if key is None and _is_pkcs12(head):
        _load_pkcs12(context, certificate, password)
        return context
    if password is not None:
        _check_key_password(key or certificate, password)
    try:
        context.load_cert_chain(
            certificate, key, password=password if password is not None else _no_key_password
        )
    except ssl.SSLError as error:
        if key is None:
            # OpenSSL only says "PEM lib": the usual cause is a certificate alone.
            raise CredentialsError(
                f"cannot use the client certificate {certificate}: it holds no matching "
                f"private key (a proxy file holds both); give the key with --key"
            ) from None
        raise CredentialsError(
            f"cannot use the client certificate {certificate} with the key {key} "
            f"({error.reason or error}): do they match, and are both PEM?"
        ) from None
    except OSError as error:
        raise CredentialsError(
            f"cannot read the client certificate {certificate}: {error.strerror}"
        ) from None
    return context


def _default_context() -> ssl.SSLContext:
    """The trust store httpx uses by default: $SSL_CERT_FILE/$SSL_CERT_DIR, else certifi's."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi  # httpx's own dependency

    return ssl.create_default_context(cafile=certifi.where())

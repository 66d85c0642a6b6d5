"""The token endpoint of the Keystone-like handshake, at ``/-/identity``.

What Keystone clients (rOCCI-cli's, jOCCI's, pyocci's, keystoneauth's)
ask of Keystone, answered for occi-server's own tokens:

* ``GET /-/identity``: the versions offered (300, as Keystone's root): what
  the 401's ``WWW-Authenticate: Keystone uri='...'`` names;
* ``GET /-/identity/v3``: the v3 API's version document;
* ``POST /-/identity/v3/OS-FEDERATION/identity_providers/<idp>/protocols/<protocol>/auth``:
  an unscoped token for the request's credentials;
* ``POST /-/identity/v3/auth/tokens``: a token for a token (rescoping to a
  project) or for a password;
* ``GET /-/identity/v3/auth/tokens``: what ``X-Subject-Token`` says;
* ``GET /-/identity/v3/auth/projects``: the projects ``X-Auth-Token`` may scope to;
* ``POST /-/identity/v2.0/tokens`` and ``GET /-/identity/v2.0/tenants``: the
  same in the v2.0 API, for jOCCI (which speaks nothing else) and rOCCI-cli's
  certificates (which it tries there first).

The federation endpoint takes what the server's method takes: an OIDC access
token (``Authorization: Bearer``) for ``oidc``, a password for ``basic``, a
bearer token for ``token``. Its protocol ``mapped`` takes the TLS client
certificate instead (what rOCCI-cli sends for VOMS proxies): its holder gets
method x509's tenant, or ``[auth] handshake_certificate_tenant``; with method
``voms``, the tenants the front's certificate (a VOMS proxy's FQANs) maps to. The
``<idp>`` is not checked: the credential says who issued it.

Tokens are answered ``201`` with ``X-Subject-Token`` and a Keystone token
document; errors in Keystone's error document, a ``401`` with the Keystone
challenge that names this endpoint.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from starlette.responses import Response
from starlette.types import Receive, Scope

from pyocci.model.errors import OcciError
from pyocci.server.auth import (
    AuthenticationError,
    HandshakeAuth,
    IssuedToken,
    TokenRefusedError,
    keystone_challenge,
)
from pyocci.server.auth.base import Identity
from pyocci.server.auth.certificates import certificate_identity
from pyocci.server.bodies import read_body
from pyocci.server.identity.documents import (
    V2_VERSION,
    access_document,
    error_document,
    projects_document,
    tenants_document,
    token_document,
    version_document,
    versions_document,
)
from pyocci.server.identity.requests import (
    TokenRequest,
    parse_token_request,
    parse_v2_token_request,
)
from pyocci.server.origins import Origins
from pyocci.server.responses import HttpError, status_of

__all__ = ["IDENTITY_PATH", "IdentityEndpoint", "client_certificate"]

logger = logging.getLogger("pyocci.server.auth")

#: Where the token endpoint lives: under the query interface, where no collection may.
IDENTITY_PATH = "/-/identity"
#: The most a token request's body may hold: a few hundred bytes in practice.
MAX_BODY = 64 * 1024
_JSON = "application/json"
_FEDERATION = "/v3/OS-FEDERATION/identity_providers/"


def client_certificate(scope: Scope) -> x509.Certificate | None:
    """The TLS client certificate of the request, as the ASGI TLS extension hands it
    (uvicorn through `pyocci.server.uvicorn_protocol`); None without one."""
    tls = scope.get("extensions", {}).get("tls")
    chain = tls.get("client_cert_chain") if isinstance(tls, dict) else None
    if not chain:
        return None
    try:
        return x509.load_pem_x509_certificate(str(chain[0]).encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None


class IdentityEndpoint:
    """Answers the requests under `IDENTITY_PATH` for a `HandshakeAuth`."""

    def __init__(self, auth: HandshakeAuth, origins: Origins) -> None:
        self.auth = auth
        self.origins = origins

    @staticmethod
    def serves(path: str) -> bool:
        """Whether `path` is the endpoint's."""
        return path == IDENTITY_PATH or path.startswith(IDENTITY_PATH + "/")

    def url(self, scope: Scope) -> str:
        """The endpoint's URL (its versions), as the request named the server."""
        return self.origins.base_url(scope) + IDENTITY_PATH.lstrip("/")

    def v3_url(self, scope: Scope) -> str:
        """The v3 API's URL."""
        return self.url(scope) + "/v3"

    def challenge(self, scope: Scope) -> str:
        """``Keystone uri='<the endpoint>'``: what a 401 of the handshake carries. It names
        no version: rOCCI-cli reads the versions there, and jOCCI appends ``/v2.0``."""
        return keystone_challenge(self.url(scope))

    async def answer(self, scope: Scope, receive: Receive, headers: Mapping[str, str]) -> Response:
        """The response to one request of the endpoint; every failure in Keystone's shape."""
        try:
            return await self._route(scope, receive, headers)
        except Exception as error:
            return self._error(error, scope)

    # --- routing --------------------------------------------------------------------------

    async def _route(self, scope: Scope, receive: Receive, headers: Mapping[str, str]) -> Response:
        path = scope["path"][len(IDENTITY_PATH) :].rstrip("/")
        method = scope["method"]
        reading = method in ("GET", "HEAD")
        if path == "":
            self._allow(method, reading, "GET, HEAD")
            document = versions_document(self.v3_url(scope), self.url(scope) + "/v2.0")
            return self._json(document, 300)
        if path == "/v3":
            self._allow(method, reading, "GET, HEAD")
            return self._json(version_document(self.v3_url(scope)))
        if path == "/v2.0":
            self._allow(method, reading, "GET, HEAD")
            return self._json(version_document(self.url(scope) + "/v2.0", V2_VERSION))
        if path == "/v2.0/tokens":
            self._allow(method, method == "POST", "POST")
            request = parse_v2_token_request(
                await read_body(receive, headers, MAX_BODY, "a token request")
            )
            return await self._v2_token(scope, headers, request)
        if path == "/v2.0/tenants":
            self._allow(method, reading, "GET, HEAD")
            token = self.auth.issued(self._auth_token(headers), scope.get("client"))
            return self._json(tenants_document(token))
        if path == "/v3/auth/tokens":
            if reading:
                return self._validation(scope, headers)
            self._allow(method, method == "POST", "GET, HEAD, POST")
            request = parse_token_request(
                await read_body(receive, headers, MAX_BODY, "a token request")
            )
            return await self._token(scope, headers, request)
        if path == "/v3/auth/projects":
            self._allow(method, reading, "GET, HEAD")
            token = self.auth.issued(self._auth_token(headers), scope.get("client"))
            return self._json(projects_document(token, self.v3_url(scope)))
        if path.startswith(_FEDERATION):
            parts = path[len(_FEDERATION) :].split("/")
            if len(parts) == 4 and parts[1] == "protocols" and parts[3] == "auth" and parts[0]:
                self._allow(method, method in ("GET", "POST"), "GET, POST")
                return await self._federated(scope, headers, unquote(parts[2]))
        raise HttpError(404, f"nothing lives at {scope['path']} in the token endpoint")

    @staticmethod
    def _allow(method: str, allowed: bool, methods: str) -> None:
        if not allowed:
            raise HttpError(405, f"{method} is not allowed here; use {methods}", {"allow": methods})

    # --- the answers ----------------------------------------------------------------------

    async def _federated(self, scope: Scope, headers: Mapping[str, str], protocol: str) -> Response:
        """An unscoped token for the request's credentials (the certificate for ``mapped``)."""
        client = scope.get("client")
        if protocol == "mapped":
            identity = await self._certificate_holder(scope, headers)
        else:
            identity = await self.auth.identify(headers, client)
        return self._issue(scope, identity, [protocol], project=None)

    async def _certificate_holder(self, scope: Scope, headers: Mapping[str, str]) -> Identity:
        if self.auth.method_name == "voms":
            # The front passes the certificate on; the method verifies and maps it.
            return await self.auth.identify(headers, scope.get("client"))
        tenant = self.auth.certificate_tenant
        if tenant is None:
            raise AuthenticationError(
                "this server exchanges no client certificates for tokens: use the "
                f"credentials of its method ({self.auth.method_name})",
                challenge=self.challenge(scope),
            )
        certificate = client_certificate(scope)
        if certificate is None:
            if self.auth.method_name == "x509":
                # The TLS layer required and verified a certificate, but this ASGI
                # server does not say which: the method's identity stands.
                return await self.auth.identify(headers, scope.get("client"))
            raise AuthenticationError(
                "no client certificate: present your certificate (or VOMS proxy, with its "
                "chain) at the TLS handshake, over HTTPS",
                challenge=self.challenge(scope),
            )
        return certificate_identity(certificate, (tenant,))

    async def _password_holder(self, scope: Scope, request: TokenRequest) -> Identity:
        """Who a password of the users file names (method basic only)."""
        if self.auth.method_name != "basic":
            raise AuthenticationError(
                "this server takes no passwords: exchange the credentials of its method "
                f"({self.auth.method_name}) at {self.url(scope)}/v3/OS-FEDERATION/"
                "identity_providers/<idp>/protocols/<protocol>/auth",
                challenge=self.challenge(scope),
            )
        basic = f"{request.user}:{request.password}".encode()
        return await self.auth.identify(
            {"authorization": "Basic " + base64.b64encode(basic).decode("ascii")},
            scope.get("client"),
        )

    def _check_project(self, scope: Scope, request: TokenRequest, identity: Identity) -> None:
        if request.project is not None and request.project not in identity.tenants:
            raise self.auth.refused(
                _not_yours(request.project, identity.tenants), scope.get("client")
            )

    async def _token(
        self, scope: Scope, headers: Mapping[str, str], request: TokenRequest
    ) -> Response:
        client = scope.get("client")
        if request.method == "password":
            identity = await self._password_holder(scope, request)
            self._check_project(scope, request, identity)
            return self._issue(scope, identity, ["password"], project=request.project)
        value = request.token if request.token is not None else self._auth_token(headers)
        token = self.auth.issued(value, client)
        if request.project is not None and request.project not in token.projects:
            raise self.auth.refused(_not_yours(request.project, token.projects), client)
        try:
            issued, scoped = self.auth.tokens.rescope(token, request.project)
        except TokenRefusedError as refusal:
            raise AuthenticationError(refusal.reason, challenge=self.challenge(scope)) from None
        self._log(scoped, scope)
        return self._token_response(issued, scoped, scope)

    async def _v2_token(
        self, scope: Scope, headers: Mapping[str, str], request: TokenRequest
    ) -> Response:
        """v2.0's ``POST /tokens``: a token for a certificate, a password or a token,
        scoped to the tenant named (unscoped without one); 200 with the token in the body."""
        client = scope.get("client")
        if request.method == "token":
            token = self.auth.issued(request.token or "", client)
            if request.project is not None and request.project not in token.projects:
                raise self.auth.refused(_not_yours(request.project, token.projects), client)
            try:
                value, issued = self.auth.tokens.rescope(token, request.project)
            except TokenRefusedError as refusal:
                raise AuthenticationError(refusal.reason, challenge=self.challenge(scope)) from None
        else:
            if request.method == "voms":
                identity, methods = await self._certificate_holder(scope, headers), ["mapped"]
            else:
                identity, methods = await self._password_holder(scope, request), ["password"]
            self._check_project(scope, request, identity)
            value, issued = self._new_token(scope, identity, methods, project=request.project)
        self._log(issued, scope)
        return self._json(access_document(issued, value, self.origins.base_url(scope)))

    def _validation(self, scope: Scope, headers: Mapping[str, str]) -> Response:
        """``GET /v3/auth/tokens``: what the subject token says, to its own holder."""
        caller = self.auth.issued(self._auth_token(headers), scope.get("client"))
        subject = headers.get("x-subject-token")
        if not subject:
            raise HttpError(400, "send the token to look at as X-Subject-Token")
        try:
            token = self.auth.tokens.read(subject)
        except TokenRefusedError as refusal:  # to Keystone clients, an unknown token
            raise HttpError(404, f"the subject token is not valid: {refusal.reason}") from None
        if token.user != caller.user:
            raise HttpError(403, "a token may only be looked at by its own holder")
        return self._json(token_document(token, self.origins.base_url(scope)), 200)

    def _new_token(
        self, scope: Scope, identity: Identity, methods: list[str], *, project: str | None
    ) -> tuple[str, IssuedToken]:
        try:
            return self.auth.tokens.issue(
                user=identity.user,
                projects=identity.tenants,
                project=project,
                methods=methods,
                not_after=identity.expires_at,
            )
        except TokenRefusedError as refusal:
            raise AuthenticationError(refusal.reason, challenge=self.challenge(scope)) from None

    def _issue(
        self, scope: Scope, identity: Identity, methods: list[str], *, project: str | None
    ) -> Response:
        issued, token = self._new_token(scope, identity, methods, project=project)
        self._log(token, scope)
        return self._token_response(issued, token, scope)

    def _token_response(self, issued: str, token: IssuedToken, scope: Scope) -> Response:
        response = self._json(token_document(token, self.origins.base_url(scope)), 201)
        response.headers["x-subject-token"] = issued
        return response

    def _auth_token(self, headers: Mapping[str, str]) -> str:
        value = headers.get("x-auth-token")
        if not value:
            raise AuthenticationError("send a token of this server as X-Auth-Token", challenge="")
        return value

    @staticmethod
    def _log(token: IssuedToken, scope: Scope) -> None:
        client = scope.get("client")
        logger.info(
            "issued a %s token to %r (%s) for %s, audit id %s, expires in %.0f s",
            "scoped" if token.project is not None else "unscoped",
            token.user,
            "+".join(token.methods),
            client[0] if client else "an unknown address",
            token.audit_id,
            token.expires_at - token.issued_at,
        )

    # --- rendering ------------------------------------------------------------------------

    @staticmethod
    def _json(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(document).encode("utf-8")
        return Response(body, status_code=status, media_type=_JSON, headers=headers)

    def _error(self, error: Exception, scope: Scope) -> Response:
        status = status_of(error)
        if status == 500:
            logger.exception("unexpected error in the token endpoint", exc_info=error)
            message = "internal error; the server log has the details"
        else:
            message = error.message if isinstance(error, OcciError) else str(error)
        headers: dict[str, str] = {}
        if isinstance(error, HttpError):
            headers.update(error.headers)
        if status == 401:
            headers["www-authenticate"] = self.challenge(scope)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        return self._json(error_document(status, message), status, headers)


def _not_yours(project: str, projects: tuple[str, ...]) -> str:
    return f"project {project!r} is not one of yours; yours: {', '.join(projects) or 'none'}"

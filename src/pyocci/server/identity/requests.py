"""What a ``POST /v3/auth/tokens`` asks for: `TokenRequest`, read from its JSON body.

Keystone's body is ``{"auth": {"identity": {"methods": [...], <method>: {...}},
"scope": ...}}``. The endpoint takes two methods:

* ``token`` - ``{"token": {"id": "<a token this server issued>"}}`` (the
  ``X-Auth-Token`` header when ``id`` is left out): rescoping, the step every
  Keystone client takes after getting an unscoped token;
* ``password`` - ``{"password": {"user": {"name": ..., "password": ...}}}``:
  for method ``basic``, a password of the users file.

The scope is ``{"project": {"id": ...}}`` or ``{"project": {"name": ...,
"domain": ...}}`` (an id and a name are the same thing here), ``"unscoped"``,
or absent (unscoped). Anything else is a `BadRequestError` saying what to send.

The v2.0 API's ``POST /v2.0/tokens`` (`parse_v2_token_request`), which
jOCCI speaks and rOCCI-cli tries first for certificates, takes
``{"auth": {<credentials>, "tenantName": ...}}`` with ``"voms": true`` (the
TLS client certificate), ``"passwordCredentials": {"username", "password"}``
or ``"token": {"id": ...}``, and ``tenantName`` or ``tenantId`` to scope to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pyocci.service.errors import BadRequestError

__all__ = ["TokenRequest", "parse_token_request", "parse_v2_token_request"]

_METHODS = ("token", "password")


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """One request for a token."""

    #: ``token``, ``password``, or (v2.0) ``voms``: the TLS client certificate.
    method: str
    #: The token to rescope (method ``token``); None: the request's X-Auth-Token.
    token: str | None = None
    #: The user name and password (method ``password``).
    user: str | None = None
    password: str | None = None
    #: The project to scope to; None: unscoped.
    project: str | None = None


def parse_token_request(body: bytes) -> TokenRequest:
    """The request a body makes; BadRequestError naming what is wrong."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError(
            'the body is not JSON: send {"auth": {"identity": {...}, "scope": {...}}}'
        ) from None
    auth = _object(document, "auth", "the body")
    identity = _object(auth, "identity", "auth")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise BadRequestError('auth.identity.methods: a list of methods is needed, e.g. ["token"]')
    chosen = [method for method in methods if method in _METHODS]
    if len(chosen) != 1 or len(methods) != 1:
        raise BadRequestError(
            f"auth.identity.methods: this server takes one of {', '.join(_METHODS)}, got "
            f"{', '.join(map(repr, methods))}; exchange other credentials at "
            f"OS-FEDERATION/identity_providers/<idp>/protocols/<protocol>/auth"
        )
    project = _scope(auth.get("scope"))
    method = chosen[0]
    if method == "token":
        details = identity.get("token", {})
        if not isinstance(details, dict):
            raise BadRequestError("auth.identity.token: an object is needed")
        token = details.get("id")
        if token is not None and not isinstance(token, str):
            raise BadRequestError("auth.identity.token.id: a string is needed")
        return TokenRequest(method, token=token, project=project)
    user = _object(_object(identity, "password", "auth.identity"), "user", "auth.identity.password")
    name, password = user.get("name"), user.get("password")
    if not isinstance(name, str) or not name or not isinstance(password, str):
        raise BadRequestError("auth.identity.password.user: a name and a password are needed")
    return TokenRequest(method, user=name, password=password, project=project)


def parse_v2_token_request(body: bytes) -> TokenRequest:
    """The request a v2.0 body makes; BadRequestError naming what is wrong."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError(
            'the body is not JSON: send {"auth": {"passwordCredentials": {...}, '
            '"tenantName": "..."}}'
        ) from None
    auth = _object(document, "auth", "the body")
    project = auth.get("tenantName", auth.get("tenantId"))
    if project is not None and (not isinstance(project, str) or not project):
        raise BadRequestError("auth.tenantName: a tenant name is needed")
    if auth.get("voms") is True:
        return TokenRequest("voms", project=project)
    if "passwordCredentials" in auth:
        credentials = _object(auth, "passwordCredentials", "auth")
        name, password = credentials.get("username"), credentials.get("password")
        if not isinstance(name, str) or not name or not isinstance(password, str):
            raise BadRequestError("auth.passwordCredentials: a username and a password are needed")
        return TokenRequest("password", user=name, password=password, project=project)
    if "token" in auth:
        token = _object(auth, "token", "auth").get("id")
        if not isinstance(token, str) or not token:
            raise BadRequestError("auth.token.id: a token is needed")
        return TokenRequest("token", token=token, project=project)
    raise BadRequestError(
        'auth: send "passwordCredentials", "token" or "voms": true (with a client certificate)'
    )


def _object(container: Any, key: str, where: str) -> dict[str, Any]:
    value = container.get(key) if isinstance(container, dict) else None
    if not isinstance(value, dict):
        raise BadRequestError(f"{where}: an object {key!r} is needed")
    return value


def _scope(scope: Any) -> str | None:
    if scope is None or scope == "unscoped":
        return None
    if not isinstance(scope, dict) or set(scope) != {"project"}:
        raise BadRequestError(
            'auth.scope: this server scopes to projects only: {"project": {"id": "..."}}'
        )
    project = scope["project"]
    if not isinstance(project, dict):
        raise BadRequestError("auth.scope.project: an object with an id or a name is needed")
    value = project.get("id", project.get("name"))
    if not isinstance(value, str) or not value:
        raise BadRequestError("auth.scope.project: an id or a name is needed")
    return value

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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pyocci.service.errors import BadRequestError

__all__ = ["TokenRequest", "parse_token_request"]

_METHODS = ("token", "password")


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """One request for a token."""

    #: ``token`` or ``password``.
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

"""The tokens the Keystone-like handshake issues: `IssuedTokens`.

A token is a JWT signed with HMAC-SHA256 under the key of the handshake's
key file (`pyocci.server.auth.signing_key`). It says who it was issued to,
the tenants ("projects") that person may act for, the one it is scoped to
(none for an unscoped token), how its holder authenticated, when it was
issued and when it expires. So any worker, on any host reading the same key
file, checks a token without asking anyone and without storing it:

* unguessable: forging one means forging an HMAC-SHA256 under a 256-bit
  secret; each also carries 128 random bits (``jti``, Keystone's audit id);
* expiring: ``exp``, at most ``[auth] handshake_lifetime_seconds`` after issue
  and never after the credential it was exchanged for expires (a rescoped
  token keeps the expiry of the one it came from);
* bound to its user and tenant: both are signed claims;
* revocable all at once: a new key (``occi-server tokens revoke``) makes
  every token signed with the old one worthless. Single tokens cannot be
  revoked, the price of keeping no state: they are short-lived instead.

The claims are signed, not encrypted: the holder can read them, and they
hold nothing the holder does not know (their own name and tenants).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from pyocci.server.auth.base import RefusedError
from pyocci.server.auth.signing_key import SigningKey, SigningKeyFile

__all__ = [
    "ISSUER",
    "MAX_TOKEN_LENGTH",
    "VERIFIED_SIZE",
    "IssuedToken",
    "IssuedTokens",
    "TokenRefusedError",
]

#: The ``iss`` of issued tokens: they are occi-server's own.
ISSUER = "pyocci-handshake"
#: The longest token read: 64 tenants of long names fit well below.
MAX_TOKEN_LENGTH = 16384
#: How many verified tokens are remembered (about half a kilobyte each).
VERIFIED_SIZE = 4096
_ALGORITHM = "HS256"


class TokenRefusedError(RefusedError):
    """An issued token cannot be used; `reason` says why, for the client."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """What an issued token says."""

    #: Who it was issued to.
    user: str
    #: Every tenant its holder may act for (scope to).
    projects: tuple[str, ...]
    #: The tenant it is scoped to; None for an unscoped token.
    project: str | None
    #: How its holder authenticated: Keystone's method names (``oidc``, ``mapped``,
    #: ``password``, ``token`` ...).
    methods: tuple[str, ...]
    #: When it was issued and when it expires (seconds since the epoch).
    issued_at: float
    expires_at: float
    #: A random id of this token (Keystone's audit id): names it in logs, unguessable.
    audit_id: str


class IssuedTokens:
    """Issues and reads the handshake's tokens, under the key of a `SigningKeyFile`."""

    def __init__(
        self,
        keys: SigningKeyFile,
        *,
        lifetime: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.lifetime = lifetime
        self._clock = clock
        self._jwk: tuple[SigningKey, OctKey] | None = None
        # Verified tokens by SHA-256: the key id they were verified under, and what
        # they say; the least recently used go first.
        self._verified: OrderedDict[bytes, tuple[str, IssuedToken]] = OrderedDict()

    def issue(
        self,
        *,
        user: str,
        projects: Sequence[str],
        project: str | None,
        methods: Sequence[str],
        not_after: float | None = None,
    ) -> tuple[str, IssuedToken]:
        """A new token and what it says; it expires `lifetime` from now, or at
        `not_after` (when the credential it was exchanged for does) if that is sooner.
        TokenRefusedError when that is already past."""
        now = self._clock()
        expires = now + self.lifetime
        if not_after is not None:
            expires = min(expires, not_after)
        if expires <= now:
            raise TokenRefusedError("the credential has expired: get a new one")
        return self._sign(
            IssuedToken(
                user=user,
                projects=tuple(projects),
                project=project,
                methods=tuple(methods),
                issued_at=now,
                expires_at=expires,
                audit_id=secrets.token_urlsafe(16),
            )
        )

    def rescope(self, token: IssuedToken, project: str | None) -> tuple[str, IssuedToken]:
        """A token like `token`, scoped to `project` (one of its projects; None: unscoped),
        expiring when `token` does. TokenRefusedError when `project` is not one of them."""
        if project is not None and project not in token.projects:
            raise TokenRefusedError(
                f"project {project!r} is not one of yours; yours: {', '.join(token.projects)}"
            )
        now = self._clock()
        if token.expires_at <= now:
            raise TokenRefusedError("the token has expired: get a new one")
        return self._sign(
            IssuedToken(
                user=token.user,
                projects=token.projects,
                project=project,
                methods=_with(token.methods, "token"),
                issued_at=now,
                expires_at=token.expires_at,
                audit_id=secrets.token_urlsafe(16),
            )
        )

    def read(self, value: str) -> IssuedToken:
        """What a token says, once its signature and expiry are checked; TokenRefusedError.

        Clients send the same token with every request: a token verified before under
        the current key is remembered (by its hash) until it expires, which spares
        the signature check (a tenth of a millisecond) on all but the first.
        """
        value = value.strip()
        if not value or len(value) > MAX_TOKEN_LENGTH or not value.isascii():
            raise TokenRefusedError("malformed token")
        key, jwk = self._key()
        digest = hashlib.sha256(value.encode("ascii")).digest()
        known = self._verified.get(digest)
        if known is not None and known[0] == key.id:
            self._verified.move_to_end(digest)
            if known[1].expires_at > self._clock():
                return known[1]
            del self._verified[digest]
            raise TokenRefusedError("the token has expired: get a new one")
        try:
            header = jws.extract_compact(value.encode("ascii")).protected
        except (JoseError, ValueError, TypeError):
            raise TokenRefusedError("malformed token: not one this server issued") from None
        if not isinstance(header, dict) or header.get("alg") != _ALGORITHM:
            raise TokenRefusedError("malformed token: not one this server issued")
        if header.get("kid") != key.id:
            raise TokenRefusedError(
                "the token was signed with a key this server no longer uses (its tokens "
                "were revoked, or another server issued it): get a new one"
            )
        try:
            claims = jwt.decode(value, jwk, algorithms=[_ALGORITHM]).claims
        except (JoseError, ValueError, TypeError):
            raise TokenRefusedError("the token's signature is not valid") from None
        token = _token_of(claims)
        if token is None:
            raise TokenRefusedError("malformed token: not one this server issued")
        if token.expires_at <= self._clock():
            raise TokenRefusedError("the token has expired: get a new one")
        self._verified[digest] = (key.id, token)
        while len(self._verified) > VERIFIED_SIZE:
            self._verified.popitem(last=False)
        return token

    # ---

    def _key(self) -> tuple[SigningKey, OctKey]:
        key = self.keys.current()
        if self._jwk is None or self._jwk[0] != key:
            self._jwk = (key, OctKey.import_key(key.secret))
        return self._jwk

    def _sign(self, token: IssuedToken) -> tuple[str, IssuedToken]:
        key, jwk = self._key()
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": token.user,
            "iat": int(token.issued_at),
            "exp": token.expires_at,
            "jti": token.audit_id,
            "projects": list(token.projects),
            "methods": list(token.methods),
        }
        if token.project is not None:
            claims["project"] = token.project
        header = {"alg": _ALGORITHM, "kid": key.id}
        return jwt.encode(header, claims, jwk), token


def _with(methods: tuple[str, ...], method: str) -> tuple[str, ...]:
    return methods if method in methods else (*methods, method)


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def _token_of(claims: dict[str, Any]) -> IssuedToken | None:
    """The token the claims describe; None when they are not an issued token's."""
    user, project = claims.get("sub"), claims.get("project")
    issued, expires = claims.get("iat"), claims.get("exp")
    projects, methods = _strings(claims.get("projects")), _strings(claims.get("methods"))
    if (
        claims.get("iss") != ISSUER
        or not isinstance(user, str)
        or not (project is None or isinstance(project, str))
        or not isinstance(issued, int | float)
        or not isinstance(expires, int | float)
        or projects is None
        or methods is None
        or not isinstance(claims.get("jti"), str)
    ):
        return None
    return IssuedToken(
        user=user,
        projects=projects,
        project=project,
        methods=methods,
        issued_at=float(issued),
        expires_at=float(expires),
        audit_id=claims["jti"],
    )

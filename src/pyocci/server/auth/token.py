"""Method ``token`` - `TokenAuth`: bearer tokens (RFC 6750) from the users file.

The tokens are stored in the users file (``token = "sha256$..."``), generated
by ``occi-server user add --token``. A token names no user until it matches,
so wrong tokens are throttled per client address only (`FailureThrottle`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pyocci.backends.api import Tenant
from pyocci.server.auth.base import AuthenticationError, Authenticator, Client
from pyocci.server.auth.hashing import hash_token
from pyocci.server.auth.throttle import FailureThrottle, client_address
from pyocci.server.auth.users import User, UsersFile

__all__ = ["TokenAuth", "bearer_challenge"]

# RFC 6750's b64token, bounded: what a bearer token may look like on the wire.
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +(?P<token>[A-Za-z0-9\-._~+/]{1,4096}=*) *\Z")


def bearer_challenge(realm: str = "pyocci", error: str | None = None) -> str:
    """The ``WWW-Authenticate`` value of RFC 6750 bearer tokens for a realm."""
    escaped = realm.replace("\\", "\\\\").replace('"', '\\"')
    return f'Bearer realm="{escaped}"' + (f', error="{error}"' if error else "")


class TokenAuth(Authenticator):
    """Bearer tokens (RFC 6750) issued by ``occi-server user add --token``.

    Each user of the users file may hold one token, stored as a SHA-256 hash; a
    request's token is hashed and looked up. The file is re-read when it changes,
    so a new or revoked token takes effect at the next request.
    """

    def __init__(
        self, users_file: Path, *, realm: str = "pyocci", throttle: FailureThrottle | None = None
    ) -> None:
        self.users_file = Path(users_file)
        self._throttle = throttle if throttle is not None else FailureThrottle.disabled()
        self._challenge = bearer_challenge(realm)
        self._invalid = bearer_challenge(realm, "invalid_token")
        self._file = UsersFile(self.users_file)
        self._index: dict[str, User] = {}
        self._indexed_generation = -1

    @property
    def challenge(self) -> str:
        return self._challenge

    async def authenticate(self, headers: Mapping[str, str], client: Client = None) -> Tenant:
        value = headers.get("authorization")
        if value is None:
            raise AuthenticationError(
                "authentication required: send 'Authorization: Bearer <token>'",
                challenge=self._challenge,
            )
        match = _BEARER.match(value)
        if match is None:
            raise AuthenticationError(
                "malformed credentials: this server takes 'Authorization: Bearer <token>'",
                challenge=self._invalid,
            )
        with self._throttle.attempt(None, client_address(client)) as attempt:
            user = self._tokens().get(hash_token(match.group("token")))
            if user is None:
                attempt.failed()
                raise AuthenticationError("unknown or revoked token", challenge=self._invalid)
        return Tenant(id=user.tenant)

    def _tokens(self) -> dict[str, User]:
        users = self._file.current()
        if self._file.generation != self._indexed_generation:
            self._index = {
                user.token_hash: user for user in users.values() if user.token_hash is not None
            }
            self._indexed_generation = self._file.generation
        return self._index

"""The authentication interface: who is asking, and which tenant the request acts for.

The app calls `Authenticator.authenticate` with the request headers (names in
lower case) and the ASGI scope's ``client`` (the caller's address, which the
ASGI server has already taken from ``X-Forwarded-For`` when a trusted local
proxy sent it) before anything else, and gets a `Tenant`, or catches
`AuthenticationError` and answers 401 with ``WWW-Authenticate:
<error.challenge>`` and the error's message. Methods that check a secret also
throttle failures (`pyocci.server.auth.throttle`): past the limits they raise
`TooManyAttemptsError`, answered 429 with ``Retry-After``. Every entity and
user mixin belongs to a tenant; the tenant is all the rest of the server knows
of the caller.

The challenge travels with the error because it is what tells a client how
to authenticate (clients such as rOCCI-cli probe ``GET /-/`` without
credentials and read it).

Also here is the simplest method, ``none`` - `NoAuth`: every request acts for
one tenant (``[auth] tenant``, default ``default``). For development and
single-user sites behind something that already authenticates.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyocci.backends.api import Tenant
from pyocci.model.errors import OcciError

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "Authenticator",
    "Client",
    "Identity",
    "NoAuth",
    "RefusedError",
]

#: The ASGI scope's ``client``: ``(host, port)`` of the caller, or None when the
#: ASGI server does not know it.
Client = Sequence[Any] | None

# One logger for every method, named after the package.
logger = logging.getLogger("pyocci.server.auth")


# Longer Authorization values are refused before decoding: nobody's credentials are
# this long, and the server should not base64-decode megabytes for an attacker.
_MAX_CREDENTIALS = 4096


class RefusedError(Exception):
    """What a method's checks raise for a credential (or a part of one) they refuse:
    `reason` says why, for the client; the method turns it into its answer (401, 403)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthenticationError(OcciError):
    """The request carries no valid credentials: 401 with ``WWW-Authenticate: <challenge>``.

    The message is for the client and says what to send; it never tells an
    unknown user from a wrong password.
    """

    def __init__(self, message: str, *, challenge: str) -> None:
        super().__init__(message)
        self.challenge = challenge


class AccessDeniedError(OcciError):
    """The credentials were read and are valid, but grant nothing here (no mapping rule
    gives them a tenant), or came by a way this server does not take them: 403. The
    message says what was seen, so that its holder can ask for the right access."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a credential names and every tenant it may act for: what the Keystone-like
    handshake (`pyocci.server.auth.handshake`) exchanges for a token."""

    #: The user, as the method knows them (a user name, an OIDC ``sub``, a DN).
    user: str
    #: The tenants the credential may act for, the one a request gets first.
    tenants: tuple[str, ...]
    #: When the credential itself expires (seconds since the epoch); None: not known.
    expires_at: float | None = None


class Authenticator(ABC):
    """Turns request headers into the tenant the request acts for."""

    @property
    @abstractmethod
    def challenge(self) -> str | None:
        """The ``WWW-Authenticate`` value that tells clients how to authenticate
        (None for a method that never refuses)."""

    @abstractmethod
    async def authenticate(self, headers: Mapping[str, str], client: Client = None) -> Tenant:
        """The tenant of a request, from its headers (lower-case names) and, for the
        failure throttle, the caller's address (`client`, the ASGI scope's).

        Raises AuthenticationError when the credentials are missing, malformed or
        wrong, and TooManyAttemptsError when the user or the address failed too
        often recently (the credentials are then not checked at all).
        """

    async def identify(self, headers: Mapping[str, str], client: Client = None) -> Identity:
        """Who the credentials of a request name and every tenant they may act for; the
        same errors as `authenticate`. By default the one tenant `authenticate` gives,
        which also stands for the user; methods that know more say more."""
        tenant = await self.authenticate(headers, client)
        return Identity(user=tenant.name or tenant.id, tenants=(tenant.id,))

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release what the method holds (HTTP clients to an identity service); at shutdown."""


class NoAuth(Authenticator):
    """No authentication: every request acts for the one configured tenant."""

    def __init__(self, tenant: str = "default") -> None:
        self._tenant = Tenant(id=tenant)

    @property
    def challenge(self) -> None:
        return None

    async def authenticate(self, headers: Mapping[str, str], client: Client = None) -> Tenant:
        return self._tenant

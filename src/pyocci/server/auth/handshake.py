"""The Keystone-like handshake: the server's method, plus the tokens it issues.

With ``[auth] keystone_handshake = true`` the authenticator is a
`HandshakeAuth` around the configured method (``basic``, ``token``,
``x509`` or ``oidc``). A request with ``X-Auth-Token`` is checked as a token
the handshake issued (`pyocci.server.auth.issued`) and acts for the tenant
it is scoped to; any other request goes to the method as before. The token
endpoint (`pyocci.server.identity`) exchanges what the method accepts for
such tokens, through `HandshakeAuth.identify` and `HandshakeAuth.issued`.

Refused tokens count as failed logins for the failure throttle shared with
the method, per client address (a token names no user until it is read).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from pyocci.backends.api import Tenant
from pyocci.server.auth.base import (
    AuthenticationError,
    Authenticator,
    Client,
    Identity,
    logger,
)
from pyocci.server.auth.issued import IssuedToken, IssuedTokens, TokenRefusedError
from pyocci.server.auth.throttle import FailureThrottle, client_address

__all__ = ["HandshakeAuth"]


class HandshakeAuth(Authenticator):
    """A method (`method`, named `method_name` in the configuration) whose clients may
    also use the tokens of the Keystone-like handshake."""

    def __init__(
        self,
        method: Authenticator,
        tokens: IssuedTokens,
        *,
        method_name: str,
        throttle: FailureThrottle | None = None,
        certificate_tenant: str | None = None,
    ) -> None:
        self.method = method
        self.method_name = method_name
        self.tokens = tokens
        #: The tenant of certificate holders in the exchange (`pyocci.server.identity`):
        #: method x509's own, else ``[auth] handshake_certificate_tenant`` (None: no
        #: certificates are exchanged).
        self.certificate_tenant = certificate_tenant
        self._throttle = throttle if throttle is not None else FailureThrottle.disabled()

    @property
    def challenge(self) -> str | None:
        # The application answers 401s of the handshake with the Keystone challenge,
        # which names the token endpoint's URL as the request named the server.
        return self.method.challenge

    async def authenticate(self, headers: Mapping[str, str], client: Client = None) -> Tenant:
        value = headers.get("x-auth-token")
        if value is None:
            return await self.method.authenticate(headers, client)
        token = self.issued(value, client)
        if token.project is None:
            raise self._refusal(
                "the token is not scoped to a project: get a project-scoped token "
                "(POST /v3/auth/tokens with a project scope)"
            )
        return Tenant(id=token.project, name=token.project)

    async def identify(self, headers: Mapping[str, str], client: Client = None) -> Identity:
        """Who the method says the request's credentials name (not its issued tokens)."""
        return await self.method.identify(headers, client)

    def issued(self, value: str, client: Client = None) -> IssuedToken:
        """What an issued token says, checked as one throttled attempt of the client's
        address; AuthenticationError when it is refused, TooManyAttemptsError past the
        throttle's limits."""
        address = client_address(client)
        with self._throttle.attempt(None, address) as attempt:
            try:
                return self.tokens.read(value)
            except TokenRefusedError as refusal:
                attempt.failed()
                logger.info("issued token %s refused: %s", _fingerprint(value), refusal.reason)
                raise self._refusal(refusal.reason) from None

    def refused(self, reason: str, client: Client = None) -> AuthenticationError:
        """A refusal of the handshake (an unknown project, say), counted as a failed
        attempt of the client's address."""
        with self._throttle.attempt(None, client_address(client)) as attempt:
            attempt.failed()
        return self._refusal(reason)

    async def close(self) -> None:
        await self.method.close()

    def _refusal(self, reason: str) -> AuthenticationError:
        challenge = self.method.challenge or ""
        return AuthenticationError(reason, challenge=challenge)


def _fingerprint(token: str) -> str:
    """A short hash naming a token in the log without giving it away."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:12]

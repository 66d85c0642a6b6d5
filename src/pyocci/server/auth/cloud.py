"""Method ``cloud`` - `CloudAuth`: the cloud itself checks each caller's own credentials.

For sites whose users already have accounts on the cloud (an OpenNebula
user and password, or a login token), and which want OCCI to act as each
of them rather than through a service account: the caller sends HTTP basic
credentials, the backend asks its cloud whether they are good
(`pyocci.backends.api.Backend.check_caller`), and the `Tenant` it answers
carries them on (`Tenant.token`) so that every cloud call of the request is
made with them. Backends that cannot do this refuse the method at start.

Outcomes are kept like basic's (an HMAC of the secret under a per-process
key, never the secret), failed checks are throttled per user name and
address, and concurrent requests with the same credentials share one check.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping

from pyocci.backends.api import Tenant
from pyocci.server.auth.base import AuthenticationError, Authenticator, Client
from pyocci.server.auth.basic import basic_challenge, parse_basic_authorization
from pyocci.server.auth.hashing import _password_bytes
from pyocci.server.auth.outcomes import CheckedCredentials, TokenOutcome
from pyocci.server.auth.throttle import FailureThrottle, client_address

__all__ = ["CallerCheck", "CloudAuth"]

#: Asks the cloud about a user name and secret: the caller's tenant, or None when the
#: cloud refuses them (an error of the backend's when the cloud cannot be asked).
CallerCheck = Callable[[str, str], Awaitable[Tenant | None]]


class CloudAuth(Authenticator):
    """HTTP basic credentials checked by the backend's cloud (see the module)."""

    def __init__(
        self,
        check: CallerCheck,
        *,
        cloud: str,
        realm: str = "pyocci",
        cache_seconds: float = 60.0,
        cache_size: int = 1024,
        throttle: FailureThrottle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check = check
        self._cloud = cloud
        self._challenge = basic_challenge(realm)
        self._checked: CheckedCredentials[tuple[str, bytes]] = CheckedCredentials(
            seconds=cache_seconds, size=cache_size, clock=clock, throttle=throttle
        )
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache_secret = secrets.token_bytes(32)

    @property
    def challenge(self) -> str:
        return self._challenge

    async def authenticate(self, headers: Mapping[str, str], client: Client = None) -> Tenant:
        value = headers.get("authorization")
        if value is None:
            raise AuthenticationError(
                f"authentication required: send your {self._cloud} user name and password "
                "(or login token) as 'Authorization: Basic <base64 of user:password>'",
                challenge=self._challenge,
            )
        user_name, secret = parse_basic_authorization(value, challenge=self._challenge)
        address = client_address(client)
        key = (
            user_name,
            hmac.new(self._cache_secret, _password_bytes(secret), hashlib.sha256).digest(),
        )
        outcome = await self._checked.outcome(
            key, lambda: self._asked(user_name, secret), user=user_name, address=address
        )
        if outcome.tenant is None:
            raise AuthenticationError(outcome.reason, challenge=self._challenge)
        self._checked.throttle.succeeded(user_name, address)
        return outcome.tenant

    async def _asked(self, user_name: str, secret: str) -> TokenOutcome:
        """What the cloud says of the user name and secret (its being unavailable raises:
        a 503)."""
        return TokenOutcome(
            expires=self._clock() + self._cache_seconds,
            tenant=await self._check(user_name, secret),
            reason=f"{self._cloud} refused this user name and password",
        )

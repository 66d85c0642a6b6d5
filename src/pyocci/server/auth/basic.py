"""Method ``basic`` - `BasicAuth`: HTTP basic (RFC 7617) against the users file.

The users file (``[users.<name>] tenant = "...", password = "scrypt$..."``) is
managed with ``occi-server user add|remove|list``. It is re-read when it
changes, so adding a user needs no restart. Failed logins are throttled per
user name and per client address (`FailureThrottle`).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from anyio import CapacityLimiter

from pyocci.backends.api import Tenant
from pyocci.server.auth.base import (
    _MAX_CREDENTIALS,
    AuthenticationError,
    Authenticator,
    Client,
    Identity,
)
from pyocci.server.auth.flights import SingleFlight
from pyocci.server.auth.hashing import _b64decode, _password_bytes, hash_password, verify_password
from pyocci.server.auth.outcomes import OutcomeCache
from pyocci.server.auth.throttle import FailureThrottle, client_address
from pyocci.server.auth.users import _CONTROL, User, UsersFile

__all__ = ["BasicAuth", "basic_challenge", "parse_basic_authorization"]


def basic_challenge(realm: str = "pyocci") -> str:
    """The ``WWW-Authenticate`` value of HTTP basic for a realm."""
    escaped = realm.replace("\\", "\\\\").replace('"', '\\"')
    return f'Basic realm="{escaped}"'


def parse_basic_authorization(
    value: str, *, challenge: str = 'Basic realm="pyocci"'
) -> tuple[str, str]:
    """The user name and password of an ``Authorization: Basic`` value.

    Anything else - another scheme, bad base64, not UTF-8, no colon - raises
    AuthenticationError carrying `challenge`, never another exception.
    """

    def refuse(reason: str) -> AuthenticationError:
        return AuthenticationError(
            f"malformed credentials: {reason}; send 'Authorization: Basic "
            f"<base64 of user:password>'",
            challenge=challenge,
        )

    if not isinstance(value, str):
        raise refuse("the Authorization header is not text")
    if len(value) > _MAX_CREDENTIALS:
        raise refuse("the Authorization header is too long")
    words = value.split(None, 1)
    if not words or words[0].lower() != "basic":
        raise refuse("this server takes HTTP basic credentials only")
    token = words[1].strip() if len(words) > 1 else ""
    if not token:
        raise refuse("no credentials after 'Basic'")
    if not token.isascii():
        raise refuse("the credentials are not base64")
    try:
        decoded = _b64decode(token)
    except (binascii.Error, ValueError):
        raise refuse("the credentials are not base64") from None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("the credentials are not UTF-8") from None
    user, colon, password = text.partition(":")
    if not colon:
        raise refuse("the credentials have no ':' between user name and password")
    if not user:
        raise refuse("the user name is empty")
    if _CONTROL.search(user) or _CONTROL.search(password):
        raise refuse("the credentials contain control characters")
    return user, password


@dataclass(frozen=True, slots=True)
class _Verdict:
    expires: float
    #: The tenant of a successful verification; None for a failed one.
    tenant: str | None


class BasicAuth(Authenticator):
    """HTTP basic authentication against a users file of scrypt hashes (see `UsersFile`)."""

    def __init__(
        self,
        users_file: Path,
        *,
        realm: str = "pyocci",
        cache_seconds: float = 60.0,
        cache_size: int = 1024,
        hashing_threads: int = 4,
        throttle: FailureThrottle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users_file = Path(users_file)
        self._throttle = throttle if throttle is not None else FailureThrottle.disabled()
        # Concurrent requests with the same credentials share one verification.
        self._flights: SingleFlight[tuple[str, bytes], _Verdict] = SingleFlight()
        self._challenge = basic_challenge(realm)
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._clock = clock
        # scrypt takes ~16 MiB and ~50 ms per verification: run it off the event loop,
        # and only a few at once, so a burst of bad logins cannot exhaust memory.
        self._limiter = CapacityLimiter(hashing_threads)
        # The verification cache. Security trade-off: a request costs scrypt only the
        # first time a (user, password) pair is seen in `cache_seconds`, which is what
        # makes basic auth affordable per request. The cache is keyed by an HMAC of the
        # password under a random per-process key, so it holds no password and nothing
        # that exists outside this process; someone who can read this process's
        # memory could brute-force that fast HMAC more easily than scrypt, but could
        # equally read the passwords of incoming requests. Failures are cached too, so
        # a client retrying a wrong password does not make the server pay scrypt each
        # time; and the whole cache is dropped when the users file changes, so a
        # removed user or changed password takes effect at once, not after the TTL.
        self._cache: OutcomeCache[tuple[str, bytes], _Verdict] = OutcomeCache(
            seconds=self._cache_seconds, size=self._cache_size, clock=self._clock
        )
        self._cache_secret = secrets.token_bytes(32)
        # Verified against for unknown users, so that they cost the same time as known
        # ones and response times do not reveal which user names exist.
        self._decoy_hash: str | None = None
        self._file = UsersFile(self.users_file)
        self._cached_generation = self._file.generation

    @property
    def challenge(self) -> str:
        return self._challenge

    @property
    def users(self) -> Mapping[str, User]:
        """The users currently in force."""
        return dict(self._file.current())

    def _users(self) -> dict[str, User]:
        users = self._file.current()
        if self._file.generation != self._cached_generation:
            self._cache.clear()
            self._cached_generation = self._file.generation
        return users

    async def authenticate(self, headers: Mapping[str, str], client: Client = None) -> Tenant:
        value = headers.get("authorization")
        if value is None:
            raise AuthenticationError(
                "authentication required: send 'Authorization: Basic <base64 of user:password>'",
                challenge=self._challenge,
            )
        user_name, password = parse_basic_authorization(value, challenge=self._challenge)
        address = client_address(client)
        # Before the cache too: a remembered success must not answer a guess made
        # while the user or the address is locked.
        self._throttle.check(user_name, address)
        self._users()  # re-read a changed users file, forgetting what was remembered
        cache_key = (
            user_name,
            hmac.new(self._cache_secret, _password_bytes(password), hashlib.sha256).digest(),
        )
        # A remembered or shared verdict is not a new guess: only a verification
        # counts as an attempt (in `_verify`).
        verdict = self._cache.get(cache_key)
        if verdict is None:
            verdict, _ = await self._flights.run(
                cache_key, lambda: self._verify(user_name, password, address, cache_key)
            )
        if verdict.tenant is None:
            raise AuthenticationError("unknown user or wrong password", challenge=self._challenge)
        self._throttle.succeeded(user_name, address)
        return Tenant(id=verdict.tenant)

    async def identify(self, headers: Mapping[str, str], client: Client = None) -> Identity:
        tenant = await self.authenticate(headers, client)
        user_name, _ = parse_basic_authorization(headers["authorization"])
        return Identity(user=user_name, tenants=(tenant.id,))

    async def _verify(
        self, user_name: str, password: str, address: str | None, cache_key: tuple[str, bytes]
    ) -> _Verdict:
        """Check a password with scrypt (off the event loop), as one throttled attempt."""
        users = self._users()
        generation = self._file.generation
        with self._throttle.attempt(user_name, address) as attempt:
            user = users.get(user_name)
            if user is not None and user.password_hash is not None:
                stored = user.password_hash
            else:
                stored = await self._decoy()
            matched = await anyio.to_thread.run_sync(
                verify_password, password, stored, limiter=self._limiter
            )
            tenant = user.tenant if matched and user is not None else None
            verdict = _Verdict(self._clock() + self._cache_seconds, tenant)
            # A verification that straddled a reload is not cached.
            if generation == self._file.generation:
                self._cache.put(cache_key, verdict)
            if tenant is None:
                attempt.failed()
            return verdict

    async def _decoy(self) -> str:
        if self._decoy_hash is None:
            self._decoy_hash = await anyio.to_thread.run_sync(
                hash_password, secrets.token_hex(16), limiter=self._limiter
            )
        return self._decoy_hash

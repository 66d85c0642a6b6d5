"""What checking a credential decided, kept for a while: `OutcomeCache`; and the
sequence every method that asks a service about a credential follows: `CheckedCredentials`.

Checking a password hash or asking an identity service costs far more than
a request; clients send the same credential again and again. Each outcome
(accepted, with its tenant, or refused, with the reason) is kept until its
own `expires` (no later than the credential itself lives), for at most
`size` credentials, the least recently used dropped first.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from pyocci.backends.api import Tenant
from pyocci.backends.lookups import lookups
from pyocci.server.auth.base import Identity
from pyocci.server.auth.flights import SingleFlight
from pyocci.server.auth.throttle import FailureThrottle

_LOOKUPS = lookups("auth")


class Expiring(Protocol):
    """An outcome that may be reused until `expires` (on the cache's clock)."""

    @property
    def expires(self) -> float: ...


@dataclass(frozen=True, slots=True)
class TokenOutcome:
    """What checking a token decided: its tenant (None: refused, for `reason`)."""

    #: Until when (the cache's clock) this outcome may be reused.
    expires: float
    #: The tenant of an accepted token; None for a refused one.
    tenant: Tenant | None
    #: Why a refused token was refused.
    reason: str = ""
    #: Who an accepted token names and every tenant it may act for, for methods that
    #: know (the Keystone-like handshake exchanges it); None otherwise.
    identity: Identity | None = None
    #: Whether a refused credential is valid but grants nothing here (403, not 401).
    denied: bool = False


K = TypeVar("K", bound=Hashable)
V = TypeVar("V", bound=Expiring)


class OutcomeCache(Generic[K, V]):
    """Outcomes by credential (a hash of it, never the credential itself), each until its
    `expires`, at most `size` of them; nothing is kept when `seconds` or `size` is 0."""

    def __init__(self, *, seconds: float, size: int, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self._size = size
        self._clock = clock
        self._kept: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The outcome kept for `key`, if it has not expired."""
        outcome = self._kept.get(key)
        if outcome is None:
            _LOOKUPS.miss()
            return None
        if outcome.expires <= self._clock():
            del self._kept[key]
            _LOOKUPS.miss()
            return None
        self._kept.move_to_end(key)
        _LOOKUPS.hit()
        return outcome

    def put(self, key: K, outcome: V) -> None:
        """Keep an outcome (unless keeping is off), dropping the least recently used."""
        if self.seconds <= 0 or self._size <= 0:
            return
        self._kept[key] = outcome
        self._kept.move_to_end(key)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)

    def clear(self) -> None:
        """Forget every outcome (the credentials they were made from have changed)."""
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


class CheckedCredentials(Generic[K]):
    """Credentials checked by a service (Keystone, an OpenID Provider, the cloud), the
    outcomes kept in an `OutcomeCache` and failures counted by a `FailureThrottle`.

    The sequence: a locked user or address gets no answer about any credential; a kept
    outcome is the answer; otherwise concurrent requests with the same credential share
    one check (`SingleFlight`). Only a check by the service counts as an attempt (a kept
    or shared outcome is no new guess), and only its refusal as a failure: the service
    being unavailable raises, and counts as neither.
    """

    def __init__(
        self,
        *,
        seconds: float,
        size: int,
        clock: Callable[[], float],
        throttle: FailureThrottle | None = None,
    ) -> None:
        self.kept: OutcomeCache[K, TokenOutcome] = OutcomeCache(
            seconds=seconds, size=size, clock=clock
        )
        self.throttle = throttle if throttle is not None else FailureThrottle.disabled()
        self._flights: SingleFlight[K, TokenOutcome] = SingleFlight()

    async def outcome(
        self,
        key: K,
        check: Callable[[], Awaitable[TokenOutcome]],
        *,
        user: str | None = None,
        address: str | None = None,
    ) -> TokenOutcome:
        """What checking the credential behind `key` decided: kept, shared, or asked now
        with `check` (for `user`, from `address`, as the throttle counts them)."""
        self.throttle.check(user, address)
        outcome = self.kept.get(key)
        if outcome is None:
            outcome, _ = await self._flights.run(
                key, lambda: self._attempt(key, check, user, address)
            )
        return outcome

    async def _attempt(
        self,
        key: K,
        check: Callable[[], Awaitable[TokenOutcome]],
        user: str | None,
        address: str | None,
    ) -> TokenOutcome:
        with self.throttle.attempt(user, address) as attempt:
            outcome = await check()
            self.kept.put(key, outcome)
            if outcome.tenant is None:
                attempt.failed()
            return outcome


def tls_verification(ca: Path | None) -> ssl.SSLContext | bool:
    """What an identity service's certificate is checked against: the system's CAs, or
    those of `ca` (a file, or a directory of hashed certificates)."""
    if ca is None:
        return True
    if ca.is_dir():
        return ssl.create_default_context(capath=str(ca))
    return ssl.create_default_context(cafile=str(ca))

"""What checking a credential decided, kept for a while: `OutcomeCache`.

Checking a password hash or asking an identity service costs far more than
a request; clients send the same credential again and again. Each outcome
(accepted, with its tenant, or refused, with the reason) is kept until its
own `expires` (no later than the credential itself lives), for at most
`size` credentials, the least recently used dropped first.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from pyocci.backends.api import Tenant
from pyocci.backends.lookups import lookups
from pyocci.server.auth.base import Identity

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


def tls_verification(ca: Path | None) -> ssl.SSLContext | bool:
    """What an identity service's certificate is checked against: the system's CAs, or
    those of `ca` (a file, or a directory of hashed certificates)."""
    if ca is None:
        return True
    if ca.is_dir():
        return ssl.create_default_context(capath=str(ca))
    return ssl.create_default_context(cafile=str(ca))

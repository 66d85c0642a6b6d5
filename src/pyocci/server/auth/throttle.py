"""Failed-authentication throttling: 429 for a user name or a client address that failed too often.

Without a limit, a client can try passwords as fast as the server checks them.
`FailureThrottle` counts failed authentications per user name and per client
address; past a limit within a window, further attempts for that user or from
that address are refused with `TooManyAttemptsError` (429 with
``Retry-After``) *before* the credentials are looked at, so a throttled
request costs no password hashing and no identity-service round trip.

The per-user limit would let anyone lock a user out by failing on purpose. So
an address the user logged in from recently is *trusted* for that user: the
per-user limit does not apply there (the per-address limit still does). The
owner keeps working from where they work while someone else guesses at their
account from elsewhere. ``docs/auth.md`` explains the choice.

Everything is kept in this process's memory, in tables of bounded size (least
recently used entries go first), so an attacker rotating user names or
addresses cannot grow it without limit.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pyocci.model.errors import OcciError
from pyocci.server.auth.base import logger

__all__ = [
    "TRUSTED_SECONDS",
    "Attempt",
    "FailureThrottle",
    "TooManyAttemptsError",
    "client_address",
]

#: How long an address stays trusted for a user after the user's last login from it.
TRUSTED_SECONDS = 7 * 24 * 3600.0
#: Retry-After when the limit is taken by verifications still running: they end soon.
_IN_FLIGHT_RETRY_AFTER = 1
#: The longest user name quoted in a message or a log line.
_MAX_QUOTED = 64
#: Longer user names are remembered by their hash, so that names of kilobytes do not
#: multiply the memory the tables take.
_MAX_KEPT_NAME = 128


class TooManyAttemptsError(OcciError):
    """Too many failed authentications for a user or from an address: 429 with Retry-After."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def client_address(client: Sequence[Any] | None) -> str | None:
    """The address failures are counted under, from the ASGI scope's ``client``
    (``(host, port)``, or None when the server does not know it).

    An IPv6 address counts as its /64 network: one host commonly holds a whole
    /64, and per-address limits would mean nothing if each of its 2**64
    addresses had a budget of its own. An IPv4-mapped IPv6 address counts as the
    IPv4 address. A host that is not an IP address (a test client's name, a
    socket path) counts as itself.
    """
    if not client:
        return None
    host = client[0]
    if not isinstance(host, str) or not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:256]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A dictionary of bounded size that forgets its least recently used entries."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class _Failures:
    """The recent failures of one user name or one address."""

    #: Failures counted in the window that started at `since`.
    count: int = 0
    since: float = 0.0
    #: Verifications running now: they count against the limit until they end, so
    #: that a burst of concurrent guesses cannot all slip in before the first fails.
    in_flight: int = 0
    #: Until when attempts are refused; 0 when not locked.
    locked_until: float = 0.0

    def refresh(self, now: float, window: float) -> None:
        """Forget what has expired: a lock that ended (with the failures that caused
        it) and failures older than the window."""
        if self.locked_until and self.locked_until <= now:
            self.locked_until = 0.0
            self.count = 0
        if self.count and now - self.since >= window:
            self.count = 0


@dataclass(frozen=True, slots=True)
class _Limit:
    """One of the two limits: per user name, or per address."""

    table: _Lru[str, _Failures]
    maximum: int
    per_user: bool

    def what(self, shown: str, *, log: bool = False) -> str:
        """What is limited, for a message: "for user 'alice'", "from this address"
        (the client knows its address; the log names it)."""
        if self.per_user:
            return f"for user {_quoted(shown)}"
        return f"from {shown}" if log else "from this address"


class Attempt:
    """One verification of credentials, admitted by `FailureThrottle.attempt`.

    Call `failed` when the credentials are wrong; an attempt that ends otherwise
    (a success, an error of the identity service, a cancelled request) counts
    for nothing.
    """

    def __init__(
        self, throttle: FailureThrottle, entries: list[tuple[_Limit, str, str, _Failures]]
    ) -> None:
        self._throttle = throttle
        self._entries = entries
        self._open = True

    def failed(self) -> None:
        """Count this attempt as a failure: one for the user name, one for the address."""
        if not self._open:
            return
        self._open = False
        for limit, key, shown, entry in self._entries:
            entry.in_flight -= 1
            self._throttle._count_failure(limit, key, shown, entry)

    def _end(self) -> None:
        if not self._open:
            return
        self._open = False
        for *_, entry in self._entries:
            entry.in_flight -= 1


class FailureThrottle:
    """Counts failed authentications per user name and per client address, and
    refuses attempts past the limits with `TooManyAttemptsError`.

    A user name or an address with `max_failures_per_user` (or
    `max_failures_per_address`) failures within `window` seconds is locked for
    `lockout` seconds: its attempts are refused without being checked, and its
    count starts again when the lock ends. A limit of 0 turns that limit off.
    A successful login resets nothing (an attacker holding a valid account
    could otherwise wipe their own address's failures), but makes the address
    trusted for that user, exempt from the per-user limit.

    `size` bounds each of the tables (user names, addresses, trusted pairs).
    """

    def __init__(
        self,
        *,
        max_failures_per_user: int = 10,
        max_failures_per_address: int = 30,
        window: float = 300.0,
        lockout: float = 300.0,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window
        self._lockout = lockout
        self._clock = clock
        self._users = _Limit(_Lru(size), max_failures_per_user, per_user=True)
        self._by_address = _Limit(_Lru(size), max_failures_per_address, per_user=False)
        self._trusted: _Lru[tuple[str, str], float] = _Lru(size)

    @classmethod
    def disabled(cls) -> FailureThrottle:
        """A throttle that never refuses (both limits off)."""
        return cls(max_failures_per_user=0, max_failures_per_address=0, size=1)

    def check(self, user: str | None, address: str | None) -> None:
        """Raise `TooManyAttemptsError` if the user (unless trusted at `address`) or
        the address is locked. Cheap: call it before anything costly."""
        now = self._clock()
        for limit, key, shown in self._limits(user, address):
            entry = limit.table.get(key)
            if entry is not None:
                self._refuse_if_locked(limit, shown, entry, now)

    @contextmanager
    def attempt(self, user: str | None, address: str | None) -> Iterator[Attempt]:
        """Admit one verification of credentials, or raise `TooManyAttemptsError`
        when the user or the address is locked, or when the verifications running
        for it already fill what is left of its limit."""
        now = self._clock()
        entries: list[tuple[_Limit, str, str, _Failures]] = []
        for limit, key, shown in self._limits(user, address):
            entry = limit.table.get(key)
            if entry is None:
                entry = _Failures()
                limit.table.put(key, entry)
            self._refuse_if_locked(limit, shown, entry, now)
            if entry.count + entry.in_flight >= limit.maximum:
                raise TooManyAttemptsError(
                    f"too many authentication attempts at once {limit.what(shown)}; "
                    f"try again in {_IN_FLIGHT_RETRY_AFTER} s",
                    retry_after=_IN_FLIGHT_RETRY_AFTER,
                )
            entries.append((limit, key, shown, entry))
        for *_, entry in entries:
            entry.in_flight += 1
        attempt = Attempt(self, entries)
        try:
            yield attempt
        finally:
            attempt._end()

    def succeeded(self, user: str | None, address: str | None) -> None:
        """Record a successful login: `address` becomes trusted for `user`."""
        if user is not None and address is not None and self._users.maximum > 0:
            self._trusted.put((_user_key(user), address), self._clock() + TRUSTED_SECONDS)

    def trusted(self, user: str, address: str | None) -> bool:
        """Whether `user` logged in from `address` recently (exempt from the per-user limit)."""
        if address is None:
            return False
        expires = self._trusted.get((_user_key(user), address))
        return expires is not None and expires > self._clock()

    @property
    def sizes(self) -> tuple[int, int, int]:
        """How many user names, addresses and trusted pairs are remembered now."""
        return len(self._users.table), len(self._by_address.table), len(self._trusted)

    # ---

    def _limits(self, user: str | None, address: str | None) -> Iterator[tuple[_Limit, str, str]]:
        """The limits that apply to an attempt: each with the key of its table and
        the name its messages show."""
        if address is not None and self._by_address.maximum > 0:
            yield self._by_address, address, address
        if user is not None and self._users.maximum > 0 and not self.trusted(user, address):
            yield self._users, _user_key(user), user

    def _refuse_if_locked(self, limit: _Limit, shown: str, entry: _Failures, now: float) -> None:
        entry.refresh(now, self._window)
        if entry.locked_until > now:
            wait = max(1, math.ceil(entry.locked_until - now))
            raise TooManyAttemptsError(
                f"too many failed authentications {limit.what(shown)}; try again in {wait} s",
                retry_after=wait,
            )

    def _count_failure(self, limit: _Limit, key: str, shown: str, entry: _Failures) -> None:
        now = self._clock()
        entry.refresh(now, self._window)
        if entry.count == 0:
            entry.since = now
        entry.count += 1
        if entry.count >= limit.maximum and not entry.locked_until:
            entry.locked_until = now + self._lockout
            entry.count = 0
            # One line per lock, not per refused request: what an operator (or
            # fail2ban) watches for.
            logger.warning(
                "%d failed authentications %s within %g s: attempts refused for %g s",
                limit.maximum,
                limit.what(shown, log=True),
                self._window,
                self._lockout,
            )
        # Back in the table if a flood of other keys evicted it meanwhile.
        limit.table.put(key, entry)


def _user_key(user: str) -> str:
    if len(user) <= _MAX_KEPT_NAME:
        return user
    return "sha256:" + hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()


def _quoted(user: str) -> str:
    if len(user) > _MAX_QUOTED:
        user = user[:_MAX_QUOTED] + "..."
    return repr(user)

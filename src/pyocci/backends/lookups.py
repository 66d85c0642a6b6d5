"""Hits and misses of the caches that spare the cloud, the store and the CPU: `Lookups`.

A cache says, at each lookup, whether it answered from what it keeps (a
hit) or had to work it out (a miss), through the `Lookups` of its name
(`lookups("auth")`), one per name and process. Nothing is counted until
the server's metrics call `Lookups.count_with`; until then a lookup costs
a call that does nothing. The caches live in several layers (auth in the
server, tenant models in the service, template catalogues in backends),
so the counting lives here, below all of them, and knows nothing of how
the counts are kept.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["CACHES", "Lookups", "lookups"]

#: The caches that count their lookups, and what each keeps.
CACHES = {
    "auth": "what checking a credential decided (basic, keystone, oidc)",
    "model": "each tenant's categories (the catalog of discovery and parsing)",
    "entity": "rendered entities, while the backend says nothing changed",
    "templates": "a cloud's templates (images and sizes): ec2, openstack, opennebula",
}


def _nothing() -> None:
    return None


class Lookups:
    """The hit and miss counters of one cache; they do nothing until `count_with`."""

    __slots__ = ("cache", "hit", "miss")

    def __init__(self, cache: str) -> None:
        self.cache = cache
        #: Call when the cache answered from what it keeps.
        self.hit: Callable[[], None] = _nothing
        #: Call when the cache had no answer (or an expired one).
        self.miss: Callable[[], None] = _nothing

    def count_with(self, hit: Callable[[], None], miss: Callable[[], None]) -> None:
        """Count hits with `hit` and misses with `miss` from now on (for every instance
        of the cache in this process)."""
        self.hit = hit
        self.miss = miss

    def stop_counting(self) -> None:
        """Count nothing any more."""
        self.hit = self.miss = _nothing


_BY_CACHE: dict[str, Lookups] = {name: Lookups(name) for name in CACHES}


def lookups(cache: str) -> Lookups:
    """The lookups of the cache named `cache` (one of `CACHES`)."""
    return _BY_CACHE[cache]

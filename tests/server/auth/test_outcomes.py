"""`OutcomeCache`: outcomes kept until each expires, the least recently used dropped."""

from __future__ import annotations

from dataclasses import dataclass

from clocks import FakeClock
from pyocci.server.auth.outcomes import OutcomeCache


@dataclass(frozen=True)
class Outcome:
    expires: float
    tenant: str | None


def test_an_outcome_is_kept_until_it_expires() -> None:
    clock = FakeClock(100)
    cache: OutcomeCache[bytes, Outcome] = OutcomeCache(seconds=60, size=10, clock=clock)
    cache.put(b"a", Outcome(130, "t1"))
    clock.advance(29)
    assert cache.get(b"a") == Outcome(130, "t1")
    clock.advance(1)
    assert cache.get(b"a") is None
    assert len(cache) == 0


def test_the_least_recently_used_goes_first() -> None:
    cache: OutcomeCache[bytes, Outcome] = OutcomeCache(seconds=60, size=2, clock=FakeClock(0))
    cache.put(b"a", Outcome(60, "a"))
    cache.put(b"b", Outcome(60, "b"))
    assert cache.get(b"a") is not None  # a is now the most recently used
    cache.put(b"c", Outcome(60, "c"))
    assert cache.get(b"b") is None
    assert cache.get(b"a") is not None and cache.get(b"c") is not None


def test_nothing_is_kept_when_keeping_is_off() -> None:
    for seconds, size in ((0, 10), (60, 0)):
        cache: OutcomeCache[bytes, Outcome] = OutcomeCache(
            seconds=seconds, size=size, clock=FakeClock(0)
        )
        cache.put(b"a", Outcome(60, "a"))
        assert cache.get(b"a") is None


def test_clear_forgets_everything() -> None:
    cache: OutcomeCache[bytes, Outcome] = OutcomeCache(seconds=60, size=10, clock=FakeClock(0))
    cache.put(b"a", Outcome(60, None))
    cache.clear()
    assert cache.get(b"a") is None

"""Caches count hits and misses through `Lookups`, which count nothing until told how."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pyocci.backends.lookups import CACHES, Lookups, lookups


@pytest.fixture
def counted() -> Iterator[dict[str, int]]:
    counts = {"hit": 0, "miss": 0}

    def hit() -> None:
        counts["hit"] += 1

    def miss() -> None:
        counts["miss"] += 1

    watched = lookups("model")
    watched.count_with(hit, miss)
    try:
        yield counts
    finally:
        watched.stop_counting()


def test_every_cache_has_its_lookups() -> None:
    assert set(CACHES) == {"auth", "model", "entity", "templates"}
    assert all(lookups(name).cache == name for name in CACHES)
    assert lookups("auth") is lookups("auth")


def test_an_unknown_cache_is_a_mistake() -> None:
    with pytest.raises(KeyError):
        lookups("nope")


def test_nothing_is_counted_until_told_how() -> None:
    fresh = Lookups("x")
    fresh.hit()
    fresh.miss()  # nothing to observe, and nothing fails


def test_counts_go_where_count_with_says(counted: dict[str, int]) -> None:
    lookups("model").hit()
    lookups("model").hit()
    lookups("model").miss()
    assert counted == {"hit": 2, "miss": 1}


def test_stop_counting_counts_nothing_more(counted: dict[str, int]) -> None:
    lookups("model").stop_counting()
    lookups("model").hit()
    assert counted == {"hit": 0, "miss": 0}

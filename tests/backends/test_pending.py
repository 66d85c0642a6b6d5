"""`Pending`: templates followed until ready, asked about in one call at most once per
interval, bounded, expiring, kept as they are when the cloud does not answer."""

from __future__ import annotations

import pytest

from clocks import FakeClock
from pyocci.backends.errors import BackendUnavailableError
from pyocci.backends.pending import Looked, Pending, PendingByKey

pytestmark = pytest.mark.anyio


class Images:
    """The cloud's images by id and state ("ready", "pending", anything else is none),
    answering one call per look and recording what each asked about."""

    def __init__(self, **states: str) -> None:
        self.states = dict(states)
        self.asked: list[list[str]] = []
        self.failing = False

    async def __call__(self, image_ids: list[str]) -> Looked:
        self.asked.append(list(image_ids))
        if self.failing:
            raise BackendUnavailableError("the image service is down", retry_after=3)
        return Looked(
            ready={i: f"{i}-name" for i in image_ids if self.states.get(i) == "ready"},
            pending=[i for i in image_ids if self.states.get(i) == "pending"],
        )


async def test_ready_templates_are_answered_once_and_no_longer_followed() -> None:
    clock = FakeClock(0)
    pending = Pending(recheck_seconds=1, clock=clock)
    images = Images(a="pending", b="pending", c="pending")
    for name in "abc":
        pending.follow(name, f"saved {name}")
    assert await pending.ready(images) == {}
    assert images.asked == [["a", "b", "c"]]  # all of them in one call

    images.states.update(a="ready", b="failed")
    clock.now = 1
    assert await pending.ready(images) == {"a": "a-name"}
    # Ready or failed: no longer followed; still pending: followed.
    assert "a" not in pending and "b" not in pending and "c" in pending
    clock.now = 2
    await pending.ready(images)
    assert images.asked[-1] == ["c"]


async def test_the_cloud_is_asked_at_most_once_per_interval() -> None:
    clock = FakeClock(0)
    pending = Pending(recheck_seconds=1, clock=clock)
    images = Images(a="pending")
    assert await pending.ready(images) == {}
    assert images.asked == []  # nothing followed: nothing asked
    pending.follow("a")
    await pending.ready(images)
    clock.now = 0.5
    await pending.ready(images)
    assert len(images.asked) == 1
    # A template newly followed is asked about at the next look, whatever the interval.
    pending.follow("b")
    await pending.ready(images)
    assert images.asked[-1] == ["a", "b"]
    clock.now = 1.6
    await pending.ready(images)
    assert len(images.asked) == 3


async def test_the_name_followed_with_is_kept_when_the_cloud_gives_none() -> None:
    pending = Pending(recheck_seconds=0)

    async def nameless(image_ids: list[str]) -> Looked:
        return Looked(ready=dict.fromkeys(image_ids))

    pending.follow("a", "saved-a")
    assert await pending.ready(nameless) == {"a": "saved-a"}


async def test_followed_templates_are_bounded_and_expire() -> None:
    clock = FakeClock(0)
    pending = Pending(recheck_seconds=0, limit=2, lifetime=10, clock=clock)
    for name in "abc":
        pending.follow(name)
    # The oldest dropped first.
    assert len(pending) == 2 and "a" not in pending
    clock.now = 11
    pending.follow("d")
    images = Images(b="ready", c="ready", d="pending")
    assert await pending.ready(images) == {}
    # Followed too long: dropped before anything is asked.
    assert images.asked == [["d"]]
    assert len(pending) == 1


async def test_a_cloud_that_fails_to_answer_leaves_them_followed() -> None:
    clock = FakeClock(0)
    pending = Pending(recheck_seconds=1, clock=clock)
    images = Images(a="ready")
    images.failing = True
    pending.follow("a")
    assert await pending.ready(images) == {}
    assert "a" in pending
    images.failing = False
    clock.now = 1
    assert await pending.ready(images) == {"a": "a-name"}


async def test_templates_are_followed_per_key_for_a_bounded_number_of_keys() -> None:
    by_key = PendingByKey(keys=2, make=lambda: Pending(recheck_seconds=0))
    images = Images(a="ready", b="pending")
    by_key.follow("project-1", "a")
    by_key.follow("project-2", "b")
    assert await by_key.ready("project-2", images) == {}
    assert await by_key.ready("project-3", images) == {}  # nothing followed there
    assert await by_key.ready("project-1", images) == {"a": "a-name"}
    # project-1 follows nothing any more: dropped.
    assert by_key.get("project-1") is None and len(by_key) == 1
    by_key.follow("project-3", "b")
    by_key.follow("project-4", "b")
    # At most two keys: the least recently used (project-2) dropped first.
    assert len(by_key) == 2 and by_key.get("project-2") is None

"""`Expiring`: values kept for a TTL, read again after it, one read at a time."""

from __future__ import annotations

import anyio
import pytest

from clocks import FakeClock
from pyocci.backends.expiring import Expiring

pytestmark = pytest.mark.anyio


class Reader:
    """Counts reads and answers the count."""

    def __init__(self, pause: float = 0) -> None:
        self.reads = 0
        self.pause = pause

    async def __call__(self) -> int:
        self.reads += 1
        if self.pause:
            await anyio.sleep(self.pause)
        return self.reads


async def test_a_value_is_kept_until_the_ttl_then_read_again() -> None:
    clock, read = FakeClock(0), Reader()
    kept: Expiring[int] = Expiring(10, clock)
    assert kept.fresh() is None and kept.last() is None
    assert await kept.get(read) == 1
    clock.now = 9.9
    assert await kept.get(read) == 1
    clock.now = 10.0
    assert kept.fresh() is None
    assert kept.last() == 1
    assert await kept.get(read) == 2
    assert read.reads == 2


async def test_keys_are_kept_apart() -> None:
    clock, read = FakeClock(0), Reader()
    kept: Expiring[int] = Expiring(10, clock)
    assert await kept.get(read, "alpha") == 1
    assert await kept.get(read, "beta") == 2
    assert await kept.get(read, "alpha") == 1
    assert kept.last() is None


async def test_requests_during_a_read_wait_for_it() -> None:
    read = Reader(pause=0.05)
    kept: Expiring[int] = Expiring(60)
    results: list[int] = []

    async def ask() -> None:
        results.append(await kept.get(read))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(ask)
    assert results == [1] * 5
    assert read.reads == 1


async def test_a_failed_read_keeps_nothing() -> None:
    kept: Expiring[int] = Expiring(60)

    async def failing() -> int:
        raise RuntimeError("cloud down")

    with pytest.raises(RuntimeError):
        await kept.get(failing)
    assert kept.last() is None
    assert await kept.get(Reader()) == 1


async def test_values_are_kept_for_at_most_max_keys_keys_the_oldest_read_dropped():
    clock = FakeClock(0)
    kept: Expiring[str] = Expiring(60, clock, max_keys=2)

    async def value_of(key: str) -> str:
        async def read() -> str:
            return f"offer of {key}"

        return await kept.get(read, key)

    await value_of("project-a")
    await value_of("project-b")
    clock.now += 61
    await value_of("project-a")  # expired: read again
    await value_of("project-c")
    # project-b was read longest ago (project-a was read again since): it went.
    assert kept.last("project-b") is None
    assert kept.last("project-a") == "offer of project-a"
    assert kept.last("project-c") == "offer of project-c"

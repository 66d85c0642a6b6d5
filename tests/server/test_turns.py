"""Listings take turns: however many stream, a small request waits a few steps at most."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from pyocci.server.turns import Turns

pytestmark = pytest.mark.anyio


async def batches(count: int, size: int) -> AsyncIterator[list[int]]:
    for number in range(count):
        yield list(range(number * size, (number + 1) * size))


async def test_every_entity_is_written_once_in_order() -> None:
    turns = Turns(at_once=2, entities_per_step=7)
    written: list[int] = []

    def write(items: list[int]) -> bytes:
        written.extend(items)
        return b"x" * len(items)

    chunks = [chunk async for chunk in turns.rendered(batches(4, 30), write)]
    assert written == list(range(120))
    assert sum(len(c) for c in chunks) == 120
    assert max(len(c) for c in chunks) <= 7


async def test_a_small_request_waits_for_a_few_steps_not_for_every_listing() -> None:
    at_once = 2
    turns = Turns(at_once=at_once, entities_per_step=10)
    steps = 0

    def write(items: list[int]) -> bytes:
        nonlocal steps
        steps += 1
        return b"x"

    async def listing() -> None:
        async for _ in turns.rendered(batches(20, 100), write):
            pass

    listings = [asyncio.create_task(listing()) for _ in range(50)]
    total = 50 * 20 * 100 // 10
    await asyncio.sleep(0.01)  # all fifty under way
    assert steps < total, "the listings ended before the probes: nothing was measured"
    waited = []
    for _ in range(20):
        before = steps
        await asyncio.sleep(0)  # a small request's one pass of the loop
        waited.append(steps - before)
    # Every listing still ends: no turn is lost.
    await asyncio.wait_for(asyncio.gather(*listings), timeout=60)
    assert steps == total
    # Without turns every one of the fifty listings would step in each pass.
    assert max(waited) <= at_once, waited


async def test_a_start_step_is_a_turn_too() -> None:
    turns = Turns(at_once=1)
    async with turns.step():
        waiting = asyncio.create_task(anext(turns.rendered(batches(1, 1), lambda i: b"x")))
        await asyncio.sleep(0.01)
        assert not waiting.done()
    assert await waiting == b"x"


async def test_a_listing_waiting_for_its_cloud_holds_no_turn() -> None:
    turns = Turns(at_once=1)
    cloud_answers = asyncio.Event()

    async def slow_cloud() -> AsyncIterator[list[int]]:
        await cloud_answers.wait()
        yield [1]

    async def drain(source: AsyncIterator[list[int]]) -> None:
        async for _ in turns.rendered(source, lambda i: b"x", fetch_in_turn=False):
            pass

    waiting = asyncio.create_task(drain(slow_cloud()))
    await asyncio.sleep(0.01)
    # The only turn is free while the first listing waits: another one runs to its end.
    await asyncio.wait_for(drain(batches(3, 10)), timeout=10)
    cloud_answers.set()
    await asyncio.wait_for(waiting, timeout=10)

"""Concurrent checks of the same credentials share one computation."""

from __future__ import annotations

import anyio
import pytest

from pyocci.server.auth.flights import SingleFlight

pytestmark = pytest.mark.anyio


async def test_concurrent_callers_share_one_computation() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    started = 0
    release = anyio.Event()
    outcomes: list[tuple[int, bool]] = []

    async def compute() -> int:
        nonlocal started
        started += 1
        await release.wait()
        return 42

    async def call() -> None:
        outcomes.append(await flights.run("alice", compute))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(call)
            await anyio.wait_all_tasks_blocked()
            release.set()
    assert started == 1
    assert sorted(outcomes) == [(42, False)] * 9 + [(42, True)]
    assert not flights._flights  # nothing kept once done


async def test_different_keys_compute_apart_and_later_calls_compute_again() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    calls: list[str] = []

    async def compute(key: str) -> str:
        calls.append(key)
        await anyio.sleep(0)
        return key.upper()

    async with anyio.create_task_group() as group:
        for key in ("a", "b"):
            group.start_soon(flights.run, key, lambda key=key: compute(key))
    assert sorted(calls) == ["a", "b"]
    assert await flights.run("a", lambda: compute("a")) == ("A", True)
    assert calls.count("a") == 2


async def test_the_error_reaches_every_caller_that_shared_it() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    release = anyio.Event()
    errors: list[str] = []

    async def compute() -> int:
        await release.wait()
        raise LookupError("identity service down")

    async def call() -> None:
        try:
            await flights.run("k", compute)
        except LookupError as error:
            errors.append(str(error))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(call)
            await anyio.wait_all_tasks_blocked()
            release.set()
    assert errors == ["identity service down"] * 3
    assert not flights._flights


async def test_a_waiter_takes_over_when_the_computation_is_cancelled() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    runs = 0

    async def compute() -> int:
        nonlocal runs
        runs += 1
        if runs == 1:
            await anyio.sleep_forever()  # the first request went away mid-check
        return 7

    results: list[tuple[int, bool]] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as outer, anyio.create_task_group() as first:
            first.start_soon(flights.run, "k", compute)
            await anyio.wait_all_tasks_blocked()

            async def waiter() -> None:
                results.append(await flights.run("k", compute))

            outer.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            first.cancel_scope.cancel()
    assert runs == 2
    assert results == [(7, True)]

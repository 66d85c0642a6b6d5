"""The cloud deadline: a silent cloud is given up on, one that keeps answering is not.

The waits here are bounded by `anyio.fail_after` (the test fails instead of
hanging); no test measures how fast anything is.
"""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from pyocci.backends.deadline import CloudDeadlineError, cloud_answered, within_deadline
from pyocci.backends.sim import SimBackend
from pyocci.model import standard_model

pytestmark = pytest.mark.anyio

#: Far past every deadline below: only a wait without end reaches it.
BOUND = 20


async def test_silence_past_the_deadline_is_a_503_saying_what_waited() -> None:
    with (
        anyio.fail_after(BOUND),
        pytest.raises(CloudDeadlineError) as raised,
        within_deadline(0.2, "creating the entity", retry_after=7),
    ):
        await anyio.sleep(BOUND * 2)
    assert raised.value.retry_after == 7
    assert "did not answer within 0.2 s while creating the entity" in str(raised.value)


async def test_each_answer_gives_the_cloud_the_whole_deadline_again() -> None:
    # Six answers 0.3 s apart: nearly two deadlines in all, never one of silence.
    with anyio.fail_after(BOUND), within_deadline(1.0, "polling"):
        for _ in range(6):
            await anyio.sleep(0.3)
            cloud_answered()


async def test_a_block_that_ends_in_time_answers_and_an_answer_outside_one_is_harmless() -> None:
    with within_deadline(5, "reading"):
        result = 42
    assert result == 42
    cloud_answered()  # no deadline running: nothing to renew


async def test_errors_of_the_block_pass_through() -> None:
    with pytest.raises(KeyError), within_deadline(5, "reading"):
        raise KeyError("mine")


@pytest.fixture
def backend(tmp_path) -> SimBackend:
    # Any backend: run_blocking is the base class's.
    from pyocci.store import Database

    return SimBackend(model=standard_model(), database=Database(f"sqlite:///{tmp_path}/s.db"))


async def test_a_blocking_call_is_abandoned_at_the_deadline_not_waited_for(backend) -> None:
    finished = threading.Event()

    def hung_call() -> None:
        time.sleep(3)
        finished.set()

    with (
        anyio.fail_after(BOUND),
        pytest.raises(CloudDeadlineError),
        within_deadline(0.3, "reading"),
    ):
        await backend.run_blocking(hung_call)
    # Answered while the call still runs in its thread.
    assert not finished.is_set()


async def test_each_blocking_call_that_returns_renews_the_deadline(backend) -> None:
    with anyio.fail_after(BOUND), within_deadline(1.0, "polling"):
        for _ in range(6):
            await backend.run_blocking(time.sleep, 0.3)


async def test_abandoned_calls_never_exceed_the_thread_cap(tmp_path) -> None:
    from pyocci.store import Database

    capped = SimBackend(
        model=standard_model(),
        database=Database(f"sqlite:///{tmp_path}/c.db"),
        blocking_threads=2,
    )
    running = 0
    most = 0
    lock = threading.Lock()

    def hung_call() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.5)
        with lock:
            running -= 1

    with anyio.fail_after(BOUND):
        for _ in range(10):
            with pytest.raises(CloudDeadlineError), within_deadline(0.05, "reading"):
                await capped.run_blocking(hung_call)
    # Ten calls given up on, one after the other: never more than two threads at once.
    assert most <= 2

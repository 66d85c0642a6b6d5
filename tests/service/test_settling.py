"""Reading an entity back until a write shows (`pyocci.service.settling`), on a clock the
test moves: time passes only when the reads pause (and, where said, while a read runs)."""

from __future__ import annotations

import pytest

from clocks import FakeClock
from pyocci.backends.errors import BackendUnavailableError, EntityNotFoundError
from pyocci.model.entity import Entity, Resource
from pyocci.service.settling import LONGEST_PAUSE, Settling

pytestmark = pytest.mark.anyio

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Cloud:
    """Reads that answer as a script says ("found", "missing", "failing"), then `then`;
    each read takes `read_seconds` of the clock."""

    def __init__(self, clock: FakeClock, *answers: str, then: str, read_seconds: float = 0) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.then = then
        self.read_seconds = read_seconds
        self.reads = 0
        self.entity = Resource(kind=COMPUTE, attributes={"occi.core.id": "c1"})

    async def read(self) -> Entity:
        self.reads += 1
        self.clock.now += self.read_seconds
        answer = self.answers.pop(0) if self.answers else self.then
        if answer == "missing":
            raise EntityNotFoundError("no compute c1")
        if answer == "failing":
            raise BackendUnavailableError("the cloud did not answer in time")
        return self.entity


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(0)


def settling(clock: FakeClock, wait: float) -> Settling:
    return Settling(wait=wait, clock=clock, sleep=clock.asleep)


async def test_a_create_is_read_back_until_the_cloud_shows_it(clock: FakeClock) -> None:
    cloud = Cloud(clock, "missing", "missing", then="found")
    waiting = settling(clock, 30)
    assert await waiting.until_present(cloud.read, waiting.deadline()) is cloud.entity
    assert cloud.reads == 3


async def test_a_create_the_cloud_never_shows_is_not_done_when_the_wait_ends(
    clock: FakeClock,
) -> None:
    cloud = Cloud(clock, then="missing")
    waiting = settling(clock, 10)
    assert await waiting.until_present(cloud.read, waiting.deadline()) is None
    assert clock.now == pytest.approx(10)


async def test_a_delete_is_read_back_until_the_cloud_no_longer_has_it(clock: FakeClock) -> None:
    cloud = Cloud(clock, "found", "found", "found", then="missing")
    waiting = settling(clock, 30)
    assert await waiting.until_gone(cloud.read, cloud.entity, waiting.deadline()) is None
    assert cloud.reads == 4


async def test_a_delete_still_in_progress_at_the_end_gives_the_entity_as_last_read(
    clock: FakeClock,
) -> None:
    cloud = Cloud(clock, then="found")
    asked = Resource(kind=COMPUTE, attributes={"occi.core.id": "c1"})
    waiting = settling(clock, 5)
    assert await waiting.until_gone(cloud.read, asked, waiting.deadline()) is cloud.entity


async def test_failed_reads_never_make_a_write_fail(clock: FakeClock) -> None:
    # A create the cloud answered: a read back that times out is not done yet, not an error.
    cloud = Cloud(clock, "failing", "failing", then="found")
    waiting = settling(clock, 30)
    assert await waiting.until_present(cloud.read, waiting.deadline()) is cloud.entity
    # A delete whose reads all fail is not known to be done: the entity as it was.
    cloud = Cloud(clock, then="failing")
    asked = Resource(kind=COMPUTE, attributes={"occi.core.id": "c1"})
    assert await waiting.until_gone(cloud.read, asked, waiting.deadline()) is asked


async def test_one_deadline_is_shared_by_every_entity_of_a_request(clock: FakeClock) -> None:
    waiting = settling(clock, 10)
    ends = waiting.deadline()
    first = Cloud(clock, then="found")
    assert await waiting.until_gone(first.read, first.entity, ends) is first.entity
    # The wait is spent: the next entity is read once, not waited for again.
    second = Cloud(clock, then="found")
    assert await waiting.until_gone(second.read, second.entity, ends) is second.entity
    assert second.reads == 1
    assert clock.now == pytest.approx(10)


async def test_no_wait_reads_exactly_once(clock: FakeClock) -> None:
    cloud = Cloud(clock, then="found")
    waiting = settling(clock, 0)
    assert await waiting.until_gone(cloud.read, cloud.entity, waiting.deadline()) is cloud.entity
    assert cloud.reads == 1


async def test_the_pauses_grow_so_a_long_wait_costs_few_reads(clock: FakeClock) -> None:
    cloud = Cloud(clock, then="found", read_seconds=0.5)
    waiting = settling(clock, 30)
    assert await waiting.until_gone(cloud.read, cloud.entity, waiting.deadline()) is cloud.entity
    assert clock.pauses == sorted(clock.pauses[:-1]) + clock.pauses[-1:]
    assert max(clock.pauses) <= LONGEST_PAUSE
    # Growing pauses up to a second, and each read's own time: about 20 reads in 30 s.
    assert cloud.reads < 30

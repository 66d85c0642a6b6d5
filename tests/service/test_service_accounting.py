"""Accounting at the service: each change the service makes to a compute is recorded, at
the instant a controlled clock tells, over the memory backend and a real SQLite store."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from service_driver import (
    COMPUTE_ID,
    DEBIAN,
    STORAGE_ID,
    UBUNTU,
    ServiceDriver,
    memory_service,
    new_tenant,
)

from clocks import FakeClock
from pyocci.backends.api import Query, Tenant
from pyocci.backends.riders import entity_changed, riding
from pyocci.model import standard_model
from pyocci.model.entity import Resource
from pyocci.model.errors import OcciError
from pyocci.model.extensions import CRTP_SCHEME
from pyocci.model.infrastructure import USER_DATA
from pyocci.service.accounting import UsageRecorder, observation_of
from pyocci.service.occi import OcciService
from pyocci.store import Database
from pyocci.store.errors import StoreUnavailableError
from pyocci.store.mixins import MixinRepository
from pyocci.store.usage import Change, Interval, Observation, UsageRepository

pytestmark = pytest.mark.anyio

SMALL = CRTP_SCHEME + "small"
LARGE = CRTP_SCHEME + "large"
T0 = 1_800_000_000.0
_COMPUTES = Query(kinds=(COMPUTE_ID,))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    db.upgrade()
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def occi(database: Database, clock: FakeClock) -> ServiceDriver:
    recorder = UsageRecorder(UsageRepository(database), database, clock=clock)
    return ServiceDriver(
        memory_service(database, usage=recorder), Tenant("t-acct", "Team Accounting")
    )


async def test_a_computes_life_is_recorded_change_by_change(
    occi: ServiceDriver, database: Database, clock: FakeClock
) -> None:
    compute = await occi.create(Resource(kind=COMPUTE_ID, mixins=[DEBIAN, SMALL]))
    location = compute.location or ""
    small = (compute.attributes["occi.compute.cores"], compute.attributes["occi.compute.memory"])
    clock.advance(100)
    await occi.trigger(location, "stop")
    clock.advance(50)
    await occi.trigger(location, "start")
    clock.advance(30)
    await occi.trigger(location, "suspend")
    clock.advance(20)
    await occi.trigger(location, "start")
    clock.advance(10)
    resized = await occi.update(location, Resource(kind=None, mixins=[LARGE, UBUNTU]))
    large = (resized.attributes["occi.compute.cores"], resized.attributes["occi.compute.memory"])
    assert large != small
    clock.advance(40)
    await occi.delete(location)

    [life] = UsageRepository(database).usage(T0 - 1, T0 + 1000)
    assert (life.tenant_id, life.tenant_name, life.entity_id) == (
        "t-acct",
        "Team Accounting",
        compute.id,
    )
    assert (life.created_at, life.deleted_at) == (T0, T0 + 250)
    disk = compute.attributes["occi.compute.ephemeral_storage.size"]
    was = Observation("active", cores=small[0], memory=small[1], disk=disk, image=DEBIAN)
    stopped = Observation("inactive", cores=small[0], memory=small[1], disk=disk, image=DEBIAN)
    suspended = Observation("suspended", cores=small[0], memory=small[1], disk=disk, image=DEBIAN)
    after = Observation(
        "active",
        cores=large[0],
        memory=large[1],
        disk=resized.attributes.get("occi.compute.ephemeral_storage.size"),
        image=UBUNTU,
    )
    assert life.intervals == (
        Interval(was, T0, T0 + 100),
        Interval(stopped, T0 + 100, T0 + 150),
        Interval(was, T0 + 150, T0 + 180),
        Interval(suspended, T0 + 180, T0 + 200),
        Interval(was, T0 + 200, T0 + 210),
        Interval(after, T0 + 210, T0 + 250),
    )


async def test_computes_a_failed_multi_create_deleted_again_were_used_meanwhile(
    occi: ServiceDriver, database: Database
) -> None:
    # Valid for the model; the cloud refuses user data that is not base64.
    refused_by_cloud = Resource(
        kind=COMPUTE_ID, mixins=[USER_DATA.id], attributes={"occi.compute.userdata": "!!"}
    )
    with pytest.raises(OcciError, match="were deleted again"):
        await occi.create_all(COMPUTE_ID, [Resource(kind=COMPUTE_ID), refused_by_cloud])
    [life] = UsageRepository(database).usage(0, T0 * 2)
    assert (life.created_at, life.deleted_at) == (T0, T0)
    assert [i.observation.state for i in life.intervals] == ["active"]


async def test_what_is_not_a_compute_is_not_recorded(
    occi: ServiceDriver, database: Database
) -> None:
    storage = await occi.storage(size=5.0)
    await occi.delete(storage.location or "")
    assert UsageRepository(database).usage(0, T0 * 2) == []


async def test_an_action_already_done_records_nothing_new(
    occi: ServiceDriver, database: Database, clock: FakeClock
) -> None:
    compute = await occi.compute()
    clock.advance(60)
    await occi.trigger(compute.location or "", "start")  # active already: a no-op
    [life] = UsageRepository(database).usage(0, T0 * 2)
    assert [i.started_at for i in life.intervals] == [T0]


async def test_a_failing_store_does_not_fail_the_change(
    database: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Unavailable(UsageRepository):
        """The store refusing every write, as a full disk makes it."""

        def observe_in(self, *args: object, **kwargs: object) -> None:
            raise StoreUnavailableError("the disk is full")

    recorder = UsageRecorder(Unavailable(database), database, clock=clock)
    occi = ServiceDriver(memory_service(database, usage=recorder), new_tenant())
    compute = await occi.compute()
    stopped = (await occi.trigger(compute.location or "", "stop")).entity
    assert stopped.attributes["occi.compute.state"] == "inactive"
    assert "was not recorded" in caplog.text and "the disk is full" in caplog.text


def test_a_passing_state_counts_as_the_state_the_change_leads_to() -> None:
    model = standard_model()
    waiting = Resource(
        kind=COMPUTE_ID, attributes={"occi.compute.state": "waiting", "occi.compute.cores": 2}
    )
    assert observation_of(model, waiting, "inactive").state == "inactive"
    assert observation_of(model, waiting).state == "waiting"
    odd = Resource(kind=COMPUTE_ID, attributes={"occi.compute.cores": True})
    assert observation_of(model, odd) == Observation("inactive")


@contextlib.asynccontextmanager
async def _on_the_sim(
    database: Database, usage: UsageRecorder | None, clock: FakeClock, **settings: Any
) -> AsyncIterator[ServiceDriver]:
    """A service over the sim, on the same database as its accounting."""
    from pyocci.backends.sim.backend import SimBackend
    from pyocci.backends.sim.settings import SimSettings

    standard = standard_model()
    sim = SimBackend(
        model=standard, database=database, settings=SimSettings(**settings), clock=clock
    )
    await sim.open()
    try:
        service = OcciService(
            standard=standard,
            backend=sim,
            store=MixinRepository(database),
            runner=database,
            usage=usage,
        )
        yield ServiceDriver(service, new_tenant())
    finally:
        await sim.close()


async def test_changes_the_cloud_is_still_making_count_as_where_they_lead(
    database: Database, clock: FakeClock
) -> None:
    """The sim with timed transitions: a create and a stop show ``waiting`` for a minute;
    the stop is not counted as running during it, nor the create as stopped."""
    recorder = UsageRecorder(UsageRepository(database), database, clock=clock)
    async with _on_the_sim(database, recorder, clock, transition_seconds=60.0) as occi:
        compute = await occi.compute()
        assert compute.attributes["occi.compute.state"] == "waiting"
        clock.advance(120)  # the create is done
        stopping = (await occi.trigger(compute.location or "", "stop")).entity
        assert stopping.attributes["occi.compute.state"] == "waiting"
    [life] = UsageRepository(database).usage(0, T0 * 2)
    assert [(i.observation.state, i.started_at) for i in life.intervals] == [
        ("active", T0),
        ("inactive", T0 + 120),
    ]


async def _commits_of_a_life(occi: ServiceDriver, commits: list[int]) -> list[int]:
    """How many transactions a create, a stop, a title update and the delete of a compute
    each committed."""
    counted = [len(commits)]
    location = (await occi.compute()).location or ""
    counted.append(len(commits))
    await occi.trigger(location, "stop")
    counted.append(len(commits))
    await occi.update(location, Resource(kind=None, attributes={"occi.core.title": "renamed"}))
    counted.append(len(commits))
    await occi.delete(location)
    counted.append(len(commits))
    return [after - before for before, after in itertools.pairwise(counted)]


async def test_on_the_sim_a_change_and_its_record_share_one_transaction(
    database: Database, clock: FakeClock, commits: list[int]
) -> None:
    # The sim changes computes in the store: each record is written in the transaction
    # of its change, so accounting adds no transaction to a create, an action, an update
    # or a delete.
    async with _on_the_sim(database, None, clock) as unrecorded:
        without = await _commits_of_a_life(unrecorded, commits)
    recorder = UsageRecorder(UsageRepository(database), database, clock=clock)
    async with _on_the_sim(database, recorder, clock) as occi:
        with_records = await _commits_of_a_life(occi, commits)
        tenant = occi.tenant.id
    assert with_records == without
    assert with_records[0] > 0  # the counting counts
    [life] = [
        life for life in UsageRepository(database).usage(0, T0 * 2) if life.tenant_id == tenant
    ]
    assert [i.observation.state for i in life.intervals] == ["active", "inactive"]
    assert life.deleted_at == T0


async def test_on_the_sim_changes_sharing_a_transaction_each_record_their_own_compute(
    database: Database, clock: FakeClock, commits: list[int]
) -> None:
    # Creates made at the same moment, by different tenants, share one transaction of
    # the store: each record still goes with its own compute and tenant.
    recorder = UsageRecorder(UsageRepository(database), database, clock=clock)
    async with _on_the_sim(database, recorder, clock) as occi:
        tenants = [ServiceDriver(occi.service, new_tenant()) for _ in range(5)]
        for tenant in tenants:
            await tenant.model()  # its catalogue read (and committed) before
        before = len(commits)
        created = await asyncio.gather(
            *(t.compute(**{"occi.core.title": f"vm-{n}"}) for n, t in enumerate(tenants))
        )
        assert len(commits) - before < 5  # they did share
    recorded = UsageRepository(database).usage(0, T0 * 2)
    lives = {life.entity_id: life for life in recorded}
    assert len(recorded) == len(lives) == len(created)  # one life each, no stray one
    assert sorted(lives) == sorted(c.id or "" for c in created)
    for tenant, compute in zip(tenants, created, strict=True):
        life = lives[compute.id or ""]
        assert (life.tenant_id, life.tenant_name) == (tenant.tenant.id, tenant.tenant.name)
        assert life.machine_name == compute.attributes["occi.compute.hostname"]


class _Failing(UsageRepository):
    """The real store, refusing every record while `failing` is set."""

    failing = False

    def observe_in(self, connection: Any, change: Change) -> None:
        if self.failing:
            raise StoreUnavailableError("the disk is full")
        super().observe_in(connection, change)

    def deleted_in(self, connection: Any, tenant_id: str, entity_id: str, at: float) -> bool:
        if self.failing:
            raise StoreUnavailableError("the disk is full")
        return super().deleted_in(connection, tenant_id, entity_id, at)


async def test_on_the_sim_a_record_the_store_refuses_undoes_its_change(
    database: Database, clock: FakeClock
) -> None:
    # One transaction: the change did not happen, and the error says so (where a remote
    # cloud has made the change, the service logs the failure instead: above).
    store = _Failing(database)
    async with _on_the_sim(database, UsageRecorder(store, database, clock=clock), clock) as occi:
        compute = await occi.compute()
        location = compute.location or ""
        store.failing = True
        with pytest.raises(StoreUnavailableError, match="the disk is full"):
            await occi.trigger(location, "stop")
        with pytest.raises(StoreUnavailableError, match="the disk is full"):
            await occi.compute()
        with pytest.raises(StoreUnavailableError, match="the disk is full"):
            await occi.update(location, Resource(kind=None, mixins=[LARGE]))
        with pytest.raises(StoreUnavailableError, match="the disk is full"):
            await occi.delete(location)
        kept = await occi.get(location)
        assert kept.attributes["occi.compute.state"] == "active"
        assert kept.attributes["occi.compute.cores"] == compute.attributes["occi.compute.cores"]
        assert [
            e.location async for e in occi.service.backend.list_entities(occi.tenant, _COMPUTES)
        ] == [location]
    [life] = store.usage(0, T0 * 2)
    assert [i.observation.state for i in life.intervals] == ["active"]


def _running(entity_id: str) -> Resource:
    return Resource(
        kind=COMPUTE_ID,
        location=f"/compute/{entity_id}",
        attributes={
            "occi.core.id": entity_id,
            "occi.compute.state": "active",
            "occi.compute.cores": 2,
        },
    )


class _Refusing(UsageRepository):
    """The real store, refusing the change of a compute named ``refused`` (as a store
    refuses a change it cannot keep)."""

    def observe_in(self, connection: Any, change: Change) -> None:
        if change.entity_id == "refused":
            raise StoreUnavailableError("the change of refused cannot be kept")
        super().observe_in(connection, change)


@pytest.fixture
def commits(database: Database) -> list[int]:
    """One entry per committed transaction of the engine (reads commit too)."""
    seen: list[int] = []
    sa.event.listen(database.engine, "commit", lambda _: seen.append(1))
    return seen


async def test_changes_made_at_the_same_moment_share_one_commit(
    database: Database, clock: FakeClock, commits: list[int]
) -> None:
    store = UsageRepository(database)
    recorder = UsageRecorder(store, database, clock=clock)
    model = standard_model()
    tenant = new_tenant()
    names = [f"vm-{n}" for n in range(5)]
    await asyncio.gather(*(recorder.changed(tenant, model, _running(n)) for n in names))
    assert len(commits) == 1
    recorded = store.usage(0, T0 * 2)
    assert sorted(life.entity_id for life in recorded) == names
    assert all(life.intervals[0].observation.cores == 2 for life in recorded)


async def test_a_change_the_store_refuses_is_undone_alone(
    database: Database, clock: FakeClock, commits: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    store = _Refusing(database)
    recorder = UsageRecorder(store, database, clock=clock)
    model = standard_model()
    tenant = new_tenant()
    names = ["first", "refused", "last"]
    await asyncio.gather(*(recorder.changed(tenant, model, _running(n)) for n in names))
    assert len(commits) == 1
    assert sorted(life.entity_id for life in store.usage(0, T0 * 2)) == ["first", "last"]
    assert "the change of /compute/refused was not recorded" in caplog.text
    assert "/compute/first" not in caplog.text


async def test_an_update_records_what_the_compute_is_when_the_record_says_otherwise(
    database: Database, clock: FakeClock
) -> None:
    # A stop the cloud did not carry out was recorded as where it led (inactive); the
    # compute is still active. The next change the server makes to it, a title even,
    # records what it is: a comparison of the compute before and after the update
    # alone would see nothing to record.
    store = UsageRepository(database)
    tenant = new_tenant()
    occi = ServiceDriver(
        memory_service(database, usage=UsageRecorder(store, database, clock=clock)), tenant
    )
    compute = await occi.compute()
    running = observation_of(standard_model(), compute)
    assert running.state == "active"
    store.observe(tenant.id, compute.id or "", replace(running, state="inactive"), T0 + 10)
    clock.advance(30)
    renamed = Resource(kind=None, attributes={"occi.core.title": "renamed"})
    await occi.update(compute.location or "", renamed)
    [life] = store.usage(0, T0 * 2)
    assert [(i.observation.state, i.started_at) for i in life.intervals] == [
        ("active", T0),
        ("inactive", T0 + 10),
        ("active", T0 + 30),
    ]


async def test_a_record_is_written_on_its_own_unless_it_rode_with_its_own_compute(
    database: Database, clock: FakeClock
) -> None:
    # The backend's transaction carried another entity's change (not a compute: nothing
    # written); the compute's own change was made elsewhere, so it is recorded alone.
    store = UsageRepository(database)
    tenant = new_tenant()
    ride = UsageRecorder(store, database, clock=clock).ride(tenant, standard_model())
    other = Resource(kind=STORAGE_ID, location="/storage/disk")
    with riding(ride.rider):
        entity_changed(None, other)  # type: ignore[arg-type]
    assert ride.rider.rode_with == {"/storage/disk"}
    await ride.done(_running("vm-1"))
    assert [life.entity_id for life in store.usage(0, T0 * 2)] == ["vm-1"]

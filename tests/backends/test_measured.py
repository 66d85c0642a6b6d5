"""`MeasuredBackend`: the backend the server serves, unchanged in what it answers, with
every call told to an observer and tallied for the request that made it.

The inner backend is a real sim on SQLite (it answers from its store, so what
is measured is the measuring, not a cloud).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import (
    BackendUnavailableError,
    BusyError,
    ConflictError,
    EntityNotFoundError,
)
from pyocci.backends.measured import (
    ERROR_KINDS,
    OPERATIONS,
    CallTally,
    MeasuredBackend,
    current_tally,
    error_kind,
)
from pyocci.backends.sim import Quotas, SimBackend, SimSettings
from pyocci.model import Resource, standard_model
from pyocci.store import Database

pytestmark = pytest.mark.anyio

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
STOP = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"
UBUNTU = "http://schemas.pyocci.org/sim/os_tpl#ubuntu-24_04"
TENANT = Tenant("alice")


class Calls:
    """A `CallObserver` that keeps what it is told."""

    def __init__(self) -> None:
        self.told: list[tuple[str, float, Exception | None]] = []

    def __call__(self, operation: str, seconds: float, error: Exception | None) -> None:
        self.told.append((operation, seconds, error))

    @property
    def operations(self) -> list[str]:
        return [operation for operation, _, _ in self.told]


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[SimBackend]:
    database = Database(f"sqlite:///{tmp_path}/sim.db")
    database.upgrade()
    settings = SimSettings(quotas=Quotas(computes=None, cores=None, memory=None))
    backend = SimBackend(model=standard_model(), database=database, settings=settings)
    await backend.open()
    yield backend
    await backend.close()
    database.dispose()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def measured(sim: SimBackend, calls: Calls) -> MeasuredBackend:
    return MeasuredBackend(sim, calls)


def compute(title: str) -> Resource:
    return Resource(kind=COMPUTE, mixins=[UBUNTU], attributes={"occi.core.title": title})


async def test_it_is_the_inner_backend_to_the_service(measured, sim) -> None:
    assert measured.name == "sim" and measured.capabilities == sim.capabilities
    assert measured.model is sim.model
    assert measured.reads_own_writes is sim.reads_own_writes
    assert measured.reads_on_loop is sim.reads_on_loop
    assert measured.location_of(COMPUTE, "x") == sim.location_of(COMPUTE, "x")
    assert measured.revision() == sim.revision()
    created = await measured.create_entity(TENANT, compute("one"))
    assert await measured.get_entity(TENANT, COMPUTE, created.id) == await sim.get_entity(
        TENANT, COMPUTE, created.id
    )


async def test_each_operation_is_told_once_with_its_time(measured, calls) -> None:
    created = await measured.create_entity(TENANT, compute("one"))
    await measured.get_entity(TENANT, COMPUTE, created.id)
    await measured.trigger_action(TENANT, created, STOP, {})
    await measured.revise_entity(TENANT, COMPUTE, created.id, lambda entity: entity)
    await measured.provider_mixins(TENANT)
    await measured.count_entities(TENANT, Query(kinds=(COMPUTE,)))
    await measured.census()
    await measured.delete_entity(TENANT, created)
    assert calls.operations == [
        "create_entity",
        "get_entity",
        "trigger_action",
        "revise_entity",
        "provider_mixins",
        "count_entities",
        "census",
        "delete_entity",
    ]
    assert set(calls.operations) <= set(OPERATIONS)
    assert all(seconds >= 0 and error is None for _, seconds, error in calls.told)


async def test_a_failed_call_is_told_with_its_error(measured, calls) -> None:
    with pytest.raises(EntityNotFoundError):
        await measured.get_entity(TENANT, COMPUTE, "missing")
    ((operation, _, error),) = calls.told
    assert operation == "get_entity"
    assert isinstance(error, EntityNotFoundError)


async def test_a_listing_is_one_call_told_when_it_ends(measured, calls) -> None:
    for title in ("a", "b", "c"):
        await measured.create_entity(TENANT, compute(title))
    calls.told.clear()
    listed = [e.id async for e in measured.list_entities(TENANT, Query(kinds=(COMPUTE,)))]
    assert len(listed) == 3
    batches = [b async for b in measured.list_locations(TENANT, Query(kinds=(COMPUTE,)))]
    assert sum(len(batch) for batch in batches) == 3
    assert calls.operations == ["list_entities", "list_locations"]


async def test_a_listing_left_half_read_is_told_once_closed(measured, calls) -> None:
    for title in ("a", "b"):
        await measured.create_entity(TENANT, compute(title))
    calls.told.clear()
    listing = measured.list_entities(TENANT, Query(kinds=(COMPUTE,)))
    await anext(listing)
    assert calls.told == []
    await listing.aclose()
    assert calls.operations == ["list_entities"]


async def test_the_request_tally_counts_its_calls(measured) -> None:
    created = await measured.create_entity(TENANT, compute("one"))  # outside any request
    tally = CallTally()
    token = current_tally.set(tally)
    try:
        await measured.get_entity(TENANT, COMPUTE, created.id)
        [e async for e in measured.list_entities(TENANT, Query(kinds=(COMPUTE,)))]
        with pytest.raises(EntityNotFoundError):
            await measured.get_entity(TENANT, COMPUTE, "missing")
    finally:
        current_tally.reset(token)
    assert tally.calls == 3
    assert tally.seconds > 0


async def test_without_an_observer_calls_are_only_tallied(sim) -> None:
    measured = MeasuredBackend(sim)
    tally = CallTally()
    token = current_tally.set(tally)
    try:
        await measured.provider_mixins(TENANT)
    finally:
        current_tally.reset(token)
    assert tally.calls == 1


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (EntityNotFoundError("x"), "not_found"),
        (BusyError("x"), "busy"),
        (ConflictError("x"), "conflict"),
        (BackendUnavailableError("x"), "unavailable"),
        (ValueError("a bug"), "other"),
    ],
)
def test_errors_have_a_short_bounded_name(error: Exception, kind: str) -> None:
    assert error_kind(error) == kind
    assert kind in ERROR_KINDS

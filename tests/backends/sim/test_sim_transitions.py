"""Simulated time: computes show `waiting` for `transition_seconds`, settled lazily; what
a transition forbids is refused with Retry-After; storage has no transitional state."""

from __future__ import annotations

import pytest
from sim_helpers import COMPUTE, COMPUTE_ACTION, LARGE, UBUNTU, compute, listing, offered

from pyocci.backends.errors import BusyError, ConflictError, EntityNotFoundError
from pyocci.backends.sim import SimBackend, SimSettings
from pyocci.model import Resource, standard_model

pytestmark = pytest.mark.anyio

STOP, START = COMPUTE_ACTION + "stop", COMPUTE_ACTION + "start"


@pytest.fixture
def slow(make_backend) -> SimBackend:
    return make_backend(transition_seconds=5)


def state(entity):
    return entity.attributes["occi.compute.state"]


async def test_a_new_compute_waits_then_is_active(slow, tenant, clock):
    vm = await slow.create_entity(tenant, compute())
    assert state(vm) == "waiting"
    assert vm.attributes["occi.compute.state.message"] == "becoming active"
    assert offered(slow, vm) == []
    clock.advance(4.9)
    assert state(await slow.get_entity(tenant, COMPUTE, vm.id)) == "waiting"
    clock.advance(0.1)
    settled = await slow.get_entity(tenant, COMPUTE, vm.id)
    assert state(settled) == "active"
    assert "occi.compute.state.message" not in settled.attributes
    assert COMPUTE_ACTION + "stop" in offered(slow, settled)


async def test_actions_wait_for_the_transition(slow, tenant, clock):
    vm = await slow.create_entity(tenant, compute())
    with pytest.raises(ConflictError, match=r"it is waiting \(becoming active in 5.0 s\)"):
        await slow.trigger_action(tenant, vm, STOP, {})
    clock.advance(5)
    stopping = (await slow.trigger_action(tenant, vm, STOP, {"method": "graceful"})).entity
    assert state(stopping) == "waiting"
    assert stopping.attributes["occi.compute.state.message"] == "becoming inactive"
    with pytest.raises(ConflictError, match="becoming inactive"):
        await slow.trigger_action(tenant, vm, START, {})
    clock.advance(5)
    started = (await slow.trigger_action(tenant, vm, START, {})).entity
    assert state(started) == "waiting"
    clock.advance(5)
    assert state(await slow.get_entity(tenant, COMPUTE, vm.id)) == "active"


async def test_what_a_transition_forbids_is_busy_with_the_seconds_left(slow, tenant, clock):
    vm = await slow.create_entity(tenant, compute())
    with pytest.raises(BusyError, match=r"it is waiting \(becoming active") as refused:
        await slow.trigger_action(tenant, vm, STOP, {})
    assert refused.value.retry_after == 5
    clock.advance(2.5)
    with pytest.raises(BusyError, match=r"in 2.5 s\); try again when it is active") as refused:
        await slow.trigger_action(tenant, vm, STOP, {})
    assert refused.value.retry_after == 3  # rounded up: never told to come back too early
    clock.advance(2.45)
    bigger = Resource(kind=COMPUTE, mixins=[UBUNTU, LARGE], attributes={})
    with pytest.raises(BusyError, match="cannot resize") as refused:
        await slow.update_entity(tenant, vm, bigger)
    assert refused.value.retry_after == 1
    clock.advance(0.1)
    assert state((await slow.trigger_action(tenant, vm, STOP, {})).entity) == "waiting"


async def test_an_action_the_state_forbids_is_a_plain_conflict(slow, tenant, clock):
    vm = await slow.create_entity(tenant, compute())
    clock.advance(5)
    with pytest.raises(ConflictError, match="it is active") as refused:
        await slow.trigger_action(tenant, vm, START, {})
    # Only the client can change that (stop it first): no Retry-After.
    assert not isinstance(refused.value, BusyError)


async def test_a_compute_in_a_transition_can_be_deleted(slow, tenant, clock):
    vm = await slow.create_entity(tenant, compute())
    await slow.delete_entity(tenant, vm)
    with pytest.raises(EntityNotFoundError):
        await slow.get_entity(tenant, COMPUTE, vm.id)
    assert await listing(slow, tenant, COMPUTE) == []


async def test_resize_waits_and_is_refused_during_a_transition(slow, tenant, clock):
    vm = await slow.create_entity(tenant, compute())
    bigger = Resource(kind=COMPUTE, mixins=[UBUNTU, LARGE], attributes={})
    with pytest.raises(ConflictError, match="cannot resize"):
        await slow.update_entity(tenant, vm, bigger)
    # Other changes are fine while it boots.
    renamed = await slow.update_entity(
        tenant, vm, Resource(kind=COMPUTE, mixins=vm.mixins, attributes={"occi.core.title": "x"})
    )
    assert renamed.attributes["occi.core.title"] == "x"
    assert state(renamed) == "waiting"
    clock.advance(5)
    resized = await slow.update_entity(tenant, vm, bigger)
    assert state(resized) == "waiting"
    assert resized.attributes["occi.compute.cores"] == 4
    clock.advance(5)
    assert state(await slow.get_entity(tenant, COMPUTE, vm.id)) == "active"


async def test_listings_filter_on_the_state_as_of_now(slow, tenant, clock):
    first = await slow.create_entity(tenant, compute(title="first"))
    clock.advance(3)
    await slow.create_entity(tenant, compute(title="second"))
    clock.advance(2)
    active = await listing(slow, tenant, COMPUTE, attributes={"occi.compute.state": "active"})
    waiting = await listing(slow, tenant, COMPUTE, attributes={"occi.compute.state": "waiting"})
    assert [e.id for e in active] == [first.id]
    assert [e.attributes["occi.core.title"] for e in waiting] == ["second"]
    assert [state(e) for e in await listing(slow, tenant, COMPUTE)] == ["active", "waiting"]


async def test_transitions_survive_a_restart(slow, tenant, clock, database):
    vm = await slow.create_entity(tenant, compute())
    restarted = SimBackend(
        model=standard_model(),
        database=database,
        settings=SimSettings(transition_seconds=5),
        clock=clock,
    )
    assert state(await restarted.get_entity(tenant, COMPUTE, vm.id)) == "waiting"
    clock.advance(5)
    assert state(await restarted.get_entity(tenant, COMPUTE, vm.id)) == "active"


async def test_other_kinds_change_at_once(slow, tenant):
    # Storage states (online, offline...) have no transitional one: created at once.
    from sim_helpers import network, storage

    assert (await slow.create_entity(tenant, storage())).attributes[
        "occi.storage.state"
    ] == "online"
    assert (await slow.create_entity(tenant, network())).attributes[
        "occi.network.state"
    ] == "active"


async def test_zero_seconds_means_immediate(backend, tenant):
    vm = await backend.create_entity(tenant, compute())
    assert state(vm) == "active"
    assert state((await backend.trigger_action(tenant, vm, STOP, {})).entity) == "inactive"

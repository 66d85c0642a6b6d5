"""Saved images take `transition_seconds` to be ready: not offered until then, and a
create naming one is told to try again (409 with Retry-After), on the test's clock."""

from __future__ import annotations

import pytest
from sim_helpers import COMPUTE, COMPUTE_ACTION, DEBIAN, SAVED, UBUNTU, compute, listing

from pyocci.backends.errors import BusyError, InvalidRequestError
from pyocci.backends.sim import SimBackend, SimSettings
from pyocci.model import Resource, standard_model

pytestmark = pytest.mark.anyio

SAVE = COMPUTE_ACTION + "save"


@pytest.fixture
def slow(make_backend) -> SimBackend:
    return make_backend(transition_seconds=5)


async def _saved(backend, tenant, clock, name="golden"):
    """A compute that has finished booting, and the image a save of it made just now."""
    vm = await backend.create_entity(tenant, compute())
    clock.advance(backend.settings.transition_seconds)
    outcome = await backend.trigger_action(tenant, vm, SAVE, {"name": name})
    assert outcome.created is not None
    return vm, outcome.created


async def offered(backend, tenant) -> set[str]:
    return {mixin.id for mixin in await backend.provider_mixins(tenant)}


async def test_a_saved_image_is_the_answer_at_once_but_offered_when_ready(slow, tenant, clock):
    _, image = await _saved(slow, tenant, clock)
    assert image.id == SAVED + "golden"
    assert image.id not in await offered(slow, tenant)
    clock.advance(4.9)
    assert image.id not in await offered(slow, tenant)
    clock.advance(0.1)
    assert image.id in await offered(slow, tenant)


async def test_a_pending_image_is_a_pending_template_counting_down(slow, tenant, clock):
    vm, image = await _saved(slow, tenant, clock)
    busy = await slow.pending_template(tenant, image.id)
    assert isinstance(busy, BusyError)
    assert busy.retry_after == 5
    assert f"the image golden ({image.id}) is still being saved from {vm.location}" in str(busy)
    assert "(ready in 5.0 s)" in str(busy)
    clock.advance(2.5)
    busy = await slow.pending_template(tenant, image.id)
    assert busy is not None and busy.retry_after == 3  # 2.5 s left, rounded up
    assert "(ready in 2.5 s)" in str(busy)
    clock.advance(2.5)
    assert await slow.pending_template(tenant, image.id) is None


async def test_only_the_tenants_own_pending_images_are_pending_templates(
    slow, tenant, other, clock
):
    _, image = await _saved(slow, tenant, clock)
    assert await slow.pending_template(other, image.id) is None
    assert await slow.pending_template(tenant, SAVED + "never-saved") is None
    assert await slow.pending_template(tenant, UBUNTU) is None


async def test_a_create_naming_a_pending_image_is_busy_until_it_is_ready(slow, tenant, clock):
    vm, image = await _saved(slow, tenant, clock)
    clock.advance(1)
    with pytest.raises(BusyError, match=r"still being saved .*\(ready in 4.0 s\)") as refused:
        await slow.create_entity(tenant, compute(image.id))
    assert refused.value.retry_after == 4
    # Nothing was made: the compute saved is the only one.
    assert [e.id for e in await listing(slow, tenant, COMPUTE)] == [vm.id]
    clock.advance(4)
    clone = await slow.create_entity(tenant, compute(image.id))
    assert clone.mixins[0] == image.id


async def test_a_rebuild_onto_a_pending_image_is_busy(slow, tenant, clock):
    target = await slow.create_entity(tenant, compute())
    _, image = await _saved(slow, tenant, clock)  # the target has finished booting meanwhile
    rebuild = Resource(kind=COMPUTE, mixins=[image.id], attributes={})
    with pytest.raises(BusyError, match="still being saved") as refused:
        await slow.update_entity(tenant, target, rebuild)
    assert refused.value.retry_after == 5
    clock.advance(5)
    rebuilt = await slow.update_entity(tenant, target, rebuild)
    assert rebuilt.mixins[0] == image.id


async def test_another_tenant_naming_a_pending_image_is_told_it_does_not_exist(
    slow, tenant, other, clock
):
    _, image = await _saved(slow, tenant, clock)
    with pytest.raises(InvalidRequestError, match="not an OS template you can use"):
        await slow.create_entity(other, compute(image.id))


async def test_readiness_survives_a_restart(slow, tenant, clock, database):
    _, image = await _saved(slow, tenant, clock)
    restarted = SimBackend(
        model=standard_model(),
        database=database,
        settings=SimSettings(transition_seconds=5),
        clock=clock,
    )
    assert image.id not in await offered(restarted, tenant)
    assert await restarted.pending_template(tenant, image.id) is not None
    clock.advance(5)
    assert image.id in await offered(restarted, tenant)


async def test_without_transitions_a_saved_image_is_ready_at_once(backend, tenant, clock):
    vm = await backend.create_entity(tenant, compute(DEBIAN))
    image = (await backend.trigger_action(tenant, vm, SAVE, {"name": "now"})).created
    assert image.id in await offered(backend, tenant)
    assert await backend.pending_template(tenant, image.id) is None
    # Even with a clock a little behind the one that saved it (another process's).
    clock.advance(-30)
    assert image.id in await offered(backend, tenant)
    clone = await backend.create_entity(tenant, compute(image.id))
    assert clone.mixins[0] == image.id

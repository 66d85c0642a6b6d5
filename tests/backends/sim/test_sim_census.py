"""The sim counts its entities by kind and shown state in one query, every tenant's."""

from __future__ import annotations

import pytest
from sim_helpers import COMPUTE, COMPUTE_ACTION, STORAGE, compute, storage

pytestmark = pytest.mark.anyio


async def test_an_empty_cloud_counts_nothing(backend) -> None:
    assert await backend.census() == {}


async def test_every_tenant_is_counted_by_kind_and_state(backend, tenant, other) -> None:
    first = await backend.create_entity(tenant, compute())
    await backend.create_entity(tenant, compute())
    await backend.create_entity(other, compute())
    await backend.create_entity(other, storage())
    await backend.trigger_action(tenant, first, COMPUTE_ACTION + "stop", {})
    assert await backend.census() == {
        (COMPUTE, "active"): 2,
        (COMPUTE, "inactive"): 1,
        (STORAGE, "online"): 1,
    }


async def test_the_state_counted_is_the_one_shown_now(make_backend, tenant, clock) -> None:
    slow = make_backend(transition_seconds=5)
    await slow.create_entity(tenant, compute())
    assert await slow.census() == {(COMPUTE, "waiting"): 1}
    clock.advance(5)
    assert await slow.census() == {(COMPUTE, "active"): 1}


async def test_deleted_entities_are_not_counted(backend, tenant) -> None:
    vm = await backend.create_entity(tenant, compute())
    await backend.delete_entity(tenant, vm)
    assert await backend.census() == {}

"""Quotas: each limit named with its use when exceeded, freed on delete, per tenant."""

from __future__ import annotations

import pytest
from sim_helpers import LARGE, MEDIUM, compute, network, storage

from pyocci.backends.errors import QuotaExceededError
from pyocci.backends.sim import Quotas

pytestmark = pytest.mark.anyio


async def test_computes(make_backend, tenant, other):
    backend = make_backend(quotas=Quotas(computes=2))
    first = await backend.create_entity(tenant, compute())
    await backend.create_entity(tenant, compute())
    with pytest.raises(QuotaExceededError) as error:
        await backend.create_entity(tenant, compute())
    assert error.value.message == (
        "quota exceeded for computes: the limit is 2, 2 in use, and this needs 1 more; "
        "delete something first or ask for more"
    )
    await backend.create_entity(other, compute())
    await backend.delete_entity(tenant, first)
    await backend.create_entity(tenant, compute())


async def test_cores(make_backend, tenant):
    backend = make_backend(quotas=Quotas(cores=6))
    await backend.create_entity(tenant, compute(LARGE))
    with pytest.raises(QuotaExceededError, match=r"cores: the limit is 6, 4 in use, .* needs 4"):
        await backend.create_entity(tenant, compute(LARGE))
    await backend.create_entity(tenant, compute(MEDIUM))


async def test_memory(make_backend, tenant):
    backend = make_backend(quotas=Quotas(memory=6.0))
    await backend.create_entity(tenant, compute(LARGE))
    await backend.create_entity(tenant, compute(MEDIUM))
    with pytest.raises(QuotaExceededError, match=r"memory \(GiB\): the limit is 6, 6 in use"):
        await backend.create_entity(tenant, compute(attributes={"occi.compute.memory": 0.5}))


async def test_storage_and_networks(make_backend, tenant):
    backend = make_backend(quotas=Quotas(storage=15.5, networks=1))
    await backend.create_entity(tenant, storage(10))
    with pytest.raises(QuotaExceededError, match=r"the limit is 15.5, 10 in use, .* needs 6 more"):
        await backend.create_entity(tenant, storage(6))
    await backend.create_entity(tenant, storage(5.5))
    net = await backend.create_entity(tenant, network())
    with pytest.raises(QuotaExceededError, match="networks: the limit is 1, 1 in use"):
        await backend.create_entity(tenant, network())
    await backend.delete_entity(tenant, net)
    await backend.create_entity(tenant, network())


async def test_unlimited(make_backend, tenant):
    backend = make_backend(quotas=Quotas(computes=None, cores=None))
    for _ in range(3):
        await backend.create_entity(tenant, compute(LARGE))

"""The entities are counted now and then for the metrics, on backends that can count them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from prometheus_client import CollectorRegistry

from pyocci.backends.api import Tenant
from pyocci.backends.memory.backend import MemoryBackend
from pyocci.backends.sim import SimBackend
from pyocci.model import Resource, standard_model
from pyocci.server.census import keep_counting
from pyocci.server.metrics import ServerMetrics, known_states
from pyocci.store import Database

pytestmark = pytest.mark.anyio

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
UBUNTU = "http://schemas.pyocci.org/sim/os_tpl#ubuntu-24_04"


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[SimBackend]:
    database = Database(f"sqlite:///{tmp_path}/sim.db")
    database.upgrade()
    backend = SimBackend(model=standard_model(), database=database)
    yield backend
    database.dispose()


def entities(metrics: ServerMetrics, state: str) -> float | None:
    return metrics.registry.get_sample_value("pyocci_entities", {"kind": "compute", "state": state})


async def test_the_count_is_kept_up_to_date(sim: SimBackend) -> None:
    metrics = ServerMetrics(CollectorRegistry())
    states = known_states(sim.model, sim.capabilities.kinds)
    await sim.create_entity(Tenant("alice"), Resource(kind=COMPUTE, mixins=[UBUNTU]))
    async with anyio.create_task_group() as group:
        group.start_soon(keep_counting, sim, metrics, states, 0.01)
        with anyio.fail_after(10):
            while entities(metrics, "active") != 1:
                await anyio.sleep(0.01)
        await sim.create_entity(Tenant("bob"), Resource(kind=COMPUTE, mixins=[UBUNTU]))
        with anyio.fail_after(10):
            while entities(metrics, "active") != 2:
                await anyio.sleep(0.01)
        group.cancel_scope.cancel()
    assert entities(metrics, "inactive") == 0


async def test_a_backend_that_cannot_count_is_asked_once() -> None:
    backend = MemoryBackend(model=standard_model())
    metrics = ServerMetrics(CollectorRegistry())
    with anyio.fail_after(5):
        await keep_counting(backend, metrics, {}, 0.01)  # returns: nothing to count
    assert entities(metrics, "active") is None

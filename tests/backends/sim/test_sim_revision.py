"""`SimBackend.revision`: moves on every change a read could show, and only then."""

from __future__ import annotations

import pytest
from sim_helpers import COMPUTE, COMPUTE_ACTION, compute

from pyocci.backends.sim import SimBackend
from pyocci.model import Mixin, Resource, standard_model
from pyocci.store import Database
from pyocci.store.mixins import MixinRepository

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite only: the data version is SQLite's (PostgreSQL: see the last test)."""
    return f"sqlite:///{tmp_path / 'store.sqlite3'}"


async def test_reads_leave_it_and_writes_move_it(backend, tenant):
    vm = await backend.create_entity(tenant, compute(title="a"))
    before = backend.revision()
    await backend.get_entity(tenant, COMPUTE, vm.id)
    assert backend.revision() == before
    current = await backend.get_entity(tenant, COMPUTE, vm.id)
    desired = Resource(
        kind=COMPUTE,
        mixins=current.mixins,
        attributes={**current.attributes, "occi.core.title": "b"},
    )
    await backend.update_entity(tenant, current, desired)
    after_update = backend.revision()
    assert after_update != before
    await backend.trigger_action(tenant, current, COMPUTE_ACTION + "stop", {})
    after_action = backend.revision()
    assert after_action != after_update
    await backend.delete_entity(tenant, current)
    assert backend.revision() != after_action


async def test_a_write_through_another_connection_moves_it(make_backend, tenant):
    here, elsewhere = make_backend(), make_backend()
    before = here.revision()
    await elsewhere.create_entity(tenant, compute())
    assert here.revision() != before


async def test_a_user_mixin_association_moves_it(backend, database, tenant):
    vm = await backend.create_entity(tenant, compute())
    store = MixinRepository(database)
    store.add_user_mixin(
        tenant.id, Mixin(scheme="http://example.org/tags#", term="x", location="/tags/x/")
    )
    before = backend.revision()
    store.associate(tenant.id, "http://example.org/tags#x", [vm.location])
    assert backend.revision() != before


async def test_a_timed_transition_finishing_moves_it(make_backend, tenant, clock):
    slow = make_backend(transition_seconds=5)
    await slow.create_entity(tenant, compute())
    waiting = slow.revision()
    clock.advance(4.9)
    assert slow.revision() == waiting  # nothing a read shows has changed yet
    clock.advance(0.1)
    assert slow.revision() != waiting  # the compute now shows active


async def test_postgresql_cannot_tell(postgres_url):
    database = Database(postgres_url)
    try:
        assert SimBackend(model=standard_model(), database=database).revision() is None
    finally:
        database.dispose()


async def test_an_in_memory_database_cannot_tell(tenant):
    database = Database("sqlite://")
    database.upgrade()
    try:
        backend = SimBackend(model=standard_model(), database=database)
        await backend.create_entity(tenant, compute())
        assert backend.revision() is None
    finally:
        database.dispose()

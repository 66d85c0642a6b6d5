"""`SimBackend.revision`: moves on every change a read could show, and only then, on
SQLite (its data version) and PostgreSQL (the change notices its triggers send)."""

from __future__ import annotations

import time
from collections.abc import Hashable

import anyio
import pytest
from sim_helpers import COMPUTE, COMPUTE_ACTION, compute

from pyocci.backends.sim import SimBackend
from pyocci.model import Mixin, Resource, standard_model
from pyocci.store import Database
from pyocci.store.changes import APPLICATION_NAME
from pyocci.store.mixins import MixinRepository

pytestmark = pytest.mark.anyio


async def moved(backend: SimBackend, before: Hashable | None) -> Hashable | None:
    """The revision once it differs from `before` (or after 5 s). PostgreSQL hands a
    commit's notice to the listening connection a moment after the writer is answered:
    a few milliseconds' patience here, where the next call comes microseconds after
    the commit."""
    return await moved_within(backend, before, 5)


async def settled(backend: SimBackend) -> Hashable | None:
    """The revision once every notice of earlier commits has arrived (none for 50 ms)."""
    current = backend.revision()
    while (after := await moved_within(backend, current, 0.05)) != current:
        current = after
    return current


async def moved_within(
    backend: SimBackend, before: Hashable | None, seconds: float
) -> Hashable | None:
    """The revision once it differs from `before`, or after `seconds`."""
    deadline = time.monotonic() + seconds
    while (current := backend.revision()) == before and time.monotonic() < deadline:
        await anyio.sleep(0.002)
    return current


async def test_reads_leave_it_and_writes_move_it(backend, tenant):
    vm = await backend.create_entity(tenant, compute(title="a"))
    before = await settled(backend)
    assert before is not None
    await backend.get_entity(tenant, COMPUTE, vm.id)
    assert await moved_within(backend, before, 0.1) == before
    current = await backend.get_entity(tenant, COMPUTE, vm.id)
    desired = Resource(
        kind=COMPUTE,
        mixins=current.mixins,
        attributes={**current.attributes, "occi.core.title": "b"},
    )
    await backend.update_entity(tenant, current, desired)
    after_update = await moved(backend, before)
    assert after_update != before
    after_update = await settled(backend)
    await backend.trigger_action(tenant, current, COMPUTE_ACTION + "stop", {})
    after_action = await moved(backend, after_update)
    assert after_action != after_update
    after_action = await settled(backend)
    await backend.delete_entity(tenant, current)
    assert await moved(backend, after_action) != after_action


async def test_a_write_through_another_connection_moves_it(make_backend, tenant):
    here, elsewhere = make_backend(), make_backend()
    before = await settled(here)
    await elsewhere.create_entity(tenant, compute())
    assert await moved(here, before) != before


async def test_a_user_mixin_association_moves_it(backend, database, tenant):
    vm = await backend.create_entity(tenant, compute())
    store = MixinRepository(database)
    store.add_user_mixin(
        tenant.id, Mixin(scheme="http://example.org/tags#", term="x", location="/tags/x/")
    )
    before = await settled(backend)
    store.associate(tenant.id, "http://example.org/tags#x", [vm.location])
    assert await moved(backend, before) != before


async def test_a_timed_transition_finishing_moves_it(make_backend, database, tenant, clock):
    slow = make_backend(transition_seconds=5)
    await slow.create_entity(tenant, compute())
    if database.is_postgresql:
        # The finishing times would be read after every change, on the event loop: the
        # sim says nothing, though the database is listened to (an untimed sim says).
        assert await moved(make_backend(), None) is not None
        assert slow.revision() is None
        return
    waiting = slow.revision()
    clock.advance(4.9)
    assert slow.revision() == waiting  # nothing a read shows has changed yet
    clock.advance(0.1)
    assert slow.revision() != waiting  # the compute now shows active


async def test_postgresql_says_nothing_while_it_cannot_listen(postgres_server, postgres_url):
    database = Database(postgres_url)
    database.upgrade()
    backend = SimBackend(model=standard_model(), database=database)
    try:
        before = await moved(backend, None)
        assert before is not None
        # The listening connection is cut (as a restart of PostgreSQL would).
        with database.engine.connect() as admin:
            admin.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE application_name = '{APPLICATION_NAME}'"
            )
        assert await moved(backend, before) is None
        # Listening again (within seconds): a new epoch, so nothing kept before is
        # taken as current.
        again = await moved(backend, None)
        assert again is not None and again != before
    finally:
        database.dispose()


async def test_an_in_memory_database_tells_by_its_own_writes(tenant):
    # Only this process reaches it: every change is one of its own write transactions.
    database = Database("sqlite://")
    database.upgrade()
    try:
        backend = SimBackend(model=standard_model(), database=database)
        await backend.create_entity(tenant, compute())
        before = backend.revision()
        assert before is not None and backend.revision() == before
        await backend.create_entity(tenant, compute())
        assert backend.revision() not in (None, before)
    finally:
        database.dispose()


async def test_a_database_named_by_a_uri_cannot_tell(tenant, tmp_path):
    # Another process may write the file: nothing tells of its writes.
    database = Database(f"sqlite:///file:{tmp_path / 'sim.sqlite3'}?uri=true")
    database.upgrade()
    try:
        backend = SimBackend(model=standard_model(), database=database)
        await backend.create_entity(tenant, compute())
        assert backend.revision() is None
    finally:
        database.dispose()

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio
import pytest

from pyocci.backends.api import Capabilities, Tenant
from pyocci.backends.memory.backend import MemoryBackend
from pyocci.model import Mixin, standard_model
from pyocci.model.infrastructure import COMPUTE, NETWORK, STORAGE
from pyocci.service.catalog import Catalog, served_model
from pyocci.store import Database
from pyocci.store.freshness import READS_SINCE
from pyocci.store.mixins import MixinRepository


@dataclass
class Offering:
    """What `served_model` reads of a backend: its capabilities."""

    capabilities: Capabilities


def serve(**required: tuple[str, ...]) -> object:
    capabilities = Capabilities(
        kinds=frozenset({COMPUTE.id, NETWORK.id, STORAGE.id}),
        actions=frozenset(),
        required={NETWORK.id if k == "network" else STORAGE.id: v for k, v in required.items()},
    )
    return served_model(standard_model(), Offering(capabilities))  # type: ignore[arg-type]


def test_what_a_backend_requires_is_required_on_the_kind() -> None:
    model = serve(network=("occi.network.address",))
    definition = model.kind(NETWORK.id).attributes["occi.network.address"]
    assert definition.required
    # The definition is ipnetwork's own, made required: same type and description.
    ipnetwork = standard_model().mixin(
        "http://schemas.ogf.org/occi/infrastructure/network#ipnetwork"
    )
    assert definition.type == ipnetwork.attributes["occi.network.address"].type
    assert not serve().kind(NETWORK.id).attributes.get("occi.network.address")


def test_a_kinds_own_attribute_can_be_required() -> None:
    model = serve(storage=("occi.storage.size",))
    assert model.kind(STORAGE.id).attributes["occi.storage.size"].required


def test_an_attribute_nothing_defines_is_a_backend_bug() -> None:
    with pytest.raises(ValueError, match="no category defines"):
        serve(network=("org.example.nowhere",))


def noted(notes: dict[str, dict[str, str]]) -> object:
    capabilities = Capabilities(
        kinds=frozenset({COMPUTE.id, STORAGE.id}), actions=frozenset(), attribute_notes=notes
    )
    return served_model(standard_model(), Offering(capabilities))  # type: ignore[arg-type]


def test_a_backend_note_is_added_to_the_attribute_description() -> None:
    standard = standard_model().kind(STORAGE.id).attributes["occi.storage.size"]
    model = noted({STORAGE.id: {"occi.storage.size": "whole GiB here: rounded up"}})
    definition = model.kind(STORAGE.id).attributes["occi.storage.size"]
    assert definition.description == f"{standard.description}; whole GiB here: rounded up"
    # Only the description changes, and only on that kind.
    assert (definition.type, definition.required) == (standard.type, standard.required)
    assert "whole GiB" not in str(model.kind(COMPUTE.id).attributes)


def test_a_note_on_an_attribute_the_kind_lacks_is_a_backend_bug() -> None:
    with pytest.raises(ValueError, match="does not define"):
        noted({STORAGE.id: {"org.example.nowhere": "?"}})


async def caught_up(database: Database) -> None:
    """As a request begins: every change committed before now is heard (PostgreSQL may
    need a few bounded catch-ups on a busy machine; SQLite needs none)."""
    READS_SINCE.set(time.monotonic())
    for _ in range(500):
        await database.catch_up()
        if not database.is_postgresql or database.data_version() is not None:
            return
        await anyio.sleep(0.01)  # listening starts in a thread: the first asks cannot tell
    raise AssertionError("never caught up with the database's change notices")


@pytest.mark.anyio
async def test_a_mixin_defined_through_another_process_is_seen_at_once(
    database_url,
):
    # Two catalogues on one database: two occi-server processes, as the database sees them.
    databases = [Database(database_url), Database(database_url)]
    databases[0].upgrade()
    try:
        standard = standard_model()
        backend = MemoryBackend(model=standard)
        here, _there = (
            # An hour to live: only the version can make the cached model go.
            Catalog(served_model(standard, backend), backend, MixinRepository(db), db, ttl=3600)
            for db in databases
        )
        alice = Tenant("alice")
        tag = Mixin(scheme="http://example.org/tags#", term="web", location="/tags/web/")
        await caught_up(databases[0])
        assert tag.id not in await here.model_for(alice)
        MixinRepository(databases[1]).add_user_mixin(alice.id, tag)
        # The next request, as soon as the definition was acknowledged: no waiting.
        await caught_up(databases[0])
        assert tag.id in await here.model_for(alice)
        MixinRepository(databases[1]).remove_user_mixin(alice.id, tag.id)
        await caught_up(databases[0])
        assert tag.id not in await here.model_for(alice)
    finally:
        READS_SINCE.set(None)
        for db in databases:
            db.dispose()


class Unsure(MixinRepository):
    """A store that cannot tell whether definitions changed (PostgreSQL that could not
    catch up), counting its reads."""

    reads = 0

    def definitions_version(self) -> None:
        return None

    def list_user_mixins(self, tenant_id: str) -> list[Mixin]:
        self.reads += 1
        return super().list_user_mixins(tenant_id)


@pytest.mark.anyio
async def test_a_store_that_cannot_tell_is_read_again_every_time(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    database.upgrade()
    try:
        standard = standard_model()
        backend = MemoryBackend(model=standard)
        store = Unsure(database)
        catalog = Catalog(served_model(standard, backend), backend, store, database, ttl=3600)
        alice = Tenant("alice")
        await catalog.model_for(alice)
        tag = Mixin(scheme="http://example.org/tags#", term="web", location="/tags/web/")
        store.add_user_mixin(alice.id, tag)
        # Within the hour it may keep a model, yet it reads again: None vouches for nothing.
        assert tag.id in await catalog.model_for(alice)
        assert store.reads == 2
    finally:
        database.dispose()

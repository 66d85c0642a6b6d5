from __future__ import annotations

from dataclasses import dataclass

import anyio
import pytest

from pyocci.backends.api import Capabilities, Tenant
from pyocci.backends.memory.backend import MemoryBackend
from pyocci.model import Mixin, standard_model
from pyocci.model.infrastructure import COMPUTE, NETWORK, STORAGE
from pyocci.service.catalog import Catalog, served_model
from pyocci.store import Database
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
        assert tag.id not in await here.model_for(alice)
        MixinRepository(databases[1]).add_user_mixin(alice.id, tag)
        deadline = anyio.current_time() + 5  # PostgreSQL: the notice's moment in flight
        while tag.id not in await here.model_for(alice) and anyio.current_time() < deadline:
            await anyio.sleep(0.002)
        assert tag.id in await here.model_for(alice)
        MixinRepository(databases[1]).remove_user_mixin(alice.id, tag.id)
        deadline = anyio.current_time() + 5
        while tag.id in await here.model_for(alice) and anyio.current_time() < deadline:
            await anyio.sleep(0.002)
        assert tag.id not in await here.model_for(alice)
    finally:
        for db in databases:
            db.dispose()

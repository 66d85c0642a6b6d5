from __future__ import annotations

from dataclasses import dataclass

import pytest

from pyocci.backends.api import Capabilities
from pyocci.model import standard_model
from pyocci.model.infrastructure import COMPUTE, NETWORK, STORAGE
from pyocci.service.catalog import served_model


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

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pyocci.backends.base import Capabilities
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

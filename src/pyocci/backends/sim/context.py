"""What each operation of the sim works with: the cloud's fixed setup and one transaction.

`Cloud` is built once per backend (model, settings, catalogue, shared
networks, database); `Work` is one tenant's transaction at one instant, the
argument every repository, allocation and life-cycle function takes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Connection

from pyocci.backends.sim.catalogue import Catalogue
from pyocci.backends.sim.settings import SimSettings
from pyocci.backends.sim.shared import SharedNetwork, SharedNetworks
from pyocci.model.category import Kind
from pyocci.model.core import LINK
from pyocci.model.entity import (
    CORE_ID,
    CORE_SOURCE,
    CORE_SOURCE_KIND,
    CORE_TARGET,
    CORE_TARGET_KIND,
)
from pyocci.model.infrastructure import NETWORK
from pyocci.model.registry import Model, normalize_location
from pyocci.store.database import Database
from pyocci.store.prepared import Changed, Prepared


class Cloud:
    """The simulated cloud's fixed setup, shared by every request."""

    def __init__(self, model: Model, settings: SimSettings, database: Database) -> None:
        self.model = model
        self.settings = settings
        self.database = database
        self.catalogue = Catalogue(model, settings)
        self.shared = SharedNetworks(settings, self.collection(NETWORK.id))

    def collection(self, kind_id: str) -> str:
        """The collection path of a kind (``/compute/``)."""
        return normalize_location(self.model.kind(kind_id).location or "/")

    def location_of(self, kind_id: str, entity_id: str) -> str:
        """Where an entity lives: its kind's collection plus its id."""
        return self.collection_of(kind_id) + entity_id

    @functools.cache  # noqa: B019 - one Cloud per backend, kinds are few
    def collection_of(self, kind_id: str) -> str:
        """The path of a kind's collection, ending in a slash (``/compute/``)."""
        return self.model.location_of(kind_id, "")

    @functools.cache  # noqa: B019 - one Cloud per backend, kinds are few
    def is_link_kind(self, kind_id: str) -> bool:
        """Whether entities of this kind are links."""
        return self.model.is_kind_of(kind_id, LINK.id)

    @functools.cache  # noqa: B019 - one Cloud per backend, kinds are few
    def state_attributes(self, kind_id: str) -> tuple[str, ...]:
        """The state attributes of a kind, nearest first: the first is the one that
        counts; inherited ones (an ipreservation's ``occi.network.state``) mirror it."""
        machines = self.model.state_machines(kind_id)
        return tuple(dict.fromkeys(machine.attribute for machine in machines))

    @functools.cache  # noqa: B019 - one Cloud per backend, kinds are few
    def managed_attributes(self, kind_id: str) -> frozenset[str]:
        """Attributes of a kind the cloud sets: id, link ends, states and their messages,
        and whatever the kind (or its parents) declares immutable."""
        names = {CORE_ID, CORE_SOURCE, CORE_TARGET, CORE_SOURCE_KIND, CORE_TARGET_KIND}
        for state in self.state_attributes(kind_id):
            names.update((state, state + ".message"))
        for name, definition in self.model.attribute_definitions(kind_id).items():
            if not definition.mutable:
                names.add(name)
        return frozenset(names)

    def shared_network(self, kind_id: str | None, entity_id: str | None) -> SharedNetwork | None:
        """The shared network an entity reference means (network `public` or `private`,
        asked for as a network or as any resource), or None."""
        shared = self.shared.by_id(entity_id)
        if shared is None or not self.model.is_kind_of(NETWORK.id, kind_id or NETWORK.id):
            return None
        return shared

    def split_location(self, location: str) -> tuple[Kind, str] | None:
        """The kind and id of an entity location (``/compute/<id>``), or None.

        Absolute URLs are reduced to their path, since clients send either.
        """
        path = urlsplit(location).path if "://" in location else location
        collection, _, entity_id = path.rpartition("/")
        if not entity_id:
            return None
        kind = self.model.by_location(collection + "/")
        if not isinstance(kind, Kind):
            return None
        return kind, entity_id


@dataclass(slots=True)
class Work:
    """One transaction of one tenant, at one instant of the (injectable) clock."""

    cloud: Cloud
    connection: Connection
    tenant_id: str
    now: float

    @property
    def settings(self) -> SimSettings:
        """The cloud's settings."""
        return self.cloud.settings

    def fetch(self, prepared: Prepared, parameters: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """The rows of a prepared SELECT, in this transaction."""
        return self.cloud.database.fetch(self.connection, prepared, parameters)

    def change(self, prepared: Prepared, parameters: Mapping[str, Any]) -> Changed:
        """Run a prepared INSERT, UPDATE or DELETE in this transaction."""
        return self.cloud.database.change(self.connection, prepared, parameters)

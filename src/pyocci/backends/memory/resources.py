"""The memory backend's resources: computes, storage and networks.

Each collection declares its kind, the standard mixins it understands and
its `actions` table; the rest is `Kept`'s. What memory cannot do is left
out, so the service answers it 501 and discovery does not show it: a
storage cannot ``backup`` or ``snapshot`` here, for there would be nothing
to restore them from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pyocci.backends.api import ActionOutcome, InvalidRequestError, QuotaExceededError, Tenant
from pyocci.backends.kit import ActionHandler
from pyocci.backends.kit.context import CONTEXT_MIXINS, user_data
from pyocci.backends.memory.catalogue import Catalogue
from pyocci.backends.memory.kept import Kept
from pyocci.backends.memory.shelf import Shelf
from pyocci.model import infrastructure as infra
from pyocci.model.entity import Entity
from pyocci.model.registry import Model

SIZE = "occi.storage.size"


class Computes(Kept):
    """Computes, started at once; at most `quota` per tenant (None: no limit). A saved
    compute becomes an OS template of the `catalogue`."""

    kinds = (infra.COMPUTE.id,)
    mixins = frozenset({infra.OS_TPL.id, infra.RESOURCE_TPL.id, *(m.id for m in CONTEXT_MIXINS)})

    def __init__(
        self, model: Model, shelf: Shelf, links: Kept, catalogue: Catalogue, quota: int | None
    ) -> None:
        super().__init__(model, shelf, links)
        self.catalogue = catalogue
        self.quota = quota

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """What the compute state machine drives (start, stop, restart, suspend) and save,
        which leaves the state as it is."""
        return {
            **self.moves(infra.START.id, infra.STOP.id, infra.RESTART.id, infra.SUSPEND.id),
            infra.SAVE.id: self.save,
        }

    async def save(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """A new OS template, ready at once (there is no disk to copy); the action's
        outcome names it, so the service can answer with it."""
        outcome = await self.move(infra.SAVE.id, tenant, entity, parameters)
        name = parameters.get("name")
        source = entity.location or ""
        image = self.catalogue.save(tenant.id, name if isinstance(name, str) else None, source)
        return ActionOutcome(entity=outcome.entity, created=image)

    def check(self, tenant: Tenant, entity: Entity) -> None:
        """User data must be base64; the tenant's computes must stay within the quota."""
        user_data(entity.attributes)
        if self.quota is not None and len(self.shelf.entities(tenant.id, self.kinds)) >= self.quota:
            raise QuotaExceededError(
                f"a tenant may keep {self.quota} computes here; delete one to create another"
            )


class Storages(Kept):
    """Storage, online at once; its size changes by update or by the 1.1 resize action."""

    kinds = (infra.STORAGE.id,)
    ready = "online"

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """What the storage state machine drives, and resize (which keeps the state)."""
        return {**self.moves(infra.ONLINE.id, infra.OFFLINE.id), infra.RESIZE.id: self.resize}

    def check(self, tenant: Tenant, entity: Entity) -> None:
        """A size is a positive number of GiB."""
        positive_size(entity.attributes.get(SIZE), SIZE)

    def check_update(self, current: Entity, desired: Entity) -> None:
        """A new size is a positive number of GiB."""
        positive_size(desired.attributes.get(SIZE), SIZE)

    async def resize(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """The OCCI 1.1 resize: the ``size`` parameter becomes the storage's size."""
        size = positive_size(parameters.get("size"), "size")
        outcome = await self.move(infra.RESIZE.id, tenant, entity, parameters)
        resized = outcome.entity
        resized.attributes[SIZE] = size
        self.shelf.put(tenant.id, resized)
        return ActionOutcome(entity=self.shown(tenant, resized))


def positive_size(value: Any, name: str) -> float:
    """A size in GiB, refused with a 400 naming `name` unless a positive finite number."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not 0 < value < math.inf:
        raise InvalidRequestError(f"{name} must be a positive number of GiB; got {value!r}")
    return float(value)


class Networks(Kept):
    """Networks, up at once; their IP settings (ipnetwork) are kept as given."""

    kinds = (infra.NETWORK.id,)
    mixins = frozenset({infra.IPNETWORK.id})

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """What the network state machine drives: up and down."""
        return self.moves(infra.UP.id, infra.DOWN.id)

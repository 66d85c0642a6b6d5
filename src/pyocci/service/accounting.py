"""Accounting at the service: every change the server makes to a compute, recorded.

The service calls `UsageRecorder` where a compute's create, action, update
or delete succeeded, whichever backend serves, so usage is recorded the
same way on every cloud. What the recorder keeps is what the change left:
state, cores, memory, ephemeral disk and OS template (`Observation`).

A change the cloud is still making shows a passing state (``waiting``):
the recorder keeps the state the change leads to instead, so a stop that
takes a minute is not counted as running until the next change. What
happens to a compute behind the server's back (a cloud's own console, a
crash) is not seen: the server makes no cloud calls for accounting.

Recording never fails the request: the cloud has done the change, and an
error answer would invite the client to do it again. A store failure is
logged instead (the usage of that change is then missing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pyocci.backends.api import Tenant
from pyocci.model.entity import Entity
from pyocci.model.infrastructure import COMPUTE, COMPUTE_STATE_MACHINE
from pyocci.model.registry import OS_TPL_ID, Model
from pyocci.service.ports import Runner, UsageStore
from pyocci.store.errors import StoreError
from pyocci.store.usage import Change, Observation

log = logging.getLogger(__name__)

#: The state a compute created in a passing state is on its way to.
CREATED_STATE = "active"


def observation_of(model: Model, entity: Entity, expected: str | None = None) -> Observation:
    """What accounting keeps of a compute as the cloud answered a change of it; a passing
    state (``waiting``) counts as `expected`, the state the change leads to, when known."""
    attributes = entity.attributes
    state = attributes.get(COMPUTE_STATE_MACHINE.attribute)
    if not isinstance(state, str) or (
        state in COMPUTE_STATE_MACHINE.passing and expected is not None
    ):
        state = expected or COMPUTE_STATE_MACHINE.initial
    images = [m for m in entity.mixins if m != OS_TPL_ID and model.depends_on(m, OS_TPL_ID)]
    return Observation(
        state=state,
        cores=_integer(attributes.get("occi.compute.cores")),
        memory=_number(attributes.get("occi.compute.memory")),
        disk=_number(attributes.get("occi.compute.ephemeral_storage.size")),
        image=images[0] if images else None,
    )


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class UsageRecorder:
    """Records the changes the service makes to computes in a `UsageStore`, at the
    instants `clock` (seconds since the epoch) tells.

    Each change is written through the runner's `write`: on SQLite, changes made at the
    same moment (and the sim's own writes) share one commit; each request still waits
    until its change is committed, so what is answered is recorded, and a change the
    store refuses is undone alone."""

    def __init__(
        self, store: UsageStore, runner: Runner, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._runner = runner
        self._clock = clock

    async def changed(
        self, tenant: Tenant, model: Model, entity: Entity, expected: str | None = None
    ) -> None:
        """A change of `entity` succeeded (a create, an action, an update); a no-op for
        what is not a compute. `expected`: the state the change leads to. Returns when
        the change is recorded (or its failure logged)."""
        if entity.kind != COMPUTE.id or not entity.id:
            return
        hostname = entity.attributes.get("occi.compute.hostname")
        change = Change(
            tenant.id,
            entity.id,
            observation_of(model, entity, expected),
            self._clock(),
            tenant_name=tenant.name,
            machine_name=hostname if isinstance(hostname, str) else None,
        )
        try:
            await self._runner.write(self._store.observe_in, change)
        except StoreError as error:
            log.error("accounting: the change of %s was not recorded: %s", entity.location, error)

    async def deleted(self, tenant: Tenant, entity: Entity) -> None:
        """The delete of `entity` was asked of the cloud; a no-op for what is not a compute."""
        if entity.kind != COMPUTE.id or not entity.id:
            return
        try:
            await self._runner.run(self._store.deleted, tenant.id, entity.id, self._clock())
        except StoreError as error:
            log.error("accounting: the delete of %s was not recorded: %s", entity.location, error)

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

Where the backend changes the compute in a transaction of the store itself
(the sim), the record is written in that transaction (see
`pyocci.backends.riders`): the change and its record are kept or undone
together, and a store failure fails the change, which then did not happen.
Over a remote cloud the record is written once the cloud answered, and
recording never fails the request: the cloud has done the change, and an
error answer would invite the client to do it again. A store failure is
logged instead (the usage of that change is then missing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyocci.backends.api import Tenant
from pyocci.backends.riders import Rider
from pyocci.model.entity import Entity
from pyocci.model.infrastructure import COMPUTE, COMPUTE_STATE_MACHINE
from pyocci.model.registry import OS_TPL_ID, Model
from pyocci.service.ports import Runner, UsageStore
from pyocci.store.errors import StoreError
from pyocci.store.usage import Change, Observation

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

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

    A change the backend makes in the store itself (the sim) is recorded in that very
    transaction (`ride`, `ride_delete`). Any other is written through the runner's
    `write` once the cloud answered: on SQLite, changes made at the same moment share
    one commit; each request still waits until its change is committed, so what is
    answered is recorded, and a change the store refuses is undone alone."""

    def __init__(
        self, store: UsageStore, runner: Runner, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._runner = runner
        self._clock = clock

    def ride(self, tenant: Tenant, model: Model, expected: str | None = None) -> ChangeRide:
        """A create, action or update about to be asked of the backend, recorded along
        with it where the backend writes it in the store (see `Ride`)."""
        return ChangeRide(self, tenant, model, expected)

    def ride_delete(self, tenant: Tenant) -> Ride:
        """A delete about to be asked of the backend, recorded along with it where the
        backend writes it in the store (see `Ride`)."""
        return DeleteRide(self, tenant)

    def change_of(
        self, tenant: Tenant, model: Model, entity: Entity, expected: str | None = None
    ) -> Change | None:
        """What to record of a change that left `entity` (None: not a compute), now."""
        if entity.kind != COMPUTE.id or not entity.id:
            return None
        hostname = entity.attributes.get("occi.compute.hostname")
        return Change(
            tenant.id,
            entity.id,
            observation_of(model, entity, expected),
            self._clock(),
            tenant_name=tenant.name,
            machine_name=hostname if isinstance(hostname, str) else None,
        )

    def write_in(self, connection: Connection, change: Change) -> None:
        """Record `change` in the write transaction `connection` is in."""
        self._store.observe_in(connection, change)

    def delete_in(self, connection: Connection, tenant: Tenant, entity: Entity) -> None:
        """Record the delete of `entity` in the write transaction `connection` is in; a
        no-op for what is not a compute."""
        if entity.kind == COMPUTE.id and entity.id:
            self._store.deleted_in(connection, tenant.id, entity.id, self._clock())

    async def changed(
        self, tenant: Tenant, model: Model, entity: Entity, expected: str | None = None
    ) -> None:
        """A change of `entity` succeeded (a create, an action, an update); a no-op for
        what is not a compute. `expected`: the state the change leads to. Returns when
        the change is recorded (or its failure logged)."""
        change = self.change_of(tenant, model, entity, expected)
        if change is None:
            return
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


class Ride:
    """The record of one change of an entity: written in the backend's transaction when
    the backend offers it (see `pyocci.backends.riders`), else on its own once the change
    succeeded.

    Usage: ``with riding(ride.rider): entity = await backend_call()``, then
    ``await ride.done(entity)``.
    """

    def __init__(self, recorder: UsageRecorder, tenant: Tenant) -> None:
        self._recorder = recorder
        self._tenant = tenant
        #: Offered to the backend through `pyocci.backends.riders.riding`.
        self.rider = Rider(self._write)

    def _write(self, connection: Connection, entity: Entity) -> None:
        raise NotImplementedError

    async def _alone(self, entity: Entity) -> None:
        raise NotImplementedError

    async def done(self, entity: Entity) -> None:
        """The change succeeded and left `entity` (a delete: the entity as it was):
        recorded now unless it rode along."""
        if entity.location not in self.rider.rode_with:
            await self._alone(entity)


class ChangeRide(Ride):
    """A create, an action or an update; `expected` (the state the change leads to) may
    be set until the backend writes the entity."""

    def __init__(
        self, recorder: UsageRecorder, tenant: Tenant, model: Model, expected: str | None
    ) -> None:
        super().__init__(recorder, tenant)
        self.expected = expected
        self._model = model

    def _write(self, connection: Connection, entity: Entity) -> None:
        change = self._recorder.change_of(self._tenant, self._model, entity, self.expected)
        if change is not None:
            self._recorder.write_in(connection, change)

    async def _alone(self, entity: Entity) -> None:
        await self._recorder.changed(self._tenant, self._model, entity, self.expected)


class DeleteRide(Ride):
    """A delete: the compute's life ends."""

    def _write(self, connection: Connection, entity: Entity) -> None:
        self._recorder.delete_in(connection, self._tenant, entity)

    async def _alone(self, entity: Entity) -> None:
        await self._recorder.deleted(self._tenant, entity)

"""Waiting for an entity to reach a state, or a template to be offered, by polling.

The state lives in the attribute the kind's state machine names
(``occi.compute.state``...); kinds pyocci does not know fall back to
``occi.<term>.state``. Polls back off gently so a long wait does not
hammer the server.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pyocci.client.errors import EntityFailedError, WaitTimeoutError
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity
from pyocci.model.registry import Model

#: ``on_progress(entity, state, elapsed_seconds)``, called after every poll.
Progress = Callable[[Entity, str | None, float], None]

#: The longest pause between two polls, in seconds.
MAX_INTERVAL = 5.0


def state_attribute(model: Model, kind_id: str) -> str:
    """The attribute holding an entity's state."""
    machine = model.state_machine(kind_id)
    if machine is not None:
        return machine.attribute
    return f"occi.{kind_id.rsplit('#', 1)[-1]}.state"


def state_of(model: Model, entity: Entity) -> str | None:
    """The entity's current state, if it has one."""
    if entity.kind is None:
        return None
    value = entity.attributes.get(state_attribute(model, entity.kind))
    return None if value is None else str(value)


def wait_for_state(
    fetch: Callable[[], Entity],
    model: Model,
    location: str,
    wanted: str,
    *,
    timeout: float,
    interval: float = 1.0,
    on_progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Entity:
    """Fetch until the state is `wanted`; the entity then. See `OcciClient.wait_for`."""
    started = clock()
    pause = max(interval, 0.05)
    while True:
        entity = fetch()
        state = state_of(model, entity)
        elapsed = clock() - started
        if on_progress is not None:
            on_progress(entity, state, elapsed)
        if state == wanted:
            return entity
        if state == "error" and wanted != "error":
            message = entity.attributes.get(state_attribute(model, entity.kind or "") + ".message")
            raise EntityFailedError(location, wanted, None if message is None else str(message))
        if elapsed >= timeout:
            raise WaitTimeoutError(location, wanted, state, timeout)
        sleep(min(pause, max(timeout - elapsed, 0.0)))
        pause = min(pause * 1.5, MAX_INTERVAL)


def wait_for_offer(
    fetch: Callable[[], Model],
    wanted: str,
    *,
    timeout: float,
    interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Mixin:
    """Discover until the server offers the mixin `wanted` (an image a ``save`` made is
    offered once the cloud has written it); the mixin then. See
    `OcciClient.wait_for_template`."""
    started = clock()
    pause = max(interval, 0.05)
    while True:
        found = fetch().get(wanted)
        if isinstance(found, Mixin):
            return found
        elapsed = clock() - started
        if elapsed >= timeout:
            raise WaitTimeoutError(wanted, "offered", "not offered yet", timeout)
        sleep(min(pause, max(timeout - elapsed, 0.0)))
        pause = min(pause * 1.5, MAX_INTERVAL)

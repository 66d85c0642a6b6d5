"""Actions: the model's state machines, plus what save, backup, snapshot and resize leave.

The state an action leads to comes from the model (`StateMachine.next_state`);
an action that does not apply in the current state, or while a transition
is still running, is a ConflictError that names the state. Computes take
`transition_seconds` to get there (`transitions.move`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.backends.sim import images, records, transitions
from pyocci.backends.sim.catalogue import (
    BACKUP_COUNT,
    BACKUP_LAST,
    SNAPSHOT_COUNT,
    SNAPSHOT_LAST,
    STORAGE_HISTORY,
)
from pyocci.backends.sim.context import Work
from pyocci.backends.sim.records import Record
from pyocci.backends.sim.updates import resize_storage
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity
from pyocci.model.infrastructure import BACKUP, RESIZE, SAVE, SNAPSHOT


def trigger(
    work: Work, entity: Entity, action_id: str, parameters: Mapping[str, Any]
) -> tuple[Record, Mixin | None]:
    """Perform an action on the tenant's entity; return it and, for save, the new image."""
    cloud = work.cloud
    term = action_id.rsplit("#", 1)[-1]
    shared = cloud.shared_network(entity.kind, entity.id)
    if shared is not None:
        raise ConflictError(f"{shared.location} belongs to the provider; it cannot {term}")
    if action_id not in cloud.catalogue.capabilities.actions:
        raise NotSupportedError(f"the simulated cloud cannot perform {action_id}")
    record = records.load(work, entity.id or "", entity.kind)
    if record is None:
        raise EntityNotFoundError(f"no {entity.kind} with id {entity.id!r}")
    location = cloud.location_of(record.kind, record.entity_id)
    if action_id not in cloud.model.declared_actions(record.kind):
        raise InvalidRequestError(f"{action_id} is not an action of {record.kind}")
    transitions.require_settled(work, record, term)
    machine = cloud.model.state_machine(record.kind)
    next_state = None if machine is None else machine.next_state(action_id, record.state)
    if machine is None or next_state is None:
        allowed = sorted((machine.transitions.get(action_id) or {}) if machine else ())
        when = f"; it applies when it is {' or '.join(allowed)}" if allowed else ""
        raise ConflictError(f"cannot {term} {location}: it is {record.state}{when}")
    created = None
    special = _SPECIAL.get(action_id)
    if special is not None:
        created = special(work, record, parameters)
    transitions.move(work, record, next_state)
    records.save(work, record)
    return record, created


def _save(work: Work, record: Record, parameters: Mapping[str, Any]) -> Mixin:
    # hot and deferred both copy the disk here; the simulated copy is instant.
    base = next(
        (
            mixin
            for mixin in record.mixins
            if mixin in work.cloud.catalogue.images
            or mixin.startswith(work.settings.saved_image_scheme)
        ),
        None,
    )
    name = parameters.get("name")
    return images.save_image(
        work,
        name=name if isinstance(name, str) else None,
        source=work.cloud.location_of(record.kind, record.entity_id),
        base_image=base,
        title_of_source=record.attributes.get("occi.core.title"),
    )


def _record(count_name: str, last_name: str) -> Callable[[Work, Record, Mapping[str, Any]], None]:
    def record_copy(work: Work, record: Record, parameters: Mapping[str, Any]) -> None:
        attributes = dict(record.attributes)
        attributes[count_name] = int(attributes.get(count_name) or 0) + 1
        attributes[last_name] = datetime.fromtimestamp(work.now, UTC).isoformat()
        record.attributes = attributes
        if STORAGE_HISTORY.id not in record.mixins:
            record.mixins = [*record.mixins, STORAGE_HISTORY.id]

    return record_copy


def _resize(work: Work, record: Record, parameters: Mapping[str, Any]) -> None:
    if "size" not in parameters:
        raise InvalidRequestError("resize needs the parameter 'size' (GiB)")
    resize_storage(work, record, parameters["size"])


_SPECIAL: dict[str, Callable[[Work, Record, Mapping[str, Any]], Any]] = {
    SAVE.id: _save,
    BACKUP.id: _record(BACKUP_COUNT, BACKUP_LAST),
    SNAPSHOT.id: _record(SNAPSHOT_COUNT, SNAPSHOT_LAST),
    RESIZE.id: _resize,
}

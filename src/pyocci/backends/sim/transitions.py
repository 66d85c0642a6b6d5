"""Simulated time: changes of state that take `transition_seconds` to complete.

Nothing runs in the background. A compute that is booting (or stopping, or
being resized) stores what it shows now (``waiting``), the state it is
going to (`target_state`) and when it gets there (`ready_at`). Readers
compute the state as of their clock; writers settle the row when they next
touch it. So a restart of the server loses nothing and needs no timer.
What a transition forbids is refused with `BusyError` (409 with
Retry-After: the seconds left), since it passes by itself. Images saved
with the compute ``save`` action take the same time to be ready (see
`pyocci.backends.sim.images`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import sqlalchemy as sa

from pyocci.backends.errors import BusyError
from pyocci.backends.sim.tables import sim_entities
from pyocci.model.infrastructure import COMPUTE

if TYPE_CHECKING:
    from pyocci.backends.sim.context import Work
    from pyocci.backends.sim.records import Record

WAITING = "waiting"

#: Kinds whose changes take simulated time (their state enums know `waiting`). Storage
#: is not among them: its states (online, offline...) have no transitional one.
TIMED_KINDS = frozenset({COMPUTE.id})


def effective(record: Record, now: float) -> tuple[str | None, str | None]:
    """(the state shown at `now`, the state it is becoming or None if it is settled)."""
    if record.ready_at is None:
        return record.state, None
    if record.ready_at <= now:
        return record.target_state, None
    return record.state, record.target_state


def effective_state_column(now: float) -> sa.ColumnElement[str]:
    """The SQL twin of `effective`, for filtering on a state attribute."""
    return sa.case(
        (
            sa.and_(sim_entities.c.ready_at.is_not(None), sim_entities.c.ready_at <= now),
            sim_entities.c.target_state,
        ),
        else_=sim_entities.c.state,
    )


def settle(record: Record, now: float) -> None:
    """Finish a transition that is due (in memory; saving the record writes it)."""
    if record.ready_at is not None and record.ready_at <= now:
        record.state = record.target_state
        record.target_state = None
        record.ready_at = None


def move(work: Work, record: Record, final_state: str) -> None:
    """Send an entity towards `final_state`: at once, or through `waiting`."""
    seconds = work.settings.transition_seconds
    if record.kind in TIMED_KINDS and seconds > 0:
        record.state = WAITING
        record.target_state = final_state
        record.ready_at = work.now + seconds
    else:
        record.state = final_state
        record.target_state = None
        record.ready_at = None


def retry_after(remaining: float) -> int:
    """Whole seconds to tell a client to wait for something `remaining` seconds away."""
    return max(1, math.ceil(remaining))


def require_settled(work: Work, record: Record, doing: str) -> None:
    """BusyError (409 with Retry-After) if the entity is still in a transition: the same
    request succeeds once it has finished."""
    shown, becoming = effective(record, work.now)
    if becoming is not None and record.ready_at is not None:
        location = work.cloud.location_of(record.kind, record.entity_id)
        remaining = record.ready_at - work.now
        raise BusyError(
            f"cannot {doing} {location}: it is {shown} (becoming {becoming} in "
            f"{remaining:.1f} s); try again when it is {becoming}",
            retry_after=retry_after(remaining),
        )

"""Rows the service writes in the very transaction a backend changes an entity in.

A backend that keeps its entities in the server's own database (the sim)
changes an entity in one write transaction of the store. What the service
records of that change (its accounting) belongs to the same instant, and
written in the same transaction it costs no transaction, savepoint and
commit of its own, and is kept exactly when the change is:

- the service opens `riding` around its backend call, with a `Rider`;
- the backend calls `entity_changed` inside its write transaction, once the
  entity is written, with the entity it will answer;
- after the call, `Rider.rode_with` tells the service whether its rows went
  along with the entity it asked to change.
  A backend over a remote cloud never calls `entity_changed`: the service
  then writes them itself, in a transaction of their own, as before.

A rider's error is the write's error: the change and its rows are undone
together, and the caller is answered with that error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from pyocci.model.entity import Entity


@dataclass(slots=True)
class Rider:
    """What to write along with one change of an entity: ``write(connection, entity)``."""

    write: Callable[[Connection, Entity], None]
    #: The locations of the entities `write` ran for, each in the transaction that
    #: changed it (read once the call returned: the transactions are committed then).
    rode_with: set[str | None] = field(default_factory=set)


_CURRENT: ContextVar[Rider | None] = ContextVar("pyocci_rider", default=None)


@contextmanager
def riding(rider: Rider | None) -> Iterator[None]:
    """Offer `rider` to the entity changes made within (None: nothing to offer)."""
    token = _CURRENT.set(rider)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def entity_changed(connection: Connection, entity: Entity) -> None:
    """A backend changed `entity` in the write transaction of `connection`: the current
    rider's rows are written there too. Called again (a retried transaction), it writes
    them again, in the new transaction."""
    rider = _CURRENT.get()
    if rider is not None:
        rider.write(connection, entity)
        rider.rode_with.add(entity.location)

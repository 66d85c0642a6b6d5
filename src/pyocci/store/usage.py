"""Accounting: what each compute was (state, size, image) and when, kept for billing.

Every change the server makes to a compute (create, an action, an update, a
delete) is an `Observation` at an instant. `UsageRepository.observe` keeps
one interval per stretch of time a compute spent alike: an observation
equal to the open interval changes nothing, a different one ends it and
opens the next. A delete ends the last interval and the compute's life.
Rows stay after the compute is gone, so a period that saw it is exported
whenever it is asked for, across restarts of the server.

Every method is a blocking call that runs in its own transaction; from async
code call them through `Database.run`. `observe_in` and `deleted_in` record a
change within a write transaction the caller holds: the sim's own, for the
changes it makes (see `pyocci.backends.riders`); otherwise one of
`Database.write`, so changes made at the same moment share one commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pyocci.store.database import Database
from pyocci.store.prepared import Prepared
from pyocci.store.tables import usage_computes, usage_intervals


@dataclass(frozen=True, slots=True)
class Observation:
    """A compute as one change left it: what accounting tells apart."""

    #: ``occi.compute.state``: active, inactive, suspended, error, waiting.
    state: str
    #: ``occi.compute.cores``.
    cores: int | None = None
    #: ``occi.compute.memory``, in GiB.
    memory: float | None = None
    #: ``occi.compute.ephemeral_storage.size``, in GiB.
    disk: float | None = None
    #: The OS template mixin's identifier (scheme and term).
    image: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One observation of a compute to record (see `UsageRepository.observe`)."""

    tenant_id: str
    entity_id: str
    observation: Observation
    #: When the change was made, in seconds since the epoch.
    at: float
    tenant_name: str | None = None
    machine_name: str | None = None


@dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of a compute's life in one state, size and image; `ended_at` None while
    it lasts."""

    observation: Observation
    started_at: float
    ended_at: float | None


@dataclass(frozen=True, slots=True)
class ComputeUsage:
    """One compute's life as the server saw it, with its intervals, oldest first."""

    tenant_id: str
    entity_id: str
    tenant_name: str | None
    machine_name: str | None
    created_at: float
    deleted_at: float | None
    intervals: tuple[Interval, ...]


# The compute and its open interval, if any, in one read: (compute seq, deleted_at,
# machine_name, interval seq, started_at, then the `Observation` fields in order).
_CURRENT = Prepared(
    sa.select(
        usage_computes.c.seq,
        usage_computes.c.deleted_at,
        usage_computes.c.machine_name,
        usage_intervals.c.seq,
        usage_intervals.c.started_at,
        usage_intervals.c.state,
        usage_intervals.c.cores,
        usage_intervals.c.memory,
        usage_intervals.c.disk,
        usage_intervals.c.image,
    )
    .select_from(
        usage_computes.outerjoin(
            usage_intervals,
            sa.and_(
                usage_intervals.c.compute_seq == usage_computes.c.seq,
                usage_intervals.c.ended_at.is_(None),
            ),
        )
    )
    .where(
        usage_computes.c.tenant_id == sa.bindparam("tenant_id"),
        usage_computes.c.entity_id == sa.bindparam("entity_id"),
    )
    .order_by(usage_intervals.c.seq.desc())
    .limit(1)
)
_INSERT_COMPUTE = Prepared(usage_computes.insert())
_INSERT_INTERVAL = Prepared(usage_intervals.insert())
# The columns an UPDATE sets are the parameters it is given besides row_seq.
_UPDATE_COMPUTE = Prepared(
    usage_computes.update().where(usage_computes.c.seq == sa.bindparam("row_seq"))
)
_END_INTERVAL = Prepared(
    usage_intervals.update().where(usage_intervals.c.seq == sa.bindparam("row_seq"))
)


def _lock_name(tenant_id: str, entity_id: str) -> str:
    return f"pyocci:usage:{tenant_id}:{entity_id}"


class UsageRepository:
    """The computes' lives and intervals, in the store's ``occi_usage_*`` tables."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def observe(
        self,
        tenant_id: str,
        entity_id: str,
        observation: Observation,
        at: float,
        *,
        tenant_name: str | None = None,
        machine_name: str | None = None,
    ) -> None:
        """Record that the compute is as `observation` says from `at` on. The first
        observation of a compute begins its life; one equal to what it is changes nothing.
        An observation of a compute already deleted is ignored (a late answer)."""
        with self.database.transaction() as connection:
            self.observe_in(
                connection,
                Change(tenant_id, entity_id, observation, at, tenant_name, machine_name),
            )

    def observe_in(self, connection: Connection, change: Change) -> None:
        """Record `change` as `observe` does, within the write transaction `connection`
        is in (the server's: see `Database.write`)."""
        database = self.database
        tenant_id, entity_id, observation, at = (
            change.tenant_id,
            change.entity_id,
            change.observation,
            change.at,
        )
        database.lock(connection, _lock_name(tenant_id, entity_id))
        rows = database.fetch(
            connection, _CURRENT, {"tenant_id": tenant_id, "entity_id": entity_id}
        )
        if not rows:
            seq = database.change(
                connection,
                _INSERT_COMPUTE,
                {
                    "tenant_id": tenant_id,
                    "entity_id": entity_id,
                    "tenant_name": change.tenant_name,
                    "machine_name": change.machine_name,
                    "created_at": at,
                },
            ).inserted
        else:
            seq, deleted_at, known_name, interval_seq, started_at, *current = rows[0]
            if deleted_at is not None:
                return
            machine_name = change.machine_name
            if machine_name is not None and machine_name != known_name:
                database.change(
                    connection, _UPDATE_COMPUTE, {"row_seq": seq, "machine_name": machine_name}
                )
            if interval_seq is not None:
                if Observation(*current) == observation:
                    return
                # A clock that stepped back must not end an interval before it began.
                at = max(at, started_at)
                database.change(
                    connection, _END_INTERVAL, {"row_seq": interval_seq, "ended_at": at}
                )
        database.change(
            connection,
            _INSERT_INTERVAL,
            {
                "compute_seq": seq,
                "state": observation.state,
                "cores": observation.cores,
                "memory": observation.memory,
                "disk": observation.disk,
                "image": observation.image,
                "started_at": at,
            },
        )

    def deleted(self, tenant_id: str, entity_id: str, at: float) -> bool:
        """Record that the compute was deleted at `at`: its last interval and its life end
        there. False when the server never saw the compute (nothing to end)."""
        with self.database.transaction() as connection:
            return self.deleted_in(connection, tenant_id, entity_id, at)

    def deleted_in(self, connection: Connection, tenant_id: str, entity_id: str, at: float) -> bool:
        """Record a delete as `deleted` does, within the write transaction `connection` is
        in (the sim's delete of the compute: see `pyocci.backends.riders`)."""
        database = self.database
        database.lock(connection, _lock_name(tenant_id, entity_id))
        rows = database.fetch(
            connection, _CURRENT, {"tenant_id": tenant_id, "entity_id": entity_id}
        )
        if not rows or rows[0][1] is not None:
            return False
        seq, _, _, interval_seq, started_at, *_ = rows[0]
        if interval_seq is not None:
            at = max(at, started_at)
            database.change(connection, _END_INTERVAL, {"row_seq": interval_seq, "ended_at": at})
        database.change(connection, _UPDATE_COMPUTE, {"row_seq": seq, "deleted_at": at})
        return True

    def usage(self, since: float, until: float) -> list[ComputeUsage]:
        """Every compute alive at some instant of ``[since, until)``, with its intervals
        that overlap it, in the order the server first saw them."""
        return [usage for page in self.pages(since, until) for usage in page]

    def pages(
        self, since: float, until: float, *, page_size: int = 1000
    ) -> Iterator[list[ComputeUsage]]:
        """`usage` a page of at most `page_size` computes at a time, each page read in a
        transaction of its own: an export of many computes holds one page in memory."""
        after = None
        while until > since:
            page = self._page(since, until, after, page_size)
            if page:
                yield [usage for _, usage in page]
            if len(page) < page_size:
                return
            after = page[-1][0]

    def _page(
        self, since: float, until: float, after: int | None, size: int
    ) -> list[tuple[int, ComputeUsage]]:
        alive = (
            sa.select(usage_computes)
            .where(
                usage_computes.c.created_at < until,
                sa.or_(usage_computes.c.deleted_at.is_(None), usage_computes.c.deleted_at > since),
            )
            .order_by(usage_computes.c.seq)
            .limit(size)
        )
        if after is not None:
            alive = alive.where(usage_computes.c.seq > after)
        with self.database.reading() as connection:
            computes = connection.execute(alive).all()
            intervals: dict[int, list[Interval]] = {row.seq: [] for row in computes}
            for row in _intervals_of(connection, list(intervals), since, until):
                intervals[row.compute_seq].append(
                    Interval(_observation(row), row.started_at, row.ended_at)
                )
        return [
            (
                row.seq,
                ComputeUsage(
                    tenant_id=row.tenant_id,
                    entity_id=row.entity_id,
                    tenant_name=row.tenant_name,
                    machine_name=row.machine_name,
                    created_at=row.created_at,
                    deleted_at=row.deleted_at,
                    intervals=tuple(intervals[row.seq]),
                ),
            )
            for row in computes
        ]


# Bound parameters per IN list; SQLite allows 32,766 per statement.
_CHUNK = 5000


def _intervals_of(
    connection: Connection, seqs: list[int], since: float, until: float
) -> Iterator[sa.Row]:
    """The intervals of these computes that overlap ``[since, until)``."""
    for start in range(0, len(seqs), _CHUNK):
        chunk = seqs[start : start + _CHUNK]
        yield from connection.execute(
            sa.select(usage_intervals)
            .where(
                usage_intervals.c.compute_seq.in_(chunk),
                usage_intervals.c.started_at < until,
                sa.or_(usage_intervals.c.ended_at.is_(None), usage_intervals.c.ended_at > since),
            )
            .order_by(usage_intervals.c.compute_seq, usage_intervals.c.started_at)
        )


def _observation(row: sa.Row) -> Observation:
    return Observation(
        state=row.state, cores=row.cores, memory=row.memory, disk=row.disk, image=row.image
    )

"""Persistence of the sim's entities: rows of `sim_entities` to records to OCCI entities.

A `Record` is one row in memory. What has a column of its own (id, state,
link ends, sizes) is not repeated in the JSON attribute map; `to_entity`
puts the map back together, with the state as of the reader's clock and
``occi.ipreservation.used`` worked out from the links that target it.
Every write keeps the tenant's quota usage in step (`quotas.add`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pyocci.backends.sim import quotas, transitions
from pyocci.backends.sim.context import Cloud, Work
from pyocci.backends.sim.tables import sim_entities
from pyocci.model.entity import (
    CORE_ID,
    CORE_SOURCE,
    CORE_TARGET,
    Entity,
    Link,
    Resource,
)
from pyocci.model.extensions import IPRESERVATION
from pyocci.model.infrastructure import COMPUTE, STORAGE
from pyocci.store.prepared import Prepared

ENTITIES = sim_entities
_TARGETING = sim_entities.alias("targeting")

USED = "occi.ipreservation.used"

#: Whether an IP reservation is used: some link targets it. False for other kinds.
USED_COLUMN = sa.case(
    (
        sa.and_(
            ENTITIES.c.kind == IPRESERVATION.id,
            sa.exists().where(_TARGETING.c.target_seq == ENTITIES.c.seq),
        ),
        sa.true(),
    ),
    else_=sa.false(),
).label("used")


@dataclass(slots=True)
class Record:
    """One entity as stored."""

    seq: int
    entity_id: str
    kind: str
    mixins: list[str]
    attributes: dict[str, Any]
    state: str | None = None
    target_state: str | None = None
    ready_at: float | None = None
    source_seq: int | None = None
    target_seq: int | None = None
    source: str | None = None
    target: str | None = None
    used: bool = False
    #: The size columns as read or last written (None: not stored yet), which is what
    #: the row counts for in the quota usage (`counted`).
    counted_sizes: tuple[int | None, float | None, float | None] | None = None

    @classmethod
    def from_row(cls, row: sa.Row) -> Record:
        """A record from a row selected with `select_records`."""
        # By position, in `select_records`' order: a tenth of the cost of by name. The
        # columns between attributes and cores are the fields between them, in order.
        seq, _, entity_id, kind, mixins, attributes, *between = row
        *between, cores, memory, storage, _, _, used = between
        return cls(
            seq,
            entity_id,
            kind,
            _json(mixins),
            _json(attributes),
            *between,
            bool(used),
            # From the size columns: cheaper than reading the attributes again.
            (cores, memory, storage),
        )

    @property
    def counted(self) -> quotas.Usage:
        """What the row counted for in the quota usage when it was read (or written)."""
        if self.counted_sizes is None:
            return quotas.Usage()
        return quotas.contribution(self.kind, *self.counted_sizes)

    def sizes(self) -> tuple[int | None, float | None, float | None]:
        """(cores, memory, storage size) as the quota columns hold them."""
        if self.kind == COMPUTE.id:
            return (
                _number(self.attributes.get("occi.compute.cores"), int),
                _number(self.attributes.get("occi.compute.memory"), float),
                None,
            )
        if self.kind == STORAGE.id:
            return None, None, _number(self.attributes.get("occi.storage.size"), float)
        return None, None, None


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return kind(value)


def select_records() -> sa.Select:
    """SELECT of every entity column plus the derived `used` flag, in table order; the
    JSON columns as stored (`Record.from_row` decodes them, faster than SQLAlchemy)."""
    columns = [
        sa.type_coerce(column, sa.Text).label(column.name) if column.name in _JSON else column
        for column in ENTITIES.c
    ]
    return sa.select(*columns, USED_COLUMN)


_JSON = ("mixins", "attributes")
_COLUMN_ORDER = (
    "seq tenant_id entity_id kind mixins attributes state target_state ready_at source_seq "
    "target_seq source target cores memory storage_size created_at updated_at"
)
# `Record.from_row` reads rows by position.
assert " ".join(ENTITIES.c.keys()) == _COLUMN_ORDER, "sim_entities changed: update from_row"


def _json(value: Any) -> Any:
    """A JSON column's value: SQLite hands over the text, psycopg the decoded value."""
    return orjson.loads(value) if isinstance(value, str) else value


# Hot statements, built once: SQLAlchemy then reuses their compiled form
# without working out a cache key from fresh literals on every call; the
# hottest are prepared (run on the driver, see `pyocci.store.prepared`).
_BY_ID = Prepared(
    select_records().where(
        ENTITIES.c.tenant_id == sa.bindparam("tenant_id"),
        ENTITIES.c.entity_id == sa.bindparam("entity_id"),
    )
)
_LINKS_FROM = (
    select_records()
    .where(ENTITIES.c.source_seq.in_(sa.bindparam("seqs", expanding=True)))
    .order_by(ENTITIES.c.seq)
)
# One entity's links: a plain parameter, so the statement can be prepared (the hot
# path of GET on one entity).
_LINKS_FROM_ONE = Prepared(
    select_records().where(ENTITIES.c.source_seq == sa.bindparam("seq")).order_by(ENTITIES.c.seq)
)
_LINKS_TO = (
    select_records().where(ENTITIES.c.target_seq == sa.bindparam("seq")).order_by(ENTITIES.c.seq)
)
_EXISTS = Prepared(
    sa.select(ENTITIES.c.seq).where(
        ENTITIES.c.tenant_id == sa.bindparam("tenant_id"),
        ENTITIES.c.entity_id == sa.bindparam("entity_id"),
    )
)
_INSERT = Prepared(ENTITIES.insert())
_UPDATE = Prepared(ENTITIES.update().where(ENTITIES.c.seq == sa.bindparam("row_seq")))
_DELETE = Prepared(ENTITIES.delete().where(ENTITIES.c.seq == sa.bindparam("row_seq")))


# --- reading --------------------------------------------------------------------------------


def load(work: Work, entity_id: str, kind_id: str | None = None) -> Record | None:
    """The tenant's entity with this id (of this kind or a sub-kind), settled to now."""
    rows = work.fetch(_BY_ID, {"tenant_id": work.tenant_id, "entity_id": entity_id})
    if not rows:
        return None
    record = Record.from_row(rows[0])
    if kind_id is not None and not work.cloud.model.is_kind_of(record.kind, kind_id):
        return None
    transitions.settle(record, work.now)
    return record


def load_location(work: Work, location: str | None) -> Record | None:
    """The tenant's entity at a location (``/storage/<id>``), or None."""
    if not location:
        return None
    split = work.cloud.split_location(location)
    if split is None:
        return None
    kind, entity_id = split
    return load(work, entity_id, kind.id)


def links_from(connection: Connection, seqs: Sequence[int]) -> dict[int, list[Record]]:
    """The links whose source is one of these entities, by source, oldest first: one query."""
    found: dict[int, list[Record]] = {seq: [] for seq in seqs}
    if not seqs:
        return found
    for row in connection.execute(_LINKS_FROM, {"seqs": list(seqs)}):
        found[row.source_seq].append(Record.from_row(row))
    return found


def links_of(work: Work, seq: int) -> list[Record]:
    """The links whose source is this entity, oldest first."""
    return [Record.from_row(row) for row in work.fetch(_LINKS_FROM_ONE, {"seq": seq})]


def links_to(work: Work, seq: int) -> list[Record]:
    """The links whose target is this entity, oldest first."""
    rows = work.connection.execute(_LINKS_TO, {"seq": seq})
    return [Record.from_row(row) for row in rows]


def exists(work: Work, entity_id: str) -> bool:
    """Whether the tenant has an entity with this id, of any kind."""
    return bool(work.fetch(_EXISTS, {"tenant_id": work.tenant_id, "entity_id": entity_id}))


# --- writing -------------------------------------------------------------------------------


def insert(
    work: Work,
    *,
    kind: str,
    entity_id: str,
    mixins: Iterable[str],
    attributes: dict[str, Any],
    state: str | None,
    source: Record | None = None,
    target_seq: int | None = None,
    target: str | None = None,
    transition_to: str | None = None,
) -> Record:
    """Store a new entity (moving it towards `transition_to` if given) and count it."""
    record = Record(
        seq=0,
        entity_id=entity_id,
        kind=kind,
        mixins=list(dict.fromkeys(mixins)),
        attributes=attributes,
        state=state,
        source_seq=None if source is None else source.seq,
        target_seq=target_seq,
        source=None if source is None else work.cloud.location_of(source.kind, source.entity_id),
        target=target,
    )
    if transition_to is not None:
        transitions.move(work, record, transition_to)
    cores, memory, storage_size = record.sizes()
    inserted = work.change(
        _INSERT,
        {
            "tenant_id": work.tenant_id,
            "entity_id": record.entity_id,
            "kind": record.kind,
            "mixins": record.mixins,
            "attributes": record.attributes,
            "state": record.state,
            "target_state": record.target_state,
            "ready_at": record.ready_at,
            "source_seq": record.source_seq,
            "target_seq": record.target_seq,
            "source": record.source,
            "target": record.target,
            "cores": cores,
            "memory": memory,
            "storage_size": storage_size,
            "created_at": work.now,
            "updated_at": work.now,
        },
    )
    record.seq = inserted.inserted
    record.counted_sizes = (cores, memory, storage_size)
    quotas.add(work, record.counted)
    return record


def save(work: Work, record: Record) -> None:
    """Write a changed record back (mixins, attributes, state, sizes)."""
    cores, memory, storage_size = record.sizes()
    work.change(
        _UPDATE,
        {
            "row_seq": record.seq,
            "mixins": list(dict.fromkeys(record.mixins)),
            "attributes": record.attributes,
            "state": record.state,
            "target_state": record.target_state,
            "ready_at": record.ready_at,
            "cores": cores,
            "memory": memory,
            "storage_size": storage_size,
            "updated_at": work.now,
        },
    )
    before = record.counted
    record.counted_sizes = (cores, memory, storage_size)
    quotas.add(work, record.counted - before)


def delete(work: Work, record: Record) -> None:
    """Delete an entity; its outgoing links and the addresses they hold go by cascade."""
    work.change(_DELETE, {"row_seq": record.seq})
    quotas.add(work, quotas.Usage() - record.counted)


# --- to OCCI -----------------------------------------------------------------------------------


def to_entity(
    cloud: Cloud,
    record: Record,
    links: Sequence[Record],
    now: float,
) -> Entity:
    """The OCCI entity of a record, as of `now`, with its outgoing links if it is a resource.
    Its actions are left empty: the service sets them, from the model's state machines."""
    attributes = dict(record.attributes)
    attributes[CORE_ID] = record.entity_id
    shown, becoming = transitions.effective(record, now)
    names = cloud.state_attributes(record.kind)
    if shown is not None:
        for name in names:
            attributes[name] = shown
    if becoming is not None and names:
        attributes[names[0] + ".message"] = f"becoming {becoming}"
    location = cloud.location_of(record.kind, record.entity_id)
    entity: Entity
    if cloud.is_link_kind(record.kind):
        attributes[CORE_SOURCE] = record.source
        attributes[CORE_TARGET] = record.target
        entity = Link(kind=record.kind, mixins=list(record.mixins), attributes=attributes)
    else:
        if record.kind == IPRESERVATION.id:
            attributes[USED] = record.used
        entity = Resource(
            kind=record.kind,
            mixins=list(record.mixins),
            attributes=attributes,
            links=[
                to_entity(cloud, link, (), now)  # type: ignore[misc]
                for link in links
            ],
        )
    entity.location = location
    return entity

"""Listings: a `Query` turned into SQL, and pages of entities read with their links.

Kinds, ids, provider mixins (all of `mixins`, any of `any_mixins`), and
attribute equality on scalars (strings, numbers, booleans), states (as of
the reader's clock) and link ends are filtered in SQL, so `offset`/`limit`
are too. What SQL cannot compare faithfully (lists, objects, null, derived
messages) is filtered in Python, and then the paging is done in Python over
a stream of batches (`pyocci.backends.kit.paging.chain`, in `SimCollection`).

Order is stable: the shared networks first, then the tenant's entities in
creation order. Each batch costs one query for the entities and one for the
links that start at them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from pyocci.backends.api import Query
from pyocci.backends.sim import records, transitions
from pyocci.backends.sim.context import Cloud
from pyocci.backends.sim.records import ENTITIES, USED, Record
from pyocci.model.entity import CORE_ID, CORE_SOURCE, CORE_TARGET, Entity
from pyocci.model.extensions import IPRESERVATION

T = TypeVar("T")

# Above this many ids, pass them as one JSON/array parameter instead of an IN list.
_MANY = 200


@dataclass(slots=True)
class Plan:
    """A query split into what SQL filters and what is left for Python."""

    query: Query
    conditions: list[sa.ColumnElement[bool]] = field(default_factory=list)
    residual: dict[str, Any] = field(default_factory=dict)
    #: No entity can match (no kinds, an empty id set...).
    empty: bool = False

    @property
    def in_sql(self) -> bool:
        """Whether SQL does all the filtering (so it can page and count too)."""
        return not self.residual

    def keeps(self, entity: Entity) -> bool:
        """Whether an entity passes the filters SQL did not apply."""
        return all(entity.attributes.get(name) == value for name, value in self.residual.items())


def plan(cloud: Cloud, query: Query, now: float) -> Plan:
    """Translate the query's filters for the cloud's database."""
    result = Plan(query)
    if not query.kinds or (query.ids is not None and not query.ids):
        result.empty = True
        return result
    dialect = cloud.database.dialect
    conditions = result.conditions
    conditions.append(ENTITIES.c.kind.in_(list(query.kinds)))
    if query.ids is not None:
        conditions.append(_in(ENTITIES.c.entity_id, sorted(query.ids), dialect))
    for mixin_id in query.mixins:
        conditions.append(_has_mixin(mixin_id, dialect))
    if query.any_mixins:
        conditions.append(_has_any_mixin(sorted(query.any_mixins), dialect))
    for name, value in query.attributes.items():
        condition = _attribute_condition(cloud, query.kinds, name, value, now, dialect)
        if condition is None:
            result.residual[name] = value
        else:
            conditions.append(condition)
    return result


def _in(column: sa.ColumnElement[Any], values: list[str], dialect: str) -> sa.ColumnElement[bool]:
    if len(values) <= _MANY:
        return column.in_(values)
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(sa.String())))
    listed = sa.func.json_each(sa.bindparam(None, json.dumps(values))).table_valued("value")
    return column.in_(sa.select(listed.c.value))


def _has_mixin(mixin_id: str, dialect: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return ENTITIES.c.mixins.op("@>")(sa.bindparam(None, [mixin_id], type_=postgresql.JSONB))
    each = sa.func.json_each(ENTITIES.c.mixins).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value == mixin_id))


def _has_any_mixin(mixin_ids: list[str], dialect: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return ENTITIES.c.mixins.op("?|")(
            sa.bindparam(None, mixin_ids, type_=postgresql.ARRAY(sa.String()))
        )
    each = sa.func.json_each(ENTITIES.c.mixins).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value.in_(mixin_ids)))


def _attribute_condition(
    cloud: Cloud, kinds: Sequence[str], name: str, value: Any, now: float, dialect: str
) -> sa.ColumnElement[bool] | None:
    """SQL for ``attribute == value``, or None when Python must decide."""
    if name in (CORE_ID, CORE_SOURCE, CORE_TARGET):
        if not isinstance(value, str):
            return sa.false()
        column = {
            CORE_ID: ENTITIES.c.entity_id,
            CORE_SOURCE: ENTITIES.c.source,
            CORE_TARGET: ENTITIES.c.target,
        }[name]
        return column == value
    stateful = [kind for kind in kinds if name in cloud.state_attributes(kind)]
    if stateful:
        if not isinstance(value, str):
            return sa.false()
        return sa.and_(
            ENTITIES.c.kind.in_(stateful), transitions.effective_state_column(now) == value
        )
    if name == USED:
        if not isinstance(value, bool):
            return None
        return sa.and_(ENTITIES.c.kind == IPRESERVATION.id, value == records.USED_COLUMN)
    if name.endswith(".state.message") or '"' in name or "\\" in name:
        return None
    if isinstance(value, str | int | float):  # bool is an int
        return _json_equals(name, value, dialect)
    return None


def _json_equals(name: str, value: Any, dialect: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return ENTITIES.c.attributes.op("->")(sa.literal(name)) == sa.bindparam(
            None, value, type_=postgresql.JSONB
        )
    path = f'$."{name}"'
    json_type = sa.func.json_type(ENTITIES.c.attributes, path)
    extracted = sa.func.json_extract(ENTITIES.c.attributes, path)
    if isinstance(value, bool):
        return json_type == ("true" if value else "false")
    if isinstance(value, str):
        return sa.and_(json_type == "text", extracted == value)
    return sa.and_(json_type.in_(["integer", "real"]), extracted == value)


# --- reading ----------------------------------------------------------------------------------


def shared_matches(cloud: Cloud, filters: Plan) -> list[Entity]:
    """The shared networks that pass the query's filters (paging aside)."""
    if filters.empty:
        return []
    return [
        entity
        for entity in (network.entity() for network in cloud.shared.all)
        if filters.query.matches(entity)
    ]


def _base(
    tenant_id: str, filters: Plan, columns: Sequence[sa.ColumnElement[Any]] | None = None
) -> sa.Select:
    """The tenant's rows that pass the SQL filters: `columns`, or whole records."""
    select = sa.select(*columns) if columns is not None else records.select_records()
    return select.where(ENTITIES.c.tenant_id == tenant_id, *filters.conditions)


def _batch(select: sa.Select, after_seq: int | None, offset: int, limit: int) -> sa.Select:
    """`select` in creation order: after `after_seq`, `offset` rows skipped, `limit` rows."""
    select = select.order_by(ENTITIES.c.seq).limit(limit)
    if after_seq is not None:
        select = select.where(ENTITIES.c.seq > after_seq)
    if offset:
        select = select.offset(offset)
    return select


#: How one batch of a listing is read: `fetch` (entities) or `fetch_locations`.
Reader = Callable[..., tuple[list[T], int | None]]


def fetch(
    cloud: Cloud,
    connection: Connection,
    tenant_id: str,
    filters: Plan,
    now: float,
    *,
    after_seq: int | None,
    offset: int,
    limit: int,
) -> tuple[list[Entity], int | None]:
    """One batch: up to `limit` entities after `after_seq` (skipping `offset` first), with
    their links; returns them and the last row's seq (None when nothing was read)."""
    if filters.empty or limit <= 0:
        return [], None
    select = _batch(_base(tenant_id, filters), after_seq, offset, limit)
    # fetchall: one call into the driver for the batch, not one per row.
    rows = [Record.from_row(row) for row in connection.execute(select).all()]
    if not rows:
        return [], None
    resources = [row.seq for row in rows if not cloud.is_link_kind(row.kind)]
    links = records.links_from(connection, resources)
    # Listed entities come without their actions: the service presents every listing
    # with the actions that apply now, and working them out twice was a tenth of it.
    entities = [records.to_entity(cloud, row, links.get(row.seq, ()), now) for row in rows]
    return entities, rows[-1].seq


def fetch_locations(
    cloud: Cloud,
    connection: Connection,
    tenant_id: str,
    filters: Plan,
    now: float,
    *,
    after_seq: int | None,
    offset: int,
    limit: int,
) -> tuple[list[str], int | None]:
    """As `fetch`, the locations alone: three columns of an index-ordered scan, no
    entity built, no link read."""
    if filters.empty or limit <= 0:
        return [], None
    kinds = filters.query.kinds
    single = len(kinds) == 1
    if single and connection.dialect.name == "sqlite":
        joined = _joined_ids(connection, tenant_id, filters, after_seq, offset, limit)
        if joined is not None:
            ids, last = joined
            prefix = cloud.collection_of(kinds[0])
            return [prefix + entity_id for entity_id in ids], last
    # Of one kind, the kind is not read: a third less to copy out of SQLite.
    columns = [ENTITIES.c.seq, ENTITIES.c.entity_id] + ([] if single else [ENTITIES.c.kind])
    select = _batch(_base(tenant_id, filters, columns), after_seq, offset, limit)
    rows = connection.execute(select).all()
    if not rows:
        return [], None
    if single:
        prefix = cloud.collection_of(kinds[0])
        locations = [prefix + row[1] for row in rows]
    else:
        collection_of = cloud.collection_of
        locations = [collection_of(kind) + entity_id for _, entity_id, kind in rows]
    return locations, rows[-1][0]


#: Between ids in `_joined_ids`' text: no id has one (`pyocci.service.identifiers`),
#: and the row count read with the text says so for every batch.
_ID_SEPARATOR = "\n"


def _joined_ids(
    connection: Connection,
    tenant_id: str,
    filters: Plan,
    after_seq: int | None,
    offset: int,
    limit: int,
) -> tuple[list[str], int | None] | None:
    """One batch's ids in creation order, and the last one's seq, from one row that
    SQLite makes itself (``group_concat`` over the ordered, limited scan): copying out
    one text costs a fraction of one row per id. None if an id held the separator."""
    page = _batch(
        _base(tenant_id, filters, [ENTITIES.c.seq, ENTITIES.c.entity_id]), after_seq, offset, limit
    ).subquery()
    # SQLite aggregates the rows of a limited subquery in the subquery's order.
    select = sa.select(
        sa.func.group_concat(page.c.entity_id, _ID_SEPARATOR),
        sa.func.max(page.c.seq),
        sa.func.count(),
    )
    text, last, found = connection.execute(select).one()
    if not found:
        return [], None
    ids = text.split(_ID_SEPARATOR)
    if len(ids) != found:
        return None
    return ids, last


def count(connection: Connection, tenant_id: str, filters: Plan) -> int:
    """How many of the tenant's rows pass the SQL filters."""
    if filters.empty:
        return 0
    select = (
        sa.select(sa.func.count())
        .select_from(ENTITIES)
        .where(ENTITIES.c.tenant_id == tenant_id, *filters.conditions)
    )
    return connection.scalar(select) or 0

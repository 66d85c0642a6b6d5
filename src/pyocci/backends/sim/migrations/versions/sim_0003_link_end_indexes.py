"""The indexes of links' ends hold links only.

``sim_entities.source_seq`` and ``target_seq`` are set on links alone; every
resource (most rows: computes, storage, networks) left NULL in both indexes,
so each resource created or deleted changed two index pages for nothing.
Every query of those columns compares them with a value (a link's ends, the
foreign key's check), which no NULL matches: as partial indexes ``WHERE ...
IS NOT NULL`` they serve the same queries on SQLite and PostgreSQL.

Revision ID: sim_0003_link_end_indexes
Revises: sim_0002_change_notices
Create Date: 2026-12-07 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sim_0003_link_end_indexes"
down_revision: str | None = "sim_0002_change_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported: a revision must keep doing what it did
# when it was written.
TABLE = "sim_entities"
COLUMNS = ("source_seq", "target_seq")


def _index(column: str) -> str:
    return f"ix_{TABLE}_{column}"


def upgrade() -> None:
    for column in COLUMNS:
        where = sa.text(f"{column} IS NOT NULL")
        op.drop_index(_index(column), table_name=TABLE)
        op.create_index(_index(column), TABLE, [column], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(_index(column), table_name=TABLE)
        op.create_index(_index(column), TABLE, [column])

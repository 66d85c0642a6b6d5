"""PostgreSQL: the catalogue's change count is no longer kept; its notices tell.

``0004_change_notices`` made a trigger on ``occi_user_mixins`` bump the
``catalog`` row of ``occi_change_counts`` on both databases. Only processes on
SQLite read that count (`pyocci.store.database.Database.data_version`); those
on PostgreSQL hear the change notices instead. On PostgreSQL the bump made
every tenant's mixin definitions update one row, so two tenants defining
mixins at once waited for each other until the first committed. There the
trigger and its function go; the table stays (read by nothing on PostgreSQL).

Revision ID: 0007_counts_on_sqlite_only
Revises: 0006_export_formats
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_counts_on_sqlite_only"
down_revision: str | None = "0006_export_formats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported: a revision must keep doing what it did
# when it was written.
TABLE = "occi_user_mixins"
TOPIC = "catalog"
COUNT = "pyocci_count_change"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_count ON {TABLE}")
    op.execute(f"DROP FUNCTION IF EXISTS {COUNT}()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE OR REPLACE FUNCTION {COUNT}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN UPDATE occi_change_counts SET count = count + 1 WHERE topic = TG_ARGV[0]; "
        "RETURN NULL; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_count AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {TABLE} FOR EACH STATEMENT EXECUTE FUNCTION {COUNT}('{TOPIC}')"
    )
